"""The ledger: one node's signed, append-only log over a LogStore.

Theory of operation
-------------------
Appending stamps each EntryBody with the log's origin, its index and the node's clock (never
earlier than the entry before it), serialises it once, signs those bytes, and wraps body and
signature into the leaf. One group commit writes, in a single atomic and durable store commit:
the leaves, the Merkle subtree hashes they complete, and a checkpoint (C2SP signed note) for the
new size. So every acknowledged entry is covered by a signed checkpoint, and a log whose entries
extend past its latest checkpoint was written by someone other than this code. With a
high-water mark (`ledger/mark.py`), the new note is also written to the mark, durably, before
anyone hears back: a store that later holds fewer entries than the mark has lost acknowledged
ones, and opening it raises EntriesLost instead of writing on top of the gap.

Callers in several threads may append at once: the first to take the commit lock commits every
pending request in one batch (leader/follower group commit); the others find their work done.

`rotate_key` hands the log over to a new key (ledger/keys.py): the hand-over entry, signed by the
key in force and by the new key's possession signature, is committed alone, with the checkpoint
for its size signed by the new key and the log's key list in the store's meta, in one atomic
commit; from then on this Ledger signs with the new key. Entries waiting for the commit lock are
committed under the old key first.

`verify_log` re-derives everything from the leaves alone: signatures (with the key each entry's
place calls for, following the hand-overs from the first key), indexes, origins, clock order,
every stored tree node and every checkpoint's root. Nothing stored is trusted.

This module must never import a storage engine, a network stack or an event loop.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import nacl.signing

from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note, sign_checkpoint, verify_checkpoint
from ledger.entry import encode_leaf, parse_leaf, sign_body
from ledger.errors import (
    EntriesLost,
    EquivocationError,
    InputError,
    StoreError,
    TamperError,
    TooLarge,
    UsageError,
    VerificationError,
)
from ledger.keys import (
    KEY_ROTATION,
    META_KEYS,
    ROTATION_MARKER,
    Handover,
    LogKeys,
    handover_of,
    sign_possession,
    stored_keys,
)
from ledger.mark import HighWaterMark, MarkFile
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2

log = logging.getLogger(__name__)

# Batches at least this large are signed on two threads.
PARALLEL_SIGN_MIN = 64
# The largest entry body the log takes, stamped (origin, index, time) and encoded. Records are
# kept well below it by their own limits (node/records/limits.py); this is the log's own bound,
# so that any entry fits in one replication message (federation/service.py MAX_BATCH_BYTES).
MAX_ENTRY_BYTES = 1024 * 1024
# What stamping may add to a body: the origin (tag, length, text), the index and the time
# (tag and a varint of at most 10 bytes each).
_STAMP_ROOM = 1 + 2 + 1 + 10 + 1 + 10


def now_ms() -> int:
    """Wall-clock time in Unix milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Appended:
    """What an append returns once the entry is durable."""

    index: int
    leaf_hash: bytes
    leaf: bytes
    body: ledger_pb2.EntryBody


class _Request:
    __slots__ = ("bodies", "error", "result")

    def __init__(self, bodies: Sequence[ledger_pb2.EntryBody]) -> None:
        self.bodies = bodies
        self.result: list[Appended] | None = None
        self.error: BaseException | None = None


class Ledger:
    """A node's own log: append, read, prove. Thread-safe; one Ledger per store.

    `signing_key` must be the key in force: the last key the log was handed over to (the only
    key, for a log that never rotated). `keys` are the log's keys across its rotations.
    """

    def __init__(
        self,
        store: LogStore,
        signing_key: nacl.signing.SigningKey,
        origin: str,
        *,
        clock: Callable[[], int] = now_ms,
        mark: MarkFile | None = None,
    ) -> None:
        """`mark`, when given, is checked against the store here (EntriesLost when the store
        holds less than it covers), kept current by every commit, and closed by `close`."""
        if not origin or "\n" in origin:
            raise InputError("a log origin is one non-empty line")
        self.store = store
        self.origin = origin
        self._use_key(signing_key)
        self._clock = clock
        self._commit_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_Request] = []
        self._signer: ThreadPoolExecutor | None = None
        self.keys = stored_keys(store.meta(META_KEYS), self.public_key)
        self._mark = mark
        self._halted: str | None = None
        self._recover()

    def _use_key(self, signing_key: nacl.signing.SigningKey) -> None:
        self._key = signing_key
        # libsodium's 64-byte secret key (seed || public key), for the fast signing path.
        self._secret = bytes(signing_key) + bytes(signing_key.verify_key)
        self.public_key = bytes(signing_key.verify_key)

    def _recover(self) -> None:
        """Checks the store is where a finished commit left it (its latest checkpoint signed by
        the key in force over the stored tree, and at least what the high-water mark covers),
        brings the mark up to the store, and restores the clock floor."""
        size = self.store.size()
        latest = self.store.latest_checkpoint()
        if size and (latest is None or latest[0] != size):
            covered = latest[0] if latest else 0
            raise StoreError(
                f"log has {size} entries but its latest checkpoint covers {covered}: "
                "run `cctns ledger verify`"
            )
        if self.keys.current != self.public_key:
            raise UsageError(
                f"the log {self.origin} is signed by key {key_fingerprint(self.keys.current)} "
                f"now, not by the key given ({key_fingerprint(self.public_key)})"
            )
        if latest is not None:
            self._check_note(latest[1], size, "the store's latest checkpoint")
        if self._mark is not None:
            self._check_mark(self._mark, size, latest)
        self._last_ms = 0
        if size:
            self._last_ms = parse_leaf(self.store.entry(size - 1)).decode_body().written_at_ms

    def _check_note(self, note: bytes, size: int, what: str) -> Checkpoint:
        """The checkpoint of `note`, once it is this log's, signed by the key in force at its
        size (a rotation changes the key), and its root is the stored tree's at its size
        (`size` is the store's)."""
        try:
            claimed = parse_note(note)[0].size
            key = self.keys.key_at(claimed)
            checkpoint = verify_checkpoint(note, key, self.origin, self.origin)
        except VerificationError as exc:
            raise TamperError(
                f"{what} is not signed by this log's key: {exc}", index=max(size - 1, 0)
            ) from exc
        if checkpoint.size > size:
            raise EntriesLost(size, checkpoint.size)
        if merkle.MerkleTree(self.store).root(checkpoint.size) != checkpoint.root:
            latest = self.store.latest_checkpoint()
            if latest is not None and latest[1] == note:
                raise TamperError(
                    f"{what} does not match the stored tree: the store is damaged; run "
                    "`cctns ledger verify`",
                    index=max(size - 1, 0),
                )
            raise EquivocationError(
                f"the log's first {checkpoint.size} entries are not the ones {what} signed: "
                "the store holds another history; run `cctns ledger verify`",
                first=note,
                second=latest[1] if latest else b"",
            )
        return checkpoint

    def _check_mark(self, mark: MarkFile, size: int, latest: tuple[int, bytes] | None) -> None:
        held = mark.read()
        if held is not None and (latest is None or held.note != latest[1]):
            self._check_note(held.note, size, "the high-water mark")
        if latest is not None and (held is None or held.size < latest[0]):
            # A store ahead of its mark: recovered from the parent, or written before marks.
            mark.write(HighWaterMark(*latest))

    # -- writing -------------------------------------------------------------------------------

    def append(self, body: ledger_pb2.EntryBody) -> Appended:
        """Appends one entry; returns once it is durable. `body` is stamped in place."""
        return self.append_many([body])[0]

    def append_many(self, bodies: Sequence[ledger_pb2.EntryBody]) -> list[Appended]:
        """Appends entries in order in one group commit (possibly with other callers' entries).
        TooLarge, before anything is appended, when a body would exceed MAX_ENTRY_BYTES."""
        self._check_sizes(bodies)
        request = _Request(bodies)
        with self._pending_lock:
            self._pending.append(request)
        with self._commit_lock:
            if request.result is None and request.error is None:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._commit(batch)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _check_sizes(self, bodies: Sequence[ledger_pb2.EntryBody]) -> None:
        room = _STAMP_ROOM + len(self.origin.encode("utf-8"))
        for position, body in enumerate(bodies):
            encoded = body.ByteSize() + room
            if encoded > MAX_ENTRY_BYTES:
                what = f"entry {position + 1} of {len(bodies)}" if len(bodies) > 1 else "the entry"
                raise TooLarge(
                    f"{what} is {encoded:,} bytes with its stamp: the ledger takes at most "
                    f"{MAX_ENTRY_BYTES:,}; nothing was written"
                )

    def halt(self, reason: str) -> None:
        """Stops taking entries (the log can no longer be trusted: a scrub found damage, the
        mark could not be written); every later append raises StoreError giving `reason`."""
        with self._commit_lock:
            self._halted = self._halted or reason

    @property
    def halted(self) -> str | None:
        """Why the log takes no more entries, or None while it does."""
        return self._halted

    def rotate_key(
        self, new_key: nacl.signing.SigningKey, *, officer_id: str, note: str = ""
    ) -> Appended:
        """Hands the log over to `new_key`; returns the hand-over entry once it is durable.

        The entry is signed by the key in force and carries the new key's possession signature;
        the checkpoint committed with it, and every entry and checkpoint after it, are signed
        by `new_key`. InputError when the log has been signed by `new_key` before.
        """
        new_public = bytes(new_key.verify_key)
        if new_public in self.keys:
            raise InputError("the new key has signed this log before: a hand-over needs a new key")
        event = ledger_pb2.NodeEvent(
            kind=KEY_ROTATION, public_key=new_public, previous_key=self.public_key, note=note
        )
        request = _Request([ledger_pb2.EntryBody(officer_id=officer_id, node_event=event)])
        with self._commit_lock:
            # Entries already waiting were asked for under the old key: they go first.
            with self._pending_lock:
                waiting, self._pending = self._pending, []
            if waiting:
                self._commit(waiting)
            self._commit([request], next_key=new_key)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result[0]

    def _commit(
        self, requests: list[_Request], next_key: nacl.signing.SigningKey | None = None
    ) -> None:
        """One group commit. With `next_key`, the last body is a hand-over to it: it gets its
        possession signature, and the checkpoint and everything after are signed by it."""
        try:
            if self._halted is not None:
                raise StoreError(f"this node takes no more entries: {self._halted}")
            start = self.store.size()
            stamp = max(self._clock(), self._last_ms)
            bodies = [body for request in requests for body in request.bodies]
            raws: list[bytes] = []
            for offset, body in enumerate(bodies):
                body.origin = self.origin
                body.index = start + offset
                body.written_at_ms = stamp
                raws.append(body.SerializeToString(deterministic=True))
            keys, meta, signer = self.keys, {}, self._key
            if next_key is not None:
                last = bodies[-1]
                last.node_event.possession = sign_possession(
                    next_key, self.origin, last.index, self.public_key
                )
                raws[-1] = last.SerializeToString(deterministic=True)
                keys = keys.after(
                    Handover(last.index, self.public_key, bytes(next_key.verify_key), stamp)
                )
                meta, signer = {META_KEYS: keys.encode()}, next_key
            signatures = self._sign_all(raws)
            leaves = [encode_leaf(raw, sig) for raw, sig in zip(raws, signatures, strict=True)]
            hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
            end = start + len(leaves)
            nodes = merkle.node_runs(start, hashes, self.store)
            root = merkle.MerkleTree(merkle.PendingNodes(self.store, nodes)).root(end)
            note = sign_checkpoint(Checkpoint(self.origin, end, root), signer)
            self.store.commit(
                CommitBatch(start=start, entries=leaves, nodes=nodes, checkpoint=note, meta=meta)
            )
            self._last_ms = stamp
            if next_key is not None:
                self._use_key(next_key)
                self.keys = keys
        except BaseException as exc:
            # Every caller in the batch, the leader included, sees the failure; nothing was
            # acknowledged, and the store's commit is all-or-nothing.
            for request in requests:
                request.error = exc
            return
        if self._mark is not None:
            try:
                self._mark.write(HighWaterMark(end, note))
            except StoreError as exc:
                # The entries are durable, so they are acknowledged; but a mark that lags
                # could hide their later loss: nothing more until a reopen rewrites the mark.
                log.error("%s: the log takes no more entries", exc)
                self._halted = "its high-water mark could not be written"
        position = 0
        for request in requests:
            count = len(request.bodies)
            request.result = [
                Appended(start + i, hashes[i], leaves[i], bodies[i])
                for i in range(position, position + count)
            ]
            position += count

    def _sign_all(self, raws: list[bytes]) -> list[bytes]:
        """Signs each body. Large batches are split with one helper thread: libsodium runs
        without the GIL, so the two halves sign on two cores."""
        if len(raws) < PARALLEL_SIGN_MIN:
            return [sign_body(raw, self._secret) for raw in raws]
        if self._signer is None:
            self._signer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sign")
        half = len(raws) // 2
        secret = self._secret
        second = self._signer.submit(lambda: [sign_body(raw, secret) for raw in raws[half:]])
        first = [sign_body(raw, secret) for raw in raws[:half]]
        return first + second.result()

    def close(self) -> None:
        """Stops the signing helper thread and closes the mark file (the store is closed by
        its owner)."""
        if self._signer is not None:
            self._signer.shutdown(wait=True)
            self._signer = None
        if self._mark is not None:
            self._mark.close()

    # -- reading -------------------------------------------------------------------------------

    def size(self) -> int:
        """Entries in the log."""
        return self.store.size()

    def leaf(self, index: int) -> bytes:
        """The exact stored leaf bytes of entry `index`."""
        self._check_index(index)
        return self.store.entry(index)

    def body(self, index: int) -> ledger_pb2.EntryBody:
        """The decoded body of entry `index`."""
        return parse_leaf(self.leaf(index)).decode_body()

    def bodies(
        self, start: int = 0, end: int | None = None
    ) -> Iterator[tuple[int, ledger_pb2.EntryBody]]:
        """(index, body) for entries start..end-1."""
        stop = self.size() if end is None else end
        for offset, raw in enumerate(self.store.entries(start, stop)):
            yield start + offset, parse_leaf(raw).decode_body()

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint note (signing one for the empty log if none is stored)."""
        latest = self.store.latest_checkpoint()
        if latest is not None:
            return latest[1]
        return sign_checkpoint(Checkpoint(self.origin, 0, merkle.EMPTY_ROOT), self._key)

    def root(self, size: int | None = None) -> bytes:
        """The Merkle root of the first `size` entries (all by default)."""
        return merkle.MerkleTree(self.store).root(self._size_arg(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of entry `index` in the tree of `size` entries."""
        tree_size = self._size_arg(size)
        if not 0 <= index < tree_size:
            raise InputError(f"entry {index} is not in a tree of size {tree_size}")
        return merkle.MerkleTree(self.store).inclusion_proof(index, tree_size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from tree size1 to size2."""
        second = self._size_arg(size2)
        if not 0 <= size1 <= second:
            raise InputError(f"no consistency proof from size {size1} to {second}")
        return merkle.MerkleTree(self.store).consistency_proof(size1, second)

    def _size_arg(self, size: int | None) -> int:
        current = self.size()
        if size is None:
            return current
        if not 0 <= size <= current:
            raise InputError(f"tree size {size} is outside 0..{current}")
        return size

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.size():
            raise InputError(f"no entry {index}: the log has {self.size()} entries")


# -- verification ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `verify_log` checked."""

    size: int
    checkpoints: int
    root: bytes
    keys: LogKeys  # the first key, then one era per hand-over met


def verify_log(
    store: LogStore,
    public_key: bytes,
    origin: str,
    *,
    trusted_checkpoints: Sequence[bytes] = (),
    mark: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Re-derives the whole log from its leaves and checks every stored claim against it.

    `public_key` is the log's first key (the genesis key). Every hand-over met on the way is
    checked (signed by the key in force, accepted by the new key) and followed, so each entry
    and each checkpoint is checked with the key its place calls for; an entry or checkpoint
    signed by a key the log never handed over to is refused, and so is a stored key list
    (META_KEYS) that disagrees with the hand-overs.

    Raises TamperError naming the first bad entry index (or VerificationError for a bad
    trusted checkpoint). `trusted_checkpoints` are notes held elsewhere (a parent, an
    auditor): the log must still contain what they committed to, which is how a truncated
    tail is caught even when the local checkpoints were removed with it. `mark` is the log's
    high-water mark (`ledger/mark.py`): a log shorter than it raises EntriesLost, naming how
    many acknowledged entries are missing.
    """
    verifier = LogVerifier(
        store,
        public_key,
        origin,
        trusted_checkpoints=trusted_checkpoints,
        mark=mark,
        progress=progress,
    )
    verifier.step(verifier.size)
    return verifier.finish()


_STORED, _TRUSTED, _MARK = "stored checkpoint", "trusted checkpoint", "high-water mark"


class LogVerifier:
    """`verify_log` in steps, for a caller that paces the work (the node's background scrub):
    `step(count)` checks the next `count` entries and the checkpoints they reach, `finish`
    the tail, returning the report. The store must not change meanwhile (a closed store, or a
    read-only snapshot beside the node). Stored checkpoints are read as the walk reaches them,
    so memory stays small however long the log."""

    def __init__(
        self,
        store: LogStore,
        public_key: bytes,
        origin: str,
        *,
        trusted_checkpoints: Sequence[bytes] = (),
        mark: bytes | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._origin = origin
        self._progress = progress
        self.keys = LogKeys.single(public_key)
        self.size = _store_size(store)
        self.done = 0
        # Notes held elsewhere, by size, as (note, what): checked when the walk reaches them.
        self._outside: dict[int, list[tuple[bytes, str]]] = {}
        for note in trusted_checkpoints:
            _, checkpoint = _trusted_note(note, origin)
            self._outside.setdefault(checkpoint.size, []).append((note, _TRUSTED))
        self._mark_size = 0
        if mark is not None:
            try:
                _, checkpoint = _trusted_note(mark, origin)
            except VerificationError as exc:
                raise TamperError(f"the high-water mark: {exc}", index=self.size) from exc
            self._mark_size = checkpoint.size
            self._outside.setdefault(checkpoint.size, []).append((mark, _MARK))
        self._stored = _stored_notes(store, origin)
        self._next: tuple[int, bytes] | None = next(self._stored, None)
        self._count = 0
        self._latest = 0
        # Compact range: perfect subtree hashes of the prefix, largest first, as (level, hash).
        self._stack: list[tuple[int, bytes]] = []
        self._last_ms = 0
        self._check_roots(0)

    def step(self, count: int) -> bool:
        """Checks up to `count` more entries; True once every entry is checked."""
        end = min(self.done + count, self.size)
        for index, raw in _read_range(self._store, self.done, end):
            self._check_entry(index, raw)
            self._check_roots(index + 1)
            if self._progress is not None:
                self._progress(index + 1)
        self.done = end
        return self.done == self.size

    def _check_entry(self, index: int, raw: bytes) -> None:
        body = _checked_leaf(raw, index, self.keys.key_at(index), self._origin)
        if body.written_at_ms < self._last_ms:
            raise TamperError(f"entry {index} is dated before the entry preceding it", index=index)
        self._last_ms = body.written_at_ms
        if ROTATION_MARKER in raw:
            self.keys = _followed(self.keys, body, index)
        digest = merkle.leaf_hash(raw)
        level, position = 0, index
        _check_node(self._store, 0, position, digest, index)
        stack = self._stack
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            digest = merkle.node_hash(left, digest)
            level, position = level + 1, position // 2
            _check_node(self._store, level, position, digest, position << level)
        stack.append((level, digest))

    def _check_roots(self, size: int) -> None:
        """Every note for `size` (stored checkpoints, notes held elsewhere) against the key in
        force at that size and the root of the entries walked so far."""
        claims = list(self._outside.pop(size, ()))
        while self._next is not None and self._next[0] <= size:
            claims.append((self._next[1], _STORED))
            self._count += 1
            self._latest = self._next[0]
            self._next = next(self._stored, None)
        root = _fold(self._stack) if self._stack else merkle.EMPTY_ROOT
        at = max(size - 1, 0)
        for note, what in claims:
            try:
                checkpoint = verify_checkpoint(
                    note, self.keys.key_at(size), self._origin, self._origin
                )
            except VerificationError as exc:
                if what == _TRUSTED:
                    raise
                raise TamperError(f"the {what} for size {size}: {exc}", index=at) from exc
            if checkpoint.root != root:
                raise TamperError(
                    f"the {what} for size {size} does not match entries 0..{size - 1}", index=at
                )

    def finish(self) -> VerifyReport:
        """The tail's checks, once every entry is walked: nothing claimed beyond the log, every
        entry covered by a stored checkpoint, and the stored key list the hand-overs' own."""
        if self.done != self.size:
            raise InputError(f"verification stopped at entry {self.done} of {self.size}")
        size = self.size
        beyond: dict[int, list[tuple[bytes, bool]]] = {
            at: [(note, what != _STORED) for note, what in notes]
            for at, notes in self._outside.items()
        }
        while self._next is not None:  # stored checkpoints past the last entry
            beyond.setdefault(self._next[0], []).append((self._next[1], False))
            self._count += 1
            self._latest = self._next[0]
            self._next = next(self._stored, None)
        # Only now the tail: an entry inserted or moved earlier is named at its own index.
        if self._mark_size > size:
            raise EntriesLost(size, self._mark_size)
        if beyond:
            raise _missing_tail(beyond, max(beyond), size, self.keys, self._origin)
        if size > self._latest:
            raise TamperError(
                f"entries from {self._latest} on are not covered by any signed checkpoint",
                index=self._latest,
            )
        _check_stored_keys(self._store, self.keys)
        root = _fold(self._stack) if self._stack else merkle.EMPTY_ROOT
        return VerifyReport(size=size, checkpoints=self._count, root=root, keys=self.keys)


def _followed(keys: LogKeys, body: ledger_pb2.EntryBody, index: int) -> LogKeys:
    """`keys` after the entry `body` at `index`: one era more when it is a hand-over."""
    try:
        handover = handover_of(body)
        return keys if handover is None else keys.after(handover)
    except VerificationError as exc:
        raise TamperError(f"entry {index}: {exc}", index=index) from exc


def _missing_tail(
    notes: dict[int, list[tuple[bytes, bool]]], claimed: int, size: int, keys: LogKeys, origin: str
) -> TamperError:
    """The error for checkpoints beyond the log's end: entries are missing, when the key in
    force signed them; else the note is not this log's (or the lost entries handed it over)."""
    for note, _ in notes[claimed]:
        try:
            verify_checkpoint(note, keys.current, origin, origin)
        except VerificationError:
            return TamperError(
                f"a checkpoint claims {claimed} entries but the log holds {size}, and it is not "
                "signed by the log's key in force: the missing entries may have handed the key "
                "over, or the note is not this log's",
                index=size,
            )
    return TamperError(
        f"a checkpoint covers {claimed} entries but the log holds {size}: "
        f"entry {size} onward is missing",
        index=size,
    )


def _check_stored_keys(store: LogStore, keys: LogKeys) -> None:
    """The key list the store keeps (used to open it) must be the one its entries hand over."""
    raw = store.meta(META_KEYS)
    if not raw:
        if len(keys.eras) > 1:
            first = keys.eras[1].start - 1
            raise TamperError(
                f"the log hands its key over at entry {first} but keeps no key list", index=first
            )
        return
    try:
        kept = LogKeys.decode(raw)
    except StoreError as exc:
        raise TamperError(f"the stored key list: {exc}", index=0) from exc
    if kept != keys:
        differ = next(
            (a.start for a, b in zip(kept.eras, keys.eras, strict=False) if a != b),
            min(len(kept.eras), len(keys.eras)),
        )
        raise TamperError(
            "the stored key list disagrees with the log's hand-over entries", index=differ
        )


def _fold(stack: list[tuple[int, bytes]]) -> bytes:
    """Root of a prefix from its perfect subtrees (right-to-left fold, RFC 9162 MTH)."""
    digest = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        digest = merkle.node_hash(left, digest)
    return digest


def _store_size(store: LogStore) -> int:
    try:
        return store.size()
    except StoreError as exc:
        raise TamperError(f"the store cannot say its size: {exc}", index=0) from exc


VERIFY_CHUNK = 1024


def _read_range(store: LogStore, first: int, stop: int) -> Iterator[tuple[int, bytes]]:
    """(index, leaf) for entries first..stop-1, read in ranges; a gap is named at its index."""
    for start in range(first, stop, VERIFY_CHUNK):
        end = min(start + VERIFY_CHUNK, stop)
        try:
            chunk = list(store.entries(start, end))
        except StoreError:
            chunk = [_store_entry(store, index) for index in range(start, end)]
        yield from enumerate(chunk, start)


def _store_entry(store: LogStore, index: int) -> bytes:
    try:
        return store.entry(index)
    except StoreError as exc:
        raise TamperError(f"entry {index} is missing or unreadable ({exc})", index=index) from exc


def _checked_leaf(raw: bytes, index: int, public_key: bytes, origin: str) -> ledger_pb2.EntryBody:
    try:
        leaf = parse_leaf(raw)
        leaf.verify_signature(public_key)
        body = leaf.decode_body()
    except VerificationError as exc:
        raise TamperError(f"entry {index}: {exc}", index=index) from exc
    if body.index != index:
        raise TamperError(
            f"entry {index} was written as entry {body.index} (moved or inserted)", index=index
        )
    if body.origin != origin:
        raise TamperError(f"entry {index} belongs to log {body.origin!r}", index=index)
    return body


def _check_node(store: LogStore, level: int, position: int, digest: bytes, first: int) -> None:
    stored = store.node(level, position)
    if stored != digest:
        what = "missing" if stored is None else "wrong"
        raise TamperError(
            f"tree node (level {level}, index {position}) is {what} for entries from {first}",
            index=first,
        )


def _stored_notes(store: LogStore, origin: str) -> Iterator[tuple[int, bytes]]:
    """(size, note) of every stored checkpoint, in size order, once each is well formed, of
    this origin and stored under its own size (signatures are checked in the walk); read as
    the walk needs them."""
    for size, note in store.checkpoints():
        at = max(size - 1, 0)
        try:
            checkpoint = parse_note(note)[0]
        except VerificationError as exc:
            raise TamperError(f"checkpoint for size {size}: {exc}", index=at) from exc
        if checkpoint.origin != origin:
            raise TamperError(
                f"checkpoint for size {size} is for origin {checkpoint.origin!r}", index=at
            )
        if checkpoint.size != size:
            raise TamperError(
                f"checkpoint stored under size {size} says size {checkpoint.size}", index=at
            )
        yield size, note


def _trusted_note(note: bytes, origin: str) -> tuple[bytes, Checkpoint]:
    """A trusted note's format and origin (its signature is checked in the walk)."""
    checkpoint = parse_note(note)[0]
    if checkpoint.origin != origin:
        raise VerificationError(
            f"checkpoint is for origin {checkpoint.origin!r}, expected {origin!r}"
        )
    return note, checkpoint


def first_key(store: LogStore, public_key: bytes) -> bytes:
    """The log's first key, which `verify_log` starts from: its stored key list's first (a log
    that rotated keeps one), else `public_key`, the only key a log that never rotated has."""
    return stored_keys(store.meta(META_KEYS), public_key).first


def key_fingerprint(public_key: bytes) -> str:
    """A short hex fingerprint of a public key for people to compare."""
    return hashlib.sha256(public_key).hexdigest()[:16]
