"""Proven entries: one entry of a log, checked against that log's signed checkpoint.

An entry is believed when (1) the checkpoint note carries a valid signature by the log's key,
named by the log's origin, (2) the entry's leaf is signed by that key, (3) the leaf says it was
written as that index of that origin's log, and (4) its inclusion proof leads from the leaf's
hash to the root the checkpoint commits to. Every place that checks a record with its proof
calls this module: a fetched record and its receipt (federation/verify.py), a Zero FIR handed
over (node/records/zero_fir.py), the case page's "verified in ledger" mark (node/web).

The note is verified once (`verify_log_checkpoint`) and each entry against the Checkpoint it
yields (`verify_entry`), since every caller checks several entries against one note. A search
receipt has no checkpoint yet: `verify_signed_entry` does (2) and (3), and its caller derives
the root from the proof.

Pure: bytes in, decoded entries out, or VerificationError (ProofError for a bad proof). A
message that carries a leaf with its index and proof (federation_pb2.ProvenEntry) is checked
with `verify_proven`; a ledger's own leaves with `verify_entry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger import merkle
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.entry import parse_leaf
from ledger.errors import ProofError, VerificationError
from protos import ledger_pb2

__all__ = [
    "ProvenLeaf",
    "VerifiedEntry",
    "verify_entry",
    "verify_log_checkpoint",
    "verify_proven",
    "verify_signed_entry",
]


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    """One entry whose signature and place (and, from `verify_entry`, inclusion) were checked."""

    index: int
    leaf_hash: bytes
    body: ledger_pb2.EntryBody


def verify_log_checkpoint(note: bytes, *, public_key: bytes, origin: str) -> Checkpoint:
    """The checkpoint of `note`, once it is for `origin` and signed by the log's own key (which
    signs under the origin's name); VerificationError otherwise."""
    return verify_checkpoint(note, public_key, origin, origin)


def verify_signed_entry(
    leaf: bytes, index: int, *, public_key: bytes, origin: str
) -> VerifiedEntry:
    """The entry of `leaf` once it is signed by `public_key` and was written as entry `index`
    of the log `origin`. Checks no inclusion: see `verify_entry`."""
    parsed = parse_leaf(leaf)
    parsed.verify_signature(public_key)
    body = parsed.decode_body()
    if body.origin != origin:
        raise VerificationError(f"entry {index} was written in log {body.origin!r}, not {origin!r}")
    if body.index != index:
        raise VerificationError(f"entry {index} was written as entry {body.index}")
    return VerifiedEntry(index, merkle.leaf_hash(leaf), body)


def verify_entry(
    leaf: bytes,
    index: int,
    inclusion_proof: Sequence[bytes],
    checkpoint: Checkpoint,
    *,
    public_key: bytes,
    origin: str,
) -> VerifiedEntry:
    """The entry of `leaf` once it is signed by `public_key`, was written as entry `index` of
    the log `origin`, and `inclusion_proof` leads from it to the root of `checkpoint` (a
    checkpoint of that log already verified, by `verify_log_checkpoint`)."""
    if checkpoint.origin != origin:
        raise VerificationError(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    if index >= checkpoint.size:
        raise ProofError(f"entry {index} is outside the checkpoint's {checkpoint.size} entries")
    entry = verify_signed_entry(leaf, index, public_key=public_key, origin=origin)
    merkle.verify_inclusion(
        entry.leaf_hash, index, checkpoint.size, list(inclusion_proof), checkpoint.root
    )
    return entry


class ProvenLeaf(Protocol):
    """A leaf with its index and inclusion proof (federation_pb2.ProvenEntry is one)."""

    @property
    def leaf(self) -> bytes: ...

    @property
    def index(self) -> int: ...

    @property
    def inclusion_proof(self) -> Sequence[bytes]: ...


def verify_proven(
    proven: ProvenLeaf, checkpoint: Checkpoint, *, public_key: bytes, origin: str
) -> VerifiedEntry:
    """`verify_entry` of a proven leaf of the log `origin`, against its verified `checkpoint`."""
    return verify_entry(
        proven.leaf,
        proven.index,
        proven.inclusion_proof,
        checkpoint,
        public_key=public_key,
        origin=origin,
    )
