"""A node's data directory is its user's only: after `cctns node init`, `cctns ca enrol`, a
node serving (gRPC and web) and officers writing through the web UI, every directory under it
is 0700 and every file 0600: keys, RocksDB's files (its own LOG too), SQLite databases and
their journals, TLS material, the web secret, the high-water mark. Real processes throughout."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from node.config import DataDir, FederationConfig, save_federation
from tests.processes import run_cctns
from tests.web.browser import NODE_ID, ORIGIN, csrf_from, free_port, serve

pytestmark = pytest.mark.slow  # real node processes


def _cctns(*args: str) -> None:
    done = run_cctns(*args)
    assert done.returncode == 0, done.stderr


def _modes(root: Path) -> dict[str, tuple[int, int]]:
    """(mode, the mode it should have) of `root` and of every path under it."""
    modes = {}
    for path in (root, *sorted(root.rglob("*"))):
        assert not path.is_symlink(), path
        wanted = 0o700 if path.is_dir() else 0o600
        modes[str(path.relative_to(root))] = (stat.S_IMODE(path.lstat().st_mode), wanted)
    return modes


def test_data_dir_is_owner_only_after_init_enrol_serve_and_writes(tmp_path: Path) -> None:
    authorities = tmp_path / "authorities"
    data = tmp_path / "station"
    _cctns("ca", "init-root", "--dir", str(authorities / "root"))
    _cctns(
        "ca", "issue-state", "--root", str(authorities / "root"), "--state", "kerala",
        "--dir", str(authorities / "kerala"),
    )  # fmt: skip
    _cctns("node", "init", "--data-dir", str(data), "--origin", ORIGIN)
    address = f"127.0.0.1:{free_port()}"
    _cctns(
        "ca", "enrol", "--authority", str(authorities / "kerala"), "--data-dir", str(data),
        "--parent", "kerala/ernakulam-city/dpo", "--address", address,
    )  # fmt: skip
    save_federation(DataDir(data), FederationConfig(listen=address))

    with serve(data, command="serve") as node, node.client() as client:
        node.login(client)
        for number in range(3):
            form = client.get("/gd/new")
            saved = client.post(
                "/gd/new",
                data={
                    "category": "arrival",
                    "summary": f"SI returned from patrol, beat {number}",
                    "csrf_token": csrf_from(form.text),
                },
                follow_redirects=False,
            )
            assert saved.status_code == 303, saved.text
        assert "beat 2" in client.get(saved.headers["location"]).text

    modes = _modes(data)
    # Every kind of store is there, so the check below covers each.
    for expected in (
        "keys/node.ed25519", "tls/node.key", "tls/node.crt", "node.toml", "federation.toml",
        "ledger.mark", "ledger/CURRENT", "ledger/LOG", "index.sqlite3",
        "sealed/identities.sqlite3", "web/accounts.sqlite3", "web/secret.key",
    ):  # fmt: skip
        assert expected in modes, sorted(modes)
    loose = {name: oct(mode) for name, (mode, wanted) in modes.items() if mode != wanted}
    assert loose == {}, loose
    assert NODE_ID in (data / "node.toml").read_text()
    assert os.stat(data).st_uid == os.getuid()
