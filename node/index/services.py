"""The citizen services tables of the index: service requests with their due dates, grievances,
and the public list of missing persons (see `node.records.services` for the rules).

`ServicesProjection` derives them from the log only; the read functions below are all the
services queries there are (the unidentified bodies are read from the core `gd_entries`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.log import now_ms
from node.index.record_index import RecordIndex
from node.index.schema import gd_entries
from node.records import limits
from node.records.refs import canonical_grievance, canonical_request, year_serial
from node.records.services import (
    MISSING_CATEGORIES,
    REQUEST_CLOSED,
    UNIDENTIFIED_BODY_PREFIX,
    is_overdue,
)
from protos import ledger_pb2, records_pb2

_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()

service_requests = sa.Table(
    "service_requests",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("receipt", sa.String(40), nullable=False, unique=True),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("applicant", sa.String(200), nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("due", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Index("ix_service_requests_year_serial", "year", "serial"),
    sa.Index("ix_service_requests_due", "status", "due"),
)
grievances = sa.Table(
    "grievances",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("receipt", sa.String(40), nullable=False, unique=True),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("against_office", sa.String(200), nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Index("ix_grievances_year_serial", "year", "serial"),
)
missing_persons_table = sa.Table(
    "missing_persons",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("receipt", sa.String(40), nullable=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("age", sa.Integer, nullable=False),
    sa.Column("sex", sa.String(2), nullable=False),
    sa.Column("reported", sa.BigInteger, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Index("ix_missing_persons_receipt", "receipt"),
)


class ServicesProjection:
    """Index tables of the citizen services (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        kind = body.WhichOneof("record")
        if kind == "service_request":
            self._request(conn, index, body.service_request)
        elif kind == "service_request_update":
            u = body.service_request_update
            conn.execute(
                service_requests.update()
                .where(service_requests.c.receipt == u.receipt_number)
                .values(status=u.status, updated=body.written_at_ms, note=u.note)
            )
        elif kind == "grievance":
            g = body.grievance
            year, serial = year_serial(g.receipt_number)
            conn.execute(
                grievances.insert().values(
                    ledger_index=index,
                    receipt=g.receipt_number,
                    serial=serial,
                    year=year,
                    against_office=g.against_office,
                    received=g.received_at_ms,
                    status="received",
                    updated=body.written_at_ms,
                    note="",
                )
            )
        elif kind == "grievance_update":
            gu = body.grievance_update
            conn.execute(
                grievances.update()
                .where(grievances.c.receipt == gu.receipt_number)
                .values(status=gu.status, updated=body.written_at_ms, note=gu.note)
            )
        elif kind == "petition" and body.petition.category in MISSING_CATEGORIES:
            self._missing(conn, index, body.petition)
        elif kind == "petition_update" and body.petition_update.action == "closed":
            conn.execute(
                missing_persons_table.update()
                .where(missing_persons_table.c.receipt == body.petition_update.receipt_number)
                .values(closed=True)
            )

    @staticmethod
    def _request(conn: Connection, index: int, sr: records_pb2.ServiceRequest) -> None:
        year, serial = year_serial(sr.receipt_number)
        conn.execute(
            service_requests.insert().values(
                ledger_index=index,
                receipt=sr.receipt_number,
                serial=serial,
                year=year,
                kind=sr.kind,
                applicant=sr.applicant.name,
                received=sr.received_at_ms,
                due=sr.due_ms,
                status="received",
                updated=sr.received_at_ms,
                note="",
            )
        )

    @staticmethod
    def _missing(conn: Connection, index: int, petition: records_pb2.Petition) -> None:
        for entry in petition.respondents:
            person = entry.person
            if entry.role != records_pb2.MISSING:
                continue
            if person.identity_commitment or not person.name.strip():
                return  # a withheld identity is never published
            conn.execute(
                missing_persons_table.insert().values(
                    ledger_index=index,
                    receipt=petition.receipt_number,
                    category=petition.category,
                    name=person.name,
                    age=person.age,
                    sex=person.sex,
                    reported=petition.received_at_ms,
                    closed=False,
                )
            )
            return


def max_serial(index: RecordIndex, table: sa.Table, year: int) -> int:
    """The highest receipt serial of `year` in `table` (service_requests or grievances)."""
    with index.engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.max(table.c.serial)).where(table.c.year == year)
        ).scalar()
    return int(found or 0)


def _row(index: RecordIndex, table: sa.Table, receipt: str) -> Any:
    with index.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.receipt == receipt)).one_or_none()


@dataclass(frozen=True, slots=True)
class RequestRow:
    receipt: str
    kind: str
    applicant: str
    received_ms: int
    due_ms: int
    status: str
    note: str
    overdue: bool
    ledger_index: int


@dataclass(frozen=True, slots=True)
class GrievanceRow:
    receipt: str
    against_office: str
    received_ms: int
    status: str
    note: str
    ledger_index: int


@dataclass(frozen=True, slots=True)
class MissingPerson:
    receipt: str
    category: str
    name: str
    age: int
    sex: str
    reported_ms: int


@dataclass(frozen=True, slots=True)
class UnidentifiedBody:
    gd_ref: str
    entry_time_ms: int
    summary: str


def _request_row(r: Any, now: int) -> RequestRow:
    return RequestRow(
        receipt=r.receipt,
        kind=r.kind,
        applicant=r.applicant,
        received_ms=int(r.received),
        due_ms=int(r.due),
        status=r.status,
        note=r.note,
        overdue=is_overdue(int(r.due), r.status, now),
        ledger_index=int(r.ledger_index),
    )


def list_requests(
    index: RecordIndex, now: int, *, open_only: bool = False, limit: int = 200
) -> list[RequestRow]:
    """Service requests, overdue ones first (oldest due first), then the rest by due date."""
    t = service_requests
    stmt = sa.select(t)
    if open_only:
        stmt = stmt.where(t.c.status.not_in(REQUEST_CLOSED))
    overdue_first = sa.case((sa.and_(t.c.due < now, t.c.status.not_in(REQUEST_CLOSED)), 0), else_=1)
    stmt = stmt.order_by(overdue_first, t.c.due, t.c.ledger_index).limit(limit)
    with index.engine.connect() as conn:
        return [_request_row(r, now) for r in conn.execute(stmt)]


def overdue_requests(
    index: RecordIndex, now: int, *, limit: int | None = 20
) -> tuple[int, list[RequestRow]]:
    """How many service requests are overdue, and the most overdue of them."""
    t = service_requests
    condition = sa.and_(t.c.due < now, t.c.status.not_in(REQUEST_CLOSED))
    with index.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).where(condition)).scalar() or 0)
        stmt = sa.select(t).where(condition).order_by(t.c.due, t.c.ledger_index)
        if limit is not None:
            stmt = stmt.limit(limit)
        return total, [_request_row(r, now) for r in conn.execute(stmt)]


def find_request(index: RecordIndex, receipt: str) -> RequestRow | None:
    canonical = canonical_request(receipt)
    if canonical is None:
        return None
    row = _row(index, service_requests, canonical)
    return None if row is None else _request_row(row, now_ms())


def list_grievances(index: RecordIndex, *, limit: int = 200) -> list[GrievanceRow]:
    t = grievances
    stmt = sa.select(t).order_by(t.c.status == "closed", t.c.ledger_index.desc()).limit(limit)
    with index.engine.connect() as conn:
        return [_grievance_row(r) for r in conn.execute(stmt)]


def _grievance_row(r: Any) -> GrievanceRow:
    return GrievanceRow(
        receipt=r.receipt,
        against_office=r.against_office,
        received_ms=int(r.received),
        status=r.status,
        note=r.note,
        ledger_index=int(r.ledger_index),
    )


def find_grievance(index: RecordIndex, receipt: str) -> GrievanceRow | None:
    canonical = canonical_grievance(receipt)
    if canonical is None:
        return None
    row = _row(index, grievances, canonical)
    return None if row is None else _grievance_row(row)


def missing_persons(index: RecordIndex, *, limit: int = limits.PUBLIC_ROWS) -> list[MissingPerson]:
    """Missing persons and children reported here and not found yet (see the module's note),
    the latest `limit`; each name within its limit, even one written before the limits."""
    t = missing_persons_table
    stmt = (
        sa.select(t)
        .where(t.c.closed.is_(False))
        .order_by(t.c.reported.desc(), t.c.ledger_index.desc())
        .limit(limit)
    )
    with index.engine.connect() as conn:
        return [
            MissingPerson(
                receipt=r.receipt,
                category=r.category,
                name=limits.clip(r.name, limits.text("Person.name")),
                age=int(r.age),
                sex=limits.clip(r.sex, limits.text("Person.sex")),
                reported_ms=int(r.reported),
            )
            for r in conn.execute(stmt)
        ]


def unidentified_bodies(
    index: RecordIndex, *, limit: int = limits.PUBLIC_ROWS
) -> list[UnidentifiedBody]:
    """GD entries of category "other" whose summary starts with "Unidentified body", the latest
    `limit`, each summary cut to PUBLIC_TEXT characters."""
    g = gd_entries
    stmt = (
        sa.select(g.c.gd_date, g.c.gd_number, g.c.entry_time_ms, g.c.summary)
        .where(g.c.category == "other", g.c.summary.startswith(UNIDENTIFIED_BODY_PREFIX))
        .order_by(g.c.entry_time_ms.desc())
        .limit(limit)
    )
    with index.engine.connect() as conn:
        return [
            UnidentifiedBody(
                f"GD {r.gd_date}/{r.gd_number}",
                int(r.entry_time_ms),
                limits.clip(r.summary, limits.PUBLIC_TEXT),
            )
            for r in conn.execute(stmt)
        ]
