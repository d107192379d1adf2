"""Proven entries: one entry of a log, checked against that log's signed checkpoint.

An entry is believed when (1) the checkpoint note carries a valid signature by the log's key
in force at its size, named by the log's origin, (2) the entry's leaf is signed by the key in
force at its index, (3) the leaf says it was written as that index of that origin's log, and
(4) its inclusion proof leads from the leaf's hash to the root the checkpoint commits to. Every
place that checks a record with its proof calls this module: a fetched record and its receipt
(federation/verify.py), a Zero FIR handed over (node/records/zero_fir.py), the case page's
"verified in ledger" mark (node/web).

Which key is in force where is a `LogKeys` (ledger/keys.py). A reader holds one key it trusts
(pinned in federation.toml or a certificate); messages carry the log's key hand-over entries,
proven like any entry, and `verify_key_history` follows them: the pinned key must be one of the
keys they hand over between, each hand-over signed by the key before it. `verify_log_head`
does that and checks the note with the key in force at its size and each hand-over's
inclusion in it. A log that never rotated sends no hand-overs and is read with the pinned key.

The note is verified once (`verify_log_head`, or `verify_log_checkpoint` with keys already
known) and each entry against the Checkpoint it yields (`verify_entry`), since every caller
checks several entries against one note. A search receipt has no checkpoint yet:
`verify_signed_entry` does (2) and (3), its caller derives the root from the proof and checks
the hand-overs against that root with `verify_included`.

Pure: bytes in, decoded entries out, or VerificationError (ProofError for a bad proof). A
message that carries a leaf with its index and proof (federation_pb2.ProvenEntry) is checked
with `verify_proven`; a ledger's own leaves with `verify_entry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note, verify_checkpoint
from ledger.entry import parse_leaf
from ledger.errors import ProofError, VerificationError
from ledger.keys import LogKeys, handover_of
from protos import ledger_pb2

__all__ = [
    "ProvenLeaf",
    "VerifiedEntry",
    "VerifiedHead",
    "verify_entry",
    "verify_included",
    "verify_key_history",
    "verify_log_checkpoint",
    "verify_log_head",
    "verify_proven",
    "verify_signed_entry",
]


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    """One entry whose signature and place (and, from `verify_entry`, inclusion) were checked."""

    index: int
    leaf_hash: bytes
    body: ledger_pb2.EntryBody


@dataclass(frozen=True, slots=True)
class VerifiedHead:
    """A log's checkpoint, verified, and the log's keys up to its size."""

    checkpoint: Checkpoint
    keys: LogKeys


def verify_log_checkpoint(note: bytes, *, keys: LogKeys, origin: str) -> Checkpoint:
    """The checkpoint of `note`, once it is for `origin` and signed by the log's own key in
    force at its size (which signs under the origin's name); VerificationError otherwise."""
    size = parse_note(note)[0].size
    return verify_checkpoint(note, keys.key_at(size), origin, origin)


def verify_key_history(
    handovers: Sequence[ProvenLeaf], *, pinned_key: bytes, origin: str
) -> LogKeys:
    """The log's keys from its hand-over entries, oldest first: each must be a hand-over of
    `origin`'s log at the index it claims, signed by the key it hands over from, which is the
    key the one before handed over to; `pinned_key` must be one of the keys. No hand-overs:
    the log's only key is `pinned_key`. Checks no inclusion (see `verify_included`)."""
    if not handovers:
        return LogKeys.single(pinned_key)
    keys: LogKeys | None = None
    for proven in handovers:
        parsed = parse_leaf(proven.leaf)
        body = parsed.decode_body()
        where = f"the key hand-over at entry {proven.index}"
        if body.origin != origin or body.index != proven.index:
            raise VerificationError(f"{where} was written as entry {body.index} of {body.origin!r}")
        handover = handover_of(body)
        if handover is None:
            raise VerificationError(f"entry {proven.index} is no key hand-over")
        parsed.verify_signature(handover.previous_key)
        if keys is None:
            keys = LogKeys.single(handover.previous_key)
        keys = keys.after(handover)
    assert keys is not None
    if pinned_key not in keys:
        raise VerificationError(
            f"the key hand-overs of {origin} never pass through the key trusted for it"
        )
    return keys


def verify_included(proven: ProvenLeaf, size: int, root: bytes) -> None:
    """The leaf's inclusion proof leads to `root` of the tree of `size` (ProofError if not)."""
    if proven.index >= size:
        raise ProofError(f"entry {proven.index} is outside the tree's {size} entries")
    merkle.verify_inclusion(
        merkle.leaf_hash(proven.leaf), proven.index, size, list(proven.inclusion_proof), root
    )


def verify_log_head(
    note: bytes, handovers: Sequence[ProvenLeaf], *, pinned_key: bytes, origin: str
) -> VerifiedHead:
    """The log's checkpoint and keys: the hand-overs followed from `pinned_key`
    (`verify_key_history`), the note checked with the key in force at its size, and each
    hand-over's inclusion in it. VerificationError (ProofError) naming what failed."""
    keys = verify_key_history(handovers, pinned_key=pinned_key, origin=origin)
    checkpoint = verify_log_checkpoint(note, keys=keys, origin=origin)
    for proven in handovers:
        verify_included(proven, checkpoint.size, checkpoint.root)
    return VerifiedHead(checkpoint, keys.up_to(checkpoint.size))


def verify_signed_entry(leaf: bytes, index: int, *, keys: LogKeys, origin: str) -> VerifiedEntry:
    """The entry of `leaf` once it is signed by the key in force at `index` and was written as
    entry `index` of the log `origin`. Checks no inclusion: see `verify_entry`."""
    parsed = parse_leaf(leaf)
    parsed.verify_signature(keys.key_at(index))
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
    keys: LogKeys,
    origin: str,
) -> VerifiedEntry:
    """The entry of `leaf` once it is signed by the key in force at `index`, was written as
    entry `index` of the log `origin`, and `inclusion_proof` leads from it to the root of
    `checkpoint` (a checkpoint of that log already verified, by `verify_log_head`)."""
    if checkpoint.origin != origin:
        raise VerificationError(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    if index >= checkpoint.size:
        raise ProofError(f"entry {index} is outside the checkpoint's {checkpoint.size} entries")
    entry = verify_signed_entry(leaf, index, keys=keys, origin=origin)
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
    proven: ProvenLeaf, checkpoint: Checkpoint, *, keys: LogKeys, origin: str
) -> VerifiedEntry:
    """`verify_entry` of a proven leaf of the log `origin`, against its verified `checkpoint`."""
    return verify_entry(
        proven.leaf, proven.index, proven.inclusion_proof, checkpoint, keys=keys, origin=origin
    )
