"""The asker's side of a query: check what another office sent before believing any of it.

A RecordResponse is believed only if its checkpoint note is signed by the owning node's key for
the expected origin, and every entry in it (the record, each amendment, the audit receipt) is a
leaf signed by that key, written at the index it claims, in that origin's log, and included in
the tree the checkpoint commits to. "That key" is the key in force at each place: the asker
trusts one key of the owner (`owner_public_key`, pinned in federation.toml or its certificate)
and the message carries the owner's key hand-over entries, proven like the rest, which
ledger/proof.py follows from that key (docs/ledger.md, "Key rotation"). Search and hit/no-hit
receipts carry no checkpoint: their inclusion proof is for the tree whose last leaf they are
(size index + 1), which a later signed checkpoint can vouch for through a consistency proof.

Each entry is checked by ledger/proof.py, the one proven-entry verifier; this module reads the
federation's messages into it and checks what the entries say. Verifiers return the decoded
bodies or raise VerificationError naming the part that failed. This module is pure: no I/O, no
trio, no grpc.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.errors import VerificationError
from ledger.keys import LogKeys
from ledger.proof import (
    VerifiedEntry,
    verify_included,
    verify_key_history,
    verify_log_checkpoint,
    verify_log_head,
    verify_proven,
    verify_signed_entry,
)
from protos import federation_pb2, ledger_pb2

__all__ = [
    "VerifiedReceipt",
    "VerifiedRecord",
    "verify_receipt",
    "verify_record_response",
    "verify_replica_record_response",
]


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """An audit entry the answering node signed: the asker's proof that the query was logged."""

    index: int
    leaf_hash: bytes
    audit: ledger_pb2.AuditEntry
    written_at_ms: int
    root: bytes  # the root of the answering node's log at the size the proof was checked for
    size: int


@dataclass(frozen=True, slots=True)
class VerifiedRecord:
    """A record fetched from its owner, with its amendments, all checked against `checkpoint`."""

    origin: str
    checkpoint: Checkpoint
    record: VerifiedEntry
    amendments: tuple[VerifiedEntry, ...]
    receipt: VerifiedReceipt
    # Answered from a replica (a retired office's record): the office that holds it, and the
    # log the receipt is proven in (that office's own); "" when the owner answered itself.
    answered_by: str = ""
    receipt_origin: str = ""


def verify_record_response(
    response: federation_pb2.RecordResponse,
    *,
    expected_origin: str,
    owner_public_key: bytes,
    asker_node_id: str | None = None,
    expected_ref: str | None = None,
) -> VerifiedRecord:
    """Checks a whole RecordResponse against the owner's key; returns the decoded bodies.

    With `asker_node_id` the receipt must name that asker; with `expected_ref` it must record a
    fetch of that reference. Raises VerificationError on any mismatch.
    """
    if response.origin != expected_origin:
        raise VerificationError(
            f"the response is from log {response.origin!r}, expected {expected_origin!r}"
        )
    head = verify_log_head(
        response.checkpoint,
        response.key_handovers,
        pinned_key=owner_public_key,
        origin=expected_origin,
    )
    checkpoint, keys = head.checkpoint, head.keys
    record, amendments = _record_and_amendments(response, checkpoint, keys, expected_origin)
    if not response.HasField("receipt"):
        raise VerificationError("the response carries no receipt")
    receipt_entry = _verified_entry(
        response.receipt, checkpoint, keys, expected_origin, "the receipt"
    )
    receipt = _receipt_of(receipt_entry, checkpoint.root, checkpoint.size, asker_node_id)
    _check_fetch_receipt(receipt, expected_ref, "")
    return VerifiedRecord(
        origin=expected_origin,
        checkpoint=checkpoint,
        record=record,
        amendments=amendments,
        receipt=receipt,
    )


def verify_replica_record_response(
    response: federation_pb2.RecordResponse,
    *,
    expected_origin: str,
    owner_public_key: bytes,
    holder_node_id: str,
    holder_origin: str,
    holder_public_key: bytes,
    asker_node_id: str | None = None,
    expected_ref: str | None = None,
) -> VerifiedRecord:
    """Checks a RecordResponse answered from a replica (a retired office's record, fetched from
    the office holding its log): the record and its amendments against the log of
    `expected_origin` and its key (`owner_public_key`, followed through `key_handovers`), the
    receipt against the holder's own log and key (`receipt_checkpoint`,
    `receipt_key_handovers`). The receipt must record a fetch of `expected_ref` of that office.
    A proof from another log, or a record of the holder's own log, fails its origin's check.
    Raises VerificationError on any mismatch."""
    if response.origin != expected_origin:
        raise VerificationError(
            f"the response is from log {response.origin!r}, expected {expected_origin!r}"
        )
    if response.answered_by != holder_node_id:
        raise VerificationError(
            f"the response says it was answered by {response.answered_by!r}, not {holder_node_id!r}"
        )
    if not response.receipt_checkpoint:
        raise VerificationError("the response carries no checkpoint of the holder's own log")
    head = verify_log_head(
        response.checkpoint,
        response.key_handovers,
        pinned_key=owner_public_key,
        origin=expected_origin,
    )
    record, amendments = _record_and_amendments(
        response, head.checkpoint, head.keys, expected_origin
    )
    own = verify_log_head(
        response.receipt_checkpoint,
        response.receipt_key_handovers,
        pinned_key=holder_public_key,
        origin=holder_origin,
    )
    if not response.HasField("receipt"):
        raise VerificationError("the response carries no receipt")
    receipt_entry = _verified_entry(
        response.receipt, own.checkpoint, own.keys, holder_origin, "the receipt"
    )
    receipt = _receipt_of(receipt_entry, own.checkpoint.root, own.checkpoint.size, asker_node_id)
    _check_fetch_receipt(receipt, expected_ref, expected_origin.split("/", 1)[-1])
    return VerifiedRecord(
        origin=expected_origin,
        checkpoint=head.checkpoint,
        record=record,
        amendments=amendments,
        receipt=receipt,
        answered_by=holder_node_id,
        receipt_origin=holder_origin,
    )


def _record_and_amendments(
    response: federation_pb2.RecordResponse, checkpoint: Checkpoint, keys: LogKeys, origin: str
) -> tuple[VerifiedEntry, tuple[VerifiedEntry, ...]]:
    """The response's record and amendments, each proven to `checkpoint` of `origin`."""
    if not response.HasField("record"):
        raise VerificationError("the response carries no record")
    record = _verified_entry(response.record, checkpoint, keys, origin, "the record")
    if record.body.WhichOneof("record") in (None, "audit", "node_event", "amendment"):
        raise VerificationError(f"entry {record.index} is not a police record")
    amendments: list[VerifiedEntry] = []
    previous = record.index
    for number, proven in enumerate(response.amendments, 1):
        entry = _verified_entry(proven, checkpoint, keys, origin, f"amendment {number}")
        if entry.body.WhichOneof("record") != "amendment":
            raise VerificationError(f"amendment {number} (entry {entry.index}) is no amendment")
        if entry.body.amendment.amends_index != record.index:
            raise VerificationError(
                f"amendment {number} amends entry {entry.body.amendment.amends_index}, "
                f"not the record at {record.index}"
            )
        if entry.index <= previous:
            raise VerificationError(f"amendment {number} is out of ledger order")
        previous = entry.index
        amendments.append(entry)
    return record, tuple(amendments)


def _check_fetch_receipt(receipt: VerifiedReceipt, expected_ref: str | None, office: str) -> None:
    """The receipt records a fetch of a full record (of `expected_ref`; with `office`, of that
    office's record, as a replica's answer names it: "FIR No. 3/2026 @ <office>")."""
    if receipt.audit.query_kind != "fetch" or not receipt.audit.full_record:
        raise VerificationError("the receipt does not record a fetch of a full record")
    if expected_ref is not None and receipt.audit.query != expected_ref.strip():
        raise VerificationError(
            f"the receipt records a fetch of {receipt.audit.query!r}, not {expected_ref!r}"
        )
    if office and not any(r.endswith(f" @ {office}") for r in receipt.audit.returned_refs):
        raise VerificationError(f"the receipt does not record a fetch of {office}'s record")


def verify_receipt(
    receipt: federation_pb2.ProvenEntry,
    *,
    expected_origin: str,
    owner_public_key: bytes,
    asker_node_id: str | None = None,
    key_handovers: Sequence[federation_pb2.ProvenEntry] = (),
    checkpoint: bytes | None = None,
    consistency_proof: Sequence[bytes] = (),
) -> VerifiedReceipt:
    """Checks the receipt of a search or hit/no-hit answer (proof for size index + 1).

    The leaf must be an AuditEntry signed by the owner at `receipt.index` of `expected_origin`
    (with the key in force there, following the response's `key_handovers` from
    `owner_public_key`), and its inclusion proof must lead to a root of the tree of index + 1
    leaves, to which every hand-over's proof must lead too. With a signed `checkpoint` note of
    a later size, `consistency_proof` (from size index + 1 to the note's size, e.g. from
    PeerClient.get_consistency_proof) must tie that root to the note's; a note of exactly that
    size must carry that root. Raises VerificationError on any mismatch.
    """
    size = receipt.index + 1
    keys = verify_key_history(key_handovers, pinned_key=owner_public_key, origin=expected_origin)
    entry = _verified_entry(receipt, None, keys, expected_origin, "the receipt")
    root = merkle.root_from_inclusion_proof(
        entry.leaf_hash, receipt.index, size, list(receipt.inclusion_proof)
    )
    for proven in key_handovers:
        verify_included(proven, size, root)
    if checkpoint is not None:
        note = verify_log_checkpoint(checkpoint, keys=keys, origin=expected_origin)
        if note.size < size:
            raise VerificationError(
                f"the checkpoint covers {note.size} entries, before the receipt at {receipt.index}"
            )
        if note.size == size:
            if consistency_proof:
                raise VerificationError("a consistency proof to the same size must be empty")
            if note.root != root:
                raise VerificationError("the receipt's inclusion proof disagrees with the note")
        else:
            merkle.verify_consistency(size, note.size, list(consistency_proof), root, note.root)
    return _receipt_of(entry, root, size, asker_node_id)


def _verified_entry(
    proven: federation_pb2.ProvenEntry,
    checkpoint: Checkpoint | None,
    keys: LogKeys,
    origin: str,
    what: str,
) -> VerifiedEntry:
    """`proven` checked by ledger/proof.py: against `checkpoint`, or (None) its signature and
    place only; the error names `what` failed."""
    try:
        if checkpoint is None:
            return verify_signed_entry(proven.leaf, proven.index, keys=keys, origin=origin)
        return verify_proven(proven, checkpoint, keys=keys, origin=origin)
    except VerificationError as exc:
        raise VerificationError(f"{what}: {exc}") from exc


def _receipt_of(
    entry: VerifiedEntry, root: bytes, size: int, asker_node_id: str | None
) -> VerifiedReceipt:
    if entry.body.WhichOneof("record") != "audit":
        raise VerificationError(f"the receipt (entry {entry.index}) is not an audit entry")
    audit = entry.body.audit
    if asker_node_id is not None and audit.asker_node_id != asker_node_id:
        raise VerificationError(
            f"the receipt names asker {audit.asker_node_id!r}, not {asker_node_id!r}"
        )
    return VerifiedReceipt(
        index=entry.index,
        leaf_hash=entry.leaf_hash,
        audit=audit,
        written_at_ms=entry.body.written_at_ms,
        root=root,
        size=size,
    )
