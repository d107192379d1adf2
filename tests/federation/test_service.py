"""PeerService over real stations: entitlements, validation, audit receipts, the caller's
verification of records and receipts (federation/verify.py), and the quota per peer on audited
calls (over a real gRPC server on loopback)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
import trio

from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.service import (
    MAX_BATCH_BYTES,
    MAX_BATCH_SIZE,
    MAX_ENTRIES_PER_REQUEST,
    PeerService,
    _batches,
    audited_call_quota,
)
from federation.verify import verify_receipt, verify_record_response
from ledger.checkpoint import parse_note, sign_checkpoint
from ledger.errors import InputError, NotPermitted, PeerError, RateLimited, VerificationError
from ledger.log import MAX_ENTRY_BYTES
from node.peers.peer_node import LedgerLogReader
from node.records import limits
from node.station import registers
from protos import federation_pb2, ledger_pb2, records_pb2
from tests.federation.cluster import (
    CASE,
    LAB,
    OFFICER,
    Member,
    audits,
    context,
    first_fir,
    first_person,
    first_vehicle,
    open_cluster,
    open_member,
)


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Member]]:
    yield from open_cluster(tmp_path_factory.mktemp("cluster"))


@pytest.fixture
def owner(members: dict[str, Member]) -> Member:
    return members["ps-kalamassery"]


@pytest.fixture
def asker(members: dict[str, Member]) -> Member:
    return members["ps-aluva"]


@pytest.fixture
def lab(members: dict[str, Member]) -> Member:
    return members[LAB]


def fetch(owner: Member, asker: Member, ref: str) -> federation_pb2.RecordResponse:
    request = federation_pb2.RecordRequest(ref=ref, context=context())
    return owner.service.fetch_record(asker.identity, request)


def test_service_fetch_record_verifies_with_amendments_and_receipt(
    owner: Member, asker: Member
) -> None:
    ref = first_fir(owner.station).fir_number
    registers.amend(
        owner.station, OFFICER, ref, "typing error", {"brief_facts": "Corrected facts."}
    )
    response = fetch(owner, asker, ref)
    verified = verify_record_response(
        response,
        expected_origin=owner.origin,
        owner_public_key=owner.public_key,
        asker_node_id=asker.node_id,
        expected_ref=ref,
    )
    assert verified.record.body.fir.fir_number == ref
    assert len(verified.amendments) == 1
    assert verified.amendments[0].body.amendment.record_ref == ref
    audit = verified.receipt.audit
    assert (audit.asker_node_id, audit.asker_officer_id, audit.case_ref) == (
        asker.node_id,
        OFFICER,
        CASE,
    )
    assert list(audit.returned_refs) == [ref]
    assert audit.full_record


def test_service_fetch_record_appends_one_audit_entry_and_indexes_it(
    owner: Member, asker: Member
) -> None:
    before = owner.station.ledger.size()
    response = fetch(owner, asker, first_fir(owner.station).fir_number)
    written = audits(owner.station, before)
    assert [index for index, _ in written] == [response.receipt.index]
    # Durable when the answer leaves; indexed just after it (Station.commit index_later).
    owner.station.flush_index()
    assert owner.station.index.indexed_size() == owner.station.ledger.size()


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize(
    "tamper",
    [
        "record leaf",
        "record proof",
        "record index",
        "note",
        "amendment dropped in favour of another entry",
        "receipt leaf",
        "receipt proof",
        "origin",
    ],
)
def test_service_tampered_record_response_is_rejected(
    owner: Member, asker: Member, tamper: str
) -> None:
    ref = first_fir(owner.station).fir_number
    response = fetch(owner, asker, ref)
    if tamper == "record leaf":
        response.record.leaf = _flip(response.record.leaf, 40)
    elif tamper == "record proof":
        response.record.inclusion_proof[0] = _flip(response.record.inclusion_proof[0], 3)
    elif tamper == "record index":
        response.record.index += 1
    elif tamper == "note":
        response.checkpoint = response.checkpoint.replace(b"\n", b"\n\n", 1)
    elif tamper == "amendment dropped in favour of another entry":
        response.amendments.add().CopyFrom(response.receipt)
    elif tamper == "receipt leaf":
        response.receipt.leaf = _flip(response.receipt.leaf, 10)
    elif tamper == "receipt proof":
        response.receipt.inclusion_proof[-1] = _flip(response.receipt.inclusion_proof[-1], 0)
    elif tamper == "origin":
        response.origin = asker.origin
    with pytest.raises(VerificationError):
        verify_record_response(
            response, expected_origin=owner.origin, owner_public_key=owner.public_key
        )


def test_service_record_response_under_another_key_is_rejected(
    owner: Member, asker: Member
) -> None:
    response = fetch(owner, asker, first_fir(owner.station).fir_number)
    with pytest.raises(VerificationError):
        verify_record_response(
            response, expected_origin=owner.origin, owner_public_key=asker.public_key
        )
    with pytest.raises(VerificationError, match="asker"):
        verify_record_response(
            response,
            expected_origin=owner.origin,
            owner_public_key=owner.public_key,
            asker_node_id="someone/else",
        )


def test_service_unknown_record_is_not_found_and_not_audited(owner: Member, asker: Member) -> None:
    before = owner.station.ledger.size()
    with pytest.raises(InputError, match="no record"):
        fetch(owner, asker, "FIR No. 9999/2026")
    assert owner.station.ledger.size() == before


def test_service_forensic_lab_gets_hit_no_hit_only(owner: Member, lab: Member) -> None:
    registration, fir_number = first_vehicle(owner.station)
    with pytest.raises(NotPermitted, match="hit/no-hit"):
        fetch(owner, lab, fir_number)
    with pytest.raises(NotPermitted):
        owner.service.search(
            lab.identity,
            federation_pb2.SearchRequest(kind="vehicle", query=registration, context=context()),
        )
    with pytest.raises(NotPermitted):
        list(owner.service.get_entries(lab.identity, federation_pb2.EntriesRequest(start=0, end=1)))
    answer = owner.service.hit_no_hit(
        lab.identity,
        federation_pb2.HitRequest(
            identifier_type="vehicle_registration", value=registration, context=context()
        ),
    )
    assert answer.hit
    assert fir_number in answer.refs


def test_service_unknown_role_is_refused_everything(owner: Member, asker: Member) -> None:
    stranger = replace(asker.identity, role="press")
    with pytest.raises(NotPermitted):
        owner.service.hit_no_hit(
            stranger,
            federation_pb2.HitRequest(identifier_type="fir", value="1/2026", context=context()),
        )
    with pytest.raises(NotPermitted):
        fetch(owner, Member(asker.station, asker.node, asker.service, stranger), "1/2026")


def test_service_hit_no_hit_returns_references_only_with_a_receipt(
    owner: Member, asker: Member
) -> None:
    registration, fir_number = first_vehicle(owner.station)
    spaced = registration.replace("-", " ").lower()
    answer = owner.service.hit_no_hit(
        asker.identity,
        federation_pb2.HitRequest(
            identifier_type="vehicle_registration", value=spaced, context=context()
        ),
    )
    assert answer.hit and fir_number in answer.refs
    assert answer.answered_by == owner.node_id
    # Nothing but the fields of a hit: no record content anywhere in the message (a cosigned
    # checkpoint, once a witness has sent one, is a tree head: no record content either).
    fields = {f.name for f, _ in answer.ListFields()} - {"witnessed"}
    assert fields == {"hit", "refs", "receipt", "answered_by"}
    receipt = verify_receipt(
        answer.receipt,
        expected_origin=owner.origin,
        owner_public_key=owner.public_key,
        asker_node_id=asker.node_id,
    )
    assert receipt.audit.query_kind == "hit:vehicle_registration"
    assert not receipt.audit.full_record
    assert list(receipt.audit.returned_refs) == list(answer.refs)
    miss = owner.service.hit_no_hit(
        asker.identity,
        federation_pb2.HitRequest(
            identifier_type="vehicle_registration", value="KL-99-ZZ-0000", context=context()
        ),
    )
    assert not miss.hit and not miss.refs and miss.receipt.leaf


def test_service_receipt_is_anchored_by_a_later_checkpoint(owner: Member, asker: Member) -> None:
    _, fir_number = first_vehicle(owner.station)
    answer = owner.service.hit_no_hit(
        asker.identity,
        federation_pb2.HitRequest(identifier_type="fir", value=fir_number, context=context()),
    )
    assert list(answer.refs) == [fir_number]
    registers.write_gd(
        owner.station, OFFICER, "information", "Patrol returned."
    )  # the log moves on
    note = owner.service.get_checkpoint(asker.identity, federation_pb2.CheckpointRequest()).note
    size = parse_note(note)[0].size
    proof = owner.service.get_consistency_proof(
        asker.identity,
        federation_pb2.ConsistencyRequest(size1=answer.receipt.index + 1, size2=size),
    ).hashes
    verify_receipt(
        answer.receipt,
        expected_origin=owner.origin,
        owner_public_key=owner.public_key,
        checkpoint=note,
        consistency_proof=list(proof),
    )
    with pytest.raises(VerificationError):
        verify_receipt(
            answer.receipt,
            expected_origin=owner.origin,
            owner_public_key=owner.public_key,
            checkpoint=note,
            consistency_proof=[_flip(proof[0], 1), *proof[1:]],
        )


def test_service_search_person_answers_with_freshness_and_receipt(
    owner: Member, asker: Member
) -> None:
    name, fir_number = first_person(owner.station)
    response = owner.service.search(
        asker.identity,
        federation_pb2.SearchRequest(kind="person", query=name, limit=10, context=context()),
    )
    assert 0 < len(response.hits) <= 10
    assert any(h.ref == fir_number and h.title == name for h in response.hits)
    assert all(h.origin == owner.origin for h in response.hits)
    scores = [h.score for h in response.hits]
    assert scores == sorted(scores, reverse=True)
    (fresh,) = response.freshness
    assert fresh.origin == owner.origin and not fresh.from_replica
    assert 0 < fresh.checkpoint_size <= response.receipt.index
    receipt = verify_receipt(
        response.receipt, expected_origin=owner.origin, owner_public_key=owner.public_key
    )
    assert receipt.audit.query_kind == "search:person"
    assert set(receipt.audit.returned_refs) == {h.ref for h in response.hits}


@pytest.mark.parametrize("kind", ["vehicle", "property", "case"])
def test_service_search_other_kinds_find_the_record(
    owner: Member, asker: Member, kind: str
) -> None:
    registration, fir_number = first_vehicle(owner.station)
    query = {"vehicle": registration, "property": "vehicle", "case": fir_number}[kind]
    response = owner.service.search(
        asker.identity,
        federation_pb2.SearchRequest(kind=kind, query=query, limit=500, context=context()),
    )
    assert fir_number in {h.ref for h in response.hits}


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (federation_pb2.SearchRequest(kind="dna", query="x"), "search kind"),
        (federation_pb2.SearchRequest(kind="person", query="   "), "query is empty"),
        (federation_pb2.SearchRequest(kind="person", query="Raju", limit=100000), "at most"),
        (
            federation_pb2.SearchRequest(kind="person", query="Raju", age_min=50, age_max=20),
            "empty",
        ),
        (federation_pb2.SearchRequest(kind="vehicle", query="KL", age_min=20), "age range"),
    ],
)
def test_service_search_rejects_bad_requests_without_writing(
    owner: Member, asker: Member, request_: federation_pb2.SearchRequest, message: str
) -> None:
    request_.context.CopyFrom(context())
    before = owner.station.ledger.size()
    with pytest.raises(InputError, match=message):
        owner.service.search(asker.identity, request_)
    assert owner.station.ledger.size() == before


def test_service_requests_need_officer_and_case(owner: Member, asker: Member) -> None:
    with pytest.raises(InputError, match="officer id"):
        owner.service.fetch_record(
            asker.identity,
            federation_pb2.RecordRequest(
                ref="1/2026", context=federation_pb2.QueryContext(case_ref="x")
            ),
        )
    with pytest.raises(InputError, match="record reference is empty"):
        fetch(owner, asker, " ")
    with pytest.raises(InputError, match="identifier type"):
        owner.service.hit_no_hit(
            asker.identity,
            federation_pb2.HitRequest(identifier_type="dna", value="x", context=context()),
        )


def test_service_get_entries_caps_batches_and_refuses_absurd_ranges(
    owner: Member, asker: Member
) -> None:
    size = owner.station.ledger.size()
    batches = list(
        owner.service.get_entries(
            asker.identity, federation_pb2.EntriesRequest(start=0, end=size, batch_size=10**6)
        )
    )
    assert all(len(b.leaves) <= MAX_BATCH_SIZE for b in batches)
    leaves = [leaf for b in batches for leaf in b.leaves]
    assert leaves == list(owner.station.ledger.store.entries(0, size))
    small = list(
        owner.service.get_entries(
            asker.identity, federation_pb2.EntriesRequest(start=1, end=26, batch_size=10)
        )
    )
    assert [(b.start, len(b.leaves)) for b in small] == [(1, 10), (11, 10), (21, 5)]
    for start, end in [(5, 2), (0, size + 1), (0, MAX_ENTRIES_PER_REQUEST + 1)]:
        with pytest.raises(InputError):
            owner.service.get_entries(
                asker.identity, federation_pb2.EntriesRequest(start=start, end=end)
            )


def _large_entry(size: int) -> ledger_pb2.EntryBody:
    """A diary entry of about `size` bytes, appended past the station's own limits (as a
    record written before them, or by another version, might be)."""
    summary = "x" * (size - 100)
    return ledger_pb2.EntryBody(
        officer_id=OFFICER, general_diary=records_pb2.GeneralDiaryEntry(summary=summary)
    )


def test_service_get_entries_packs_batches_by_bytes(tmp_path: Path, asker: Member) -> None:
    big = open_member(tmp_path, "ps-big", records=0)
    try:
        sizes = [MAX_ENTRY_BYTES - 200] * 9 + [500, 70_000] * 5 + [MAX_ENTRY_BYTES - 200] * 3
        big.station.ledger.append_many([_large_entry(n) for n in sizes])
        size = big.station.ledger.size()
        batches = list(
            big.service.get_entries(
                asker.identity, federation_pb2.EntriesRequest(start=0, end=size)
            )
        )
        assert len(batches) > 1
        for batch in batches:
            assert batch.leaves
            assert batch.ByteSize() <= MAX_BATCH_BYTES + 16, [len(x) for x in batch.leaves]
        assert [b.start for b in batches] == [
            sum(len(b.leaves) for b in batches[:i]) for i in range(len(batches))
        ]
        leaves = [leaf for b in batches for leaf in b.leaves]
        assert leaves == list(big.station.ledger.store.entries(0, size))
        # A leaf larger than the budget goes alone: every batch holds one, none is empty.
        reader = LedgerLogReader(big.station.ledger)
        alone = list(_batches(reader, 1, 5, 500, max_bytes=1000))
        assert [(b.start, len(b.leaves)) for b in alone] == [(1, 1), (2, 1), (3, 1), (4, 1)]
    finally:
        big.station.close()


def test_service_requests_over_the_limits_are_refused_and_not_audited(
    owner: Member, asker: Member
) -> None:
    megabyte = "x" * 1_000_000
    size = owner.station.ledger.size()
    refused = [
        lambda: owner.service.search(
            asker.identity,
            federation_pb2.SearchRequest(kind="person", query=megabyte, context=context()),
        ),
        lambda: owner.service.fetch_record(
            asker.identity, federation_pb2.RecordRequest(ref=megabyte, context=context())
        ),
        lambda: owner.service.hit_no_hit(
            asker.identity,
            federation_pb2.HitRequest(
                identifier_type="fir", value="FIR No. 1/2026", context=context(case=megabyte)
            ),
        ),
        lambda: owner.service.get_checkpoint(
            asker.identity, federation_pb2.CheckpointRequest(origin="o" * (limits.ORIGIN + 1))
        ),
        lambda: owner.service.put_cosignature(
            asker.identity, federation_pb2.CosignatureRequest(cosigned_note=b"n" * 20_000)
        ),
    ]
    for call in refused:
        with pytest.raises(InputError, match=r"(longer|larger) than") as raised:
            call()
        assert len(str(raised.value)) < 500
    assert owner.station.ledger.size() == size


def test_service_logs_of_unknown_origins_are_not_found(owner: Member, asker: Member) -> None:
    with pytest.raises(InputError, match="holds no log"):
        owner.service.get_checkpoint(
            asker.identity, federation_pb2.CheckpointRequest(origin="cctns.in/other/log")
        )
    with pytest.raises(InputError, match="consistency"):
        owner.service.get_consistency_proof(
            asker.identity, federation_pb2.ConsistencyRequest(size1=0, size2=3)
        )


def test_service_put_cosignature_keeps_a_cosigned_note_of_its_own_log(
    owner: Member, asker: Member, tmp_path: Path
) -> None:
    note = owner.service.get_checkpoint(asker.identity, federation_pb2.CheckpointRequest()).note
    with pytest.raises(InputError, match="no cosignature"):
        owner.service.put_cosignature(
            asker.identity, federation_pb2.CosignatureRequest(cosigned_note=note)
        )
    witness = nacl.signing.SigningKey.generate()
    cosigned = sign_checkpoint(parse_note(note)[0], witness, "kerala/ernakulam-city")
    line = cosigned.split(b"\n\n", 1)[1]
    answer = owner.service.put_cosignature(
        asker.identity, federation_pb2.CosignatureRequest(cosigned_note=note + line)
    )
    assert answer.stored
    assert owner.node.cosignatures()[-1] == note + line
    other = asker.service.get_checkpoint(owner.identity, federation_pb2.CheckpointRequest()).note
    with pytest.raises(InputError, match="not this node's log"):
        owner.service.put_cosignature(
            asker.identity, federation_pb2.CosignatureRequest(cosigned_note=other + line)
        )


def test_service_station_keeps_registering_after_audits(owner: Member, asker: Member) -> None:
    fetch(owner, asker, first_fir(owner.station).fir_number)
    receipt = registers.write_gd(owner.station, OFFICER, "information", "Visitor register checked.")
    assert receipt.index == owner.station.ledger.size() - 1
    assert (
        owner.service.get_revocations(asker.identity, federation_pb2.RevocationsRequest())
        == federation_pb2.RevocationsResponse()
    )


def test_service_is_a_plain_object_over_a_local_node(owner: Member) -> None:
    assert isinstance(owner.service, PeerService)
    assert owner.service.node is owner.node


# -- the quota per peer on audited calls ---------------------------------------------------------


@pytest.fixture
def over_grpc(owner: Member) -> Iterator[Callable[[PeerIdentity], GrpcPeerClient]]:
    """`client(identity)`: a gRPC client of `owner` over loopback whose calls the server takes
    as `identity`'s (one server per identity, all over one PeerService with a quota of 3 audited
    calls a minute per peer)."""
    service = PeerService(owner.node, quota=audited_call_quota("3/minute"))
    servers: list[Any] = []
    clients: list[GrpcPeerClient] = []

    def client(identity: PeerIdentity) -> GrpcPeerClient:
        servicer = PeerServicer(service, authenticate=lambda context: identity)
        server, port = start_server(servicer, "127.0.0.1:0", credentials=None, max_workers=2)
        servers.append(server)
        made = GrpcPeerClient(PeerAddress(owner.node_id, f"127.0.0.1:{port}"), credentials=None)
        clients.append(made)
        return made

    yield client
    for made in clients:
        made.close()
    for server in servers:
        server.stop(grace=None).wait()


def call(awaitable: Callable[[], Awaitable[Any]]) -> Any:
    return trio.run(awaitable)


def test_service_quota_refuses_a_peers_audited_calls_before_any_audit_entry(
    owner: Member, asker: Member, lab: Member, over_grpc: Callable[[PeerIdentity], GrpcPeerClient]
) -> None:
    registration, _ = first_vehicle(owner.station)
    hit = federation_pb2.HitRequest(
        identifier_type="vehicle_registration", value=registration, context=context()
    )
    by_lab = over_grpc(lab.identity)
    for _ in range(3):
        assert call(lambda: by_lab.hit_no_hit(hit, timeout=10.0)).hit
    before = owner.station.ledger.size()
    with pytest.raises(PeerError) as refused:
        call(lambda: by_lab.hit_no_hit(hit, timeout=10.0))
    assert "RESOURCE_EXHAUSTED" in str(refused.value)
    assert "too many audited calls" in str(refused.value) and "try again in" in str(refused.value)
    assert owner.station.ledger.size() == before  # no audit entry written for the refused call
    # Calls that write nothing are not counted; another peer has a quota of its own.
    assert call(lambda: by_lab.get_checkpoint(timeout=10.0))
    by_station = over_grpc(asker.identity)
    assert call(lambda: by_station.hit_no_hit(hit, timeout=10.0)).hit
    assert owner.station.ledger.size() == before + 1


def test_service_quota_counts_fetch_search_and_hit_alike(owner: Member, asker: Member) -> None:
    service = PeerService(owner.node, quota=audited_call_quota("3/minute"))
    ref = first_fir(owner.station).fir_number
    name, _ = first_person(owner.station)
    service.fetch_record(asker.identity, federation_pb2.RecordRequest(ref=ref, context=context()))
    search = federation_pb2.SearchRequest(kind="person", query=name, context=context())
    service.search(asker.identity, search)
    hit = federation_pb2.HitRequest(identifier_type="fir", value=ref, context=context())
    service.hit_no_hit(asker.identity, hit)
    before = owner.station.ledger.size()
    for refused in (
        lambda: service.fetch_record(
            asker.identity, federation_pb2.RecordRequest(ref=ref, context=context())
        ),
        lambda: service.search(asker.identity, search),
        lambda: service.hit_no_hit(asker.identity, hit),
    ):
        with pytest.raises(RateLimited) as info:
            refused()
        assert 1 <= info.value.retry_after_s <= 60
    assert owner.station.ledger.size() == before
