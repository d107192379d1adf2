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

Submissions, status lookups and FIR copies count against the portal's rate limits, per client
and in total (`node.web.throttle`): over one, 429 with Retry-After, and nothing is done.

Two rules hold on every route here and in the JSON API (both ask `node.web.public_status`):
  * no enumeration: an unknown number, a known number with the wrong mobile number, and a
    record the withholding policy keeps from the public get the same answer, byte for byte
    (the form comes back empty), after the same work;
  * a record the law keeps from the public (`node.records.withholding`: a sexual offence, a
    protected person standing in clear) shows nothing of itself anywhere: not its crime head,
    sections, names or dates, nor that it exists, even to the holder of its mobile number. The
    "no match" text says that such records are given only at the station. A record whose
    protected persons are sealed (a theft by a child) is shown, those persons withheld.

Must never: show a person's name or mobile number, or anything of a sensitive record; answer
differently for "no such number", "wrong mobile number" and "withheld by law".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledger import merkle
from ledger.errors import InputError
from node.index import public
from node.records import limits
from node.records.validation import normalise_mobile
from node.station import registers
from node.web.deps import language, no_store, render, station
from node.web.forms import MAX_AGE, contact_fields
from node.web.pdf import fir_copy_pdf
from node.web.public_status import (
    fir_for_holder,
    is_service_receipt,
    lookup_service_status,
    lookup_status,
)
from node.web.security import csrf_protected
from node.web.throttle import FIR_COPIES, LOOKUPS, SUBMISSIONS, portal_limit
from protos import records_pb2

__all__ = ["router"]

PORTAL_OFFICER = "citizen-portal"
# The complaint's fields and the table's limit each is held to (node.records.limits).
COMPLAINT_FIELDS = (
    ("name", limits.text("Person.name")),
    ("address", limits.text("Person.address")),
    ("subject", limits.text("Petition.subject")),
    ("details", limits.text("Petition.details")),
)
COMPLAINT_KINDS = ("general", "e_fir", "missing_person", "missing_child")

router = APIRouter(prefix="/citizen", tags=["citizen"])


def _page(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """A portal page; the answer to a citizen's own form (a POST) is never cached."""
    page = render(request, template, status_code, **values)
    return no_store(page) if request.method == "POST" else page


# -- pages ---------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def portal(request: Request) -> Response:
    return _page(request, "citizen_home.html")


@router.get("/complaint", response_class=HTMLResponse, include_in_schema=False)
def complaint_form(request: Request) -> Response:
    return _page(request, "complaint_new.html", form={}, errors=[])


@router.post(
    "/complaint",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(csrf_protected), Depends(portal_limit(SUBMISSIONS))],
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
    number = contact_fields(form, errors, COMPLAINT_FIELDS)
    missing = form["kind"] in ("missing_person", "missing_child")
    try:
        age = limits.whole_number(form["missing_age"], "age", MAX_AGE)
    except InputError:
        age = 0
    if missing and not form["missing_name"]:
        errors.append("portal.error.missing_name")
    elif missing and len(form["missing_name"]) > limits.text("Person.name"):
        errors.append("portal.error.missing_name_too_long")
    if missing and not 0 < age <= 120:
        errors.append("portal.error.missing_age")
    if errors:
        return _page(request, "complaint_new.html", status_code=400, form=form, errors=errors)
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
    receipt = registers.receive_petition(station(request), PORTAL_OFFICER, petition)
    return _page(
        request,
        "complaint_receipt.html",
        receipt_number=receipt.ref,
        received_at_ms=receipt.written_at_ms,
        subject=form["subject"],
    )


def _reference_and_mobile(
    reference: str, mobile: str, missing: str
) -> tuple[str, str | None, list[str]]:
    """The number asked about, the normalised mobile number, and one catalog key per problem
    (`portal.error.<missing>` when no number was given)."""
    reference = reference.strip()[: limits.REFERENCE]
    number = normalise_mobile(mobile[: limits.text("Person.mobile")])
    errors = [] if reference else [f"portal.error.{missing}"]
    if number is None:
        errors.append("portal.error.mobile")
    return reference, number, errors


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
def status_form(request: Request) -> Response:
    return _page(request, "status.html", reference="", result=None, no_match=False, errors=[])


@router.post(
    "/status",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(csrf_protected), Depends(portal_limit(LOOKUPS))],
)
def status_submit(
    request: Request,
    reference: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
) -> Response:
    reference, number, errors = _reference_and_mobile(reference, mobile, "reference_required")
    if errors:
        return _page(
            request,
            "status.html",
            status_code=400,
            reference=reference,
            result=None,
            no_match=False,
            errors=errors,
        )
    assert number is not None
    if is_service_receipt(reference):
        service = lookup_service_status(station(request), reference, number)
        return _page(
            request,
            "status.html",
            reference=reference if service is not None else "",
            result=None,
            service=service,
            no_match=service is None,
            errors=[],
        )
    result = lookup_status(station(request), reference, number)
    # No match gives back an empty form: the page is then the same whatever number was asked.
    return _page(
        request,
        "status.html",
        reference=reference if result is not None else "",
        result=result,
        no_match=result is None,
        errors=[],
    )


@router.get("/fir-copy", response_class=HTMLResponse, include_in_schema=False)
def fir_copy_form(request: Request) -> Response:
    return _page(request, "fir_copy.html", reference="", no_match=False, errors=[])


@router.post(
    "/fir-copy",
    include_in_schema=False,
    dependencies=[Depends(csrf_protected), Depends(portal_limit(FIR_COPIES))],
)
def fir_copy_submit(
    request: Request,
    reference: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
) -> Response:
    reference, number, errors = _reference_and_mobile(reference, mobile, "fir_required")
    if errors:
        page = {"reference": reference, "no_match": False, "errors": errors}
        return _page(request, "fir_copy.html", status_code=400, **page)
    assert number is not None
    node = station(request)
    held = fir_for_holder(node, reference, number)
    if held is None:
        # No such FIR, another mobile number, or a record the law keeps from online services:
        # one answer, an empty form (nothing of what was asked is repeated back).
        return _page(request, "fir_copy.html", reference="", no_match=True, errors=[])
    ref, position = held.ref, held.fir.ledger_index
    leaf_hash = merkle.leaf_hash(node.ledger.leaf(position)).hex()
    verified = f"{node.config.origin}, entry {position}, leaf hash {leaf_hash[:32]}"
    pdf = fir_copy_pdf(
        held.view,
        station_name=node.config.station,
        district=node.config.district,
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
    node = station(request)
    query = q.strip()[: limits.IDENTIFIER]
    return _page(
        request,
        "vehicles_public.html",
        q=query,
        vehicles=public.public_vehicles(node.index, node.statutes, node.config, query),
        items=public.public_property(node.index, node.statutes, node.config, query),
    )
