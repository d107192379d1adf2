"""A case's investigation transferred to another unit, and a case's sections altered: the messages'
rules and the checks of a hand-over (pure; `node.station.case_transfer` runs them).

Transfer of investigation. A superior officer's order (the State Police Chief, a range DIG, a
district Police Chief) hands the investigation of a registered case to another unit: the Crime
Branch, a cyber police station, a women's cell, another station. Both logs record it, in the
pattern of the Zero FIR hand-over (`node.records.zero_fir`):

1. sender: a `CaseEvent{kind: "transferred", transfer: CaseTransfer{to_node_id, to_unit,
   ordered_by, order_reference, order_date, reason}}`; the `CaseHandover` carries the FIR entry
   and that event with inclusion proofs to the sender's signed checkpoint.
2. receiver: verifies all of it and appends a `CaseTakeover` entry holding the same proven
   entries (its log then proves what it took over, from whom, on which order); the
   `CaseAcceptance` carries that entry, proven.
3. sender: verifies the acceptance and appends `CaseEvent{kind: "transfer_accepted"}` naming
   the receiver's origin and its take-over entry.

After "transferred" the sending station records no further investigation in the case
(`INVESTIGATION_KINDS`): the investigation is the receiving unit's. What the court does with
the case and what the station is told of it (`AFTER_TRANSFER_KINDS`) may still be recorded:
the case stays on the court's file under the station's crime number until the unit files its
final report, and the station's court duty officer follows it.

Altered sections. When the investigation shows another offence (an attempt to murder becomes
murder when the injured dies; a section found not to apply is dropped), the investigating
officer reports the alteration to the court (an "alteration report" or "alteration memo": an
intimation to the court, no order of it needed; R. Westly v. Union of India, Madras High Court,
2019). The FIR is never amended (`SectionAlteration` events are appended; the FIR entry stays
as registered): the case's sections now are the FIR's (as corrected by amendments) with every
alteration applied in order (`apply_alterations`).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.checkpoint import Checkpoint
from ledger.errors import VerificationError
from ledger.proof import verify_log_head, verify_proven
from node.records.validation import Problems
from protos import federation_pb2, records_pb2

TRANSFERRED: Final = "transferred"
TRANSFER_ACCEPTED: Final = "transfer_accepted"
SECTIONS_ALTERED: Final = "sections_altered"

# What the sending station may still record once the investigation is transferred: the court's
# progress and judgments in the case (it stays on the court's file under this station's crime
# number), the FIR sent to the magistrate (a duty from registration), and the acceptance.
AFTER_TRANSFER_KINDS: Final = frozenset(
    {"court_progress", "court_disposal", "appeal_result", "sent_to_magistrate", TRANSFER_ACCEPTED}
)

# A case taken over is named at the receiving unit by the sender's FIR number and the sender's
# node id: "FIR No. 12/2026 of kerala/ernakulam-city/ps-kalamassery" (`case_key`). The unit
# registers no FIR of its own for it: the crime is counted once, by the station that registered
# it. Its case events carry that key as their `fir_number`, so the unit's index (lock-up and
# property registers, case diary, clocks) keys them apart from the unit's own FIRs.
_CASE_KEY = re.compile(
    r"^\s*FIR\s*No\.?\s*([0-9]{1,9})\s*/\s*([0-9]{4})\s+of\s+([a-z0-9][a-z0-9._/-]*)\s*$",
    re.IGNORECASE,
)
# What the unit does not record in a case it took over: what the sending station still records
# (the court's file stays there, AFTER_TRANSFER_KINDS), so that neither log counts it twice.
SENDER_ONLY_KINDS: Final = AFTER_TRANSFER_KINDS - {TRANSFER_ACCEPTED}


def case_key(fir_number: str, origin: str) -> str:
    """How a unit names a case it took over from the log `origin`: "FIR No. 12/2026 of
    kerala/ernakulam-city/ps-kalamassery" (the FIR's number, "of", the sender's node id)."""
    return f"{fir_number} of {origin.split('/', 1)[-1]}"


def parse_case_key(text: str) -> tuple[str, str] | None:
    """ "fir no. 12 / 2026 of kerala/x/ps-y" -> ("FIR No. 12/2026", "kerala/x/ps-y"); None when
    the text names no FIR of another station so."""
    match = _CASE_KEY.match(text or "")
    if match is None:
        return None
    return f"FIR No. {int(match[1])}/{match[2]}", match[3].lower()


def key(section: records_pb2.ActSection) -> tuple[str, str]:
    """How two citations are compared: the act's code in capitals, the section as written
    without spaces ("bns", "103 (1)" -> ("BNS", "103(1)"))."""
    return section.act.strip().upper(), "".join(section.section.split())


def apply_alterations(
    sections: Iterable[tuple[str, str]],
    alterations: Iterable[tuple[Sequence[tuple[str, str]], Sequence[tuple[str, str]]]],
) -> list[tuple[str, str]]:
    """The sections now: `sections` (the FIR's, as (act, section)) with each (added, dropped)
    alteration applied in order; a section keeps its place, an added one goes last."""
    now: list[tuple[str, str]] = []
    for cited in sections:
        if cited not in now:
            now.append(cited)
    for added, dropped in alterations:
        now = [s for s in now if s not in set(dropped)]
        now.extend(s for s in added if s not in now)
    return now


def check_alteration(
    alteration: records_pb2.SectionAlteration,
    current: Sequence[tuple[str, str]],
    registered_day: datetime.date | None,
    today: datetime.date,
    problems: Problems,
) -> None:
    """The report's particulars, and the change against the case's sections now: each section
    added not cited already, each dropped cited now, not every section dropped (the sections
    themselves are checked against the law tables by the station)."""
    problems.require(alteration.reason.strip(), "why the sections are altered")
    problems.require(alteration.court.strip(), "the court the alteration report went to")
    if not alteration.report_date.strip():
        problems.add("the date of the report to the court is required")
    else:
        try:
            day = datetime.date.fromisoformat(alteration.report_date.strip())
        except ValueError:
            problems.add(f"the report date {alteration.report_date[:20]!r} is not YYYY-MM-DD")
        else:
            if day > today:
                problems.add("the report to the court is dated in the future")
            elif registered_day is not None and day < registered_day:
                problems.add("the report to the court is dated before the FIR")
    if not alteration.added and not alteration.dropped:
        problems.add("an alteration adds or drops at least one section")
    added = [key(s) for s in alteration.added]
    dropped = [key(s) for s in alteration.dropped]
    for act, section in added:
        if (act, section) in current:
            problems.add(f"{act} {section} is already among the case's sections")
        if (act, section) in dropped:
            problems.add(f"{act} {section} is both added and dropped")
    for act, section in dropped:
        if (act, section) not in current:
            problems.add(f"{act} {section} is not among the case's sections now")
    if dropped and not added and set(current) <= set(dropped):
        problems.add("an alteration cannot drop every section of the case")


def check_transfer(transfer: records_pb2.CaseTransfer, today: datetime.date, p: Problems) -> None:
    """A transfer order's particulars: the unit (node id and name), who ordered it, the order's
    reference and date (not in the future), the reason."""
    p.require(transfer.to_node_id.strip(), "the receiving unit's node id")
    p.require(transfer.to_unit.strip(), "the receiving unit's name (Crime Branch, ...)")
    p.require(transfer.ordered_by.strip(), "who ordered the transfer")
    p.require(transfer.order_reference.strip(), "the order's reference")
    p.require(transfer.reason.strip(), "the reason for the transfer")
    if not transfer.order_date.strip():
        p.add("the date of the order is required")
        return
    try:
        day = datetime.date.fromisoformat(transfer.order_date.strip())
    except ValueError:
        p.add(f"the order date {transfer.order_date[:20]!r} is not YYYY-MM-DD")
        return
    if day > today:
        p.add("the transfer order is dated in the future")


@dataclass(frozen=True, slots=True)
class VerifiedCaseHandover:
    """A case hand-over whose note, signatures and proofs have been checked."""

    origin: str
    checkpoint: Checkpoint
    fir_index: int
    fir: records_pb2.Fir
    transfer_index: int
    event: records_pb2.CaseEvent
    officer_id: str


def verify_case_handover(
    handover: federation_pb2.CaseHandover | records_pb2.CaseTakeover,
    public_key: bytes,
    origin: str,
) -> VerifiedCaseHandover:
    """Checks a hand-over from the log `origin` whose key is `public_key` (followed through the
    key hand-overs it carries): the note, both leaves' signatures and inclusion proofs, the
    first an FIR with a number, the second a "transferred" event of that FIR written after it.
    A `CaseTakeover` entry (the same proven entries, kept in the receiver's log) checks the
    same. VerificationError if anything does not hold."""
    claimed = (
        handover.origin
        if isinstance(handover, federation_pb2.CaseHandover)
        else handover.from_origin
    )
    if claimed != origin:
        raise VerificationError(f"the message is from log {claimed!r}, expected {origin!r}")
    head = verify_log_head(
        handover.checkpoint, handover.key_handovers, pinned_key=public_key, origin=origin
    )
    fir_body = verify_proven(handover.fir, head.checkpoint, keys=head.keys, origin=origin).body
    event_body = verify_proven(
        handover.transfer, head.checkpoint, keys=head.keys, origin=origin
    ).body
    if fir_body.WhichOneof("record") != "fir" or not fir_body.fir.fir_number:
        raise VerificationError(f"entry {handover.fir.index} is not a numbered FIR")
    fir = fir_body.fir
    if event_body.WhichOneof("record") != "case_event":
        raise VerificationError(f"entry {handover.transfer.index} is not a case event")
    event = event_body.case_event
    if event.kind != TRANSFERRED or not event.HasField("transfer"):
        raise VerificationError(f"entry {handover.transfer.index} is not a transfer of the case")
    if event.fir_number != fir.fir_number:
        raise VerificationError("the transfer names another case than the FIR handed over")
    if handover.transfer.index <= handover.fir.index:
        raise VerificationError("the transfer precedes the FIR")
    return VerifiedCaseHandover(
        origin=origin,
        checkpoint=head.checkpoint,
        fir_index=handover.fir.index,
        fir=fir,
        transfer_index=handover.transfer.index,
        event=event,
        officer_id=event_body.officer_id,
    )


@dataclass(frozen=True, slots=True)
class VerifiedCaseAcceptance:
    origin: str
    takeover_index: int
    takeover: records_pb2.CaseTakeover


def verify_case_acceptance(
    acceptance: federation_pb2.CaseAcceptance, public_key: bytes, origin: str
) -> VerifiedCaseAcceptance:
    """Checks an acceptance from the receiving log `origin`: its note and the proven
    CaseTakeover entry."""
    head = verify_log_head(
        acceptance.checkpoint, acceptance.key_handovers, pinned_key=public_key, origin=origin
    )
    body = verify_proven(acceptance.taken_over, head.checkpoint, keys=head.keys, origin=origin).body
    if body.WhichOneof("record") != "case_takeover":
        raise VerificationError(f"entry {acceptance.taken_over.index} is not a case take-over")
    return VerifiedCaseAcceptance(origin, acceptance.taken_over.index, body.case_takeover)


__all__ = [
    "AFTER_TRANSFER_KINDS",
    "SECTIONS_ALTERED",
    "SENDER_ONLY_KINDS",
    "TRANSFERRED",
    "TRANSFER_ACCEPTED",
    "VerifiedCaseAcceptance",
    "VerifiedCaseHandover",
    "apply_alterations",
    "case_key",
    "check_alteration",
    "check_transfer",
    "key",
    "parse_case_key",
    "verify_case_acceptance",
    "verify_case_handover",
]
