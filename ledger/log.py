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

`verify_log` re-derives everything from the leaves alone: signatures, indexes, origins, clock
order, every stored tree node and every checkpoint's root. Nothing stored is trusted.

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
from ledger.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.entry import Leaf, encode_leaf, parse_leaf, sign_body
from ledger.errors import (
    EntriesLost,
    EquivocationError,
    InputError,
    StoreError,
    TamperError,
    VerificationError,
)
from ledger.mark import HighWaterMark, MarkFile
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2

log = logging.getLogger(__name__)

# Batches at least this large are signed on two threads.
PARALLEL_SIGN_MIN = 64


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
    """A node's own log: append, read, prove. Thread-safe; one Ledger per store."""

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
        self._key = signing_key
        # libsodium's 64-byte secret key (seed || public key), for the fast signing path.
        self._secret = bytes(signing_key) + bytes(signing_key.verify_key)
        self.public_key = bytes(signing_key.verify_key)
        self._clock = clock
        self._commit_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_Request] = []
        self._signer: ThreadPoolExecutor | None = None
        self._mark = mark
        self._halted: str | None = None
        self._recover()

    def _recover(self) -> None:
        """Checks the store is where a finished commit left it (its latest checkpoint signed by
        this key over the stored tree, and at least what the high-water mark covers), brings
        the mark up to the store, and restores the clock floor."""
        size = self.store.size()
        latest = self.store.latest_checkpoint()
        if size and (latest is None or latest[0] != size):
            covered = latest[0] if latest else 0
            raise StoreError(
                f"log has {size} entries but its latest checkpoint covers {covered}: "
                "run `cctns ledger verify`"
            )
        if latest is not None:
            self._check_note(latest[1], size, "the store's latest checkpoint")
        if self._mark is not None:
            self._check_mark(self._mark, size, latest)
        self._last_ms = 0
        if size:
            self._last_ms = parse_leaf(self.store.entry(size - 1)).decode_body().written_at_ms

    def _check_note(self, note: bytes, size: int, what: str) -> Checkpoint:
        """The checkpoint of `note`, once it is this log's, signed by this key, and its root
        is the stored tree's at its size (`size` is the store's)."""
        try:
            checkpoint = verify_checkpoint(note, self.public_key, self.origin, self.origin)
        except VerificationError as exc:
            raise TamperError(
                f"{what} is not signed by this node's key: {exc}", index=max(size - 1, 0)
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
        """Appends entries in order in one group commit (possibly with other callers' entries)."""
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

    def halt(self, reason: str) -> None:
        """Stops taking entries (the log can no longer be trusted: a scrub found damage, the
        mark could not be written); every later append raises StoreError giving `reason`."""
        with self._commit_lock:
            self._halted = self._halted or reason

    @property
    def halted(self) -> str | None:
        """Why the log takes no more entries, or None while it does."""
        return self._halted

    def _commit(self, requests: list[_Request]) -> None:
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
            signatures = self._sign_all(raws)
            leaves = [encode_leaf(raw, sig) for raw, sig in zip(raws, signatures, strict=True)]
            hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
            end = start + len(leaves)
            nodes = merkle.new_nodes(start, hashes, self.store)
            root = merkle.MerkleTree(merkle.PendingNodes(self.store, nodes)).root(end)
            note = sign_checkpoint(Checkpoint(self.origin, end, root), self._key)
            self.store.commit(
                CommitBatch(start=start, entries=leaves, nodes=nodes, checkpoint=note)
            )
            self._last_ms = stamp
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

    Raises TamperError naming the first bad entry index (or VerificationError for a bad
    checkpoint). `trusted_checkpoints` are notes held elsewhere (a parent, an auditor): the
    log must still contain what they committed to, which is how a truncated tail is caught
    even when the local checkpoints were removed with it. `mark` is the log's high-water mark
    (`ledger/mark.py`): a log shorter than it raises EntriesLost, naming how many acknowledged
    entries are missing.
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
        self._public_key = public_key
        self._origin = origin
        self._progress = progress
        self.size = _store_size(store)
        self.done = 0
        # Roots held elsewhere, by size: checked when the walk reaches their size.
        self._outside: dict[int, list[tuple[bytes, str]]] = {}
        for note in trusted_checkpoints:
            cp = verify_checkpoint(note, public_key, origin, origin)
            self._outside.setdefault(cp.size, []).append((cp.root, "trusted checkpoint"))
        self._mark_size = 0
        if mark is not None:
            try:
                cp = verify_checkpoint(mark, public_key, origin, origin)
            except VerificationError as exc:
                raise TamperError(f"the high-water mark: {exc}", index=self.size) from exc
            self._mark_size = cp.size
            self._outside.setdefault(cp.size, []).append((cp.root, "high-water mark"))
        self._checkpoints = _stored_checkpoints(store, public_key, origin)
        self._next: tuple[int, bytes] | None = next(self._checkpoints, None)
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
        leaf = _checked_leaf(raw, index, self._public_key, self._origin)
        body = leaf.decode_body()
        if body.written_at_ms < self._last_ms:
            raise TamperError(f"entry {index} is dated before the entry preceding it", index=index)
        self._last_ms = body.written_at_ms
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
        """Every root claimed for `size` (stored checkpoints, notes held elsewhere) against the
        root of the entries walked so far."""
        claims = list(self._outside.pop(size, ()))
        while self._next is not None and self._next[0] <= size:
            claims.append((self._next[1], "stored checkpoint"))
            self._count += 1
            self._latest = self._next[0]
            self._next = next(self._checkpoints, None)
        root = _fold(self._stack) if self._stack else merkle.EMPTY_ROOT
        for claimed, what in claims:
            if claimed != root:
                raise TamperError(
                    f"the {what} for size {size} does not match entries 0..{size - 1}",
                    index=max(size - 1, 0),
                )

    def finish(self) -> VerifyReport:
        """The tail's checks, once every entry is walked: nothing claimed beyond the log, and
        every entry covered by a stored checkpoint."""
        if self.done != self.size:
            raise InputError(f"verification stopped at entry {self.done} of {self.size}")
        size = self.size
        beyond = list(self._outside)
        while self._next is not None:  # stored checkpoints past the last entry (signed ones)
            beyond.append(self._next[0])
            self._count += 1
            self._latest = self._next[0]
            self._next = next(self._checkpoints, None)
        # Only now the tail: an entry inserted or moved earlier is named at its own index.
        if self._mark_size > size:
            raise EntriesLost(size, self._mark_size)
        if beyond:
            raise TamperError(
                f"a checkpoint covers {max(beyond)} entries but the log holds {size}: "
                f"entry {size} onward is missing",
                index=size,
            )
        if size > self._latest:
            raise TamperError(
                f"entries from {self._latest} on are not covered by any signed checkpoint",
                index=self._latest,
            )
        root = _fold(self._stack) if self._stack else merkle.EMPTY_ROOT
        return VerifyReport(size=size, checkpoints=self._count, root=root)


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


def _checked_leaf(raw: bytes, index: int, public_key: bytes, origin: str) -> Leaf:
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
    return leaf


def _check_node(store: LogStore, level: int, position: int, digest: bytes, first: int) -> None:
    stored = store.node(level, position)
    if stored != digest:
        what = "missing" if stored is None else "wrong"
        raise TamperError(
            f"tree node (level {level}, index {position}) is {what} for entries from {first}",
            index=first,
        )


def _stored_checkpoints(
    store: LogStore, public_key: bytes, origin: str
) -> Iterator[tuple[int, bytes]]:
    for size, note in store.checkpoints():
        try:
            cp = verify_checkpoint(note, public_key, origin, origin)
        except VerificationError as exc:
            raise TamperError(f"checkpoint for size {size}: {exc}", index=max(size - 1, 0)) from exc
        if cp.size != size:
            raise TamperError(
                f"checkpoint stored under size {size} says size {cp.size}", index=max(size - 1, 0)
            )
        yield size, cp.root


def key_fingerprint(public_key: bytes) -> str:
    """A short hex fingerprint of a public key for people to compare."""
    return hashlib.sha256(public_key).hexdigest()[:16]
