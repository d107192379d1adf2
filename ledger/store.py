"""The storage interface the ledger core is written against, and its in-memory implementation.

A LogStore keeps four things, nothing more: the entries (exact leaf bytes, by index), the hashes
of complete Merkle subtrees (by level and index), signed checkpoints (by tree size) and a little
metadata. It holds no policy: the ledger decides what to write; the store makes each commit
atomic and durable (all of a CommitBatch or none of it, on disk before `commit` returns).

This module must never import RocksDB, SQLAlchemy, gRPC or trio: adapters live elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Protocol, runtime_checkable

from ledger.errors import StoreError
from ledger.merkle import NodeRuns


@dataclass(frozen=True, slots=True)
class CommitBatch:
    """Everything one group commit writes, atomically.

    `start` must equal the store's size when the batch is committed; entries take indexes
    start, start+1, ... `nodes` are (level, index, hash) of the complete subtrees the new
    entries complete, in any order: a list, or merkle.NodeRuns (what the ledger and replicas
    pass), which stores write a run at a time. Level-0 nodes are the entries' leaf hashes
    (merkle.leaf_hash) and nothing else: a store may derive them from the entries instead of
    writing them (RocksDBLogStore does). `checkpoint` is the signed note for the new size, if
    one is written.
    """

    start: int
    entries: Sequence[bytes]
    nodes: Sequence[tuple[int, int, bytes]]
    checkpoint: bytes | None = None
    meta: dict[str, bytes] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.start + len(self.entries)


@runtime_checkable
class LogStore(Protocol):
    """A small, synchronous, thread-safe store for one log."""

    def size(self) -> int:
        """Number of entries committed."""
        ...

    def entry(self, index: int) -> bytes:
        """The exact bytes of entry `index`; StoreError when absent."""
        ...

    def entries(self, start: int, end: int) -> Iterator[bytes]:
        """Entries start..end-1 in order; StoreError when any is absent."""
        ...

    def node(self, level: int, index: int) -> bytes | None:
        """Hash of the complete subtree of 2**level leaves starting at leaf index * 2**level.

        At level 0 the leaf hash of entry `index`, whether stored or computed from the entry.
        """
        ...

    def checkpoint(self, size: int) -> bytes | None:
        """The signed note stored for tree size `size`, if any."""
        ...

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """(size, note) of the largest stored checkpoint."""
        ...

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        """Every stored (size, note), in increasing size."""
        ...

    def meta(self, key: str) -> bytes | None:
        """A metadata value."""
        ...

    def commit(self, batch: CommitBatch) -> None:
        """Writes the batch atomically and durably; StoreError if batch.start != size()."""
        ...

    def close(self) -> None:
        """Releases the store; later calls fail."""
        ...


class MemoryLogStore:
    """A LogStore in memory: for tests and the simulator. Not durable, by design."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[bytes] = []
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._checkpoints: dict[int, bytes] = {}
        # The largest checkpoint size: asked on every replication round, so kept rather than
        # found again among the thousands of checkpoints a simulated week stores.
        self._latest = -1
        self._meta: dict[str, bytes] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    def size(self) -> int:
        self._check_open()
        return len(self._entries)

    def entry(self, index: int) -> bytes:
        self._check_open()
        if not 0 <= index < len(self._entries):
            raise StoreError(f"no entry {index} (log size {len(self._entries)})")
        return self._entries[index]

    def entries(self, start: int, end: int) -> Iterator[bytes]:
        self._check_open()
        if start < 0 or end > len(self._entries) or start > end:
            raise StoreError(f"entries {start}..{end} outside log of size {len(self._entries)}")
        return iter(self._entries[start:end])

    def node(self, level: int, index: int) -> bytes | None:
        self._check_open()
        return self._nodes.get((level, index))

    def checkpoint(self, size: int) -> bytes | None:
        self._check_open()
        return self._checkpoints.get(size)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        self._check_open()
        size = self._latest
        if size < 0:
            return None
        return size, self._checkpoints[size]

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        self._check_open()
        return iter(sorted(self._checkpoints.items()))

    def meta(self, key: str) -> bytes | None:
        self._check_open()
        return self._meta.get(key)

    def commit(self, batch: CommitBatch) -> None:
        with self._lock:
            self._check_open()
            if batch.start != len(self._entries):
                raise StoreError(
                    f"commit starts at {batch.start} but the log has {len(self._entries)} entries"
                )
            # Check and copy everything first, so a bad batch changes nothing (atomicity).
            entries = list(batch.entries)
            nodes = (
                batch.nodes.by_position()
                if isinstance(batch.nodes, NodeRuns)
                else {(level, index): digest for level, index, digest in batch.nodes}
            )
            meta = dict(batch.meta)
            # isinstance mapped in C over each part: no joined list, no Python step per value
            # (a simulated network commits every replicated chunk here).
            if not (
                all(map(isinstance, entries, repeat(bytes)))
                and all(map(isinstance, nodes.values(), repeat(bytes)))
                and all(map(isinstance, meta.values(), repeat(bytes)))
                and (batch.checkpoint is None or isinstance(batch.checkpoint, bytes))
            ):
                raise StoreError("commit holds a value that is not bytes")
            self._entries.extend(entries)
            self._nodes.update(nodes)
            if batch.checkpoint is not None:
                self._checkpoints[batch.end] = batch.checkpoint
                self._latest = max(self._latest, batch.end)
            self._meta.update(meta)

    def close(self) -> None:
        self._closed = True
