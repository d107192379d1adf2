"""Replication of blobs: the photos and fingerprint slips that replicated entries name.

An entry never carries an image, only its SHA-256 (a `Photo`'s `sha256`, with its
`content_type`). A replica of a log therefore holds the entries without the images; this module
fetches them. Theory of operation, one `BlobFollower` per followed log:

  1. scan: the replica's verified entries from the follower's cursor to the replica's verified
     size are read; every blob they name (`referenced_blobs`) that the node's keeper does not
     hold is pending. The cursor moves past what was scanned, so each entry is read once per
     process (a restart scans again from 0: cheap next to the fetches, which `has` skips).
  2. fetch: each pending blob is asked of the child (GetBlob, from the same peer the entries
     came from) and kept only through `BlobKeeper.put_verified`, which refuses bytes that do not
     hash to the digest the verified entry names (TamperError): the child's word is never
     needed for a blob, only the entry's signature and the hash.
  3. a blob that could not be had (the child unreachable, the blob not there yet, bytes
     refused) stays pending and is asked for again in the next round; refused bytes are
     counted and logged, never stored.

The federation knows no record kinds beyond what the entry protos say: any message inside an
entry's record with a `sha256` string field names a blob (with its `content_type` beside it),
so photos and fingerprint slips are fetched alike. What a node does with a stored blob (a face
index) is its own business: `on_stored` tells it, once per process for each entry naming a
blob, when the blob is held (fetched in this round, or held before: after a restart).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

import trio
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from federation.interfaces import LogReader, PeerClient
from ledger.entry import parse_leaf
from ledger.errors import CctnsError, PeerError, PeerUnavailable, TamperError
from protos import federation_pb2, ledger_pb2

log = logging.getLogger(__name__)

_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")
# Entries read from the replica at a time while scanning.
SCAN_CHUNK: Final = 2000
DEFAULT_TIMEOUT: Final = 30.0


class BlobKeeper(Protocol):
    """Where a node keeps blobs (node/station/blobs.py `BlobStore`)."""

    def has(self, digest: str) -> bool: ...

    def put_verified(self, digest: str, data: bytes, content_type: str) -> str:
        """Keeps `data` if it hashes to `digest`, else raises TamperError."""
        ...


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob an entry names."""

    digest: str
    content_type: str


@dataclass(frozen=True, slots=True)
class NamedBlob:
    """A blob and the entry that names it."""

    origin: str
    index: int
    body: ledger_pb2.EntryBody
    blob: BlobRef


@dataclass(slots=True)
class BlobProgress:
    """What one round did."""

    origin: str
    scanned_to: int
    fetched: int = 0
    refused: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


def referenced_blobs(body: ledger_pb2.EntryBody) -> list[BlobRef]:
    """The blobs an entry's record names: every message in it with a well-formed `sha256`."""
    kind = body.WhichOneof("record")
    if kind is None:
        return []
    return list(dict.fromkeys(_walk(getattr(body, kind))))


def named_blobs(leaves: Iterable[bytes]) -> dict[str, tuple[int, BlobRef]]:
    """The blobs the entries of a log name, from its leaves in order (the first at index 0):
    digest -> (the first entry naming it, the reference)."""
    named: dict[str, tuple[int, BlobRef]] = {}
    for index, leaf in enumerate(leaves):
        for ref in referenced_blobs(parse_leaf(leaf).decode_body()):
            named.setdefault(ref.digest, (index, ref))
    return named


def _walk(message: Message) -> Iterator[BlobRef]:
    descriptor = message.DESCRIPTOR
    digest_field = descriptor.fields_by_name.get("sha256")
    if digest_field is not None and digest_field.type == FieldDescriptor.TYPE_STRING:
        digest = str(getattr(message, digest_field.name))
        if _DIGEST.match(digest):
            type_field = descriptor.fields_by_name.get("content_type")
            content_type = str(getattr(message, type_field.name)) if type_field else ""
            content_type = content_type or "application/octet-stream"
            yield BlobRef(digest, content_type)
    for item, value in message.ListFields():
        if item.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        values: Iterable[Message] = value if _is_repeated(item) else [value]
        for child in values:
            yield from _walk(child)


def _is_repeated(item: FieldDescriptor) -> bool:
    return bool(item.is_repeated)


def join_blob_chunks(chunks: list[federation_pb2.BlobChunk], node_id: str = "") -> bytes:
    """A GetBlob answer's bytes; PeerError when the chunks disagree with the size they state."""
    if not chunks:
        raise PeerError("the blob came back empty", node_id)
    data = b"".join(chunk.data for chunk in chunks)
    if len(data) != chunks[0].total_size:
        raise PeerError(
            f"blob of {len(data)} bytes where {chunks[0].total_size} were announced", node_id
        )
    return data


class BlobFollower:
    """Keeps the blobs one replica's entries name (see the module's header)."""

    def __init__(
        self,
        replica: LogReader,
        keeper: BlobKeeper,
        *,
        on_stored: Callable[[NamedBlob], None] | None = None,
    ) -> None:
        self.replica = replica
        self.keeper = keeper
        self.on_stored = on_stored
        self.scanned = 0
        self.refused = 0
        self._pending: dict[str, NamedBlob] = {}

    @property
    def pending(self) -> list[NamedBlob]:
        return list(self._pending.values())

    def scan(self) -> int:
        """Reads the entries verified since the last scan; returns how many blobs are pending."""
        size = self.replica.size()
        while self.scanned < size:
            end = min(size, self.scanned + SCAN_CHUNK)
            for offset, leaf in enumerate(self.replica.leaves(self.scanned, end)):
                body = parse_leaf(leaf).decode_body()
                for ref in referenced_blobs(body):
                    named = NamedBlob(self.replica.origin, self.scanned + offset, body, ref)
                    if self.keeper.has(ref.digest):
                        self._told(named)  # held before (a restart): told once per process
                    elif ref.digest not in self._pending:
                        self._pending[ref.digest] = named
            self.scanned = end
        return len(self._pending)

    def keep(self, named: NamedBlob, data: bytes) -> None:
        """Stores bytes fetched for a pending blob (TamperError when they do not hash to its
        digest), then tells `on_stored` (whose failure is logged: the blob stays stored)."""
        self.keeper.put_verified(named.blob.digest, data, named.blob.content_type)
        self._told(named)

    def _told(self, named: NamedBlob) -> None:
        if self.on_stored is None:
            return
        try:
            self.on_stored(named)
        except CctnsError as exc:
            log.warning("blob %s of %s held; %s", named.blob.digest[:12], named.origin, exc)

    async def round(self, client: PeerClient, *, timeout: float = DEFAULT_TIMEOUT) -> BlobProgress:
        """Scans, then asks `client` for every pending blob, keeping those that hash right.
        PeerUnavailable ends the round early (the rest wait for the next). Reading the replica,
        storing and `on_stored` (a face embedding) run in a worker thread."""
        await trio.to_thread.run_sync(self.scan)
        progress = BlobProgress(self.replica.origin, self.scanned)
        for digest, named in list(self._pending.items()):
            try:
                data = await client.get_blob(named.origin, digest, timeout=timeout)
                await trio.to_thread.run_sync(self.keep, named, data)
            except PeerUnavailable as exc:
                progress.errors.append(str(exc))
                break
            except TamperError as exc:
                self.refused += 1
                progress.refused += 1
                progress.errors.append(str(exc))
                log.error("replica of %s: blob refused: %s", named.origin, exc)
                continue
            except CctnsError as exc:  # not there (yet), refused, malformed answer
                progress.errors.append(str(exc))
                continue
            del self._pending[digest]
            progress.fetched += 1
        progress.pending = len(self._pending)
        return progress


async def follow_blobs_forever(
    follower: BlobFollower,
    client: PeerClient,
    *,
    poll_interval: float = 10.0,
    timeout: float = DEFAULT_TIMEOUT,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Runs `BlobFollower.round` every `poll_interval` seconds until cancelled."""
    task_status.started()
    while True:
        try:
            progress = await follower.round(client, timeout=timeout)
        except CctnsError as exc:
            log.warning("blobs of %s: round failed: %s", follower.replica.origin, exc)
        else:
            if progress.fetched:
                log.info(
                    "blobs of %s: %d fetched, %d pending",
                    progress.origin,
                    progress.fetched,
                    progress.pending,
                )
        await trio.sleep(poll_interval)
