"""The node's blob store: images and other large payloads of records, named by their SHA-256.

A ledger entry holds the digest of a photo or a fingerprint slip, never its bytes (an entry is at
most `ledger.log.MAX_ENTRY_BYTES`; a ten-print card scan is megabytes). The bytes live here, under
`<data dir>/blobs/`, one file per blob at `ab/cd/<64 hex digits>` with its content type beside it
(`<digest>.type`). Content addressing makes the store append-only in effect: a digest names one
content forever, a second `put` of the same bytes is a no-op, and whoever holds a digest from a
verified entry can check what any peer sends for it (`put_verified`).

Why plain files and not RocksDB (rocksdict, like the ledger): blobs are written once, read whole,
and large (hundreds of kilobytes to megabytes); RocksDB would copy each one through its write-ahead
log and compactions for no gain, while one file per blob is written once (temporary file, fsync,
atomic rename, fsync of the directory: a blob either is there whole or not at all after a crash),
is copied by `cctns admin backup` as an ordinary file with its digest in the manifest
(node/station/backup.py), and can be checked by anyone with `sha256sum`. The two-level fan-out keeps
directories small at millions of blobs.

Every blob is bounded (`limits.BLOB_BYTES`) and its content type checked (`limits.CODE`
characters, "type/subtype") before anything is written. The store never deletes: records are
evidence. It is not replicated by itself: replicas fetch the blobs the entries they hold name
(federation GetBlob) and keep them with `put_verified`. `BlobCheck` reads every blob back and
hashes it against its name, in bounded steps: the scrub's check (node/station/scrub.py) and
`cctns ledger verify`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ledger.errors import InputError, NotFound, StoreError, TamperError, TooLarge
from node.records import limits

BLOBS_DIR = "blobs"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
_TYPE_SUFFIX = ".type"


class BlobNotFound(NotFound, KeyError):
    """No blob with this digest in the store (a NotFound at the boundaries, a KeyError to
    callers that treat the store as a mapping)."""

    def __str__(self) -> str:  # KeyError quotes its argument; say it plainly
        return str(self.args[0]) if self.args else "blob not found"


def digest_of(data: bytes) -> str:
    """The SHA-256 hex digest that names `data` in every blob store."""
    return hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """`digest` when it is 64 lowercase hex digits, else InputError."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InputError("a blob digest is 64 lowercase hexadecimal digits (SHA-256)")
    return digest


def check_blob(data: bytes, content_type: str) -> None:
    """InputError listing what is wrong with a blob before it is stored (size, content type)."""
    problems: list[str] = []
    if not data:
        problems.append("the blob is empty")
    if len(content_type) > limits.CODE or not _CONTENT_TYPE.match(content_type):
        problems.append('content type must be a media type such as "image/jpeg"')
    if problems:
        raise InputError("; ".join(problems))
    if len(data) > limits.BLOB_BYTES:
        raise TooLarge(f"blob of {len(data)} bytes is over the limit of {limits.BLOB_BYTES} bytes")


class BlobStore:
    """Content-addressed, write-once store of blobs in a directory (or in memory for tests).

    Thread-safe: writes go through a temporary file and an atomic rename, so concurrent `put`s
    of the same content are harmless; the lock only guards the in-memory variant.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._memory: dict[str, tuple[bytes, str]] | None = {} if root is None else None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> BlobStore:
        """Opens (creating) the store in `directory` (owner-only)."""
        root = Path(directory)
        try:
            root.mkdir(parents=True, exist_ok=True)
            os.chmod(root, 0o700)
        except OSError as exc:
            raise StoreError(f"cannot open the blob store in {root}: {exc}") from exc
        return cls(root)

    @classmethod
    def memory(cls) -> BlobStore:
        """A store that lives only as long as the process (tests, tools)."""
        return cls(None)

    def close(self) -> None:
        """Nothing to release (every write is synced when `put` returns); kept for symmetry."""

    # -- writing ------------------------------------------------------------------------------

    def put(self, data: bytes, content_type: str) -> str:
        """Stores `data` durably and returns its SHA-256 hex digest. Storing the same bytes again
        is a no-op (the first content type stays). InputError/TooLarge for a bad blob."""
        check_blob(data, content_type)
        digest = digest_of(data)
        if self._memory is not None:
            with self._lock:
                self._memory.setdefault(digest, (bytes(data), content_type))
            return digest
        if self.has(digest):
            return digest
        path = self._path(digest)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The type first: a blob file present always has its type beside it.
            _write_atomic(path.with_name(path.name + _TYPE_SUFFIX), content_type.encode())
            _write_atomic(path, data)
        except OSError as exc:
            raise StoreError(f"cannot write blob {digest[:12]}: {exc}") from exc
        return digest

    def put_verified(self, digest: str, data: bytes, content_type: str) -> str:
        """Stores bytes a peer sent for `digest`; TamperError (nothing stored) when they do not
        hash to it."""
        check_digest(digest)
        actual = digest_of(data)
        if actual != digest:
            raise TamperError(f"blob sent for {digest[:12]}... hashes to {actual[:12]}...: refused")
        return self.put(data, content_type)

    def replace_verified(self, digest: str, data: bytes, content_type: str) -> str | None:
        """Puts bytes a peer sent for `digest` (TamperError, nothing changed, when they do not
        hash to it) in the place of a damaged or missing blob. A file there whose bytes no
        longer hash to its name is moved aside first, never deleted (it is the incident's
        record): into `damaged/` under the store, named by the digest and the time. Returns
        where it was moved ("damaged/<digest>.<ms>"), or None when nothing was there (a good
        blob there is left as it is)."""
        check_digest(digest)
        actual = digest_of(data)
        if actual != digest:
            raise TamperError(f"blob sent for {digest[:12]}... hashes to {actual[:12]}...: refused")
        if self._memory is not None:
            self.put(data, content_type)
            return None
        moved: str | None = None
        path = self._path(digest)
        with self._lock:
            if path.is_file():
                try:
                    if digest_of(path.read_bytes()) == digest:
                        return None
                except OSError:
                    pass  # unreadable: damaged too
                aside = f"damaged/{digest}.{time.time_ns() // 1_000_000}"
                assert self.root is not None
                try:
                    (self.root / "damaged").mkdir(exist_ok=True)
                    os.replace(path, self.root / aside)
                except OSError as exc:
                    raise StoreError(
                        f"cannot move damaged blob {digest[:12]} aside: {exc}"
                    ) from exc
                moved = aside
        self.put(data, content_type)
        return moved

    # -- reading ------------------------------------------------------------------------------

    def has(self, digest: str) -> bool:
        """Whether the blob is in the store (False for a malformed digest)."""
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            return False
        if self._memory is not None:
            return digest in self._memory
        return self._path(digest).is_file()

    def get(self, digest: str) -> bytes:
        """The blob's bytes; BlobNotFound (a KeyError) when absent."""
        check_digest(digest)
        if self._memory is not None:
            try:
                return self._memory[digest][0]
            except KeyError:
                raise BlobNotFound(f"no blob {digest[:12]}... in this node's store") from None
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {digest[:12]}... in this node's store") from None
        except OSError as exc:
            raise StoreError(f"cannot read blob {digest[:12]}: {exc}") from exc

    def content_type(self, digest: str) -> str:
        """The content type the blob was stored with; BlobNotFound when absent."""
        check_digest(digest)
        if self._memory is not None:
            try:
                return self._memory[digest][1]
            except KeyError:
                raise BlobNotFound(f"no blob {digest[:12]}... in this node's store") from None
        if not self.has(digest):
            raise BlobNotFound(f"no blob {digest[:12]}... in this node's store")
        path = self._path(digest)
        try:
            return path.with_name(path.name + _TYPE_SUFFIX).read_text("ascii")
        except OSError:
            return "application/octet-stream"

    def size(self, digest: str) -> int:
        """The blob's size in bytes; BlobNotFound when absent."""
        check_digest(digest)
        if self._memory is not None:
            return len(self.get(digest))
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {digest[:12]}... in this node's store") from None

    def digests(self) -> Iterator[str]:
        """Every digest in the store (no order promised)."""
        if self._memory is not None:
            with self._lock:
                yield from list(self._memory)
            return
        assert self.root is not None
        for path in self.root.glob("*/*/*"):
            if _DIGEST.match(path.name):
                yield path.name

    def verify(self, digest: str) -> bool:
        """Whether the stored bytes still hash to their name (the scrub's check)."""
        return digest_of(self.get(digest)) == digest

    def open_blob(self, digest: str) -> BinaryIO:
        """The blob's bytes as a stream, to be read in pieces (a blob may be 16 MiB);
        BlobNotFound when absent, StoreError when it cannot be opened."""
        check_digest(digest)
        if self._memory is not None:
            return io.BytesIO(self.get(digest))
        try:
            return self._path(digest).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {digest[:12]}... in this node's store") from None
        except OSError as exc:
            raise StoreError(f"cannot read blob {digest[:12]}: {exc}") from exc

    def relative_path(self, digest: str) -> str:
        """Where the blob lies in any node's data directory ("blobs/ab/cd/<digest>"): the same
        path in every store, a backup's included, since the content names it."""
        check_digest(digest)
        return f"{BLOBS_DIR}/{digest[:2]}/{digest[2:4]}/{digest}"

    def _path(self, digest: str) -> Path:
        assert self.root is not None
        return self.root / digest[:2] / digest[2:4] / digest


# Bytes a check reads per step, and what opening a blob counts as: a step reads a few
# milliseconds' worth (SHA-256 and the reads release the GIL), whether the blobs are 16 MiB
# slips or templates of a few hundred bytes (64 of them at most per step).
CHECK_CHUNK = 1024 * 1024
_OPEN_COST = 16 * 1024
# What an operator does about a damaged blob: `cctns node repair-blobs` fetches it back from the
# parent (which keeps the blobs its replicas' entries name), checked against the digest, the
# damaged file moved aside; or a good copy is put in its place by hand (its name proves it).
RECOVERY = (
    "run `cctns node repair-blobs` (it fetches the blob back from the parent, checked against "
    "the digest the log names, and keeps the damaged file aside), or move the damaged file "
    "aside (keep it: it is the incident's record) and copy a good one to the same path from a "
    "backup (`cctns admin backup` copies blobs/ as they are); the hash `sha256sum` prints for "
    "the copy must be its file name. On a parent, a child's blob moved aside is fetched from "
    "the child again after a restart."
)


@dataclass(frozen=True, slots=True)
class DamagedBlob:
    """A blob whose stored bytes no longer hash to its name, or that cannot be read back."""

    digest: str
    path: str  # in the data directory: "blobs/ab/cd/<digest>"
    problem: str
    unreadable: bool

    def __str__(self) -> str:
        return f"blob {self.digest} ({self.path}) {self.problem}"


class BlobCheck:
    """Re-reads every blob of a store and hashes it against its name, at most `chunk` bytes a
    `step`, so that its caller sets the pace (the scrub, node/station/scrub.py) or shows
    progress (`cctns ledger verify`). It only reads. What it finds is in `damaged`.

    A blob larger than a chunk is hashed over several steps, its file held open between them:
    `close` releases it. A blob gone since it was listed (moved aside by its operator) is
    skipped."""

    def __init__(
        self, store: BlobStore, digests: Iterable[str] | None = None, *, chunk: int = CHECK_CHUNK
    ) -> None:
        self._store = store
        self._digests = iter(store.digests() if digests is None else digests)
        self._chunk = chunk
        self._digest = ""
        self._stream: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._length = 0
        self.checked = 0  # blobs hashed whole (damaged ones included)
        self.read = 0  # bytes read
        self.damaged: list[DamagedBlob] = []

    def step(self) -> bool:
        """Reads and hashes the next `chunk` bytes (each blob opened counts as some); True once
        every blob is checked. StoreError when the store cannot be listed."""
        budget = self._chunk
        while budget > 0:
            if self._stream is None:
                if not self._open_next():
                    return True
                budget -= _OPEN_COST
            assert self._stream is not None
            try:
                data = self._stream.read(max(budget, _OPEN_COST))
            except OSError as exc:
                self._found(f"cannot be read: {exc}", unreadable=True)
                continue
            if not data:
                actual = self._hash.hexdigest()
                if actual == self._digest:
                    self._done()
                else:
                    self._found(
                        f"reads back as {self._length:,} bytes hashing to {actual}: "
                        "its bytes have changed",
                        unreadable=False,
                    )
                continue
            self._hash.update(data)
            self._length += len(data)
            self.read += len(data)
            budget -= len(data)
        return False

    def close(self) -> None:
        """Releases the blob being read, if any."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _open_next(self) -> bool:
        while True:
            try:
                digest = next(self._digests, None)
            except OSError as exc:
                raise StoreError(f"cannot list the blob store: {exc}") from exc
            if digest is None:
                return False
            try:
                self._stream = self._store.open_blob(digest)
            except BlobNotFound:
                continue
            except StoreError as exc:
                self._digest = digest
                self._found(f"cannot be read: {exc}", unreadable=True)
                continue
            self._digest = digest
            self._hash = hashlib.sha256()
            self._length = 0
            return True

    def _found(self, problem: str, *, unreadable: bool) -> None:
        digest = self._digest
        self.damaged.append(
            DamagedBlob(digest, self._store.relative_path(digest), problem, unreadable)
        )
        self._done()

    def _done(self) -> None:
        self.checked += 1
        self.close()


def _write_atomic(path: Path, data: bytes) -> None:
    """Writes `data` to `path` whole or not at all: temporary file, fsync, rename, fsync of the
    directory (so the rename itself survives a power cut)."""
    # ".tmp": what a crash leaves behind is skipped by backups (node/station/backup.py).
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
