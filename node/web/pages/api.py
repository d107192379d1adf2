"""The node's JSON API, beside the pages and under the same rules, enforced here on the server.

  GET /api/status/{receipt}?mobile=      a citizen's status (no login; no enumeration: unknown
                                         number, wrong mobile and a record the law withholds
                                         give the same 404; the portal's budget of lookups, 429
                                         over it)
  GET /api/firs/{year}/{serial}?case=&purpose=
                                         an FIR's sealed current view, its ledger entry and the
                                         proof of it (officer: "fir.read", this station's cases;
                                         audited)
  GET /api/ncrs/{year}/{serial}?case=&purpose=
                                         a non-cognizable report's sealed current view (with
                                         when the offence occurred), its ledger entry and the
                                         proof of it (officer: "fir.read"; audited)
  GET /api/search/persons?q=&age_min=&age_max=&case=&purpose=
                                         persons by name (officer: "search.local"; audited);
                                         withheld identities are never found
  GET /api/vehicles/public?q=            recovered and unclaimed vehicles and property (no
                                         login; sensitive records left out)
  GET /api/dashboard/crime-heads         crime FIRs per crime head, and apart from them the FIRs
                                         of missing persons and unnatural deaths per head
                                         (officer: "dashboard.view")
  POST /api/exchange/inbound             a signed message from a court, prison, prosecution or
                                         forensic laboratory (docs/exchange.md): appended to its
                                         case as an event when valid, from a system the station
                                         trusts and signed by it; the same message again appends
                                         nothing (no session: the signature is the credential)

An officer's read of records (the FIR, the person search) is audited as another office's read
is (`federation.audit`): an AuditEntry naming this node, the officer, the case and purpose
(`case`, `purpose`: optional parameters; the case defaults to the FIR read, or "api search") and
the records returned is appended to the node's log before the answer leaves.

Officers authenticate with the web session cookie; without one an officer route answers 401
(`node.web.security`). Every route has a response model, so /api/openapi.json describes it, and
every error has the one shape of `node.web.errors.ErrorOut`:
{"error": {"status": 404, "message": "...", "problems": [...]}}.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from federation.audit import MAX_CONTEXT_FIELD, audit_entry, check_context, describe_search
from ledger import merkle
from ledger.checkpoint import parse_note
from ledger.errors import InputError, NotFound, TooLarge
from node.index import public, reports
from node.records import limits
from node.records.refs import fir_number, ncr_number
from node.records.validation import normalise_mobile
from node.station import audit as station_audit
from node.station import exchange, views
from node.station.core import SYSTEM_OFFICER
from node.web.deps import blocking, station, station_officer
from node.web.errors import ErrorOut
from node.web.forms import MAX_AGE
from node.web.public_status import NO_MATCH, lookup_status
from node.web.rules import Officer
from node.web.throttle import LOOKUPS, SUBMISSIONS, portal_limit
from protos import federation_pb2

__all__ = ["router"]

_ERROR: dict[str, Any] = {"model": ErrorOut}
# Parameters are held to the table of limits (node.records.limits), so the OpenAPI document
# states them; an FIR serial is a uint32 of the record.
SERIAL_MAX = 2**32 - 1
router = APIRouter(
    prefix="/api",
    tags=["api"],
    # Any route may fail so; FastAPI's own 422 answer is replaced by the API's error shape.
    responses={
        413: {**_ERROR, "description": "the request body is larger than the node takes"},
        422: {**_ERROR, "description": "a parameter is not valid: one problem per parameter"},
        500: {**_ERROR, "description": "the node failed (the message is generic)"},
        503: {**_ERROR, "description": "the node's storage is unavailable"},
    },
)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {**_ERROR, "description": "no such record"}}
_OFFICER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_ERROR, "description": "no officer session"},
    403: {**_ERROR, "description": "the officer's role or jurisdiction may not"},
}


# Why an officer reads: recorded in the audit entry of the read (as a peer's query context is).
CaseParam = Annotated[
    str, Query(max_length=MAX_CONTEXT_FIELD, description="the case the read is for")
]
PurposeParam = Annotated[
    str, Query(max_length=MAX_CONTEXT_FIELD, description='why, e.g. "investigation"')
]
API_SEARCH_CASE = "api search"


def _audit(
    request: Request,
    officer: Officer,
    context: tuple[str, str],
    kind: str,
    query: str,
    refs: list[str],
) -> None:
    """Appends the audit entry of an officer's read (`context`: case, purpose) to the log."""
    case_ref, purpose = context
    checked = check_context(
        federation_pb2.QueryContext(
            officer_id=officer.officer_id, purpose=purpose, case_ref=case_ref
        )
    )
    node = station(request)
    entry = audit_entry(node.config.node_id, checked, kind, query, refs, full_record=True)
    station_audit.append_audit(node, entry)


class StatusOut(BaseModel):
    """A citizen's petition or FIR as the holder of its mobile number may see it. A record the
    law keeps from the public answers 404, as a number that does not exist."""

    kind: Literal["petition", "fir"]
    reference: str = Field(description='"PET/2026/000123" or "FIR No. 12/2026"')
    station: str
    district: str
    date_ms: int = Field(description="received (petition) or registered (FIR), Unix ms")
    state: str = Field(description='"under_enquiry", "fir_registered", "registered", ...')
    fir_number: str = Field(description="the FIR registered on a petition, when it may be shown")
    message: str = Field(description="a Zero FIR's transfer status")


class VerificationOut(BaseModel):
    """What proves the entry: its leaf hash, an RFC 9162 inclusion proof in the tree of
    `tree_size` entries with `root`, and the station's latest signed checkpoint note."""

    origin: str
    ledger_index: int
    leaf_hash: str
    tree_size: int
    root: str
    inclusion_proof: list[str]
    checkpoint: str
    public_key: str


class FirOut(BaseModel):
    fir_number: str
    ledger_index: int
    amendments: list[int] = Field(description="ledger indexes of the amendments, in order")
    view: dict[str, Any] = Field(description="the current view (amendments applied), sealed")
    verification: VerificationOut


class NcrOut(BaseModel):
    ncr_number: str
    ledger_index: int
    amendments: list[int] = Field(description="ledger indexes of the amendments, in order")
    view: dict[str, Any] = Field(
        description="the current view (amendments applied), sealed; occurrence_from_ms and "
        "occurrence_to_ms say when the offence occurred (absent: the time of the report)"
    )
    verification: VerificationOut


class PersonOut(BaseModel):
    person_id: str
    name: str
    matched_name: str
    relative_name: str
    relation: str
    age: int
    sex: str
    address: str
    role: str
    record_ref: str
    ledger_index: int
    score: float


class PersonSearchOut(BaseModel):
    query: str
    persons: list[PersonOut]


class PublicVehicleOut(BaseModel):
    registration: str
    make: str
    model: str
    colour: str
    vehicle_type: str
    status: str
    station: str
    district: str


class PublicPropertyOut(BaseModel):
    category: str
    description: str
    status: str
    station: str
    district: str


class PublicVehiclesOut(BaseModel):
    query: str
    vehicles: list[PublicVehicleOut]
    property: list[PublicPropertyOut]


class CrimeHeadOut(BaseModel):
    crime_head: str
    firs: int


class CrimeHeadsOut(BaseModel):
    station: str
    crime_heads: list[CrimeHeadOut] = Field(description="crime FIRs per crime head")
    apart_from_crime: list[CrimeHeadOut] = Field(
        description="FIRs registering no crime (missing persons, unnatural deaths) per head"
    )


@router.get(
    "/status/{receipt:path}",
    response_model=StatusOut,
    responses={
        **_NOT_FOUND,
        400: {**_ERROR, "description": "no valid mobile number"},
        429: {
            **_ERROR,
            "description": "over the portal's limit of status lookups (per client or in "
            "total): the Retry-After header gives the seconds to wait",
        },
    },
    dependencies=[Depends(portal_limit(LOOKUPS))],
    summary="A citizen's petition or FIR status",
)
def citizen_status(
    request: Request,
    receipt: Annotated[str, Path(max_length=limits.REFERENCE, description="receipt or FIR number")],
    mobile: Annotated[
        str,
        Query(max_length=limits.text("Person.mobile"), description="the mobile number given"),
    ] = "",
) -> Any:
    number = normalise_mobile(mobile)
    if number is None:
        raise InputError("give the 10-digit Indian mobile number")
    found = lookup_status(station(request), receipt, number)
    if found is None:
        raise NotFound(NO_MATCH)
    return StatusOut.model_validate(found, from_attributes=True)


@router.get(
    "/firs/{year}/{serial}",
    response_model=FirOut,
    responses={**_NOT_FOUND, **_OFFICER_ERRORS},
    summary="An FIR with its ledger entry and proof",
)
def fir(
    request: Request,
    year: Annotated[int, Path(ge=limits.FIRST_YEAR, le=limits.LAST_YEAR)],
    serial: Annotated[int, Path(ge=1, le=SERIAL_MAX)],
    officer: Annotated[Officer, Depends(station_officer("fir.read"))],
    case: CaseParam = "",
    purpose: PurposeParam = "",
) -> Any:
    node = station(request)
    ref = fir_number(serial, year)
    found = node.index.lookups.fir(ref)
    if found is None or found.serial != serial or found.year != year:
        raise NotFound(f"no {ref} at this station")
    _audit(request, officer, (case or ref, purpose), "fetch", ref, [ref])
    return FirOut(
        fir_number=ref,
        ledger_index=found.ledger_index,
        amendments=list(found.amendments),
        view=views.current_view(node, ref),
        verification=_verification(request, found.ledger_index),
    )


def _verification(request: Request, ledger_index: int) -> VerificationOut:
    """What proves the entry at `ledger_index` against the station's latest checkpoint."""
    node = station(request)
    ledger = node.ledger
    note = ledger.checkpoint()
    size = parse_note(note)[0].size
    if ledger_index >= size:  # registered after the latest checkpoint
        size = ledger.size()
    return VerificationOut(
        origin=node.config.origin,
        ledger_index=ledger_index,
        leaf_hash=merkle.leaf_hash(ledger.leaf(ledger_index)).hex(),
        tree_size=size,
        root=ledger.root(size).hex(),
        inclusion_proof=[h.hex() for h in ledger.inclusion_proof(ledger_index, size)],
        checkpoint=note.decode("utf-8", "replace"),
        public_key=base64.b64encode(ledger.public_key).decode("ascii"),
    )


@router.get(
    "/ncrs/{year}/{serial}",
    response_model=NcrOut,
    responses={**_NOT_FOUND, **_OFFICER_ERRORS},
    summary="A non-cognizable report with its ledger entry and proof",
)
def ncr(
    request: Request,
    year: Annotated[int, Path(ge=limits.FIRST_YEAR, le=limits.LAST_YEAR)],
    serial: Annotated[int, Path(ge=1, le=SERIAL_MAX)],
    officer: Annotated[Officer, Depends(station_officer("fir.read"))],
    case: CaseParam = "",
    purpose: PurposeParam = "",
) -> Any:
    node = station(request)
    ref = ncr_number(serial, year)
    history = node.index.lookups.history(ref)
    if not history or node.ledger.body(history[0]).WhichOneof("record") != "ncr":
        raise NotFound(f"no {ref} at this station")
    _audit(request, officer, (case or ref, purpose), "fetch", ref, [ref])
    return NcrOut(
        ncr_number=ref,
        ledger_index=history[0],
        amendments=history[1:],
        view=views.current_view(node, ref),
        verification=_verification(request, history[0]),
    )


@router.get(
    "/search/persons",
    response_model=PersonSearchOut,
    responses=_OFFICER_ERRORS,
    summary="Persons in this station's records, by name",
)
def search_persons(
    request: Request,
    officer: Annotated[Officer, Depends(station_officer("search.local"))],
    q: Annotated[str, Query(min_length=2, max_length=limits.text("SearchRequest.query"))],
    age_min: Annotated[int | None, Query(ge=0, le=MAX_AGE)] = None,
    age_max: Annotated[int | None, Query(ge=0, le=MAX_AGE)] = None,
    case: CaseParam = "",
    purpose: PurposeParam = "",
) -> PersonSearchOut:
    hits = station(request).index.search.persons(q, age_min=age_min, age_max=age_max)
    asked = federation_pb2.SearchRequest(
        kind="person", query=q, age_min=age_min or 0, age_max=age_max or 0
    )
    refs = list(dict.fromkeys(h.record_ref for h in hits if h.record_ref))
    context = (case or API_SEARCH_CASE, purpose)
    _audit(request, officer, context, "search:person", describe_search(asked), refs)
    return PersonSearchOut(
        query=q, persons=[PersonOut.model_validate(h, from_attributes=True) for h in hits]
    )


@router.get(
    "/vehicles/public",
    response_model=PublicVehiclesOut,
    summary="Recovered and unclaimed vehicles and property (public)",
)
def public_vehicles(
    request: Request, q: Annotated[str, Query(max_length=limits.IDENTIFIER)] = ""
) -> PublicVehiclesOut:
    node = station(request)
    query = q.strip()
    vehicles = public.public_vehicles(node.index, node.statutes, node.config, query)
    found = public.public_property(node.index, node.statutes, node.config, query)
    return PublicVehiclesOut(
        query=query,
        vehicles=[PublicVehicleOut.model_validate(v, from_attributes=True) for v in vehicles],
        property=[PublicPropertyOut.model_validate(p, from_attributes=True) for p in found],
    )


@router.get(
    "/dashboard/crime-heads",
    response_model=CrimeHeadsOut,
    responses=_OFFICER_ERRORS,
    summary="FIRs numbered at this station per crime head",
)
def crime_heads(
    request: Request,
    officer: Annotated[Officer, Depends(station_officer("dashboard.view"))],
) -> CrimeHeadsOut:
    node = station(request)
    return CrimeHeadsOut(
        station=node.config.station,
        crime_heads=[
            CrimeHeadOut(crime_head=head, firs=count)
            for head, count in reports.crime_head_counts(node.index)
        ],
        apart_from_crime=[
            CrimeHeadOut(crime_head=head, firs=count)
            for head, count in reports.apart_from_crime_counts(node.index)
        ],
    )


MAX_INBOUND_BYTES = 256 * 1024  # an inbound message is a few kilobytes


class InboundOut(BaseModel):
    fir_number: str = Field(description="the case the event was appended to")
    ledger_index: int = Field(description="the event's entry in this station's log")
    appended: bool = Field(description="False: the same message was imported before")
    digest: str = Field(description="SHA-256 of the signed message, hex")


@router.post(
    "/exchange/inbound",
    response_model=InboundOut,
    responses={
        400: {**_ERROR, "description": "not a valid message, or not from a trusted system"},
        409: {**_ERROR, "description": "the signature does not hold: changed, or not its own"},
        **_NOT_FOUND,
    },
    summary="A court's, prison's or laboratory's signed message, appended to its case",
    dependencies=[Depends(portal_limit(SUBMISSIONS))],
)
async def exchange_inbound(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_INBOUND_BYTES:
        raise TooLarge(f"an inbound message is at most {MAX_INBOUND_BYTES:,} bytes")
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"the message is not JSON text: {exc}") from exc
    done = await blocking(exchange.import_message, station(request), SYSTEM_OFFICER, message)
    return InboundOut(
        fir_number=done.fir_number,
        ledger_index=done.ledger_index,
        appended=done.appended,
        digest=done.digest,
    )
