"""A standby's directory as this node sees it (node/peers/standby.py, node/config.py): marked,
refused by every writer, and refused itself where it would harm the primary. Real data
directories, certificates and RocksDB; no process is started (that is
tests/federation/test_disaster_recovery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from admin.cli import main
from ledger.errors import InputError, UsageError
from ledger.rocksdb_store import RocksDBLogStore
from node.config import STANDBY_NAME, StandbyConfig, parse_standby
from node.peers.standby import Standby, take_over_as_primary
from node.runtime import reconcile_with_parent
from node.station.core import Station
from tests.federation.procs import Federation, Spec, build_federation, make_standby


@pytest.fixture
def fed(tmp_path: Path) -> Federation:
    return build_federation(
        tmp_path, [Spec("dpo", "district"), Spec("sta", "station", parent="dpo", records=3)]
    )


def test_standby_is_marked_and_every_writer_refuses_it(
    fed: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    dr = make_standby(fed, "sta", "sta-dr")
    standby = Standby.open(dr.data_dir)
    try:
        assert standby.primary == fed["sta"].address  # federation.toml's listen, as copied
        assert standby.state().describe().startswith("holds 0 entries")
    finally:
        standby.close()
    assert dr.data_dir.standby() == StandbyConfig(fed["sta"].address)

    with pytest.raises(UsageError, match=r"is a standby of its node.*cctns node takeover"):
        Station.open(dr.data_dir)
    with pytest.raises(UsageError, match="is a standby of its node"):
        trio.run(reconcile_with_parent, dr.data_dir)
    with RocksDBLogStore.open(dr.data_dir.ledger_path) as store:
        assert store.size() == 0  # no genesis entry, nothing
    assert main(["node", "info", "--data-dir", str(dr.path)]) == 0
    assert f"standby:    follows the primary at {fed['sta'].address}" in capsys.readouterr().out


def test_standby_refuses_a_primary_s_directory(fed: Federation) -> None:
    sta = fed["sta"]
    with pytest.raises(UsageError, match=r"holds a log of \d+ entries and is no standby"):
        Standby.open(sta.data_dir)
    assert not (sta.path / STANDBY_NAME).exists()
    Station.open(sta.data_dir).close()  # still the primary


def test_standby_refuses_the_primary_s_index(fed: Federation) -> None:
    dr = make_standby(fed, "sta", "sta-dr", own_index=False)  # node.toml copied as it is
    with pytest.raises(InputError, match=r"index_url points into another node's directory"):
        Standby.open(dr.data_dir)
    assert dr.data_dir.standby() is None


def test_standby_refuses_a_bad_primary_address(fed: Federation) -> None:
    dr = make_standby(fed, "sta", "sta-dr")
    with pytest.raises(InputError, match="must be host:port"):
        Standby.open(dr.data_dir, "nowhere")
    assert dr.data_dir.standby() is None


def test_takeover_of_a_primary_is_refused(fed: Federation) -> None:
    with pytest.raises(UsageError, match="is no standby"):
        trio.run(take_over_as_primary, fed["sta"].data_dir)


def test_standby_toml_round_trip_and_every_mistake() -> None:
    config = StandbyConfig("dc.kerala.example:7101", 'replaced: "taken over" at entry 5')
    assert parse_standby(config.to_toml()) == config
    with pytest.raises(InputError) as caught:
        parse_standby('primary = "nowhere"\nreason = 3\ncolour = "blue"\n')
    problems = caught.value.problems
    assert len(problems) == 3
    assert any("must be host:port" in p for p in problems)
    assert any("reason must be a string" in p for p in problems)
    assert any("unknown setting 'colour'" in p for p in problems)
