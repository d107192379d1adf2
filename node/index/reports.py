"""The dashboards' figures: FIRs by crime head, the monthly trend, pending investigations by age,
the charge-sheeting rate, overdue citizen requests. Each takes one index; `combined` adds a
figure over several (a district's own log and its verified replicas).

Crime figures count crime FIRs only: missing persons (Kerala Police Act s.57) and unnatural
deaths (BNSS s.194, CrPC s.174) are registered as FIRs but are no crime, and are counted apart
(`apart_from_crime_counts`), by the heads of the law tables' non-crime rows.

Figures come from the casework records (`node.index.casework`):
  * an FIR is pending investigation until a final report (charge sheet or closure) is recorded
    in its case; the charge-sheeting rate counts FIRs with a charge sheet over all FIRs;
  * a citizen request is "overdue" when its petition was received more than 14 days ago, no FIR
    cites its receipt number (`Fir.petition_receipt`) and it has not been closed or converted;
  * a service request (verification, NOC, permission: `node.index.services`) is overdue when its
    due date has passed and it is neither completed nor rejected; these are counted with the
    petitions in the same panel (their receipts start "SR/").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from node.index import casework as casework_index
from node.index import schema as ix
from node.index import services as services_index
from node.index.aggregate import keys as aggregate_keys
from node.index.aggregate import schema as aggregate_schema
from node.index.aggregate.index import AggregateIndex
from node.index.lookups import Lookups
from node.index.record_index import RecordIndex
from node.records.laws import Statutes
from node.records.validation import DAY_MS, IST

OVERDUE_DAYS = 14
# Pending investigations by age in days: (label, lowest age, highest age or None).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 0, 30),
    ("31-90", 31, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    (">365", 366, None),
)


#: What a figure is read from: a node's own index, or an aggregating node's one index over its
#: replicas (node.index.aggregate), whose rows hold every office's figures together.
Source = RecordIndex | AggregateIndex


def combined(
    figure: Callable[[Source], list[tuple[str, int]]], sources: Sequence[Source]
) -> list[tuple[str, int]]:
    """One figure over several indexes (a district's or state's own log and its replicas):
    counts added label by label, in the first source's order, new labels after."""
    totals: dict[str, int] = {}
    for source in sources:
        for label, count in figure(source):
            totals[label] = totals.get(label, 0) + count
    return list(totals.items())


def _lookups(index: Source) -> Lookups:
    # An aggregate's counts group over all its rows: every office's FIRs at once.
    return index.lookups if isinstance(index, RecordIndex) else Lookups(index.engine)


def _has_final_report(index: Source) -> sa.ColumnElement[bool]:
    """The FIRs (of `ix.firs`) with a final report (charge sheet or closure) recorded."""
    f = ix.firs
    if isinstance(index, RecordIndex):
        events = casework_index.case_events_table
        return f.c.fir_number.in_(
            sa.select(events.c.fir_number).where(events.c.kind == "final_report")
        )
    # Across offices an FIR number repeats: a report counts for its own office's FIR only.
    co = aggregate_schema.case_outcomes
    office = aggregate_schema.high_bits(f.c.ledger_index, aggregate_keys.OFFICE_SHIFT)
    return sa.exists().where(
        co.c.kind == "final_report", co.c.origin_no == office, co.c.fir_number == f.c.fir_number
    )


def _charge_sheeted(index: Source) -> sa.Select[Any]:
    """How many FIRs have a charge sheet filed (each FIR once)."""
    if isinstance(index, RecordIndex):
        # The FIRs numbered here only: a unit's charge sheet in a case it took over (named by
        # its key, node/records/case_transfer.py) is of a crime counted where it was registered.
        events = casework_index.case_events_table
        return sa.select(sa.func.count(sa.distinct(events.c.fir_number))).where(
            events.c.kind == "final_report",
            events.c.report_type == "charge_sheet",
            events.c.fir_number.in_(sa.select(ix.firs.c.fir_number)),
        )
    co = aggregate_schema.case_outcomes
    filed = (
        sa.select(co.c.origin_no, co.c.fir_number)
        .where(co.c.kind == "final_report", co.c.report_type == "charge_sheet")
        .distinct()
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(filed)


def crime_head_counts(index: Source) -> list[tuple[str, int]]:
    """Crime FIRs numbered at this station per crime head, most first."""
    counts = _lookups(index).counts_by_crime_head()
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def apart_from_crime_counts(index: Source) -> list[tuple[str, int]]:
    """FIRs numbered here that register no crime (missing persons, unnatural deaths) per head,
    every such head listed (0 when none), most first."""
    counts = dict.fromkeys(Statutes.default().non_crime_heads(), 0)
    counts.update(_lookups(index).counts_apart_from_crime())
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _crime() -> sa.ColumnElement[bool]:
    """The FIRs that register a crime (not a missing person nor an unnatural death)."""
    heads = sorted(Statutes.default().non_crime_heads())
    f = ix.firs
    return sa.or_(f.c.crime_head.is_(None), f.c.crime_head.not_in(heads))


def _month_start(day: date, back: int) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def _ms_of(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=IST).timestamp() * 1000)


def monthly_trend(index: Source, now_ms: int, months: int = 12) -> list[tuple[str, int]]:
    """Crime FIRs numbered here per month (IST), the last `months` months up to this one."""
    today = datetime.fromtimestamp(now_ms / 1000, IST).date()
    starts = [_month_start(today, back) for back in range(months - 1, -1, -1)]
    counts = {f"{d.year:04d}-{d.month:02d}": 0 for d in starts}
    f = ix.firs
    stmt = sa.select(f.c.registered_at_ms).where(
        f.c.serial > 0, f.c.registered_at_ms >= _ms_of(starts[0]), _crime()
    )
    with index.engine.connect() as conn:
        for (registered,) in conn.execute(stmt):
            when = datetime.fromtimestamp(int(registered) / 1000, IST)
            key = f"{when.year:04d}-{when.month:02d}"
            if key in counts:
                counts[key] += 1
    return list(counts.items())


def pending_by_age(index: Source, now_ms: int) -> list[tuple[str, int]]:
    """Crime FIRs numbered here without a final report, by days since registration."""
    f = ix.firs
    cases = []
    for label, low, high in AGE_BUCKETS:
        # age in days (whole days elapsed) between low and high <=> registered in this window
        condition = f.c.registered_at_ms <= now_ms - low * DAY_MS
        if high is not None:
            condition = condition & (f.c.registered_at_ms > now_ms - (high + 1) * DAY_MS)
        cases.append((condition, sa.literal(label)))
    bucket = sa.case(*cases, else_=sa.literal(AGE_BUCKETS[0][0]))  # registered "in the future"
    stmt = (
        sa.select(bucket.label("bucket"), sa.func.count())
        .where(f.c.serial > 0, sa.not_(_has_final_report(index)), _crime())
        .group_by(bucket)
    )
    counts = {label: 0 for label, _, _ in AGE_BUCKETS}
    with index.engine.connect() as conn:
        for label, count in conn.execute(stmt):
            counts[str(label)] += int(count)
    return list(counts.items())


@dataclass(frozen=True, slots=True)
class ChargeSheeting:
    firs: int
    charge_sheets: int
    rate: float | None  # None while no charge sheet is recorded


def charge_sheeting(index: Source) -> ChargeSheeting:
    """Charge-sheeting rate: crime FIRs numbered here in which a charge sheet (final report of
    type charge sheet, from the casework records) has been filed, over all crime FIRs numbered
    here."""
    total = sum(_lookups(index).counts_by_crime_head().values())
    with index.engine.connect() as conn:
        filed = int(conn.execute(_charge_sheeted(index)).scalar() or 0)
    return ChargeSheeting(
        firs=total, charge_sheets=filed, rate=(filed / total) if filed and total else None
    )


@dataclass(frozen=True, slots=True)
class OverduePetition:
    receipt_number: str
    received_at_ms: int
    days_waiting: int
    channel: str


def overdue_petitions(
    index: RecordIndex, now_ms: int, *, days: int = OVERDUE_DAYS, limit: int | None = 50
) -> tuple[int, list[OverduePetition]]:
    """Overdue citizen requests: petitions received more than `days` days ago that no FIR
    cites, and service requests past their due date (see the module's note); how many, and the
    oldest of them by the date received."""
    status = casework_index.petition_status_table
    p, f = ix.petitions, ix.firs
    cited = sa.select(f.c.petition_receipt).where(f.c.petition_receipt != "")
    settled = sa.select(status.c.receipt_number).where(status.c.status.in_(("closed", "converted")))
    condition = sa.and_(
        p.c.received_at_ms < now_ms - days * DAY_MS,
        p.c.receipt_number.not_in(cited),
        p.c.receipt_number.not_in(settled),
    )
    with index.engine.connect() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).where(condition)).scalar() or 0)
        stmt = (
            sa.select(p.c.receipt_number, p.c.received_at_ms, p.c.channel)
            .where(condition)
            .order_by(p.c.received_at_ms, p.c.ledger_index)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = [
            OverduePetition(
                receipt_number=r.receipt_number,
                received_at_ms=int(r.received_at_ms),
                days_waiting=(now_ms - int(r.received_at_ms)) // DAY_MS,
                channel=r.channel,
            )
            for r in conn.execute(stmt)
        ]
    requests_total, requests = services_index.overdue_requests(index, now_ms, limit=limit)
    rows.extend(
        OverduePetition(
            receipt_number=r.receipt,
            received_at_ms=r.received_ms,
            days_waiting=(now_ms - r.received_ms) // DAY_MS,
            channel=f"service request: {r.kind}",
        )
        for r in requests
    )
    rows.sort(key=lambda p: (p.received_at_ms, p.receipt_number))
    return total + requests_total, rows if limit is None else rows[:limit]
