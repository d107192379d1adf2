"""Replication of a child's log into a parent's replica, through the ReplicaFollower machine.

`LogPeer` below stands in for the network: a PeerClient answering in-process from real logs
(a child's Ledger, or a parent's ReplicaSet), with knobs to break it. The real in-memory
transport and the gRPC client are tested elsewhere; here the subject is the state machine.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from collections.abc import Callable
from pathlib import Path

import nacl.signing
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.interfaces import LogReader
from federation.logs import LedgerLogReader, proven_key_handovers
from federation.replicas import ReplicaSet
from federation.replication import (
    DEFAULT_CHUNK,
    META_TARGET,
    Alert,
    NeedEntries,
    Progress,
    ReplicaFollower,
    Witness,
    begin_round,
    follow_once,
    recover_from_parent,
    resync_own_log,
)
from federation.replication_loop import follow_forever
from ledger.checkpoint import verify_checkpoint
from ledger.cosignature import verify_cosignature
from ledger.errors import (
    EquivocationError,
    PeerError,
    PeerUnavailable,
    UsageError,
    VerificationError,
)
from ledger.keys import LogKeys
from ledger.log import Ledger, verify_log
from ledger.merkle import NodeRuns
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import CommitBatch, LogStore, MemoryLogStore
from protos import federation_pb2, ledger_pb2, records_pb2
from tests.ledger.forgery import forge, forge_handover

ORIGIN = "cctns.in/kerala/ekm/ps-aluva"
CHILD_KEY = nacl.signing.SigningKey(bytes(range(32)))
CHILD_PUBLIC = bytes(CHILD_KEY.verify_key)
PARENT_KEY = nacl.signing.SigningKey(bytes(range(1, 33)))
PARENT_NAME = "cctns.in/kerala/ekm/dpo"
WITNESS = Witness(PARENT_KEY, PARENT_NAME, lambda: 1_700_000_000)


def gd(text: str) -> ledger_pb2.EntryBody:
    return ledger_pb2.EntryBody(
        officer_id="PEN1",
        general_diary=records_pb2.GeneralDiaryEntry(summary=text, category="other"),
    )


def child(store: LogStore | None = None, key: nacl.signing.SigningKey = CHILD_KEY) -> Ledger:
    return Ledger(store if store is not None else MemoryLogStore(), key, ORIGIN, clock=lambda: 1)


def append(ledger: Ledger, count: int, tag: str = "gd") -> None:
    for start in range(0, count, 100):
        ledger.append_many([gd(f"{tag} {i}") for i in range(start, min(count, start + 100))])


class LogPeer:
    """A PeerClient answering from in-process logs: stands in for the network in these tests."""

    def __init__(self, log: Callable[[str], LogReader], node_id: str = "peer") -> None:
        self._log = log
        self._node_id = node_id
        self.cosignatures: list[bytes] = []
        self.unavailable = False
        self.entry_calls = 0
        self.key_history_calls = 0
        self.fail_entries_after: int | None = None  # link drops after this many entry calls
        self.tamper: Callable[[int, bytes], bytes] | None = None
        self.bad_proof: Callable[[int, int], bool] = lambda size1, size2: False
        self.max_entries: int | None = None  # a server that sends less than asked

    def log(self, origin: str) -> LogReader:
        return self._log(origin)

    def _check(self) -> None:
        if self.unavailable:
            raise PeerUnavailable("link down", self._node_id)

    @property
    def node_id(self) -> str:
        return self._node_id

    async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes:
        self._check()
        return self.log(origin).checkpoint()

    async def get_entries(
        self, origin: str, start: int, end: int, *, batch_size: int = 500, timeout: float
    ) -> list[bytes]:
        self._check()
        self.entry_calls += 1
        if self.fail_entries_after is not None and self.entry_calls > self.fail_entries_after:
            raise PeerUnavailable("link dropped mid-stream", self._node_id)
        if self.max_entries is not None:
            end = min(end, start + self.max_entries)
        leaves = self.log(origin).leaves(start, end)
        if self.tamper is not None:
            leaves = [self.tamper(start + i, leaf) for i, leaf in enumerate(leaves)]
        return leaves

    async def get_consistency_proof(
        self, origin: str, size1: int, size2: int, *, timeout: float
    ) -> list[bytes]:
        self._check()
        proof = self.log(origin).consistency_proof(size1, size2)
        if self.bad_proof(size1, size2):
            proof[0] = bytes(32)
        return proof

    async def get_key_history(
        self, origin: str, size: int, *, timeout: float
    ) -> list[federation_pb2.ProvenEntry]:
        self._check()
        self.key_history_calls += 1
        return proven_key_handovers(self.log(origin), size)

    async def put_cosignature(self, cosigned_note: bytes, *, timeout: float) -> None:
        self._check()
        self.cosignatures.append(cosigned_note)

    async def fetch_record(
        self, request: federation_pb2.RecordRequest, *, timeout: float
    ) -> federation_pb2.RecordResponse:
        raise PeerError("not served by this test peer")

    async def search(
        self, request: federation_pb2.SearchRequest, *, timeout: float
    ) -> federation_pb2.SearchResponse:
        raise PeerError("not served by this test peer")

    async def hit_no_hit(
        self, request: federation_pb2.HitRequest, *, timeout: float
    ) -> federation_pb2.HitResponse:
        raise PeerError("not served by this test peer")

    async def transfer_zero_fir(
        self, handover: federation_pb2.ZeroFirHandover, *, timeout: float
    ) -> federation_pb2.ZeroFirAcceptance:
        raise PeerError("not served by this test peer")

    async def transfer_case(
        self, handover: federation_pb2.CaseHandover, *, timeout: float
    ) -> federation_pb2.CaseAcceptance:
        raise PeerError("not served by this test peer")

    async def get_revocations(self, *, timeout: float) -> list[bytes]:
        raise PeerError("not served by this test peer")


class ChildPeer(LogPeer):
    """A peer serving one child's Ledger; `serve(other)` swaps the history it serves (a fork)."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(self._find, "ps-aluva")
        self.current = LedgerLogReader(ledger)

    def _find(self, origin: str) -> LedgerLogReader:
        if origin != ORIGIN:
            raise PeerError(f"no log {origin}")
        return self.current

    def serve(self, other: Ledger) -> None:
        self.current = LedgerLogReader(other)


def serving(ledger: Ledger) -> ChildPeer:
    return ChildPeer(ledger)


def follow(follower: ReplicaFollower, peer: LogPeer, *, chunk: int = DEFAULT_CHUNK) -> Progress:
    async def run() -> Progress:
        return await follow_once(follower, peer, chunk=chunk, timeout=5)

    return trio.run(run)


def followed(count: int) -> tuple[Ledger, ChildPeer, ReplicaFollower]:
    """A child with `count` entries, serving them, and a new in-memory replica that followed."""
    ledger = child()
    append(ledger, count)
    peer = serving(ledger)
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, peer)
    return ledger, peer, follower


def snapshot(store: LogStore) -> tuple[int, list[tuple[int, bytes]], bytes | None]:
    return store.size(), list(store.checkpoints()), store.meta(META_TARGET)


# -- catching up -------------------------------------------------------------------------------


def test_replication_catch_up_from_zero_in_chunks() -> None:
    ledger = child()
    append(ledger, 100)
    replicas = ReplicaSet(None, witness=WITNESS)
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    progress = follow(follower, serving(ledger), chunk=16)
    assert progress.fetched == 100
    assert progress.chunks[0] == (0, 16) and progress.chunks[-1] == (96, 100)
    replica = replicas.get(ORIGIN)
    assert replica.size() == 100
    assert replica.leaves(0, 100) == list(ledger.store.entries(0, 100))
    assert verify_log(follower.store, CHILD_PUBLIC, ORIGIN).root == ledger.root()
    # Served proofs match the child's.
    assert replica.consistency_proof(37, 100) == ledger.consistency_proof(37, 100)
    assert replica.inclusion_proof(5, 100) == ledger.inclusion_proof(5, 100)


def test_replication_incremental_and_idempotent() -> None:
    ledger = child()
    append(ledger, 10)
    seen: list[tuple[str, int, int]] = []
    replicas = ReplicaSet(None, on_verified=lambda o, s, e: seen.append((o, s, e)))
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    peer = serving(ledger)
    follow(follower, peer, chunk=4)
    append(ledger, 7)
    progress = follow(follower, peer, chunk=4)
    assert progress.step == "consistency" and progress.fetched == 7
    assert follower.verified_size == 17
    before = snapshot(follower.store)
    again = follow(follower, peer, chunk=4)
    assert again.step == "up-to-date" and again.fetched == 0
    assert snapshot(follower.store) == before
    assert seen == [
        (ORIGIN, 0, 4),
        (ORIGIN, 4, 8),
        (ORIGIN, 8, 10),
        (ORIGIN, 10, 14),
        (ORIGIN, 14, 17),
    ]
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "rocksdb"])
def test_replication_chunks_stored_together_make_one_commit_of_them_all(
    tmp_path: Path, durable: bool
) -> None:
    """A writer that fell behind stores several verified chunks in one commit (their nodes
    joined): the replica then holds what storing them one by one leaves."""
    ledger = child()
    append(ledger, 100)
    peer = serving(ledger)
    store: LogStore = RocksDBLogStore.open(tmp_path / "r") if durable else MemoryLogStore()
    follower = ReplicaFollower(store, ORIGIN, CHILD_PUBLIC, witness=WITNESS)
    one_by_one = ReplicaSet(None, witness=WITNESS).follow(ORIGIN, CHILD_PUBLIC)
    follow(one_by_one, peer, chunk=16)
    step = trio.run(functools.partial(begin_round, follower, peer, timeout=5))
    assert isinstance(step[1], NeedEntries)
    commits = 0
    commit = store.commit

    def counting(batch: CommitBatch) -> None:
        nonlocal commits
        commits += 1
        assert isinstance(batch.nodes, NodeRuns)  # written a run at a time
        commit(batch)

    store.commit = counting  # type: ignore[method-assign]
    start = 0
    while start < 100:
        group = []
        for _ in range(3):  # 3 chunks of 13 in flight, then one commit
            if start >= 100:
                break
            end = min(start + 13, 100)
            proof = ledger.consistency_proof(end, 100) if end < 100 else []
            leaves = list(ledger.store.entries(start, end))
            group.append(follower.verify_chunk(start, leaves, proof))
            start = end
        follower.store_chunks(group)
        for verified in group:
            follower.chunk_stored(verified)
    assert commits == 3  # 0..39, 39..78, 78..100
    assert follower.verified_size == 100
    expected = one_by_one.store
    for level in range(7):
        for index in range(100 >> level):
            assert store.node(level, index) == expected.node(level, index)
    assert store.node(0, 100) is None and store.node(7, 0) is None
    assert list(store.entries(0, 100)) == list(ledger.store.entries(0, 100))
    assert verify_log(store, CHILD_PUBLIC, ORIGIN).root == ledger.root()
    store.close()


def test_replication_short_answers_are_continued() -> None:
    ledger = child()
    append(ledger, 30)
    peer = serving(ledger)
    peer.max_entries = 7  # the server caps a request; the follower asks again from there
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, peer, chunk=20)
    assert follower.verified_size == 30


def test_replication_cosignature_stored_and_sent_once() -> None:
    ledger = child()
    append(ledger, 5)
    peer = serving(ledger)
    replicas = ReplicaSet(None, witness=WITNESS)
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    progress = follow(follower, peer)
    assert progress.cosignature_sent
    stored = replicas.get(ORIGIN).checkpoint()
    assert peer.cosignatures == [stored]
    assert verify_cosignature(stored, bytes(PARENT_KEY.verify_key), PARENT_NAME) == 1_700_000_000
    assert verify_checkpoint(stored, CHILD_PUBLIC, ORIGIN, ORIGIN).size == 5
    follow(follower, peer)
    assert len(peer.cosignatures) == 1  # nothing new: not cosigned or sent again


def test_replication_unchanged_checkpoint_is_cosigned_again_when_the_last_grows_old() -> None:
    # Readers ask for a cosignature not older than their max age: a quiet office's checkpoint
    # is cosigned again once the witness's last line on it is refresh_seconds old.
    now = [1_700_000_000]
    witness = Witness(PARENT_KEY, PARENT_NAME, lambda: now[0], refresh_seconds=900)
    ledger = child()
    append(ledger, 5)
    peer = serving(ledger)
    replicas = ReplicaSet(None, witness=witness)
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    assert follower.cosignature_refresh_at() is None  # nothing verified yet
    follow(follower, peer)
    assert follower.cosignature_refresh_at() == 1_700_000_900  # what a scheduler waits for
    now[0] += 899
    follow(follower, peer)
    assert len(peer.cosignatures) == 1  # not yet old: nothing sent again
    now[0] += 1
    progress = follow(follower, peer)
    assert progress.step == "up-to-date" and progress.cosignature_sent
    assert len(peer.cosignatures) == 2
    again = peer.cosignatures[-1]
    public = bytes(PARENT_KEY.verify_key)
    assert verify_cosignature(again, public, PARENT_NAME) == 1_700_000_900
    assert again.count(PARENT_NAME.encode()) == 1  # the older line is replaced, not piled up
    assert replicas.get(ORIGIN).checkpoint() == again  # stored as the replica's checkpoint
    assert verify_checkpoint(again, CHILD_PUBLIC, ORIGIN, ORIGIN).size == 5
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)
    assert follower.cosignature_refresh_at() == 1_700_001_800
    follow(follower, peer)
    assert len(peer.cosignatures) == 2  # fresh again


def test_replication_cosignature_delivered_after_link_returns() -> None:
    ledger = child()
    append(ledger, 5)
    peer = serving(ledger)
    follower = ReplicaSet(None, witness=WITNESS).follow(ORIGIN, CHILD_PUBLIC)

    async def drop_cosignature(note: bytes, *, timeout: float) -> None:
        raise PeerUnavailable("link dropped")

    peer.put_cosignature = drop_cosignature  # type: ignore[method-assign,assignment]
    with pytest.raises(PeerUnavailable):
        follow(follower, peer)
    assert follower.verified_size == 5  # the entries are kept
    del peer.put_cosignature
    follow(follower, peer)
    assert len(peer.cosignatures) == 1


def test_replication_link_down_store_and_forward() -> None:
    ledger, peer, follower = followed(8)
    peer.unavailable = True
    append(ledger, 50)  # the child keeps writing while the link is down
    with pytest.raises(PeerUnavailable):
        follow(follower, peer)
    peer.unavailable = False
    follow(follower, peer, chunk=16)
    assert follower.verified_size == 58
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)


def test_replication_resume_after_crash_between_chunks(tmp_path: Path) -> None:
    ledger = child()
    append(ledger, 100)
    peer = serving(ledger)
    peer.fail_entries_after = 3
    replicas = ReplicaSet(tmp_path / "replicas")
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    with pytest.raises(PeerUnavailable):
        follow(follower, peer, chunk=16)
    assert follower.held == 48 and follower.verified_size == 0
    replicas.close()  # the parent process dies here

    replicas = ReplicaSet(tmp_path / "replicas")
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    assert (follower.held, follower.state, follower.target_size) == (48, "fetching", 100)
    assert replicas.get(ORIGIN).size() == 0  # unfinished catch-ups are not served
    peer.fail_entries_after = None
    progress = follow(follower, peer, chunk=16)
    assert progress.chunks[0] == (48, 64)
    assert list(follower.store.entries(0, 100)) == list(ledger.store.entries(0, 100))
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)
    replicas.close()


def test_replication_kill_after_fetch_before_commit_stores_nothing(tmp_path: Path) -> None:
    ledger = child()
    append(ledger, 40)
    peer = serving(ledger)
    follower = ReplicaSet(tmp_path).follow(ORIGIN, CHILD_PUBLIC)
    peer.bad_proof = lambda size1, size2: False
    calls = {"n": 0}
    original = peer.get_consistency_proof

    async def dies(origin: str, size1: int, size2: int, *, timeout: float) -> list[bytes]:
        calls["n"] += 1
        if calls["n"] == 2:  # leaves of the second chunk fetched, proof not yet
            raise PeerUnavailable("killed")
        return await original(origin, size1, size2, timeout=timeout)

    peer.get_consistency_proof = dies  # type: ignore[method-assign]
    with pytest.raises(PeerUnavailable):
        follow(follower, peer, chunk=10)
    assert follower.held == 10
    follow(follower, peer, chunk=10)
    assert follower.held == follower.verified_size == 40
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)


def test_replication_child_with_new_entries_during_catch_up() -> None:
    ledger = child()
    append(ledger, 30)
    peer = serving(ledger)
    peer.fail_entries_after = 1
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    with pytest.raises(PeerUnavailable):
        follow(follower, peer, chunk=8)
    append(ledger, 20)  # the target moves on while the replica is half way
    peer.fail_entries_after = None
    progress = follow(follower, peer, chunk=8)
    assert progress.step == "consistency"
    assert follower.verified_size == 50
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)


# -- misbehaving children ----------------------------------------------------------------------


def forked_pair(shared: int, first: int, second: int) -> tuple[Ledger, Ledger]:
    """Two histories under the same key and origin, equal for `shared` entries."""
    a, b = child(), child()
    append(a, shared, "same")
    append(b, shared, "same")
    append(a, first, "A")
    append(b, second, "B")
    return a, b


@pytest.mark.parametrize(
    ("shared", "first", "second", "detail"),
    [
        (4, 3, 3, "two roots for size 7"),  # same size, different roots
        (4, 3, 9, "no valid consistency proof"),  # a longer inconsistent history
        (4, 3, 1, "differs from the one computed"),  # a shorter inconsistent history
        (0, 5, 8, "no valid consistency proof"),
    ],
)
def test_replication_fork_is_quarantined_with_evidence(
    shared: int, first: int, second: int, detail: str
) -> None:
    a, b = forked_pair(shared, first, second)
    peer = serving(a)
    alerts: list[Alert] = []
    replicas = ReplicaSet(None, on_alert=alerts.append)
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, peer)
    accepted = replicas.get(ORIGIN).checkpoint()
    peer.serve(b)
    before = snapshot(follower.store)[:2]
    progress = follow(follower, peer)
    assert progress.alert is not None and detail in progress.alert.detail
    assert follower.quarantined and alerts == [progress.alert]
    [alert] = replicas.alerts()
    assert (alert.first, alert.second) == (accepted, b.checkpoint())
    # both notes are genuine: the evidence stands on its own
    verify_checkpoint(alert.first, CHILD_PUBLIC, ORIGIN)
    verify_checkpoint(alert.second, CHILD_PUBLIC, ORIGIN)
    assert alert.event().kind == "equivocation"
    # no further updates, even from the original history
    peer.serve(a)
    append(a, 5)
    assert follow(follower, peer).step == "quarantined"
    assert snapshot(follower.store)[:2] == before
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)


def test_replication_quarantine_survives_restart_and_operator_clears(tmp_path: Path) -> None:
    a, b = forked_pair(3, 2, 2)
    peer = serving(a)
    replicas = ReplicaSet(tmp_path)
    follow(replicas.follow(ORIGIN, CHILD_PUBLIC), peer)
    peer.serve(b)
    follow(replicas.follow(ORIGIN, CHILD_PUBLIC), peer)
    replicas.close()
    replicas = ReplicaSet(tmp_path)  # reopened from disk, without asking to follow
    assert replicas.origins() == [ORIGIN]
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    assert follower.quarantined and len(replicas.alerts()) == 1
    assert replicas.get(ORIGIN).size() == 5  # what was verified stays readable
    follower.clear_quarantine()
    assert replicas.alerts() == [] and len(follower.evidence()) == 1
    peer.serve(a)
    append(a, 3)
    follow(follower, peer)
    assert follower.verified_size == 8
    replicas.close()


def test_replication_forged_checkpoint_rejected_replica_unchanged() -> None:
    _, peer, follower = followed(6)
    before = snapshot(follower.store)
    impostor = child(key=nacl.signing.SigningKey(bytes(range(5, 37))))
    append(impostor, 9)
    peer.serve(impostor)
    with pytest.raises(VerificationError, match="no signature by key"):
        follow(follower, peer)
    assert snapshot(follower.store) == before
    assert not follower.quarantined  # a note nobody signed is nobody's evidence


def test_replication_tampered_leaf_rejected_replica_unchanged() -> None:
    ledger = child()
    append(ledger, 40)
    peer = serving(ledger)
    peer.tamper = lambda index, leaf: leaf[:-1] + bytes([leaf[-1] ^ 1]) if index == 25 else leaf
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    with pytest.raises(PeerError, match="not part of its checkpoint"):
        follow(follower, peer, chunk=10)
    assert follower.held == 20  # the two chunks before the bad one are kept, verified
    assert not follower.quarantined
    peer.tamper = None
    follow(follower, peer, chunk=10)
    assert follower.verified_size == 40
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)


def test_replication_tampered_last_chunk_rejected() -> None:
    ledger = child()
    append(ledger, 12)
    peer = serving(ledger)
    peer.tamper = lambda index, leaf: leaf + b"\x00" if index == 11 else leaf
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    with pytest.raises(PeerError, match="do not hash to the signed root"):
        follow(follower, peer)
    assert snapshot(follower.store) == (0, [], None)


def test_replication_bad_chunk_proof_is_rejection_not_equivocation() -> None:
    # The proof ties unverified leaves to the target: its failure convicts nobody (the leaves
    # or the proof may be wrong); the chunk is refused and the round fails.
    ledger = child()
    append(ledger, 30)
    peer = serving(ledger)
    peer.bad_proof = lambda size1, size2: size1 == 20
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    with pytest.raises(PeerError):
        follow(follower, peer, chunk=10)
    assert follower.held == 10 and not follower.quarantined


def test_replication_bad_proof_between_signed_notes_is_equivocation() -> None:
    # Both notes carry the child's signature; an honest child can always prove one extends
    # the other, so failing to is treated as equivocation (the rule), with both notes
    # kept. An operator who finds a transport fault instead can clear the quarantine.
    ledger, peer, follower = followed(10)
    append(ledger, 5)
    peer.bad_proof = lambda size1, size2: (size1, size2) == (10, 15)
    progress = follow(follower, peer)
    assert follower.quarantined and progress.alert is not None
    assert follower.verified_size == 10


def test_replication_stale_child_is_ignored() -> None:
    ledger = child()
    append(ledger, 10)
    old = ledger.checkpoint()
    append(ledger, 5)
    peer = serving(ledger)
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, peer)

    async def old_checkpoint(origin: str = "", *, timeout: float) -> bytes:
        return old

    peer.get_checkpoint = old_checkpoint  # type: ignore[method-assign]
    progress = follow(follower, peer)
    assert progress.step == "stale" and not follower.quarantined


def test_replication_wrong_key_for_existing_replica_refused() -> None:
    replicas = ReplicaSet(None)
    replicas.follow(ORIGIN, CHILD_PUBLIC)
    with pytest.raises(UsageError):
        replicas.follow(ORIGIN, bytes(PARENT_KEY.verify_key))
    with pytest.raises(PeerError):
        replicas.get("cctns.in/elsewhere")


# -- across the child's key rotation -------------------------------------------------------------

NEW_CHILD_KEY = nacl.signing.SigningKey(bytes(range(7, 39)))
NEW_CHILD_PUBLIC = bytes(NEW_CHILD_KEY.verify_key)
OUTSIDER_KEY = nacl.signing.SigningKey(bytes(range(9, 41)))


def rotated_child(before: int, after: int) -> Ledger:
    ledger = child()
    append(ledger, before)
    ledger.rotate_key(NEW_CHILD_KEY, officer_id="PEN1")
    append(ledger, after, "after")
    return ledger


def test_replication_follows_the_child_across_its_key_rotation(tmp_path: Path) -> None:
    ledger = child()
    append(ledger, 40)
    peer = serving(ledger)
    replicas = ReplicaSet(tmp_path / "replicas", witness=WITNESS)
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, peer, chunk=16)
    asked = peer.key_history_calls  # a new replica asks once where its pinned key stands
    ledger.rotate_key(NEW_CHILD_KEY, officer_id="PEN1")
    append(ledger, 30, "after")
    progress = follow(follower, peer, chunk=16)
    assert progress.after == ledger.size() == 71 and not follower.quarantined
    assert peer.key_history_calls == asked + 1  # the new key, learnt from the log's hand-over
    assert follower.keys == ledger.keys
    report = verify_log(follower.store, CHILD_PUBLIC, ORIGIN)
    assert report.keys == ledger.keys and report.root == ledger.root()
    append(ledger, 5, "later")  # the next round needs no key history: the key is known
    follow(follower, peer)
    assert peer.key_history_calls == asked + 1 and follower.verified_size == 76
    # The parent serves the hand-over with its replica, to whoever follows it in turn.
    assert replicas.get(ORIGIN).key_handovers() == [40]
    replicas.close()

    reopened = ReplicaSet(tmp_path / "replicas")
    assert reopened.follow(ORIGIN, CHILD_PUBLIC).keys == ledger.keys
    assert reopened.follow(ORIGIN, NEW_CHILD_PUBLIC).verified_size == 76  # a pin it has seen
    with pytest.raises(UsageError, match="never handed over"):
        reopened.follow(ORIGIN, bytes(OUTSIDER_KEY.verify_key))
    reopened.close()


def test_replication_new_replica_pinned_to_the_childs_new_key() -> None:
    ledger = rotated_child(25, 25)
    follower = ReplicaSet(None).follow(ORIGIN, NEW_CHILD_PUBLIC)
    follow(follower, serving(ledger), chunk=8)
    assert follower.verified_size == 51 and follower.keys == ledger.keys
    assert verify_log(follower.store, CHILD_PUBLIC, ORIGIN).keys == ledger.keys


def test_replication_resumes_a_catch_up_across_the_rotation(tmp_path: Path) -> None:
    ledger = child()
    append(ledger, 20)
    peer = serving(ledger)
    replicas = ReplicaSet(tmp_path / "replicas")
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, peer)
    append(ledger, 30, "more")
    ledger.rotate_key(NEW_CHILD_KEY, officer_id="PEN1")  # the hand-over at 50
    append(ledger, 30, "after")
    peer.fail_entries_after = peer.entry_calls + 1
    with pytest.raises(PeerUnavailable):
        follow(follower, peer, chunk=10)
    # Held: 30 entries, all under the old key; the target (81) is signed by the new key, which
    # the replica knows from the key history it verified, kept with the target.
    assert follower.held == 30 and follower.keys.handover_indexes() == [50]
    replicas.close()  # the parent process dies mid catch-up

    replicas = ReplicaSet(tmp_path / "replicas")
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    assert (follower.state, follower.target_size) == ("fetching", 81)
    assert follower.keys == ledger.keys
    peer.fail_entries_after = None
    follow(follower, peer, chunk=10)
    assert follower.verified_size == 81
    verify_log(follower.store, CHILD_PUBLIC, ORIGIN)
    replicas.close()


def forged_rotation(ledger: Ledger) -> Ledger:
    """A copy of `ledger`'s log (same entries: the clock is fixed) continued by someone without
    its key: a hand-over to the outsider's key, signed by the outsider, and entries by it."""
    copy = MemoryLogStore()
    twin = child(copy)
    for _, body in ledger.bodies():
        clean = ledger_pb2.EntryBody()
        clean.CopyFrom(body)
        twin.append(clean)
    assert twin.root() == ledger.root()
    twin.close()
    forge_handover(
        copy,
        ORIGIN,
        previous=CHILD_PUBLIC,
        new=OUTSIDER_KEY,
        possession_by=OUTSIDER_KEY,
        entry_key=OUTSIDER_KEY,
    )
    forge(copy, ORIGIN, gd("forged"), entry_key=OUTSIDER_KEY, checkpoint_key=OUTSIDER_KEY)
    return Ledger(copy, OUTSIDER_KEY, ORIGIN, clock=lambda: 1)


def test_replication_forged_rotation_is_refused_and_nothing_stored() -> None:
    ledger, peer, follower = followed(12)
    before = snapshot(follower.store)
    peer.serve(forged_rotation(ledger))
    with pytest.raises(VerificationError, match="signature"):
        follow(follower, peer)
    assert snapshot(follower.store) == before and follower.keys == LogKeys.single(CHILD_PUBLIC)

    # A peer that says nothing of a hand-over cannot make a new key believed either.
    peer.serve(rotated_child(12, 5))

    async def no_history(origin: str, size: int, *, timeout: float) -> list[object]:
        return []

    peer.get_key_history = no_history  # type: ignore[method-assign,assignment]
    with pytest.raises(VerificationError):
        follow(follower, peer)
    assert snapshot(follower.store) == before
    del peer.get_key_history
    follow(follower, peer)
    assert follower.verified_size == 18 and len(follower.keys.eras) == 2


def test_replication_handover_its_checkpoint_ignores_is_refused() -> None:
    """A hand-over among the leaves that the note does not account for (signed by the old key
    after handing over: a compromised old key, or a broken writer) stores nothing."""
    ledger, peer, follower = followed(6)
    before = snapshot(follower.store)
    forge_handover(
        ledger.store,
        ORIGIN,
        previous=CHILD_PUBLIC,
        new=NEW_CHILD_KEY,
        possession_by=NEW_CHILD_KEY,
        entry_key=CHILD_KEY,
        checkpoint_key=CHILD_KEY,
    )
    with pytest.raises(PeerError, match=r"entry 6 .* hands its key over, but not as"):
        follow(follower, peer)
    assert snapshot(follower.store) == before


# -- a node restored from an old backup -----------------------------------------------------------


def test_restored_node_learns_it_is_behind_and_recovers(tmp_path: Path) -> None:
    store = RocksDBLogStore.open(tmp_path / "child")
    ledger = child(store)
    append(ledger, 12)
    ledger.close()
    store.close()
    shutil.copytree(tmp_path / "child", tmp_path / "backup")  # last night's backup
    store = RocksDBLogStore.open(tmp_path / "child")
    ledger = child(store)
    append(ledger, 30)

    replicas = ReplicaSet(tmp_path / "parent")
    follow(replicas.follow(ORIGIN, CHILD_PUBLIC), serving(ledger), chunk=8)
    parent = LogPeer(replicas.get, "dpo")  # the parent serves its replica of our log
    ledger.close()
    store.close()  # the disk dies; the backup is restored

    restored = RocksDBLogStore.open(tmp_path / "backup")

    async def check() -> None:
        await resync_own_log(restored, ORIGIN, CHILD_PUBLIC, parent)

    with pytest.raises(UsageError, match="older backup"):
        trio.run(check)

    async def recover() -> int:
        return await recover_from_parent(restored, ORIGIN, CHILD_PUBLIC, parent, chunk=7)

    assert trio.run(recover) == 30
    trio.run(check)  # now in step with the parent
    ledger = child(restored)
    append(ledger, 3, "after restore")
    verify_log(restored, CHILD_PUBLIC, ORIGIN)
    follower = replicas.follow(ORIGIN, CHILD_PUBLIC)
    follow(follower, serving(ledger))
    assert follower.verified_size == 45 and not follower.quarantined
    ledger.close()
    restored.close()
    replicas.close()


def test_restored_node_that_already_forked_is_told() -> None:
    a, b = forked_pair(4, 4, 6)  # b: restored at 4 and appended other entries
    replicas = ReplicaSet(None)
    follow(replicas.follow(ORIGIN, CHILD_PUBLIC), serving(a))
    parent = LogPeer(replicas.get, "dpo")

    async def check() -> None:
        await resync_own_log(b.store, ORIGIN, CHILD_PUBLIC, parent)

    with pytest.raises(EquivocationError, match="forked"):
        trio.run(check)


# -- the invariant, under random schedules ------------------------------------------------------

operation = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 30)),
    st.tuples(st.just("follow"), st.integers(1, 16)),
    st.tuples(st.just("drop"), st.integers(0, 3)),  # the link drops after n entry calls
    st.tuples(st.just("restart"), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=12))
def test_replication_random_schedules_end_with_child_prefix(
    operations: list[tuple[str, int]],
) -> None:
    ledger = child()
    peer = serving(ledger)
    store = MemoryLogStore()

    def make() -> ReplicaFollower:
        return ReplicaFollower(store, ORIGIN, CHILD_PUBLIC, witness=WITNESS)

    follower = make()
    for name, value in operations:
        if name == "append":
            append(ledger, value)
        elif name == "follow":
            follow(follower, peer, chunk=value)
            assert follower.verified_size == ledger.size()
        elif name == "drop":
            peer.entry_calls, peer.fail_entries_after = 0, value
            with contextlib.suppress(PeerUnavailable):
                follow(follower, peer, chunk=3)
            peer.fail_entries_after = None
        else:
            follower = make()  # a restart: the machine is rebuilt from the store alone
        held = store.size()
        assert list(store.entries(0, held)) == list(ledger.store.entries(0, held))
        assert follower.verified_size <= held <= ledger.size()
    follow(follower, peer, chunk=5)
    assert list(store.entries(0, store.size())) == list(ledger.store.entries(0, ledger.size()))
    report = verify_log(store, CHILD_PUBLIC, ORIGIN)
    assert report.size == ledger.size() and report.root == ledger.root()
    assert not follower.quarantined


# -- the loop ----------------------------------------------------------------------------------


def test_replication_loop_backs_off_then_catches_up() -> None:
    ledger = child()
    append(ledger, 20)
    peer = serving(ledger)
    peer.unavailable = True
    follower = ReplicaSet(None).follow(ORIGIN, CHILD_PUBLIC)
    rounds: list[Progress] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(
                    follow_forever,
                    follower,
                    peer,
                    poll_interval=10,
                    chunk=8,
                    on_progress=rounds.append,
                )
            )
            await trio.sleep(100)  # down: retried at 10, 20, 40 s of back-off
            assert follower.verified_size == 0
            peer.unavailable = False
            await trio.sleep(100)
            assert follower.verified_size == 20
            append(ledger, 5)  # picked up by the next poll
            await trio.sleep(11)
            assert follower.verified_size == 25
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert sum(progress.fetched for progress in rounds) == 25
