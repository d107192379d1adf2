"""The ledger proofs a page shows: the node's latest signed checkpoint checked with its public
key, then each entry's signature and its inclusion in that checkpoint; and the timeline line
of each entry (what it is, who wrote it, whether it verified).

The case page, the petition page and the FIR copy prove what they show here, once. Nothing here
writes; a failed check is reported on the entry, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.errors import CctnsError, VerificationError
from ledger.proof import verify_entry, verify_log_checkpoint
from node.records import casework as casework_rules
from node.station.core import Station
from node.web.errors import public_message
from protos import ledger_pb2

__all__ = ["EntryProof", "Proofs", "TimelineItem", "describe", "timeline", "verify_entries"]


@dataclass(frozen=True, slots=True)
class EntryProof:
    """Whether one ledger entry verified against the checkpoint."""

    index: int
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class Proofs:
    """The signed checkpoint checked, and each entry's inclusion in it."""

    ok: bool  # the checkpoint note verified
    checkpoint_size: int
    entries: dict[int, EntryProof]
    error: str = ""


def _shown(exc: CctnsError) -> str:
    # A failed check says what failed; a storage failure (its text may name files) does not.
    return str(exc) if isinstance(exc, VerificationError) else public_message(exc)


def verify_entries(station: Station, indexes: Iterable[int]) -> Proofs:
    """Checks the latest signed checkpoint with the node's key in force, then each entry (its
    signature by the key in force at its place, place and inclusion proof) against it, by
    `ledger.proof`."""
    ledger = station.ledger
    wanted = sorted(set(indexes))
    try:
        checkpoint = verify_log_checkpoint(
            ledger.checkpoint(), keys=ledger.keys, origin=ledger.origin
        )
    except CctnsError as exc:
        failed = {i: EntryProof(i, False, _shown(exc)) for i in wanted}
        return Proofs(False, 0, failed, _shown(exc))
    entries: dict[int, EntryProof] = {}
    for index in wanted:
        try:
            verify_entry(
                ledger.leaf(index),
                index,
                ledger.inclusion_proof(index, checkpoint.size),
                checkpoint,
                keys=ledger.keys,
                origin=ledger.origin,
            )
        except CctnsError as exc:
            entries[index] = EntryProof(index, False, _shown(exc))
        else:
            entries[index] = EntryProof(index, True)
    return Proofs(True, checkpoint.size, entries)


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One entry appended to a case or a petition, with its proof."""

    index: int
    kind: str
    officer_id: str
    written_at_ms: int
    title: str
    detail: str
    verified: bool
    error: str


def describe(body: ledger_pb2.EntryBody) -> tuple[str, str, str]:
    """(kind, title, detail) of an entry for a timeline; `kind` names the catalog key
    ("staff.kind.<kind>"): the record kind, and for casework its event or action."""
    kind = body.WhichOneof("record") or ""
    if kind == "fir":
        fir = body.fir
        sections = ", ".join(f"{s.act} {s.section}" for s in fir.sections)
        number = fir.fir_number or fir.zero_fir_number
        return kind, number, f"u/s {sections}" if sections else ""
    if kind == "amendment":
        amendment = body.amendment
        try:
            changes = json.loads(amendment.changes_json or "{}")
        except ValueError:
            changes = {}
        changed = ", ".join(sorted(changes)) if isinstance(changes, dict) else ""
        return kind, amendment.reason, changed
    if kind == "general_diary":
        gd = body.general_diary
        return kind, f"GD {gd.gd_date}/{gd.gd_number} ({gd.category})", gd.summary
    if kind == "zero_fir_transfer":
        zt = body.zero_fir_transfer
        detail = zt.to_station + (f" → {zt.assigned_fir_number}" if zt.assigned_fir_number else "")
        return kind, f"{zt.zero_fir_number}: {zt.direction}", detail
    if kind == "petition":
        return kind, body.petition.receipt_number, body.petition.subject
    if kind == "ncr":
        return kind, body.ncr.ncr_number, ""
    if kind == "disclosure":
        return kind, body.disclosure.record_ref, body.disclosure.authority
    if kind == "case_event":
        event = body.case_event
        return f"case_event.{event.kind}", casework_rules.case_event_summary(event), ""
    if kind == "history_sheet":
        sheet = body.history_sheet
        who = " ".join(p for p in (sheet.person.name, sheet.person.relation,
                                   sheet.person.relative_name) if p)  # fmt: skip
        parts = (sheet.action, sheet.category.replace("_", " "), sheet.order_reference)
        text = sheet.note or sheet.grounds
        return (
            kind,
            f"{sheet.sheet_number} {who}".strip(),
            " · ".join(p for p in parts if p) + (f": {text}" if text else ""),
        )
    if kind == "petition_update":
        update = body.petition_update
        parts = (update.note, update.fir_number, update.permitted_by)
        return (
            f"petition_update.{update.action}",
            update.receipt_number,
            " · ".join(p for p in parts if p),
        )
    return kind, kind, ""


def timeline(station: Station, indexes: Iterable[int]) -> tuple[list[TimelineItem], Proofs]:
    """The entries at `indexes` in ledger order, each proved against the latest checkpoint."""
    wanted = sorted(set(indexes))
    proofs = verify_entries(station, wanted)
    items = []
    for index in wanted:
        body = station.ledger.body(index)
        kind, title, detail = describe(body)
        proof = proofs.entries.get(index)
        items.append(
            TimelineItem(
                index=index,
                kind=kind,
                officer_id=body.officer_id,
                written_at_ms=body.written_at_ms,
                title=title,
                detail=detail,
                verified=proofs.ok and proof is not None and proof.ok,
                error=proof.error if proof is not None else proofs.error,
            )
        )
    return items, proofs
