"""The federation as it runs: every node its own process, real gRPC with mutual TLS on loopback.

One small federation is built and started once for the module (tests/federation/procs.py):
a district office `dpo` following three stations `sta`, `stb`, `stc`, and `rogue`, a node
with a genuine certificate that claims the log of `ghost` (an office that never runs) while
signing with a key of its own. Tests stop, kill -9 and restart nodes; an autouse fixture
brings every node back up before the next test. All waits are bounded; nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from federation import tls
from federation.grpc_server import MAX_MESSAGE_BYTES, SERVICE_NAME
from federation.replicas import origin_slug
from federation.trust.authority import create_root, enrol_node, issue_state_authority
from federation.verify import verify_receipt, verify_record_response
from ledger.checkpoint import parse_note, verify_checkpoint
from ledger.entry import parse_leaf
from ledger.errors import AuthenticationError, PeerError, VerificationError
from ledger.log import verify_log
from node.station.core import Station
from protos import federation_pb2, ledger_pb2
from tests.federation.cluster import first_fir, first_person
from tests.federation.procs import (
    Federation,
    Spec,
    append_entries,
    build_federation,
    health_check,
    read_store,
    wait_for,
)

pytestmark = pytest.mark.slow

RUNNING = ("dpo", "sta", "stb", "stc", "rogue")
SPECS = [
    Spec("dpo", "district"),
    Spec("sta", "station", parent="dpo", records=40),
    Spec("stb", "station", parent="dpo", records=40),
    Spec("stc", "station", parent="dpo", records=10),
    Spec("ghost", "station"),
    Spec("rogue", "station", parent="dpo", records=5, origin_of="ghost"),
]
# SIGKILLs of the replicating parent mid-batch (the suite's drill; `make soak` sets 50), and
# enough entries that each kill lands while the parent is still catching up.
REPLICATOR_KILLS = int(os.environ.get("CCTNS_DRILL_REPLICATOR_KILLS", "3"))
BULK = max(20_000, REPLICATOR_KILLS * 2_500)  # entries added to stc for the kill -9 test
CATCH_UP = 120.0  # bounded wait for replication on a loaded machine
TIMEOUT = 15.0


@dataclass
class World:
    fed: Federation
    fir: str  # an FIR number held by stb
    person: str  # a person named in stb's records


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("federation")
    fed = build_federation(base, SPECS)
    fed.state.save(base / "authorities" / "kerala")
    station = Station.open(fed["stb"].data_dir)
    try:
        fir = first_fir(station).fir_number
        person, _ = first_person(station)
    finally:
        station.close()
    try:
        for name in RUNNING:
            fed.start(name, wait=False)
        for name in RUNNING:
            fed.wait_ready(name)
        yield World(fed, fir, person)
    finally:
        fed.stop_all()


@pytest.fixture(autouse=True)
def all_up(world: World) -> Iterator[Federation]:
    """Every node runs when a test starts (a previous test may have stopped one)."""
    for name in RUNNING:
        if not world.fed[name].running():
            world.fed.start(name)
    yield world.fed


def context(case: str = "FIR No. 7/2026 of sta") -> federation_pb2.QueryContext:
    return federation_pb2.QueryContext(officer_id="PEN100001", purpose="test", case_ref=case)


def caught_up(fed: Federation, parent: str, child: str) -> int | None:
    """The child's size once the parent's verified replica has its latest checkpoint."""
    own = fed.checkpoint_of(parent, child)
    try:
        held = fed.checkpoint_of(child, parent, fed[child].origin)
    except PeerError:
        return None
    return own.size if (held.size, held.root) == (own.size, own.root) else None


def replica_path(fed: Federation, parent: str, child: str) -> Path:
    return fed[parent].path / "replicas" / origin_slug(fed[child].origin) / "log"


def held(fed: Federation, parent: str, child: str) -> int:
    """Leaves the parent's replica of `child` holds (read-only, beside a running node)."""
    with read_store(replica_path(fed, parent, child)) as store:
        return store.size()


# -- queries ---------------------------------------------------------------------------------


def test_cross_station_fetch_is_verified(world: World) -> None:
    fed = world.fed
    # With the CLI, as an officer at sta would.
    result = fed.cli(
        "peer",
        "fetch",
        world.fir,
        "--node",
        fed["stb"].node_id,
        "--data-dir",
        str(fed["sta"].path),
        "--deadline",
        str(TIMEOUT),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["origin"] == fed["stb"].origin
    assert out["record"]["fir"]["fir_number"] == world.fir
    assert out["verified"].startswith("entry ")
    # And directly: the receipt names the asker.
    request = federation_pb2.RecordRequest(ref=world.fir, context=context())
    response = fed.ask("sta", "stb", lambda c: c.fetch_record(request, timeout=TIMEOUT))
    record = verify_record_response(
        response,
        expected_origin=fed["stb"].origin,
        owner_public_key=fed["stb"].ledger_key,
        asker_node_id=fed["sta"].node_id,
        expected_ref=world.fir,
    )
    assert record.record.body.fir.fir_number == world.fir
    assert record.receipt.index > record.record.index


def test_fan_out_names_a_stopped_node_unanswered(world: World) -> None:
    fed = world.fed
    wait_for("dpo to hold stb", lambda: caught_up(fed, "dpo", "stb"), timeout=CATCH_UP)
    fed.stop("stb")
    args = ["peer", "search", world.person, "--nodes", "all", "--data-dir", str(fed["sta"].path)]
    args += ["--deadline", str(TIMEOUT)]
    # As an officer reads it: stb named, and the exit status says the answer is incomplete.
    text = fed.cli(*args)
    assert text.returncode == 1, text.stderr
    assert f"NOT ANSWERED: {fed['stb'].node_id} (unavailable" in text.stdout
    result = fed.cli(*args, "--json")
    assert result.returncode == 1, result.stderr  # --json names it in "unanswered" too
    out = json.loads(result.stdout)
    # stb is down; the impostor answers for ghost, but its receipt is not ghost's.
    assert out["unanswered"] == {fed["stb"].node_id: "unavailable", fed["ghost"].node_id: "error"}
    assert set(out["freshness"]) == {fed["dpo"].node_id, fed["stc"].node_id}
    # The district answers for stb from its replica, as of a checkpoint it names.
    parts = {p["origin"]: p for p in out["freshness"][fed["dpo"].node_id]}
    assert parts[fed["stb"].origin]["from_replica"]
    hits = [h for h in out["hits"] if h["origin"] == fed["stb"].origin]
    assert hits and {h["answered_by"] for h in hits} == {fed["dpo"].node_id}, result.stdout


def test_every_peer_query_leaves_an_audit_entry(world: World) -> None:
    fed = world.fed
    case = f"audit-check-{uuid.uuid4().hex[:8]}"
    ctx = context(case)
    fetched = fed.ask(
        "sta",
        "stb",
        lambda c: c.fetch_record(
            federation_pb2.RecordRequest(ref=world.fir, context=ctx), timeout=TIMEOUT
        ),
    )
    searched = fed.ask(
        "sta",
        "stb",
        lambda c: c.search(
            federation_pb2.SearchRequest(kind="person", query=world.person, context=ctx),
            timeout=TIMEOUT,
        ),
    )
    hit = fed.ask(
        "sta",
        "stb",
        lambda c: c.hit_no_hit(
            federation_pb2.HitRequest(identifier_type="fir", value=world.fir, context=ctx),
            timeout=TIMEOUT,
        ),
    )
    for answer in (searched, hit):
        verify_receipt(
            answer.receipt,
            expected_origin=fed["stb"].origin,
            owner_public_key=fed["stb"].ledger_key,
            asker_node_id=fed["sta"].node_id,
        )
    receipts = {fetched.receipt.index, searched.receipt.index, hit.receipt.index}
    # The answering node's own ledger, read beside it (read-only).
    found: dict[int, ledger_pb2.AuditEntry] = {}
    with read_store(fed["stb"].data_dir.ledger_path) as store:
        for index in range(store.size()):
            body = parse_leaf(store.entry(index)).decode_body()
            if body.WhichOneof("record") == "audit" and body.audit.case_ref == case:
                found[index] = body.audit
    assert set(found) == receipts
    assert {a.asker_node_id for a in found.values()} == {fed["sta"].node_id}
    assert sorted(a.query_kind for a in found.values()) == ["fetch", "hit:fir", "search:person"]


# -- replication -----------------------------------------------------------------------------


def test_replication_survives_kill_9_of_either_side(world: World) -> None:
    fed = world.fed
    rng = random.Random()
    fed.stop("dpo")
    fed.stop("stc")
    target = append_entries(fed["stc"], BULK)
    fed.start("stc")
    assert held(fed, "dpo", "stc") < target
    mid_stream: list[int] = []

    def grows(now: int) -> None:
        wait_for(
            "the parent to store more of the child's log",
            lambda: held(fed, "dpo", "stc") > now,
            timeout=CATCH_UP,
            every=0.02,
        )
        time.sleep(rng.uniform(0.0, 0.05))

    def kill_parent() -> None:
        fed.kill("dpo")
        after = held(fed, "dpo", "stc")
        if after < target:
            mid_stream.append(after)

    # The parent is killed as soon as it has stored something new, REPLICATOR_KILLS times
    # over; in the second round the child is killed first, while the parent fetches from it.
    for round_number in range(REPLICATOR_KILLS):
        now = held(fed, "dpo", "stc")
        if now >= target:
            break
        fed.start("dpo", wait=False)
        grows(now)
        if round_number == 1:
            fed.kill("stc")
            now = held(fed, "dpo", "stc")
            fed.start("stc")
            if now < target:
                grows(now)
        kill_parent()
    assert mid_stream, "no kill landed in the middle of the catch-up"
    if not fed["dpo"].running():
        fed.start("dpo")
    assert wait_for(
        "the parent to catch up", lambda: caught_up(fed, "dpo", "stc"), timeout=CATCH_UP
    )
    fed.stop("dpo")
    # Exactly the child's log: same leaves, in order, nothing missing, nothing twice.
    with (
        read_store(replica_path(fed, "dpo", "stc")) as replica,
        read_store(fed["stc"].data_dir.ledger_path) as child,
    ):
        size = replica.size()
        assert size == target
        latest = replica.latest_checkpoint()
        assert latest is not None and latest[0] == size
        own = verify_checkpoint(latest[1], fed["stc"].ledger_key, fed["stc"].origin)
        assert own.size == size
        assert list(replica.entries(0, size)) == list(child.entries(0, size))
        report = verify_log(replica, fed["stc"].ledger_key, fed["stc"].origin)
        assert report.size == size


def test_link_down_then_back_resumes_where_it_stopped(world: World) -> None:
    fed = world.fed
    start = wait_for("dpo to hold sta", lambda: caught_up(fed, "dpo", "sta"), timeout=CATCH_UP)
    fed.stop("dpo")  # the link is down
    # The child keeps working: every query it answers is appended to its log.
    for number in range(3):
        request = federation_pb2.SearchRequest(
            kind="person", query=f"nobody {number}", context=context()
        )
        fed.ask("stb", "sta", lambda c, r=request: c.search(r, timeout=TIMEOUT))  # type: ignore[misc]
    grown = fed.checkpoint_of("stb", "sta").size
    assert grown == start + 3
    assert held(fed, "dpo", "sta") == start
    fed.start("dpo")  # the link is back
    assert wait_for("dpo to catch up", lambda: caught_up(fed, "dpo", "sta"), timeout=CATCH_UP) == (
        grown
    )
    assert held(fed, "dpo", "sta") == grown


# -- trust -----------------------------------------------------------------------------------


def test_forged_checkpoint_is_rejected(world: World) -> None:
    fed = world.fed
    ghost, rogue = fed["ghost"], fed["rogue"]
    # The impostor serves notes for ghost's log, signed with its own key.
    note = fed.ask("sta", "rogue", lambda c: c.get_checkpoint("", timeout=TIMEOUT))
    assert parse_note(note)[0].origin == ghost.origin
    verify_checkpoint(note, rogue.ledger_key, ghost.origin, ghost.origin)
    with pytest.raises(VerificationError):
        verify_checkpoint(note, ghost.ledger_key, ghost.origin, ghost.origin)
    # The district follows ghost under ghost's real key: it refuses every round.
    wait_for(
        "dpo to reject the forged checkpoint",
        lambda: f"replica of {ghost.origin}: round failed" in fed["dpo"].log_text(),
        timeout=CATCH_UP,
    )
    with pytest.raises(PeerError, match="no verified checkpoint"):
        fed.ask("sta", "dpo", lambda c: c.get_checkpoint(ghost.origin, timeout=TIMEOUT))
    assert held(fed, "dpo", "ghost") == 0
    assert fed["dpo"].running() and fed["rogue"].running()


def test_revoked_node_is_refused_others_are_not(world: World) -> None:
    fed = world.fed
    retired = enrol_node(
        fed.state,
        node_id="kerala/ernakulam-city/ps-retired",
        role="station",
        parent=fed["dpo"].node_id,
        ledger_key=bytes(32),
        address="127.0.0.1:1",
    )
    request = federation_pb2.HitRequest(identifier_type="fir", value=world.fir, context=context())
    assert fed.ask(retired, "stb", lambda c: c.hit_no_hit(request, timeout=TIMEOUT)).hit
    fed.stop("stb")
    record = fed.base / f"revoked-{uuid.uuid4().hex[:8]}.json"
    result = fed.cli(
        "ca",
        "revoke",
        "--authority",
        str(fed.base / "authorities" / "kerala"),
        "--node-id",
        retired.identity.node_id,
        "--reason",
        "station closed",
        "--out",
        str(record),
        "--data-dir",
        str(fed["stb"].path),
    )
    assert result.returncode == 0, result.stderr
    fed.start("stb")
    with pytest.raises(AuthenticationError, match="revoked"):
        fed.ask(retired, "stb", lambda c: c.hit_no_hit(request, timeout=TIMEOUT))
    # Every other node still gets its answers, and stb hands the record on to peers.
    assert fed.ask("sta", "stb", lambda c: c.hit_no_hit(request, timeout=TIMEOUT)).hit
    revocations = fed.ask("dpo", "stb", lambda c: c.get_revocations(timeout=TIMEOUT))
    assert record.read_bytes() in revocations

    # The revocation propagates: sta, told nothing directly, learns it from its peers.
    def sta_refuses() -> bool:
        try:
            fed.ask(retired, "sta", lambda c: c.hit_no_hit(request, timeout=TIMEOUT))
        except AuthenticationError:
            return True
        return False

    wait_for("sta to learn the revocation from its peers", sta_refuses, timeout=30)


def _probe(target: str, credentials: grpc.ChannelCredentials) -> grpc.StatusCode:
    with grpc.secure_channel(target, credentials, options=tls.channel_options()) as channel:
        try:
            health_check(channel, timeout=TIMEOUT)
        except grpc.RpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
    return grpc.StatusCode.OK


def test_clients_without_a_valid_certificate_are_refused(world: World) -> None:
    fed = world.fed
    target = fed["stb"].address
    root_pem = fed["stb"].credentials().root_pem
    anonymous = grpc.ssl_channel_credentials(root_certificates=root_pem)
    assert _probe(target, anonymous) == grpc.StatusCode.UNAVAILABLE
    stranger = enrol_node(
        issue_state_authority(create_root(), "kerala"),
        node_id=fed["sta"].node_id,
        role="station",
        parent=fed["dpo"].node_id,
        ledger_key=fed["sta"].ledger_key,
        address=fed["sta"].address,
    )
    foreign = grpc.ssl_channel_credentials(
        root_certificates=root_pem,
        private_key=stranger.key_pem,
        certificate_chain=stranger.chain_pem,
    )
    assert _probe(target, foreign) == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(AuthenticationError):
        fed.ask(stranger, "stb", lambda c: c.get_checkpoint(timeout=TIMEOUT))
    # The server kept serving the members.
    assert _probe(target, tls.channel_credentials(fed["sta"].credentials())) == grpc.StatusCode.OK
    assert fed.checkpoint_of("sta", "stb").size > 0


def test_malformed_and_oversized_messages(world: World) -> None:
    fed = world.fed
    options = [
        ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", 4 * MAX_MESSAGE_BYTES),
    ]
    creds = tls.channel_credentials(fed["sta"].credentials())
    with grpc.secure_channel(fed["stb"].address, creds, options=options) as channel:
        search: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            f"/{SERVICE_NAME}/Search", request_serializer=None, response_deserializer=None
        )
        # Field 1, length 100, then 3 bytes: truncated.
        with pytest.raises(grpc.RpcError) as info:
            search(b"\x0a\x64abc", timeout=TIMEOUT)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "malformed SearchRequest" in str(info.value.details())
        huge = federation_pb2.SearchRequest(
            kind="person", query="x" * (MAX_MESSAGE_BYTES + 1024), context=context()
        ).SerializeToString()
        with pytest.raises(grpc.RpcError) as info:
            search(huge, timeout=60.0)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Same channel, a good request: answered.
        good = federation_pb2.SearchRequest(kind="person", query=world.person, context=context())
        answer = federation_pb2.SearchResponse.FromString(
            search(good.SerializeToString(), timeout=TIMEOUT)
        )
        assert answer.answered_by == fed["stb"].node_id
    assert fed["stb"].running()


def test_health_and_reflection_over_mutual_tls(world: World) -> None:
    fed = world.fed
    creds = tls.channel_credentials(fed["sta"].credentials())
    with grpc.secure_channel(fed["dpo"].address, creds, options=tls.channel_options()) as channel:
        for service in ("", SERVICE_NAME):
            reply = health_check(channel, service, timeout=TIMEOUT)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection: grpc.StreamStreamMultiCallable[
            reflection_pb2.ServerReflectionRequest, reflection_pb2.ServerReflectionResponse
        ] = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = list(reflection(iter([request]), timeout=TIMEOUT))
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert SERVICE_NAME == "cctns.v1.Peer"
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
