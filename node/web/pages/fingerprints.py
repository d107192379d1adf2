"""Fingerprint slips on the web (docs/fingerprints.md): a ten-print enrolled, a chance print
searched.

  GET  /fingerprints              the slips kept with a record (?ref=), the form to enrol a
                                  ten-print and the form to search a chance print
  POST /fingerprints/enrol        a ten-print slip (multipart: one image per finger, the record
                                  and the person) kept and enrolled ("fir.register")
  POST /fingerprints/search       the enrolled fingers most like an uploaded chance print,
                                  ranked, hits marked ("search.local"); the read is audited like
                                  every search (an entry "search:fingerprint" naming the probe by
                                  its SHA-256, the officer, the case and the purpose)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from ledger.errors import InputError
from node.index.fingerprints import slips_of_record
from node.records import limits
from node.records.fingerprints.slips import FINGERS
from node.station import fingerprints
from node.station.core import Station
from node.web.deps import blocking, no_store, redirect, render, station, station_officer
from node.web.rules import Officer, require
from node.web.security import csrf_protected
from protos import federation_pb2

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
AsReader = Annotated[Officer, Depends(station_officer("fir.read"))]
AsSearcher = Annotated[Officer, Depends(station_officer("search.local"))]
RESULTS = 10


async def _form(request: Request) -> dict[str, str | bytes]:
    """The submitted fields, each uploaded file as its bytes (empty file inputs left out)."""
    submitted = await request.form()
    values: dict[str, str | bytes] = {}
    try:
        for name, value in submitted.items():
            if isinstance(value, UploadFile):
                data = await value.read(limits.BLOB_BYTES + 1)
                if data:
                    values[name] = data
            else:
                values[name] = value
    finally:
        await submitted.close()
    return values


def _text(values: dict[str, str | bytes], name: str, most: int = limits.LINE) -> str:
    value = values.get(name, "")
    return value.strip()[:most] if isinstance(value, str) else ""


async def _page(request: Request, status_code: int = 200, **shown: object) -> Response:
    ref = str(shown.get("ref", ""))
    kept = await blocking(slips_of_record, station(request).index.engine, ref) if ref else []
    values: dict[str, object] = {
        "ref": ref,
        "slips": kept,
        "fingers": FINGERS,
        "problems": (),
        "search_problems": (),
        "results": None,
        "added": "",
        "case_ref": "",
        "purpose": "",
    }
    values.update(shown)
    page = await blocking(render, request, "fingerprints.html", status_code=status_code, **values)
    return no_store(page)


@router.get("/fingerprints", response_class=HTMLResponse)
async def fingerprints_page(request: Request, officer: AsReader, ref: str = "") -> Response:
    return await _page(
        request, ref=ref.strip()[: limits.REFERENCE], added=request.query_params.get("added", "")
    )


@router.post(
    "/fingerprints/enrol", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def fingerprints_enrol(request: Request, officer: AsReader) -> Response:
    require(officer, "fir.register")
    values = await _form(request)
    ref = _text(values, "ref", limits.REFERENCE)
    images = {
        finger: data
        for finger in FINGERS
        if isinstance(data := values.get(f"finger_{finger}", b""), bytes) and data
    }
    try:
        kept = await blocking(
            fingerprints.enrol_ten_print,
            station(request),
            officer.officer_id,
            images,
            person_id=_text(values, "person_id", limits.IDENTIFIER),
            record_ref=ref,
            subject=_text(values, "subject", limits.NAME),
            note=_text(values, "note", limits.NOTE),
        )
    except InputError as exc:
        return await _page(request, 422, ref=ref, problems=tuple(exc.problems) or (str(exc),))
    return redirect("/fingerprints", ref=ref, added=str(len(kept.slip.impressions)))


def _search(
    node: Station, officer: Officer, probe: bytes, case_ref: str, purpose: str
) -> list[fingerprints.FingerprintCandidate]:
    """The ranked candidates for a chance print, after the read is audited (context first)."""
    context = federation_pb2.QueryContext(
        officer_id=officer.officer_id, purpose=purpose, case_ref=case_ref
    )
    return fingerprints.audited_search(node, context, probe, RESULTS)[0]


@router.post(
    "/fingerprints/search", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def fingerprints_search(request: Request, officer: AsSearcher) -> Response:
    values = await _form(request)
    case_ref = _text(values, "case_ref", limits.REFERENCE)
    purpose = _text(values, "purpose", limits.CODE) or "investigation"
    try:
        probe = values.get("print")
        if not isinstance(probe, bytes) or not probe:
            raise InputError("choose the chance print's image (PNG or JPEG) to search")
        if len(probe) > limits.PROBE_BYTES:
            raise InputError(f"a chance print is at most {limits.PROBE_BYTES:,} bytes")
        results = await blocking(_search, station(request), officer, probe, case_ref, purpose)
    except InputError as exc:
        return await _page(
            request, 422, search_problems=(str(exc),), case_ref=case_ref, purpose=purpose
        )
    return await _page(request, results=results, case_ref=case_ref, purpose=purpose)
