"""Citizen services pages: verification requests, NOCs and permissions; grievances against the
police; the public lists of missing persons and unidentified bodies (rules in
`node.records.services`).

  GET  /citizen/request         the service request form (no login)
  POST /citizen/request         -> the receipt, with the date the request is due
  GET  /citizen/grievance       the grievance form (no login)
  POST /citizen/grievance       on a supervising office: stored -> the receipt; on a station:
                                nothing is stored, the citizen is told which office to file with
  GET  /citizen/missing         missing persons not yet traced, unidentified bodies
  GET  /requests                officers ("requests.handle"): service requests, overdue first
  POST /requests/update         records a step (in progress, completed, rejected)
  GET  /grievances              officers ("grievance.handle") of a supervising office
  POST /grievances/update       records a step (under enquiry, closed)

Requests and grievances count against the portal's budget of submissions, per client and in
total (`node.web.throttle`); the staff pages count against nothing.

Grievance routing (option (a)): a grievance is kept only by the office that supervises the one
complained about. A station node records nothing of a grievance (not in its ledger, not in its
logs) and names its supervising office: `parent` in federation.toml, else the district police
office. No grievance travels over the network (the federation protocol has no message for it).
An officer never sees a grievance against their own office.

Citizen pages never show a person's mobile number or address, and the missing persons list
shows name, age and sex only (for missing children too: publishing them is how they are found).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import InputError
from ledger.log import now_ms
from node.config import DataDir, load_federation
from node.index import services as services_index
from node.records import limits
from node.records import services as services_rules
from node.station import services
from node.web.deps import context, no_store, redirect, render, station, station_officer
from node.web.forms import contact_fields
from node.web.rules import Forbidden, Officer, covers
from node.web.security import csrf_protected, officer_required
from node.web.throttle import SUBMISSIONS, portal_limit
from protos import records_pb2

PORTAL_OFFICER = "citizen-portal"
# The contact fields and the table's limit each is held to (node.records.limits).
CONTACT_FIELDS = (("name", limits.text("Person.name")), ("address", limits.text("Person.address")))

router = APIRouter(tags=["services"])
# A service request is handled at the station it was made to; a grievance is checked against
# the office it names (`_may_handle`), not against this station.
Handler = Annotated[Officer, Depends(station_officer("requests.handle"))]
GrievanceHandler = Annotated[Officer, Depends(officer_required("grievance.handle"))]


def _page(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """A services page: never cached (a citizen's receipt, the staff's lists)."""
    return no_store(render(request, template, status_code, **values))


def supervising_office(request: Request) -> str:
    """The node id of the office supervising this one (`parent` in federation.toml), or ""."""
    data_dir = context(request).data_dir
    if data_dir is None:
        return ""
    try:
        return load_federation(DataDir(data_dir)).parent
    except InputError:
        return ""


# -- the citizen's forms --------------------------------------------------------------------------


def _person_fields(form: dict[str, str], errors: list[str], details_field: str) -> str | None:
    number = contact_fields(form, errors, CONTACT_FIELDS)
    if len(form["details"]) > limits.text(details_field):
        errors.append("portal.error.details_too_long")
    return number


@router.get("/citizen/request", response_class=HTMLResponse, include_in_schema=False)
def request_form(request: Request) -> Response:
    return _page(
        request, "request_new.html", form={}, errors=[], kinds=services_rules.DUE_DAYS.items()
    )


@router.post(
    "/citizen/request",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(csrf_protected), Depends(portal_limit(SUBMISSIONS))],
)
def request_submit(
    request: Request,
    kind: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "kind": kind.strip(),
        "name": name.strip(),
        "mobile": mobile.strip(),
        "address": address.strip(),
        "details": details.strip(),
    }
    errors: list[str] = []
    if form["kind"] not in services_rules.DUE_DAYS:
        errors.append("services.error.kind")
    number = _person_fields(form, errors, "ServiceRequest.details")
    if errors:
        return _page(
            request,
            "request_new.html",
            status_code=400,
            form=form,
            errors=errors,
            kinds=services_rules.DUE_DAYS.items(),
        )
    assert number is not None
    record = records_pb2.ServiceRequest(
        kind=form["kind"],
        details=form["details"],
        applicant=records_pb2.Person(name=form["name"], mobile=number, address=form["address"]),
    )
    node = station(request)
    receipt = services.receive_request(node, PORTAL_OFFICER, record)
    written = node.ledger.body(receipt.index).service_request
    return _page(
        request,
        "request_receipt.html",
        what="request",
        receipt_number=receipt.ref,
        received_at_ms=written.received_at_ms,
        due_at_ms=written.due_ms,
        kind=written.kind,
    )


@router.get("/citizen/grievance", response_class=HTMLResponse, include_in_schema=False)
def grievance_form(request: Request) -> Response:
    node = station(request)
    return _page(
        request,
        "grievance_new.html",
        form={"against": node.config.node_id},
        errors=[],
        routed=None,
        holds=services_rules.holds_grievances(node.config.role),
        parent=supervising_office(request),
    )


@router.post(
    "/citizen/grievance",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(csrf_protected), Depends(portal_limit(SUBMISSIONS))],
)
def grievance_submit(
    request: Request,
    against: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
) -> Response:
    node = station(request)
    config = node.config
    holds = services_rules.holds_grievances(config.role)
    parent = supervising_office(request)
    form = {
        "against": against.strip()[: limits.text("Grievance.against_office")] or config.node_id,
        "name": name.strip(),
        "mobile": mobile.strip(),
        "address": address.strip(),
        "details": details.strip(),
    }
    errors: list[str] = []
    if not form["details"]:
        errors.append("portal.error.details_required")
    number = _person_fields(form, errors, "Grievance.details")
    page: dict[str, Any] = {"holds": holds, "parent": parent}
    if errors:
        return _page(
            request,
            "grievance_new.html",
            status_code=400,
            form=form,
            errors=errors,
            routed=None,
            **page,
        )
    assert number is not None
    if not holds or form["against"] == config.node_id:
        # Kept by the office that supervises the one complained about, never by this one:
        # nothing of it is written here. The form is not echoed back.
        own = form["against"] == config.node_id
        return _page(
            request,
            "grievance_new.html",
            form={},
            errors=[],
            routed={"office": form["against"], "own": own, "parent": parent if own else ""},
            **page,
        )
    record = records_pb2.Grievance(
        against_office=form["against"],
        details=form["details"],
        complainant=records_pb2.Person(name=form["name"], mobile=number, address=form["address"]),
    )
    try:
        receipt = services.receive_grievance(node, PORTAL_OFFICER, record)
    except InputError:
        return _page(
            request,
            "grievance_new.html",
            status_code=400,
            form=form,
            errors=["services.error.office"],
            routed=None,
            **page,
        )
    written = node.ledger.body(receipt.index).grievance
    return _page(
        request,
        "request_receipt.html",
        what="grievance",
        receipt_number=receipt.ref,
        received_at_ms=written.received_at_ms,
        due_at_ms=0,
        kind="",
    )


@router.get("/citizen/missing", response_class=HTMLResponse, include_in_schema=False)
def missing_public(request: Request) -> Response:
    index = station(request).index
    return render(
        request,
        "missing_public.html",
        missing=services_index.missing_persons(index),
        bodies=services_index.unidentified_bodies(index),
    )


# -- staff ---------------------------------------------------------------------------------------


@router.get("/requests", response_class=HTMLResponse, include_in_schema=False)
def requests_staff(request: Request, officer: Handler, show: str = "open") -> Response:
    index = station(request).index
    now = now_ms()
    rows = services_index.list_requests(index, now, open_only=show != "all")
    total, _ = services_index.overdue_requests(index, now, limit=0)
    return _page(
        request,
        "requests_staff.html",
        rows=rows,
        overdue_total=total,
        show="all" if show == "all" else "open",
        updates=services_rules.REQUEST_UPDATES,
        message=request.query_params.get("saved", ""),
    )


@router.post("/requests/update", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def requests_update(
    request: Request,
    officer: Handler,
    receipt: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    done = services.update_request(station(request), officer.officer_id, receipt, status, note)
    return redirect("/requests", saved=done.ref)


def _may_handle(officer: Officer, against_office: str) -> bool:
    """An officer handles grievances against offices in their jurisdiction, never their own."""
    return covers(officer, against_office) and officer.station_node_id != against_office


@router.get("/grievances", response_class=HTMLResponse, include_in_schema=False)
def grievances_staff(request: Request, officer: GrievanceHandler) -> Response:
    node = station(request)
    holds = services_rules.holds_grievances(node.config.role)
    rows = services_index.list_grievances(node.index) if holds else []
    return _page(
        request,
        "grievances_staff.html",
        holds=holds,
        parent=supervising_office(request),
        rows=[g for g in rows if _may_handle(officer, g.against_office)],
        updates=services_rules.GRIEVANCE_UPDATES,
        message=request.query_params.get("saved", ""),
    )


@router.post("/grievances/update", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def grievances_update(
    request: Request,
    officer: GrievanceHandler,
    receipt: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    node = station(request)
    row = services_index.find_grievance(node.index, receipt)
    if row is None:
        raise InputError(f"no grievance {receipt!r} at this office")
    if not _may_handle(officer, row.against_office):
        raise Forbidden(
            f"{officer.officer_id}: the grievance against {row.against_office} is outside "
            "this officer's jurisdiction or against their own office"
        )
    done = services.update_grievance(node, officer.officer_id, row.receipt, status, note)
    return redirect("/grievances", saved=done.ref)
