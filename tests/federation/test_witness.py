"""Every reader checks the witness: policies over cosigned checkpoints, answers carrying the
newest cosigned checkpoint, consistency with what a reader saw before, and gossip through the
parent catching a node that shows two logs to two readers while the parent cannot reach it."""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
import trio
import trio.testing

from federation import witness
from federation.fanout import FederatedSearchResult, federated_search
from federation.gossip import GossipBook
from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.logs import LedgerLogReader
from federation.memory import MemoryNetwork
from federation.replicas import ReplicaSet
from federation.replication import ReplicaFollower, Witness, follow_once
from federation.seen import SeenCheckpoints, check_answer, check_record_answer
from federation.service import PeerService
from federation.verify import verify_record_response
from federation.witness import AllOf, AnswerCheck, AnyOf, CosignedBy, parent_policy
from ledger.checkpoint import Checkpoint, parse_note, sign_checkpoint
from ledger.cosignature import cosign
from ledger.errors import InputError, PeerUnavailable
from ledger.keys import LogKeys
from ledger.log import Ledger
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import MemoryLogStore
from node.config import DataDir
from node.peers.peer_node import StationPeerNode
from node.station.core import Station
from protos import federation_pb2, ledger_pb2, records_pb2
from tests.federation.cluster import (
    DISTRICT,
    Member,
    context,
    first_fir,
    first_person,
    open_member,
)
from tests.federation.procs import Spec, build_federation, wait_for

ORIGIN = "cctns.in/kerala/ekm/ps-aluva"
CHILD_KEY = nacl.signing.SigningKey(bytes(range(32)))
PARENT_KEY = nacl.signing.SigningKey(bytes(range(1, 33)))
PARENT_NAME = "cctns.in/kerala/ekm/dpo"
NOW = 1_800_000_000


def note_of(size: int = 7, root: bytes = b"r" * 32) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), CHILD_KEY)


def parent() -> CosignedBy:
    return CosignedBy(PARENT_NAME, LogKeys.single(bytes(PARENT_KEY.verify_key)), 3600)


# -- the policy ------------------------------------------------------------------------------


def test_witness_policy_refuses_a_note_without_cosignature() -> None:
    verdict = parent().check(note_of(), now_s=NOW)
    assert not verdict.ok
    assert "no cosignature" in verdict.reason


def test_witness_policy_refuses_a_cosignature_by_another_key() -> None:
    stranger = nacl.signing.SigningKey(bytes(range(2, 34)))
    verdict = parent().check(cosign(note_of(), stranger, PARENT_NAME, NOW), now_s=NOW)
    assert not verdict.ok
    assert PARENT_NAME in verdict.reason


def test_witness_policy_refuses_a_cosignature_older_than_allowed() -> None:
    verdict = parent().check(cosign(note_of(), PARENT_KEY, PARENT_NAME, NOW - 7200), now_s=NOW)
    assert not verdict.ok
    assert "2 h ago" in verdict.reason and "60 min allowed" in verdict.reason


def test_witness_policy_accepts_a_fresh_cosignature_by_the_parent() -> None:
    verdict = parent().check(cosign(note_of(), PARENT_KEY, PARENT_NAME, NOW - 60), now_s=NOW)
    assert verdict.ok
    assert verdict.cosigned_at_s == NOW - 60 and verdict.witness == PARENT_NAME


def test_witness_policies_compose() -> None:
    other_key = nacl.signing.SigningKey(bytes(range(3, 35)))
    other = CosignedBy("cctns.in/kerala/scrb", LogKeys.single(bytes(other_key.verify_key)))
    note = cosign(note_of(), PARENT_KEY, PARENT_NAME, NOW)
    assert AnyOf(parent(), other).check(note, now_s=NOW).ok
    assert not AllOf(parent(), other).check(note, now_s=NOW).ok
    both = cosign(note, other_key, "cctns.in/kerala/scrb", NOW)
    assert AllOf(parent(), other).check(both, now_s=NOW).ok


def test_witness_module_is_pure() -> None:
    tree = ast.parse(Path(witness.__file__).read_text("utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"trio", "grpc", "os", "pathlib", "time", "socket", "node"}


# -- a reader's memory: a rolled-back log ----------------------------------------------------


def gd(text: str) -> ledger_pb2.EntryBody:
    return ledger_pb2.EntryBody(
        officer_id="PEN1",
        general_diary=records_pb2.GeneralDiaryEntry(summary=text, category="other"),
    )


def ledger(entries: list[str]) -> Ledger:
    log = Ledger(MemoryLogStore(), CHILD_KEY, ORIGIN, clock=lambda: 1)
    log.append_many([gd(text) for text in entries])
    return log


class LogClient:
    """The answering node, as far as `check_answer` asks it: consistency proofs of its log."""

    def __init__(self, log: Ledger) -> None:
        self.log = log
        self.node_id = "ps-aluva"

    async def get_consistency_proof(
        self, origin: str, size1: int, size2: int, *, timeout: float
    ) -> list[bytes]:
        if size2 > self.log.size():
            raise InputError(f"no consistency proof to {size2}: the log has {self.log.size()}")
        return self.log.consistency_proof(size1, size2)


def test_reader_reports_and_keeps_evidence_of_a_rolled_back_log(tmp_path: Path) -> None:
    seen = SeenCheckpoints(tmp_path / "witness")
    keys = LogKeys.single(bytes(CHILD_KEY.verify_key))
    full = ledger([f"gd {i}" for i in range(8)])
    restored = ledger([f"gd {i}" for i in range(5)])  # an old backup, serving again

    async def answer(log: Ledger) -> tuple[str, str]:
        note = log.checkpoint()
        checkpoint = parse_note(note)[0]
        check = await check_answer(
            LogClient(log),  # type: ignore[arg-type]
            seen,
            parent(),
            origin=ORIGIN,
            keys=keys,
            size=checkpoint.size,
            root=checkpoint.root,
            note=note,
            witnessed=None,
            now_s=NOW,
            timeout=5,
        )
        assert not check.witness.ok and "unwitnessed" in check.witness.reason
        return check.consistency, check.reason

    assert trio.run(answer, full)[0] == "first seen"
    state, reason = trio.run(answer, restored)
    assert state == "rolled back"
    assert "seen at 8" in reason
    # The evidence survives the reader's restart, and the newest note seen is still size 8.
    again = SeenCheckpoints(tmp_path / "witness")
    (event,) = again.evidence()
    assert event.kind == "rollback" and event.origin == ORIGIN
    assert parse_note(event.checkpoint)[0].size == 8
    assert parse_note(again.newest(ORIGIN) or b"")[0].size == 8


def test_reader_catches_a_log_that_does_not_extend_the_one_it_saw() -> None:
    seen = SeenCheckpoints(None)
    keys = LogKeys.single(bytes(CHILD_KEY.verify_key))
    shown = ledger([f"gd {i}" for i in range(8)])
    fork = ledger([f"gd {i}" for i in range(6)] + [f"other {i}" for i in range(4)])

    async def answer(log: Ledger) -> str:
        checkpoint = parse_note(log.checkpoint())[0]
        check = await check_answer(
            LogClient(log),  # type: ignore[arg-type]
            seen,
            parent(),
            origin=ORIGIN,
            keys=keys,
            size=checkpoint.size,
            root=checkpoint.root,
            note=log.checkpoint(),
            witnessed=None,
            now_s=NOW,
            timeout=5,
        )
        return check.consistency

    assert trio.run(answer, shown) == "first seen"
    assert trio.run(answer, fork) == "equivocation"
    (event,) = seen.evidence()
    assert event.kind == "equivocation" and parse_note(event.conflicting_checkpoint)[0].size == 10
    assert parse_note(seen.newest(ORIGIN) or b"")[0].size == 8  # the fork is not believed


# -- gossip: two readers shown two logs, the parent cut off from the node ----------------------


class TwoFaced(PeerService):
    """A node that shows fork A to reader-a (and its parent) and fork B to reader-b."""

    def __init__(self, member: Member, forks: dict[str, Ledger]) -> None:
        super().__init__(member.node)
        self.forks = forks

    def _fork(self, caller: PeerIdentity) -> Ledger:
        return self.forks["b" if caller.node_id.endswith("reader-b") else "a"]

    def get_checkpoint(
        self, caller: PeerIdentity, request: federation_pb2.CheckpointRequest
    ) -> federation_pb2.CheckpointResponse:
        return federation_pb2.CheckpointResponse(note=self._fork(caller).checkpoint())

    def get_key_history(
        self, caller: PeerIdentity, request: federation_pb2.KeyHistoryRequest
    ) -> federation_pb2.KeyHistory:
        return federation_pb2.KeyHistory()  # the forks never rotated their key

    def get_entries(
        self, caller: PeerIdentity, request: federation_pb2.EntriesRequest
    ) -> Iterator[federation_pb2.EntryBatch]:
        leaves = LedgerLogReader(self._fork(caller)).leaves(request.start, request.end)
        return iter([federation_pb2.EntryBatch(start=request.start, leaves=leaves)])

    def put_cosignature(
        self, caller: PeerIdentity, request: federation_pb2.CosignatureRequest
    ) -> federation_pb2.CosignatureResponse:
        return federation_pb2.CosignatureResponse(stored=True)


def identity(name: str, role: str = "station") -> PeerIdentity:
    return PeerIdentity(f"{DISTRICT}/{name}", role, DISTRICT, bytes(32))


def test_gossip_catches_a_node_showing_two_logs_while_its_parent_is_cut_off(
    tmp_path: Path,
) -> None:
    host = open_member(tmp_path, "ps-aluva", records=0)
    try:
        forks = {
            "a": ledger([f"gd {i}" for i in range(5)]),
            "b": ledger([f"gd {i}" for i in range(5)]),
        }
        replicas = ReplicaSet(None, witness=Witness(PARENT_KEY, PARENT_NAME, lambda: NOW))
        follower = replicas.follow(ORIGIN, bytes(CHILD_KEY.verify_key))
        dpo, child = identity("dpo", "district"), identity("ps-aluva")
        net = MemoryNetwork(seed=1)
        net.add(PeerService(host.node, gossip=GossipBook(replicas)), dpo)
        net.add(TwoFaced(host, forks), child)
        readers = {name: identity(f"reader-{name}") for name in "ab"}
        for reader in readers.values():
            net.add(PeerService(host.node), reader)

        async def scenario() -> list[federation_pb2.GossipResponse]:
            # The parent verifies (and cosigns) the log up to 5 entries, then loses the link.
            await follow_once(follower, net.client(dpo.node_id, child.node_id), timeout=5)
            assert follower.verified_size == 5
            net.partition(dpo.node_id, child.node_id)
            forks["a"].append_many([gd(f"a {i}") for i in range(3)])
            forks["b"].append_many([gd(f"b {i}") for i in range(3)])
            with pytest.raises(PeerUnavailable):
                await net.client(dpo.node_id, child.node_id).get_checkpoint(timeout=5)
            answers = []
            for reader in readers.values():
                seen = SeenCheckpoints(None)
                note = await net.client(reader.node_id, child.node_id).get_checkpoint(timeout=5)
                seen.keep(ORIGIN, note)
                gossip = net.client(reader.node_id, dpo.node_id)
                answers.append(await gossip.gossip(seen.notes(), timeout=5))
            return answers

        first, second = trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
        assert (first.checked, list(first.equivocating)) == (1, [])
        assert (second.checked, list(second.equivocating)) == (1, [ORIGIN])
        assert follower.quarantined
        (alert,) = follower.evidence()
        assert "two roots for size 8" in alert.detail
        assert "reader-a" in alert.detail and "reader-b" in alert.detail
        assert {parse_note(alert.first)[0].root, parse_note(alert.second)[0].root} == {
            forks["a"].root(8),
            forks["b"].root(8),
        }
    finally:
        host.station.close()


def test_gossip_holds_a_note_beyond_the_replica_until_replication_passes_it(
    tmp_path: Path,
) -> None:
    honest = ledger([f"gd {i}" for i in range(9)])
    forged = ledger([f"gd {i}" for i in range(5)] + [f"x {i}" for i in range(4)])
    replicas = ReplicaSet(None)
    follower = replicas.follow(ORIGIN, bytes(CHILD_KEY.verify_key))
    book = GossipBook(replicas)
    assert list(book.receive("reader", [forged.checkpoint()]).equivocating) == []

    async def replicate() -> None:
        await follow_once(follower, LogPeer(honest), timeout=5)  # type: ignore[arg-type]

    trio.run(replicate)
    assert follower.verified_size == 9
    # The next gossip, whatever it brings, checks the held note against the verified entries.
    assert list(book.receive("other-reader", []).equivocating) == [ORIGIN]
    assert follower.quarantined
    (alert,) = follower.evidence()
    assert "gossiped by reader differs from the entries this replica verified" in alert.detail


class LogPeer:
    """A child answering from one in-process log (replication's side of the conversation)."""

    node_id = "ps-aluva"

    def __init__(self, log: Ledger) -> None:
        self.log = log

    async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes:
        return self.log.checkpoint()

    async def get_key_history(
        self, origin: str, size: int, *, timeout: float
    ) -> list[federation_pb2.ProvenEntry]:
        return []

    async def get_entries(
        self, origin: str, start: int, end: int, *, batch_size: int = 500, timeout: float
    ) -> list[bytes]:
        return LedgerLogReader(self.log).leaves(start, end)

    async def get_consistency_proof(
        self, origin: str, size1: int, size2: int, *, timeout: float
    ) -> list[bytes]:
        return self.log.consistency_proof(size1, size2)


# -- a fetch over real gRPC, checked against the policy --------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Member, Member, GrpcPeerClient]]:
    station = open_member(tmp_path, "ps-aluva", records=30)
    dpo = open_member(tmp_path, "dpo", role="district", records=0)
    servicer = PeerServicer(station.service, authenticate=lambda context: dpo.identity)
    server, port = start_server(servicer, "127.0.0.1:0", credentials=None, max_workers=4)
    client = GrpcPeerClient(PeerAddress(station.node_id, f"127.0.0.1:{port}"), credentials=None)
    try:
        yield station, dpo, client
    finally:
        client.close()
        server.stop(grace=None).wait()
        station.station.close()
        dpo.station.close()


def test_grpc_fetch_carries_the_parents_cosignature_and_passes_the_policy(
    served: tuple[Member, Member, GrpcPeerClient], tmp_path: Path
) -> None:
    station, dpo, client = served
    ref = first_fir(station.station).fir_number
    request = federation_pb2.RecordRequest(ref=ref, context=context())
    dpo_key = dpo.station.ledger.public_key
    policy = parent_policy(dpo.origin, dpo_key, max_age_s=3600)
    seen = SeenCheckpoints(tmp_path / "reader")

    async def fetch() -> tuple[federation_pb2.RecordResponse, AnswerCheck]:
        response = await client.fetch_record(request, timeout=30)
        record = verify_record_response(
            response, expected_origin=station.origin, owner_public_key=station.public_key
        )
        check = await check_record_answer(
            client,
            seen,
            policy,
            response,
            record,
            pinned_key=station.public_key,
            now_s=int(time.time()),
            timeout=30,
        )
        return response, check

    # Before any witness cosigned: the answer is served, and flagged unwitnessed.
    response, check = trio.run(fetch)
    assert not response.HasField("witnessed")
    assert not check.ok and "unwitnessed" in check.reason

    async def replicate() -> None:
        store = RocksDBLogStore.open(tmp_path / "replica")
        try:
            key = DataDir(tmp_path / "dpo").load_key()
            witness = Witness(key, dpo.origin, lambda: int(time.time()))
            follower = ReplicaFollower(store, station.origin, station.public_key, witness=witness)
            progress = await follow_once(follower, client, timeout=30)
            assert progress.cosignature_sent
        finally:
            store.close()

    trio.run(replicate)
    response, check = trio.run(fetch)
    assert response.witnessed.note and response.witnessed.consistency  # older than the answer
    assert check.ok, check.reason
    assert check.consistency == "consistent"  # the note seen is the one cosigned since
    _, again = trio.run(fetch)
    assert again.ok and again.consistency == "consistent"  # a proof asked from the log
    # GetCheckpoint serves the log's note as signed, the cosigned one beside it.
    served_note = station.service.get_checkpoint(dpo.identity, federation_pb2.CheckpointRequest())
    assert served_note.witnessed.note == response.witnessed.note
    assert len(parse_note(served_note.note)[1]) == 1  # the log's own signature only
    # Kept across a restart: the newest cosigned note is read back and served again.
    reopened = StationPeerNode(
        station.station, cosignature_dir=tmp_path / "ps-aluva" / "cosignatures"
    )
    assert reopened.witnessed_checkpoint() == response.witnessed.note
    # The same answer held to another witness's key is flagged, not accepted.
    stranger = parent_policy(dpo.origin, bytes(32 * [7]), max_age_s=3600)
    record = verify_record_response(
        response, expected_origin=station.origin, owner_public_key=station.public_key
    )
    check = trio.run(
        lambda: check_record_answer(
            client,
            seen,
            stranger,
            response,
            record,
            pinned_key=station.public_key,
            now_s=int(time.time()),
            timeout=30,
        )
    )
    assert not check.ok and "not witnessed by" in check.reason


# -- the same over real processes: the node serves its parent's cosignature ------------------


@pytest.mark.slow
def test_processes_serve_the_parents_cosignature_to_every_reader(tmp_path: Path) -> None:
    fed = build_federation(
        tmp_path,
        [
            Spec("dpo", "district"),
            Spec("sta", "station", parent="dpo", records=20),
            Spec("stb", "station", parent="dpo"),
        ],
    )
    station = Station.open(fed["sta"].data_dir)
    try:
        fir = first_fir(station).fir_number
        person, _ = first_person(station)
    finally:
        station.close()

    def fetch() -> dict[str, Any] | None:
        # As an officer at stb would: the answer is from sta, its witness is their parent.
        done = fed.cli(
            "peer", "fetch", fir, "--node", fed["sta"].node_id,
            "--data-dir", str(fed["stb"].path), "--json", "--require-witness",
        )  # fmt: skip
        out: dict[str, Any] = json.loads(done.stdout) if done.returncode == 0 else {}
        return out or None

    try:
        for name in ("dpo", "sta", "stb"):
            fed.start(name, wait=False)
        for name in ("dpo", "sta", "stb"):
            fed.wait_ready(name)
        # The district verifies sta's log and sends back its cosignature (a poll a second).
        out = wait_for("a fetch witnessed by the district", fetch, timeout=60)
        found = fed.cli(
            "peer", "search", person, "--nodes", fed["sta"].node_id,
            "--data-dir", str(fed["stb"].path), "--json", "--require-witness",
        )  # fmt: skip
        hit = fed.cli(
            "peer", "hit", fir, "--type", "fir", "--nodes", fed["sta"].node_id,
            "--data-dir", str(fed["stb"].path), "--require-witness",
        )  # fmt: skip
        # What stb saw of sta, handed to their parent, which compares it with its replica.
        gossiped = fed.cli("peer", "gossip", "--data-dir", str(fed["stb"].path), "--json")
    finally:
        fed.stop_all()
    assert gossiped.returncode == 0, gossiped.stdout + gossiped.stderr
    assert json.loads(gossiped.stdout) == {"checked": 1, "equivocating": []}
    assert hit.returncode == 0 and f"HIT {fir}" in hit.stdout, hit.stdout + hit.stderr
    assert found.returncode == 0, found.stdout + found.stderr
    searched = json.loads(found.stdout)
    assert searched["witness"][fed["sta"].node_id]["ok"]
    (part,) = searched["freshness"][fed["sta"].node_id]
    assert part["as_of_source"] == "live" and not part["stale"]
    assert out["witness"]["ok"] and out["witness"]["consistency"] in ("first seen", "consistent")
    assert "cosigned by cctns.in/kerala/ernakulam-city/dpo" in out["witness"]["reason"]
    assert list((fed["stb"].path / "witness" / "seen").glob("*.note"))
    assert (fed["sta"].path / "cosignatures" / "witnessed.note").exists()


def test_fanout_keeps_an_answer_whose_witness_check_outlasts_the_deadline(tmp_path: Path) -> None:
    owner = open_member(tmp_path, "ps-aluva", records=5)
    asker = open_member(tmp_path, "ps-kalamassery", records=0)
    try:
        net = MemoryNetwork(seed=2, latency=0.1)
        for member in (owner, asker):
            net.add(member.service, member.identity)
        request = federation_pb2.SearchRequest(kind="person", query="x", context=context())

        async def slow_check(client: object, response: object, verified: object) -> AnswerCheck:
            await trio.sleep_forever()
            raise AssertionError("not reached")

        async def search() -> FederatedSearchResult:
            clients = [net.client(asker.node_id, owner.node_id)]
            return await federated_search(
                clients, request, deadline=2.0, verify=lambda n, r: None, witness=slow_check
            )

        result = trio.run(search, clock=trio.testing.MockClock(autojump_threshold=0))
        assert result.complete and owner.node_id in result.freshness
        assert result.witness[owner.node_id].consistency == "unchecked"
        assert "did not finish within the deadline" in result.flagged[owner.node_id]
    finally:
        owner.station.close()
        asker.station.close()
