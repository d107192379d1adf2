"""The durable LogStore: one RocksDB database (through rocksdict, raw mode) per log.

Layout, one column family per concern, every key fixed-width big-endian so that RocksDB's
byte order is numeric order:
- "entries":     8-byte index                 -> exact leaf bytes
- "tree":        1-byte level + 8-byte index  -> 32-byte subtree hash, levels 1 and up
- "checkpoints": 8-byte tree size             -> signed note
- "meta":        utf-8 key                    -> bytes
- "default":     store-private bookkeeping: b"size" -> 8-byte size written by the last commit.

Each `commit` is one WriteBatch across the column families, written to the WAL and then the WAL
synced, so a batch is all-or-nothing and on disk before `commit` returns (RocksDB replays the
WAL on open; a torn tail record belongs to a commit that was never acknowledged). The size lives
in memory and is recovered on open from the last entry key, then checked against what the last
commit recorded, the checkpoints and the tree; a store that disagrees with itself raises
StoreError rather than serving a log with a hole in it.

Why the write and its sync are two calls: rocksdict's `Rdict.write` holds the interpreter lock
for its whole run, a synced write's fsync included, so a replica writing in a worker thread
stalled its own checks (and a node's other threads) for every sync. The batch is written
unsynced (`write`, the lock held only while RocksDB copies it into the WAL and the memtable),
then `flush_wal(sync=True)` syncs the WAL with the lock released. RocksDB makes an unsynced
write visible to readers at once, where a synced one is visible only once durable; so nothing
is served from a commit until its sync returned: entries, tree nodes and checkpoints are read
only up to the size the last finished commit published, and `meta` waits for a commit in
progress. A kill between the two calls leaves the batch in the OS's page cache, replayed on
open (as a kill during a synced write's fsync may): it was never acknowledged, and it is whole.

Level-0 tree nodes are not stored: node(0, i) is the leaf hash of entry i, computed from the
entry when asked (`merkle.leaf_hash`, the ledger's own function). A level-0 node is the entry's
hash by definition, so keeping it only cost a key per entry in every commit (a third of a
replica's keys: docs/storage.md, "Level-0 tree nodes"). Stores written before 1 December 2026
hold level-0 rows; they are left where they are (copies keep them, `_check_tree` still checks
their range at open) but never served: a node read from the entry cannot differ from the leaf
hash of its entry, where a stored one could. A batch's level-0 nodes are checked to be bytes
(so this store refuses what the memory store refuses) and not written.

This is an adapter: the ledger core never imports it, and it holds no ledger policy (it signs
and verifies nothing; its only hash is that leaf hash). Every rocksdict exception is turned into
StoreError here.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NoReturn

import rocksdict

from ledger.errors import StoreError
from ledger.merkle import NodeRuns, leaf_hash
from ledger.store import CommitBatch

__all__ = ["COLUMN_FAMILIES", "RocksDBLogStore"]

CF_ENTRIES = "entries"
CF_TREE = "tree"
CF_CHECKPOINTS = "checkpoints"
CF_META = "meta"
COLUMN_FAMILIES = (CF_ENTRIES, CF_TREE, CF_CHECKPOINTS, CF_META)

# Kept in the default column family, which the LogStore interface never exposes, so that it
# cannot collide with a ledger meta key.
SIZE_KEY = b"size"

_MAX_LEVEL = 63  # a tree of at most 2**64 leaves: 8-byte indexes
_READ_CHUNK = 1024  # entries read per range scan; bounds memory on long range reads
_READ_AHEAD = 2 * 1024 * 1024  # a range scan reads its files ahead in steps this large
_BLOCK_CACHE_BYTES = 32 * 1024 * 1024
_COPY_BATCH_BYTES = 4 * 1024 * 1024  # a copy writes in batches of about this size
# An audit open that finds a table file gone (the node compacted meanwhile) tries again.
_AUDIT_OPEN_ATTEMPTS = 5
_AUDIT_OPEN_PAUSE = 0.05  # seconds, times the attempt number
_VANISHED_FILE = "No such file or directory"


def index_key(index: int) -> bytes:
    """The "entries" key of entry `index` (also the "checkpoints" key of tree size `index`)."""
    return index.to_bytes(8, "big")


def node_key(level: int, index: int) -> bytes:
    """The "tree" key of the subtree of 2**level leaves starting at leaf index * 2**level."""
    return bytes([level]) + index.to_bytes(8, "big")


_U64_LIMIT: Final = 1 << 64


def _fits_u64(value: int) -> bool:
    return 0 <= value < _U64_LIMIT


def _describe(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def _raise_store_error(action: str, path: Path, exc: Exception) -> NoReturn:
    """Re-raises a rocksdict exception as StoreError with a message an operator can act on."""
    message = _describe(exc)
    if isinstance(exc, rocksdict.DbClosedError):
        raise StoreError(f"store at {path} is closed") from exc
    if "lock hold by current process" in message:
        raise StoreError(f"store at {path} is already open in this process") from exc
    if "LOCK" in message:
        raise StoreError(f"store at {path} is locked by another process ({message})") from exc
    if "Corruption" in message:
        raise StoreError(f"store at {path} is corrupted: {message}") from exc
    raise StoreError(f"{action} failed for store at {path}: {message}") from exc


def _options() -> rocksdict.Options:
    """Modest tuning for a write-mostly log read back by index and in ranges."""
    cache = rocksdict.Cache(_BLOCK_CACHE_BYTES)
    table = rocksdict.BlockBasedOptions()
    table.set_block_cache(cache)
    # Keys are dense and looked up by exact index: a Bloom filter would never say "absent"
    # usefully, so none is configured.
    options = rocksdict.Options(raw_mode=True)
    options.set_block_based_table_factory(table)
    options.set_compression_type(rocksdict.DBCompressionType.lz4())
    options.set_paranoid_checks(True)
    # A torn record at the WAL's tail is a commit that was never acknowledged: drop it and
    # keep everything before it; corruption anywhere else stops the open.
    options.set_wal_recovery_mode(rocksdict.DBRecoveryMode.point_in_time())
    # Flush all column families together, so their files never describe different moments.
    options.set_atomic_flush(True)
    options.set_keep_log_file_num(4)
    options.set_max_background_jobs(2)
    options.set_max_write_buffer_number(4)
    return options


class RocksDBLogStore:
    """A LogStore in a RocksDB directory. Thread-safe: commits are serialised, reads are not.

    Build it with `RocksDBLogStore.open(path)`; a directory is owned by one open store at a time
    (RocksDB's LOCK file), and a second opener gets StoreError.
    """

    def __init__(self, path: Path, db: rocksdict.Rdict, *, audit: bool = False) -> None:
        """Use `open`; this wraps an already-opened database and recovers its size."""
        self._path = path
        self._db: rocksdict.Rdict | None = db
        self._lock = threading.Lock()
        self._audit = audit
        self._failed: str | None = "opened for audit: read-only" if audit else None
        # Unsynced: the sync is a separate call that releases the interpreter lock (see the
        # module's docstring).
        self._write_options = rocksdict.WriteOptions()
        self._write_options.sync = False
        # Set when a WAL sync failed: the batch may sit in the memtable without being durable,
        # so meta (which has no size to bound it) is no longer served either.
        self._unsynced: str | None = None
        self._cfs: dict[str, rocksdict.Rdict] = {}
        # Handles keep the database alive; they are dropped in close() so the LOCK goes.
        self._handles: dict[str, Any] = {}
        try:
            self._cfs = {name: db.get_column_family(name) for name in COLUMN_FAMILIES}
            self._handles = {name: db.get_column_family_handle(name) for name in COLUMN_FAMILIES}
            self._size = self._recover_size()
            # Reads go no further than this (the size the last finished commit published); an
            # audit reads whatever is stored, damage beyond the entries included.
            self._bound = _U64_LIMIT if audit else self._size
        except StoreError:
            self._release()
            raise
        except Exception as exc:
            self._release()
            _raise_store_error("recovery", path, exc)

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, audit: bool = False) -> RocksDBLogStore:
        """Opens (and with `create`, creates) the store in directory `path`.

        `audit` opens read-only without the consistency checks of recovery, so that a verifier
        can walk a damaged store and name the first bad entry instead of refusing to open it.
        """
        create = create and not audit
        path = Path(path)
        if not create and not (path / "CURRENT").is_file():
            raise StoreError(f"no store at {path} (and create=False)")
        if path.exists() and not path.is_dir():
            raise StoreError(f"store path {path} exists and is not a directory")
        if create and not path.exists():
            try:
                # Owner-only; the files RocksDB makes inside follow the process umask (077 for
                # the `cctns` command).
                path.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store directory {path}: {exc}") from exc
        options = _options()
        options.create_if_missing(create)
        options.create_missing_column_families(create)
        column_families = {name: _options() for name in COLUMN_FAMILIES}
        # An audit reads beside a running node: RocksDB's read-only mode takes no lock. The
        # node may compact while the audit opens, deleting a table file the manifest just read
        # still names; the next attempt reads the newer manifest. Once open, every table file
        # is held open (max_open_files is -1), so later deletions do not matter.
        access_type = rocksdict.AccessType
        access = access_type.read_only() if audit else access_type.read_write()
        attempts = _AUDIT_OPEN_ATTEMPTS if audit else 1
        for attempt in range(1, attempts + 1):
            try:
                db = rocksdict.Rdict(
                    os.fspath(path), options, column_families=column_families, access_type=access
                )
                break
            except Exception as exc:
                if attempt < attempts and _VANISHED_FILE in _describe(exc):
                    time.sleep(_AUDIT_OPEN_PAUSE * attempt)
                    continue
                _raise_store_error("open", path, exc)
        return cls(path, db, audit=audit)

    @property
    def path(self) -> Path:
        """The store's directory."""
        return self._path

    # --- recovery -------------------------------------------------------------------------

    def _last_key(self, cf: rocksdict.Rdict) -> bytes | None:
        it = cf.iter()
        it.seek_to_last()
        key: bytes | None = it.key() if it.valid() else None
        if key is None:
            # An iterator that met a damaged block is not valid either: raise its error rather
            # than take the store for empty (which then reads as every entry lost).
            it.status()
        del it  # iterators pin the database open
        return key

    def _recover_size(self) -> int:
        """The log size from the last entry key, checked against the rest of the store."""
        assert self._db is not None
        last = self._last_key(self._cfs[CF_ENTRIES])
        if last is not None and len(last) != 8:
            raise StoreError(f"store at {self._path}: malformed entry key {last.hex()}")
        size = 0 if last is None else int.from_bytes(last, "big") + 1
        if self._audit:
            return size

        recorded_raw = self._db.get(SIZE_KEY)
        if recorded_raw is None:
            if any(self._last_key(cf) is not None for cf in self._cfs.values()):
                raise StoreError(
                    f"store at {self._path} holds data but no commit record: not written by "
                    "this store, or its bookkeeping was removed"
                )
            return 0
        if len(recorded_raw) != 8:
            raise StoreError(f"store at {self._path}: malformed size record")
        recorded = int.from_bytes(recorded_raw, "big")
        if recorded != size:
            raise StoreError(
                f"store at {self._path} is inconsistent: its entries end at size {size} but "
                f"the last commit recorded size {recorded} (entries were removed or added "
                "outside the store)"
            )
        if size > 0 and self._cfs[CF_ENTRIES].get(index_key(0)) is None:
            raise StoreError(f"store at {self._path} is inconsistent: entry 0 is missing")

        last_checkpoint = self._last_key(self._cfs[CF_CHECKPOINTS])
        if last_checkpoint is not None:
            if len(last_checkpoint) != 8:
                raise StoreError(f"store at {self._path}: malformed checkpoint key")
            checkpoint_size = int.from_bytes(last_checkpoint, "big")
            if checkpoint_size > size:
                raise StoreError(
                    f"store at {self._path} is inconsistent: a checkpoint for size "
                    f"{checkpoint_size} exists but the log has {size} entries"
                )
        self._check_tree(size)
        return size

    def _check_tree(self, size: int) -> None:
        """No stored subtree may cover a leaf at or beyond `size`."""
        tree = self._cfs[CF_TREE]
        last = self._last_key(tree)
        if last is None:
            return
        if len(last) != 9 or last[0] > _MAX_LEVEL:
            raise StoreError(f"store at {self._path}: malformed tree key {last.hex()}")
        it = tree.iter()
        try:
            for level in range(last[0] + 1):
                it.seek_for_prev(bytes([level]) + b"\xff" * 8)
                if not it.valid():
                    continue
                key: bytes = it.key()
                if key[0] != level:
                    continue  # nothing stored at this level
                if len(key) != 9:
                    raise StoreError(f"store at {self._path}: malformed tree key {key.hex()}")
                index = int.from_bytes(key[1:], "big")
                if (index + 1) << level > size:
                    raise StoreError(
                        f"store at {self._path} is inconsistent: tree node (level {level}, "
                        f"index {index}) covers leaves beyond the log's {size} entries"
                    )
        finally:
            del it

    # --- reads ----------------------------------------------------------------------------

    def _cf(self, name: str) -> rocksdict.Rdict:
        cf = self._cfs.get(name)  # one lookup: close() may run concurrently
        if cf is None:
            raise StoreError(f"store at {self._path} is closed")
        return cf

    def _get(self, name: str, key: bytes) -> bytes | None:
        cf = self._cf(name)
        try:
            value: bytes | None = cf.get(key)
        except Exception as exc:
            _raise_store_error("read", self._path, exc)
        return value

    def size(self) -> int:
        """Number of entries committed."""
        self._cf(CF_ENTRIES)
        return self._size

    def entry(self, index: int) -> bytes:
        """The exact bytes of entry `index`; StoreError when absent."""
        size = self.size()
        if not 0 <= index < size:
            raise StoreError(f"no entry {index} (log size {size})")
        value = self._get(CF_ENTRIES, index_key(index))
        if value is None:
            raise StoreError(f"store at {self._path} lost entry {index} (log size {size})")
        return value

    def entries(self, start: int, end: int) -> Iterator[bytes]:
        """Entries start..end-1 in order; StoreError when any is absent."""
        size = self.size()
        if start < 0 or end > size or start > end:
            raise StoreError(f"entries {start}..{end} outside log of size {size}")
        return self._read_entries(start, end)

    def _read_entries(self, start: int, end: int) -> Iterator[bytes]:
        # A bounded iterator per chunk, read whole before anything is yielded: no RocksDB
        # iterator (which pins the database open) survives between yields. A range scan costs
        # about a third of a multi-get of the same keys (each key of a multi-get is a lookup of
        # its own): a parent's catch-up reads whole chunks of a child's log this way.
        for chunk_start in range(start, end, _READ_CHUNK):
            chunk_end = min(chunk_start + _READ_CHUNK, end)
            cf = self._cf(CF_ENTRIES)
            scan = rocksdict.ReadOptions()
            scan.set_iterate_upper_bound(index_key(chunk_end))
            scan.set_readahead_size(_READ_AHEAD)
            try:
                values: list[bytes] = list(
                    cf.values(from_key=index_key(chunk_start), read_opt=scan)
                )
            except Exception as exc:
                _raise_store_error("read", self._path, exc)
            # Keys are unique 8-byte indexes and the scan stays within [start, end): as many
            # values as indexes means every index is there.
            if len(values) != chunk_end - chunk_start:
                held = set(cf.keys(from_key=index_key(chunk_start), read_opt=scan))
                lost = next(i for i in range(chunk_start, chunk_end) if index_key(i) not in held)
                raise StoreError(f"store at {self._path} lost entry {lost}")
            yield from values

    def node(self, level: int, index: int) -> bytes | None:
        """Hash of the complete subtree of 2**level leaves starting at leaf index * 2**level."""
        # Bounded by the published size: a node a commit in progress wrote is not durable yet.
        if (
            not (0 <= level <= _MAX_LEVEL and _fits_u64(index))
            or (index + 1) << level > self._bound
        ):
            self._cf(CF_TREE)
            return None
        if level == 0:
            # Not stored: the entry's leaf hash (a stored row of an older store is ignored).
            raw = self._get(CF_ENTRIES, index_key(index))
            return None if raw is None else leaf_hash(raw)
        return self._get(CF_TREE, node_key(level, index))

    def checkpoint(self, size: int) -> bytes | None:
        """The signed note stored for tree size `size`, if any."""
        if not _fits_u64(size) or size > self._bound:
            self._cf(CF_CHECKPOINTS)
            return None
        return self._get(CF_CHECKPOINTS, index_key(size))

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """(size, note) of the largest stored checkpoint."""
        cf = self._cf(CF_CHECKPOINTS)
        try:
            it = cf.iter()
            # Not past the published size: a commit in progress may have written the next one.
            it.seek_for_prev(index_key(min(self._bound, _U64_LIMIT - 1)))
            found: tuple[bytes, bytes] | None = (it.key(), it.value()) if it.valid() else None
            if found is None:
                it.status()  # damage, not an empty column family, raises here
            del it
        except Exception as exc:
            _raise_store_error("read", self._path, exc)
        if found is None:
            return None
        return int.from_bytes(found[0], "big"), found[1]

    def checkpoints(self) -> Iterator[tuple[int, bytes]]:
        """Every stored (size, note), in increasing size."""
        self._cf(CF_CHECKPOINTS)
        return self._read_checkpoints()

    def _read_checkpoints(self) -> Iterator[tuple[int, bytes]]:
        next_key: bytes | None = None
        while True:
            cf = self._cf(CF_CHECKPOINTS)
            chunk: list[tuple[bytes, bytes]] = []
            try:
                it = cf.iter()
                if next_key is None:
                    it.seek_to_first()
                else:
                    it.seek(next_key)
                while it.valid() and len(chunk) < _READ_CHUNK:
                    chunk.append((it.key(), it.value()))
                    it.next()
                if len(chunk) < _READ_CHUNK:
                    it.status()  # the end, or damage met on the way: the latter raises
                del it
            except Exception as exc:
                _raise_store_error("read", self._path, exc)
            for key, note in chunk:
                size = int.from_bytes(key, "big")
                if size > self._bound:
                    return  # written by a commit in progress: not durable yet
                yield size, note
            if len(chunk) < _READ_CHUNK:
                return
            next_key = index_key(int.from_bytes(chunk[-1][0], "big") + 1)

    def meta(self, key: str) -> bytes | None:
        """A metadata value (waits for a commit in progress: its value is not durable yet)."""
        with self._lock:
            if self._unsynced is not None:
                raise StoreError(
                    f"store at {self._path} serves no metadata after a failed sync "
                    f"({self._unsynced}); reopen it to recover"
                )
            return self._get(CF_META, key.encode("utf-8"))

    # --- writes ---------------------------------------------------------------------------

    def commit(self, batch: CommitBatch) -> None:
        """Writes the batch atomically and durably; StoreError if batch.start != size()."""
        with self._lock:
            db = self._db
            if db is None:
                raise StoreError(f"store at {self._path} is closed")
            if self._failed is not None:
                raise StoreError(
                    f"store at {self._path} refuses writes after a failed commit "
                    f"({self._failed}); reopen it to recover"
                )
            if batch.start != self._size:
                raise StoreError(
                    f"commit starts at {batch.start} but the log has {self._size} entries"
                )
            if not _fits_u64(batch.end):
                raise StoreError(f"commit would grow the log past 2**64 entries ({batch.end})")
            write_batch = rocksdict.WriteBatch(raw_mode=True)
            # The keys are built inline (index_key, node_key): these loops run once per entry
            # and per tree node, and a replica's catch-up spends much of its time here.
            put = write_batch.put
            try:
                entries = self._handles[CF_ENTRIES]
                keys = [index.to_bytes(8, "big") for index in range(batch.start, batch.end)]
                # map() runs the puts without a Python frame per entry.
                deque(map(put, keys, batch.entries, repeat(entries)), maxlen=0)
                tree = self._handles[CF_TREE]
                nodes = batch.nodes
                if isinstance(nodes, NodeRuns):
                    # A run at a time: its range checked once, its keys (level byte and 8-byte
                    # index, as one 9-byte number) built by one comprehension.
                    for level, first, hashes in nodes.runs:
                        last = first + len(hashes) - 1
                        if not (0 <= level <= _MAX_LEVEL and first >= 0 and last < _U64_LIMIT):
                            raise StoreError(
                                f"tree nodes (level {level}, index {first}..{last}) out of range"
                            )
                        if level == 0:  # the leaf hashes: read from the entries, not written
                            if not all(map(isinstance, hashes, repeat(bytes))):
                                raise StoreError("commit holds a tree node that is not bytes")
                            continue
                        base = level << 64
                        keys = [
                            (base + index).to_bytes(9, "big")
                            for index in range(first, first + len(hashes))
                        ]
                        deque(map(put, keys, hashes, repeat(tree)), maxlen=0)
                else:
                    for level, index, digest in nodes:
                        if not (0 <= level <= _MAX_LEVEL and 0 <= index < _U64_LIMIT):
                            raise StoreError(
                                f"tree node (level {level}, index {index}) out of range"
                            )
                        if level == 0:  # a leaf hash: read from its entry, not written
                            if not isinstance(digest, bytes):
                                raise StoreError("commit holds a tree node that is not bytes")
                            continue
                        put(bytes((level,)) + index.to_bytes(8, "big"), digest, tree)
                if batch.checkpoint is not None:
                    write_batch.put(
                        index_key(batch.end), batch.checkpoint, self._handles[CF_CHECKPOINTS]
                    )
                meta = self._handles[CF_META]
                for key, value in batch.meta.items():
                    write_batch.put(key.encode("utf-8"), value, meta)
                write_batch.put(SIZE_KEY, index_key(batch.end))  # default column family
            except StoreError:
                raise
            except Exception as exc:
                # Nothing is written yet: a bad value (not bytes) in the batch.
                _raise_store_error("commit", self._path, exc)
            try:
                db.write(write_batch, self._write_options)
            except Exception as exc:
                # RocksDB may or may not have applied the batch; only a reopen (WAL replay)
                # knows, so this instance stops accepting writes.
                self._failed = _describe(exc)
                _raise_store_error("commit", self._path, exc)
            try:
                db.flush_wal(True)  # the sync, without the interpreter lock
            except Exception as exc:
                # Applied in memory, maybe not on disk: neither written to again nor served.
                self._failed = self._unsynced = _describe(exc)
                _raise_store_error("commit", self._path, exc)
            self._size = self._bound = batch.end  # published: readers now see this commit

    # --- copies ---------------------------------------------------------------------------

    def copy_to(self, destination: str | Path) -> None:
        """Copies every key of every column family, the store's bookkeeping included, into a
        new store at `destination`: the store as this instance sees it. Opened for audit
        (read-only, beside a running writer), that is one consistent moment of it; RocksDB's
        own Checkpoint, made from a read-only instance, leaves out whatever the writer has not
        yet flushed. Open the copy normally to have it checked."""
        target_path = Path(destination)
        if target_path.exists():
            raise StoreError(f"{target_path} exists: a copy goes to a new directory")
        try:
            target_path.mkdir(mode=0o700, parents=True)
            options = _options()
            options.create_if_missing(True)
            options.create_missing_column_families(True)
            target = rocksdict.Rdict(
                os.fspath(target_path),
                options,
                column_families={name: _options() for name in COLUMN_FAMILIES},
            )
            try:
                self._copy_into(target)
                target.flush(True)
            finally:
                target.close()
        except StoreError:
            raise
        except Exception as exc:
            _raise_store_error("copy", self._path, exc)

    def _copy_into(self, target: rocksdict.Rdict) -> None:
        db = self._db
        if db is None:
            raise StoreError(f"store at {self._path} is closed")
        quiet = rocksdict.WriteOptions()  # synced once, by the flush at the end
        for name in (*COLUMN_FAMILIES, "default"):
            source = db if name == "default" else self._cf(name)
            handle = None if name == "default" else target.get_column_family_handle(name)
            batch, pending = rocksdict.WriteBatch(raw_mode=True), 0
            it = source.iter()
            try:
                it.seek_to_first()
                while it.valid():
                    key: bytes = it.key()
                    value: bytes = it.value()
                    if handle is None:
                        batch.put(key, value)
                    else:
                        batch.put(key, value, handle)
                    pending += len(key) + len(value)
                    if pending >= _COPY_BATCH_BYTES:
                        target.write(batch, quiet)
                        batch, pending = rocksdict.WriteBatch(raw_mode=True), 0
                    it.next()
            finally:
                del it
            target.write(batch, quiet)

    # --- lifecycle ------------------------------------------------------------------------

    def _release(self) -> None:
        db, self._db = self._db, None
        cfs, self._cfs = self._cfs, {}
        self._handles = {}
        for cf in cfs.values():
            cf.close()
        if db is not None:
            db.close()

    def close(self) -> None:
        """Flushes nothing extra (every commit is already synced) and releases the directory."""
        with self._lock:
            if self._db is None:
                return
            try:
                self._release()
            except Exception as exc:
                _raise_store_error("close", self._path, exc)

    def __enter__(self) -> RocksDBLogStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
