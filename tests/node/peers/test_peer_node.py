"""A station as the federation sees it (`node.peers.peer_node`), asked over a real gRPC server on
loopback: persons the withholding policy protects are never found by name (Search, HitNoHit), and
FetchRecord hands out their record as signed, with commitments in place of the identities.

The server runs plaintext with a fixed caller, as in tests/federation/test_status.py: what is
tested is what the node answers; mutual TLS is tests/federation/test_tls.py's subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
import trio

from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.service import PeerService
from federation.verify import verify_record_response
from ledger.cosignature import cosign, verify_cosignature
from ledger.entry import parse_leaf
from node.config import DataDir
from node.peers.peer_node import StationPeerNode
from node.station import registers
from node.station.core import Station
from protos import federation_pb2, records_pb2
from tests.node.support import person, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
ASKER = PeerIdentity("kerala/ernakulam-city/ps-aluva", "station", "kerala/ernakulam-city", b"")
TIMEOUT = 10.0
CONTEXT = federation_pb2.QueryContext(
    officer_id="PEN300003", purpose="investigation", case_ref="FIR No. 4/2026 of ps-aluva"
)
# What must never leave the station: (name, mobile, address) of each protected complainant.
WOMAN = ("Anitha Kumari", "9447011111", "Kunnumpuram House")
PARENT = ("Suresh Babu", "9895012345", "Thekkedath House")


@dataclass
class Peer:
    station: Station
    client: GrpcPeerClient
    woman: str  # the FIR numbers
    parent: str
    theft: str

    def call(self, method: str, request: Any) -> Any:
        async def run() -> Any:
            return await getattr(self.client, method)(request, timeout=TIMEOUT)

        return trio.run(run)


def _complainant(name: str, mobile: str, address: str, sex: str) -> records_pb2.PersonInCase:
    return person(name, records_pb2.COMPLAINANT, sex=sex, age=40, mobile=mobile, address=address)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    root: Path = tmp_path_factory.mktemp("peer")
    data_dir = DataDir(root / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    # The woman reports the offence against herself: no victim row.
    woman = theft_fir()
    woman.sections[0].CopyFrom(records_pb2.ActSection(act="BNS", section="64(1)"))
    del woman.persons[:], woman.property[:]
    woman.persons.append(_complainant(*WOMAN, sex="F"))
    woman.brief_facts = f"{WOMAN[0]} reported that the accused assaulted her."
    woman.recording.recorded_by_sex = "F"  # a woman officer records it (BNSS s.173(1))
    # A POCSO case: the child's father complains; his name identifies the child.
    parent = theft_fir()
    parent.sections[0].CopyFrom(records_pb2.ActSection(act="POCSO", section="8"))
    del parent.persons[:], parent.property[:]
    parent.persons.append(_complainant(*PARENT, sex="M"))
    parent.persons.append(person("Child Z", records_pb2.VICTIM, sex="F", age=11))
    theft = theft_fir()
    refs = [registers.register_fir(station, OFFICER, fir).ref for fir in (woman, parent, theft)]
    service = PeerService(StationPeerNode(station))
    server, port = start_server(
        PeerServicer(service, authenticate=lambda context: ASKER),
        "127.0.0.1:0",
        credentials=None,
        max_workers=2,
    )
    client = GrpcPeerClient(
        PeerAddress(station.config.node_id, f"127.0.0.1:{port}"), credentials=None
    )
    try:
        yield Peer(station, client, *refs)
    finally:
        client.close()
        server.stop(grace=None).wait()
        station.close()


def _search(peer: Peer, query: str) -> federation_pb2.SearchResponse:
    request = federation_pb2.SearchRequest(kind="person", query=query, context=CONTEXT)
    response: federation_pb2.SearchResponse = peer.call("search", request)
    return response


@pytest.mark.parametrize("protected", [WOMAN, PARENT], ids=["woman", "pocso-parent"])
def test_peer_search_never_finds_a_protected_complainant(
    peer: Peer, protected: tuple[str, str, str]
) -> None:
    name, mobile, address = protected
    refs = {peer.woman, peer.parent}
    for query in (name, name.split()[0], name.split()[1]):
        response = _search(peer, query)
        assert not {hit.ref for hit in response.hits} & refs, query
        shown = b"".join(hit.SerializeToString() for hit in response.hits)
        for secret in (name, mobile, address):
            assert secret.encode() not in shown
        hit = peer.call(
            "hit_no_hit",
            federation_pb2.HitRequest(identifier_type="person_name", value=name, context=CONTEXT),
        )
        assert not hit.hit and not set(hit.refs) & refs
    # The same search finds a complainant the law does not protect.
    assert peer.theft in {hit.ref for hit in _search(peer, "Rajesh K").hits}


@pytest.mark.parametrize("protected", [WOMAN, PARENT], ids=["woman", "pocso-parent"])
def test_peer_fetch_record_carries_only_the_commitment(
    peer: Peer, protected: tuple[str, str, str]
) -> None:
    ref = peer.woman if protected is WOMAN else peer.parent
    response = peer.call("fetch_record", federation_pb2.RecordRequest(ref=ref, context=CONTEXT))
    verified = verify_record_response(
        response,
        expected_origin=ORIGIN,
        owner_public_key=peer.station.ledger.public_key,
        asker_node_id=ASKER.node_id,
        expected_ref=ref,
    )
    everything = response.SerializeToString()
    for secret in protected:
        assert secret.encode() not in everything, secret
    complainant = parse_leaf(response.record.leaf).decode_body().fir.persons[0]
    assert complainant.role == records_pb2.COMPLAINANT
    assert len(complainant.person.identity_commitment) == 32
    assert not complainant.person.name and not complainant.person.mobile
    assert verified.record.body.fir.fir_number == ref


@pytest.mark.parametrize("protected", [WOMAN, PARENT], ids=["woman", "pocso-parent"])
def test_peer_search_for_a_name_audits_it_sealed(peer: Peer, protected: tuple[str, ...]) -> None:
    """Another office searching for a protected name writes an audit entry that replicates
    upward: the name in it is a placeholder of its commitment, the name in the sealed store."""
    name = protected[0]
    before = peer.station.ledger.size()
    _search(peer, name)
    leaves = [peer.station.ledger.leaf(i) for i in range(before, peer.station.ledger.size())]
    assert leaves and all(name.encode() not in leaf for leaf in leaves)
    (audit,) = [
        body.audit
        for body in (parse_leaf(leaf).decode_body() for leaf in leaves)
        if body.WhichOneof("record") == "audit"
    ]
    assert audit.query_kind == "search:person" and audit.query.startswith("[withheld:")
    prefix = bytes.fromhex(audit.query.removeprefix("[withheld:").removesuffix("]"))
    assert [i.identity.name for i in peer.station.sealed.by_prefix(prefix)] == [name]


def test_the_same_checkpoint_cosigned_by_two_witnesses_keeps_both_lines(tmp_path: Path) -> None:
    # A station's parent and an office higher up both cosign its checkpoint (each follows it):
    # the note served to readers carries both lines, whichever arrived last, so that a reader
    # holding the default policy (the parent's cosignature) still finds the parent's.
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        registers.write_gd(station, OFFICER, "information", "Beat patrol left at 22:00.")
        node = StationPeerNode(station)
        note = station.ledger.checkpoint()
        district = nacl.signing.SigningKey(bytes(range(3, 35)))
        state = nacl.signing.SigningKey(bytes(range(4, 36)))
        node.store_cosignature(cosign(note, district, "cctns.in/kerala/ernakulam-city/dpo", 100))
        node.store_cosignature(cosign(note, state, "cctns.in/kerala/scrb", 90))
        served = node.witnessed_checkpoint()
        dpo_key, scrb_key = bytes(district.verify_key), bytes(state.verify_key)
        assert verify_cosignature(served, dpo_key, "cctns.in/kerala/ernakulam-city/dpo") == 100
        assert verify_cosignature(served, scrb_key, "cctns.in/kerala/scrb") == 90
        # A later cosignature of a larger checkpoint replaces it whole.
        registers.write_gd(station, OFFICER, "information", "Beat patrol returned at 02:00.")
        bigger = cosign(station.ledger.checkpoint(), state, "cctns.in/kerala/scrb", 200)
        node.store_cosignature(bigger)
        assert node.witnessed_checkpoint() == bigger
    finally:
        station.close()
