"""Casework: a petition's life after its receipt, and an FIR's investigation.

Petitions: an enquiry is started; a preliminary enquiry (offences punishable with 3 to 7 years,
BNSS s.173(3)) needs the permission of an officer not below the rank of DSP (the SDPO) and lasts
at most 14 days, whose deadline is written in the permitting entry; an e-FIR from the portal is
taken on record only when the informant signs it within 3 days; a petition ends closed with a
recorded reason, or converted to an FIR (`Fir.petition_receipt` links the two). Missing-person
and missing-child complaints must end in an FIR or a recorded reason: `overdue_missing_persons`
lists those that have not, after `MISSING_OVERDUE_DAYS` (1 day; a missing child's complaint is
to be registered as an FIR at once, Bachpan Bachao Andolan v. Union of India, 2013, so a day is
already generous).

Cases: the investigating officer is assigned (`assign_io`), then arrests, seizures, the case
diary, the final report (charge sheet or closure, BNSS s.193) and court progress are appended as
`CaseEvent` entries (`record_case_event`). Who may do each is for the web rules
(`node.web.rules`); this module checks the records themselves.

Every command validates first and writes nothing when anything is wrong (InputError listing every
problem), holding the station's single-writer lock while it reads the state and appends.
`CaseworkProjection` keeps the state in its own index tables (petition_status, petition_updates,
case_events, case_io), derived from the log only, so a rebuilt index has the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.log import now_ms
from node.records.validation import (
    Problems,
    check_officer,
    check_person,
    check_property,
    check_sections,
)
from node.station.core import CLOCK_SKEW_MS, Receipt, Station
from protos import ledger_pb2, records_pb2

__all__ = [
    "CASE_EVENT_KINDS",
    "EFIR_SIGNATURE_MS",
    "ENQUIRY_LIMIT_MS",
    "MISSING_OVERDUE_DAYS",
    "PETITION_CATEGORIES",
    "CaseEventRow",
    "CaseworkProjection",
    "PetitionStatus",
    "assign_io",
    "case_event_summary",
    "case_events",
    "charge_sheeted",
    "close_petition",
    "convert_to_fir",
    "current_io",
    "overdue_enquiries",
    "overdue_missing_persons",
    "pending_efirs",
    "permit_enquiry",
    "petition_status",
    "record_case_event",
    "sign_efir",
    "start_enquiry",
]

DAY_MS = 24 * 60 * 60 * 1000
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
)
REPORT_TYPES = ("charge_sheet", "closure")

# Petition statuses (petition_status.status).
RECEIVED, UNDER_ENQUIRY, CLOSED, CONVERTED = "received", "under_enquiry", "closed", "converted"
_ENDED = (CLOSED, CONVERTED)


# --- the projection -----------------------------------------------------------------------------

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

petition_status_table = sa.Table(
    "petition_status",
    _metadata,
    sa.Column("receipt_number", sa.String(40), primary_key=True),
    sa.Column("ledger_index", sa.BigInteger, nullable=False),
    sa.Column("received_at_ms", sa.BigInteger, nullable=False),
    sa.Column("category", sa.String(24), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("enquiry_permitted_by", sa.String(80), nullable=False),
    sa.Column("enquiry_deadline_ms", sa.BigInteger, nullable=False),  # 0: no permission
    sa.Column("efir_due_ms", sa.BigInteger, nullable=False),  # 0: not an e-FIR
    sa.Column("efir_signed_ms", sa.BigInteger, nullable=False),  # 0: not signed
    sa.Column("fir_number", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=False),  # the closing reason
    sa.Column("updated_index", sa.BigInteger, nullable=False),
    sa.Index("ix_petition_status_status", "status", "category"),
)
petition_updates_table = sa.Table(
    "petition_updates",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("receipt_number", sa.String(40), nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("fir_number", sa.String(40), nullable=False),
    sa.Column("permitted_by", sa.String(80), nullable=False),
    sa.Column("deadline_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("written_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_petition_updates_receipt", "receipt_number"),
)
case_events_table = sa.Table(
    "case_events",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("fir_number", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),  # who wrote it
    sa.Column("io_officer_id", sa.String(80), nullable=False),  # the case's IO after the event
    sa.Column("report_type", sa.String(24), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Index("ix_case_events_fir", "fir_number"),
)
case_io_table = sa.Table(
    "case_io",
    _metadata,
    sa.Column("fir_number", sa.String(40), primary_key=True),
    sa.Column("io_officer_id", sa.String(80), nullable=False),
    sa.Column("since_index", sa.BigInteger, nullable=False),
)


def case_event_summary(event: records_pb2.CaseEvent) -> str:
    """One line describing a case event, for the case timeline."""
    kind = event.kind
    if kind == "io_assigned":
        return event.io_officer_id + (f": {event.text}" if event.text else "")
    if kind == "arrest":
        people = ", ".join(
            (f"{p.accused_code} " if p.accused_code else "") + (p.person.name or "?")
            for p in event.persons
        )
        return people + (f": {event.text}" if event.text else "")
    if kind == "seizure":
        items = ", ".join(
            " ".join(x for x in (i.category, i.description) if x) for i in event.property
        )
        return items + (f": {event.text}" if event.text else "")
    if kind == "final_report":
        sections = ", ".join(f"{s.act} {s.section}" for s in event.sections)
        head = event.report_type + (f" u/s {sections}" if sections else "")
        return head + (f": {event.text}" if event.text else "")
    if kind == "court_progress":
        parts = [event.court, event.court_case_number]
        if event.next_hearing:
            parts.append(f"next hearing {event.next_hearing}")
        if event.outcome:
            parts.append(event.outcome)
        return " · ".join(p for p in parts if p) + (f": {event.text}" if event.text else "")
    return event.text


class CaseworkProjection:
    """The casework tables of the index, fed the same entries as the core tables."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        kind = body.WhichOneof("record")
        if kind == "petition":
            self._petition(conn, index, body.petition)
        elif kind == "petition_update":
            self._petition_update(conn, index, body)
        elif kind == "fir" and body.fir.petition_receipt:
            number = body.fir.fir_number or body.fir.zero_fir_number
            self._set_status(
                conn, body.fir.petition_receipt, index, status=CONVERTED, fir_number=number
            )
        elif kind == "case_event":
            self._case_event(conn, index, body)

    @staticmethod
    def _petition(conn: Connection, index: int, petition: records_pb2.Petition) -> None:
        category = petition.category or "general"
        due = petition.received_at_ms + EFIR_SIGNATURE_MS if category == "e_fir" else 0
        conn.execute(
            petition_status_table.insert().values(
                receipt_number=petition.receipt_number,
                ledger_index=index,
                received_at_ms=petition.received_at_ms,
                category=category,
                subject=petition.subject,
                status=RECEIVED,
                enquiry_permitted_by="",
                enquiry_deadline_ms=0,
                efir_due_ms=due,
                efir_signed_ms=0,
                fir_number="",
                note="",
                updated_index=index,
            )
        )

    @staticmethod
    def _set_status(conn: Connection, receipt: str, index: int, **values: Any) -> None:
        conn.execute(
            petition_status_table.update()
            .where(petition_status_table.c.receipt_number == receipt)
            .values(updated_index=index, **values)
        )

    def _petition_update(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        update = body.petition_update
        conn.execute(
            petition_updates_table.insert().values(
                ledger_index=index,
                receipt_number=update.receipt_number,
                action=update.action,
                note=update.note,
                fir_number=update.fir_number,
                permitted_by=update.permitted_by,
                deadline_ms=update.deadline_ms,
                officer_id=body.officer_id,
                written_at_ms=body.written_at_ms,
            )
        )
        receipt = update.receipt_number
        if update.action == "enquiry_started":
            self._set_status(conn, receipt, index, status=UNDER_ENQUIRY)
        elif update.action == "enquiry_permitted":
            self._set_status(
                conn,
                receipt,
                index,
                status=UNDER_ENQUIRY,
                enquiry_permitted_by=update.permitted_by,
                enquiry_deadline_ms=update.deadline_ms,
            )
        elif update.action == "informant_signed":
            self._set_status(conn, receipt, index, efir_signed_ms=body.written_at_ms)
        elif update.action == "closed":
            self._set_status(conn, receipt, index, status=CLOSED, note=update.note)
        elif update.action == "converted":
            self._set_status(conn, receipt, index, status=CONVERTED, fir_number=update.fir_number)

    @staticmethod
    def _case_event(conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        event = body.case_event
        io = conn.execute(
            sa.select(case_io_table.c.io_officer_id).where(
                case_io_table.c.fir_number == event.fir_number
            )
        ).scalar()
        if event.kind == "io_assigned":
            if io is None:
                conn.execute(
                    case_io_table.insert().values(
                        fir_number=event.fir_number,
                        io_officer_id=event.io_officer_id,
                        since_index=index,
                    )
                )
            else:
                conn.execute(
                    case_io_table.update()
                    .where(case_io_table.c.fir_number == event.fir_number)
                    .values(io_officer_id=event.io_officer_id, since_index=index)
                )
            io = event.io_officer_id
        conn.execute(
            case_events_table.insert().values(
                ledger_index=index,
                fir_number=event.fir_number,
                kind=event.kind,
                at_ms=event.at_ms or body.written_at_ms,
                officer_id=body.officer_id,
                io_officer_id=io or "",
                report_type=event.report_type,
                summary=case_event_summary(event),
            )
        )


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PetitionStatus:
    """Where a petition stands."""

    receipt_number: str
    ledger_index: int
    received_at_ms: int
    category: str
    subject: str
    status: str  # "received", "under_enquiry", "closed", "converted"
    enquiry_permitted_by: str
    enquiry_deadline_ms: int  # 0 when no preliminary enquiry was permitted
    efir_due_ms: int  # 0 when not an e-FIR
    efir_signed_ms: int  # 0 when not signed
    fir_number: str
    note: str

    @property
    def ended(self) -> bool:
        return self.status in _ENDED


@dataclass(frozen=True, slots=True)
class CaseEventRow:
    """One case event as indexed."""

    ledger_index: int
    fir_number: str
    kind: str
    at_ms: int
    officer_id: str
    io_officer_id: str
    report_type: str
    summary: str


def _status_of(row: Any) -> PetitionStatus:
    return PetitionStatus(
        receipt_number=row.receipt_number,
        ledger_index=int(row.ledger_index),
        received_at_ms=int(row.received_at_ms),
        category=row.category,
        subject=row.subject,
        status=row.status,
        enquiry_permitted_by=row.enquiry_permitted_by,
        enquiry_deadline_ms=int(row.enquiry_deadline_ms),
        efir_due_ms=int(row.efir_due_ms),
        efir_signed_ms=int(row.efir_signed_ms),
        fir_number=row.fir_number,
        note=row.note,
    )


def _statuses(station: Station, *conditions: sa.ColumnElement[bool]) -> list[PetitionStatus]:
    t = petition_status_table
    stmt = sa.select(t).where(*conditions).order_by(t.c.ledger_index)
    with station.index.engine.connect() as conn:
        return [_status_of(r) for r in conn.execute(stmt)]


def petition_status(station: Station, receipt: str) -> PetitionStatus | None:
    """The petition `receipt` ("PET/2026/000123") as it stands, or None if not received here."""
    found = _statuses(station, petition_status_table.c.receipt_number == receipt.strip())
    return found[0] if found else None


def petition_statuses(station: Station, receipts: Iterable[str]) -> dict[str, PetitionStatus]:
    """The statuses of several petitions, by receipt number."""
    wanted = sorted(set(receipts))
    if not wanted:
        return {}
    rows = _statuses(station, petition_status_table.c.receipt_number.in_(wanted))
    return {r.receipt_number: r for r in rows}


def petition_updates(station: Station, receipt: str) -> list[int]:
    """Ledger indexes of a petition's updates, in order."""
    t = petition_updates_table
    stmt = (
        sa.select(t.c.ledger_index).where(t.c.receipt_number == receipt).order_by(t.c.ledger_index)
    )
    with station.index.engine.connect() as conn:
        return [int(i) for i in conn.execute(stmt).scalars()]


def pending_efirs(station: Station) -> list[PetitionStatus]:
    """e-FIRs still open and awaiting the informant's signature (`efir_due_ms` says until when;
    one past it is shown too, as lapsed, until it is closed)."""
    t = petition_status_table
    return _statuses(
        station, t.c.category == "e_fir", t.c.efir_signed_ms == 0, t.c.status.not_in(_ENDED)
    )


def overdue_missing_persons(
    station: Station, *, days: int = MISSING_OVERDUE_DAYS, now: int | None = None
) -> list[PetitionStatus]:
    """Missing-person and missing-child complaints received more than `days` ago that have
    ended neither in an FIR nor in a recorded reason."""
    cutoff = (now_ms() if now is None else now) - days * DAY_MS
    t = petition_status_table
    return _statuses(
        station,
        t.c.category.in_(MISSING_CATEGORIES),
        t.c.status.not_in(_ENDED),
        t.c.received_at_ms < cutoff,
    )


def overdue_enquiries(station: Station, *, now: int | None = None) -> list[PetitionStatus]:
    """Petitions whose permitted preliminary enquiry has passed its 14-day limit undecided."""
    moment = now_ms() if now is None else now
    t = petition_status_table
    return _statuses(
        station,
        t.c.enquiry_deadline_ms > 0,
        t.c.enquiry_deadline_ms < moment,
        t.c.status.not_in(_ENDED),
    )


def case_events(station: Station, fir_number: str) -> list[CaseEventRow]:
    """The case events of an FIR, in ledger order."""
    t = case_events_table
    stmt = sa.select(t).where(t.c.fir_number == fir_number).order_by(t.c.ledger_index)
    with station.index.engine.connect() as conn:
        return [
            CaseEventRow(
                ledger_index=int(r.ledger_index),
                fir_number=r.fir_number,
                kind=r.kind,
                at_ms=int(r.at_ms),
                officer_id=r.officer_id,
                io_officer_id=r.io_officer_id,
                report_type=r.report_type,
                summary=r.summary,
            )
            for r in conn.execute(stmt)
        ]


def current_io(station: Station, fir_number: str) -> str:
    """The case's investigating officer ("" until one is assigned)."""
    t = case_io_table
    with station.index.engine.connect() as conn:
        found = conn.execute(
            sa.select(t.c.io_officer_id).where(t.c.fir_number == fir_number)
        ).scalar()
    return str(found or "")


def charge_sheeted(station: Station, fir_number: str) -> bool:
    """Whether a charge sheet has been filed in the case."""
    t = case_events_table
    stmt = sa.select(sa.func.count()).where(
        t.c.fir_number == fir_number, t.c.kind == "final_report", t.c.report_type == "charge_sheet"
    )
    with station.index.engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())


# --- petition commands --------------------------------------------------------------------------


def _open_petition(station: Station, receipt: str, problems: Problems) -> PetitionStatus | None:
    found = petition_status(station, receipt) if receipt.strip() else None
    if found is None:
        problems.add(f"no petition {receipt!r} at this station")
    elif found.ended:
        what = f"converted to {found.fir_number}" if found.status == CONVERTED else "closed"
        problems.add(f"{found.receipt_number} is already {what}")
    return found


def _update(station: Station, officer_id: str, update: records_pb2.PetitionUpdate) -> Receipt:
    return station.append_records(officer_id, [update], ref=update.receipt_number)


def start_enquiry(station: Station, officer_id: str, receipt: str, note: str = "") -> Receipt:
    """Starts the enquiry into a petition."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        found = _open_petition(station, receipt, problems)
        if found is not None and found.status == UNDER_ENQUIRY:
            problems.add(f"the enquiry into {found.receipt_number} has already started")
        problems.raise_if_any("enquiry not started")
        assert found is not None
        return _update(
            station,
            officer_id,
            records_pb2.PetitionUpdate(
                receipt_number=found.receipt_number, action="enquiry_started", note=note.strip()
            ),
        )


def permit_enquiry(
    station: Station, sdpo_officer_id: str, receipt: str, *, now: int | None = None, note: str = ""
) -> Receipt:
    """Records the SDPO's permission for a preliminary enquiry: at most 14 days from `now`
    (the deadline is written in the entry). The role check is the web rules' ("enquiry.permit")."""
    moment = now_ms() if now is None else now
    with station.writing():
        problems = Problems()
        check_officer(sdpo_officer_id, problems)
        found = _open_petition(station, receipt, problems)
        if found is not None and found.enquiry_deadline_ms:
            problems.add(
                f"a preliminary enquiry into {found.receipt_number} was already permitted "
                f"by {found.enquiry_permitted_by}"
            )
        problems.raise_if_any("enquiry not permitted")
        assert found is not None
        return _update(
            station,
            sdpo_officer_id,
            records_pb2.PetitionUpdate(
                receipt_number=found.receipt_number,
                action="enquiry_permitted",
                note=note.strip(),
                permitted_by=sdpo_officer_id,
                deadline_ms=moment + ENQUIRY_LIMIT_MS,
            ),
        )


def sign_efir(
    station: Station, officer_id: str, receipt: str, *, now: int | None = None
) -> Receipt:
    """Records the informant's signature on an e-FIR, within 3 days of its receipt."""
    moment = now_ms() if now is None else now
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        found = _open_petition(station, receipt, problems)
        if found is not None and not found.ended:
            if found.category != "e_fir":
                problems.add(f"{found.receipt_number} is not an e-FIR")
            elif found.efir_signed_ms:
                problems.add(f"the informant has already signed {found.receipt_number}")
            elif moment > found.efir_due_ms:
                problems.add("the 3-day window for the informant's signature has passed")
        problems.raise_if_any("signature not recorded")
        assert found is not None
        return _update(
            station,
            officer_id,
            records_pb2.PetitionUpdate(
                receipt_number=found.receipt_number, action="informant_signed"
            ),
        )


def close_petition(station: Station, officer_id: str, receipt: str, reason: str) -> Receipt:
    """Closes a petition with its recorded reason (the enquiry's result). A missing-person or
    missing-child complaint ends in an FIR or in exactly this: a recorded reason."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        found = _open_petition(station, receipt, problems)
        if not reason.strip():
            if found is not None and found.category in MISSING_CATEGORIES:
                problems.add(
                    "a missing-person complaint ends in an FIR or a recorded reason: "
                    "the reason for closing is required"
                )
            else:
                problems.add("the reason for closing is required")
        problems.raise_if_any("petition not closed")
        assert found is not None
        return _update(
            station,
            officer_id,
            records_pb2.PetitionUpdate(
                receipt_number=found.receipt_number, action="closed", note=reason.strip()
            ),
        )


def convert_to_fir(
    station: Station, officer_id: str, receipt: str, fir: records_pb2.Fir
) -> Receipt:
    """Registers an FIR on a petition (`fir.petition_receipt` links it), then appends the
    petition's "converted" update naming the FIR. Returns the FIR's receipt. An e-FIR is taken
    on record only once its informant has signed."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        found = _open_petition(station, receipt, problems)
        if found is not None:
            if fir.petition_receipt and fir.petition_receipt != found.receipt_number:
                problems.add(f"the FIR names petition {fir.petition_receipt}, not {receipt}")
            if found.category == "e_fir" and not found.efir_signed_ms:
                problems.add(
                    f"the informant has not signed the e-FIR {found.receipt_number}: "
                    "it is taken on record only once signed"
                )
        problems.raise_if_any("petition not converted")
        assert found is not None
        linked = records_pb2.Fir()
        linked.CopyFrom(fir)
        linked.petition_receipt = found.receipt_number
        registered = station.register_fir(officer_id, linked)
        _update(
            station,
            officer_id,
            records_pb2.PetitionUpdate(
                receipt_number=found.receipt_number, action="converted", fir_number=registered.ref
            ),
        )
        return registered


# --- case commands ------------------------------------------------------------------------------


def _case(station: Station, fir_number: str, problems: Problems) -> str:
    """The FIR's number as recorded, or "" (with a problem) when there is no such FIR here."""
    view = station.index.fir(fir_number.strip()) if fir_number.strip() else None
    if view is None:
        problems.add(f"no FIR {fir_number!r} at this station")
        return ""
    return view.fir_number or view.zero_fir_number


def _when(at_ms: int | None, problems: Problems) -> int:
    now = now_ms()
    if not at_ms:
        return now
    if at_ms > now + CLOCK_SKEW_MS:
        problems.add("the time of the event is in the future")
    return at_ms


def assign_io(
    station: Station, officer_id: str, fir_number: str, io_officer_id: str, note: str = ""
) -> Receipt:
    """Assigns (or changes) the case's investigating officer."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        number = _case(station, fir_number, problems)
        io = io_officer_id.strip()
        inner = Problems()
        check_officer(io, inner)
        if inner.items:
            problems.add("the investigating officer's id is required")
        elif number and current_io(station, number) == io:
            problems.add(f"{io} is already the investigating officer of {number}")
        problems.raise_if_any("investigating officer not assigned")
        event = records_pb2.CaseEvent(
            fir_number=number, kind="io_assigned", at_ms=now_ms(), io_officer_id=io, text=note
        )
        return station.append_records(officer_id, [event], ref=number)


def record_case_event(
    station: Station,
    officer_id: str,
    fir_number: str,
    kind: str,
    *,
    at_ms: int | None = None,
    text: str = "",
    persons: Sequence[records_pb2.PersonInCase] = (),
    property: Sequence[records_pb2.PropertyItem] = (),
    report_type: str = "",
    sections: Sequence[records_pb2.ActSection] = (),
    court: str = "",
    court_case_number: str = "",
    next_hearing: str = "",
    outcome: str = "",
) -> Receipt:
    """Appends an arrest (`persons`), a seizure (`property`), a case diary entry (`text`), a
    final report (`report_type` "charge_sheet" with its `sections`, or "closure" with its
    reason in `text`) or court progress (`court`, case number, next hearing, outcome)."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        number = _case(station, fir_number, problems)
        when = _when(at_ms, problems)
        event = records_pb2.CaseEvent(fir_number=number, kind=kind, at_ms=when, text=text.strip())
        if kind == "arrest":
            if not persons:
                problems.add("an arrest names at least one arrested person")
            for n, given in enumerate(persons, 1):
                entry = event.persons.add()
                entry.CopyFrom(given)
                if entry.role == records_pb2.PERSON_ROLE_UNSPECIFIED:
                    entry.role = records_pb2.ACCUSED
                check_person(entry.person, f"arrested person {n}", problems)
        elif kind == "seizure":
            if not property:
                problems.add("a seizure lists at least one item seized")
            for given_item in property:
                item = event.property.add()
                item.CopyFrom(given_item)
                if item.status == records_pb2.PROPERTY_STATUS_UNSPECIFIED:
                    item.status = records_pb2.SEIZED
            check_property(event.property, problems)
        elif kind == "case_diary":
            problems.require(event.text, "the case diary entry")
        elif kind == "final_report":
            event.report_type = report_type.strip()
            if event.report_type not in REPORT_TYPES:
                problems.add("the final report is a charge_sheet or a closure report")
            elif event.report_type == "charge_sheet":
                event.sections.extend(sections)
                check_sections(event.sections, None, station.statutes, problems)
            else:
                problems.require(event.text, "the reason for the closure report")
        elif kind == "court_progress":
            event.court = court.strip()
            event.court_case_number = court_case_number.strip()
            event.next_hearing = next_hearing.strip()
            event.outcome = outcome.strip()
            problems.require(event.court, "the court")
            if event.next_hearing:
                try:
                    dt.date.fromisoformat(event.next_hearing)
                except ValueError:
                    problems.add(f"next hearing {event.next_hearing!r} is not YYYY-MM-DD")
            if not (event.next_hearing or event.outcome or event.court_case_number):
                problems.add("court progress needs a next hearing, an outcome or a case number")
        elif kind == "io_assigned":
            problems.add("assign the investigating officer with assign_io")
        else:
            problems.add(f"case event kind must be one of {', '.join(CASE_EVENT_KINDS[1:])}")
        problems.raise_if_any(f"{kind.replace('_', ' ') or 'case event'} not recorded")
        return station.append_records(officer_id, [event], ref=number)
