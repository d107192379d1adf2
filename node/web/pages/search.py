"""Search, for officers: persons (by name, in either script, misspellings allowed), vehicles,
property and cases, in this station's records or across the federation.

    GET /search?q=&kind=&scope=   kind: person, vehicle, property, case, history (history-
                                  sheeted persons), mo (accused by modus operandi); scope: local
                                  ("search.local") or federation ("search.federated")

A federated search names every office that did not answer, how fresh each part of the answer is
in time ("as of 10:42 IST, 3 minutes ago": the witness cosignature time of a replica), flags a
part older than node.toml's `[witness] stale_after_minutes`, and flags every answer that failed
the witness policy or was inconsistent with what this node saw of that log before (with why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from federation.witness import freshness_age
from ledger.errors import CctnsError, InputError
from ledger.log import now_ms
from node.index import history
from node.records import limits
from node.records.history import parse_mo_query
from node.records.refs import record_ref
from node.records.validation import IST
from node.station.core import Station
from node.web.deps import blocking, context, render, station, station_officer, t
from node.web.errors import public_message
from node.web.proofs import describe
from node.web.rules import allowed, require
from node.web.urls import parse_ref

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

SEARCH_KINDS = ("person", "vehicle", "property", "case", "history", "mo")
SEARCH_SCOPES = ("local", "federation")
MAX_QUERY = limits.text("SearchRequest.query")
MAX_HITS = 50


@dataclass(frozen=True, slots=True)
class LocalHit:
    """One local search result, whatever was searched."""

    ref: str
    title: str
    detail: str
    extra: str = ""


def _local_search(node: Station, kind: str, query: str) -> list[LocalHit]:
    index = node.index
    if kind == "person":
        sheeted = history.sheeted_names(index.search, index.engine, query, limit=MAX_HITS)
        return [
            LocalHit(
                h.record_ref,
                h.name,
                " ".join(p for p in (h.relation, h.relative_name) if p),
                f"{h.age or '?'} · {h.sex or '?'} · {h.role}"
                + (f" · {h.matched_name}" if h.matched_name != h.name else "")
                + (f" · {note}" if (note := history.sheet_note(h, sheeted)) else ""),
            )
            for h in index.search.persons(query, limit=MAX_HITS)
        ]
    if kind == "history":
        return [
            LocalHit(found.person.record_ref, found.person.name, found.detail)
            for found in history.search_sheets(index.search, index.engine, query, limit=MAX_HITS)
        ]
    if kind == "mo":
        wanted = parse_mo_query(query)
        if not wanted:
            raise InputError(
                "an MO search names attributes of the vocabulary, e.g. "
                "'entry:window_grill_removed place:locked_house night'"
            )
        return [
            LocalHit(
                row.fir_number,
                " ".join(p for p in (row.accused_code, row.name) if p),
                history.mo_text(row.attributes),
                f"{score:.0%}",
            )
            for row, score in history.match_mo(index.engine, wanted, limit=MAX_HITS)
        ]
    if kind == "vehicle":
        return [
            LocalHit(
                h.record_ref,
                h.registration or h.engine_number or h.chassis_number,
                " ".join(p for p in (h.make, h.model, h.colour, h.vehicle_type) if p),
                f"{h.property_status} · {h.matched_on}",
            )
            for h in index.search.vehicles(query, limit=MAX_HITS)
        ]
    if kind == "property":
        return [
            LocalHit(h.record_ref, h.category, h.description, f"{h.status} · ₹{h.value_inr}")
            for h in index.search.property(query, limit=MAX_HITS)
        ]
    found = index.lookups.record_index(parse_ref(query))
    if found is None:
        return []
    body = node.ledger.body(found)
    _, title, detail = describe(body)
    return [LocalHit(record_ref(body) or title, title, detail)]


@dataclass(frozen=True, slots=True)
class FreshnessLine:
    """How fresh one part of a federated answer is, as the page shows it."""

    text: str
    stale: str = ""  # the stale flag's text, when the part is older than the threshold


@dataclass(frozen=True, slots=True)
class FederatedView:
    """A federated search result as the page shows it."""

    hits: list[dict[str, Any]]
    freshness: list[FreshnessLine]
    unanswered: list[tuple[str, str]]
    error: str = ""
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (node, why): witness check


def _ago(request: Request, seconds: int) -> str:
    if seconds < 60:
        return t(request, "witness.ago.now")
    if seconds < 2 * 3600:
        return t(request, "witness.ago.minutes", n=seconds // 60)
    if seconds < 2 * 86400:
        return t(request, "witness.ago.hours", n=seconds // 3600)
    return t(request, "witness.ago.days", n=seconds // 86400)


def _freshness_line(
    request: Request, answered_by: str, fresh: Any, stale_after_minutes: int
) -> FreshnessLine:
    office = fresh.origin.split("/", 1)[-1]
    age = freshness_age(fresh, now_ms=now_ms(), stale_after_s=stale_after_minutes * 60)
    if age.age_s is None:
        text = t(request, "witness.time_unknown", office=office)
    else:
        time_of_day = f"{datetime.fromtimestamp(age.as_of_ms / 1000, IST):%H:%M}"
        text = t(
            request, "witness.as_of", office=office, time=time_of_day, ago=_ago(request, age.age_s)
        )
    if fresh.from_replica:
        text += " " + t(request, "witness.replica_at", node=answered_by)
    stale = t(request, "witness.stale", minutes=stale_after_minutes) if age.stale else ""
    return FreshnessLine(text, stale)


def _federated_view(result: Any, request: Request) -> FederatedView:
    hits = [
        {
            "answered_by": answered_by,
            "origin": hit.origin,
            "ref": hit.ref,
            "title": hit.title,
            "detail": hit.detail,
        }
        for answered_by, hit in getattr(result, "hits", ())
    ]
    lines: list[FreshnessLine] = []
    stale_after = station(request).config.witness.stale_after_minutes
    for answered_by, items in sorted(getattr(result, "freshness", {}).items()):
        for fresh in items:
            lines.append(_freshness_line(request, answered_by, fresh, stale_after))
    unanswered = sorted((str(k), str(v)) for k, v in getattr(result, "unanswered", {}).items())
    flagged = sorted((str(k), str(v)) for k, v in getattr(result, "flagged", {}).items())
    return FederatedView(hits, lines, unanswered, flagged=flagged)


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    q: str = "",
    kind: str = "person",
    scope: str = "local",
) -> Response:
    # The action depends on the scope asked for, so the guard runs here, not as a dependency.
    officer = await blocking(
        station_officer("search.federated" if scope == "federation" else "search.local"), request
    )
    kind = kind if kind in SEARCH_KINDS else "person"
    scope = scope if scope in SEARCH_SCOPES else "local"
    query = q.strip()[:MAX_QUERY]
    problems: list[str] = []
    local: list[LocalHit] = []
    federated: FederatedView | None = None
    federated_search = context(request).federated_search
    if query and allowed(officer, "search.local"):
        try:
            local = await blocking(_local_search, station(request), kind, query)
        except InputError as exc:
            problems.extend(exc.problems)
    if query and scope == "federation" and federated_search is not None:
        require(officer, "search.federated")
        try:
            result = await federated_search(kind, query, officer.officer_id)
        except CctnsError as exc:
            federated = FederatedView([], [], [], public_message(exc))
        else:
            federated = _federated_view(result, request)
    return await blocking(
        render,
        request,
        "search.html",
        q=query,
        kind=kind,
        scope=scope,
        kinds=SEARCH_KINDS,
        local=local,
        federated=federated,
        in_federation=federated_search is not None,
        problems=problems,
    )
