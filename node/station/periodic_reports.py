"""The station's periodic reports: the daily situation report, the monthly crime review (of a
station, or of a district from its aggregate index), and the ad hoc report builder
(docs/reports.md has what each holds and its definitions).

    daily = daily_situation(station, date(2026, 11, 30))
    review = monthly_review(station, 2026, 11)            # or an AggregateIndex: a district
    district = district_review(aggregate, 2026, 11)       # per office, and their total
    result = adhoc(station.index, AdhocFilters(crime_head="Theft"), "month", period)

Definitions, once (the same as the dashboards', `node.index.reports`):
  * a case is an FIR numbered here (a Zero FIR registered for another station is not);
    crime figures leave out missing persons (Kerala Police Act s.57) and unnatural deaths
    (BNSS s.194), which are registered as FIRs but are no crime;
  * detected = charge-sheeted: a final report (BNSS s.193) of type charge sheet recorded in the
    case; a closure report disposes of a case without detecting it;
  * pending investigation on a day = a crime FIR registered before it without any final report
    recorded by then, aged in whole days since registration.

Days and months are India's (IST). The module reads the index; it never writes a record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from ledger.errors import InputError
from node.index import casework as casework_index
from node.index import investigation as held
from node.index import schema as ix
from node.index.aggregate import keys as aggregate_keys
from node.index.aggregate import schema as aggregate_schema
from node.index.aggregate.index import AggregateIndex
from node.index.record_index import RecordIndex
from node.index.register_periods import Period
from node.index.services import missing_persons_table
from node.records.investigation import REMANDS
from node.records.laws import Statutes
from node.records.validation import DAY_MS, FIRST_YEAR, IST, LAST_YEAR, utc_ms
from node.station.core import Station
from node.station.investigation import Due, due_now
from node.station.register_export import Column, Register, RegisterKind, parse_period

__all__ = [
    "AGE_BANDS",
    "GROUP_BY",
    "STATUSES",
    "AdhocFilters",
    "AdhocResult",
    "DailySituation",
    "DistrictReview",
    "HeadRow",
    "MonthlyReview",
    "adhoc",
    "adhoc_period",
    "daily_situation",
    "district_review",
    "month_period",
    "monthly_review",
    "report_sheet",
    "sum_reviews",
]

#: Pending investigations by age in whole days: (label, lowest, highest or None).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-90", 31, 90),
    ("91-365", 91, 365),
    (">365", 366, None),
)
#: What an ad hoc report groups by.
GROUP_BY = ("crime_head", "month", "io", "place", "status")
#: A case's investigation status, from its final reports (charge sheet wins over closure).
STATUSES = ("pending", "charge_sheet", "closure")
# The longest period an ad hoc report covers (ten years and the leap days).
ADHOC_MOST_DAYS = 3653

Source = RecordIndex | AggregateIndex


# -- days, months, periods -------------------------------------------------------------------------


def _day_start(day: date) -> int:
    return utc_ms(datetime.combine(day, time(0), IST))


def _month_bounds(year: int, month: int) -> tuple[int, int]:
    if not 1 <= month <= 12:
        raise InputError(f"month {month} is not 1..12")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InputError(f"year {year} is not between {FIRST_YEAR} and {LAST_YEAR}")
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _day_start(date(year, month, 1)), _day_start(after)


def month_period(year: int, month: int) -> Period:
    """The days of `year`-`month` as a period."""
    start, end = _month_bounds(year, month)
    last = date(year, month, 1) + timedelta(days=31)
    last = date(last.year, last.month, 1) - timedelta(days=1)
    return Period(date(year, month, 1).isoformat(), last.isoformat(), start, end)


def adhoc_period(first: str, last: str) -> Period:
    """The period from `first` to `last` (YYYY-MM-DD, both included, India time), at most ten
    years; InputError naming every problem."""
    return parse_period(first, last, most_days=ADHOC_MOST_DAYS, what="an ad hoc report covers")


# -- what the queries share ------------------------------------------------------------------------


def _non_crime() -> list[str]:
    return sorted(Statutes.default().non_crime_heads())


def _crime(f: sa.Table) -> sa.ColumnElement[bool]:
    return sa.or_(f.c.crime_head.is_(None), f.c.crime_head.not_in(_non_crime()))


def _office_where(index: Source, office: str | None) -> list[sa.ColumnElement[bool]]:
    """The rows of one office of an aggregate index (none: every office)."""
    if office is None or isinstance(index, RecordIndex):
        return []
    low, high = aggregate_keys.office_range(index.office(office).origin_no)
    return [ix.firs.c.ledger_index >= low, ix.firs.c.ledger_index < high]


def _final_reports(index: Source) -> tuple[sa.Subquery, sa.ColumnElement[bool]]:
    """Per case: the time of its first final report, and 1 if any is a charge sheet (`cs`),
    else 0; with the condition joining it to `ix.firs`."""
    f = ix.firs
    if isinstance(index, RecordIndex):
        e = casework_index.case_events_table
        sub = (
            sa.select(
                e.c.fir_number,
                sa.func.min(e.c.at_ms).label("first_at"),
                sa.func.max(sa.case((e.c.report_type == "charge_sheet", 1), else_=0)).label("cs"),
            )
            .where(e.c.kind == "final_report")
            .group_by(e.c.fir_number)
            .subquery("final_reports")
        )
        return sub, sub.c.fir_number == f.c.fir_number
    co = aggregate_schema.case_outcomes
    sub = (
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
    office = aggregate_schema.high_bits(f.c.ledger_index, aggregate_keys.OFFICE_SHIFT)
    return sub, sa.and_(sub.c.origin_no == office, sub.c.fir_number == f.c.fir_number)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _band(age_days: int) -> str:
    for label, low, high in AGE_BANDS:
        if age_days >= low and (high is None or age_days <= high):
            return label
    return AGE_BANDS[0][0]  # registered after the day asked about: not possible, but youngest


# -- the daily situation report --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadFirs:
    head: str
    numbers: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.numbers)


@dataclass(frozen=True, slots=True)
class DailySituation:
    """One IST day of a station."""

    station: str
    day: str
    firs_by_head: tuple[HeadFirs, ...]  # every FIR registered that day, Zero FIRs included
    arrests: int  # persons arrested that day (notices to appear apart)
    notices: int  # notices to appear in place of arrest (BNSS s.35(3))
    seizures: int  # items entered in the property register that day
    seized_value_inr: int
    produced: int  # persons produced before a magistrate that day
    remanded: int  # of those, remanded to police or judicial custody (their order as it stands)
    missing_reported: int  # missing persons reported that day
    gd_entries: int  # General Diary entries dated that day
    overdue: tuple[Due, ...]  # what the station owes the law and is late with, as of the report

    @property
    def firs(self) -> int:
        return sum(h.count for h in self.firs_by_head)

    def as_dict(self) -> dict[str, Any]:
        return {
            "station": self.station,
            "day": self.day,
            "firs": self.firs,
            "firs_by_head": [
                {"crime_head": h.head, "count": h.count, "fir_numbers": list(h.numbers)}
                for h in self.firs_by_head
            ],
            "arrests": self.arrests,
            "notices_to_appear": self.notices,
            "items_seized": self.seizures,
            "seized_value_inr": self.seized_value_inr,
            "produced_before_magistrate": self.produced,
            "remanded": self.remanded,
            "missing_persons_reported": self.missing_reported,
            "gd_entries": self.gd_entries,
            "overdue": [
                {"kind": d.kind, "fir_number": d.fir_number, "due_ms": d.due_ms, "what": d.what}
                for d in self.overdue
            ],
        }

    def table(self) -> list[tuple[str, str]]:
        """The report as (figure, value) rows, a header first, for CSV and PDF."""
        rows = [("Figure", "Value")]
        rows += [
            (f"FIRs: {h.head}", f"{h.count} ({', '.join(h.numbers)})") for h in self.firs_by_head
        ]
        rows += [
            ("FIRs registered", str(self.firs)),
            ("Arrests", str(self.arrests)),
            ("Notices to appear", str(self.notices)),
            ("Items seized", str(self.seizures)),
            ("Value seized (Rs.)", str(self.seized_value_inr)),
            ("Produced before a magistrate", str(self.produced)),
            ("Remanded", str(self.remanded)),
            ("Missing persons reported", str(self.missing_reported)),
            ("GD entries", str(self.gd_entries)),
        ]
        rows += [(f"Overdue: {d.kind} {d.fir_number}", d.what) for d in self.overdue]
        return rows


def daily_situation(station: Station, day: date, *, now: int | None = None) -> DailySituation:
    """The daily situation report of `station` for the IST day `day`; what is overdue is as of
    `now` (the station's clock by default)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InputError(f"day {day} is not between {FIRST_YEAR} and {LAST_YEAR}")
    start, end = _day_start(day), _day_start(day + timedelta(days=1))
    index = station.index
    f, c, p = ix.firs, held.custody_table, held.property_register_table
    m, g = missing_persons_table, ix.gd_entries
    heads: dict[str, list[str]] = {}
    with index.engine.connect() as conn:
        for number, zero_number, head in conn.execute(
            sa.select(f.c.fir_number, f.c.zero_fir_number, f.c.crime_head)
            .where(f.c.registered_at_ms >= start, f.c.registered_at_ms < end)
            .order_by(f.c.registered_at_ms, f.c.ledger_index)
        ):
            heads.setdefault(head or "(no head)", []).append(number or zero_number)
        custody = conn.execute(
            sa.select(
                _count_if(
                    c.c.noticed.is_(False)
                    & (c.c.arrested_at_ms >= start)
                    & (c.c.arrested_at_ms < end)
                ),
                _count_if(
                    c.c.noticed.is_(True)
                    & (c.c.arrested_at_ms >= start)
                    & (c.c.arrested_at_ms < end)
                ),
                _count_if((c.c.produced_at_ms >= start) & (c.c.produced_at_ms < end)),
                _count_if(
                    (c.c.produced_at_ms >= start)
                    & (c.c.produced_at_ms < end)
                    & c.c.status.in_(REMANDS)
                ),
            )
        ).one()
        seized = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(p.c.value_inr), 0)).where(
                p.c.seized_at_ms >= start, p.c.seized_at_ms < end
            )
        ).one()
        missing = conn.execute(
            sa.select(sa.func.count()).where(m.c.reported >= start, m.c.reported < end)
        ).scalar()
        gd = conn.execute(sa.select(sa.func.count()).where(g.c.gd_date == day.isoformat())).scalar()
    by_head = sorted(heads.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return DailySituation(
        station=station.config.station,
        day=day.isoformat(),
        firs_by_head=tuple(HeadFirs(head, tuple(numbers)) for head, numbers in by_head),
        arrests=int(custody[0] or 0),
        notices=int(custody[1] or 0),
        seizures=int(seized[0] or 0),
        seized_value_inr=int(seized[1] or 0),
        produced=int(custody[2] or 0),
        remanded=int(custody[3] or 0),
        missing_reported=int(missing or 0),
        gd_entries=int(gd or 0),
        overdue=tuple(d for d in due_now(station, now=now) if d.overdue),
    )


# -- the monthly crime review ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadRow:
    """Crime FIRs of one head: this month, the same month last year, the year to the end of
    this month, and the same span last year."""

    head: str
    month: int
    month_last_year: int
    year_to_date: int
    year_to_date_last_year: int


@dataclass(frozen=True, slots=True)
class MonthlyReview:
    """A month's crime review of a station, or of several offices added up. `arrests`,
    `seized_items` and `seized_value_inr` are None where the source does not hold them (an
    aggregate index holds no lock-up or property register)."""

    scope: str
    year: int
    month: int
    heads: tuple[HeadRow, ...]
    charge_sheeted: int  # charge sheets first recorded in the month (each case once)
    closed: int  # cases whose first final report in the month was a closure
    detected_of_registered: int  # crime FIRs of the month charge-sheeted since
    pending_by_age: tuple[tuple[str, int], ...]  # at the end of the month (or now, if sooner)
    as_of_ms: int
    arrests: int | None
    seized_items: int | None
    seized_value_inr: int | None
    offices: tuple[str, ...] = field(default=())  # the offices added up, when several

    @property
    def registered(self) -> int:
        return sum(h.month for h in self.heads)

    @property
    def pending(self) -> int:
        return sum(n for _, n in self.pending_by_age)

    def totals(self) -> HeadRow:
        return HeadRow(
            "Total",
            *(sum(getattr(h, name) for h in self.heads) for name in _HEAD_COUNTS),
        )

    def as_dict(self) -> dict[str, Any]:
        total = self.totals()
        return {
            "scope": self.scope,
            "year": self.year,
            "month": self.month,
            "offices": list(self.offices),
            "cases_by_head": [
                {"crime_head": h.head, **{n: getattr(h, n) for n in _HEAD_COUNTS}}
                for h in (*self.heads, total)
            ],
            "registered": self.registered,
            "charge_sheeted": self.charge_sheeted,
            "closed": self.closed,
            "detected_of_registered": self.detected_of_registered,
            "pending": self.pending,
            "pending_by_age": dict(self.pending_by_age),
            "pending_as_of_ms": self.as_of_ms,
            "arrests": self.arrests,
            "seized_items": self.seized_items,
            "seized_value_inr": self.seized_value_inr,
        }

    def table(self) -> list[tuple[str, ...]]:
        """Cases by head (a header row first), then the other figures, for CSV and PDF."""
        rows: list[tuple[str, ...]] = [("Crime head", *(_HEAD_TITLES[n] for n in _HEAD_COUNTS))]
        rows += [
            (h.head, *(str(getattr(h, n)) for n in _HEAD_COUNTS))
            for h in (*self.heads, self.totals())
        ]
        figures: list[tuple[str, Any]] = [
            ("Charge-sheeted in the month", self.charge_sheeted),
            ("Closed in the month", self.closed),
            ("Registered in the month and charge-sheeted", self.detected_of_registered),
            *((f"Pending {label} days", n) for label, n in self.pending_by_age),
            ("Pending in all", self.pending),
            ("Arrests", "not held" if self.arrests is None else self.arrests),
            ("Items seized", "not held" if self.seized_items is None else self.seized_items),
            (
                "Value seized (Rs.)",
                "not held" if self.seized_value_inr is None else self.seized_value_inr,
            ),
        ]
        rows += [(name, str(value), "", "", "") for name, value in figures]
        return rows


_HEAD_COUNTS = ("month", "month_last_year", "year_to_date", "year_to_date_last_year")
_HEAD_TITLES = {
    "month": "This month",
    "month_last_year": "Same month last year",
    "year_to_date": "Year to date",
    "year_to_date_last_year": "Same period last year",
}


def monthly_review(
    source: Station | Source,
    year: int,
    month: int,
    *,
    office: str | None = None,
    now: int | None = None,
) -> MonthlyReview:
    """The crime review of `year`-`month`: of a station (a Station or its index), or of an
    aggregate index's offices (all of them, a district's subtree; or the one named `office`)."""
    index: Source = source.index if isinstance(source, Station) else source
    scope = source.config.station if isinstance(source, Station) else (office or "all offices")
    if now is not None:
        moment = now
    elif isinstance(source, Station):
        moment = source.now()
    else:
        moment = utc_ms(datetime.now(IST))
    start, end = _month_bounds(year, month)
    ytd_start = _month_bounds(year, 1)[0]
    # The same spans last year (none before the first year the records know).
    last_start, last_end, last_ytd_start = 0, 0, 0
    if year > FIRST_YEAR:
        last_start, last_end = _month_bounds(year - 1, month)
        last_ytd_start = _month_bounds(year - 1, 1)[0]
    f = ix.firs
    where = [f.c.serial > 0, _crime(f), *_office_where(index, office)]
    reg = f.c.registered_at_ms

    def within(low: int, high: int) -> sa.ColumnElement[bool]:
        return (reg >= low) & (reg < high)

    as_of = min(moment, end)
    reports, joins = _final_reports(index)
    with index.engine.connect() as conn:
        heads = [
            HeadRow(str(head or "(no head)"), *(int(v or 0) for v in values))
            for head, *values in conn.execute(
                sa.select(
                    f.c.crime_head,
                    _count_if(within(start, end)),
                    _count_if(within(last_start, last_end)),
                    _count_if(within(ytd_start, end)),
                    _count_if(within(last_ytd_start, last_end)),
                )
                .where(*where, sa.or_(within(ytd_start, end), within(last_ytd_start, last_end)))
                .group_by(f.c.crime_head)
            )
        ]
        joined = f.outerjoin(reports, joins)
        done = conn.execute(
            sa.select(
                _count_if(
                    (reports.c.first_at >= start) & (reports.c.first_at < end) & (reports.c.cs == 1)
                ),
                _count_if(
                    (reports.c.first_at >= start) & (reports.c.first_at < end) & (reports.c.cs == 0)
                ),
                _count_if(within(start, end) & (reports.c.cs == 1)),
            )
            .select_from(joined)
            .where(*where)
        ).one()
        pending = Counter(
            _band((as_of - int(at)) // DAY_MS)
            for (at,) in conn.execute(
                sa.select(reg)
                .select_from(joined)
                .where(
                    *where,
                    reg < as_of,
                    sa.or_(reports.c.first_at.is_(None), reports.c.first_at >= as_of),
                )
            )
        )
        arrests = seized = None
        if isinstance(index, RecordIndex):
            c, p = held.custody_table, held.property_register_table
            arrests = int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        c.c.noticed.is_(False),
                        c.c.arrested_at_ms >= start,
                        c.c.arrested_at_ms < end,
                    )
                ).scalar()
                or 0
            )
            seized = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(p.c.value_inr), 0)).where(
                    p.c.seized_at_ms >= start, p.c.seized_at_ms < end
                )
            ).one()
    heads = [h for h in heads if any(getattr(h, n) for n in _HEAD_COUNTS)]
    heads.sort(key=lambda h: (-h.month, -h.year_to_date, h.head))
    return MonthlyReview(
        scope=scope,
        year=year,
        month=month,
        heads=tuple(heads),
        charge_sheeted=int(done[0] or 0),
        closed=int(done[1] or 0),
        detected_of_registered=int(done[2] or 0),
        pending_by_age=tuple((label, pending.get(label, 0)) for label, _, _ in AGE_BANDS),
        as_of_ms=as_of,
        arrests=arrests,
        seized_items=None if seized is None else int(seized[0] or 0),
        seized_value_inr=None if seized is None else int(seized[1] or 0),
    )


def _add(values: Iterable[int | None]) -> int | None:
    given = list(values)
    return None if any(v is None for v in given) else sum(v or 0 for v in given)


def sum_reviews(reviews: Sequence[MonthlyReview], scope: str) -> MonthlyReview:
    """Several offices' reviews of one month added up (a district's, from its stations'
    reviews): head by head; a figure one of them does not hold is not held in the sum."""
    if not reviews:
        raise InputError("no reviews to add up")
    if len({(r.year, r.month) for r in reviews}) != 1:
        raise InputError("the reviews added up must be of one month")
    heads: dict[str, list[int]] = {}
    for review in reviews:
        for h in review.heads:
            counts = heads.setdefault(h.head, [0] * len(_HEAD_COUNTS))
            for i, name in enumerate(_HEAD_COUNTS):
                counts[i] += getattr(h, name)
    rows = sorted(
        (HeadRow(head, *counts) for head, counts in heads.items()),
        key=lambda h: (-h.month, -h.year_to_date, h.head),
    )
    pending = Counter[str]()
    for review in reviews:
        pending.update(dict(review.pending_by_age))
    first = reviews[0]
    return replace(
        first,
        scope=scope,
        heads=tuple(rows),
        charge_sheeted=sum(r.charge_sheeted for r in reviews),
        closed=sum(r.closed for r in reviews),
        detected_of_registered=sum(r.detected_of_registered for r in reviews),
        pending_by_age=tuple((label, pending.get(label, 0)) for label, _, _ in AGE_BANDS),
        as_of_ms=max(r.as_of_ms for r in reviews),
        arrests=_add(r.arrests for r in reviews),
        seized_items=_add(r.seized_items for r in reviews),
        seized_value_inr=_add(r.seized_value_inr for r in reviews),
        offices=tuple(r.scope for r in reviews),
    )


@dataclass(frozen=True, slots=True)
class DistrictReview:
    """A district's review from its aggregate index: each office's, and their total."""

    offices: tuple[MonthlyReview, ...]
    total: MonthlyReview


def district_review(
    index: AggregateIndex, year: int, month: int, *, scope: str = "district", now: int | None = None
) -> DistrictReview:
    """The monthly review of every office the aggregate index holds (each a station of the
    district's subtree), and their sum. Arrests and seizures are not held by the aggregate
    index: they read "not held" (add station reviews with `sum_reviews` for them)."""
    offices = tuple(
        monthly_review(index, year, month, office=o.origin, now=now)
        for o in index.offices()
        if o.indexed_size
    )
    if not offices:
        raise InputError("this office holds no replicas of its stations")
    return DistrictReview(offices, sum_reviews(offices, scope))


# -- the ad hoc report builder ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdhocFilters:
    """What cases an ad hoc report counts (empty: any). `section` is "ACT SECTION" ("BNS
    303(2)") or an act alone ("NDPS"); `status` one of `STATUSES`."""

    crime_head: str = ""
    section: str = ""
    status: str = ""
    io: str = ""

    def check(self) -> None:
        if self.status and self.status not in STATUSES:
            raise InputError(f"status {self.status[:20]!r} is not one of {', '.join(STATUSES)}")


@dataclass(frozen=True, slots=True)
class AdhocResult:
    filters: AdhocFilters
    group_by: str
    period: Period
    groups: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.groups)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"from": self.period.first_day, "to": self.period.last_day},
            "filters": {k: v for k, v in _filters_dict(self.filters).items() if v},
            "group_by": self.group_by,
            "groups": [{"group": g, "cases": n} for g, n in self.groups],
            "total": self.total,
        }

    def table(self) -> list[tuple[str, str]]:
        return [
            (self.group_by, "cases"),
            *((g, str(n)) for g, n in self.groups),
            ("Total", str(self.total)),
        ]


def _filters_dict(filters: AdhocFilters) -> dict[str, str]:
    return {
        "crime_head": filters.crime_head,
        "section": filters.section,
        "status": filters.status,
        "io": filters.io,
    }


def adhoc(index: RecordIndex, filters: AdhocFilters, group_by: str, period: Period) -> AdhocResult:
    """FIRs numbered at the station and registered in `period` (crime or not: filter by head to
    choose), that match `filters`, counted per `group_by` (one of `GROUP_BY`), most first."""
    filters.check()
    if group_by not in GROUP_BY:
        raise InputError(f"group by {group_by[:20]!r} is not one of {', '.join(GROUP_BY)}")
    f, s, io_t = ix.firs, ix.record_sections, casework_index.case_io_table
    reports, joins = _final_reports(index)
    status = sa.case(
        (reports.c.cs == 1, sa.literal("charge_sheet")),
        (reports.c.first_at.is_not(None), sa.literal("closure")),
        else_=sa.literal("pending"),
    )
    io = sa.func.coalesce(io_t.c.io_officer_id, sa.literal(""))
    where: list[sa.ColumnElement[bool]] = [
        f.c.serial > 0,
        f.c.registered_at_ms >= period.start_ms,
        f.c.registered_at_ms < period.end_ms,
    ]
    if filters.crime_head:
        where.append(f.c.crime_head == filters.crime_head.strip())
    if filters.io:
        where.append(io == filters.io.strip())
    if filters.status:
        where.append(status == filters.status)
    if filters.section:
        act, _, section = filters.section.strip().partition(" ")
        cited = [s.c.ledger_index == f.c.ledger_index, sa.func.upper(s.c.act) == act.upper()]
        if section.strip():
            cited.append(s.c.section == section.strip())
        where.append(sa.exists().where(*cited))
    key = {
        "crime_head": f.c.crime_head,
        "month": f.c.registered_at_ms,
        "io": io,
        "place": f.c.place,
        "status": status,
    }[group_by]
    stmt = (
        sa.select(key)
        .select_from(
            f.outerjoin(reports, joins).outerjoin(io_t, io_t.c.fir_number == f.c.fir_number)
        )
        .where(*where)
    )
    counts: Counter[str] = Counter()
    with index.engine.connect() as conn:
        for (value,) in conn.execute(stmt):
            if group_by == "month":
                when = datetime.fromtimestamp(int(value) / 1000, IST)
                counts[f"{when.year:04d}-{when.month:02d}"] += 1
            else:
                counts[str(value or "").strip() or "(none)"] += 1
    if group_by == "month":
        groups = sorted(counts.items())
    else:
        groups = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return AdhocResult(filters, group_by, period, tuple(groups))


# -- printing --------------------------------------------------------------------------------------

# Titles of the reports in both languages; the Malayalam awaits a Malayalam-reading officer's
# review, as the registers' own labels do (docs/reports.md).
REPORT_TITLES: dict[str, tuple[str, str]] = {
    "daily": ("Daily Situation Report", "ദൈനംദിന സ്ഥിതി റിപ്പോർട്ട്"),
    "monthly": ("Monthly Crime Review", "പ്രതിമാസ കുറ്റകൃത്യ അവലോകനം"),
    "adhoc": ("Crime Report", "കുറ്റകൃത്യ റിപ്പോർട്ട്"),
}


def report_sheet(
    station: Station,
    kind: str,
    period: Period,
    table: Sequence[tuple[str, ...]],
    lang: str = "en",
) -> tuple[Register, list[tuple[str, ...]]]:
    """A report's table (a header row first) as a register sheet and its rows, so that the
    registers' CSV and PDF writers (`csv_lines`, `register_pdf`) print it as they print a
    register: the first column wide, the figures narrow."""
    en, ml = REPORT_TITLES[kind]
    header, *rows = table
    columns = tuple(
        Column(f"c{i}", name, name, 3.0 if i == 0 else 1.2) for i, name in enumerate(header)
    )
    spec = RegisterKind(kind, en, ml, columns)
    return Register(station, spec, period, lang, len(rows)), [tuple(r) for r in rows]
