"""The log's high-water mark: its latest signed checkpoint note, kept in a file outside the store.

Why a second record of the same fact: a store that loses a tail of committed entries (a
damaged write-ahead log that RocksDB replays only up to the damage; an older copy of the store
put back) is left as a smaller log that agrees with itself, so every check made inside the
store passes. The mark is the independent witness. `Ledger` writes it after each group commit
is durable and before any entry of the commit is acknowledged, so every acknowledged entry is
covered by the mark; on open the store must hold what the mark covers (`Ledger`,
`verify_log(mark=...)`), else `EntriesLost` says how many acknowledged entries are missing.
The node's parent holds a second witness, its verified replica of this log
(`federation.replication.resync_own_log`), and is where the missing entries come back from.

The mark is a plain record, `HighWaterMark(size, note)`: the file holds exactly one C2SP
signed note, which states its own size, so whoever continues or re-signs this log (a standby
taking over, a key rotation) keeps it current the same way. Reading does not verify the
signature; the ledger does, with the key it knows.

Cost, measured (simulations/bench.py): the durable append rate is the target, and a second
synced write per commit cost as much as the WAL's own sync on a busy disk (about 3 ms beside
4 to 7 ms). So the mark is one `pwrite` per group commit into the page cache (microseconds),
after the commit is durable and before it is acknowledged, and synced when the ledger closes;
the kernel writes it back within about 30 s. It therefore survives a crash or kill -9 of the
node and any fault of RocksDB's own files (the WAL byte flip it was made for). A power cut can
leave it some seconds behind, never ahead: it then misses a loss the parent's replica still
shows, and never raises a false alarm.

The file is one 4 KiB page, made owner-only (0600): the note, then NUL bytes. A note is a few
hundred bytes, within the first disk sector, and the file never changes length, so a power
cut leaves the old note or the new one.

Must never: import a storage engine; write a mark ahead of what the store holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ledger.checkpoint import parse_note
from ledger.errors import StoreError, VerificationError


@dataclass(frozen=True, slots=True)
class HighWaterMark:
    """The latest checkpoint of a log: its size and its signed note (not yet verified)."""

    size: int
    note: bytes

    @classmethod
    def of(cls, note: bytes) -> HighWaterMark:
        """The mark of a checkpoint note (its size read from the note; VerificationError when
        the note is malformed)."""
        return cls(parse_note(note)[0].size, note)


MARK_BYTES = 4096  # the file's fixed length: one page


class MarkFile:
    """The high-water mark in one file. Not thread-safe: the ledger writes it under its commit
    lock; readers (an auditor beside the node) read the whole file, one note."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def read(self) -> HighWaterMark | None:
        """The mark, or None when there is none yet; StoreError when the file is damaged."""
        try:
            note = self.path.read_bytes().rstrip(b"\0")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read the high-water mark {self.path}: {exc}") from exc
        if not note:
            return None
        try:
            return HighWaterMark.of(note)
        except VerificationError as exc:
            raise StoreError(
                f"the high-water mark {self.path} is damaged ({exc}); check the log against the "
                "parent (`cctns ledger verify --checkpoint`), then remove the file: the node "
                "writes it again from the store"
            ) from exc

    def write(self, mark: HighWaterMark) -> None:
        """Replaces the mark (in the page cache: `sync` or `close` puts it on disk)."""
        if len(mark.note) > MARK_BYTES:
            raise StoreError(f"a checkpoint note of {len(mark.note)} bytes does not fit the mark")
        try:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            os.pwrite(self._fd, mark.note.ljust(MARK_BYTES, b"\0"), 0)
        except OSError as exc:
            raise StoreError(f"cannot write the high-water mark {self.path}: {exc}") from exc

    def _open(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._fd = fd
        if os.fstat(fd).st_size != MARK_BYTES:
            # A new mark: its full length and its name on disk once, so that later writes
            # never change its length.
            os.pwrite(fd, bytes(MARK_BYTES), 0)
            os.ftruncate(fd, MARK_BYTES)
            os.fsync(fd)
            directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def sync(self) -> None:
        """Puts the mark written last on disk."""
        if self._fd is not None:
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                raise StoreError(f"cannot sync the high-water mark {self.path}: {exc}") from exc

    def close(self) -> None:
        """Syncs and releases the file."""
        try:
            self.sync()
        finally:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
