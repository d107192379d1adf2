"""Photos on the web (docs/photos.md): kept with a record, and searched by face.

  GET  /photos?ref=               the photos kept with a record, and the form to add one
                                  ("fir.read")
  POST /photos                    a photo added (multipart: the image and what it shows); who may
                                  depends on the purpose: an arrest "fir.register", an
                                  unidentified body "gd.write", a missing person
                                  "petition.enquire"
  GET  /photos/thumb/{sha256}     a small JPEG of a photo this node holds ("fir.read")
  GET  /photos/search             the search-by-photo form ("search.local")
  POST /photos/search             the photos nearest the face in an uploaded probe, ranked, with
                                  thumbnails; the read is audited like every search (an entry
                                  "search:face" naming the probe by its SHA-256, the officer,
                                  the case and the purpose)

The gallery searched is the node's (node/station/photos.py): this station's photos and, on a
district, state or national node, those of every replica whose images have arrived. Uploads
may be larger than other forms (`limits.UPLOAD_BYTES`, node/web/request_size.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from federation.audit import check_context
from ledger.errors import CctnsError, InputError, NotFound
from node.index.faces import thumbnail
from node.index.photos import photos_of_record
from node.records import limits
from node.records.photos import PURPOSES
from node.station import audit as station_audit
from node.station import photos
from node.station.core import Station
from node.web.deps import (
    blocking,
    context,
    no_store,
    redirect,
    render,
    station,
    station_officer,
)
from node.web.errors import public_message
from node.web.rules import Officer, require
from node.web.security import csrf_protected
from protos import federation_pb2

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
AsReader = Annotated[Officer, Depends(station_officer("fir.read"))]
AsSearcher = Annotated[Officer, Depends(station_officer("search.local"))]
# Who may keep a photo of each purpose.
UPLOAD_ACTIONS = {
    "arrest": "fir.register",
    "unidentified_body": "gd.write",
    "missing_person": "petition.enquire",
}
RESULTS = 20
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
# What node/peers/faces.py writes in a hit's detail: "arrest · distance 0.123 · sha256:<hex>".
_SHA_IN_DETAIL = re.compile(r"sha256:([0-9a-f]{64})")
_DISTANCE_IN_DETAIL = re.compile(r"distance ([0-9.]+)")


@dataclass(frozen=True, slots=True)
class FaceResult:
    """One photo found for a probe, as the page shows it."""

    rank: int
    office: str  # "" for this station
    ref: str
    subject: str
    purpose: str
    distance: float
    score: float
    sha256: str
    held: bool  # the image is in this node's blob store (a thumbnail can be shown)


async def _form(request: Request) -> dict[str, str | bytes]:
    """The submitted form's fields, an uploaded file as its bytes (the temporary files of the
    upload closed)."""
    submitted = await request.form()
    values: dict[str, str | bytes] = {}
    try:
        for name, value in submitted.items():
            if isinstance(value, UploadFile):
                values[name] = await value.read(limits.BLOB_BYTES + 1)
            else:
                values[name] = value
    finally:
        await submitted.close()
    return values


def _image(values: dict[str, str | bytes], name: str) -> bytes:
    data = values.get(name)
    if not isinstance(data, bytes) or not data:
        raise InputError("choose a photo (JPEG or PNG) to upload")
    return data


def _text(values: dict[str, str | bytes], name: str, most: int = limits.LINE) -> str:
    value = values.get(name, "")
    return value.strip()[:most] if isinstance(value, str) else ""


@router.get("/photos", response_class=HTMLResponse)
async def photos_page(request: Request, officer: AsReader, ref: str = "") -> Response:
    ref = ref.strip()[: limits.REFERENCE]
    kept = await blocking(photos_of_record, station(request).index.engine, ref) if ref else []
    page = await blocking(
        render,
        request,
        "photos.html",
        ref=ref,
        photos=kept,
        purposes=PURPOSES,
        problems=(),
        added=request.query_params.get("added", ""),
    )
    return no_store(page)


@router.post("/photos", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def photos_add(request: Request, officer: AsReader) -> Response:
    values = await _form(request)
    ref = _text(values, "ref", limits.REFERENCE)
    purpose = _text(values, "purpose", limits.CODE)
    require(officer, UPLOAD_ACTIONS.get(purpose, "fir.register"))
    node = station(request)
    try:
        image = _image(values, "photo")
        kept = await blocking(
            photos.add_photo,
            node,
            officer.officer_id,
            image,
            purpose=purpose,
            record_ref=ref,
            person_id=_text(values, "person_id", limits.IDENTIFIER),
            subject=_text(values, "subject", limits.NAME),
            note=_text(values, "note", limits.NOTE),
        )
    except InputError as exc:
        kept_before = await blocking(photos_of_record, node.index.engine, ref) if ref else []
        problems = tuple(exc.problems)
        return await blocking(
            render,
            request,
            "photos.html",
            status_code=422,
            ref=ref,
            photos=kept_before,
            purposes=PURPOSES,
            problems=problems,
            added="",
        )
    return redirect("/photos", ref=ref, added=kept.sha256[:12])


@router.get("/photos/thumb/{sha256}")
async def photo_thumbnail(request: Request, officer: AsReader, sha256: str) -> Response:
    if not _DIGEST.match(sha256):
        raise NotFound("no such photo")
    blobs = station(request).blobs
    data = await blocking(blobs.get, sha256)
    small = await blocking(thumbnail, data)
    response = Response(small, media_type="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@router.get("/photos/search", response_class=HTMLResponse)
async def photo_search_form(request: Request, officer: AsSearcher) -> Response:
    return await blocking(
        render,
        request,
        "photos_search.html",
        results=None,
        problems=(),
        case_ref="",
        purpose="",
        scope="",
        in_federation=context(request).federated_face_search is not None,
        unanswered={},
    )


def _search(
    request: Request, officer: Officer, probe: bytes, case_ref: str, purpose: str
) -> list[FaceResult]:
    """The ranked photos for a probe, after the read is audited (the context checked first)."""
    checked = check_context(
        federation_pb2.QueryContext(
            officer_id=officer.officer_id, purpose=purpose, case_ref=case_ref
        )
    )
    node = station(request)
    gallery = photos.gallery(node)
    matches = gallery.search_image(probe, RESULTS)
    refs = list(dict.fromkeys(m.photo.record_ref for m in matches if m.photo.record_ref))
    station_audit.append_probe_search_audit(node, checked, "face", probe, refs)
    own = node.config.origin
    return [
        FaceResult(
            rank,
            "" if m.photo.origin == own else m.photo.origin.split("/", 1)[-1],
            m.photo.record_ref,
            m.photo.subject or m.photo.person_id,
            m.photo.purpose,
            m.distance,
            m.score,
            m.photo.sha256,
            node.blobs.has(m.photo.sha256),
        )
        for rank, m in enumerate(matches, start=1)
    ]


def _federated(node: Station, answer: Any) -> list[FaceResult]:
    """The hits of a federated face search (each answer audited by the office that gave it),
    with a thumbnail where this node holds the image."""
    own = node.config.origin
    found: list[FaceResult] = []
    for rank, (_, hit) in enumerate(getattr(answer, "hits", ()), start=1):
        digest = _SHA_IN_DETAIL.search(hit.detail)
        sha256 = digest[1] if digest else ""
        distance = _DISTANCE_IN_DETAIL.search(hit.detail)
        purpose = hit.detail.split(" ", 1)[0] if hit.detail else ""
        found.append(
            FaceResult(
                rank,
                "" if hit.origin == own else hit.origin.split("/", 1)[-1],
                hit.ref,
                hit.title,
                purpose if purpose in PURPOSES else "arrest",
                float(distance[1]) if distance else 0.0,
                hit.score,
                sha256,
                bool(sha256) and node.blobs.has(sha256),
            )
        )
    return found


@router.post("/photos/search", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def photo_search(request: Request, officer: AsSearcher) -> Response:
    values = await _form(request)
    case_ref = _text(values, "case_ref", limits.REFERENCE)
    purpose = _text(values, "purpose", limits.CODE) or "investigation"
    scope = _text(values, "scope", limits.CODE)
    asked = context(request).federated_face_search
    unanswered: dict[str, str] = {}
    try:
        probe = _image(values, "photo")
        if len(probe) > limits.PROBE_BYTES:
            raise InputError(f"a probe photo is at most {limits.PROBE_BYTES:,} bytes")
        if scope == "federation":
            require(officer, "search.federated")
            if asked is None:
                raise InputError("no federation: this node asks no other office")
            try:
                answer = await asked(probe, officer.officer_id, case_ref, purpose)
            except CctnsError as exc:
                raise InputError(public_message(exc)) from exc
            results = _federated(station(request), answer)
            unanswered = dict(getattr(answer, "unanswered", {}))
        else:
            results = await blocking(_search, request, officer, probe, case_ref, purpose)
    except InputError as exc:
        return await blocking(
            render,
            request,
            "photos_search.html",
            status_code=422,
            results=None,
            problems=(str(exc),),
            case_ref=case_ref,
            purpose=purpose,
            scope=scope,
            in_federation=asked is not None,
            unanswered={},
        )
    page = await blocking(
        render,
        request,
        "photos_search.html",
        results=results,
        problems=(),
        case_ref=case_ref,
        purpose=purpose,
        scope=scope,
        in_federation=asked is not None,
        unanswered=unanswered,
    )
    return no_store(page)
