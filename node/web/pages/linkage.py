"""One person across records and stations on the web (docs/linkage.md): the pairs record linkage
proposes, and a person's profile with every case of every record linked to them.

  GET  /persons/links            the pairs to decide, most probable first          ("fir.read")
  GET  /persons/profile          one person (?origin=&person_id=): the records linked to them,
                                 the names and aliases they were written under, every case,
                                 the decisions, the pairs still to decide            ("fir.read")
  POST /persons/links/confirm    the two records are one person            ("case.chargesheet")
  POST /persons/links/reject     the two records are two people            ("case.chargesheet")
  POST /persons/links/reverse    a decision no longer holds (a later entry)("case.chargesheet")

On a district, state or national node the persons are those of every replica it holds (its one
index over them) besides its own, and the stations' own decisions count beside the node's (a
station's decision is reversed at that station only); on a station, its own. Deciding is the
SHO's, the investigating officer's and supervisors' act, checked as the final report is. A
refusal (InputError) comes back with the station's message, nothing written; a decision answers
303 back to the page it was made on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine

from ledger.errors import InputError
from node.index import linkage, person_links
from node.index.person_links import PersonKey
from node.station import linkage as decide
from node.station.person_media import person_media
from node.web.deps import (
    blocking,
    context,
    form,
    no_store,
    not_found,
    redirect,
    render,
    station,
    station_officer,
    t,
)
from node.web.rules import Officer
from node.web.security import csrf_protected

router = APIRouter(tags=["linkage"])
AsReader = Annotated[Officer, Depends(station_officer("fir.read"))]
AsDecider = Annotated[Officer, Depends(station_officer("case.chargesheet"))]
SHOWN = 100  # proposals on the page (the CLI lists more: `cctns link propose --limit`)


def _aggregate(request: Request) -> Engine | None:
    """The index over the replicas this node holds (district, state, national), else None."""
    replicas = context(request).replica_indexes
    if replicas is None or not replicas.held():
        return None
    engine: Engine = replicas.aggregate.engine
    return engine


def _linked(request: Request) -> linkage.NodeLinkage:
    """The node's persons and their pairs, kept until an entry is indexed (a second view is
    served from memory)."""
    node = station(request)
    return linkage.node_linkage(node.index.engine, node.config.origin, _aggregate(request))


def _decisions(request: Request) -> list[person_links.LinkDecision]:
    return linkage.node_decisions(station(request).index.engine, _aggregate(request))


def _links_page(request: Request, problems: tuple[str, ...] = ()) -> Response:
    found = _decisions(request)
    decided = person_links.standing(found).decided()
    proposals = _linked(request).proposals(decided)
    latest = sorted(found, key=lambda d: d.written_at_ms, reverse=True)
    return render(
        request,
        "person_links.html",
        proposals=proposals[:SHOWN],
        more=max(0, len(proposals) - SHOWN),
        decisions=latest[:SHOWN],
        threshold=linkage.THRESHOLD,
        back=None,
        problems=problems,
        message=request.query_params.get("saved", ""),
        status_code=400 if problems else 200,
    )


@router.get("/persons/links", response_class=HTMLResponse, include_in_schema=False)
async def links_page(request: Request, officer: AsReader) -> Response:
    return no_store(await blocking(_links_page, request))


def _profile_page(
    request: Request, key: PersonKey, problems: tuple[str, ...] = ()
) -> Response | None:
    found = _decisions(request)
    links = person_links.standing(found)
    same = links.same_person(key)
    shown = _linked(request).profile(key, same, links.decided())
    if shown is None:
        return None
    media = person_media(station(request), ((m.key.origin, m.key.person_id) for m in shown.members))
    return render(
        request,
        "person_profile.html",
        profile=shown,
        media=media,
        back=key,
        decisions=person_links.about(found, same | {key}),
        problems=problems,
        message=request.query_params.get("saved", ""),
        status_code=400 if problems else 200,
    )


@router.get("/persons/profile", response_class=HTMLResponse, include_in_schema=False)
async def profile_page(
    request: Request, officer: AsReader, origin: str = "", person_id: str = ""
) -> Response:
    key = PersonKey(origin.strip() or station(request).config.origin, person_id.strip())
    page = await blocking(_profile_page, request, key)
    if page is None:
        return no_store(not_found(request, t(request, "link.no_person")))
    return no_store(page)


def _back(values: dict[str, str]) -> str:
    """The page a decision was made on: the profile it names, else the proposals."""
    if values.get("back_person_id"):
        return "/persons/profile"
    return "/persons/links"


def _back_params(values: dict[str, str], saved: str) -> dict[str, str]:
    params = {"saved": saved}
    if values.get("back_person_id"):
        params.update(origin=values.get("back_origin", ""), person_id=values["back_person_id"])
    return params


async def _refused(request: Request, values: dict[str, str], exc: InputError) -> Response:
    problems = tuple(exc.problems or [str(exc)])
    if values.get("back_person_id"):
        key = PersonKey(values.get("back_origin", ""), values["back_person_id"])
        page = await blocking(_profile_page, request, key, problems)
        if page is not None:
            return page
    return await blocking(_links_page, request, problems)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0


async def _decide(request: Request, officer: Officer, decision: str) -> Response:
    values = await form(request)
    first = decide.linked_person(
        values.get("first_origin", ""),
        values.get("first_person_id", ""),
        values.get("first_ref", ""),
        values.get("first_name", ""),
    )
    second = decide.linked_person(
        values.get("second_origin", ""),
        values.get("second_person_id", ""),
        values.get("second_ref", ""),
        values.get("second_name", ""),
    )
    act = decide.confirm if decision == person_links.CONFIRM else decide.reject
    try:
        receipt = await blocking(
            act,
            station(request),
            officer.officer_id,
            first,
            second,
            match_probability=_probability(values.get("probability", "")),
            reason=values.get("reason", ""),
        )
    except InputError as exc:
        return await _refused(request, values, exc)
    return redirect(_back(values), **_back_params(values, str(receipt.index)))


@router.post(
    "/persons/links/confirm", response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)], include_in_schema=False,
)  # fmt: skip
async def links_confirm(request: Request, officer: AsDecider) -> Response:
    return await _decide(request, officer, person_links.CONFIRM)


@router.post(
    "/persons/links/reject", response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)], include_in_schema=False,
)  # fmt: skip
async def links_reject(request: Request, officer: AsDecider) -> Response:
    return await _decide(request, officer, person_links.REJECT)


@router.post(
    "/persons/links/reverse", response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)], include_in_schema=False,
)  # fmt: skip
async def links_reverse(request: Request, officer: AsDecider) -> Response:
    values = await form(request)
    index = values.get("index", "")
    try:
        if not index.isdecimal() or len(index) > 18:
            raise InputError("person link not reversed: the decision's entry number is required")
        receipt = await blocking(
            decide.reverse,
            station(request),
            officer.officer_id,
            int(index),
            values.get("reason", ""),
        )
    except InputError as exc:
        return await _refused(request, values, exc)
    return redirect(_back(values), **_back_params(values, str(receipt.index)))
