"""The casework tables of the index: where each petition and case stands.

`CaseworkProjection` keeps petition_status, petition_updates, case_events, case_io and
case_wanted (the accused wanted now: a `wanted` event adds them, an arrest of the same accused
code in the case or a `wanted_withdrawn` event removes them), derived from the log only (fed the
same entries as the core tables, in the same transactions), so a rebuilt index has the same
rows. The read functions below are all the casework queries there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.log import now_ms
from node.index.record_index import RecordIndex
from node.records import limits
from node.records.casework import (
    CLOSED,
    CONVERTED,
    EFIR_SIGNATURE_MS,
    ENDED,
    MISSING_CATEGORIES,
    MISSING_OVERDUE_DAYS,
    RECEIVED,
    UNDER_ENQUIRY,
    WANTED_ENDED_BY,
    case_event_summary,
)
from node.records.validation import DAY_MS
from protos import ledger_pb2, records_pb2

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
    # An FIR of this station, or a case taken over by its key (limits.CASE_KEY long).
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),
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
    sa.Column("fir_number", sa.String(limits.CASE_KEY), primary_key=True),
    sa.Column("io_officer_id", sa.String(80), nullable=False),
    sa.Column("since_index", sa.BigInteger, nullable=False),
)
# The accused each case holds wanted now (the station's register of wanted persons).
case_wanted_table = sa.Table(
    "case_wanted",
    _metadata,
    sa.Column("fir_number", sa.String(limits.CASE_KEY), primary_key=True),
    sa.Column("accused_code", sa.String(8), primary_key=True),
    sa.Column("ledger_index", sa.BigInteger, nullable=False),  # the wanted event
    sa.Column("at_ms", sa.BigInteger, nullable=False),  # wanted since
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("relation", sa.String(8), nullable=False),
    sa.Column("relative_name", sa.Text, nullable=False),
    sa.Column("basis", sa.String(24), nullable=False),  # WANTED_BASES
    sa.Column("court_order", sa.Text, nullable=False),
    sa.Column("grounds", sa.Text, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
)


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
        w = case_wanted_table
        if event.kind == "wanted":
            for entry in event.persons:
                conn.execute(
                    w.delete().where(
                        w.c.fir_number == event.fir_number,
                        w.c.accused_code == entry.accused_code,
                    )
                )
                conn.execute(
                    w.insert().values(
                        fir_number=event.fir_number,
                        accused_code=entry.accused_code,
                        ledger_index=index,
                        at_ms=event.at_ms or body.written_at_ms,
                        name=entry.person.name,
                        relation=entry.person.relation,
                        relative_name=entry.person.relative_name,
                        basis=event.report_type,
                        court_order=event.court,
                        grounds=event.text,
                        officer_id=body.officer_id,
                    )
                )
        elif event.kind in WANTED_ENDED_BY and not event.arrest_memo.notice_to_appear:
            # A notice to appear (BNSS s.35(3)) takes nobody into custody: a wanted accused
            # stays wanted until arrested.
            codes = [e.accused_code for e in event.persons if e.accused_code]
            if codes:
                conn.execute(
                    w.delete().where(
                        w.c.fir_number == event.fir_number, w.c.accused_code.in_(codes)
                    )
                )


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
        return self.status in ENDED


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


def _statuses(index: RecordIndex, *conditions: sa.ColumnElement[bool]) -> list[PetitionStatus]:
    t = petition_status_table
    stmt = sa.select(t).where(*conditions).order_by(t.c.ledger_index)
    with index.engine.connect() as conn:
        return [_status_of(r) for r in conn.execute(stmt)]


def petition_status(index: RecordIndex, receipt: str) -> PetitionStatus | None:
    """The petition `receipt` ("PET/2026/000123") as it stands, or None if not received here."""
    found = _statuses(index, petition_status_table.c.receipt_number == receipt.strip())
    return found[0] if found else None


def petition_statuses(index: RecordIndex, receipts: Iterable[str]) -> dict[str, PetitionStatus]:
    """The statuses of several petitions, by receipt number."""
    wanted = sorted(set(receipts))
    if not wanted:
        return {}
    rows = _statuses(index, petition_status_table.c.receipt_number.in_(wanted))
    return {r.receipt_number: r for r in rows}


def petition_updates(index: RecordIndex, receipt: str) -> list[int]:
    """Ledger indexes of a petition's updates, in order."""
    t = petition_updates_table
    stmt = (
        sa.select(t.c.ledger_index).where(t.c.receipt_number == receipt).order_by(t.c.ledger_index)
    )
    with index.engine.connect() as conn:
        return [int(i) for i in conn.execute(stmt).scalars()]


def pending_efirs(index: RecordIndex) -> list[PetitionStatus]:
    """e-FIRs still open and awaiting the informant's signature (`efir_due_ms` says until when;
    one past it is shown too, as lapsed, until it is closed)."""
    t = petition_status_table
    return _statuses(
        index, t.c.category == "e_fir", t.c.efir_signed_ms == 0, t.c.status.not_in(ENDED)
    )


def overdue_missing_persons(
    index: RecordIndex, *, days: int = MISSING_OVERDUE_DAYS, now: int | None = None
) -> list[PetitionStatus]:
    """Missing-person and missing-child complaints received more than `days` ago that have
    ended neither in an FIR nor in a recorded reason."""
    cutoff = (now_ms() if now is None else now) - days * DAY_MS
    t = petition_status_table
    return _statuses(
        index,
        t.c.category.in_(MISSING_CATEGORIES),
        t.c.status.not_in(ENDED),
        t.c.received_at_ms < cutoff,
    )


def overdue_enquiries(index: RecordIndex, *, now: int | None = None) -> list[PetitionStatus]:
    """Petitions whose permitted preliminary enquiry has passed its 14-day limit undecided."""
    moment = now_ms() if now is None else now
    t = petition_status_table
    return _statuses(
        index,
        t.c.enquiry_deadline_ms > 0,
        t.c.enquiry_deadline_ms < moment,
        t.c.status.not_in(ENDED),
    )


def case_events(index: RecordIndex, fir_number: str) -> list[CaseEventRow]:
    """The case events of an FIR, in ledger order."""
    t = case_events_table
    stmt = sa.select(t).where(t.c.fir_number == fir_number).order_by(t.c.ledger_index)
    with index.engine.connect() as conn:
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


@dataclass(frozen=True, slots=True)
class WantedPerson:
    """An accused a case of this station holds wanted now."""

    fir_number: str
    accused_code: str
    ledger_index: int  # the wanted event
    since_ms: int
    name: str
    relation: str
    relative_name: str
    basis: str  # "proclamation", "warrant", "lookout"
    court_order: str
    grounds: str
    officer_id: str


def _wanted(index: RecordIndex, *conditions: sa.ColumnElement[bool]) -> list[WantedPerson]:
    t = case_wanted_table
    stmt = sa.select(t).where(*conditions).order_by(t.c.at_ms, t.c.fir_number, t.c.accused_code)
    with index.engine.connect() as conn:
        return [
            WantedPerson(
                fir_number=r.fir_number,
                accused_code=r.accused_code,
                ledger_index=int(r.ledger_index),
                since_ms=int(r.at_ms),
                name=r.name,
                relation=r.relation,
                relative_name=r.relative_name,
                basis=r.basis,
                court_order=r.court_order,
                grounds=r.grounds,
                officer_id=r.officer_id,
            )
            for r in conn.execute(stmt)
        ]


def wanted_persons(index: RecordIndex) -> list[WantedPerson]:
    """The register of wanted persons: every accused this station's cases hold wanted now,
    longest wanted first."""
    return _wanted(index)


def wanted_in_case(index: RecordIndex, fir_number: str) -> list[WantedPerson]:
    """The accused the case `fir_number` holds wanted now."""
    return _wanted(index, case_wanted_table.c.fir_number == fir_number)


def current_io(index: RecordIndex, fir_number: str) -> str:
    """The case's investigating officer ("" until one is assigned)."""
    t = case_io_table
    with index.engine.connect() as conn:
        found = conn.execute(
            sa.select(t.c.io_officer_id).where(t.c.fir_number == fir_number)
        ).scalar()
    return str(found or "")


def charge_sheeted(index: RecordIndex, fir_number: str) -> bool:
    """Whether a charge sheet has been filed in the case."""
    t = case_events_table
    stmt = sa.select(sa.func.count()).where(
        t.c.fir_number == fir_number, t.c.kind == "final_report", t.c.report_type == "charge_sheet"
    )
    with index.engine.connect() as conn:
        return bool(conn.execute(stmt).scalar())
