"""node.toml: validated on load, one message per mistake; keys kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ledger.errors import InputError, UsageError
from node.config import DataDir, Limits, Witnessing, parse_config


def test_config_round_trip(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    config = data_dir.create(
        origin="cctns.in/kerala/kollam-city/ps-chavara", district="Kollam City"
    )
    assert data_dir.load_config() == config
    assert config.node_id == "kerala/kollam-city/ps-chavara"
    assert config.station == "ps-chavara"
    mode = stat.S_IMODE(data_dir.key_path.stat().st_mode)
    assert mode == 0o600
    assert len(data_dir.key_path.read_bytes()) == 32


def test_config_lists_every_mistake() -> None:
    text = 'origin = "Not An Origin"\nrole = "king"\ncolour = "blue"\n'
    with pytest.raises(InputError) as caught:
        parse_config(text, "node.toml")
    problems = caught.value.problems
    assert any("'node_id' must be a non-empty string" in p for p in problems)
    assert any("unknown setting 'colour'" in p for p in problems)
    assert any("not a valid log origin" in p for p in problems)
    assert any("role 'king'" in p for p in problems)


def test_config_bad_toml_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="not valid TOML"):
        parse_config("origin = ", "node.toml")


def test_config_missing_node_and_bad_key(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="node init"):
        DataDir(tmp_path / "none").load_config()
    data_dir = DataDir(tmp_path / "node")
    data_dir.create()
    data_dir.key_path.write_bytes(b"short")
    with pytest.raises(UsageError, match="32-byte"):
        data_dir.load_key()


def test_config_default_origin_is_unique_per_node(tmp_path: Path) -> None:
    first = DataDir(tmp_path / "a").create()
    second = DataDir(tmp_path / "b").create()
    assert first.origin != second.origin
    with pytest.raises(UsageError, match="refusing to overwrite"):
        DataDir(tmp_path / "a").create()


def test_config_limits_default_and_round_trip(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    config = data_dir.create(origin="cctns.in/kerala/kollam-city/ps-chavara")
    assert config.limits == Limits()
    assert "[limits]" not in data_dir.config_path.read_text()  # defaults are not written
    text = data_dir.config_path.read_text() + (
        '\n[limits]\nportal_submissions = "2/minute"\npeer_audited_calls = "10/second;100/hour"\n'
    )
    data_dir.config_path.write_text(text)
    loaded = data_dir.load_config()
    assert loaded.limits.portal_submissions == "2/minute"
    assert loaded.limits.peer_audited_calls == "10/second;100/hour"
    assert loaded.limits.portal_lookups == Limits().portal_lookups
    assert parse_config(loaded.to_toml()) == loaded


def test_config_limits_list_every_mistake() -> None:
    text = (
        'node_id = "kerala/x/ps-y"\norigin = "cctns.in/kerala/x/ps-y"\nrole = "station"\n'
        'district = "X"\nstation = "Y"\nindex_url = "sqlite://"\n\n[limits]\n'
        'portal_submissions = "lots"\nportal_lookups = 5\nportal_fir_copies = "0/minute"\n'
        'login_speed = "5/minute"\n'
    )
    with pytest.raises(InputError) as caught:
        parse_config(text, "node.toml")
    problems = caught.value.problems
    assert len(problems) == 4
    assert any("limits.portal_submissions: 'lots' is not a rate limit" in p for p in problems)
    assert any("limits.portal_lookups: must be a string" in p for p in problems)
    assert any("limits.portal_fir_copies: '0/minute' is not a rate limit" in p for p in problems)
    assert any("limits.login_speed: unknown limit" in p for p in problems)


def test_config_witness_settings_validated_and_round_trip() -> None:
    base = (
        'node_id = "kerala/x/ps-y"\norigin = "cctns.in/kerala/x/ps-y"\nrole = "station"\n'
        'district = "X"\nstation = "Y"\nindex_url = "sqlite://"\n'
    )
    assert parse_config(base).witness == Witnessing()
    loaded = parse_config(base + "\n[witness]\nmax_age_minutes = 15\ngossip_minutes = 0\n")
    assert (loaded.witness.max_age_minutes, loaded.witness.gossip_minutes) == (15, 0)
    assert loaded.witness.stale_after_minutes == Witnessing().stale_after_minutes
    assert parse_config(loaded.to_toml()) == loaded
    bad = "\n[witness]\nmax_age_minutes = 0\nstale_after_minutes = true\nfresh = 1\n"
    with pytest.raises(InputError) as caught:
        parse_config(base + bad, "node.toml")
    problems = caught.value.problems
    assert len(problems) == 3
    assert any("witness.max_age_minutes must be a whole number" in p for p in problems)
    assert any("witness.stale_after_minutes must be a whole number" in p for p in problems)
    assert any("witness.fresh: unknown setting" in p for p in problems)


def test_config_new_node_is_owner_only(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin="cctns.in/kerala/kollam-city/ps-chavara")
    modes = {
        path: stat.S_IMODE(path.stat().st_mode)
        for path in (
            data_dir.path,
            data_dir.key_path.parent,
            data_dir.key_path,
            data_dir.config_path,
        )
    }
    assert list(modes.values()) == [0o700, 0o700, 0o600, 0o600]


def test_config_secure_tightens_what_others_could_read(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin="cctns.in/kerala/kollam-city/ps-chavara")
    loose_dir = data_dir.path / "ledger"
    loose_dir.mkdir(mode=0o755)
    loose_dir.chmod(0o755)
    loose_file = loose_dir / "000004.log"
    loose_file.write_bytes(b"wal")
    loose_file.chmod(0o644)
    data_dir.config_path.chmod(0o640)
    tightened = data_dir.secure()
    assert sorted(tightened) == sorted([loose_dir, loose_file, data_dir.config_path])
    assert stat.S_IMODE(loose_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(loose_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.config_path.stat().st_mode) == 0o600
    assert data_dir.secure() == []
