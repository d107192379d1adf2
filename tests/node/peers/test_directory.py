"""The node's directory in its data directory (node/peers/directory.py) and how `Peers` resolves
a node id from it: federation.toml overrides first, then the directory, then the parent's
address."""

from __future__ import annotations

from pathlib import Path

import nacl.signing
import pytest

from federation.directory import sign_statement
from federation.interfaces import PeerAddress
from federation.trust.authority import Authority, create_root, enrol_node, issue_state_authority
from ledger.errors import InputError, UsageError
from node.config import DataDir, FederationConfig, PeerEntry, save_federation
from node.peers.clients import Peers
from node.peers.directory import (
    DIRECTORY_NAME,
    PENDING_NAME,
    NodeDirectory,
    write_pending,
)
from protos import federation_pb2

DISTRICT = "kerala/ernakulam-city/dpo"
STATION = "kerala/ernakulam-city/ps-kalamassery"
OTHER = "kerala/ernakulam-city/ps-edappally"


@pytest.fixture(scope="module")
def kerala() -> Authority:
    return issue_state_authority(create_root(), "kerala")


def enrolled(kerala: Authority, base: Path, node_id: str, parent: str, port: int) -> DataDir:
    data_dir = DataDir(base / node_id.rsplit("/", 1)[-1])
    role = "district" if node_id == DISTRICT else "station"
    data_dir.create(origin=f"cctns.in/{node_id}", role=role)
    enrol_node(
        kerala,
        node_id=node_id,
        role=role,
        parent=parent,
        ledger_key=bytes(data_dir.load_key().verify_key),
        address=f"127.0.0.1:{port}",
    ).save(data_dir.path)
    return data_dir


def open_directory(data_dir: DataDir) -> NodeDirectory:
    return NodeDirectory.open(data_dir, Peers.load(data_dir).credentials)


def test_node_directory_states_its_own_entry_once_and_keeps_it(
    kerala: Authority, tmp_path: Path
) -> None:
    data_dir = enrolled(kerala, tmp_path, STATION, DISTRICT, 7201)
    save_federation(data_dir, FederationConfig(listen="127.0.0.1:7201", parent=DISTRICT))
    node = open_directory(data_dir)
    first = node.state()
    assert first.address == "127.0.0.1:7201" and first.statement.sequence == 1
    assert node.state().statement.sequence == 1  # nothing changed: no new statement
    moved = node.state(address="127.0.0.1:7301", status="moved")
    assert moved.statement.sequence == 2
    assert node.state().status == "moved"  # the status stays until the office says otherwise
    again = open_directory(data_dir)
    assert again.directory.get(STATION).address == "127.0.0.1:7301"  # type: ignore[union-attr]
    assert (data_dir.path / DIRECTORY_NAME).exists()


def test_node_directory_signs_nothing_with_a_key_its_certificate_does_not_name(
    kerala: Authority, tmp_path: Path
) -> None:
    data_dir = enrolled(kerala, tmp_path, STATION, DISTRICT, 7202)
    save_federation(data_dir, FederationConfig(listen="127.0.0.1:7202", parent=DISTRICT))
    data_dir.key_path.write_bytes(bytes(nacl.signing.SigningKey.generate()))  # a rotated key
    node = open_directory(data_dir)
    with pytest.raises(UsageError, match="enrol it"):
        node.state()


def test_node_directory_takes_pending_entries_and_sets_aside_bad_ones(
    kerala: Authority, tmp_path: Path
) -> None:
    district = enrolled(kerala, tmp_path, DISTRICT, "", 7203)
    station = enrolled(kerala, tmp_path, STATION, DISTRICT, 7204)
    for data_dir, port in ((district, 7203), (station, 7204)):
        save_federation(data_dir, FederationConfig(listen=f"127.0.0.1:{port}"))
    parent = open_directory(district)
    child = open_directory(station)
    parent.directory.add(child.state().entry)
    retirement = parent.sign_for_child(STATION, status="retired")
    write_pending(district, retirement, STATION)
    forged = federation_pb2.DirectoryEntry(
        chain=retirement.chain,
        statement=sign_statement(
            nacl.signing.SigningKey.generate(), node_id=STATION, address="10.0.0.1:1", sequence=9
        ),
    )
    write_pending(district, forged, "forged")
    assert parent.take_pending() == [STATION]
    assert parent.directory.get(STATION).status == "retired"  # type: ignore[union-attr]
    assert [p.name for p in (district.path / PENDING_NAME).iterdir()] == ["forged.refused"]
    with pytest.raises(InputError, match="not a child"):
        child.sign_for_child(DISTRICT, status="retired")


def test_peers_address_prefers_overrides_then_directory_then_parent_address(
    kerala: Authority, tmp_path: Path
) -> None:
    data_dir = enrolled(kerala, tmp_path, STATION, DISTRICT, 7205)
    other = enrolled(kerala, tmp_path, OTHER, DISTRICT, 7206)
    save_federation(other, FederationConfig(listen="127.0.0.1:7206"))
    override = PeerAddress(node_id=OTHER, address="127.0.0.1:9999", ledger_key=bytes(32))
    save_federation(
        data_dir,
        FederationConfig(
            listen="127.0.0.1:7205",
            parent=DISTRICT,
            parent_address="127.0.0.1:7000",
            peers=(PeerEntry(override),),
        ),
    )
    peers = Peers.load(data_dir)
    assert peers.directory is not None
    peers.directory.directory.add(open_directory(other).state().entry)
    assert peers.address(OTHER).address == "127.0.0.1:9999"  # federation.toml wins
    assert peers.address(DISTRICT).address == "127.0.0.1:7000"  # not in the directory yet
    save_federation(
        data_dir,
        FederationConfig(listen="127.0.0.1:7205", parent=DISTRICT, parent_address="127.0.0.1:7000"),
    )
    peers = Peers.load(data_dir)
    assert peers.directory is not None
    peers.directory.directory.add(open_directory(other).state().entry)
    found = peers.address(OTHER)
    assert found.address == "127.0.0.1:7206" and found.parent == DISTRICT
    assert OTHER in peers.known()
    with pytest.raises(InputError, match="kerala/nowhere"):
        peers.address("kerala/nowhere")
