"""The offices under this node at a glance, for the staff of district, state and national nodes
("dashboard.view").

  GET /network   every office under the node: last seen, replication lag (entries behind,
                 and the time since this node verified its latest checkpoint), software
                 version, alerts (quarantined, scrub, stale, never seen, behind), the offices
                 that need attention first, with two charts (entries behind, hours since last
                 seen) and this node's own storage alerts above them

The rows come from the runtime (`WebContext.offices`: `federation.metrics.office_statuses` over
the replicas held, federation.toml's children and the node's directory); the page only shows
them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from federation.metrics import OfficeStatus
from ledger.log import now_ms
from node.config import DataDir
from node.station.scrub import StorageAlert, StorageAlerts
from node.web import charts
from node.web.deps import blocking, context, no_store, render, station, station_officer, t
from node.web.rules import Officer

__all__ = ["router"]

router = APIRouter(tags=["network"])
Viewer = Annotated[Officer, Depends(station_officer("dashboard.view"))]


def _hours(seconds: float | None) -> float:
    return round(seconds / 3600, 1) if seconds is not None else 0.0


def _ago(request: Request, seconds: float | None) -> str:
    """How long ago, in the page's language: minutes, hours or days."""
    if seconds is None:
        return t(request, "network.never")
    if seconds < 3600:
        return t(request, "network.ago.minutes", n=int(seconds // 60))
    if seconds < 2 * 86400:
        return t(request, "network.ago.hours", n=int(seconds // 3600))
    return t(request, "network.ago.days", n=int(seconds // 86400))


def _own_alerts(request: Request) -> list[StorageAlert]:
    data_dir = context(request).data_dir
    return StorageAlerts(DataDir(data_dir)).all() if data_dir is not None else []


@router.get("/network", response_class=HTMLResponse, include_in_schema=False)
async def network(request: Request, officer: Viewer) -> Response:
    offices_of = context(request).offices
    rows: list[OfficeStatus] = await blocking(offices_of) if offices_of is not None else []
    now = now_ms() / 1000
    ledger = station(request).ledger
    behind_svg = charts.bar_chart(
        t(request, "network.chart.behind"),
        [(row.node_id, float(row.behind)) for row in rows],
        empty=t(request, "network.none"),
    )
    seen_svg = charts.bar_chart(
        t(request, "network.chart.seen"),
        [
            (row.node_id, _hours(now - row.last_seen if row.last_seen is not None else None))
            for row in rows
        ],
        empty=t(request, "network.none"),
    )
    shown = [
        {
            "office": row,
            "seen": _ago(request, now - row.last_seen if row.last_seen is not None else None),
            "verified": _ago(request, now - row.verified_at if row.verified_at else None),
        }
        for row in rows
    ]
    page = render(
        request,
        "network.html",
        rows=shown,
        own_alerts=await blocking(_own_alerts, request),
        halted=ledger.halted,
        attention=sum(1 for row in rows if row.alerts),
        behind_svg=Markup(behind_svg),
        seen_svg=Markup(seen_svg),
    )
    return no_store(page)
