"""The process register and the NCR forwardings in the index (the rules:
`node.records.processes`).

`ProcessesProjection` derives them from the log only (`CourtProcess`, `ProcessStep` and
`NcrForwarding` entries, fed with the core tables in the same transactions), so a rebuilt index
has the same rows:

    process_register  one row per process received: the court, its case, the person, the day
                      it is returnable, and where it stands (pending, or its last step)
    ncr_forwarded     one row per NCR forwarded to the magistrate, with the forwarding's entry
    ncr_forwardings   one row per forwarding: when, to which magistrate, how many NCRs

The read functions below are all the queries there are.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from node.index.record_index import RecordIndex
from node.index.schema import ncrs, records
from node.records.processes import PENDING
from node.records.validation import IST
from protos import ledger_pb2, records_pb2

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

process_register_table = sa.Table(
    "process_register",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("process_number", sa.String(40), nullable=False, unique=True),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("process_type", sa.String(24), nullable=False),
    sa.Column("court", sa.Text, nullable=False),
    sa.Column("court_case_number", sa.String(40), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("relative", sa.Text, nullable=False),  # "S/o Raghavan"
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("returnable_date", sa.String(10), nullable=False),
    sa.Column("returnable_ms", sa.BigInteger, nullable=False),  # the day's start, IST
    sa.Column("fir_number", sa.String(40), nullable=False),
    sa.Column("received_at_ms", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),  # PENDING or the step that ended it
    sa.Column("step_at_ms", sa.BigInteger, nullable=False),  # 0 while pending
    sa.Column("step_note", sa.Text, nullable=False),
    sa.Column("updated_index", sa.BigInteger, nullable=False),
    sa.Index("ix_process_register_year_serial", "year", "serial"),
    sa.Index("ix_process_register_status", "status", "returnable_ms"),
)
ncr_forwardings_table = sa.Table(
    "ncr_forwardings",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("forwarded_at_ms", sa.BigInteger, nullable=False),
    sa.Column("magistrate", sa.Text, nullable=False),
    sa.Column("ncr_count", sa.Integer, nullable=False),
)
ncr_forwarded_table = sa.Table(
    "ncr_forwarded",
    _metadata,
    sa.Column("ncr_number", sa.String(40), primary_key=True),
    sa.Column("forwarding_index", sa.BigInteger, nullable=False),
)


def day_start_ms(day: str) -> int:
    """The start of an ISO day in India (0 when it is no date)."""
    try:
        parsed = datetime.date.fromisoformat(day)
    except ValueError:
        return 0
    return int(datetime.datetime.combine(parsed, datetime.time(), IST).timestamp() * 1000)


def _relative(person: records_pb2.Person) -> str:
    return f"{person.relation} {person.relative_name}".strip() if person.relative_name else ""


class ProcessesProjection:
    """The process register and the NCR forwardings (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        kind = body.WhichOneof("record")
        if kind == "court_process":
            self._received(conn, index, body.court_process)
        elif kind == "process_step":
            step = body.process_step
            t = process_register_table
            conn.execute(
                t.update()
                .where(t.c.process_number == step.process_number)
                .values(
                    status=step.step,
                    step_at_ms=step.at_ms or body.written_at_ms,
                    step_note=step.note,
                    updated_index=index,
                )
            )
        elif kind == "ncr_forwarding":
            sent = body.ncr_forwarding
            numbers = list(dict.fromkeys(sent.ncr_numbers))
            conn.execute(
                ncr_forwardings_table.insert().values(
                    ledger_index=index,
                    forwarded_at_ms=sent.forwarded_at_ms or body.written_at_ms,
                    magistrate=sent.magistrate,
                    ncr_count=len(numbers),
                )
            )
            known = set(
                conn.execute(
                    sa.select(ncr_forwarded_table.c.ncr_number).where(
                        ncr_forwarded_table.c.ncr_number.in_(numbers)
                    )
                ).scalars()
            )
            fresh = [
                {"ncr_number": n, "forwarding_index": index} for n in numbers if n not in known
            ]
            if fresh:
                conn.execute(ncr_forwarded_table.insert(), fresh)

    @staticmethod
    def _received(conn: Connection, index: int, process: records_pb2.CourtProcess) -> None:
        parts = process.process_number.split("/")
        year, serial = (int(parts[1]), int(parts[2])) if len(parts) == 3 else (0, 0)
        person = process.person
        conn.execute(
            process_register_table.insert().values(
                ledger_index=index,
                process_number=process.process_number,
                serial=serial,
                year=year,
                process_type=process.process_type,
                court=process.court,
                court_case_number=process.court_case_number,
                name=person.name,
                relative=_relative(person),
                address=person.address,
                returnable_date=process.returnable_date,
                returnable_ms=day_start_ms(process.returnable_date),
                fir_number=process.fir_number,
                received_at_ms=process.received_at_ms,
                status=PENDING,
                step_at_ms=0,
                step_note="",
                updated_index=index,
            )
        )


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """One process in the register, as it stands."""

    process_number: str
    process_type: str
    court: str
    court_case_number: str
    name: str
    relative: str
    address: str
    returnable_date: str
    returnable_ms: int
    fir_number: str
    received_at_ms: int
    status: str
    step_at_ms: int
    step_note: str
    ledger_index: int

    @property
    def pending(self) -> bool:
        return self.status == PENDING


def _row(r: Any) -> ProcessRow:
    return ProcessRow(
        process_number=r.process_number,
        process_type=r.process_type,
        court=r.court,
        court_case_number=r.court_case_number,
        name=r.name,
        relative=r.relative,
        address=r.address,
        returnable_date=r.returnable_date,
        returnable_ms=int(r.returnable_ms),
        fir_number=r.fir_number,
        received_at_ms=int(r.received_at_ms),
        status=r.status,
        step_at_ms=int(r.step_at_ms),
        step_note=r.step_note,
        ledger_index=int(r.ledger_index),
    )


def process_register(
    index: RecordIndex,
    *,
    pending_only: bool = False,
    returnable_by: int | None = None,
    limit: int = 500,
) -> list[ProcessRow]:
    """The register: pending processes first, by returnable day, then the rest, latest first;
    `returnable_by`: only the pending ones returnable by then (ms)."""
    t = process_register_table
    stmt = sa.select(t)
    if pending_only or returnable_by is not None:
        stmt = stmt.where(t.c.status == PENDING)
    if returnable_by is not None:
        stmt = stmt.where(t.c.returnable_ms <= returnable_by)
    stmt = stmt.order_by(
        sa.case((t.c.status == PENDING, 0), else_=1),
        sa.case((t.c.status == PENDING, t.c.returnable_ms), else_=-t.c.ledger_index),
        t.c.ledger_index,
    ).limit(limit)
    with index.engine.connect() as conn:
        return [_row(r) for r in conn.execute(stmt)]


def find_process(index: RecordIndex, process_number: str) -> ProcessRow | None:
    t = process_register_table
    with index.engine.connect() as conn:
        found = conn.execute(sa.select(t).where(t.c.process_number == process_number)).first()
    return None if found is None else _row(found)


def max_process_serial(index: RecordIndex, year: int) -> int:
    """The highest process number's serial of `year` (for the station's counter)."""
    t = process_register_table
    with index.engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(t.c.serial)).where(t.c.year == year)).scalar()
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class UnforwardedNcr:
    ncr_number: str
    reported_at_ms: int


def ncrs_not_forwarded(index: RecordIndex) -> list[UnforwardedNcr]:
    """The NCRs registered live here and not yet forwarded to the magistrate, in register
    order."""
    f = ncr_forwarded_table
    stmt = (
        sa.select(ncrs.c.ncr_number, ncrs.c.reported_at_ms)
        .join(records, records.c.ledger_index == ncrs.c.ledger_index)
        .where(
            ncrs.c.ncr_number.not_in(sa.select(f.c.ncr_number)),
            # An imported NCR was forwarded (or not) in the old system.
            records.c.imported.is_(False),
        )
        .order_by(ncrs.c.ledger_index)
    )
    with index.engine.connect() as conn:
        return [UnforwardedNcr(r.ncr_number, int(r.reported_at_ms)) for r in conn.execute(stmt)]


@dataclass(frozen=True, slots=True)
class Forwarding:
    ledger_index: int
    forwarded_at_ms: int
    magistrate: str
    ncr_count: int


def last_forwarding(index: RecordIndex) -> Forwarding | None:
    """The latest forwarding of NCRs to the magistrate."""
    t = ncr_forwardings_table
    stmt = sa.select(t).order_by(t.c.ledger_index.desc()).limit(1)
    with index.engine.connect() as conn:
        r = conn.execute(stmt).first()
    if r is None:
        return None
    return Forwarding(int(r.ledger_index), int(r.forwarded_at_ms), r.magistrate, int(r.ncr_count))
