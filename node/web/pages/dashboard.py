"""The station's dashboards, for officers whose role may view them ("dashboard.view").

  GET /dashboard               counts by crime head (bar chart), FIRs per month for the last
                               12 months (line chart), pending investigations by age (bar
                               chart), the charge-sheeting rate, overdue citizen requests;
                               missing persons and unnatural deaths in their own figure, never
                               in the crime figures (`node.index.reports`)
  GET /dashboard/{chart}.csv   the figures of one chart as CSV with a header row:
                               crime-heads, apart-from-crime, trend, pending, charge-sheeting,
                               overdue

Charts are SVG drawn on the server (`node.web.charts`): no script, and they print. What each
figure approximates while final reports and petition closures are not recorded is said on the
page and in `node.index.reports`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ledger.log import now_ms
from node.index import reports
from node.index.aggregate.index import AggregateIndex
from node.records.validation import IST
from node.web import charts, csvout
from node.web.deps import context, no_store, render, station, station_officer, t
from node.web.rules import Officer

__all__ = ["CHARTS", "router"]

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
Viewer = Annotated[Officer, Depends(station_officer("dashboard.view"))]
CHARTS = (
    "crime-heads",
    "apart-from-crime",
    "offices",
    "trend",
    "pending",
    "charge-sheeting",
    "overdue",
)


def _sources(request: Request) -> list[reports.Source]:
    """The station's own index, then on a district, state or national node the one index over
    every verified replica: the dashboard of an office covers its whole subtree."""
    sources: list[reports.Source] = [station(request).index]
    replicas = context(request).replica_indexes
    if replicas is not None and replicas.held():
        sources.append(replicas.aggregate)
    return sources


def _replica_origins(sources: Sequence[reports.Source]) -> list[str]:
    return sorted(
        office.origin
        for source in sources
        if isinstance(source, AggregateIndex)
        for office in source.offices()
    )


def _by_office(request: Request, sources: Sequence[reports.Source]) -> list[tuple[str, int]]:
    """FIRs per office: this node's own, then each replicated office's."""
    own = station(request).config.node_id
    out = [(own, sum(count for _, count in reports.crime_head_counts(sources[0])))]
    for source in sources[1:]:
        if isinstance(source, AggregateIndex):
            out.extend(
                (origin.split("/", 1)[-1], count) for origin, count in source.firs_by_office()
            )
    return out


def _crime_heads(sources: Sequence[reports.Source]) -> list[tuple[str, int]]:
    """FIRs per crime head over `sources`, most first."""
    return sorted(
        reports.combined(reports.crime_head_counts, sources), key=lambda kv: (-kv[1], kv[0])
    )


def _apart_from_crime(sources: Sequence[reports.Source]) -> list[tuple[str, int]]:
    """FIRs registering no crime (missing persons, unnatural deaths) per head over `sources`."""
    return sorted(
        reports.combined(reports.apart_from_crime_counts, sources), key=lambda kv: (-kv[1], kv[0])
    )


def _charge(sources: Sequence[reports.Source]) -> reports.ChargeSheeting:
    parts = [reports.charge_sheeting(source) for source in sources]
    firs = sum(p.firs for p in parts)
    filed = sum(p.charge_sheets for p in parts)
    return reports.ChargeSheeting(
        firs=firs, charge_sheets=filed, rate=(filed / firs) if filed and firs else None
    )


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def dashboard(request: Request, officer: Viewer) -> Response:
    index = station(request).index
    now = now_ms()
    sources = _sources(request)
    heads = _crime_heads(sources)
    trend = reports.combined(lambda s: reports.monthly_trend(s, now), sources)
    pending = reports.combined(lambda s: reports.pending_by_age(s, now), sources)
    by_office = _by_office(request, sources)
    overdue_total, overdue = reports.overdue_petitions(index, now, limit=20)
    page = render(
        request,
        "dashboard.html",
        now_ms=now,
        crime_heads=heads,
        apart_from_crime=_apart_from_crime(sources),
        crime_heads_svg=Markup(
            charts.bar_chart(
                t(request, "dash.crime_heads"),
                [(head, float(count)) for head, count in heads],
                empty=t(request, "dash.none"),
            )
        ),
        trend=trend,
        trend_svg=Markup(
            charts.line_chart(
                t(request, "dash.trend"), [(month, float(count)) for month, count in trend]
            )
        ),
        pending=pending,
        pending_svg=Markup(
            charts.bar_chart(
                t(request, "dash.pending"), [(age, float(count)) for age, count in pending]
            )
        ),
        charge=_charge(sources),
        by_office=by_office,
        by_office_svg=Markup(
            charts.bar_chart(
                t(request, "dash.by_office"), [(office, float(n)) for office, n in by_office]
            )
        )
        if len(by_office) > 1
        else "",
        offices=_replica_origins(sources),
        overdue_total=overdue_total,
        overdue=overdue,
        overdue_days=reports.OVERDUE_DAYS,
    )
    return no_store(page)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], name: str) -> Response:
    stamp = datetime.now(IST).strftime("%Y%m%d")
    return csvout.attachment([header, *rows], f"{name}-{stamp}.csv")


def _iso_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, IST).date().isoformat()


@router.get("/{chart}.csv", include_in_schema=False)
def chart_csv(chart: str, request: Request, officer: Viewer) -> Response:
    now = now_ms()
    if chart == "offices":
        return _csv(("office", "firs"), _by_office(request, _sources(request)), chart)
    if chart == "crime-heads":
        return _csv(("crime_head", "firs"), _crime_heads(_sources(request)), chart)
    if chart == "apart-from-crime":
        return _csv(("head", "firs"), _apart_from_crime(_sources(request)), chart)
    if chart == "trend":
        trend = reports.combined(lambda s: reports.monthly_trend(s, now), _sources(request))
        return _csv(("month", "firs_registered"), trend, chart)
    if chart == "pending":
        pending = reports.combined(lambda s: reports.pending_by_age(s, now), _sources(request))
        return _csv(("age_days", "pending_firs"), pending, chart)
    if chart == "charge-sheeting":
        c = _charge(_sources(request))
        rate = "" if c.rate is None else f"{c.rate:.4f}"
        return _csv(("firs", "charge_sheets", "rate"), [(c.firs, c.charge_sheets, rate)], chart)
    if chart == "overdue":
        _, rows = reports.overdue_petitions(station(request).index, now, limit=None)
        return _csv(
            ("receipt_number", "received_date", "days_waiting", "channel"),
            (
                (p.receipt_number, _iso_date(p.received_at_ms), p.days_waiting, p.channel)
                for p in rows
            ),
            chart,
        )
    return Response(
        f"no such chart: one of {', '.join(CHARTS)}\n",
        status_code=404,
        media_type="text/plain; charset=utf-8",
    )
