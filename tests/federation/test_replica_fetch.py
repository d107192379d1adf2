"""A fetch answered from a replica (docs/directory.md, "Fetching a retired office's records"):
the peer service of a district office holding verified replicas of two stations
(tests/node/peers/district.py: real RocksDB and SQLite, the real follower) answers a fetch naming
a station's log with the record proven to the replica's checkpoint and the read's audit entry
proven in its own log; the asker's check (federation/verify.py) takes it and refuses a tampered
answer; an origin it holds no replica of is a plain NotFound naming it, not audited; the rules of
a fetch of its own records hold (entitlement, the quota, a withheld victim never in clear). One
answer crosses the in-memory transport (federation/memory.py) to show the new fields travel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trio

from federation.interfaces import PeerIdentity
from federation.logs import LedgerLogReader
from federation.memory import MemoryNetwork
from federation.service import PeerService, audited_call_quota
from federation.verify import VerifiedRecord, verify_replica_record_response
from federation.witness import CosignedBy
from ledger.errors import NotFound, NotPermitted, RateLimited, VerificationError
from ledger.keys import LogKeys
from node.peers.peer_node import StationPeerNode
from node.station import registers
from node.station.core import Station
from protos import federation_pb2
from tests.federation.cluster import audits, context, first_fir
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import DISTRICT, District, build_district
from tests.node.support import VICTIM, sexual_offence_fir

ASKER = PeerIdentity("kerala/thrissur-city/ps-ollur", "station", "kerala/thrissur-city", b"")
LAB = PeerIdentity("kerala/fsl-thiruvananthapuram", "forensic-lab", "kerala", b"")
OFFICER = "PEN100001"


@dataclass
class Held:
    district: District
    node: StationPeerNode
    service: PeerService
    child: Station  # the station whose log the district holds, as a retired office's would be
    fir_number: str  # its first FIR, amended once
    assault: str  # its FIR of a sexual offence (the victim sealed)

    @property
    def origin(self) -> str:
        return self.child.config.origin

    def fetch(
        self, ref: str, origin: str = "", *, caller: PeerIdentity = ASKER
    ) -> federation_pb2.RecordResponse:
        request = federation_pb2.RecordRequest(
            ref=ref, context=context(), origin=self.origin if origin == "" else origin
        )
        return self.service.fetch_record(caller, request)

    def verify(self, response: federation_pb2.RecordResponse, ref: str) -> VerifiedRecord:
        station = self.district.station
        return verify_replica_record_response(
            response,
            expected_origin=self.origin,
            owner_public_key=self.child.ledger.public_key,
            holder_node_id=station.config.node_id,
            holder_origin=station.config.origin,
            holder_public_key=station.ledger.public_key,
            asker_node_id=ASKER.node_id,
            expected_ref=ref,
        )


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Held]:
    district = build_district(tmp_path_factory.mktemp("replica-fetch"))
    try:
        child = district.children[0]
        fir_number = first_fir(child).fir_number
        registers.amend(child, OFFICER, fir_number, "typing error", {"brief_facts": "Corrected."})
        assault = registers.register_fir(child, OFFICER, sexual_offence_fir()).ref
        peer = LogPeer({child.config.origin: LedgerLogReader(child.ledger)}.__getitem__, "child")
        follow(district.replicas.get(child.config.origin).follower, peer)
        node = StationPeerNode(
            district.station, replicas=district.replicas, replica_indexes=district.indexes
        )
        yield Held(district, node, PeerService(node), child, fir_number, assault)
    finally:
        district.close()


def test_fetch_from_replica_is_proven_in_the_replica_and_the_receipt_in_the_holders_log(
    held: Held,
) -> None:
    before = held.district.station.ledger.size()
    response = held.fetch(held.fir_number)
    verified = held.verify(response, held.fir_number)
    assert verified.origin == held.origin
    assert verified.record.body.fir.fir_number == held.fir_number
    assert [a.body.amendment.record_ref for a in verified.amendments] == [held.fir_number]
    # Proven to the replica's checkpoint: the office's log as the district verified it.
    replica = held.district.replicas.get(held.origin)
    assert verified.checkpoint.size == replica.size() == held.child.ledger.size()
    assert (verified.answered_by, verified.receipt_origin) == (
        held.district.station.config.node_id,
        DISTRICT,
    )
    # The read is audited in the district's own log, once, naming whose record left.
    written = audits(held.district.station, before)
    assert [index for index, _ in written] == [verified.receipt.index]
    audit = written[0][1]
    office = held.origin.split("/", 1)[-1]
    assert list(audit.returned_refs) == [f"{held.fir_number} @ {office}"]
    assert audit.asker_node_id == ASKER.node_id and audit.full_record
    # The replica's checkpoint comes cosigned by the district (its witness, "as of" when).
    verdict = CosignedBy(DISTRICT, LogKeys.single(held.district.station.ledger.public_key)).check(
        response.witnessed.note, now_s=2**40
    )
    assert verdict.ok and verdict.cosigned_at_s, verdict


def _flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)


def test_a_tampered_replica_answer_is_refused(held: Held) -> None:
    good = held.fetch(held.fir_number)
    # The record's bytes changed.
    bad = federation_pb2.RecordResponse()
    bad.CopyFrom(good)
    bad.record.leaf = _flip(bad.record.leaf, len(bad.record.leaf) // 2)
    with pytest.raises(VerificationError):
        held.verify(bad, held.fir_number)
    # The record and its proof taken from another log (the other station's FIR of that number,
    # which the district also holds), the rest of the answer kept.
    other = held.district.children[1].config.origin
    foreign = held.fetch(held.fir_number, other)
    bad = federation_pb2.RecordResponse()
    bad.CopyFrom(good)
    bad.record.CopyFrom(foreign.record)
    with pytest.raises(VerificationError, match="the record"):
        held.verify(bad, held.fir_number)
    # The whole answer of the other log, passed off as this one's.
    with pytest.raises(VerificationError, match="is from log"):
        held.verify(foreign, held.fir_number)
    # The receipt proven to the replica's checkpoint rather than the holder's own.
    bad = federation_pb2.RecordResponse()
    bad.CopyFrom(good)
    bad.receipt_checkpoint = good.checkpoint
    with pytest.raises(VerificationError):
        held.verify(bad, held.fir_number)
    # Another holder claimed.
    bad = federation_pb2.RecordResponse()
    bad.CopyFrom(good)
    bad.answered_by = "kerala/ernakulam-city/sdpo-elsewhere"
    with pytest.raises(VerificationError, match="answered by"):
        held.verify(bad, held.fir_number)


def test_a_fetch_naming_an_origin_not_held_is_a_plain_not_found(held: Held) -> None:
    before = held.district.station.ledger.size()
    missing = "cctns.in/kerala/ernakulam-city/ps-nowhere"
    with pytest.raises(NotFound, match=f"holds no replica of {re.escape(missing)}"):
        held.fetch(held.fir_number, missing)
    with pytest.raises(NotFound, match=r"no record 'FIR No\. 999/2026'"):
        held.fetch("FIR No. 999/2026")
    assert held.district.station.ledger.size() == before  # nothing audited


def test_a_replica_fetch_keeps_the_rules_of_a_fetch(held: Held) -> None:
    # A protected victim leaves only as the commitment the office's signed leaf holds.
    response = held.fetch(held.assault)
    verified = held.verify(response, held.assault)
    assert verified.record.body.fir.fir_number == held.assault
    assert VICTIM.encode() not in response.SerializeToString()
    # Entitlement: a forensic lab is entitled to hit/no-hit answers only.
    with pytest.raises(NotPermitted, match="hit/no-hit"):
        held.fetch(held.fir_number, caller=LAB)
    # The quota counts a replica's fetch as any other, before anything is looked up.
    service = PeerService(held.node, quota=audited_call_quota("2/minute"))
    request = federation_pb2.RecordRequest(
        ref=held.fir_number, context=context(), origin=held.origin
    )
    before = held.district.station.ledger.size()
    service.fetch_record(ASKER, request)
    service.fetch_record(ASKER, request)
    with pytest.raises(RateLimited):
        service.fetch_record(ASKER, request)
    assert held.district.station.ledger.size() == before + 2


def test_a_replica_fetch_over_the_in_memory_transport(held: Held) -> None:
    asker_node = StationPeerNode(held.district.children[1])
    asker = PeerIdentity(
        asker_node.node_id,
        "station",
        "kerala/ernakulam-city",
        held.district.children[1].ledger.public_key,
    )
    holder = PeerIdentity(
        held.node.node_id,
        "district",
        "kerala",
        held.district.station.ledger.public_key,
    )
    net = MemoryNetwork()
    net.add(held.service, holder)
    net.add(PeerService(asker_node), asker)
    request = federation_pb2.RecordRequest(
        ref=held.fir_number, context=context(), origin=held.origin
    )

    async def ask() -> federation_pb2.RecordResponse:
        return await net.client(asker.node_id, holder.node_id).fetch_record(request, timeout=5)

    response = trio.run(ask)
    station = held.district.station
    verified = verify_replica_record_response(
        response,
        expected_origin=held.origin,
        owner_public_key=held.child.ledger.public_key,
        holder_node_id=station.config.node_id,
        holder_origin=station.config.origin,
        holder_public_key=station.ledger.public_key,
        asker_node_id=asker.node_id,
        expected_ref=held.fir_number,
    )
    assert verified.record.body.fir.fir_number == held.fir_number
