"""Blobs of the node's own log fetched back from a peer that holds them: after a storage fault
(the scrub or `cctns ledger verify` found one damaged), after a standby took over before every
image had come across, or after a restore from an old backup (docs/storage.md).

The node's own entries name each blob by SHA-256 (federation/blobs.py `named_blobs`); the
parent keeps the blobs its replicas' entries name (its blob follower), a standby the primary's,
so either can send one back (GetBlob, for the node's own origin). Nothing is taken on the peer's
word: bytes that do not hash to the digest the node's own signed entry names are refused, and
a damaged file is moved aside, never deleted (`BlobStore.replace_verified`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from federation.blobs import BlobRef
from federation.interfaces import PeerClient
from ledger.errors import CctnsError, TamperError
from node.station.blobs import BlobCheck, BlobStore

DEFAULT_TIMEOUT = 30.0


@dataclass(slots=True)
class Repair:
    """What a repair found and did, by digest."""

    named: int  # blobs the log names
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    moved_aside: list[str] = field(default_factory=list)  # "damaged/<digest>.<ms>"
    failed: dict[str, str] = field(default_factory=dict)  # digest -> why

    @property
    def complete(self) -> bool:
        return not self.failed


def find_faults(
    blobs: BlobStore,
    named: dict[str, BlobRef],
    *,
    rehash: bool = True,
    advance: Callable[[int], None] | None = None,
) -> Repair:
    """Which of the `named` blobs are missing from the store and (with `rehash`) which no
    longer hash to their names; `advance` is told the bytes read so far."""
    repair = Repair(len(named))
    held = [digest for digest in named if blobs.has(digest)]
    repair.missing = sorted(digest for digest in named if not blobs.has(digest))
    if rehash:
        check = BlobCheck(blobs, held)
        try:
            while not check.step():
                if advance is not None:
                    advance(check.read)
        finally:
            check.close()
        repair.damaged = sorted(found.digest for found in check.damaged)
    return repair


async def fetch_back(
    repair: Repair,
    origin: str,
    named: dict[str, BlobRef],
    blobs: BlobStore,
    client: PeerClient,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Repair:
    """Asks `client` for each missing and damaged blob of the log `origin` and puts each one
    that hashes right in its place; what could not be had is in `repair.failed`."""
    for digest in [*repair.missing, *repair.damaged]:
        try:
            data = await client.get_blob(origin, digest, timeout=timeout)
            moved = blobs.replace_verified(digest, data, named[digest].content_type)
        except TamperError as exc:
            repair.failed[digest] = f"refused: {exc}"
            continue
        except CctnsError as exc:  # not held there, unreachable, not permitted
            repair.failed[digest] = str(exc)
            continue
        repair.restored.append(digest)
        if moved is not None:
            repair.moved_aside.append(moved)
    return repair
