"""Casework rules: a petition's life after its receipt, and an FIR's investigation.

Petitions: an enquiry is started; a preliminary enquiry needs the permission of an officer not
below the rank of DSP (the SDPO), which names the offences the information discloses, and lasts
at most 14 days, whose deadline is written in the permitting entry. Whether it may be permitted
at all the sections decide (`Statutes.preliminary_enquiry`, BNSS s.173(3)): the most serious
cited offence is cognizable and punishable with three years or more but less than seven, and
neither life nor death; otherwise the permission is refused (an FIR is registered at once). An
e-FIR from the portal is taken on record only when the informant signs it within 3 days; a
petition ends closed with a recorded reason, or converted to an FIR (`Fir.petition_receipt`
links the two). Missing-person and missing-child complaints must end in an FIR or a recorded
reason: they are overdue after `MISSING_OVERDUE_DAYS` (1 day; a missing child's complaint is to
be registered as an FIR at once, Bachpan Bachao Andolan v. Union of India, 2013, so a day is
already generous).

Cases: the investigating officer is assigned, then arrests, seizures, the case diary, the final
report (charge sheet or closure, BNSS s.193) and court progress are appended as `CaseEvent`
entries.

An accused who cannot be found is declared wanted on the case (`wanted`): the accused named by
the FIR's accused code (the event carries the name, relation and relative's name as the FIR
has them), on a basis (`WANTED_BASES`, in the event's `report_type`): a court's proclamation of
a person absconding (BNSS s.84: a warrant cannot be executed because the person absconds or
conceals himself), a warrant pending execution, or a lookout; the grounds in `text`; the court's
order or warrant, its reference and date as written, in `court` (not needed for a lookout, which
the police issue). The accused stays wanted until an arrest of the same accused code in the same
case, or a `wanted_withdrawn` event (the court recalled the proclamation or cancelled the
warrant: the reason in `text`, the order in `court`), both appended, never an edit. Wanted
persons are the station's register and, on aggregating nodes, a standing watch list
(docs/watch.md). The commands are in `node.station.casework`, the state they leave in the index in
`node.index.casework`; who may do each is for the web rules (`node.web.rules`).

Pure: constants and the one-line summary of a case event, no I/O.
"""

from __future__ import annotations

from node.records.sealing import WITHHELD_TEXT
from node.records.validation import DAY_MS, format_time
from protos import records_pb2

ENQUIRY_LIMIT_MS = 14 * DAY_MS  # a preliminary enquiry lasts at most 14 days (BNSS s.173(3))
EFIR_SIGNATURE_MS = 3 * DAY_MS  # the informant signs an e-FIR within 3 days (BNSS s.173(1)(ii))
MISSING_OVERDUE_DAYS = 1
PETITION_CATEGORIES = ("general", "missing_person", "missing_child", "e_fir")
MISSING_CATEGORIES = ("missing_person", "missing_child")
CASE_EVENT_KINDS = (
    "io_assigned",
    "arrest",
    "seizure",
    "case_diary",
    "final_report",
    "court_progress",
    "wanted",
    "wanted_withdrawn",
    "custody",
    "property_movement",
    "progress_informed",
    "sent_to_magistrate",
    "court_disposal",
    "appeal_result",
    "modus_operandi",
    "transferred",
    "transfer_accepted",
    "sections_altered",
)
# Why an accused is wanted (the `report_type` of a `wanted` event).
WANTED_BASES = ("proclamation", "warrant", "lookout")
# What ends a wanted status: an arrest of the accused in the case, or a withdrawal.
WANTED_ENDED_BY = ("arrest", "wanted_withdrawn")
REPORT_TYPES = ("charge_sheet", "closure")

# Petition statuses (petition_status.status).
RECEIVED, UNDER_ENQUIRY, CLOSED, CONVERTED = "received", "under_enquiry", "closed", "converted"
ENDED = (CLOSED, CONVERTED)  # a petition ends closed or converted to an FIR


def case_event_summary(event: records_pb2.CaseEvent) -> str:
    """One line describing a case event, for the case timeline."""
    kind = event.kind
    if kind == "io_assigned":
        return event.io_officer_id + (f": {event.text}" if event.text else "")
    if kind in ("arrest", "wanted", "wanted_withdrawn"):
        people = ", ".join(
            (f"{p.accused_code} " if p.accused_code else "")
            + (p.person.name or (WITHHELD_TEXT if p.person.identity_commitment else "?"))
            + (
                f" {p.person.relation or 'C/o'} {p.person.relative_name}"
                if kind != "arrest" and p.person.relative_name
                else ""
            )
            for p in event.persons
        )
        basis = " · ".join(x for x in (event.report_type, event.court) if x)
        return people + (f" ({basis})" if basis else "") + (f": {event.text}" if event.text else "")
    if kind == "custody":
        order = event.custody
        parts = [order.accused_code, order.order.replace("_", " "), order.court]
        if order.until_ms:
            parts.append(f"until {format_time(order.until_ms)}")
        if order.bail_bond:
            parts.append(order.bail_bond)
        return " · ".join(p for p in parts if p) + (f": {event.text}" if event.text else "")
    if kind in ("court_disposal", "appeal_result"):
        d = event.disposal
        parts = [d.court, d.case_number, d.judgment_date, " ".join(d.accused_codes), d.result]
        if d.sections:
            parts.append("u/s " + ", ".join(f"{s.act} {s.section}" for s in d.sections))
        parts.append(d.sentence)
        return " · ".join(p for p in parts if p) + (f": {event.text}" if event.text else "")
    if kind == "modus_operandi":
        mo = event.mo
        parts = [" ".join(mo.accused_codes), mo.time_of_day, mo.place_type, mo.entry_method,
                 " ".join(mo.property_taken), mo.weapon, mo.vehicle_used]  # fmt: skip
        text = " · ".join(p.replace("_", " ") for p in parts if p)
        return text + (f": {mo.note}" if mo.note else "")
    if kind in ("transferred", "transfer_accepted"):
        handed = event.transfer
        parts = [handed.to_unit, handed.to_node_id, handed.ordered_by, handed.order_reference,
                 handed.order_date]  # fmt: skip
        if kind == "transfer_accepted":
            parts = [f"taken over at {handed.receiver_origin}", f"entry {handed.takeover_index}"]
        head = " · ".join(p for p in parts if p)
        return head + (f": {handed.reason}" if handed.reason and kind == "transferred" else "")
    if kind == "sections_altered":
        change = event.alteration
        parts = []
        if change.added:
            parts.append("added " + ", ".join(f"{s.act} {s.section}" for s in change.added))
        if change.dropped:
            parts.append("dropped " + ", ".join(f"{s.act} {s.section}" for s in change.dropped))
        parts += [change.court, change.report_reference, change.report_date]
        return " · ".join(p for p in parts if p) + (f": {change.reason}" if change.reason else "")
    if kind == "sent_to_magistrate":
        return event.court + (f": {event.text}" if event.text else "")
    if kind == "property_movement":
        move = event.movement
        parts = [move.item, move.movement.replace("_", " "), move.counterpart, move.reference]
        return " · ".join(p for p in parts if p) + (f": {event.text}" if event.text else "")
    if kind == "seizure":
        items = ", ".join(
            " ".join(x for x in (i.category, i.description) if x) for i in event.property
        )
        return items + (f": {event.text}" if event.text else "")
    if kind == "final_report":
        sections = ", ".join(f"{s.act} {s.section}" for s in event.sections)
        head = event.report_type + (f" u/s {sections}" if sections else "")
        charged = " ".join(p.accused_code for p in event.persons if p.accused_code)
        head += f" against {charged}" if charged else ""
        return head + (f": {event.text}" if event.text else "")
    if kind == "court_progress":
        parts = [event.court, event.court_case_number]
        if event.next_hearing:
            parts.append(f"next hearing {event.next_hearing}")
        if event.outcome:
            parts.append(event.outcome)
        return " · ".join(p for p in parts if p) + (f": {event.text}" if event.text else "")
    return event.text
