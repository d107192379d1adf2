"""Crime statistics in the form of NCRB's Crime in India, from an aggregating node's index.

Counting rules (NCRB's, as Crime in India states them in its notes on methodology):
  * a case is counted once, under its most serious offence (the "principal offence rule"):
    the FIR's crime head, which the station derives from the cited sections by
    `Statutes.most_serious` and the index derives again when an amendment alters the sections;
    an alteration of sections reported to the court during the investigation does not move it
    (the case is counted as registered: docs/investigation.md, "Which rules follow the
    sections now");
  * a case whose investigation another unit took over is counted once, where it was
    registered: the unit registers no FIR, and its final report is credited to that FIR
    (`AggregateIndex._credited`);
  * a case is counted where and when it was registered: the year of its FIR number, in the
    police district written on the FIR; a Zero FIR is counted by the station that numbers it
    (a Zero FIR sent on carries serial 0 at the sender and is not counted there);
  * missing persons and unnatural deaths are registered as FIRs but are no crime: they are
    left out (`Statutes.non_crime_heads`);
  * crime rate: cases per lakh of population (`node.records.population`, census figures);
  * disposal by police in a year: cases pending investigation at its start, registered in it,
    charge-sheeted and closed (a final report of closure) in it, pending at its end; the
    charge-sheeting rate is charge-sheeted over charge-sheeted plus closed, in per cent;
  * disposal by courts: court outcomes recorded in the year, read from the case's court
    progress (convicted, acquitted, discharged, compounded, withdrawn); the conviction rate is
    convicted over convicted plus acquitted plus discharged, in per cent.

Each figure can be traced to the cases behind it (`trace`: a cell of cases by head, of disposal
by police or of disposal by courts, by the same conditions the table counts with): origin
office, ledger index and FIR number, so that a reader fetches each with its inclusion proof from
the replica.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.errors import InputError
from node.index.aggregate import keys
from node.index.aggregate import schema as agg
from node.index.aggregate.index import AggregateIndex
from node.records import population as populations
from node.records.laws import Statutes
from node.records.validation import IST

PENAL = "BNS/IPC crimes"
SPECIAL_LOCAL = "Special and local laws"
UNCLASSIFIED = "Unclassified"

COURT_OUTCOMES = ("convicted", "acquitted", "discharged", "compounded", "withdrawn")
_OUTCOME_WORDS = {
    "convicted": ("convict",),
    "acquitted": ("acquit",),
    "discharged": ("discharg",),
    "compounded": ("compound",),
    "withdrawn": ("withdraw",),
}


# -- shapes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadRow:
    head: str
    family: str  # PENAL, SPECIAL_LOCAL or UNCLASSIFIED
    counts: tuple[int, ...]  # per area, in the table's order
    total: int


@dataclass(frozen=True, slots=True)
class HeadTable:
    """Cases registered in a year by crime head and area (districts of a state, or states)."""

    year: int
    scope: str  # a state's name, or "India"
    area_kind: str  # "police district" or "state"
    areas: tuple[str, ...]
    rows: tuple[HeadRow, ...]  # penal code heads first, then special and local laws
    area_totals: tuple[int, ...]
    total: int


@dataclass(frozen=True, slots=True)
class PoliceDisposal:
    area: str
    pending_start: int
    registered: int
    charge_sheeted: int
    closed: int
    pending_end: int

    @property
    def for_investigation(self) -> int:
        return self.pending_start + self.registered

    @property
    def charge_sheeting_rate(self) -> float | None:
        done = self.charge_sheeted + self.closed
        return self.charge_sheeted * 100 / done if done else None

    @property
    def pendency_rate(self) -> float | None:
        total = self.for_investigation
        return self.pending_end * 100 / total if total else None


@dataclass(frozen=True, slots=True)
class CourtDisposal:
    area: str
    outcomes: dict[str, int]  # COURT_OUTCOMES -> cases

    @property
    def conviction_rate(self) -> float | None:
        tried = sum(self.outcomes[k] for k in ("convicted", "acquitted", "discharged"))
        return self.outcomes["convicted"] * 100 / tried if tried else None


@dataclass(frozen=True, slots=True)
class RateRow:
    area: str  # a revenue district, or the state
    cases: int
    population: int | None
    rate: float | None  # per lakh


@dataclass(frozen=True, slots=True)
class TracedCase:
    origin: str
    index: int  # in the origin's own log
    fir_number: str
    district: str
    crime_head: str
    registered_at_ms: int


# -- helpers -----------------------------------------------------------------------------------


def head_families(statutes: Statutes) -> dict[str, str]:
    """Crime head -> PENAL when a penal code's section carries it, else SPECIAL_LOCAL."""
    out: dict[str, str] = {}
    for act in statutes.acts():
        family = PENAL if act.kind == "penal code" else SPECIAL_LOCAL
        for section in statutes.sections(act.code):
            if section.crime_head and out.get(section.crime_head) != PENAL:
                out[section.crime_head] = family
    return out


def year_bounds_ms(year: int) -> tuple[int, int]:
    """[1 January, next 1 January) of `year` in Indian time, in ms."""
    start = dt.datetime(year, 1, 1, tzinfo=IST)
    end = dt.datetime(year + 1, 1, 1, tzinfo=IST)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _state_no(conn: Connection, state: str) -> int:
    s = agg.agg_states
    found = conn.execute(sa.select(s.c.state_no).where(s.c.state == state)).scalar()
    if found is None:
        raise InputError(f"no office of state {state!r} is indexed here")
    return int(found)


def _state_names(conn: Connection) -> dict[int, str]:
    s = agg.agg_states
    return {int(n): str(name) for name, n in conn.execute(sa.select(s.c.state, s.c.state_no))}


def _scope(
    conn: Connection, state: str | None
) -> tuple[list[sa.ColumnElement[bool]], sa.ColumnElement[str] | sa.ColumnElement[int]]:
    """The WHERE of one state's rows (none for India) and the area column: the police district
    within a state, the state's number across India."""
    f = agg.firs
    if state is None:
        return [], agg.high_bits(f.c.ledger_index, keys.STATE_SHIFT)
    low, high = keys.state_range(_state_no(conn, state))
    return [f.c.ledger_index >= low, f.c.ledger_index < high], f.c.district


def _crime(statutes: Statutes) -> sa.ColumnElement[bool]:
    f = agg.firs
    return sa.or_(
        f.c.crime_head.is_(None), f.c.crime_head.not_in(sorted(statutes.non_crime_heads()))
    )


def _area_label(area: object, states: dict[int, str] | None) -> str:
    if states is None:
        return str(area) or "(no district written)"
    return states.get(int(str(area)), f"state {area}")


def _area_is(
    conn: Connection,
    state: str | None,
    area: str,
    area_column: sa.ColumnElement[str] | sa.ColumnElement[int],
) -> sa.ColumnElement[bool]:
    """The rows of one area of a table: a police district within a state, a state in India."""
    if state is not None:
        return agg.firs.c.district == area
    names = {v: k for k, v in _state_names(conn).items()}
    if area not in names:
        raise InputError(f"no state {area!r} is indexed here")
    return area_column == names[area]


# -- tables ------------------------------------------------------------------------------------


def crime_by_head(
    index: AggregateIndex, *, year: int, state: str | None = None, statutes: Statutes | None = None
) -> HeadTable:
    """Cases registered in `year` by crime head and police district (of `state`), or by state
    (all of India when `state` is None)."""
    statutes = statutes or Statutes.default()
    f = agg.firs
    with index.engine.connect() as conn:
        where, area = _scope(conn, state)
        states = None if state is not None else _state_names(conn)
        stmt = (
            sa.select(area.label("area"), f.c.crime_head, sa.func.count())
            .where(f.c.year == year, f.c.serial > 0, _crime(statutes), *where)
            .group_by(area, f.c.crime_head)
        )
        cells: dict[tuple[str, str], int] = defaultdict(int)
        for area_value, head, count in conn.execute(stmt):
            cells[(_area_label(area_value, states), str(head or UNCLASSIFIED))] += int(count)
    families = head_families(statutes)
    areas = tuple(sorted({a for a, _ in cells}))
    heads = {h for _, h in cells}
    rows = []
    for head in heads:
        counts = tuple(cells.get((a, head), 0) for a in areas)
        rows.append(HeadRow(head, families.get(head, UNCLASSIFIED), counts, sum(counts)))
    order = {PENAL: 0, SPECIAL_LOCAL: 1, UNCLASSIFIED: 2}
    rows.sort(key=lambda r: (order[r.family], -r.total, r.head))
    area_totals = tuple(sum(r.counts[i] for r in rows) for i in range(len(areas)))
    scope = "India" if state is None else _state_title(state)
    return HeadTable(
        year=year,
        scope=scope,
        area_kind="state" if state is None else "police district",
        areas=areas,
        rows=tuple(rows),
        area_totals=area_totals,
        total=sum(area_totals),
    )


def _state_title(state: str) -> str:
    shipped = populations.shipped().get(state)
    return shipped.name if shipped is not None else state.replace("-", " ").title()


def _final_reports() -> sa.Subquery:
    """Per FIR (office number, FIR number): the date of its first final report and whether any
    final report is a charge sheet."""
    co = agg.case_outcomes
    return (
        sa.select(
            co.c.origin_no,
            co.c.fir_number,
            sa.func.min(co.c.at_ms).label("first_at"),
            sa.func.max(sa.case((co.c.report_type == "charge_sheet", 1), else_=0)).label("cs"),
        )
        .where(co.c.kind == "final_report")
        .group_by(co.c.origin_no, co.c.fir_number)
        .subquery("final_reports")
    )


def police_disposal(
    index: AggregateIndex, *, year: int, state: str | None = None, statutes: Statutes | None = None
) -> list[PoliceDisposal]:
    """Disposal of crime cases by police in `year`, per area, plus a total row last."""
    statutes = statutes or Statutes.default()
    with index.engine.connect() as conn:
        where, area = _scope(conn, state)
        states = None if state is not None else _state_names(conn)
        joined, columns = _disposal(year)

        def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.sum(sa.case((condition, 1), else_=0))

        stmt = (
            sa.select(area.label("area"), *(count_if(columns[c]) for c in DISPOSAL_COLUMNS))
            .select_from(joined)
            .where(agg.firs.c.serial > 0, _crime(statutes), *where)
            .group_by(area)
        )
        rows = [
            PoliceDisposal(_area_label(a, states), *(int(v or 0) for v in values))
            for a, *values in conn.execute(stmt)
        ]
    rows.sort(key=lambda r: r.area)
    total = PoliceDisposal(
        "Total",
        *(sum(getattr(r, name) for r in rows) for name in DISPOSAL_COLUMNS),
    )
    return [*rows, total]


# The counted columns of `PoliceDisposal`, in its order.
DISPOSAL_COLUMNS = ("pending_start", "registered", "charge_sheeted", "closed", "pending_end")


def _disposal(year: int) -> tuple[sa.FromClause, dict[str, sa.ColumnElement[bool]]]:
    """The FIRs joined to their final reports, and per column of `PoliceDisposal` the condition
    an FIR meets to be counted in it in `year` (one definition for the table and its trace)."""
    start, end = year_bounds_ms(year)
    f = agg.firs
    fr = _final_reports()
    joined = f.outerjoin(
        fr,
        sa.and_(
            fr.c.origin_no == agg.high_bits(f.c.ledger_index, keys.OFFICE_SHIFT),
            fr.c.fir_number == f.c.fir_number,
        ),
    )
    reported_before = sa.and_(fr.c.first_at.is_not(None), fr.c.first_at < start)
    reported_in = sa.and_(fr.c.first_at >= start, fr.c.first_at < end)
    open_at_end = sa.or_(fr.c.first_at.is_(None), fr.c.first_at >= end)
    return joined, {
        "pending_start": sa.and_(f.c.registered_at_ms < start, sa.not_(reported_before)),
        "registered": sa.and_(f.c.registered_at_ms >= start, f.c.registered_at_ms < end),
        "charge_sheeted": sa.and_(reported_in, fr.c.cs == 1, f.c.registered_at_ms < end),
        "closed": sa.and_(reported_in, fr.c.cs == 0, f.c.registered_at_ms < end),
        "pending_end": sa.and_(f.c.registered_at_ms < end, open_at_end),
    }


def classify_outcome(text: str) -> str | None:
    """A court outcome as written ("Accused convicted u/s 303 BNS") -> one of COURT_OUTCOMES."""
    lowered = text.lower()
    for outcome, words in _OUTCOME_WORDS.items():
        if any(word in lowered for word in words):
            return outcome
    return None


def court_disposal(
    index: AggregateIndex, *, year: int, state: str | None = None
) -> list[CourtDisposal]:
    """Court outcomes recorded in `year`, per area (each case's last outcome of the year),
    plus a total row last."""
    by_area: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COURT_OUTCOMES, 0))
    for (a, _), (outcome, _) in _court_outcomes(index, year=year, state=state).items():
        by_area[a][outcome] += 1
    rows = [CourtDisposal(a, by_area[a]) for a in sorted(by_area)]
    totals = dict.fromkeys(COURT_OUTCOMES, 0)
    for row in rows:
        for k, v in row.outcomes.items():
            totals[k] += v
    return [*rows, CourtDisposal("Total", totals)]


def _court_outcomes(
    index: AggregateIndex, *, year: int, state: str | None, area: str | None = None
) -> dict[tuple[str, int], tuple[str, int]]:
    """Per case (area, FIR row key) with a court outcome recorded in `year`: its last outcome
    of the year, and the FIR's row key (one definition for the table and its trace)."""
    start, end = year_bounds_ms(year)
    f, co = agg.firs, agg.case_outcomes
    with index.engine.connect() as conn:
        where, area_column = _scope(conn, state)
        if area is not None:
            where.append(_area_is(conn, state, area, area_column))
        states = None if state is not None else _state_names(conn)
        stmt = (
            sa.select(area_column.label("area"), f.c.ledger_index, co.c.outcome)
            .select_from(
                co.join(
                    f,
                    sa.and_(
                        co.c.origin_no == agg.high_bits(f.c.ledger_index, keys.OFFICE_SHIFT),
                        co.c.fir_number == f.c.fir_number,
                    ),
                )
            )
            .where(
                co.c.kind == "court_progress",
                co.c.outcome != "",
                co.c.at_ms >= start,
                co.c.at_ms < end,
                f.c.serial > 0,
                *where,
            )
            .order_by(co.c.ledger_index)
        )
        last: dict[tuple[str, int], tuple[str, int]] = {}
        for a, fir_key, outcome in conn.execute(stmt):
            found = classify_outcome(str(outcome))
            if found is not None:
                last[(_area_label(a, states), int(fir_key))] = (found, int(fir_key))
    return last


def crime_rates(
    index: AggregateIndex, *, year: int, state: str, statutes: Statutes | None = None
) -> list[RateRow]:
    """Cases registered in `year` per lakh of population, per revenue district of `state` and
    for the state (last). Without shipped figures the rate is None."""
    table = crime_by_head(index, year=year, state=state, statutes=statutes)
    shipped = populations.shipped().get(state)
    by_district: dict[str, int] = defaultdict(int)
    unplaced = 0
    for area, count in zip(table.areas, table.area_totals, strict=True):
        district = shipped.revenue_district(area) if shipped is not None else None
        if district is None:
            unplaced += count
        else:
            by_district[district] += count
    rows = []
    if shipped is not None:
        for district, people in shipped.revenue_districts.items():
            cases = by_district.get(district, 0)
            rows.append(RateRow(district, cases, people, populations.rate_per_lakh(cases, people)))
    if unplaced:
        rows.append(RateRow("(police district not in the census table)", unplaced, None, None))
    people_total = shipped.total if shipped is not None else None
    rows.append(
        RateRow(
            table.scope,
            table.total,
            people_total,
            populations.rate_per_lakh(table.total, people_total),
        )
    )
    return rows


def trace(
    index: AggregateIndex,
    *,
    year: int,
    state: str | None = None,
    area: str | None = None,
    head: str | None = None,
    column: str | None = None,
    statutes: Statutes | None = None,
    limit: int | None = None,
) -> list[TracedCase]:
    """The cases behind a figure, in registration order: without `column`, a cell of
    `crime_by_head` (an area, a head, or both; None: every one); with a column of
    `police_disposal` (`DISPOSAL_COLUMNS`) or an outcome of `court_disposal`
    (`COURT_OUTCOMES`), that column's cell for an area (None: its total row)."""
    statutes = statutes or Statutes.default()
    f = agg.firs
    source: sa.FromClause = f
    with index.engine.connect() as conn:
        where, area_column = _scope(conn, state)
        if area is not None:
            where.append(_area_is(conn, state, area, area_column))
        if head is not None:
            where.append(
                f.c.crime_head.is_(None) if head == UNCLASSIFIED else f.c.crime_head == head
            )
        if column is None:
            where.append(f.c.year == year)
        elif column in DISPOSAL_COLUMNS:
            source, columns = _disposal(year)
            where.append(columns[column])
        elif column in COURT_OUTCOMES:
            found = _court_outcomes(index, year=year, state=state, area=area)
            keys_of = sorted(key for outcome, key in found.values() if outcome == column)
            where.append(f.c.ledger_index.in_(keys_of))
        else:
            choices = ", ".join(DISPOSAL_COLUMNS + COURT_OUTCOMES)
            raise InputError(f"column {column!r} is not one of {choices}")
        stmt = (
            sa.select(
                f.c.ledger_index, f.c.fir_number, f.c.district, f.c.crime_head, f.c.registered_at_ms
            )
            .select_from(source)
            .where(f.c.serial > 0, _crime(statutes), *where)
            .order_by(f.c.registered_at_ms, f.c.ledger_index)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = conn.execute(stmt).all()
    out = []
    for r in rows:
        located = index.locate(int(r.ledger_index))
        out.append(
            TracedCase(
                located.origin,
                located.index,
                str(r.fir_number),
                str(r.district),
                str(r.crime_head or UNCLASSIFIED),
                int(r.registered_at_ms),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A small square of the map (about `cell` degrees a side) and the crime FIRs that say
    they happened in it."""

    lat: float  # the square's centre
    lon: float
    cases: int


def hotspots(
    index: AggregateIndex,
    *,
    year: int,
    state: str | None = None,
    district: str | None = None,
    cell: float = 0.02,
    limit: int = 25,
    statutes: Statutes | None = None,
) -> list[Hotspot]:
    """The squares where most crime FIRs of `year` happened (FIRs without coordinates left
    out), most first: about 2 km squares by default."""
    statutes = statutes or Statutes.default()
    f = agg.firs
    with index.engine.connect() as conn:
        where, _ = _scope(conn, state)
        if district is not None:
            where.append(f.c.district == district)
        row = sa.func.floor(f.c.occurrence_lat / cell).label("row")
        column = sa.func.floor(f.c.occurrence_lon / cell).label("col")
        stmt = (
            sa.select(row, column, sa.func.count().label("n"))
            .where(
                f.c.year == year,
                f.c.serial > 0,
                f.c.occurrence_lat != 0,
                f.c.occurrence_lon != 0,
                _crime(statutes),
                *where,
            )
            .group_by(row, column)
            .order_by(sa.desc("n"), row, column)
            .limit(limit)
        )
        found = conn.execute(stmt).all()
    return [
        Hotspot((float(r.row) + 0.5) * cell, (float(r.col) + 0.5) * cell, int(r.n)) for r in found
    ]


# -- road accidents --------------------------------------------------------------------------

#: Sections that make an FIR a road accident by themselves (driving on a public way, hit and
#: run), and those that do when the FIR also lists a vehicle (death, hurt or grievous hurt by a
#: rash or negligent act). Motor Vehicles Act offences alone (drunk driving) are no accident.
ROAD_SECTIONS = frozenset({("BNS", "281"), ("BNS", "106(2)"), ("IPC", "279")})
NEGLIGENCE_SECTIONS = frozenset(
    {("BNS", "106(1)"), ("BNS", "125(a)"), ("BNS", "125(b)"), ("IPC", "304A"), ("IPC", "337"),
     ("IPC", "338")}
)  # fmt: skip
#: Severity by the gravest section cited: death, grievous hurt, hurt, none.
FATAL, GRIEVOUS, INJURY, NO_INJURY = "fatal", "grievous injury", "simple injury", "no injury"
SEVERITIES = (FATAL, GRIEVOUS, INJURY, NO_INJURY)
_SEVERITY_OF = {
    ("BNS", "106(1)"): FATAL, ("BNS", "106(2)"): FATAL, ("IPC", "304A"): FATAL,
    ("BNS", "125(b)"): GRIEVOUS, ("IPC", "338"): GRIEVOUS,
    ("BNS", "125(a)"): INJURY, ("IPC", "337"): INJURY,
}  # fmt: skip
#: Time of occurrence in three-hour slots (Indian time), as road accidents are tabulated.
TIME_SLOTS = tuple(f"{h:02d}:00-{h + 3:02d}:00" for h in range(0, 24, 3))
_IST_MS = 19_800_000  # +05:30


@dataclass(frozen=True, slots=True)
class Accident:
    """One road accident FIR, classified."""

    case: TracedCase
    severity: str
    slot: str  # one of TIME_SLOTS, "" when the FIR gives no time of occurrence
    vehicle_types: tuple[str, ...]
    victims: int  # persons named as victims (in a fatal accident: the persons killed, as far
    # as the FIR says; the FIR does not yet record each victim's injury)


@dataclass(frozen=True, slots=True)
class AccidentTables:
    year: int
    scope: str
    accidents: tuple[Accident, ...]

    def by(self, key: str) -> list[tuple[str, dict[str, int]]]:
        """Accidents per area ("area"), time slot ("slot") or vehicle type ("vehicle"), each
        split by severity, plus "killed": victims of fatal accidents."""
        rows: dict[str, dict[str, int]] = {}
        for accident in self.accidents:
            if key == "area":
                labels: tuple[str, ...] = (accident.case.district,)
            elif key == "slot":
                labels = (accident.slot or "time not given",)
            else:
                labels = accident.vehicle_types or ("vehicle not given",)
            for label in labels:
                row = rows.setdefault(label, {**dict.fromkeys(SEVERITIES, 0), "killed": 0})
                row[accident.severity] += 1
                if accident.severity == FATAL:
                    row["killed"] += accident.victims
        order = list(TIME_SLOTS) if key == "slot" else sorted(rows)
        return [(label, rows[label]) for label in order if label in rows] + [
            (label, rows[label]) for label in sorted(rows) if label not in order
        ]


def _slot(occurred_ms: int) -> str:
    if occurred_ms <= 0:
        return ""
    hour = (occurred_ms + _IST_MS) // 3_600_000 % 24
    return TIME_SLOTS[hour // 3]


def road_accidents(index: AggregateIndex, *, year: int, state: str | None = None) -> AccidentTables:
    """The road accident FIRs registered in `year` (see ROAD_SECTIONS), each classified by
    severity, time of day and the types of the vehicles involved."""
    f, rs = agg.firs, agg.derived.tables["record_sections"]
    v, p = agg.derived.tables["vehicles"], agg.derived.tables["persons"]
    cited = ROAD_SECTIONS | NEGLIGENCE_SECTIONS
    with index.engine.connect() as conn:
        where, _ = _scope(conn, state)
        candidates = (
            sa.select(rs.c.ledger_index)
            .where(sa.tuple_(rs.c.act, rs.c.section).in_(sorted(cited)))
            .distinct()
            .subquery()
        )
        firs = conn.execute(
            sa.select(
                f.c.ledger_index, f.c.fir_number, f.c.district, f.c.crime_head,
                f.c.registered_at_ms, f.c.occurrence_from_ms,
            )
            .join(candidates, candidates.c.ledger_index == f.c.ledger_index)
            .where(f.c.year == year, f.c.serial > 0, *where)
            .order_by(f.c.ledger_index)
        ).all()  # fmt: skip
        keys_found = [int(r.ledger_index) for r in firs]
        sections: dict[int, set[tuple[str, str]]] = defaultdict(set)
        vehicles: dict[int, list[str]] = defaultdict(list)
        victims: dict[int, int] = defaultdict(int)
        for start in range(0, len(keys_found), 5000):
            part = keys_found[start : start + 5000]
            for key, act, section in conn.execute(
                sa.select(rs.c.ledger_index, rs.c.act, rs.c.section).where(
                    rs.c.ledger_index.in_(part)
                )
            ):
                sections[int(key)].add((str(act), str(section)))
            for key, kind in conn.execute(
                sa.select(v.c.ledger_index, v.c.vehicle_type).where(v.c.ledger_index.in_(part))
            ):
                vehicles[int(key)].append(str(kind or "unspecified"))
            for key, count in conn.execute(
                sa.select(p.c.ledger_index, sa.func.count())
                .where(p.c.ledger_index.in_(part), p.c.role == "victim")
                .group_by(p.c.ledger_index)
            ):
                victims[int(key)] = int(count)
    accidents = []
    for r in firs:
        key = int(r.ledger_index)
        cites = sections[key]
        if not (cites & ROAD_SECTIONS or (cites & NEGLIGENCE_SECTIONS and vehicles[key])):
            continue
        grades = {_SEVERITY_OF[c] for c in cites if c in _SEVERITY_OF}
        severity = next((s for s in SEVERITIES if s in grades), NO_INJURY)
        located = index.locate(key)
        case = TracedCase(
            located.origin, located.index, str(r.fir_number), str(r.district),
            str(r.crime_head or UNCLASSIFIED), int(r.registered_at_ms),
        )  # fmt: skip
        accidents.append(
            Accident(
                case,
                severity,
                _slot(int(r.occurrence_from_ms)),
                tuple(sorted(set(vehicles[key]))),
                victims[key],
            )
        )
    scope = "India" if state is None else _state_title(state)
    return AccidentTables(year, scope, tuple(accidents))


def table_rows(table: HeadTable) -> Iterable[Sequence[object]]:
    """The table as rows of cells (a header first), for CSV and the page."""
    yield ("Crime head", "Law", *table.areas, "Total")
    for row in table.rows:
        yield (row.head, row.family, *row.counts, row.total)
    yield ("Total", "", *table.area_totals, table.total)
