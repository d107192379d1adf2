"""An officer's watch lists (docs/watch.md): watch a person, vehicle, property item or phone, and
see the records the offices above found for them anywhere below them (node/station/watchlist.py).
The watches go up to the offices above with the node's next round (node/runtime.py); each alert
shown here is a record reference (office, FIR number, what matched), fetched with its proofs
through the federation's record page as any other."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import InputError, NotFound
from node.index.aggregate.watch import KINDS
from node.web.deps import blocking, form, no_store, redirect, render, station, station_officer
from node.web.rules import Officer
from node.web.security import csrf_protected

router = APIRouter(tags=["watch"])
Watcher = Annotated[Officer, Depends(station_officer("search.federated"))]


@router.get("/watch", response_class=HTMLResponse, include_in_schema=False)
async def watch_page(request: Request, officer: Watcher, added: str = "") -> Response:
    return no_store(await blocking(_page, request, officer, added=added))


def _page(
    request: Request, officer: Officer, *, added: str = "", problems: tuple[str, ...] = ()
) -> Response:
    watchlist = station(request).watchlist
    return render(
        request,
        "watch.html",
        kinds=KINDS,
        watches=watchlist.watches(officer.officer_id),
        alerts=watchlist.alerts(officer.officer_id),
        added=added,
        problems=problems,
        status_code=400 if problems else 200,
    )


@router.post(
    "/watch", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)],
    include_in_schema=False,
)  # fmt: skip
async def watch_add(request: Request, officer: Watcher) -> Response:
    values = await form(request)
    try:
        watch = await blocking(
            station(request).watchlist.add,
            officer.officer_id,
            values.get("kind", ""),
            values.get("value", ""),
        )
    except InputError as exc:
        return await blocking(_page, request, officer, problems=tuple(exc.problems or [str(exc)]))
    return redirect("/watch", added=watch.watch_id)


@router.post(
    "/watch/{watch_id}/cancel", response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)], include_in_schema=False,
)  # fmt: skip
async def watch_cancel(request: Request, watch_id: str, officer: Watcher) -> Response:
    try:
        await blocking(station(request).watchlist.cancel, watch_id, officer.officer_id)
    except NotFound as exc:
        return await blocking(_page, request, officer, problems=(str(exc),))
    return redirect("/watch")
