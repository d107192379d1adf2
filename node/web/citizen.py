"""The citizens' portal: no police login, every form CSRF-protected with the anonymous token.

  GET  /citizen                 the portal's home
  GET  /citizen/complaint       the online complaint form
  POST /citizen/complaint       receives it as a petition (channel "online") -> the receipt
  GET  /citizen/status          the status form
  POST /citizen/status          receipt or FIR number + the mobile number given -> the status
                                (service request "SR/..." and grievance "GRV/..." receipts too)
  GET  /citizen/fir-copy        the FIR copy form
  POST /citizen/fir-copy        FIR number + the complainant's mobile -> the PDF copy
  GET  /citizen/vehicles?q=     recovered and unclaimed vehicles and property

Two rules hold on every route here and in the JSON API (`node.web.api` uses `lookup_status`):
  * no enumeration: an unknown number and a known number with the wrong mobile number get the
    same answer, word for word;
  * a record the law keeps from the public (sexual offences, juveniles, sealed identities)
    shows nothing of itself anywhere: not its crime head, sections, names or dates. Its own
    complainant, proving the mobile number, learns only that it is withheld by law and to come
    to the station.

Must never: show a person's name or mobile number, or anything of a sensitive record; answer
differently for "no such number" and "wrong mobile number".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledger import merkle
from ledger.errors import InputError
from node.index import public
from node.index import services as services_index
from node.index.lookups import FirView
from node.records import refs
from node.records.refs import canonical_petition
from node.records.sealing import withheld_in_view
from node.records.validation import mobile_matches, normalise_mobile
from node.station import registers, services, transfer, views
from node.station.core import Station
from node.web.app import language
from node.web.pdf import fir_copy_pdf, withheld_from_public
from node.web.security import csrf_protected
from protos import records_pb2

PORTAL_OFFICER = "citizen-portal"
MAX_NAME = 120
MAX_ADDRESS = 400
MAX_SUBJECT = 200
MAX_DETAILS = 5000
MAX_REFERENCE = 40
NO_MATCH = "no matching record"


COMPLAINT_KINDS = ("general", "e_fir", "missing_person", "missing_child")

router = APIRouter(prefix="/citizen", tags=["citizen"])


def _station(request: Request) -> Station:
    station: Station = request.app.state.station
    return station


def _render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    response: Response = request.app.state.render(request, template, status_code, **values)
    if request.method == "POST":
        response.headers["Cache-Control"] = "no-store"  # a citizen's own answers
    return response


# -- status lookup, shared with the API ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CitizenStatus:
    """What a citizen who proved the mobile number learns about a receipt or FIR number.

    `kind`: "petition", "fir", or "withheld" (a record the law keeps from the public: nothing
    else is filled in). `state`: for a petition "under_enquiry" or "fir_registered"; for an FIR
    its status ("registered", "transferred", ...).
    """

    kind: Literal["petition", "fir", "withheld"]
    reference: str
    station: str
    district: str
    date_ms: int = 0
    state: str = ""
    fir_number: str = ""
    message: str = ""


def lookup_status(station: Station, reference: str, mobile: str) -> CitizenStatus | None:
    """The status of a petition receipt or an FIR number for the holder of `mobile` (as
    normalised by `normalise_mobile`); None when there is no match, whichever the
    reason."""
    reference = reference.strip()[:MAX_REFERENCE]
    if not reference or not mobile:
        return None
    config = station.config
    petition = views.find_petition(station, reference)
    if petition is not None:
        if not mobile_matches([petition.petitioner_mobile], mobile):
            return None
        linked = public.fir_on_petition(station.index, station.statutes, petition.receipt_number)
        return CitizenStatus(
            kind="petition",
            reference=petition.receipt_number,
            station=config.station,
            district=config.district,
            date_ms=petition.received_at_ms,
            state="under_enquiry" if linked is None else "fir_registered",
            fir_number="" if linked is None or linked.sensitive else linked.fir_number,
        )
    found = _fir(station, reference)
    if found is None:
        return None
    view, ref = found
    if not mobile_matches(views.fir_contact_mobiles(station, view.ledger_index), mobile):
        return None
    if _withheld(station, ref) is not None:
        return CitizenStatus(
            kind="withheld", reference="", station=config.station, district=config.district
        )
    message = ""
    if view.zero_fir:
        try:
            message = str(transfer.zero_fir_status(station, view.zero_fir_number)["message"])
        except InputError:
            message = ""
    return CitizenStatus(
        kind="fir",
        reference=ref,
        station=config.station,
        district=config.district,
        date_ms=view.registered_at_ms,
        state=view.status,
        fir_number=view.fir_number,
        message=message,
    )


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """What the holder of a service request or grievance receipt learns: its state, the date
    it was received and, for a request, when it is due. Never the applicant's details."""

    kind: Literal["service_request", "grievance"]
    reference: str
    station: str
    district: str
    received_ms: int
    state: str
    due_ms: int = 0
    request_kind: str = ""
    overdue: bool = False


def lookup_service_status(station: Station, reference: str, mobile: str) -> ServiceStatus | None:
    """The status of a service request ("SR/...") or grievance ("GRV/...") receipt for the
    holder of `mobile`; None when there is no match, whichever the reason (the same rule as
    `lookup_status`: no enumeration)."""
    reference = reference.strip()[:MAX_REFERENCE]
    if not reference or not mobile:
        return None
    config = station.config
    request = services_index.find_request(station.index, reference)
    if request is not None:
        record = services.request_record(station, request)
        if not mobile_matches([record.applicant.mobile], mobile):
            return None
        return ServiceStatus(
            kind="service_request",
            reference=request.receipt,
            station=config.station,
            district=config.district,
            received_ms=request.received_ms,
            state=request.status,
            due_ms=request.due_ms,
            request_kind=request.kind,
            overdue=request.overdue,
        )
    grievance = services_index.find_grievance(station.index, reference)
    if grievance is not None:
        found = services.grievance_record(station, grievance)
        if not mobile_matches([found.complainant.mobile], mobile):
            return None
        return ServiceStatus(
            kind="grievance",
            reference=grievance.receipt,
            station=config.station,
            district=config.district,
            received_ms=grievance.received_ms,
            state=grievance.status,
        )
    return None


def _is_service_receipt(reference: str) -> bool:
    return bool(refs.canonical_request(reference) or refs.canonical_grievance(reference))


def _fir(station: Station, reference: str) -> tuple[FirView, str] | None:
    """The FIR (index view) called `reference` and its record reference."""
    if canonical_petition(reference) is not None:
        return None
    view = station.index.lookups.fir(reference)
    if view is None:
        return None
    return view, view.fir_number or view.zero_fir_number


def _withheld(station: Station, ref: str) -> str | None:
    """Why the law withholds FIR `ref` from the public (both tests: this module's and the PDF
    module's), or None."""
    view = views.current_view(station, ref)
    reason = withheld_in_view(view, station.statutes)
    if reason is not None:
        return reason
    return withheld_from_public(view, station.statutes)


# -- pages ---------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def portal(request: Request) -> Response:
    return _render(request, "citizen_home.html")


def contact_fields(
    form: dict[str, str], errors: list[str], required: Sequence[tuple[str, int]]
) -> str | None:
    """Checks a citizen form's required fields (present, not too long) and its mobile number;
    appends one catalog key per problem to `errors`; returns the normalised mobile number."""
    for field, limit in required:
        if not form[field]:
            errors.append(f"portal.error.{field}_required")
        elif len(form[field]) > limit:
            errors.append(f"portal.error.{field}_too_long")
    number = normalise_mobile(form["mobile"])
    if number is None:
        errors.append("portal.error.mobile")
    return number


@router.get("/complaint", response_class=HTMLResponse, include_in_schema=False)
def complaint_form(request: Request) -> Response:
    return _render(request, "complaint_new.html", form={}, errors=[])


@router.post(
    "/complaint",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(csrf_protected)],
)
def complaint_submit(
    request: Request,
    name: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "general",
    missing_name: Annotated[str, Form()] = "",
    missing_age: Annotated[str, Form()] = "",
    missing_sex: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "name": name.strip(),
        "mobile": mobile.strip(),
        "address": address.strip(),
        "subject": subject.strip(),
        "details": details.strip(),
        "kind": kind if kind in COMPLAINT_KINDS else "general",
        "missing_name": missing_name.strip(),
        "missing_age": missing_age.strip(),
        "missing_sex": missing_sex.strip(),
    }
    errors: list[str] = []
    number = contact_fields(
        form,
        errors,
        (
            ("name", MAX_NAME),
            ("address", MAX_ADDRESS),
            ("subject", MAX_SUBJECT),
            ("details", MAX_DETAILS),
        ),
    )
    missing = form["kind"] in ("missing_person", "missing_child")
    age = int(form["missing_age"]) if form["missing_age"].isdigit() else 0
    if missing and not form["missing_name"]:
        errors.append("portal.error.missing_name")
    if missing and not 0 < age <= 120:
        errors.append("portal.error.missing_age")
    if errors:
        return _render(request, "complaint_new.html", status_code=400, form=form, errors=errors)
    assert number is not None
    # An e-FIR (information of a cognizable offence sent electronically) waits for the
    # informant's signature at the station for 3 days (BNSS 173(1)(ii)): see node.casework.
    petition = records_pb2.Petition(
        channel="e-FIR" if form["kind"] == "e_fir" else "online",
        category=form["kind"],
        subject=form["subject"],
        details=form["details"],
        petitioner=records_pb2.Person(name=form["name"], mobile=number, address=form["address"]),
    )
    if missing:
        petition.respondents.add(
            role=records_pb2.MISSING,
            person=records_pb2.Person(
                name=form["missing_name"],
                age=age,
                sex=form["missing_sex"] if form["missing_sex"] in ("M", "F", "T") else "U",
                juvenile=form["kind"] == "missing_child",
            ),
        )
    receipt = registers.receive_petition(_station(request), PORTAL_OFFICER, petition)
    return _render(
        request,
        "complaint_receipt.html",
        receipt_number=receipt.ref,
        received_at_ms=receipt.written_at_ms,
        subject=form["subject"],
    )


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
def status_form(request: Request) -> Response:
    return _render(request, "status.html", reference="", result=None, no_match=False, errors=[])


@router.post(
    "/status",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(csrf_protected)],
)
def status_submit(
    request: Request,
    reference: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
) -> Response:
    reference = reference.strip()[:MAX_REFERENCE]
    number = normalise_mobile(mobile)
    errors: list[str] = []
    if not reference:
        errors.append("portal.error.reference_required")
    if number is None:
        errors.append("portal.error.mobile")
    if errors:
        return _render(
            request,
            "status.html",
            status_code=400,
            reference=reference,
            result=None,
            no_match=False,
            errors=errors,
        )
    assert number is not None
    if _is_service_receipt(reference):
        service = lookup_service_status(_station(request), reference, number)
        return _render(
            request,
            "status.html",
            reference=reference,
            result=None,
            service=service,
            no_match=service is None,
            errors=[],
        )
    result = lookup_status(_station(request), reference, number)
    return _render(
        request,
        "status.html",
        reference=reference,
        result=result,
        no_match=result is None,
        errors=[],
    )


@router.get("/fir-copy", response_class=HTMLResponse, include_in_schema=False)
def fir_copy_form(request: Request) -> Response:
    return _render(
        request, "fir_copy.html", reference="", no_match=False, withheld=False, errors=[]
    )


@router.post("/fir-copy", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def fir_copy_submit(
    request: Request,
    reference: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
) -> Response:
    reference = reference.strip()[:MAX_REFERENCE]
    number = normalise_mobile(mobile)
    errors: list[str] = []
    if not reference:
        errors.append("portal.error.fir_required")
    if number is None:
        errors.append("portal.error.mobile")
    page: dict[str, Any] = {
        "reference": reference,
        "no_match": False,
        "withheld": False,
        "errors": errors,
    }
    if errors:
        return _render(request, "fir_copy.html", status_code=400, **page)
    assert number is not None
    station = _station(request)
    found = _fir(station, reference)
    if found is None or not mobile_matches(
        views.fir_contact_mobiles(station, found[0].ledger_index), number
    ):
        return _render(request, "fir_copy.html", **{**page, "no_match": True})
    view, ref = found
    if _withheld(station, ref) is not None:
        # Nothing of the record: not even its number is repeated back.
        return _render(request, "fir_copy.html", **{**page, "reference": "", "withheld": True})
    current = views.current_view(station, ref)
    leaf_hash = merkle.leaf_hash(station.ledger.leaf(view.ledger_index)).hex()
    verified = f"{station.config.origin}, entry {view.ledger_index}, leaf hash {leaf_hash[:32]}"
    pdf = fir_copy_pdf(
        current,
        station_name=station.config.station,
        district=station.config.district,
        lang=language(request),
        verified=verified,
    )
    filename = "FIR-" + "".join(c if c.isalnum() else "-" for c in ref).strip("-") + ".pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/vehicles", response_class=HTMLResponse, include_in_schema=False)
def vehicles(request: Request, q: Annotated[str, Query()] = "") -> Response:
    station = _station(request)
    query = q.strip()
    return _render(
        request,
        "vehicles_public.html",
        q=query,
        vehicles=public.public_vehicles(station.index, station.statutes, station.config, query),
        items=public.public_property(station.index, station.statutes, station.config, query),
    )


__all__ = ["CitizenStatus", "ServiceStatus", "lookup_service_status", "lookup_status", "router"]
