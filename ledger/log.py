"""The ledger: one node's signed, append-only log over a LogStore.

Theory of operation
-------------------
Appending stamps each EntryBody with the log's origin, its index and the node's clock (never
earlier than the entry before it), serialises it once, signs those bytes, and wraps body and
signature into the leaf. One group commit writes, in a single atomic and durable store commit:
the leaves, the Merkle subtree hashes they complete, and a checkpoint (C2SP signed note) for the
new size. So every acknowledged entry is covered by a signed checkpoint, and a log whose entries
extend past its latest checkpoint was written by someone other than this code.

Callers in several threads may append at once: the first to take the commit lock commits every
pending request in one batch (leader/follower group commit); the others find their work done.

`verify_log` re-derives everything from the leaves alone: signatures, indexes, origins, clock
order, every stored tree node and every checkpoint's root. Nothing stored is trusted.

This module must never import a storage engine, a network stack or an event loop.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import nacl.signing

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.entry import Leaf, encode_leaf, parse_leaf, sign_body
from ledger.errors import InputError, StoreError, TamperError, TooLarge, VerificationError
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2

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
    """A node's own log: append, read, prove. Thread-safe; one Ledger per store."""

    def __init__(
        self,
        store: LogStore,
        signing_key: nacl.signing.SigningKey,
        origin: str,
        *,
        clock: Callable[[], int] = now_ms,
    ) -> None:
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
        self._recover()

    def _recover(self) -> None:
        """Checks the store is where a finished commit left it, and restores the clock floor."""
        size = self.store.size()
        latest = self.store.latest_checkpoint()
        if size and (latest is None or latest[0] != size):
            covered = latest[0] if latest else 0
            raise StoreError(
                f"log has {size} entries but its latest checkpoint covers {covered}: "
                "run `cctns ledger verify`"
            )
        self._last_ms = 0
        if size:
            self._last_ms = parse_leaf(self.store.entry(size - 1)).decode_body().written_at_ms

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

    def _commit(self, requests: list[_Request]) -> None:
        try:
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
        """Stops the signing helper thread (the store is closed by its owner)."""
        if self._signer is not None:
            self._signer.shutdown(wait=True)
            self._signer = None

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
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Re-derives the whole log from its leaves and checks every stored claim against it.

    Raises TamperError naming the first bad entry index (or VerificationError for a bad
    checkpoint). `trusted_checkpoints` are notes held elsewhere (a parent, an auditor): the
    log must still contain what they committed to, which is how a truncated tail is caught
    even when the local checkpoints were removed with it.
    """
    size = _store_size(store)
    checkpoints = sorted(_stored_checkpoints(store, public_key, origin))
    external = [verify_checkpoint(note, public_key, origin, origin) for note in trusted_checkpoints]
    wanted: dict[int, list[tuple[bytes, str]]] = {}
    for cp_size, root in checkpoints:
        wanted.setdefault(cp_size, []).append((root, "stored checkpoint"))
    for cp in external:
        wanted.setdefault(cp.size, []).append((cp.root, "trusted checkpoint"))
    # Compact range: perfect subtree hashes of the prefix, largest first, as (level, hash).
    stack: list[tuple[int, bytes]] = []
    last_ms = 0
    for index, raw in _read_all(store, size):
        leaf = _checked_leaf(raw, index, public_key, origin)
        body = leaf.decode_body()
        if body.written_at_ms < last_ms:
            raise TamperError(f"entry {index} is dated before the entry preceding it", index=index)
        last_ms = body.written_at_ms
        digest = merkle.leaf_hash(raw)
        level, position = 0, index
        _check_node(store, 0, position, digest, index)
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            digest = merkle.node_hash(left, digest)
            level, position = level + 1, position // 2
            _check_node(store, level, position, digest, position << level)
        stack.append((level, digest))
        if progress is not None:
            progress(index + 1)
        for root, what in wanted.get(index + 1, ()):
            if _fold(stack) != root:
                raise TamperError(
                    f"the {what} for size {index + 1} does not match entries 0..{index}",
                    index=index,
                )
    # Only now the tail: an entry inserted or moved earlier in the log is named at its own index.
    beyond = [s for s in wanted if s > size]
    if beyond:
        raise TamperError(
            f"a checkpoint covers {max(beyond)} entries but the log holds {size}: "
            f"entry {size} onward is missing",
            index=size,
        )
    latest = checkpoints[-1][0] if checkpoints else 0
    if size > latest:
        raise TamperError(
            f"entries from {latest} on are not covered by any signed checkpoint", index=latest
        )
    final_root = _fold(stack) if stack else merkle.EMPTY_ROOT
    return VerifyReport(size=size, checkpoints=len(checkpoints), root=final_root)


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


def _read_all(store: LogStore, size: int) -> Iterator[tuple[int, bytes]]:
    """(index, leaf) for the whole log, read in ranges; a gap is named at its index."""
    for start in range(0, size, VERIFY_CHUNK):
        end = min(start + VERIFY_CHUNK, size)
        try:
            chunk = list(store.entries(start, end))
        except StoreError:
            chunk = [_store_entry(store, index) for index in range(start, end)]
        yield from enumerate(chunk, start)


def _store_entry(store: LogStore, index: int) -> bytes:
    try:
        return store.entry(index)
    except StoreError as exc:
        raise TamperError(f"entry {index} is missing", index=index) from exc


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
