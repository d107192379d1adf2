"""Beats, the duty roster and the beat book in the index, and the workload that feeds the roster
(the rules: `node.records.duty`).

`DutyProjection` derives its tables from the log only (`Beat`, `DutyAssignment`, `PatrolEntry`
entries, and the village and beat an FIR's place of occurrence names), fed with the core
tables in the same transactions, so a rebuilt index has the same rows:

    beats             one row per beat code: its name and localities as last defined, in force
                      or retired, and the entries that defined, revised and retired it
    duties            one row per assignment: the officer, the duty, the beat or place, from/to,
                      and the entry that cancelled it (0 while it stands)
    patrols           one row per beat book entry: officer, beat, from/to, the points visited
                      and the persons checked (JSON, as written), the observations
    beat_fir_places   the village and beat an FIR's place of occurrence names (the core `firs`
                      table keeps the description only)

The workload (`workload`, `suggested_roster`) is read, not stored: which beat an incident,
a petition or a process belongs to is decided when asked, by the beats in force then
(`node.records.duty.beat_of`), so a beat defined today sorts last month's FIRs too:

    incidents   FIRs (by registration), NCRs (by report), petitions not converted to an FIR
                (by receipt) and GD entries of the category "information" (by entry time) of
                the last thirty days; the place is an FIR's place of occurrence (description,
                village, and its beat field as a hint), an NCR's brief facts, a petition's
                subject, details and the addresses of its persons, a GD entry's summary
    petitions   pending enquiry: received or under enquiry (neither closed nor converted),
                placed by the same text as above
    processes   summonses, warrants and proclamations pending service (`node.index.processes`),
                placed by the address of the person to be served

The read functions below are all the queries there are.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from node.index import casework, processes
from node.index.processes import ProcessRow
from node.index.record_index import RecordIndex
from node.index.schema import firs, gd_entries, ncrs, persons, petitions
from node.records.casework import ENDED
from node.records.duty import (
    DEFINED,
    PATROLS,
    RETIRED,
    WORKLOAD_DAYS,
    BeatArea,
    beat_of,
)
from node.records.validation import DAY_MS, IST
from protos import ledger_pb2, records_pb2

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

beats_table = sa.Table(
    "beats",
    _metadata,
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("localities", sa.Text, nullable=False),  # JSON list, as written
    sa.Column("status", sa.String(12), nullable=False),  # DEFINED or RETIRED
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("defined_index", sa.BigInteger, nullable=False),
    sa.Column("revised_index", sa.BigInteger, nullable=False),  # the latest "defined" entry
    sa.Column("defined_at_ms", sa.BigInteger, nullable=False),
    sa.Column("retired_index", sa.BigInteger, nullable=False),  # 0 while in force
    sa.Column("retired_at_ms", sa.BigInteger, nullable=False),
)
duties_table = sa.Table(
    "duties",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("duty", sa.String(24), nullable=False),
    sa.Column("beat_code", sa.String(12), nullable=False),
    sa.Column("place", sa.Text, nullable=False),
    sa.Column("from_ms", sa.BigInteger, nullable=False),
    sa.Column("to_ms", sa.BigInteger, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("assigned_by", sa.String(80), nullable=False),
    sa.Column("assigned_at_ms", sa.BigInteger, nullable=False),
    sa.Column("cancelled_index", sa.BigInteger, nullable=False),  # 0 while it stands
    sa.Column("cancelled_by", sa.String(80), nullable=False),
    sa.Column("cancel_reason", sa.Text, nullable=False),
    sa.Index("ix_duties_officer_from", "officer_id", "from_ms"),
    sa.Index("ix_duties_from", "from_ms"),
)
patrols_table = sa.Table(
    "patrols",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("beat_code", sa.String(12), nullable=False),
    sa.Column("from_ms", sa.BigInteger, nullable=False),
    sa.Column("to_ms", sa.BigInteger, nullable=False),
    sa.Column("points", sa.Text, nullable=False),  # JSON: [{"place", "at_ms", "note"}]
    sa.Column("checks", sa.Text, nullable=False),  # JSON: [{"name", "relative", ...}]
    sa.Column("observations", sa.Text, nullable=False),
    sa.Column("duty_index", sa.BigInteger, nullable=False),
    sa.Column("written_by", sa.String(80), nullable=False),
    sa.Column("written_at_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_patrols_beat_from", "beat_code", "from_ms"),
    sa.Index("ix_patrols_officer_from", "officer_id", "from_ms"),
)
beat_fir_places_table = sa.Table(
    "beat_fir_places",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("village", sa.Text, nullable=False),
    sa.Column("beat", sa.Text, nullable=False),
)


class DutyProjection:
    """Beats, duties, the beat book (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        kind = body.WhichOneof("record")
        if kind == "beat":
            self._beat(conn, index, body.beat, body.written_at_ms)
        elif kind == "duty":
            self._duty(conn, index, body)
        elif kind == "patrol":
            self._patrol(conn, index, body)
        elif kind == "fir":
            place = body.fir.place_of_occurrence
            if place.village or place.beat:
                conn.execute(
                    beat_fir_places_table.insert().values(
                        ledger_index=index, village=place.village, beat=place.beat
                    )
                )

    @staticmethod
    def _beat(conn: Connection, index: int, beat: records_pb2.Beat, at_ms: int) -> None:
        t = beats_table
        found = conn.execute(sa.select(t.c.code).where(t.c.code == beat.code)).first()
        if beat.action == RETIRED:
            conn.execute(
                t.update()
                .where(t.c.code == beat.code)
                .values(status=RETIRED, retired_index=index, retired_at_ms=at_ms, note=beat.note)
            )
            return
        values = {
            "name": beat.name,
            "localities": json.dumps(list(beat.localities), ensure_ascii=False),
            "status": DEFINED,
            "note": beat.note,
            "revised_index": index,
        }
        if found is None:
            conn.execute(
                t.insert().values(
                    code=beat.code,
                    defined_index=index,
                    defined_at_ms=at_ms,
                    retired_index=0,
                    retired_at_ms=0,
                    **values,
                )
            )
        else:
            conn.execute(t.update().where(t.c.code == beat.code).values(**values))

    @staticmethod
    def _duty(conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        duty = body.duty
        t = duties_table
        if duty.cancels:
            conn.execute(
                t.update()
                .where(t.c.ledger_index == duty.cancels, t.c.cancelled_index == 0)
                .values(
                    cancelled_index=index, cancelled_by=body.officer_id, cancel_reason=duty.note
                )
            )
            return
        conn.execute(
            t.insert().values(
                ledger_index=index,
                officer_id=duty.officer_id,
                duty=duty.duty,
                beat_code=duty.beat_code,
                place=duty.place,
                from_ms=duty.from_ms,
                to_ms=duty.to_ms,
                note=duty.note,
                assigned_by=body.officer_id,
                assigned_at_ms=body.written_at_ms,
                cancelled_index=0,
                cancelled_by="",
                cancel_reason="",
            )
        )

    @staticmethod
    def _patrol(conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        patrol = body.patrol
        points = [{"place": p.place, "at_ms": p.at_ms, "note": p.note} for p in patrol.points]
        checks = [
            {
                "name": c.person.name,
                "relative": _relative(c.person),
                "address": c.person.address,
                "place": c.place,
                "at_ms": c.at_ms,
                "remarks": c.remarks,
            }
            for c in patrol.checks
        ]
        conn.execute(
            patrols_table.insert().values(
                ledger_index=index,
                officer_id=patrol.officer_id,
                beat_code=patrol.beat_code,
                from_ms=patrol.from_ms,
                to_ms=patrol.to_ms,
                points=json.dumps(points, ensure_ascii=False),
                checks=json.dumps(checks, ensure_ascii=False),
                observations=patrol.observations,
                duty_index=patrol.duty_index,
                written_by=body.officer_id,
                written_at_ms=body.written_at_ms,
            )
        )


def _relative(person: records_pb2.Person) -> str:
    return f"{person.relation} {person.relative_name}".strip() if person.relative_name else ""


# -- beats -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BeatRow:
    code: str
    name: str
    localities: tuple[str, ...]
    status: str
    note: str
    defined_index: int
    revised_index: int
    defined_at_ms: int
    retired_index: int
    retired_at_ms: int

    @property
    def in_force(self) -> bool:
        return self.status == DEFINED

    @property
    def area(self) -> BeatArea:
        return BeatArea(self.code, self.name, self.localities)


def _beat_row(r: Any) -> BeatRow:
    return BeatRow(
        code=r.code,
        name=r.name,
        localities=tuple(json.loads(r.localities)),
        status=r.status,
        note=r.note,
        defined_index=int(r.defined_index),
        revised_index=int(r.revised_index),
        defined_at_ms=int(r.defined_at_ms),
        retired_index=int(r.retired_index),
        retired_at_ms=int(r.retired_at_ms),
    )


def beats(index: RecordIndex, *, in_force_only: bool = False) -> list[BeatRow]:
    """The station's beats by code; those in force first unless `in_force_only`."""
    t = beats_table
    stmt = sa.select(t)
    if in_force_only:
        stmt = stmt.where(t.c.status == DEFINED)
    stmt = stmt.order_by(sa.case((t.c.status == DEFINED, 0), else_=1), t.c.code)
    with index.engine.connect() as conn:
        return [_beat_row(r) for r in conn.execute(stmt)]


def find_beat(index: RecordIndex, code: str) -> BeatRow | None:
    """The beat `code` (case as defined; looked up case-insensitively)."""
    t = beats_table
    stmt = sa.select(t).where(sa.func.upper(t.c.code) == code.strip().upper())
    with index.engine.connect() as conn:
        found = conn.execute(stmt).first()
    return None if found is None else _beat_row(found)


# -- the roster --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DutyRow:
    ledger_index: int
    officer_id: str
    duty: str
    beat_code: str
    place: str
    from_ms: int
    to_ms: int
    note: str
    assigned_by: str
    assigned_at_ms: int
    cancelled_index: int
    cancelled_by: str
    cancel_reason: str

    @property
    def cancelled(self) -> bool:
        return self.cancelled_index != 0


def _duty_row(r: Any) -> DutyRow:
    return DutyRow(
        ledger_index=int(r.ledger_index),
        officer_id=r.officer_id,
        duty=r.duty,
        beat_code=r.beat_code,
        place=r.place,
        from_ms=int(r.from_ms),
        to_ms=int(r.to_ms),
        note=r.note,
        assigned_by=r.assigned_by,
        assigned_at_ms=int(r.assigned_at_ms),
        cancelled_index=int(r.cancelled_index),
        cancelled_by=r.cancelled_by,
        cancel_reason=r.cancel_reason,
    )


def roster(
    index: RecordIndex,
    from_ms: int,
    to_ms: int,
    *,
    officer_id: str | None = None,
    include_cancelled: bool = True,
    limit: int = 2000,
) -> list[DutyRow]:
    """The assignments that run at some moment of [from_ms, to_ms), by start, then officer;
    `officer_id`: that officer's only."""
    t = duties_table
    stmt = sa.select(t).where(t.c.from_ms < to_ms, t.c.to_ms > from_ms)
    if officer_id is not None:
        stmt = stmt.where(t.c.officer_id == officer_id)
    if not include_cancelled:
        stmt = stmt.where(t.c.cancelled_index == 0)
    stmt = stmt.order_by(t.c.from_ms, t.c.officer_id, t.c.ledger_index).limit(limit)
    with index.engine.connect() as conn:
        return [_duty_row(r) for r in conn.execute(stmt)]


def officer_duties(index: RecordIndex, officer_id: str, *, limit: int = 200) -> list[DutyRow]:
    """An officer's assignments, the latest first."""
    t = duties_table
    stmt = (
        sa.select(t)
        .where(t.c.officer_id == officer_id)
        .order_by(t.c.from_ms.desc(), t.c.ledger_index.desc())
        .limit(limit)
    )
    with index.engine.connect() as conn:
        return [_duty_row(r) for r in conn.execute(stmt)]


def find_duty(index: RecordIndex, ledger_index: int) -> DutyRow | None:
    t = duties_table
    with index.engine.connect() as conn:
        found = conn.execute(sa.select(t).where(t.c.ledger_index == ledger_index)).first()
    return None if found is None else _duty_row(found)


# -- the beat book -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatrolRow:
    ledger_index: int
    officer_id: str
    beat_code: str
    from_ms: int
    to_ms: int
    points: tuple[dict[str, Any], ...]
    checks: tuple[dict[str, Any], ...]
    observations: str
    duty_index: int
    written_by: str
    written_at_ms: int


def _patrol_row(r: Any) -> PatrolRow:
    return PatrolRow(
        ledger_index=int(r.ledger_index),
        officer_id=r.officer_id,
        beat_code=r.beat_code,
        from_ms=int(r.from_ms),
        to_ms=int(r.to_ms),
        points=tuple(json.loads(r.points)),
        checks=tuple(json.loads(r.checks)),
        observations=r.observations,
        duty_index=int(r.duty_index),
        written_by=r.written_by,
        written_at_ms=int(r.written_at_ms),
    )


def beat_book(
    index: RecordIndex,
    *,
    beat_code: str | None = None,
    officer_id: str | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
    limit: int = 500,
) -> list[PatrolRow]:
    """The beat book: patrol entries, the latest first; of one beat, of one officer, or those
    that ran at some moment of [from_ms, to_ms)."""
    t = patrols_table
    stmt = sa.select(t)
    if beat_code is not None:
        stmt = stmt.where(t.c.beat_code == beat_code)
    if officer_id is not None:
        stmt = stmt.where(t.c.officer_id == officer_id)
    if from_ms is not None:
        stmt = stmt.where(t.c.to_ms > from_ms)
    if to_ms is not None:
        stmt = stmt.where(t.c.from_ms < to_ms)
    stmt = stmt.order_by(t.c.from_ms.desc(), t.c.ledger_index.desc()).limit(limit)
    with index.engine.connect() as conn:
        return [_patrol_row(r) for r in conn.execute(stmt)]


# -- the workload ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Incident:
    kind: str  # "fir", "ncr", "petition", "gd"
    ref: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class PendingPetition:
    receipt_number: str
    received_at_ms: int
    subject: str
    status: str


@dataclass(slots=True)
class BeatLoad:
    """One beat's work: its incidents of the period, the petitions pending enquiry and the
    processes pending service placed in it, and who patrols it on the day asked. `code` is ""
    for what no beat's localities place."""

    code: str
    name: str
    incidents: list[Incident] = field(default_factory=list)
    petitions: list[PendingPetition] = field(default_factory=list)
    processes: list[ProcessRow] = field(default_factory=list)
    patrolled_by: list[DutyRow] = field(default_factory=list)

    @property
    def warrants(self) -> list[ProcessRow]:
        return [p for p in self.processes if p.process_type.endswith("warrant")]


@dataclass(frozen=True, slots=True)
class Workload:
    """The workload of the station on `day`: beats ordered by their incidents of the
    `days` days up to the day's end, most first (ties by code), then what no beat places."""

    day: datetime.date
    days: int
    since_ms: int
    until_ms: int
    beats: list[BeatLoad]
    unplaced: BeatLoad


def day_bounds(day: datetime.date) -> tuple[int, int]:
    """The start and end (Unix ms) of a day in India."""
    start = datetime.datetime.combine(day, datetime.time(), IST)
    return int(start.timestamp() * 1000), int(start.timestamp() * 1000) + DAY_MS


def _incidents(conn: Connection, since_ms: int, until_ms: int) -> list[tuple[Incident, str, str]]:
    """The FIRs, NCRs and GD information entries of [since_ms, until_ms), each with the text
    that places it and the beat it names (an FIR's place of occurrence only)."""
    out: list[tuple[Incident, str, str]] = []
    p = beat_fir_places_table
    stmt = (
        sa.select(
            firs.c.fir_number,
            firs.c.zero_fir_number,
            firs.c.registered_at_ms,
            firs.c.place,
            p.c.village,
            p.c.beat,
        )
        .outerjoin(p, p.c.ledger_index == firs.c.ledger_index)
        .where(firs.c.registered_at_ms >= since_ms, firs.c.registered_at_ms < until_ms)
    )
    for r in conn.execute(stmt):
        text = f"{r.place} {r.village or ''}"
        ref = r.fir_number or r.zero_fir_number
        out.append((Incident("fir", ref, int(r.registered_at_ms)), text, r.beat or ""))
    stmt2 = sa.select(ncrs.c.ncr_number, ncrs.c.reported_at_ms, ncrs.c.brief_facts).where(
        ncrs.c.reported_at_ms >= since_ms, ncrs.c.reported_at_ms < until_ms
    )
    for n in conn.execute(stmt2):
        out.append((Incident("ncr", n.ncr_number, int(n.reported_at_ms)), n.brief_facts, ""))
    stmt3 = sa.select(
        gd_entries.c.gd_date,
        gd_entries.c.gd_number,
        gd_entries.c.entry_time_ms,
        gd_entries.c.summary,
    ).where(
        gd_entries.c.category == "information",
        gd_entries.c.entry_time_ms >= since_ms,
        gd_entries.c.entry_time_ms < until_ms,
    )
    for g in conn.execute(stmt3):
        ref = f"GD {g.gd_date}/{g.gd_number}"
        out.append((Incident("gd", ref, int(g.entry_time_ms)), g.summary, ""))
    return out


def _petition_texts(conn: Connection, ledger_indexes: Iterable[int]) -> dict[int, str]:
    """The text that places each petition: subject, details, its persons' addresses."""
    wanted = sorted(set(ledger_indexes))
    if not wanted:
        return {}
    texts: dict[int, list[str]] = defaultdict(list)
    for chunk in range(0, len(wanted), 500):
        part = wanted[chunk : chunk + 500]
        stmt = sa.select(petitions.c.ledger_index, petitions.c.subject, petitions.c.details).where(
            petitions.c.ledger_index.in_(part)
        )
        for r in conn.execute(stmt):
            texts[int(r.ledger_index)].extend((r.subject, r.details))
        stmt2 = sa.select(persons.c.ledger_index, persons.c.address).where(
            persons.c.ledger_index.in_(part), persons.c.withheld.is_(False)
        )
        for a in conn.execute(stmt2):
            texts[int(a.ledger_index)].append(a.address)
    return {k: " . ".join(v) for k, v in texts.items()}


def workload(index: RecordIndex, day: datetime.date, *, days: int = WORKLOAD_DAYS) -> Workload:
    """The beats of the station (in force) ordered by their incidents of the `days` days up to
    the end of `day`, most first, each with the petitions pending enquiry and the processes
    pending service its localities place, and the patrols assigned on `day`."""
    start, end = day_bounds(day)
    since = end - days * DAY_MS
    in_force = beats(index, in_force_only=True)
    areas = [b.area for b in in_force]
    loads = {b.code: BeatLoad(b.code, b.name) for b in in_force}
    unplaced = BeatLoad("", "")

    def load_of(code: str | None) -> BeatLoad:
        return loads[code] if code is not None and code in loads else unplaced

    status = casework.petition_status_table
    with index.engine.connect() as conn:
        found = _incidents(conn, since, end)
        # Petitions: those received in the period count as incidents unless converted to an
        # FIR (the FIR counts); those pending enquiry are listed whatever their age.
        recent = conn.execute(
            sa.select(
                petitions.c.ledger_index,
                petitions.c.receipt_number,
                petitions.c.received_at_ms,
                status.c.status,
            )
            .outerjoin(status, status.c.receipt_number == petitions.c.receipt_number)
            .where(petitions.c.received_at_ms >= since, petitions.c.received_at_ms < end)
        ).all()
        pending = conn.execute(
            sa.select(
                petitions.c.ledger_index,
                petitions.c.receipt_number,
                petitions.c.received_at_ms,
                petitions.c.subject,
                status.c.status,
            )
            .join(status, status.c.receipt_number == petitions.c.receipt_number)
            .where(status.c.status.not_in(ENDED), petitions.c.received_at_ms < end)
            .order_by(petitions.c.received_at_ms)
        ).all()
        texts = _petition_texts(
            conn, [int(r.ledger_index) for r in recent] + [int(r.ledger_index) for r in pending]
        )
    for incident, text, hint in found:
        load_of(beat_of(text, areas, hint=hint)).incidents.append(incident)
    for r in recent:
        if r.status == "converted":
            continue
        text = texts.get(int(r.ledger_index), "")
        incident = Incident("petition", r.receipt_number, int(r.received_at_ms))
        load_of(beat_of(text, areas)).incidents.append(incident)
    for w in pending:
        text = texts.get(int(w.ledger_index), "")
        load_of(beat_of(text, areas)).petitions.append(
            PendingPetition(w.receipt_number, int(w.received_at_ms), w.subject, w.status)
        )
    for process in processes.process_register(index, pending_only=True, limit=5000):
        load_of(beat_of(process.address, areas)).processes.append(process)
    for duty in roster(index, start, end, include_cancelled=False):
        if duty.duty in PATROLS and duty.beat_code in loads:
            loads[duty.beat_code].patrolled_by.append(duty)
    for load in (*loads.values(), unplaced):
        load.incidents.sort(key=lambda i: (-i.at_ms, i.ref))
    ordered = sorted(loads.values(), key=lambda b: (-len(b.incidents), b.code))
    return Workload(day, days, since, end, ordered, unplaced)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One line of the suggested roster: a beat, why it is there, and whether a patrol is
    already assigned on the day. A proposal only: the SHO assigns."""

    rank: int
    beat: BeatLoad
    covered: bool
    reasons: tuple[str, ...]


def suggested_roster(
    index: RecordIndex, day: datetime.date, *, days: int = WORKLOAD_DAYS
) -> list[Suggestion]:
    """For `day`: the beats ordered by their incidents of the last `days` days, each with the
    warrants and summonses and petitions waiting in it, and whether a patrol already covers it.
    Writes nothing."""
    return suggestions(workload(index, day, days=days))


def suggestions(load: Workload) -> list[Suggestion]:
    """The suggested roster of a workload already read (`suggested_roster`)."""
    out: list[Suggestion] = []
    for rank, beat in enumerate(load.beats, 1):
        reasons: list[str] = []
        if beat.incidents:
            reasons.append(f"{len(beat.incidents)} incidents in {load.days} days")
        if beat.warrants:
            reasons.append(f"{len(beat.warrants)} warrants to execute")
        others = len(beat.processes) - len(beat.warrants)
        if others:
            reasons.append(f"{others} summonses or proclamations to serve")
        if beat.petitions:
            reasons.append(f"{len(beat.petitions)} petitions pending enquiry")
        out.append(Suggestion(rank, beat, bool(beat.patrolled_by), tuple(reasons)))
    return out
