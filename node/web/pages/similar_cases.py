"""Similar cases, for officers: "cases like this one" by MO and brief facts
(`node.index.similar`; docs/mo-search.md).

    GET /similar/{ref}?scope=   scope: station (this station's own index, "fir.read"),
                                district or state (the offices above answer from their
                                replicas, "search.federated"; audited like every
                                federated read)

A district or state search sends the case's MO, offence and rarest words as one line (the
peers may hold no replica of this station yet); the case itself is left out of the answer. The
district scope keeps the hits of this station's district, the state scope every hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import CctnsError
from node.index import similar
from node.web.deps import blocking, context, language, not_found, render, station, station_officer
from node.web.errors import public_message
from node.web.rules import require
from node.web.urls import case_url, parse_ref

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

SCOPES = ("station", "district", "state")
MAX_HITS = 20


@dataclass(frozen=True, slots=True)
class SimilarHit:
    """One case found like the case asked about, as the page shows it."""

    office: str  # "" for this station
    ref: str
    score: float
    detail: str
    link: str  # the case page, for this station's own cases


def _district(origin: str) -> str:
    """'cctns.in/kerala/ernakulam-city/ps-x' -> 'kerala/ernakulam-city'."""
    parts = origin.split("/")
    return "/".join(parts[1:3]) if len(parts) >= 4 else ""


def _local(request: Request, ref: str) -> tuple[int | None, list[SimilarHit]]:
    engine = station(request).index.engine
    key = similar.case_key(engine, ref)
    if key is None:
        return None, []
    lang = language(request)
    found = similar.similar(engine, similar.query_case(engine, key), limit=MAX_HITS)
    return key, [
        SimilarHit("", c.fir_number, c.score, similar.describe(c, lang), case_url(c.fir_number))
        for c in found
    ]


@router.get("/similar/{ref:path}", response_class=HTMLResponse)
async def similar_cases(request: Request, ref: str, scope: str = "station") -> Response:
    scope = scope if scope in SCOPES else "station"
    officer = await blocking(station_officer("fir.read"), request)
    number = parse_ref(ref)
    node = station(request)
    key, hits = await blocking(_local, request, number)
    if key is None:
        return not_found(request, f"no case {number} in this station's index")
    error = ""
    search = context(request).federated_search
    if scope != "station":
        hits = []
        require(officer, "search.federated")
        if search is None:
            error = "no federation: this node asks no other office"
        else:
            query = await blocking(similar.compact, node.index.engine, key)
            try:
                result = await search("similar", query, officer.officer_id)
            except CctnsError as exc:
                error = public_message(exc)
            else:
                own = node.config.origin
                district = _district(own)
                for _, hit in getattr(result, "hits", ()):
                    if hit.origin == own and hit.ref == number:
                        continue  # the case asked about, from a replica
                    if scope == "district" and _district(hit.origin) != district:
                        continue
                    office = "" if hit.origin == own else hit.origin.split("/", 1)[-1]
                    link = case_url(hit.ref) if not office else ""
                    hits.append(SimilarHit(office, hit.ref, hit.score, hit.detail, link))
    return await blocking(
        render,
        request,
        "similar_cases.html",
        ref=number,
        scope=scope,
        scopes=SCOPES,
        hits=hits,
        error=error,
        in_federation=search is not None,
    )
