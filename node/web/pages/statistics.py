"""Crime statistics for district, state and national offices, in the form of NCRB's Crime in
India (node/index/aggregate/statistics.py): cases by crime head and area, crime rates per lakh,
disposal by police and by courts, the trend of each head; every count links to the cases behind
it, and each case to its inclusion proof against the office's checkpoint.

Figures come from the node's one index over its verified replicas; a node that holds none (a
station) has no statistics page of its own. The case lists show what a register's index shows
(FIR number, date, district, crime head, sections), never a person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from ledger.errors import InputError, PeerError, VerificationError
from ledger.log import now_ms
from node.index.aggregate import statistics as stats
from node.index.aggregate.index import AggregateIndex
from node.records import geography
from node.records.validation import IST
from node.web import charts, csvout, maps
from node.web.deps import context, no_store, not_found, render, station, station_officer, t
from node.web.rules import Officer

router = APIRouter(prefix="/statistics", tags=["statistics"])
Viewer = Annotated[Officer, Depends(station_officer("dashboard.view"))]
TREND_YEARS = 5
TREND_HEADS = 15  # the heads of the year's table whose trend is drawn, most cases first
TRACE_LIMIT = 500


def _aggregate(request: Request) -> AggregateIndex | None:
    replicas = context(request).replica_indexes
    if replicas is None or not replicas.held():
        return None
    index: AggregateIndex = replicas.aggregate
    return index


def _year(value: int | None) -> int:
    this_year = datetime.fromtimestamp(now_ms() / 1000, IST).year
    if value is None:
        return this_year
    if not 1900 <= value <= this_year + 1:
        raise InputError(f"year {value} is out of range")
    return value


def _scope(request: Request, index: AggregateIndex, state: str | None) -> str | None:
    """The state asked for; by default the node's own (a national node: all of India)."""
    known = {office.state for office in index.offices()}
    if state == "india":
        return None
    if state:
        if state not in known:
            raise InputError(f"no office of state {state!r} is indexed here")
        return state
    config = station(request).config
    if config.role == "national":
        return None
    own = config.node_id.split("/", 1)[0]
    return own if own in known else None


def _no_replicas(request: Request) -> Response:
    return no_store(render(request, "statistics.html", empty=True))


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def statistics_page(
    request: Request, officer: Viewer, year: int | None = None, state: str | None = None
) -> Response:
    index = _aggregate(request)
    if index is None:
        return _no_replicas(request)
    try:
        chosen, scope = _year(year), _scope(request, index, state)
    except InputError as exc:
        return not_found(request, str(exc))
    table = stats.crime_by_head(index, year=chosen, state=scope)
    police = stats.police_disposal(index, year=chosen, state=scope)
    courts = stats.court_disposal(index, year=chosen, state=scope)
    rates = stats.crime_rates(index, year=chosen, state=scope) if scope else []
    years = list(range(chosen - TREND_YEARS + 1, chosen + 1))
    tables = {y: stats.crime_by_head(index, year=y, state=scope) for y in years}
    trend = [(str(y), tables[y].total) for y in years]
    head_totals = {y: {row.head: row.total for row in tables[y].rows} for y in years}
    heads = [row.head for row in table.rows[:TREND_HEADS]]
    head_trend = [
        (
            head,
            [head_totals[y].get(head, 0) for y in years],
            Markup(charts.sparkline(head, [float(head_totals[y].get(head, 0)) for y in years])),
        )
        for head in heads
    ]
    accidents = stats.road_accidents(index, year=chosen, state=scope)
    by_slot = accidents.by("slot")
    offices = index.offices()
    indexed = [o.indexed_at_ms for o in offices if o.indexed_size and o.indexed_at_ms]
    page = render(
        request,
        "statistics.html",
        empty=False,
        office_count=sum(1 for o in offices if o.indexed_size),
        oldest_ms=min(indexed, default=0),
        newest_ms=max(indexed, default=0),
        map_svg=_map(request, index, table, rates, chosen, scope),
        year=chosen,
        state=scope or "india",
        states=sorted({office.state for office in offices}),
        table=table,
        police=police,
        courts=courts,
        rates=rates,
        outcomes=stats.COURT_OUTCOMES,
        disposal_columns=stats.DISPOSAL_COLUMNS,
        trend=trend,
        trend_years=years,
        head_trend=head_trend,
        severities=stats.SEVERITIES,
        accidents_total=len(accidents.accidents),
        accidents_by_area=accidents.by("area"),
        accidents_by_slot=by_slot,
        accidents_by_vehicle=accidents.by("vehicle"),
        accidents_svg=Markup(
            charts.bar_chart(
                t(request, "stats.accidents_by_time"),
                [(slot, float(sum(row[s] for s in stats.SEVERITIES))) for slot, row in by_slot],
                empty=t(request, "dash.none"),
            )
        ),
        trend_svg=Markup(
            charts.line_chart(t(request, "stats.trend"), [(label, float(n)) for label, n in trend])
        ),
        heads_svg=Markup(
            charts.bar_chart(
                t(request, "stats.by_head"),
                [(row.head, float(row.total)) for row in table.rows[:15]],
                empty=t(request, "dash.none"),
            )
        ),
    )
    return no_store(page)


def _map(
    request: Request,
    index: AggregateIndex,
    table: stats.HeadTable,
    rates: list[stats.RateRow],
    year: int,
    scope: str | None,
) -> Markup:
    """Kerala: the crime rate per revenue district, with the year's hotspots; India: the cases
    of each state. Other states have no boundaries shipped yet: no map."""
    if scope is None:
        shapes = geography.india_states()
        values: dict[str, float | None] = {
            area: float(total)
            for area, total in zip(table.areas, table.area_totals, strict=True)
            if area in shapes.features
        }
        title, legend = t(request, "stats.map_india", year=year), t(request, "stats.col.cases")
        points: list[maps.MapPoint] = []
    elif scope == "kerala":
        shapes = geography.kerala_districts()
        values = {r.area: r.rate for r in rates if r.area in shapes.features}
        title, legend = t(request, "stats.map_kerala", year=year), t(request, "stats.col.rate")
        spots = stats.hotspots(index, year=year, state=scope)
        most = max((spot.cases for spot in spots), default=1)
        points = [
            maps.MapPoint(s.lat, s.lon, 2 + 8 * (s.cases / most) ** 0.5, f"{s.cases}")
            for s in spots
        ]
    else:
        return Markup("")
    svg = maps.choropleth_svg(
        shapes,
        values,
        title=title,
        legend_label=legend,
        points=points,
        no_data=t(request, "stats.not_available"),
    )
    return Markup(svg)


@router.get("/crime.csv", include_in_schema=False)
def statistics_csv(
    request: Request, officer: Viewer, year: int | None = None, state: str | None = None
) -> Response:
    index = _aggregate(request)
    if index is None:
        return not_found(request, "this office holds no replicas")
    try:
        chosen, scope = _year(year), _scope(request, index, state)
    except InputError as exc:
        return not_found(request, str(exc))
    table = stats.crime_by_head(index, year=chosen, state=scope)
    return csvout.attachment(stats.table_rows(table), f"crime-{scope or 'india'}-{chosen}.csv")


@router.get("/cases", response_class=HTMLResponse, include_in_schema=False)
def statistics_cases(
    request: Request,
    officer: Viewer,
    year: int,
    state: str | None = None,
    area: str | None = None,
    head: str | None = None,
    column: str | None = None,
) -> Response:
    """The cases behind one count: of cases by head (area, head) or of disposal by police or
    courts (area, column)."""
    index = _aggregate(request)
    if index is None:
        return not_found(request, "this office holds no replicas")
    try:
        chosen, scope = _year(year), _scope(request, index, state)
        cases = stats.trace(
            index, year=chosen, state=scope, area=area or None, head=head or None,
            column=column or None, limit=TRACE_LIMIT + 1,
        )  # fmt: skip
    except InputError as exc:
        return not_found(request, str(exc))
    figure = ""
    if column in stats.DISPOSAL_COLUMNS:
        figure = t(request, f"stats.col.{column}")
    elif column in stats.COURT_OUTCOMES:
        figure = t(request, f"stats.outcome.{column}")
    page = render(
        request,
        "statistics_cases.html",
        year=chosen,
        state=scope or "india",
        area=area or "",
        head=head or "",
        figure=figure,
        cases=cases[:TRACE_LIMIT],
        more=len(cases) > TRACE_LIMIT,
    )
    return no_store(page)


@router.get("/proof", response_class=HTMLResponse, include_in_schema=False)
def statistics_proof(request: Request, officer: Viewer, origin: str, index: int) -> Response:
    """One case of a figure, checked by its inclusion proof against the office's checkpoint."""
    replicas = context(request).replica_indexes
    if replicas is None or not replicas.held():
        return not_found(request, "this office holds no replicas")
    try:
        proved = replicas.prove(origin, index, cosigner=station(request).config.origin)
    except (InputError, PeerError) as exc:
        return not_found(request, str(exc))
    except VerificationError as exc:
        page = render(request, "statistics_proof.html", status_code=409, failed=str(exc))
        return no_store(page)
    body = proved.body
    fir = body.fir if body.WhichOneof("record") == "fir" else None
    page = render(
        request,
        "statistics_proof.html",
        failed="",
        proved=proved,
        fir_number=fir.fir_number if fir is not None else "",
        crime_head=fir.crime_head if fir is not None else "",
        district=fir.district if fir is not None else "",
        police_station=fir.police_station if fir is not None else "",
        registered_ms=fir.registered_at_ms if fir is not None else body.written_at_ms,
        sections=[f"{s.act} {s.section}" for s in fir.sections] if fir is not None else [],
        kind=(body.WhichOneof("record") or "").replace("_", " "),
    )
    return no_store(page)
