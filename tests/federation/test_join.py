"""Joining with `cctns federation join` (admin/federation_cli.py), real node processes over
gRPC on loopback: nobody writes a peer list, yet a new station is found by a station in another
district, an office that moves is reached at its new address, and a revoked one leaves every
directory (docs/directory.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import PeerError
from node.config import load_federation
from node.peers.directory import DIRECTORY_NAME
from tests.federation.procs import Federation, Spec, build_federation, free_port, wait_for

pytestmark = pytest.mark.slow

SPECS = [
    Spec("scrb", "state"),
    Spec("ekm", "district", parent="scrb"),
    Spec("tsr", "district", parent="scrb"),
    Spec("kal", "station", parent="ekm", records=5),
    Spec("oll", "station", parent="tsr", records=5),
]


def directory_of(fed: Federation, name: str) -> dict[str, dict[str, object]]:
    """The offices in a node's directory.json, by node id ({} before it has one)."""
    path = fed[name].path / DIRECTORY_NAME
    if not path.exists():
        return {}
    return {row["node_id"]: row for row in json.loads(path.read_text())["entries"]}


def join(fed: Federation, name: str) -> str:
    """`cctns federation join`, the parent found in the node's certificate."""
    node = fed[name]
    args = ["federation", "join", "--data-dir", str(node.path)]
    parent = next(s.parent for s in SPECS if s.name == name)
    if parent:
        args += ["--parent-address", fed[parent].address]
    result = fed.cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    base = tmp_path_factory.mktemp("join")
    fed = build_federation(base, SPECS)
    fed.state.save(base / "authorities" / "kerala")  # for `cctns ca revoke`
    for node in fed.nodes.values():
        node.data_dir.federation_path.unlink()  # no peer lists: every node joins
    try:
        for spec in SPECS:  # parents first: a node joins a parent that runs
            join(fed, spec.name)
            fed.start(spec.name)
        yield fed
    finally:
        fed.stop_all()


def test_join_writes_only_what_is_local(fed: Federation) -> None:
    config = load_federation(fed["oll"].data_dir)
    assert config.peers == ()
    assert config.parent == fed["tsr"].node_id
    assert config.parent_address == fed["tsr"].address
    assert config.listen == fed["oll"].address
    shown = fed.cli("federation", "directory", "--json", "--data-dir", str(fed["oll"].path))
    offices = {row["node_id"]: row for row in json.loads(shown.stdout)["offices"]}
    assert offices[fed["tsr"].node_id]["address"] == fed["tsr"].address
    assert offices[fed["scrb"].node_id]["role"] == "state"
    assert offices[fed["oll"].node_id]["software_version"]


def test_join_new_station_found_from_another_district(fed: Federation) -> None:
    oll = fed["oll"]
    wait_for(
        "kal's directory to hold oll (through tsr, scrb and ekm)",
        lambda: oll.node_id in directory_of(fed, "kal"),
    )
    assert directory_of(fed, "kal")[oll.node_id]["address"] == oll.address

    # Its parent follows it, from the directory alone.
    def replicated() -> bool:
        try:
            return fed.checkpoint_of("tsr", "tsr", oll.origin).size > 0
        except PeerError:
            return False  # no verified checkpoint yet

    wait_for("tsr to replicate oll", replicated)

    # The state node holds a verified replica of the station too: a higher office follows every
    # office of its subtree the directory names, not only its children.
    def replicated_at_state() -> bool:
        try:
            return fed.checkpoint_of("scrb", "scrb", oll.origin).size > 0
        except PeerError:
            return False

    wait_for("scrb to replicate oll (its grandchild)", replicated_at_state)
    # kal asks oll directly, as a station asks any other.
    result = fed.cli(
        "peer", "search", "a", "--nodes", oll.node_id, "--json", "--data-dir", str(fed["kal"].path)
    )
    answer = json.loads(result.stdout)
    assert not answer["unanswered"] and oll.node_id in answer["freshness"], result.stderr


def test_join_moved_office_reached_at_its_new_address(fed: Federation) -> None:
    oll = fed["oll"]
    wait_for("kal to know oll", lambda: oll.node_id in directory_of(fed, "kal"))
    fed.stop("oll")
    new = f"127.0.0.1:{free_port()}"
    result = fed.cli(
        "federation", "move", "--data-dir", str(oll.path), "--address", new, "--listen", new
    )
    assert result.returncode == 0, result.stderr
    oll.port = int(new.rsplit(":", 1)[1])
    fed.start("oll")
    wait_for(
        "kal's directory to follow oll's move",
        lambda: directory_of(fed, "kal").get(oll.node_id, {}).get("address") == new,
    )
    result = fed.cli(
        "peer", "search", "a", "--nodes", oll.node_id, "--json", "--data-dir", str(fed["kal"].path)
    )
    assert not json.loads(result.stdout)["unanswered"], result.stderr


def test_join_revoked_office_leaves_every_directory(fed: Federation) -> None:
    oll = fed["oll"]
    wait_for(
        "every node to know oll",
        lambda: all(oll.node_id in directory_of(fed, n) for n in ("scrb", "ekm", "tsr", "kal")),
    )
    fed.stop("tsr")
    record = fed.base / f"revoked-{uuid.uuid4().hex[:8]}.json"
    result = fed.cli(
        "ca",
        "revoke",
        "--authority",
        str(fed.base / "authorities" / "kerala"),
        "--node-id",
        oll.node_id,
        "--reason",
        "station closed",
        "--out",
        str(record),
        "--data-dir",
        str(fed["tsr"].path),
    )
    assert result.returncode == 0, result.stderr
    fed.start("tsr")
    wait_for(
        "oll to leave every directory",
        lambda: not any(oll.node_id in directory_of(fed, n) for n in ("scrb", "ekm", "tsr", "kal")),
    )


def test_join_refused_before_enrolment(tmp_path: Path, fed: Federation) -> None:
    result = fed.cli("node", "init", "--data-dir", str(tmp_path / "new"))
    assert result.returncode == 0, result.stderr
    result = fed.cli(
        "federation",
        "join",
        "--data-dir",
        str(tmp_path / "new"),
        "--parent-address",
        fed["ekm"].address,
    )
    assert result.returncode == 2 and "not enrolled" in result.stderr
