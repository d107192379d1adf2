"""Replication of one child's log into a verified replica: the state machine, and its driver.

Theory of operation
-------------------
Rule 1 (after h11): everything that decides what a replica believes lives in this file, in
`ReplicaFollower`. The transport only fetches what the follower asks for and feeds the answers
back; `follow_once` is that loop for any PeerClient.

A replica is a LogStore holding the child's own leaves, the Merkle subtree hashes over them and
the child's own signed checkpoint notes, so `ledger.log.verify_log` with the child's key passes
on it like on the child's log. Two facts hold at every commit, and a kill at any moment leaves
the store at some commit (each is one atomic store commit):

  I1. Every stored checkpoint carries the child's valid signature and its root equals the root
      this store computes from its own leaves at that size. So the stored checkpoints are
      consistent with each other by construction; nothing about them rests on a proof.
  I2. While a catch-up is under way, the store's meta "replication/target" holds the child's
      signed note (size T) the catch-up aims at, and the leaves held (0..held, held < T) are a
      prefix of the tree that note commits to (each chunk was checked by a consistency proof
      from its end to T). With no target, held equals the latest checkpoint's size.

The newest signed note the follower has accepted is its *anchor*: the target while catching up,
else the latest stored checkpoint. A round, for a new note N from the child:

    idle/fetching --checkpoint--> (signature and origin checked with the child's ledger key)
        N.size == anchor.size:  same root: nothing new (continue any catch-up);
                                another root: EQUIVOCATION.
        N.size <  anchor.size:  a stale or rolled-back child. If N.size <= held, the root at
                                N.size is computed locally: equal: STALE (ignored), else
                                EQUIVOCATION. Beyond held nothing can be decided: STALE.
        N.size >  anchor.size:  anchor.size == 0: fetch from 0. Otherwise checking: ask for
                                the consistency proof anchor -> N.
    checking --consistency proof-->  verifies: N becomes the target (fetching);
                                     fails: EQUIVOCATION (the child signed both notes and
                                     cannot show one extends the other).
    fetching --chunk [held, e)-->   hash the leaves, make their subtree nodes (merkle.new_nodes)
                                    and compute the root at e locally. e < T: a consistency
                                    proof e -> T must verify against the target's root; e == T:
                                    the root must equal the target's signed root. Then ONE
                                    commit: leaves, nodes, and either the new target-progress
                                    or (e == T) the child's note as checkpoint, cosigned by the
                                    witness when one is configured. A failed check stores
                                    nothing and raises PeerError: the chunk was tampered with
                                    or is not the child's history; the anchor is not in doubt.
    EQUIVOCATION: both signed notes are kept as evidence (a ReplicationEvent in the store's
                  meta), the replica is marked quarantined (persisted) and an Alert is returned
                  and handed to `on_alert`. A quarantined replica takes no further updates
                  until an operator clears it; what it verified before stays readable.

Entry signatures are not checked on this path: the child's signed checkpoint covers every leaf
byte through the root, which is recomputed here from the leaves received. They remain in the
leaves for proving one record on its own.

Resuming is reading the store: held = store size, anchor = target or latest checkpoint, status
from meta. Idempotent: repeating a round whose answers are already stored changes nothing.

This module must never import trio or grpc: the transport awaits PeerClient calls only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import nacl.signing

from federation.interfaces import PeerClient
from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note, verify_checkpoint
from ledger.cosignature import cosign
from ledger.errors import (
    EquivocationError,
    PeerError,
    ProofError,
    StoreError,
    UsageError,
)
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2

# Meta keys of a replica store. An empty value means "absent" (a store cannot delete a key).
META_TARGET: Final = "replication/target"
META_STATUS: Final = "replication/status"
META_EVIDENCE_COUNT: Final = "replication/evidence_count"
META_EVIDENCE_PREFIX: Final = "replication/evidence/"
META_COSIGNATURE_SENT: Final = "replication/cosignature_sent"

DEFAULT_CHUNK: Final = 2048  # entries per store commit (and per consistency proof)
DEFAULT_TIMEOUT: Final = 30.0

Status = Literal["idle", "checking", "fetching", "quarantined"]

# The transitions, as data: (state, event) -> states the event may lead to. Anything else is a
# caller bug (UsageError), never a silent no-op.
_TRANSITIONS: Final[dict[tuple[Status, str], frozenset[Status]]] = {
    ("idle", "checkpoint"): frozenset({"idle", "checking", "fetching", "quarantined"}),
    ("checking", "checkpoint"): frozenset({"idle", "checking", "fetching", "quarantined"}),
    ("fetching", "checkpoint"): frozenset({"fetching", "checking", "quarantined"}),
    ("quarantined", "checkpoint"): frozenset({"quarantined"}),
    ("checking", "consistency"): frozenset({"fetching", "quarantined"}),
    ("fetching", "chunk"): frozenset({"fetching", "idle"}),
    ("quarantined", "clear"): frozenset({"idle", "fetching"}),
}


# -- what the machine tells its driver -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """An equivocation by a followed node, for operators: both signed notes are the evidence."""

    origin: str
    detail: str
    first: bytes  # the note the replica had accepted
    second: bytes  # the conflicting note
    sequence: int  # position in the replica's evidence list

    def event(self) -> ledger_pb2.ReplicationEvent:
        """The ReplicationEvent recording this alert (kept in the replica, loggable)."""
        second = parse_note(self.second)[0]
        return ledger_pb2.ReplicationEvent(
            kind="equivocation",
            origin=self.origin,
            size=second.size,
            checkpoint=self.first,
            conflicting_checkpoint=self.second,
            detail=self.detail,
        )


@dataclass(frozen=True, slots=True)
class UpToDate:
    """Nothing to fetch: the replica holds everything the note commits to."""

    size: int


@dataclass(frozen=True, slots=True)
class Stale:
    """The child showed an older checkpoint than the anchor, consistent as far as is known."""

    size: int
    anchor_size: int


@dataclass(frozen=True, slots=True)
class NeedConsistency:
    """Fetch the consistency proof from `size1` (the anchor) to `size2` (the new note)."""

    size1: int
    size2: int


@dataclass(frozen=True, slots=True)
class NeedEntries:
    """Fetch leaves from `start` (up to `target`), in chunks; see `ReplicaFollower.next_chunk`."""

    start: int
    target: int


@dataclass(frozen=True, slots=True)
class Quarantined:
    """The replica is quarantined; `alert` is the newest evidence (None if it was already)."""

    alert: Alert | None


Step = UpToDate | Stale | NeedConsistency | NeedEntries | Quarantined


@dataclass(frozen=True, slots=True)
class ChunkRequest:
    """Leaves start..end-1 to fetch, and the proof (end -> target) to fetch with them, if any."""

    start: int
    end: int
    target: int

    @property
    def needs_proof(self) -> bool:
        return self.end < self.target


@dataclass(frozen=True, slots=True)
class ChunkApplied:
    """A verified chunk is committed; `checkpoint` is set when it completed the target."""

    start: int
    end: int
    checkpoint: bytes | None


@dataclass(frozen=True, slots=True)
class Witness:
    """The key a node cosigns its children's checkpoints with, and a clock in Unix seconds."""

    key: nacl.signing.SigningKey
    name: str
    clock: Callable[[], int]


# -- the state machine -----------------------------------------------------------------------


@dataclass(slots=True)
class _Anchor:
    size: int
    root: bytes
    note: bytes


class ReplicaFollower:
    """The replication state machine for one followed log (one child origin) over its store.

    Not thread-safe: one driver at a time per replica. Readers may read the store concurrently
    (the store is thread-safe and only ever moves from one verified commit to the next).
    """

    def __init__(
        self,
        store: LogStore,
        origin: str,
        public_key: bytes,
        *,
        witness: Witness | None = None,
        on_verified: Callable[[str, int, int], None] | None = None,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self.store = store
        self.origin = origin
        self.public_key = public_key
        self._witness = witness
        self._on_verified = on_verified
        self._on_alert = on_alert
        self._pending: Checkpoint | None = None  # the note awaiting its consistency proof
        self._pending_note = b""
        self._state: Status = "idle"
        self._load()

    # -- persisted state -------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuilds the machine from the store (a restart is just another load)."""
        held = self.store.size()
        latest = self.store.latest_checkpoint()
        if latest is None:
            self._checkpointed = _Anchor(0, merkle.EMPTY_ROOT, b"")
        else:
            cp = self._verify_note(latest[1])
            if cp.size != latest[0]:
                raise StoreError(f"replica of {self.origin}: checkpoint stored under wrong size")
            self._checkpointed = _Anchor(cp.size, cp.root, latest[1])
        target_note = self.store.meta(META_TARGET) or b""
        self._target: _Anchor | None = None
        if target_note:
            cp = self._verify_note(target_note)
            self._target = _Anchor(cp.size, cp.root, target_note)
        if self._target is not None and self._target.size <= held:
            self._target = None  # completed by the same commit that stored its checkpoint
        if self._target is None and held != self._checkpointed.size:
            raise StoreError(
                f"replica of {self.origin} holds {held} entries but its latest checkpoint "
                f"covers {self._checkpointed.size} and no catch-up is recorded"
            )
        if (self.store.meta(META_STATUS) or b"") == b"quarantined":
            self._state = "quarantined"
        else:
            self._state = "fetching" if self._target is not None else "idle"

    def _verify_note(self, note: bytes) -> Checkpoint:
        return verify_checkpoint(note, self.public_key, self.origin, self.origin)

    # -- what anyone may ask -----------------------------------------------------------------

    @property
    def state(self) -> Status:
        """idle | checking | fetching | quarantined."""
        return self._state

    @property
    def quarantined(self) -> bool:
        return self._state == "quarantined"

    @property
    def held(self) -> int:
        """Leaves stored (verified as a prefix of the anchor, maybe beyond the checkpoint)."""
        return self.store.size()

    @property
    def verified_size(self) -> int:
        """Size of the latest stored (fully verified) checkpoint."""
        return self._checkpointed.size

    @property
    def verified_note(self) -> bytes:
        """The latest stored checkpoint note (b"" if none yet)."""
        return self._checkpointed.note

    @property
    def target_size(self) -> int:
        """The size being caught up to (the verified size when idle)."""
        return self._target.size if self._target is not None else self._checkpointed.size

    def _anchor(self) -> _Anchor:
        return self._target if self._target is not None else self._checkpointed

    def evidence(self) -> list[Alert]:
        """Every equivocation recorded against this log, oldest first."""
        count = int.from_bytes(self.store.meta(META_EVIDENCE_COUNT) or b"", "big")
        alerts = []
        for sequence in range(count):
            raw = self.store.meta(f"{META_EVIDENCE_PREFIX}{sequence}") or b""
            event = ledger_pb2.ReplicationEvent()
            event.ParseFromString(raw)
            alerts.append(
                Alert(
                    origin=event.origin,
                    detail=event.detail,
                    first=event.checkpoint,
                    second=event.conflicting_checkpoint,
                    sequence=sequence,
                )
            )
        return alerts

    # -- transitions -------------------------------------------------------------------------

    def _move(self, event: str, to: Status) -> None:
        allowed = _TRANSITIONS.get((self._state, event))
        if allowed is None:
            raise UsageError(f"replica of {self.origin}: event {event!r} in state {self._state}")
        assert to in allowed, (self._state, event, to)
        self._state = to

    def _check_event(self, event: str) -> None:
        if (self._state, event) not in _TRANSITIONS:
            raise UsageError(f"replica of {self.origin}: event {event!r} in state {self._state}")

    def receive_checkpoint(self, note: bytes) -> Step:
        """The child's latest signed note: decides what to fetch, or detects equivocation.

        Raises VerificationError for a note that is not the child's (bad signature, wrong key
        or origin): such a note is nobody's evidence, so nothing changes.
        """
        self._check_event("checkpoint")
        if self._state == "quarantined":
            return Quarantined(None)
        new = self._verify_note(note)
        anchor = self._anchor()
        self._pending, self._pending_note = None, b""
        settled: Status = "fetching" if self._target is not None else "idle"
        if new.size == anchor.size:
            if new.root != anchor.root:
                return self._equivocation(
                    "checkpoint", anchor.note, note, f"two roots for size {new.size}"
                )
            self._move("checkpoint", settled)
            if self._target is not None:
                return NeedEntries(self.held, self._target.size)
            return UpToDate(new.size)
        if new.size < anchor.size:
            held = self.held
            if new.size <= held:
                local = merkle.MerkleTree(self.store).root(new.size)
                if local != new.root:
                    return self._equivocation(
                        "checkpoint",
                        anchor.note,
                        note,
                        f"the root for size {new.size} differs from the one computed from the "
                        f"entries verified under the checkpoint for size {anchor.size}",
                    )
            self._move("checkpoint", settled)
            return Stale(new.size, anchor.size)
        if anchor.size == 0:
            self._set_target(new, note)
            self._move("checkpoint", "fetching")
            return NeedEntries(self.held, new.size)
        self._pending, self._pending_note = new, note
        self._move("checkpoint", "checking")
        return NeedConsistency(anchor.size, new.size)

    def receive_consistency(self, proof: Sequence[bytes]) -> Step:
        """The proof from the anchor to the pending note. Fails: equivocation."""
        self._check_event("consistency")
        new, note = self._pending, self._pending_note
        assert new is not None
        self._pending, self._pending_note = None, b""
        anchor = self._anchor()
        try:
            merkle.verify_consistency(anchor.size, new.size, list(proof), anchor.root, new.root)
        except ProofError as exc:
            return self._equivocation(
                "consistency",
                anchor.note,
                note,
                f"no valid consistency proof from size {anchor.size} to {new.size}: {exc}",
            )
        self._set_target(new, note)
        self._move("consistency", "fetching")
        return NeedEntries(self.held, new.size)

    def _set_target(self, new: Checkpoint, note: bytes) -> None:
        # Kept in memory only until the first chunk commits it along with its leaves: until
        # then the store holds nothing that depends on it.
        self._target = _Anchor(new.size, new.root, note)

    def next_chunk(self, chunk: int = DEFAULT_CHUNK) -> ChunkRequest | None:
        """The next range to fetch while catching up, or None when there is none."""
        if chunk < 1:
            raise UsageError("chunk size must be at least 1")
        if self._state != "fetching" or self._target is None:
            return None
        start = self.held
        return ChunkRequest(start, min(start + chunk, self._target.size), self._target.size)

    def receive_chunk(
        self, start: int, leaves: Sequence[bytes], proof: Sequence[bytes] = ()
    ) -> ChunkApplied:
        """Verifies leaves start.. against the target and commits them in one store commit.

        `proof` is the consistency proof from start + len(leaves) to the target (empty when the
        chunk reaches the target). Raises PeerError when the chunk is not part of the target's
        tree; the store is then unchanged.
        """
        self._check_event("chunk")
        target = self._target
        assert target is not None
        held = self.store.size()
        if start != held:
            raise UsageError(f"replica of {self.origin}: chunk starts at {start}, holds {held}")
        end = start + len(leaves)
        if not leaves or end > target.size:
            raise PeerError(
                f"asked for entries from {start} toward {target.size}, got {len(leaves)}"
            )
        hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
        nodes = merkle.new_nodes(start, hashes, self.store)
        root = merkle.MerkleTree(merkle.PendingNodes(self.store, nodes)).root(end)
        try:
            if end == target.size:
                if root != target.root:
                    raise ProofError(f"entries 0..{end - 1} do not hash to the signed root")
            else:
                merkle.verify_consistency(end, target.size, list(proof), root, target.root)
        except ProofError as exc:
            raise PeerError(
                f"entries {start}..{end - 1} of {self.origin} are not part of its checkpoint "
                f"for size {target.size}: {exc}"
            ) from exc
        meta = {META_TARGET: b""} if end == target.size else {META_TARGET: target.note}
        note: bytes | None = None
        if end == target.size:
            note = target.note
            if self._witness is not None:
                witness = self._witness
                note = cosign(note, witness.key, witness.name, witness.clock())
        self.store.commit(CommitBatch(start, list(leaves), nodes, checkpoint=note, meta=meta))
        if note is not None:
            self._checkpointed = _Anchor(target.size, target.root, note)
            self._target = None
            self._move("chunk", "idle")
        else:
            self._move("chunk", "fetching")
        if self._on_verified is not None:
            self._on_verified(self.origin, start, end)
        return ChunkApplied(start, end, note)

    def _equivocation(self, event: str, first: bytes, second: bytes, detail: str) -> Quarantined:
        count = int.from_bytes(self.store.meta(META_EVIDENCE_COUNT) or b"", "big")
        alert = Alert(self.origin, detail, first, second, count)
        self.store.commit(
            CommitBatch(
                self.store.size(),
                [],
                [],
                meta={
                    f"{META_EVIDENCE_PREFIX}{count}": alert.event().SerializeToString(
                        deterministic=True
                    ),
                    META_EVIDENCE_COUNT: (count + 1).to_bytes(8, "big"),
                    META_STATUS: b"quarantined",
                },
            )
        )
        self._move(event, "quarantined")
        if self._on_alert is not None:
            self._on_alert(alert)
        return Quarantined(alert)

    def clear_quarantine(self) -> None:
        """An operator's decision: follow this log again. The evidence is kept."""
        self._check_event("clear")
        self.store.commit(CommitBatch(self.store.size(), [], [], meta={META_STATUS: b"following"}))
        self._move("clear", "fetching" if self._target is not None else "idle")

    # -- cosignatures ------------------------------------------------------------------------

    def cosignature_to_send(self) -> bytes | None:
        """The stored cosigned checkpoint not yet delivered to the child, if any."""
        if self._witness is None or not self._checkpointed.size:
            return None
        sent = int.from_bytes(self.store.meta(META_COSIGNATURE_SENT) or b"", "big")
        return self._checkpointed.note if sent < self._checkpointed.size else None

    def cosignature_sent(self, size: int) -> None:
        """Records that the child received the cosignature of its checkpoint for `size`."""
        self.store.commit(
            CommitBatch(
                self.store.size(), [], [], meta={META_COSIGNATURE_SENT: size.to_bytes(8, "big")}
            )
        )


# -- the driver ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    """What one round did for one followed log."""

    origin: str
    before: int  # verified checkpoint size at the start of the round
    after: int  # ... and at its end
    fetched: int  # leaves stored this round
    state: Status
    step: str  # the classification of the child's checkpoint: "up-to-date", "stale", ...
    alert: Alert | None = None
    cosignature_sent: bool = False
    chunks: list[tuple[int, int]] = field(default_factory=list)


_STEP_NAMES: Final = {
    UpToDate: "up-to-date",
    Stale: "stale",
    NeedConsistency: "consistency",
    NeedEntries: "fetch",
    Quarantined: "quarantined",
}


async def follow_once(
    follower: ReplicaFollower,
    client: PeerClient,
    *,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int = 500,
    timeout: float = DEFAULT_TIMEOUT,
    max_entries: int | None = None,
) -> Progress:
    """One replication round: checkpoint, proof, chunks, cosignature. Resumable at any await.

    Raises PeerUnavailable (link down: nothing is lost, call again later), VerificationError
    (a note not signed by the child) or PeerError (a wrong answer); the replica keeps every
    chunk verified before the failure. Equivocation is not an exception here: it comes back
    as `Progress.alert` with the replica quarantined. `max_entries` bounds one round's work.
    """
    before = follower.verified_size
    if follower.quarantined:
        return Progress(follower.origin, before, before, 0, follower.state, "quarantined")
    note = await client.get_checkpoint(follower.origin, timeout=timeout)
    step: Step = follower.receive_checkpoint(note)
    name = _STEP_NAMES[type(step)]
    if isinstance(step, NeedConsistency):
        proof = await client.get_consistency_proof(
            follower.origin, step.size1, step.size2, timeout=timeout
        )
        step = follower.receive_consistency(proof)
    if isinstance(step, Quarantined):
        return Progress(
            follower.origin,
            before,
            follower.verified_size,
            0,
            follower.state,
            "quarantined",
            alert=step.alert,
        )
    fetched = 0
    chunks: list[tuple[int, int]] = []
    # Only a note that asks for entries starts fetching: after a stale note the child may no
    # longer hold the entries of a pending catch-up.
    while isinstance(step, NeedEntries) and (request := follower.next_chunk(chunk)) is not None:
        if max_entries is not None and fetched >= max_entries:
            break
        leaves = await client.get_entries(
            follower.origin, request.start, request.end, batch_size=batch_size, timeout=timeout
        )
        if not leaves or len(leaves) > request.end - request.start:
            raise PeerError(
                f"asked for entries {request.start}..{request.end - 1} of {follower.origin}, "
                f"got {len(leaves)}",
                client.node_id,
            )
        end = request.start + len(leaves)
        proof = []
        if end < request.target:
            proof = await client.get_consistency_proof(
                follower.origin, end, request.target, timeout=timeout
            )
        try:
            applied = follower.receive_chunk(request.start, leaves, proof)
        except PeerError as exc:
            raise PeerError(str(exc), client.node_id) from exc
        fetched += applied.end - applied.start
        chunks.append((applied.start, applied.end))
    sent = False
    cosigned = follower.cosignature_to_send()
    if cosigned is not None:
        await client.put_cosignature(cosigned, timeout=timeout)
        follower.cosignature_sent(follower.verified_size)
        sent = True
    return Progress(
        follower.origin,
        before,
        follower.verified_size,
        fetched,
        follower.state,
        name,
        cosignature_sent=sent,
        chunks=chunks,
    )


# -- a node restored from an old backup --------------------------------------------------------


async def resync_own_log(
    store: LogStore,
    own_origin: str,
    own_public_key: bytes,
    parent: PeerClient,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Checkpoint:
    """Checks the own log against the checkpoint the parent holds for it, before appending.

    Returns the parent's (verified) checkpoint when the local log holds everything it covers.
    Raises UsageError when the parent has seen more entries than the log holds (restored from
    an old backup: run `recover_from_parent` before appending, or the node would fork its own
    log), and EquivocationError when the local log disagrees with what it once signed.
    """
    note = await parent.get_checkpoint(own_origin, timeout=timeout)
    seen = verify_checkpoint(note, own_public_key, own_origin, own_origin)
    size = store.size()
    if seen.size > size:
        raise UsageError(
            f"the parent holds a checkpoint of this node's log for {seen.size} entries but the "
            f"local log has {size}: it was restored from an older backup, or its store lost "
            "entries. Recover the missing entries from the parent before appending"
        )
    if merkle.MerkleTree(store).root(seen.size) != seen.root:
        local = store.latest_checkpoint()
        raise EquivocationError(
            f"the local log's first {seen.size} entries are not the ones this node signed "
            "and its parent holds: the log has forked",
            first=note,
            second=local[1] if local else b"",
        )
    return seen


async def recover_from_parent(
    store: LogStore,
    own_origin: str,
    own_public_key: bytes,
    parent: PeerClient,
    *,
    chunk: int = DEFAULT_CHUNK,
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """Fetches back the own log's entries the parent holds beyond the local store; returns
    how many were recovered.

    The own log is followed from the parent's replica exactly as a replica follows a child:
    the leaves are this node's own signed leaves, checked chunk by chunk against the note the
    parent holds, and committed with their tree nodes and, at the end, that note. Run it before
    opening the Ledger on `store` (which refuses a half-recovered store). Resumable.
    """
    # No witness: the follower never cosigns, so nothing is ever sent to the parent.
    follower = ReplicaFollower(store, own_origin, own_public_key)
    before = store.size()
    progress = await follow_once(follower, parent, chunk=chunk, timeout=timeout)
    if progress.alert is not None:
        raise EquivocationError(
            f"recovering {own_origin} from its parent: {progress.alert.detail}",
            first=progress.alert.first,
            second=progress.alert.second,
        )
    return store.size() - before
