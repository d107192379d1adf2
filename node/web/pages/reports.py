"""The station's periodic reports (node/station/periodic_reports.py, docs/reports.md), for
officers who may view the dashboards and statistics ("dashboard.view").

    GET /reports/daily?day=                     the daily situation report (default: today)
    GET /reports/daily.csv?day=                 the same as CSV
    GET /reports/monthly?year=&month=           the monthly crime review (default: last month),
                                                with a chart of cases by head; on a district
                                                node also each replicated office's review
    GET /reports/monthly.csv?year=&month=       the review as CSV
    GET /reports/adhoc?from=&to=&group_by=&crime_head=&section=&status=&io=
                                                the ad hoc report builder: a form, and the
                                                counts per group of the FIRs that match
    GET /reports/adhoc.csv?(the same)           the counts as CSV

A bad day, month, period or filter answers 400 with the reason (the error mapping of
`node.web.errors`). Figures are read in a worker thread and never cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ledger.errors import InputError
from node.index.aggregate.index import AggregateIndex
from node.records.validation import IST
from node.station import periodic_reports as pr
from node.web import charts, csvout
from node.web.deps import blocking, context, no_store, render, station, station_officer, t
from node.web.rules import Officer

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"], include_in_schema=False)
# The same permission as the dashboards and the statistics pages.
Viewer = Annotated[Officer, Depends(station_officer("dashboard.view"))]


def _today() -> date:
    return datetime.now(IST).date()


def _day(request: Request) -> date:
    text = request.query_params.get("day", "").strip()
    if not text:
        return _today()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(f"day {text[:20]!r} is not a date (YYYY-MM-DD)") from None


def _month(request: Request) -> tuple[int, int]:
    last = _today().replace(day=1) - timedelta(days=1)
    params = request.query_params
    try:
        year = int(params.get("year", "").strip() or last.year)
        month = int(params.get("month", "").strip() or last.month)
    except ValueError:
        raise InputError("year and month are numbers") from None
    return year, month


def _filters(request: Request) -> tuple[pr.AdhocFilters, str, str, str]:
    params = request.query_params
    filters = pr.AdhocFilters(
        crime_head=params.get("crime_head", "").strip(),
        section=params.get("section", "").strip(),
        status=params.get("status", "").strip(),
        io=params.get("io", "").strip(),
    )
    group_by = params.get("group_by", "").strip() or "crime_head"
    last = params.get("to", "").strip() or _today().isoformat()
    first = params.get("from", "").strip() or f"{last[:4]}-01-01"
    return filters, group_by, first, last


def _aggregate(request: Request) -> AggregateIndex | None:
    replicas = context(request).replica_indexes
    if replicas is None or not replicas.held():
        return None
    index: AggregateIndex = replicas.aggregate
    return index


def _csv(table: Sequence[tuple[str, ...]], name: str) -> Response:
    return csvout.attachment(table, name)


@router.get("/daily", response_class=HTMLResponse)
async def daily_page(request: Request, officer: Viewer) -> Response:
    report = await blocking(pr.daily_situation, station(request), _day(request))
    return no_store(render(request, "reports_daily.html", report=report))


@router.get("/daily.csv")
async def daily_csv(request: Request, officer: Viewer) -> Response:
    report = await blocking(pr.daily_situation, station(request), _day(request))
    return _csv(report.table(), f"daily-situation-{report.day}.csv")


def _district(request: Request, year: int, month: int) -> pr.DistrictReview | None:
    index = _aggregate(request)
    if index is None or not any(o.indexed_size for o in index.offices()):
        return None
    return pr.district_review(index, year, month, scope=station(request).config.node_id)


@router.get("/monthly", response_class=HTMLResponse)
async def monthly_page(request: Request, officer: Viewer) -> Response:
    year, month = _month(request)
    review = await blocking(pr.monthly_review, station(request), year, month)
    district = await blocking(_district, request, year, month)
    chart = charts.bar_chart(
        t(request, "reports.by_head"),
        [(h.head, float(h.month)) for h in review.heads],
        empty=t(request, "dash.none"),
    )
    page = render(
        request,
        "reports_monthly.html",
        review=review,
        district=district,
        bands=pr.AGE_BANDS,
        heads_svg=Markup(chart),
    )
    return no_store(page)


@router.get("/monthly.csv")
async def monthly_csv(request: Request, officer: Viewer) -> Response:
    year, month = _month(request)
    review = await blocking(pr.monthly_review, station(request), year, month)
    return _csv(review.table(), f"monthly-review-{year:04d}-{month:02d}.csv")


def _adhoc(request: Request) -> tuple[pr.AdhocResult, pr.AdhocFilters, str, str, str]:
    filters, group_by, first, last = _filters(request)
    period = pr.adhoc_period(first, last)
    result = pr.adhoc(station(request).index, filters, group_by, period)
    return result, filters, group_by, first, last


@router.get("/adhoc", response_class=HTMLResponse)
async def adhoc_page(request: Request, officer: Viewer) -> Response:
    result, filters, group_by, first, last = await blocking(_adhoc, request)
    page = render(
        request,
        "reports_adhoc.html",
        result=result,
        filters=filters,
        group_by=group_by,
        first=first,
        last=last,
        groupings=pr.GROUP_BY,
        statuses=pr.STATUSES,
        query=request.url.query,
    )
    return no_store(page)


@router.get("/adhoc.csv")
async def adhoc_csv(request: Request, officer: Viewer) -> Response:
    result, *_ = await blocking(_adhoc, request)
    period = result.period
    return _csv(result.table(), f"report-{period.first_day}-{period.last_day}.csv")
