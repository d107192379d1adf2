"""`cctns user add|list|disable|set-password` over a real data directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from admin import user_cli
from ledger.errors import InputError, UsageError
from node.config import DataDir
from node.web.auth import accounts_for

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cctns")
    user_cli.register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def test_user_cli_add_list_disable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "node"
    DataDir(data).create(origin=ORIGIN)
    secret_file = tmp_path / "password"
    secret_file.write_text("a long enough passphrase\n", "utf-8")
    common = ("--data-dir", str(data))
    assert run("user", "add", *common, "--officer-id", "PEN123456", "--name", "Anitha K",
               "--sex", "F", "--role", "sho", "--password-file", str(secret_file)) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "otpauth://totp/CCTNS:PEN123456" in out and "secret: " in out
    assert "a long enough passphrase" not in out
    run("user", "list", *common, "--json")
    (row,) = json.loads(capsys.readouterr().out)
    assert row["station_node_id"] == "kerala/ernakulam-city/ps-kalamassery"
    assert (row["role"], row["totp_confirmed"], row["disabled"]) == ("sho", False, False)
    assert run("user", "disable", *common, "--officer-id", "PEN123456") == 0
    store = accounts_for(DataDir(data))
    try:
        officer = store.officer("PEN123456")
        assert officer is not None and officer.disabled
    finally:
        store.close()
    assert (data / "web" / "accounts.sqlite3").exists()
    with pytest.raises(InputError, match="no account"):
        run("user", "disable", *common, "--officer-id", "PEN999999")


def test_user_cli_refuses_a_directory_without_a_node(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds no node"):
        run("user", "list", "--data-dir", str(tmp_path))
