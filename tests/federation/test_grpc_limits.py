"""Large entries and oversized requests over real gRPC on loopback: a parent replicates twenty
entries near the ledger's maximum in a row (once a batch of them outgrew gRPC's 16 MiB message
and replication stopped there for good), and a request with a megabyte field is refused with
nothing written. Plaintext: TLS is not what these tests are about (tests/federation/test_tls.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import MAX_MESSAGE_BYTES, PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.replication import ReplicaFollower, follow_once
from federation.service import MAX_BATCH_BYTES
from ledger.errors import InputError
from ledger.log import MAX_ENTRY_BYTES, verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.records import limits
from protos import federation_pb2, ledger_pb2, records_pb2
from tests.federation.cluster import DISTRICT, Member, context, open_member

PARENT = PeerIdentity(DISTRICT, "district", "kerala", bytes(32))
TIMEOUT = 60.0


@dataclass
class Served:
    member: Member
    address: PeerAddress


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Served]:
    member = open_member(tmp_path, "ps-aluva", records=20)
    servicer = PeerServicer(member.service, authenticate=lambda context: PARENT)
    server, port = start_server(servicer, "127.0.0.1:0", credentials=None, max_workers=4)
    try:
        yield Served(member, PeerAddress(member.node_id, f"127.0.0.1:{port}"))
    finally:
        server.stop(grace=None).wait()
        member.station.close()


def test_grpc_budget_keeps_a_batch_below_the_message_limit() -> None:
    # The largest batch: the budget, then a leaf at the ledger's maximum that did not fit.
    assert MAX_BATCH_BYTES + limits.LEAF_BYTES < MAX_MESSAGE_BYTES
    assert MAX_ENTRY_BYTES < limits.LEAF_BYTES


def test_grpc_twenty_entries_near_the_maximum_replicate_to_a_parent(
    child: Served, tmp_path: Path
) -> None:
    ledger = child.member.station.ledger
    near = "x" * (MAX_ENTRY_BYTES - 300)
    large = [
        ledger_pb2.EntryBody(
            officer_id="PEN100001", general_diary=records_pb2.GeneralDiaryEntry(summary=near)
        )
        for _ in range(20)
    ]
    ledger.append_many(large)
    size = ledger.size()
    assert sum(len(leaf) for leaf in ledger.store.entries(0, size)) > MAX_MESSAGE_BYTES
    store = RocksDBLogStore.open(tmp_path / "replica")
    client = GrpcPeerClient(child.address, credentials=None)
    try:
        follower = ReplicaFollower(store, child.member.origin, ledger.public_key)
        progress = trio.run(lambda: follow_once(follower, client, timeout=TIMEOUT))
        assert progress.fetched == size and follower.verified_size == size
        assert list(store.entries(0, size)) == list(ledger.store.entries(0, size))
        verify_log(store, ledger.public_key, child.member.origin)
    finally:
        client.close()
        store.close()


def test_grpc_megabyte_field_is_refused_and_nothing_written(child: Served) -> None:
    ledger = child.member.station.ledger
    size, note = ledger.size(), ledger.checkpoint()
    request = federation_pb2.SearchRequest(kind="person", query="x" * 1_000_000, context=context())
    client = GrpcPeerClient(child.address, credentials=None)
    try:
        with pytest.raises(InputError, match="query is longer than 200 characters"):
            trio.run(lambda: client.search(request, timeout=TIMEOUT))
    finally:
        client.close()
    assert ledger.size() == size and ledger.checkpoint() == note
