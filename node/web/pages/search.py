"""Search, for officers: persons (by name, in either script, misspellings allowed), vehicles,
property and cases, in this station's records or across the federation.

    GET /search?q=&kind=&scope=   kind: person, vehicle, property, case; scope: local
                                  ("search.local") or federation ("search.federated")

A federated search names every office that did not answer, and how fresh each answer is (the
checkpoint it was made at, and whether a replica answered for its origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import CctnsError, InputError
from node.records import limits
from node.records.refs import record_ref
from node.station.core import Station
from node.web.deps import blocking, context, render, station, station_officer
from node.web.errors import public_message
from node.web.proofs import describe
from node.web.rules import allowed, require
from node.web.urls import parse_ref

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

SEARCH_KINDS = ("person", "vehicle", "property", "case")
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
        return [
            LocalHit(
                h.record_ref,
                h.name,
                " ".join(p for p in (h.relation, h.relative_name) if p),
                f"{h.age or '?'} · {h.sex or '?'} · {h.role}"
                + (f" · {h.matched_name}" if h.matched_name != h.name else ""),
            )
            for h in index.search.persons(query, limit=MAX_HITS)
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
class FederatedView:
    """A federated search result as the page shows it."""

    hits: list[dict[str, Any]]
    freshness: list[str]
    unanswered: list[tuple[str, str]]
    error: str = ""


def _federated_view(result: Any) -> FederatedView:
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
    lines: list[str] = []
    for answered_by, items in sorted(getattr(result, "freshness", {}).items()):
        for fresh in items:
            line = f"{fresh.origin}: checkpoint {fresh.checkpoint_size}"
            if fresh.from_replica:
                line += f" (replica at {answered_by})"
            lines.append(line)
    unanswered = sorted((str(k), str(v)) for k, v in getattr(result, "unanswered", {}).items())
    return FederatedView(hits, lines, unanswered)


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
            federated = _federated_view(result)
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
