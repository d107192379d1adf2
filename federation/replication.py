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
else the latest stored checkpoint. Each anchor carries the child's keys up to its size
(ledger/keys.py: which key signs which entry and checkpoint); the keys of the entries held are
kept in the store's meta (`META_KEYS`, as the child's own store keeps them), written by the same
commits as the leaves they derive from. A round, for a new note N from the child:

    idle/fetching --checkpoint--> N.size > anchor.size, and N is not signed by the key in force
                                  at the anchor (the child rotated its key), or the replica is
                                  new (its pinned key may not be the child's first): keying.
                                  Otherwise N's signature and origin are checked with the key in
                                  force at N.size, and:
        N.size == anchor.size:  same root: nothing new (continue any catch-up);
                                another root: EQUIVOCATION.
        N.size <  anchor.size:  a stale or rolled-back child. If N.size <= held, the root at
                                N.size is computed locally: equal: STALE (ignored), else
                                EQUIVOCATION. Beyond held nothing can be decided: STALE.
        N.size >  anchor.size:  anchor.size == 0: fetch from 0. Otherwise checking: ask for
                                the consistency proof anchor -> N.
    keying --key history-->  the child's key hand-over entries below N.size, each with its
                             inclusion proof for N.size (GetKeyHistory). The follower learns a
                             new key only from these entries of the child's own log: each is
                             signed by the key before it, starting from the anchor's keys (a new
                             replica: passing through its pinned key), the new key's possession
                             signature holds, N verifies with the last key, and each entry's
                             proof leads to N's root. They must agree with the hand-overs of the
                             entries held. Then N is classified as above (checking / fetching).
    checking --consistency proof-->  verifies: N becomes the target (fetching);
                                     fails: EQUIVOCATION (the child signed both notes and
                                     cannot show one extends the other).
    fetching --chunk [held, e)-->   hash the leaves, make their subtree nodes (merkle.node_runs)
                                    and compute the root at e locally. e < T: a consistency
                                    proof e -> T must verify against the target's root; e == T:
                                    the root must equal the target's signed root. Every key
                                    hand-over among the leaves must be one the target's keys
                                    name (signed by the key in force, possession verified), and
                                    every one they name in [held, e) must be there. Then ONE
                                    commit: leaves, nodes, the keys of the entries now held,
                                    and either the new target-progress or (e == T) the child's
                                    note as checkpoint, cosigned by the witness when one is
                                    configured. A failed check stores nothing and raises
                                    PeerError: the chunk was tampered with or is not the
                                    child's history; the anchor is not in doubt. A pipelined
                                    driver splits this step (verify_chunk, store_chunk(s),
                                    chunk_stored) to check chunk k+1, against the store plus
                                    chunk k, while chunk k is written; chunks are still
                                    checked before anything of them is stored and committed
                                    in order.
    EQUIVOCATION: both signed notes are kept as evidence (a ReplicationEvent in the store's
                  meta), the replica is marked quarantined (persisted) and an Alert is returned
                  and handed to `on_alert`. A quarantined replica takes no further updates
                  until an operator clears it; what it verified before stays readable.
                  Evidence found outside a round (two notes readers were shown, gossiped to
                  this parent: federation/gossip.py) joins the same list through
                  `record_evidence`; the machine moves to quarantined at its next checkpoint.

Entry signatures are not checked on this path (but a key hand-over's): the child's signed
checkpoint covers every leaf byte through the root, which is recomputed here from the leaves
received. They remain in the leaves for proving one record on its own.

Resuming is reading the store: held = store size, anchor = target or latest checkpoint, status
from meta. Idempotent: repeating a round whose answers are already stored changes nothing.

This module must never import trio or grpc: the transport awaits PeerClient calls only.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import nacl.signing

from federation.interfaces import DEFAULT_BATCH_SIZE, PeerClient
from federation.witness import own_cosignature_time
from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note
from ledger.cosignature import cosign, without_cosignatures
from ledger.entry import parse_leaf
from ledger.errors import (
    EquivocationError,
    PeerError,
    ProofError,
    StoreError,
    UsageError,
    VerificationError,
)
from ledger.keys import META_KEYS, ROTATION_MARKER, LogKeys, handover_of, stored_keys
from ledger.proof import ProvenLeaf, verify_log_checkpoint, verify_log_head
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2

# Meta keys of a replica store. An empty value means "absent" (a store cannot delete a key).
META_TARGET: Final = "replication/target"
META_TARGET_KEYS: Final = "replication/target_keys"
META_STATUS: Final = "replication/status"
META_EVIDENCE_COUNT: Final = "replication/evidence_count"
META_EVIDENCE_PREFIX: Final = "replication/evidence/"
META_COSIGNATURE_SENT: Final = "replication/cosignature_sent"

DEFAULT_CHUNK: Final = 2048  # entries per store commit (and per consistency proof)
DEFAULT_TIMEOUT: Final = 30.0

Status = Literal["idle", "keying", "checking", "fetching", "quarantined"]

# The transitions, as data: (state, event) -> states the event may lead to. Anything else is a
# caller bug (UsageError), never a silent no-op.
_TRANSITIONS: Final[dict[tuple[Status, str], frozenset[Status]]] = {
    ("idle", "checkpoint"): frozenset({"idle", "keying", "checking", "fetching", "quarantined"}),
    ("keying", "checkpoint"): frozenset({"idle", "keying", "checking", "fetching", "quarantined"}),
    ("checking", "checkpoint"): frozenset(
        {"idle", "keying", "checking", "fetching", "quarantined"}
    ),
    ("fetching", "checkpoint"): frozenset({"fetching", "keying", "checking", "quarantined"}),
    ("quarantined", "checkpoint"): frozenset({"quarantined"}),
    ("keying", "keys"): frozenset({"checking", "fetching"}),
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
class NeedKeyHistory:
    """Fetch the child's key hand-over entries proven for `size` (the new note's size)."""

    size: int


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


Step = UpToDate | Stale | NeedKeyHistory | NeedConsistency | NeedEntries | Quarantined


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


class _NodesOver:
    """A NodeReader: some fresh nodes (a chunk's right edge, not stored yet) over the reader
    below."""

    __slots__ = ("_below", "_fresh")

    def __init__(self, fresh: dict[tuple[int, int], bytes], below: merkle.NodeReader) -> None:
        self._fresh = fresh
        self._below = below

    def node(self, level: int, index: int) -> bytes | None:
        found = self._fresh.get((level, index))
        return found if found is not None else self._below.node(level, index)


@dataclass(frozen=True, slots=True)
class VerifiedChunk:
    """A chunk checked against the target and not stored yet: its commit, and the child's
    keys once it is held."""

    batch: CommitBatch
    keys: LogKeys
    fresh: dict[tuple[int, int], bytes]  # its right edge, for checking the chunk after it

    @property
    def end(self) -> int:
        return self.batch.end


# A witness cosigns a checkpoint it verified again once its last cosignature on it is this old,
# even when the log has not grown: readers ask for a cosignature not older than their
# `[witness] max_age_minutes` (60 by default), and a quiet office is no less witnessed.
COSIGN_REFRESH_SECONDS: Final = 15 * 60


@dataclass(frozen=True, slots=True)
class Witness:
    """The key a node cosigns its children's checkpoints with, a clock in Unix seconds, and
    how old its cosignature of an unchanged checkpoint may grow before it cosigns it again."""

    key: nacl.signing.SigningKey
    name: str
    clock: Callable[[], int]
    refresh_seconds: int = COSIGN_REFRESH_SECONDS


# -- the state machine -----------------------------------------------------------------------


@dataclass(slots=True)
class _Anchor:
    size: int
    root: bytes
    note: bytes
    keys: LogKeys  # the child's keys up to `size`


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
        self._pending: _Anchor | None = None  # the note awaiting its consistency proof
        self._keying_note = b""  # the note awaiting the key history it is signed under
        self._state: Status = "idle"
        self._in_flight: deque[VerifiedChunk] = deque()  # verified, not yet stored
        # Set by `record_evidence` from outside a round (readers' gossip): the machine moves to
        # quarantined at its next checkpoint; `quarantined` says so at once.
        self._quarantine_pending = False
        self._evidence_lock = threading.Lock()
        self._load()

    # -- persisted state -------------------------------------------------------------------

    def _load(self) -> None:
        """Rebuilds the machine from the store (a restart is just another load)."""
        held = self.store.size()
        latest = self.store.latest_checkpoint()
        # The keys of the entries held: a replica that never held a hand-over keeps no list.
        self._keys = stored_keys(self.store.meta(META_KEYS), self.public_key)
        if latest is None:
            self._checkpointed = _Anchor(0, merkle.EMPTY_ROOT, b"", self._keys)
        else:
            cp = self._verify_note(latest[1], self._keys)
            if cp.size != latest[0]:
                raise StoreError(f"replica of {self.origin}: checkpoint stored under wrong size")
            self._checkpointed = _Anchor(cp.size, cp.root, latest[1], self._keys.up_to(cp.size))
        target_note = self.store.meta(META_TARGET) or b""
        self._target: _Anchor | None = None
        if target_note:
            raw_keys = self.store.meta(META_TARGET_KEYS) or b""
            keys = LogKeys.decode(raw_keys) if raw_keys else self._keys
            if not keys.extends(self._keys):
                raise StoreError(f"replica of {self.origin}: the catch-up's keys do not extend")
            cp = self._verify_note(target_note, keys)
            self._target = _Anchor(cp.size, cp.root, target_note, keys)
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

    def _verify_note(self, note: bytes, keys: LogKeys) -> Checkpoint:
        return verify_log_checkpoint(note, keys=keys, origin=self.origin)

    # -- what anyone may ask -----------------------------------------------------------------

    @property
    def state(self) -> Status:
        """idle | keying | checking | fetching | quarantined."""
        return "quarantined" if self._quarantine_pending else self._state

    @property
    def keys(self) -> LogKeys:
        """The child's keys as far as they are known: up to the catch-up's target, else up to
        the entries held (every one learnt from a verified hand-over of the child's log)."""
        return self._target.keys if self._target is not None else self._keys

    @property
    def quarantined(self) -> bool:
        return self._state == "quarantined" or self._quarantine_pending

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
        or origin): such a note is nobody's evidence, so nothing changes. A bigger note signed
        by a key the replica does not know yet (or any note, for a new replica) asks for the
        child's key history first (NeedKeyHistory).
        """
        self._check_event("checkpoint")
        if self._quarantine_pending:
            self._quarantine_pending = False
            self._move("checkpoint", "quarantined")
        if self._state == "quarantined":
            return Quarantined(None)
        anchor = self._anchor()
        self._pending, self._keying_note = None, b""
        self._in_flight.clear()  # a new round starts from what is stored
        size = parse_note(note)[0].size
        if size > anchor.size:
            new = self._signed_in_force(note, anchor) if anchor.size else None
            if new is None:
                self._keying_note = note
                self._move("checkpoint", "keying")
                return NeedKeyHistory(size)
        else:
            new = self._verify_note(note, anchor.keys)
        return self._classify("checkpoint", new, note, anchor.keys)

    def _signed_in_force(self, note: bytes, anchor: _Anchor) -> Checkpoint | None:
        """The note's checkpoint if the key in force at the anchor signed it, else None."""
        try:
            return self._verify_note(note, anchor.keys)
        except VerificationError:
            return None

    def receive_key_history(self, handovers: Sequence[ProvenLeaf]) -> Step:
        """The child's key hand-overs proven for the note awaiting them; then that note is
        classified as `receive_checkpoint` would. VerificationError when they do not lead from
        the keys known to the key that signed the note (nothing changes)."""
        self._check_event("keys")
        note, self._keying_note = self._keying_note, b""
        anchor = self._anchor()
        # A new replica trusts its pinned key, wherever it stands in the child's history; one
        # that holds entries trusts the keys of what it holds, which the history must extend.
        pinned = self.public_key if anchor.size == 0 else anchor.keys.first
        head = verify_log_head(note, handovers, pinned_key=pinned, origin=self.origin)
        if anchor.size and not head.keys.extends(anchor.keys):
            raise VerificationError(
                f"the key history of {self.origin} disagrees with the hand-overs of the entries "
                f"verified up to size {anchor.size}"
            )
        return self._classify("keys", head.checkpoint, note, head.keys)

    def _classify(self, event: str, new: Checkpoint, note: bytes, keys: LogKeys) -> Step:
        """What a verified note `new` (the child's keys up to its size: `keys`) calls for."""
        anchor = self._anchor()
        settled: Status = "fetching" if self._target is not None else "idle"
        if new.size == anchor.size:
            if new.root != anchor.root:
                return self._equivocation(
                    event, anchor.note, note, f"two roots for size {new.size}"
                )
            self._move(event, settled)
            if self._target is not None:
                return NeedEntries(self.held, self._target.size)
            return UpToDate(new.size)
        if new.size < anchor.size:
            held = self.held
            if new.size <= held:
                local = merkle.MerkleTree(self.store).root(new.size)
                if local != new.root:
                    return self._equivocation(
                        event,
                        anchor.note,
                        note,
                        f"the root for size {new.size} differs from the one computed from the "
                        f"entries verified under the checkpoint for size {anchor.size}",
                    )
            self._move(event, settled)
            return Stale(new.size, anchor.size)
        if anchor.size == 0:
            self._set_target(new, note, keys)
            self._move(event, "fetching")
            return NeedEntries(self.held, new.size)
        self._pending = _Anchor(new.size, new.root, note, keys)
        self._move(event, "checking")
        return NeedConsistency(anchor.size, new.size)

    def receive_consistency(self, proof: Sequence[bytes]) -> Step:
        """The proof from the anchor to the pending note. Fails: equivocation."""
        self._check_event("consistency")
        new = self._pending
        assert new is not None
        self._pending = None
        anchor = self._anchor()
        try:
            merkle.verify_consistency(anchor.size, new.size, list(proof), anchor.root, new.root)
        except ProofError as exc:
            return self._equivocation(
                "consistency",
                anchor.note,
                new.note,
                f"no valid consistency proof from size {anchor.size} to {new.size}: {exc}",
            )
        self._target = new
        self._move("consistency", "fetching")
        return NeedEntries(self.held, new.size)

    def _set_target(self, new: Checkpoint, note: bytes, keys: LogKeys) -> None:
        # Kept in memory only until the first chunk commits it along with its leaves: until
        # then the store holds nothing that depends on it.
        self._target = _Anchor(new.size, new.root, note, keys)

    def next_chunk(self, chunk: int = DEFAULT_CHUNK) -> ChunkRequest | None:
        """The next range to fetch while catching up, or None when there is none."""
        if chunk < 1:
            raise UsageError("chunk size must be at least 1")
        return self.chunk_at(self.held, chunk)

    def chunk_at(self, start: int, chunk: int = DEFAULT_CHUNK) -> ChunkRequest | None:
        """The range of up to `chunk` leaves from `start` toward the target (None when there is
        none): what a pipelined driver fetches ahead while the chunk before `start` is still
        being verified. Chunks must still be received in order, each starting at `held`."""
        if chunk < 1:
            raise UsageError("chunk size must be at least 1")
        if self._state != "fetching" or self._target is None or start >= self._target.size:
            return None
        return ChunkRequest(start, min(start + chunk, self._target.size), self._target.size)

    def receive_chunk(
        self, start: int, leaves: Sequence[bytes], proof: Sequence[bytes] = ()
    ) -> ChunkApplied:
        """Verifies leaves start.. against the target and commits them in one store commit.

        `proof` is the consistency proof from start + len(leaves) to the target (empty when the
        chunk reaches the target). Raises PeerError when the chunk is not part of the target's
        tree; the store is then unchanged. (`verify_chunk`, `store_chunk`, `chunk_stored` in one.)
        """
        verified = self.verify_chunk(start, leaves, proof)
        try:
            self.store_chunk(verified)
        except BaseException:
            self.drop_unstored()
            raise
        return self.chunk_stored(verified)

    # A pipelined driver splits receive_chunk in three, so that chunk k is written while chunk
    # k+1 is verified: verify_chunk (checks, builds the commit; the chunk is then "in flight"),
    # store_chunk (the one commit; the only method that may run in another thread, beside
    # verify_chunk of the next chunk: it touches nothing but the store), chunk_stored (moves the
    # machine). Chunks in flight are verified against the store plus the chunks in flight
    # before them; they are stored strictly in order, each by its own atomic commit.

    def verify_chunk(
        self, start: int, leaves: Sequence[bytes], proof: Sequence[bytes] = ()
    ) -> VerifiedChunk:
        """Checks leaves start.. against the target (see `receive_chunk`) without storing them;
        `start` is where the chunks held and in flight end. PeerError when the chunk is not
        part of the target's tree (nothing changes)."""
        self._check_event("chunk")
        target = self._target
        assert target is not None
        flight = self._in_flight
        frontier = flight[-1].end if flight else self.store.size()
        if start != frontier:
            raise UsageError(
                f"replica of {self.origin}: chunk starts at {start}, holds and checks {frontier}"
            )
        end = start + len(leaves)
        if not leaves or end > target.size:
            raise PeerError(
                f"asked for entries from {start} toward {target.size}, got {len(leaves)}"
            )
        # merkle.leaf_hash, inlined: a copy of a hash fed the 0x00 prefix, then the leaf, costs
        # less than a 1 KiB b"\x00" + leaf copy per leaf.
        prefixed = hashlib.sha256(b"\x00").copy
        hashes: list[bytes] = []
        append = hashes.append
        for leaf in leaves:
            leaf_sha = prefixed()
            leaf_sha.update(leaf)
            append(leaf_sha.digest())
        reader: merkle.NodeReader = self.store
        for earlier in flight:
            reader = _NodesOver(earlier.fresh, reader)
        nodes = merkle.node_runs(start, hashes, reader)
        # The chunk's right edge is all that its root and the next chunk's checks read.
        fresh = merkle.right_edge(start, end, nodes)
        root = merkle.MerkleTree(_NodesOver(fresh, reader)).root(end)
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
        keys = self._checked_handovers(start, leaves, target.keys)
        meta = {META_KEYS: keys.encode()}
        if end == target.size:
            meta |= {META_TARGET: b"", META_TARGET_KEYS: b""}
        else:
            meta |= {META_TARGET: target.note, META_TARGET_KEYS: target.keys.encode()}
        note: bytes | None = None
        if end == target.size:
            note = target.note
            if self._witness is not None:
                witness = self._witness
                note = cosign(note, witness.key, witness.name, witness.clock())
        verified = VerifiedChunk(
            CommitBatch(start, list(leaves), nodes, checkpoint=note, meta=meta), keys, fresh
        )
        flight.append(verified)
        return verified

    def store_chunk(self, chunk: VerifiedChunk) -> None:
        """Commits a verified chunk: leaves, nodes, keys, target progress or the (cosigned)
        checkpoint, atomically. It must be the oldest in flight. Touches only the store, so it
        may run in a worker thread while `verify_chunk` checks the next chunk."""
        self.store.commit(chunk.batch)

    def store_chunks(self, chunks: Sequence[VerifiedChunk]) -> None:
        """`store_chunk` for consecutive verified chunks (the oldest in flight first) in ONE
        commit: a writer that fell behind catches up with fewer synced writes. All of them are
        stored or none; the meta written is the last chunk's (it supersedes the others')."""
        if len(chunks) == 1:
            self.store.commit(chunks[0].batch)
            return
        batches = [chunk.batch for chunk in chunks]
        for before, after in itertools.pairwise(batches):
            if before.end != after.start or before.checkpoint is not None:
                raise UsageError(f"replica of {self.origin}: chunks to store are not consecutive")
        last = batches[-1]
        # verify_chunk makes runs: joined, they are written a run at a time.
        runs = [batch.nodes for batch in batches if isinstance(batch.nodes, merkle.NodeRuns)]
        nodes: Sequence[tuple[int, int, bytes]] = (
            merkle.NodeRuns.joined(runs)
            if len(runs) == len(batches)
            else [node for batch in batches for node in batch.nodes]
        )
        self.store.commit(
            CommitBatch(
                batches[0].start,
                [leaf for batch in batches for leaf in batch.entries],
                nodes,
                checkpoint=last.checkpoint,
                meta=last.meta,
            )
        )

    def chunk_stored(self, chunk: VerifiedChunk) -> ChunkApplied:
        """Moves the machine past a chunk `store_chunk` committed."""
        flight = self._in_flight
        if not flight or flight[0] is not chunk:
            raise UsageError(f"replica of {self.origin}: chunks must be stored in order")
        flight.popleft()
        batch = chunk.batch
        self._keys = chunk.keys
        if batch.checkpoint is not None:
            target = self._target
            assert target is not None and batch.end == target.size
            self._checkpointed = _Anchor(target.size, target.root, batch.checkpoint, target.keys)
            self._target = None
            self._move("chunk", "idle")
        else:
            self._move("chunk", "fetching")
        if self._on_verified is not None:
            self._on_verified(self.origin, batch.start, batch.end)
        return ChunkApplied(batch.start, batch.end, batch.checkpoint)

    def drop_unstored(self) -> None:
        """Forgets the chunks verified but not stored (a failed write, a cancelled round): the
        next chunk is again the one at `held`."""
        self._in_flight.clear()

    def _checked_handovers(self, start: int, leaves: Sequence[bytes], expected: LogKeys) -> LogKeys:
        """The keys of the entries held once leaves start.. are: the hand-overs among them must
        be exactly those `expected` (the target's keys) names there, each signed by the key in
        force and accepted by the new key. PeerError otherwise."""
        end = start + len(leaves)
        found: list[int] = []
        # Most chunks hold no hand-over: one search over the chunk, then one per leaf if needed
        # (one search over the joined chunk, its copy included, costs less than one per leaf).
        suspects = leaves if ROTATION_MARKER in b"".join(leaves) else ()
        for offset, leaf in enumerate(suspects):
            if ROTATION_MARKER not in leaf:
                continue
            index = start + offset
            try:
                parsed = parse_leaf(leaf)
                handover = handover_of(parsed.decode_body())
                if handover is None:
                    continue
                parsed.verify_signature(expected.key_at(index))
            except VerificationError as exc:
                raise PeerError(f"entry {index} of {self.origin}: {exc}") from exc
            if (handover.index, handover.previous_key, handover.new_key) != (
                index,
                expected.key_at(index),
                expected.key_at(index + 1),
            ):
                raise PeerError(
                    f"entry {index} of {self.origin} hands its key over, but not as the key "
                    f"history its checkpoint for size {self._anchor().size} was verified with"
                )
            found.append(index)
        named = [i for i in expected.handover_indexes() if start <= i < end]
        if found != named:
            raise PeerError(
                f"entries {start}..{end - 1} of {self.origin} hand the key over at {found}, "
                f"where its verified key history says {named}"
            )
        return expected.up_to(end)

    def _equivocation(self, event: str, first: bytes, second: bytes, detail: str) -> Quarantined:
        alert = self._append_evidence(first, second, detail)
        self._move(event, "quarantined")
        if self._on_alert is not None:
            self._on_alert(alert)
        return Quarantined(alert)

    def _append_evidence(self, first: bytes, second: bytes, detail: str) -> Alert:
        """Appends one piece of evidence and marks the replica quarantined, in one commit."""
        with self._evidence_lock:
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
        return alert

    def record_evidence(self, first: bytes, second: bytes, detail: str) -> Alert:
        """Evidence of equivocation found outside a round: two notes the child signed that
        cannot both be its log (readers' gossip, federation/gossip.py; the caller verified both
        signatures). Kept with the evidence this machine collects itself, the replica
        quarantined, `on_alert` told. Safe while a round is under way in another task or
        thread: the machine moves to quarantined at its next checkpoint, and `quarantined`
        (which every driver asks before a round) says so at once."""
        alert = self._append_evidence(first, second, detail)
        if self._state != "quarantined":
            self._quarantine_pending = True
        if self._on_alert is not None:
            self._on_alert(alert)
        return alert

    def clear_quarantine(self) -> None:
        """An operator's decision: follow this log again. The evidence is kept."""
        if self._quarantine_pending:
            self._quarantine_pending = False
            self._state = "quarantined"
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

    def cosignature_refresh_at(self) -> int | None:
        """When (the witness's clock, Unix seconds) `refresh_cosignature` will cosign the
        verified checkpoint again if the log does not grow: `refresh_seconds` after this
        witness's newest line on it. None when there is nothing to refresh (no witness, nothing
        verified) or no line of this witness on it yet (the next round cosigns at once)."""
        witness = self._witness
        anchor = self._checkpointed
        if witness is None or not anchor.size:
            return None
        # The replica's own note, its line written here: its time is read, not verified again
        # (an Ed25519 check per round would cost more than the round's other work).
        last = own_cosignature_time(anchor.note, witness.name)
        return None if last is None else last + witness.refresh_seconds

    def refresh_cosignature(self) -> bool:
        """Cosigns the verified checkpoint again (a new timestamp, the earlier line of this
        witness dropped) when this witness's newest cosignature on it is `refresh_seconds` old,
        and marks it to be sent: the log has not grown, and it is still the largest consistent
        tree this witness has seen of it, which is what the line states. Only between rounds'
        fetches (nothing in flight, no target pending). True when it cosigned."""
        witness = self._witness
        anchor = self._checkpointed
        if (
            witness is None
            or not anchor.size
            or self._target is not None
            or self._in_flight
            or self._state != "idle"
            or self.store.size() != anchor.size
        ):
            return False
        now = witness.clock()
        due = self.cosignature_refresh_at()
        if due is not None and now < due:
            return False
        public_key = bytes(witness.key.verify_key)
        note = cosign(
            without_cosignatures(anchor.note, witness.name, public_key),
            witness.key,
            witness.name,
            now,
        )
        # The same checkpoint again (same size, same root), its note with the new line; the
        # child has not received this one yet.
        self.store.commit(
            CommitBatch(
                anchor.size,
                [],
                [],
                checkpoint=note,
                meta={META_COSIGNATURE_SENT: (anchor.size - 1).to_bytes(8, "big")},
            )
        )
        anchor.note = note
        return True

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
    NeedKeyHistory: "key-history",
    NeedConsistency: "consistency",
    NeedEntries: "fetch",
    Quarantined: "quarantined",
}


async def begin_round(
    follower: ReplicaFollower, client: PeerClient, *, timeout: float = DEFAULT_TIMEOUT
) -> tuple[str, Step]:
    """The first half of a round: the child's checkpoint, then the key history and the
    consistency proof it calls for. Returns the checkpoint's classification (a `Progress.step`
    name) and the step the exchange ended on: NeedEntries when leaves are to be fetched (from
    `follower.next_chunk`), Quarantined on equivocation, else UpToDate / Stale."""
    note = await client.get_checkpoint(follower.origin, timeout=timeout)
    step: Step = follower.receive_checkpoint(note)
    if isinstance(step, NeedKeyHistory):
        handovers = await client.get_key_history(follower.origin, step.size, timeout=timeout)
        step = follower.receive_key_history(handovers)
    name = _STEP_NAMES[type(step)]
    if isinstance(step, NeedConsistency):
        proof = await client.get_consistency_proof(
            follower.origin, step.size1, step.size2, timeout=timeout
        )
        step = follower.receive_consistency(proof)
    return name, step


async def fetch_chunk(
    client: PeerClient,
    origin: str,
    request: ChunkRequest,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[list[bytes], list[bytes]]:
    """The leaves of `request` (maybe fewer, never more) and the consistency proof from their
    end to the target (empty when they reach it). Nothing here is trusted yet: the follower
    checks both in `receive_chunk`."""
    leaves = await client.get_entries(
        origin, request.start, request.end, batch_size=batch_size, timeout=timeout
    )
    if not leaves or len(leaves) > request.end - request.start:
        raise PeerError(
            f"asked for entries {request.start}..{request.end - 1} of {origin}, got {len(leaves)}",
            client.node_id,
        )
    end = request.start + len(leaves)
    proof: list[bytes] = []
    if end < request.target:
        proof = await client.get_consistency_proof(origin, end, request.target, timeout=timeout)
    return leaves, proof


def apply_chunk(
    follower: ReplicaFollower,
    client: PeerClient,
    start: int,
    leaves: Sequence[bytes],
    proof: Sequence[bytes],
) -> ChunkApplied:
    """`follower.receive_chunk`, its PeerError naming the peer that sent the chunk."""
    try:
        return follower.receive_chunk(start, leaves, proof)
    except PeerError as exc:
        raise PeerError(str(exc), client.node_id) from exc


async def finish_round(
    follower: ReplicaFollower, client: PeerClient, *, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    """The last part of a round: sends the child a cosigned checkpoint it has not received
    yet, if there is one (a new one, or the unchanged one cosigned again once the last
    cosignature grew old: `refresh_cosignature`); True when one was sent."""
    follower.refresh_cosignature()
    cosigned = follower.cosignature_to_send()
    if cosigned is None:
        return False
    await client.put_cosignature(cosigned, timeout=timeout)
    follower.cosignature_sent(follower.verified_size)
    return True


async def follow_once(
    follower: ReplicaFollower,
    client: PeerClient,
    *,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    max_entries: int | None = None,
) -> Progress:
    """One replication round: checkpoint, proof, chunks, cosignature. Resumable at any await.

    Raises PeerUnavailable (link down: nothing is lost, call again later), VerificationError
    (a note not signed by the child) or PeerError (a wrong answer); the replica keeps every
    chunk verified before the failure. Equivocation is not an exception here: it comes back
    as `Progress.alert` with the replica quarantined. `max_entries` bounds one round's work.
    Chunks are fetched one after the other; federation/replication_loop.py `follow_round`
    is the same round with the next chunk fetched while the previous one is verified.
    """
    before = follower.verified_size
    if follower.quarantined:
        return Progress(follower.origin, before, before, 0, follower.state, "quarantined")
    name, step = await begin_round(follower, client, timeout=timeout)
    if isinstance(step, Quarantined):
        return quarantined_progress(follower, before, step)
    fetched = 0
    chunks: list[tuple[int, int]] = []
    # Only a note that asks for entries starts fetching: after a stale note the child may no
    # longer hold the entries of a pending catch-up.
    while isinstance(step, NeedEntries) and (request := follower.next_chunk(chunk)) is not None:
        if max_entries is not None and fetched >= max_entries:
            break
        leaves, proof = await fetch_chunk(
            client, follower.origin, request, batch_size=batch_size, timeout=timeout
        )
        applied = apply_chunk(follower, client, request.start, leaves, proof)
        fetched += applied.end - applied.start
        chunks.append((applied.start, applied.end))
    sent = await finish_round(follower, client, timeout=timeout)
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


def quarantined_progress(follower: ReplicaFollower, before: int, step: Quarantined) -> Progress:
    """The Progress of a round that ended in (or found) quarantine."""
    return Progress(
        follower.origin,
        before,
        follower.verified_size,
        0,
        follower.state,
        "quarantined",
        alert=step.alert,
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
    log; it verifies what it fetches, key hand-overs included), and EquivocationError when the
    local log disagrees with what it once signed. The note is checked with the key the local
    log says was in force at its size (`own_public_key` for a log that never rotated).
    """
    note = await parent.get_checkpoint(own_origin, timeout=timeout)
    size = store.size()
    claimed = parse_note(note)[0].size
    if claimed > size:
        # Its key may have been handed over in the entries missing here: the recovery checks
        # the note and everything it fetches with the key history.
        raise UsageError(
            f"the parent holds a checkpoint of this node's log for {claimed} entries but the "
            f"local log has {size}: it was restored from an older backup, or its store lost "
            "entries. Recover the missing entries from the parent before appending"
        )
    keys = stored_keys(store.meta(META_KEYS), own_public_key)
    seen = verify_log_checkpoint(note, keys=keys, origin=own_origin)
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
