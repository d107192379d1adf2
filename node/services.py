"""Citizen services: verification requests, NOCs and permissions with due dates; grievances
against the police; the public lists of missing persons and unidentified bodies.

Service requests ("SR/2026/000012") are received at the station, each with a due date computed
from the time received (`DUE_DAYS`, calendar days):

  passport_verification    15  the MEA allows 21 days for the police verification report; the
                               station aims at 15 so the report reaches the passport office
                               within that window
  employment_verification  15
  tenant_verification      15
  noc                      30  no-objection certificates
  permission               30  permissions (events, processions, loudspeakers, ...)

A request is *overdue* when its due time has passed and it is neither completed nor rejected.
Its status moves received -> in_progress -> completed | rejected (a closed request takes no
further update).

Grievances against the police ("GRV/2026/000003") are kept by the office that supervises the
office complained about, never by that office itself (option (a) of the design: no forwarding
over the network, the protos are fixed). A node stores a grievance only when its role is a
supervising one (`SUPERVISING_ROLES`) and the grievance is not against itself; a station node
stores nothing of a grievance and tells the citizen where to file it (see
`node.web.services_pages`).

Receipts are numbered per year, under `Station.writing()`, from the highest serial in this
module's projection, which `Station.append_records` keeps current in the same commit.

The projection also keeps two public lists (read by `/citizen/missing`):
  * missing persons: petitions of category "missing_person" / "missing_child" that have not
    been closed (`PetitionUpdate` action "closed"); the person is the first respondent with
    role MISSING (a petition without one is not listed; a sealed identity is never listed).
    Name, age and sex only, never address or mobile; the date shown is the date reported.
  * unidentified bodies: General Diary entries of category "other" whose summary starts with
    "Unidentified body" (the diary has no category of its own for them), read from the core
    `gd_entries` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from federation.trust.identity import valid_node_id
from ledger.errors import InputError
from ledger.log import now_ms
from node import index as ix
from node.station import CLOCK_SKEW_MS, Receipt, Station
from node.validation import Problems, check_officer, check_person, ist_date
from protos import ledger_pb2, records_pb2

DAY_MS = 86_400_000
DUE_DAYS: dict[str, int] = {
    "passport_verification": 15,
    "employment_verification": 15,
    "tenant_verification": 15,
    "noc": 30,
    "permission": 30,
}
REQUEST_KINDS = tuple(DUE_DAYS)
REQUEST_STATUSES = ("received", "in_progress", "completed", "rejected")
REQUEST_UPDATES = ("in_progress", "completed", "rejected")
REQUEST_CLOSED = ("completed", "rejected")
GRIEVANCE_STATUSES = ("received", "under_enquiry", "closed")
GRIEVANCE_UPDATES = ("under_enquiry", "closed")
# Node roles that supervise stations and so may hold grievances against them.
SUPERVISING_ROLES = ("circle", "sub-division", "district", "state")
MISSING_CATEGORIES = ("missing_person", "missing_child")
UNIDENTIFIED_BODY_PREFIX = "Unidentified body"
MAX_DETAILS = 5000
MAX_NOTE = 2000
_MOBILE = re.compile(r"^[6-9]\d{9}$")
_SR = re.compile(r"^\s*SR\s*/\s*(\d{4})\s*/\s*(\d{1,9})\s*$", re.IGNORECASE)
_GRV = re.compile(r"^\s*GRV\s*/\s*(\d{4})\s*/\s*(\d{1,9})\s*$", re.IGNORECASE)


def request_receipt(serial: int, year: int) -> str:
    return f"SR/{year}/{serial:06d}"


def grievance_receipt(serial: int, year: int) -> str:
    return f"GRV/{year}/{serial:06d}"


def canonical_request(text: str) -> str | None:
    """'sr/2026/12' -> 'SR/2026/000012'; None when it is no service request receipt."""
    match = _SR.match(text or "")
    return request_receipt(int(match[2]), int(match[1])) if match else None


def canonical_grievance(text: str) -> str | None:
    """'grv/2026/3' -> 'GRV/2026/000003'; None when it is no grievance receipt."""
    match = _GRV.match(text or "")
    return grievance_receipt(int(match[2]), int(match[1])) if match else None


def due_ms(kind: str, received_at_ms: int) -> int:
    """When a request of `kind` received at `received_at_ms` is due."""
    return received_at_ms + DUE_DAYS[kind] * DAY_MS


def is_overdue(due: int, status: str, now: int) -> bool:
    return now > due and status not in REQUEST_CLOSED


def holds_grievances(role: str) -> bool:
    """Whether a node of this role keeps grievances (it supervises other offices)."""
    return role in SUPERVISING_ROLES


# --- the projection -----------------------------------------------------------------------------

_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ServicesProjection:
    """Index tables of the citizen services (see `node.index.Projection`)."""

    def __init__(self) -> None:
        self._metadata = sa.MetaData()
        m = self._metadata
        self.service_requests = sa.Table(
            "service_requests",
            m,
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
        self.grievances = sa.Table(
            "grievances",
            m,
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
        self.missing_persons = sa.Table(
            "missing_persons",
            m,
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

    @property
    def metadata(self) -> sa.MetaData:
        return self._metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        kind = body.WhichOneof("record")
        if kind == "service_request":
            self._request(conn, index, body.service_request)
        elif kind == "service_request_update":
            u = body.service_request_update
            conn.execute(
                self.service_requests.update()
                .where(self.service_requests.c.receipt == u.receipt_number)
                .values(status=u.status, updated=body.written_at_ms, note=u.note)
            )
        elif kind == "grievance":
            g = body.grievance
            year, serial = _year_serial(g.receipt_number)
            conn.execute(
                self.grievances.insert().values(
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
                self.grievances.update()
                .where(self.grievances.c.receipt == gu.receipt_number)
                .values(status=gu.status, updated=body.written_at_ms, note=gu.note)
            )
        elif kind == "petition" and body.petition.category in MISSING_CATEGORIES:
            self._missing(conn, index, body.petition)
        elif kind == "petition_update" and body.petition_update.action == "closed":
            conn.execute(
                self.missing_persons.update()
                .where(self.missing_persons.c.receipt == body.petition_update.receipt_number)
                .values(closed=True)
            )

    def _request(self, conn: Connection, index: int, sr: records_pb2.ServiceRequest) -> None:
        year, serial = _year_serial(sr.receipt_number)
        conn.execute(
            self.service_requests.insert().values(
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

    def _missing(self, conn: Connection, index: int, petition: records_pb2.Petition) -> None:
        for entry in petition.respondents:
            person = entry.person
            if entry.role != records_pb2.MISSING:
                continue
            if person.identity_commitment or not person.name.strip():
                return  # a withheld identity is never published
            conn.execute(
                self.missing_persons.insert().values(
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


def _year_serial(receipt: str) -> tuple[int, int]:
    parts = receipt.split("/")
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2])
    return 0, 0


def projection_of(station: Station) -> ServicesProjection:
    """This station's services projection (registered in node/extensions.py)."""
    for projection in station.index.projections:
        if isinstance(projection, ServicesProjection):
            return projection
    raise InputError("this node's index has no citizen services tables")


# --- commands -----------------------------------------------------------------------------------


def _received_time(given: int, problems: Problems) -> int:
    now = now_ms()
    if not given:
        return now
    if given > now + CLOCK_SKEW_MS:
        problems.add("time received is in the future")
    return given


def _check_applicant(person: records_pb2.Person, what: str, problems: Problems) -> None:
    check_person(person, what, problems)
    if not _MOBILE.match(person.mobile):
        problems.add(f"{what}: a 10-digit mobile number is required")


def receive_request(
    station: Station, officer_id: str, given: records_pb2.ServiceRequest
) -> Receipt:
    """Receives a service request: checks it, numbers it SR/YYYY/NNNNNN, sets its due date."""
    sr = records_pb2.ServiceRequest()
    sr.CopyFrom(given)
    problems = Problems()
    check_officer(officer_id, problems)
    if sr.kind not in DUE_DAYS:
        problems.add(f"kind must be one of {', '.join(REQUEST_KINDS)}")
    _check_applicant(sr.applicant, "applicant", problems)
    if len(sr.details) > MAX_DETAILS:
        problems.add(f"details are longer than {MAX_DETAILS} characters")
    if sr.receipt_number:
        problems.add("the receipt number is assigned by the station, not given")
    if sr.due_ms:
        problems.add("the due date is computed by the station, not given")
    received = _received_time(sr.received_at_ms, problems)
    problems.raise_if_any("service request not received")
    projection = projection_of(station)
    table = projection.service_requests
    year = ist_date(received).year
    with station.writing():
        serial = _max_serial(station, table, year) + 1
        sr.receipt_number = request_receipt(serial, year)
        sr.received_at_ms = received
        sr.due_ms = due_ms(sr.kind, received)
        return station.append_records(officer_id, [sr], ref=sr.receipt_number)


def update_request(
    station: Station, officer_id: str, receipt: str, status: str, note: str = ""
) -> Receipt:
    """Records a step of a service request: in progress, completed or rejected."""
    problems = Problems()
    check_officer(officer_id, problems)
    canonical = canonical_request(receipt) or receipt.strip()
    if status not in REQUEST_UPDATES:
        problems.add(f"status must be one of {', '.join(REQUEST_UPDATES)}")
    if len(note) > MAX_NOTE:
        problems.add(f"the note is longer than {MAX_NOTE} characters")
    problems.raise_if_any("service request not updated")
    table = projection_of(station).service_requests
    with station.writing():
        row = _row(station, table, canonical)
        if row is None:
            raise InputError(f"no service request {receipt!r} at this station")
        if row.status in REQUEST_CLOSED:
            raise InputError(f"{canonical} is already {row.status}")
        update = records_pb2.ServiceRequestUpdate(
            receipt_number=canonical, status=status, note=note.strip()
        )
        return station.append_records(officer_id, [update], ref=canonical)


def receive_grievance(station: Station, officer_id: str, given: records_pb2.Grievance) -> Receipt:
    """Receives a grievance against a police office, on the office that supervises it.

    Refused (InputError) on a node that supervises no one (a station: the grievance goes to its
    supervising office) and for a grievance against this office itself."""
    g = records_pb2.Grievance()
    g.CopyFrom(given)
    problems = Problems()
    check_officer(officer_id, problems)
    config = station.config
    if not holds_grievances(config.role):
        problems.add(
            f"a {config.role} node does not keep grievances: they are filed with the office "
            "that supervises the one complained about"
        )
    if not valid_node_id(g.against_office):
        problems.add("the office complained about must be a node id (state/district/office)")
    elif g.against_office == config.node_id:
        problems.add("a grievance against this office is filed with the office supervising it")
    _check_applicant(g.complainant, "complainant", problems)
    problems.require(g.details.strip(), "details of the grievance")
    if len(g.details) > MAX_DETAILS:
        problems.add(f"details are longer than {MAX_DETAILS} characters")
    if g.receipt_number:
        problems.add("the receipt number is assigned by the office, not given")
    received = _received_time(g.received_at_ms, problems)
    problems.raise_if_any("grievance not received")
    table = projection_of(station).grievances
    year = ist_date(received).year
    with station.writing():
        serial = _max_serial(station, table, year) + 1
        g.receipt_number = grievance_receipt(serial, year)
        g.received_at_ms = received
        return station.append_records(officer_id, [g], ref=g.receipt_number)


def update_grievance(
    station: Station, officer_id: str, receipt: str, status: str, note: str = ""
) -> Receipt:
    """Records a step of a grievance: under enquiry, or closed with its result."""
    problems = Problems()
    check_officer(officer_id, problems)
    canonical = canonical_grievance(receipt) or receipt.strip()
    if status not in GRIEVANCE_UPDATES:
        problems.add(f"status must be one of {', '.join(GRIEVANCE_UPDATES)}")
    if status == "closed" and not note.strip():
        problems.add("closing a grievance needs the result of the enquiry")
    if len(note) > MAX_NOTE:
        problems.add(f"the note is longer than {MAX_NOTE} characters")
    problems.raise_if_any("grievance not updated")
    table = projection_of(station).grievances
    with station.writing():
        row = _row(station, table, canonical)
        if row is None:
            raise InputError(f"no grievance {receipt!r} at this office")
        if row.status == "closed":
            raise InputError(f"{canonical} is already closed")
        update = records_pb2.GrievanceUpdate(
            receipt_number=canonical, status=status, note=note.strip()
        )
        return station.append_records(officer_id, [update], ref=canonical)


def _max_serial(station: Station, table: sa.Table, year: int) -> int:
    with station.index.engine.connect() as conn:
        found = conn.execute(
            sa.select(sa.func.max(table.c.serial)).where(table.c.year == year)
        ).scalar()
    return int(found or 0)


def _row(station: Station, table: sa.Table, receipt: str) -> Any:
    with station.index.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.receipt == receipt)).one_or_none()


# --- queries ------------------------------------------------------------------------------------


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
    station: Station, now: int, *, open_only: bool = False, limit: int = 200
) -> list[RequestRow]:
    """Service requests, overdue ones first (oldest due first), then the rest by due date."""
    t = projection_of(station).service_requests
    stmt = sa.select(t)
    if open_only:
        stmt = stmt.where(t.c.status.not_in(REQUEST_CLOSED))
    overdue_first = sa.case((sa.and_(t.c.due < now, t.c.status.not_in(REQUEST_CLOSED)), 0), else_=1)
    stmt = stmt.order_by(overdue_first, t.c.due, t.c.ledger_index).limit(limit)
    with station.index.engine.connect() as conn:
        return [_request_row(r, now) for r in conn.execute(stmt)]


def overdue_requests(
    station: Station, now: int, *, limit: int | None = 20
) -> tuple[int, list[RequestRow]]:
    """How many service requests are overdue, and the most overdue of them."""
    t = projection_of(station).service_requests
    condition = sa.and_(t.c.due < now, t.c.status.not_in(REQUEST_CLOSED))
    with station.index.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).where(condition)).scalar() or 0)
        stmt = sa.select(t).where(condition).order_by(t.c.due, t.c.ledger_index)
        if limit is not None:
            stmt = stmt.limit(limit)
        return total, [_request_row(r, now) for r in conn.execute(stmt)]


def find_request(station: Station, receipt: str) -> RequestRow | None:
    canonical = canonical_request(receipt)
    if canonical is None:
        return None
    row = _row(station, projection_of(station).service_requests, canonical)
    return None if row is None else _request_row(row, now_ms())


def request_record(station: Station, row: RequestRow) -> records_pb2.ServiceRequest:
    """The request as written in the ledger (the applicant's mobile is read from here)."""
    return station.ledger.body(row.ledger_index).service_request


def list_grievances(station: Station, *, limit: int = 200) -> list[GrievanceRow]:
    t = projection_of(station).grievances
    stmt = sa.select(t).order_by(t.c.status == "closed", t.c.ledger_index.desc()).limit(limit)
    with station.index.engine.connect() as conn:
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


def find_grievance(station: Station, receipt: str) -> GrievanceRow | None:
    canonical = canonical_grievance(receipt)
    if canonical is None:
        return None
    row = _row(station, projection_of(station).grievances, canonical)
    return None if row is None else _grievance_row(row)


def grievance_record(station: Station, row: GrievanceRow) -> records_pb2.Grievance:
    return station.ledger.body(row.ledger_index).grievance


def missing_persons(station: Station, *, limit: int = 200) -> list[MissingPerson]:
    """Missing persons and children reported here and not found yet (see the module's note)."""
    t = projection_of(station).missing_persons
    stmt = (
        sa.select(t)
        .where(t.c.closed.is_(False))
        .order_by(t.c.reported.desc(), t.c.ledger_index.desc())
        .limit(limit)
    )
    with station.index.engine.connect() as conn:
        return [
            MissingPerson(
                receipt=r.receipt,
                category=r.category,
                name=r.name,
                age=int(r.age),
                sex=r.sex,
                reported_ms=int(r.reported),
            )
            for r in conn.execute(stmt)
        ]


def unidentified_bodies(station: Station, *, limit: int = 200) -> list[UnidentifiedBody]:
    """GD entries of category "other" whose summary starts with "Unidentified body"."""
    g = ix.gd_entries
    stmt = (
        sa.select(g.c.gd_date, g.c.gd_number, g.c.entry_time_ms, g.c.summary)
        .where(g.c.category == "other", g.c.summary.startswith(UNIDENTIFIED_BODY_PREFIX))
        .order_by(g.c.entry_time_ms.desc())
        .limit(limit)
    )
    with station.index.engine.connect() as conn:
        return [
            UnidentifiedBody(f"GD {r.gd_date}/{r.gd_number}", int(r.entry_time_ms), r.summary)
            for r in conn.execute(stmt)
        ]


__all__ = [
    "DUE_DAYS",
    "GRIEVANCE_UPDATES",
    "REQUEST_KINDS",
    "REQUEST_UPDATES",
    "SUPERVISING_ROLES",
    "GrievanceRow",
    "MissingPerson",
    "RequestRow",
    "ServicesProjection",
    "UnidentifiedBody",
    "canonical_grievance",
    "canonical_request",
    "due_ms",
    "find_grievance",
    "find_request",
    "holds_grievances",
    "is_overdue",
    "list_grievances",
    "list_requests",
    "missing_persons",
    "overdue_requests",
    "receive_grievance",
    "receive_request",
    "unidentified_bodies",
    "update_grievance",
    "update_request",
]
