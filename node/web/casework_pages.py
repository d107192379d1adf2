"""Casework pages: a petition's page and actions, the case page's investigation actions, and
the casework sections of the petitions list.

Included before `node.web.staff` (see `node.web.app._include_routers`): GET /petitions and GET
/case/{ref} here put the casework data on `request.state.casework` and then render the staff
page itself, whose templates show it; every other page of the staff area is untouched.

Rules (`node.web.rules`), on the server, for every POST (each also CSRF protected):
- petition: enquiry "petition.enquire"; the SDPO's permission "enquiry.permit" (sdpo and
  district_supervisor only); the informant's e-FIR signature "petition.receive" (the front
  desk records it); closing "petition.close"; converting "petition.convert" and
  "fir.register" (with the woman-officer rule of the FIR form);
- case: arrest, seizure, case diary and final report are the case actions of the rules:
  checked with the case's facts (its current investigating officer), so only the IO, the SHO or
  a supervisor may act; court progress "case.court"; assigning the IO is a supervisory act: it
  is checked as "case.diary" on the case with no IO, which only the SHO and supervisors pass.
- a Zero FIR is sent with the command line (`cctns peer transfer-zero-fir`), which calls the
  receiving station and records its acceptance: POST /case/{ref}/send-zero shows that command
  (the web UI holds no federation client to call TransferZeroFir itself).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ledger.errors import CctnsError, InputError
from ledger.log import now_ms
from node.index import casework as casework_index
from node.index import listings
from node.records import casework as casework_rules
from node.records.validation import RELATIONS, SEXES
from node.station import casework
from node.station.core import Station
from node.web import staff
from node.web.rules import CaseFacts, Forbidden, Officer, allowed, check_fir_recorder, require
from node.web.security import csrf_protected, officer_required
from protos import records_pb2

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

AsPetitionReceive = Annotated[Officer, Depends(staff.station_officer("petition.receive"))]


def _petition_reader(request: Request) -> Officer:
    """The front desk (who receives petitions) or an officer who enquires into them (the SHO,
    supervisors: the SDPO who permits a preliminary enquiry reads the petition first)."""
    try:
        return staff.station_officer("petition.receive")(request)
    except Forbidden:
        return staff.station_officer("petition.enquire")(request)


AsPetitionReader = Annotated[Officer, Depends(_petition_reader)]
AsPetitionEnquire = Annotated[Officer, Depends(staff.station_officer("petition.enquire"))]
AsEnquiryPermit = Annotated[Officer, Depends(staff.station_officer("enquiry.permit"))]
AsPetitionClose = Annotated[Officer, Depends(staff.station_officer("petition.close"))]
AsPetitionConvert = Annotated[Officer, Depends(staff.station_officer("petition.convert"))]
AsFirRead = Annotated[Officer, Depends(staff.station_officer("fir.read"))]
AsZeroTransfer = Annotated[Officer, Depends(staff.station_officer("fir.transfer_zero"))]

CASE_ACTIONS = {
    "assign-io": "case.diary",
    "arrest": "case.arrest",
    "seizure": "case.seizure",
    "diary": "case.diary",
    "final-report": "case.chargesheet",
    "court": "case.court",
}
CONVERT_SECTION_ROWS = 3
TRANSFER_COMMAND = "cctns peer transfer-zero-fir"


def _station(request: Request) -> Station:
    station: Station = request.app.state.station
    return station


def _render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    render: Callable[..., HTMLResponse] = request.app.state.render
    return render(request, template, status_code=status_code, case_url=staff.case_url, **values)


def _not_found(request: Request, message: str) -> Response:
    return _render(request, "error.html", status_code=404, status=404, message=message)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip() for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}


# -- the petitions list --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PetitionsExtra:
    """What the petitions list adds: each petition's status, and what needs attention."""

    statuses: Mapping[str, casework_index.PetitionStatus]
    pending_efirs: list[casework_index.PetitionStatus]
    overdue_missing: list[casework_index.PetitionStatus]
    overdue_enquiries: list[casework_index.PetitionStatus]
    now_ms: int
    overdue_days: int = casework_rules.MISSING_OVERDUE_DAYS


def _petitions_extra(station: Station, receipts: Iterable[str]) -> PetitionsExtra:
    now = now_ms()
    return PetitionsExtra(
        statuses=casework_index.petition_statuses(station.index, receipts),
        pending_efirs=casework_index.pending_efirs(station.index),
        overdue_missing=casework_index.overdue_missing_persons(station.index, now=now),
        overdue_enquiries=casework_index.overdue_enquiries(station.index, now=now),
        now_ms=now,
    )


@router.get("/petitions", response_class=HTMLResponse)
def petitions_list(request: Request, officer: AsPetitionReceive) -> Response:

    station = _station(request)
    rows = listings.recent_petitions(station.index)
    request.state.casework = _petitions_extra(station, (r.receipt_number for r in rows))
    return staff.petitions_list(request, officer)


# -- a petition's page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PetitionActions:
    enquire: bool
    permit: bool
    sign: bool
    close: bool
    convert: bool


def _petition_page(
    request: Request,
    officer: Officer,
    number: str,
    *,
    problems: Iterable[str] = (),
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    station = _station(request)
    found = casework_index.petition_status(station.index, number) if number.strip() else None
    if found is None:
        return _not_found(request, f"no petition {number!r} at this station")
    body = station.ledger.body(found.ledger_index)
    petition = body.petition
    indexes = [
        found.ledger_index,
        *casework_index.petition_updates(station.index, found.receipt_number),
    ]
    proofs = staff.verify_entries(station, indexes)
    timeline = [_timeline_item(station, i, proofs) for i in indexes]
    now = now_ms()
    is_open = not found.ended
    actions = PetitionActions(
        enquire=is_open
        and found.status == casework_rules.RECEIVED
        and allowed(officer, "petition.enquire"),
        permit=is_open and not found.enquiry_deadline_ms and allowed(officer, "enquiry.permit"),
        sign=is_open
        and found.category == "e_fir"
        and not found.efir_signed_ms
        and now <= found.efir_due_ms
        and allowed(officer, "petition.receive"),
        close=is_open and allowed(officer, "petition.close"),
        convert=is_open
        and allowed(officer, "petition.convert")
        and allowed(officer, "fir.register")
        and (found.category != "e_fir" or bool(found.efir_signed_ms)),
    )
    person = petition.petitioner
    prefill = {
        "brief_facts": petition.details or petition.subject,
        "complainant_name": person.name,
        "complainant_relation": person.relation,
        "complainant_relative_name": person.relative_name,
        "complainant_age": str(person.age or ""),
        "complainant_sex": person.sex,
        "complainant_address": person.address,
        "complainant_mobile": person.mobile,
        "information_type": "electronic" if found.category == "e_fir" else "written",
        "accused_0_unknown": "on",
    }
    return _render(
        request,
        "petition.html",
        status_code=status_code,
        petition=petition,
        state=found,
        officer_id=body.officer_id,
        timeline=timeline,
        checkpoint_ok=proofs.ok,
        checkpoint_size=proofs.checkpoint_size,
        checkpoint_error=proofs.error,
        actions=actions,
        now_ms=now,
        overdue_missing=found in casework_index.overdue_missing_persons(station.index, now=now),
        problems=list(problems),
        values={**prefill, **(values or {})},
        section_rows=range(CONVERT_SECTION_ROWS),
        relations=RELATIONS,
        sexes=SEXES,
        saved=request.query_params.get("saved", ""),
    )


@router.get("/petition", response_class=HTMLResponse)
def petition_page(request: Request, officer: AsPetitionReader, number: str = "") -> Response:
    return _petition_page(request, officer, number)


async def _petition_command(
    request: Request,
    officer: Officer,
    values: Mapping[str, str],
    command: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Response:
    number = values.get("number", "")
    try:
        await run_in_threadpool(
            command, _station(request), officer.officer_id, number, *args, **kwargs
        )
    except InputError as exc:
        return await run_in_threadpool(
            _petition_page,
            request,
            officer,
            number,
            problems=exc.problems or [str(exc)],
            values=values,
            status_code=400,
        )
    return staff._redirect("/petition", number=number, saved="1")


@router.post(
    "/petition/enquire", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def petition_enquire(request: Request, officer: AsPetitionEnquire) -> Response:
    values = await _form(request)
    return await _petition_command(
        request, officer, values, casework.start_enquiry, values.get("note", "")
    )


@router.post(
    "/petition/permit", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def petition_permit(request: Request, officer: AsEnquiryPermit) -> Response:
    values = await _form(request)
    return await _petition_command(
        request, officer, values, casework.permit_enquiry, note=values.get("note", "")
    )


@router.post("/petition/sign", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def petition_sign(request: Request, officer: AsPetitionReceive) -> Response:
    values = await _form(request)
    return await _petition_command(request, officer, values, casework.sign_efir)


@router.post("/petition/close", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def petition_close(request: Request, officer: AsPetitionClose) -> Response:
    values = await _form(request)
    return await _petition_command(
        request, officer, values, casework.close_petition, values.get("reason", "")
    )


@router.post(
    "/petition/convert", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def petition_convert(request: Request, officer: AsPetitionConvert) -> Response:
    require(officer, "fir.register")
    values = await _form(request)
    station = _station(request)
    number = values.get("number", "")
    form = staff._parse_fir(values, station.statutes)
    if form.problems:
        return await run_in_threadpool(
            _petition_page,
            request,
            officer,
            number,
            problems=form.problems,
            values=values,
            status_code=400,
        )
    check_fir_recorder(officer, sexual_offence=form.sexual_offence, victim_sex=form.victim_sex)
    try:
        receipt = await run_in_threadpool(
            casework.convert_to_fir, station, officer.officer_id, number, form.fir
        )
    except InputError as exc:
        return await run_in_threadpool(
            _petition_page,
            request,
            officer,
            number,
            problems=exc.problems or [str(exc)],
            values=values,
            status_code=400,
        )
    return staff._redirect(staff.case_url(receipt.ref), registered="1")


# -- the case page -------------------------------------------------------------------------------


def _timeline_item(station: Station, index: int, proofs: staff.Proofs) -> staff.TimelineItem:
    body = station.ledger.body(index)
    kind: str = body.WhichOneof("record") or ""
    if kind == "case_event":
        event = body.case_event
        kind = f"case_event.{event.kind}"
        title, detail = casework_rules.case_event_summary(event), ""
    elif kind == "petition_update":
        update = body.petition_update
        kind = f"petition_update.{update.action}"
        title = update.receipt_number
        detail = " · ".join(
            p
            for p in (
                update.note,
                update.fir_number,
                f"{update.permitted_by}" if update.permitted_by else "",
            )
            if p
        )
    else:
        kind, title, detail = staff._describe(body)
    proof = proofs.entries.get(index)
    return staff.TimelineItem(
        index=index,
        kind=kind,
        officer_id=body.officer_id,
        written_at_ms=body.written_at_ms,
        title=title,
        detail=detail,
        verified=proofs.ok and proof is not None and proof.ok,
        error=proof.error if proof is not None else proofs.error,
    )


@dataclass(frozen=True, slots=True)
class CaseExtra:
    """What the case page adds for an FIR: the investigation's entries and its actions."""

    fir_number: str
    io_officer_id: str
    timeline: list[staff.TimelineItem]
    checkpoint_ok: bool
    charge_sheeted: bool
    can: Mapping[str, bool]
    zero_fir: bool = False
    zero_sent_to: str = ""
    transfer_command: str = ""
    transferred: str = ""  # the status message after a hand-over made from this page
    problems: list[str] = field(default_factory=list)
    values: Mapping[str, str] = field(default_factory=dict)
    saved: str = ""
    relations: tuple[str, ...] = RELATIONS
    sexes: tuple[str, ...] = SEXES


def _facts(station: Station, io: str) -> CaseFacts:
    return CaseFacts(station_node_id=station.config.node_id, io_officer_id=io)


def _case_extra(
    request: Request,
    officer: Officer,
    ref: str,
    *,
    problems: Iterable[str] = (),
    values: Mapping[str, str] | None = None,
    transfer_command: str = "",
    transferred: str = "",
) -> CaseExtra | None:
    station = _station(request)
    fir = station.index.lookups.fir(staff.parse_ref(ref))
    if fir is None:
        return None
    number = fir.fir_number or fir.zero_fir_number
    io = casework_index.current_io(station.index, number)
    indexes = [e.ledger_index for e in casework_index.case_events(station.index, number)]
    index = station.index.lookups.record_index(number)
    petition_receipt = station.ledger.body(index).fir.petition_receipt if index is not None else ""
    if petition_receipt:
        found = casework_index.petition_status(station.index, petition_receipt)
        if found is not None:
            indexes.append(found.ledger_index)
            indexes.extend(casework_index.petition_updates(station.index, petition_receipt))
    proofs = staff.verify_entries(station, indexes)
    timeline = [_timeline_item(station, i, proofs) for i in sorted(set(indexes))]
    facts = _facts(station, io)
    can = {
        "assign_io": allowed(officer, "case.diary", case=_facts(station, "")),
        "arrest": allowed(officer, "case.arrest", case=facts),
        "seizure": allowed(officer, "case.seizure", case=facts),
        "diary": allowed(officer, "case.diary", case=facts),
        "final_report": allowed(officer, "case.chargesheet", case=facts),
        "court": allowed(officer, "case.court", case=facts),
        "send_zero": fir.zero_fir and allowed(officer, "fir.transfer_zero", case=facts),
    }
    sent = [t for t in station.index.lookups.zero_fir_transfers(number) if t.direction == "sent"]
    return CaseExtra(
        fir_number=number,
        io_officer_id=io,
        timeline=timeline,
        checkpoint_ok=proofs.ok,
        charge_sheeted=casework_index.charge_sheeted(station.index, number),
        can=can,
        zero_fir=fir.zero_fir,
        zero_sent_to=sent[0].to_station if sent else "",
        transfer_command=transfer_command,
        transferred=transferred,
        problems=list(problems),
        values=values or {},
        saved=request.query_params.get("saved", ""),
    )


def _case_page(request: Request, officer: Officer, ref: str, **extra: Any) -> Response:
    status_code = 400 if extra.get("problems") else 200
    request.state.casework = _case_extra(request, officer, ref, **extra)
    response = staff.case_page(request, ref, officer)
    if response.status_code == 200 and status_code != 200:
        response.status_code = status_code
    return response


@router.get("/case/{ref:path}", response_class=HTMLResponse)
def case_page(request: Request, ref: str, officer: AsFirRead) -> Response:
    return _case_page(request, officer, ref)


def _person(values: Mapping[str, str], problems: list[str]) -> records_pb2.PersonInCase:
    age = values.get("age", "")
    if age and not age.isdigit():
        problems.append("arrested person: age must be a number of years")
    return records_pb2.PersonInCase(
        person=records_pb2.Person(
            name=values.get("name", ""),
            relation=values.get("relation", ""),
            relative_name=values.get("relative_name", ""),
            age=int(age) if age.isdigit() else 0,
            sex=values.get("sex", ""),
            address=values.get("address", ""),
        ),
        role=records_pb2.ACCUSED,
        accused_code=values.get("accused_code", "").upper(),
    )


def _property(values: Mapping[str, str], problems: list[str]) -> records_pb2.PropertyItem:
    value = values.get("value", "").replace(",", "")
    if value and not value.isdigit():
        problems.append("seized property: value must be a whole number of rupees")
    return records_pb2.PropertyItem(
        category=values.get("category", "").lower(),
        description=values.get("description", ""),
        status=records_pb2.SEIZED,
        value_inr=int(value) if value.isdigit() else 0,
        identifiers=values.get("identifiers", ""),
    )


def _sections(text: str, problems: list[str]) -> list[records_pb2.ActSection]:
    out: list[records_pb2.ActSection] = []
    for part in text.replace(";", ",").split(","):
        cited = staff._section_citation(part, problems)
        if cited is not None:
            out.append(cited)
    return out


def _event_args(action: str, values: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    at = staff._local_ms(values.get("at", ""), "time", problems)
    common: dict[str, Any] = {"at_ms": at or None, "text": values.get("text", "")}
    if action == "arrest":
        return {"kind": "arrest", "persons": [_person(values, problems)], **common}
    if action == "seizure":
        return {"kind": "seizure", "property": [_property(values, problems)], **common}
    if action == "diary":
        return {"kind": "case_diary", **common}
    if action == "final-report":
        return {
            "kind": "final_report",
            "report_type": values.get("report_type", ""),
            "sections": _sections(values.get("sections", ""), problems),
            **common,
        }
    return {
        "kind": "court_progress",
        "court": values.get("court", ""),
        "court_case_number": values.get("court_case_number", ""),
        "next_hearing": values.get("next_hearing", ""),
        "outcome": values.get("outcome", ""),
        **common,
    }


async def _case_action(request: Request, officer: Officer, ref: str, action: str) -> Response:
    values = await _form(request)
    station = _station(request)
    target = staff.parse_ref(ref)
    fir = await run_in_threadpool(station.index.lookups.fir, target)
    if fir is None:
        return _not_found(request, f"no FIR {target!r} at this station")
    number = fir.fir_number or fir.zero_fir_number
    io = await run_in_threadpool(casework_index.current_io, station.index, number)
    # Assigning the IO is supervisory: checked on the case with no IO (the SHO, supervisors).
    require(officer, CASE_ACTIONS[action], _facts(station, "" if action == "assign-io" else io))
    problems: list[str] = []
    try:
        if action == "assign-io":
            await run_in_threadpool(
                casework.assign_io,
                station,
                officer.officer_id,
                number,
                values.get("io_officer_id", ""),
                values.get("text", ""),
            )
        else:
            args = _event_args(action, values, problems)
            if problems:
                raise InputError("; ".join(problems), problems)
            await run_in_threadpool(
                casework.record_case_event, station, officer.officer_id, number, **args
            )
    except InputError as exc:
        return await run_in_threadpool(
            _case_page,
            request,
            officer,
            ref,
            problems=exc.problems or [str(exc)],
            values={"action": action, **values},
        )
    return staff._redirect(staff.case_url(number), saved=action)


def _case_route(action: str, who: Any) -> None:
    async def handler(request: Request, ref: str, officer: Officer = who) -> Response:
        return await _case_action(request, officer, ref, action)

    handler.__name__ = "case_" + action.replace("-", "_")
    router.add_api_route(
        f"/case/{{ref:path}}/casework/{action}",
        handler,
        methods=["POST"],
        response_class=HTMLResponse,
        dependencies=[Depends(csrf_protected)],
    )


# The case actions are checked against the case (its IO) in the handler, so the dependency only
# checks the role: `station_officer` would check them against a case with no IO.
for _action, _who in (
    ("assign-io", Depends(officer_required("case.diary"))),
    ("arrest", Depends(officer_required("case.arrest"))),
    ("seizure", Depends(officer_required("case.seizure"))),
    ("diary", Depends(officer_required("case.diary"))),
    ("final-report", Depends(officer_required("case.chargesheet"))),
    ("court", Depends(officer_required("case.court"))),
):
    _case_route(_action, _who)


@router.post(
    "/case/{ref:path}/send-zero",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)],
)
async def case_send_zero(request: Request, ref: str, officer: AsZeroTransfer) -> Response:
    """Shows the command that sends this Zero FIR to the station with jurisdiction: the hand-over
    needs a call to that station (TransferZeroFir), which the command line makes."""
    values = await _form(request)
    station = _station(request)
    target = staff.parse_ref(ref)
    fir = await run_in_threadpool(station.index.lookups.fir, target)
    if fir is None or not fir.zero_fir:
        return _not_found(request, f"no Zero FIR {target!r} at this station")
    to = values.get("to_station", "")
    if not to:
        return await run_in_threadpool(
            _case_page,
            request,
            officer,
            ref,
            problems=["the node id of the station with jurisdiction is required"],
            values={"action": "send-zero"},
        )
    command = (
        f"{TRANSFER_COMMAND} {shlex.quote(fir.zero_fir_number)} --to {shlex.quote(to)} "
        f"--officer {shlex.quote(officer.officer_id)}"
    )
    transfer = request.app.state.context.transfer_zero_fir
    if transfer is not None:
        # A federated node hands it over now: the receiving station numbers it and both logs
        # record the hand-over; if that station cannot be reached, say so and offer the command.
        try:
            message = await transfer(fir.zero_fir_number, to, officer.officer_id)
        except CctnsError as exc:
            return await run_in_threadpool(
                _case_page,
                request,
                officer,
                ref,
                problems=[f"the hand-over did not complete: {exc}"],
                transfer_command=command,
            )
        return await run_in_threadpool(_case_page, request, officer, ref, transferred=message)
    return await run_in_threadpool(_case_page, request, officer, ref, transfer_command=command)
