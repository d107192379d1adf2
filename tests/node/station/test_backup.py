"""Backup and restore on real RocksDB and SQLite files: a backup taken beside a station that holds
its store open and goes on writing, restored into a new directory that opens, verifies and
holds what the backup held; damaged, incomplete or hostile backups refused. (The whole path with
real node processes, a parent and writes during the backup: tests/federation/test_restore.py.)"""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin.cli import main
from federation.replicas import ReplicaSet, origin_slug
from ledger.errors import InputError, UsageError, VerificationError
from ledger.log import verify_log
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.seed import seed_station
from node.index.record_index import entry_fingerprint
from node.station import registers
from node.station.backup import MANIFEST, backup, restore
from node.station.core import Station
from tests.node.station.test_scrub import damage_largest_table
from tests.node.support import sexual_offence_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-backup"
CHILD = "cctns.in/kerala/ernakulam-city/ps-child"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN)
    replicas = ReplicaSet(data_dir.path / "replicas")
    replicas.follow(CHILD, bytes(range(32)))  # a replica store, as a parent office holds
    replicas.close()
    opened = Station.open(data_dir)
    seed_station(opened, 1000, seed=5, show_progress=False)  # about 30 FIRs
    registers.register_fir(opened, "PEN100001", sexual_offence_fir())  # a sealed victim
    yield opened
    opened.close()


def test_backup_beside_a_writing_station_restores_whole(station: Station, tmp_path: Path) -> None:
    source = DataDir(tmp_path / "node")
    summary = backup(source, tmp_path / "backup")  # the station holds RocksDB's lock
    backed_up = station.ledger.size()
    seed_station(station, 10, seed=6, show_progress=False)  # it goes on writing
    assert summary.ledger_size == backed_up and summary.replicas == 1
    manifest = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert manifest["replicas"][f"replicas/{origin_slug(CHILD)}/log"]["origin"] == CHILD
    assert manifest["sqlite"] == ["sealed/identities.sqlite3", "watchlist.sqlite3"]
    assert not {name for name in manifest["files"] if name.endswith(("index.sqlite3", ".mark"))}

    target = DataDir(tmp_path / "restored")
    restored = restore(tmp_path / "backup", target)
    assert restored.ledger_size == backed_up
    for path in (target.path, *target.path.rglob("*")):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert target.load_config().index_url == target.default_index_url()
    mark = MarkFile(target.mark_path).read()
    assert mark is not None and mark.size == backed_up
    again = Station.open(target)
    try:
        assert again.ledger.size() == again.index.indexed_size() == backed_up
        assert again.sealed.count() > 0
        assert [b for _, b in again.ledger.bodies(0, backed_up)] == [
            b for _, b in station.ledger.bodies(0, backed_up)
        ]
        verify_log(again.ledger.store, again.ledger.public_key, ORIGIN)
    finally:
        again.close()
    with RocksDBLogStore.open(target.path / "replicas" / origin_slug(CHILD) / "log") as replica:
        assert replica.meta("replication/origin") == CHILD.encode()


def test_backup_goes_to_a_new_place_outside_the_node(station: Station, tmp_path: Path) -> None:
    source = DataDir(tmp_path / "node")
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError, match="exists"):
        backup(source, tmp_path / "taken")
    with pytest.raises(InputError, match="inside the data directory"):
        backup(source, source.path / "backup")


def test_restore_never_over_a_node(station: Station, tmp_path: Path) -> None:
    backup(DataDir(tmp_path / "node"), tmp_path / "backup")
    with pytest.raises(UsageError, match="holds a node"):
        restore(tmp_path / "backup", DataDir(tmp_path / "node"))


def test_restore_refuses_a_damaged_backup(station: Station, tmp_path: Path) -> None:
    backup(DataDir(tmp_path / "node"), tmp_path / "backup")
    table = damage_largest_table(tmp_path / "backup" / "ledger")
    with pytest.raises(VerificationError, match=f"ledger/{table.name} does not match"):
        restore(tmp_path / "backup", DataDir(tmp_path / "restored"))
    assert not (tmp_path / "restored").exists()


def test_restore_refuses_an_incomplete_backup(station: Station, tmp_path: Path) -> None:
    backup(DataDir(tmp_path / "node"), tmp_path / "backup")
    (tmp_path / "backup" / MANIFEST).unlink()  # a backup stopped before its manifest
    with pytest.raises(UsageError, match="incomplete"):
        restore(tmp_path / "backup", DataDir(tmp_path / "restored"))


def test_restore_refuses_a_manifest_naming_files_outside(station: Station, tmp_path: Path) -> None:
    backup(DataDir(tmp_path / "node"), tmp_path / "backup")
    path = tmp_path / "backup" / MANIFEST
    manifest = json.loads(path.read_text())
    (tmp_path / "elsewhere").write_bytes(b"x")
    manifest["files"]["../elsewhere"] = {"bytes": 1, "sha256": "0" * 64}
    path.write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="outside the backup"):
        restore(tmp_path / "backup", DataDir(tmp_path / "restored"))


def test_a_directory_copied_whole_keeps_an_index_of_its_own(tmp_path: Path) -> None:
    """`cp -a` of a stopped node's directory (no `cctns backup`): node.toml names the index
    relative to the directory, so the copy writes its own index, not the original's (when the
    URL was absolute, the copy's registrations went into the original's index, which then
    refused to open: "the index has N entries but the ledger M")."""
    original = DataDir(tmp_path / "node")
    original.create(origin=ORIGIN)
    assert 'index_url = "sqlite:///index.sqlite3"' in original.config_path.read_text()
    first = Station.open(original)
    seed_station(first, 200, seed=5, show_progress=False)
    size = first.ledger.size()
    first.close()
    shutil.copytree(original.path, tmp_path / "copy")
    copy = DataDir(tmp_path / "copy")
    assert copy.load_config().index_url == copy.default_index_url() != original.default_index_url()
    copied = Station.open(copy)
    try:
        registers.register_fir(copied, "PEN100001", sexual_offence_fir())
        assert copied.index.indexed_size() == copied.ledger.size() > size
    finally:
        copied.close()
    again = Station.open(original)  # its index was not written by the copy
    try:
        assert again.index.indexed_size() == again.ledger.size() == size
    finally:
        again.close()


def test_an_index_in_another_nodes_directory_is_refused(tmp_path: Path) -> None:
    """A copy whose node.toml still names the original's index by its absolute path (written so
    before 2 December 2026, or by hand) is refused before anything is written."""
    original = DataDir(tmp_path / "node")
    original.create(origin=ORIGIN)
    Station.open(original).close()
    shutil.copytree(original.path, tmp_path / "copy")
    copy = DataDir(tmp_path / "copy")
    text = copy.config_path.read_text().replace(
        'index_url = "sqlite:///index.sqlite3"', f'index_url = "{original.default_index_url()}"'
    )
    copy.config_path.write_text(text)
    with pytest.raises(InputError, match="another node's directory"):
        Station.open(copy)


def test_an_index_of_another_log_of_the_same_length_is_refused(tmp_path: Path) -> None:
    """Two copies of one node each write one FIR into what is by then one shared index file:
    the lengths agree, the last entries do not; the owner refuses the index rather than show
    the other log's records as its own."""
    original = DataDir(tmp_path / "node")
    original.create(origin=ORIGIN)
    Station.open(original).close()
    shutil.copytree(original.path, tmp_path / "copy")
    copy = DataDir(tmp_path / "copy")
    copied = Station.open(copy)
    registers.register_fir(copied, "PEN100001", sexual_offence_fir())
    copied.close()
    first = Station.open(original)
    registers.register_fir(first, "PEN100001", sexual_offence_fir())
    first.close()
    shutil.copy(copy.path / "index.sqlite3", original.path / "index.sqlite3")
    with pytest.raises(UsageError, match="not the ledger's: it belongs to another log"):
        Station.open(original)
    # What the refusal tells the operator to run does replace it (it used to open the station,
    # catching up first, and failed with the same refusal).
    assert main(["admin", "rebuild-index", "--data-dir", str(original.path), "--quiet"]) == 0
    again = Station.open(original)
    try:
        assert again.index.indexed_size() == again.ledger.size()
        assert again.index.tail_fingerprint() == entry_fingerprint(
            again.ledger.body(again.ledger.size() - 1)
        )
    finally:
        again.close()


def test_backup_names_a_blob_damaged_on_the_node_s_disk(
    station: Station, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sound = station.blobs.put(b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "image/png")
    damaged = station.blobs.put(b"\x89PNG\r\n\x1a\n" + bytes(range(100, 255)), "image/png")
    path = Path(station.blobs.root or "") / damaged[:2] / damaged[2:4] / damaged
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")  # one byte changed on the disk
    code = main(
        ["admin", "backup", "--data-dir", str(tmp_path / "node"), "--out", str(tmp_path / "b")]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert f"DAMAGED (copied as it is): blobs/{damaged[:2]}/{damaged[2:4]}/{damaged}" in err
    assert sound not in err and "cctns node repair-blobs" in err
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    assert manifest["damaged_blobs"] == [f"blobs/{damaged[:2]}/{damaged[2:4]}/{damaged}"]
