"""A record's page with its ledger proofs, and the casework on it: the case page (an FIR, a
Zero FIR, an NCR, ...) with its amendments, investigation and Zero FIR hand-over; a petition's
page with its lifecycle.

    GET  /case/{ref}                      the record, its timeline (every entry proved against
                                          the latest signed checkpoint), the investigation
                                          ("fir.read")
    POST /case/{ref}/amend                a correction, appended           ("fir.amend")
    POST /case/{ref}/casework/{action}    assign-io, arrest (with its memo), seizure (with its
                                          mahazar), diary (one investigation day), custody (a
                                          court's order on an accused held), movement (a seized
                                          item's), progress (the informant told), final-report,
                                          court, disposal (the court's judgment), wanted,
                                          wanted-withdrawn (an accused declared wanted, the
                                          notice withdrawn), mo (the modus operandi of
                                          accused, `node.records.history`)
    POST /case/{ref}/send-zero            a Zero FIR to the station with jurisdiction
    GET  /petition?number=                a petition, its timeline and the actions open to it
    POST /petition/{action}               enquire, permit, sign, close, convert

Rules (`node.web.rules`), on the server, for every POST (each also CSRF protected):
- petition: enquiry "petition.enquire"; the SDPO's permission "enquiry.permit" (sdpo and
  district_supervisor only); the informant's e-FIR signature "petition.receive" (the front
  desk records it); closing "petition.close"; converting "petition.convert" and
  "fir.register" (with the woman-officer rule of the FIR form);
- case: arrest, seizure, case diary and final report are the case actions of the rules:
  checked with the case's facts (its current investigating officer), so only the IO, the SHO or
  a supervisor may act; declaring an accused wanted, and withdrawing it, are checked as the
  arrest ("case.arrest": who may arrest the accused may say that he cannot be found); so is a
  court's custody order on an accused held (it continues the arrest); a seized item's movement
  is checked as the seizure ("case.seizure"), telling the informant the progress as the diary
  ("case.diary"); court progress and the judgment "case.court"; assigning the IO is a
  supervisory act: it is checked as "case.diary" on the case with no IO, which only the SHO and
  supervisors pass.
- the arrest memo, the seizure, the case diary, the final report and the judgment grow by rows
  (any number of persons, items, statements, sections: `node.web.case_forms`);
- the forms' rules (the arrest memo's particulars, the mahazar's witnesses and video record,
  one diary entry a day, the 15-day remand, the item's place before it moves) are the station's
  (`node.station.investigation`): a refused form comes back with every problem, nothing written.
- a Zero FIR is handed over by the federation when the node has one (the receiving station
  numbers it and both logs record it); on a node without, the page shows the command line
  (`cctns peer transfer-zero-fir`) that makes the call.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import CctnsError, InputError
from ledger.log import now_ms
from node.index import casework as casework_index
from node.index import history as history_index
from node.index import investigation as held
from node.index.lookups import FirView
from node.records import casework as casework_rules
from node.records import history as history_rules
from node.records import investigation as investigation_rules
from node.records.investigation import OUT
from node.records.refs import record_ref
from node.records.validation import RELATIONS, SEXES
from node.station import casework, registers, transfer, views
from node.station.core import Station
from node.web import case_forms, forms, transfer_view
from node.web.deps import (
    blocking,
    context,
    form,
    not_found,
    redirect,
    render,
    station,
    station_facts,
    station_officer,
)
from node.web.errors import public_message
from node.web.proofs import timeline
from node.web.rules import (
    STATION_ROLES,
    Forbidden,
    Officer,
    allowed,
    check_fir_recorder,
    covers,
    require,
)
from node.web.security import csrf_protected, officer_required
from node.web.urls import case_url, parse_ref
from protos import records_pb2

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _petition_reader(request: Request) -> Officer:
    """The front desk (who receives petitions) or an officer who enquires into them (the SHO,
    supervisors: the SDPO who permits a preliminary enquiry reads the petition first)."""
    try:
        return station_officer("petition.receive")(request)
    except Forbidden:
        return station_officer("petition.enquire")(request)


# The signed-in officer of this station, when their role may do the action (node.web.rules).
AsFirAmend = Annotated[Officer, Depends(station_officer("fir.amend"))]
AsFirRead = Annotated[Officer, Depends(station_officer("fir.read"))]
AsPetitionReader = Annotated[Officer, Depends(_petition_reader)]
AsPetitionReceive = Annotated[Officer, Depends(station_officer("petition.receive"))]
AsPetitionEnquire = Annotated[Officer, Depends(station_officer("petition.enquire"))]
AsEnquiryPermit = Annotated[Officer, Depends(station_officer("enquiry.permit"))]
AsPetitionClose = Annotated[Officer, Depends(station_officer("petition.close"))]
AsPetitionConvert = Annotated[Officer, Depends(station_officer("petition.convert"))]
AsZeroTransfer = Annotated[Officer, Depends(station_officer("fir.transfer_zero"))]

# The case actions' rules; assigning the IO is checked on the case with no IO (see above).
CASE_ACTIONS = {
    "assign-io": "case.diary",
    "arrest": "case.arrest",
    "seizure": "case.seizure",
    "diary": "case.diary",
    "final-report": "case.chargesheet",
    "court": "case.court",
    "disposal": "case.court",
    "wanted": "case.arrest",
    "wanted-withdrawn": "case.arrest",
    "custody": "case.arrest",
    "movement": "case.seizure",
    "progress": "case.diary",
    "mo": "case.diary",
}
CONVERT_SECTION_ROWS = 3
TRANSFER_COMMAND = "cctns peer transfer-zero-fir"


def _may_unseal(officer: Officer, node: Station) -> bool:
    """Sealed identities are shown in clear only to this station's own officers."""
    return (
        officer.role in STATION_ROLES
        and covers(officer, node.config.node_id)
        and allowed(officer, "fir.read")
    )


# -- the case page -------------------------------------------------------------------------------


def _commitment_text(encoded: str) -> str:
    try:
        return base64.b64decode(encoded).hex()[:12]
    except ValueError:
        return encoded[:12]


@dataclass(frozen=True, slots=True)
class PersonRow:
    role: str
    accused_code: str
    unknown: bool
    withheld: bool
    commitment: str
    unsealed: bool
    name: str
    relation: str
    relative_name: str
    age: int
    sex: str
    address: str
    mobile: str


def _person_rows(view: Mapping[str, Any]) -> list[PersonRow]:
    rows: list[PersonRow] = []
    for entry in view.get("persons", []):
        person = entry.get("person", {})
        commitment = str(person.get("identity_commitment", ""))
        rows.append(
            PersonRow(
                role=str(entry.get("role", "")).lower(),
                accused_code=str(entry.get("accused_code", "")),
                unknown=bool(entry.get("unknown", False)),
                # Sealed, or (an older entry) protected by the withholding policy in clear.
                withheld=(bool(commitment) or person.get("identity_withheld") is True)
                and not person.get("identity_sealed"),
                commitment=_commitment_text(commitment) if commitment else "",
                unsealed=bool(person.get("identity_sealed")),
                name=str(person.get("name", "")),
                relation=str(person.get("relation", "")),
                relative_name=str(person.get("relative_name", "")),
                age=int(person.get("age", 0) or 0),
                sex=str(person.get("sex", "")),
                address=str(person.get("address", "")),
                mobile=str(person.get("mobile", "")),
            )
        )
    return rows


def _property_rows(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for item in view.get("property", []):
        vehicle = item.get("vehicle", {})
        rows.append(
            {
                "category": item.get("category", ""),
                "description": item.get("description", ""),
                "status": str(item.get("status", "")).lower(),
                "value_inr": int(item.get("value_inr", 0) or 0),
                "identifiers": item.get("identifiers", ""),
                "registration": vehicle.get("registration", ""),
                "engine_number": vehicle.get("engine_number", ""),
                "chassis_number": vehicle.get("chassis_number", ""),
                "make": " ".join(
                    v for v in (vehicle.get("make", ""), vehicle.get("model", "")) if v
                ),
            }
        )
    return rows


def _ms(view: Mapping[str, Any], key: str) -> int:
    value = view.get(key, 0)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _record_indexes(node: Station, ref: str, view: Mapping[str, Any]) -> list[int]:
    """The entries of the record itself: it and its amendments, its GD entry, its Zero FIR
    hand-over."""
    indexes = [item.index for item in views.history(node, ref)]
    gd_reference = str(view.get("gd_reference", ""))
    if gd_reference:
        gd_index = node.index.lookups.record_index("GD " + gd_reference)
        if gd_index is not None:
            indexes.append(gd_index)
    zero_number = str(view.get("zero_fir_number", ""))
    if zero_number:
        try:
            status = transfer.zero_fir_status(node, zero_number)
        except InputError:
            status = {}
        indexes.extend(int(i) for i in status.get("entries", []))
    return indexes


@dataclass(frozen=True, slots=True)
class Refused:
    """A form shown again on its page: what was typed, and why it was refused (the problems of
    a row of a growing form under the row's prefix too, `node.web.case_forms`)."""

    problems: list[str]
    values: Mapping[str, str] = field(default_factory=dict)
    row_problems: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemChain:
    """An item of the case's property register, where it is, and its movements in order."""

    item: held.PropertyRow
    chain: list[held.Movement]


@dataclass(frozen=True, slots=True)
class CaseWork:
    """What the case page shows of an FIR's investigation, and the actions open to the officer.
    `problems` and `values` are those of a casework action just refused, shown again."""

    fir_number: str
    io_officer_id: str
    charge_sheeted: bool
    can: Mapping[str, bool]
    zero_fir: bool = False
    zero_sent_to: str = ""
    transfer_command: str = ""
    transferred: str = ""  # the status message after a hand-over made from this page
    problems: list[str] = field(default_factory=list)
    values: Mapping[str, str] = field(default_factory=dict)
    row_problems: Mapping[str, list[str]] = field(default_factory=dict)
    rows: Mapping[str, list[int]] = field(default_factory=dict)  # of the forms that grow
    most: Mapping[str, int] = field(default_factory=lambda: case_forms.MOST)
    saved: str = ""
    relations: tuple[str, ...] = RELATIONS
    sexes: tuple[str, ...] = SEXES
    wanted: list[casework_index.WantedPerson] = field(default_factory=list)
    bases: tuple[str, ...] = casework_rules.WANTED_BASES
    custody: list[held.CustodyRow] = field(default_factory=list)
    held_codes: list[str] = field(default_factory=list)  # accused held now (a court may order)
    property_register: list[ItemChain] = field(default_factory=list)
    now_ms: int = 0
    today: str = ""
    custody_orders: tuple[str, ...] = investigation_rules.CUSTODY_ORDERS
    movements: tuple[str, ...] = tuple(investigation_rules.MOVEMENTS)
    disposal_results: tuple[str, ...] = investigation_rules.DISPOSAL_RESULTS
    appeal_results: tuple[str, ...] = investigation_rules.APPEAL_RESULTS
    # The MO of the case's accused, the current entry of each (node/index/history.py).
    mo_rows: list[history_index.MoRow] = field(default_factory=list)
    mo_vocabulary: Mapping[str, Mapping[str, tuple[str, str]]] = field(
        default_factory=lambda: history_rules.MO_VOCABULARY
    )


def _casework(
    request: Request,
    officer: Officer,
    ref: str,
    *,
    action: Refused | None = None,
    transfer_command: str = "",
    transferred: str = "",
    fir: FirView | None = None,
) -> tuple[CaseWork | None, list[int]]:
    """The investigation of FIR `ref` (None for another record) and its entries: the case
    events, and the petition it was registered on with that petition's updates. A case this
    unit took over (`ref` its key) is investigated here the same way. `fir`: the FIR's view,
    when the caller read it already."""
    node = station(request)
    fir = fir or node.index.lookups.fir(ref)
    took = transfer_view.taken_over(request, ref) if fir is None else None
    if fir is None:
        if took is None:
            return None, []
        number = took.case_key
    else:
        number = fir.fir_number or fir.zero_fir_number
    io = casework_index.current_io(node.index, number)
    indexes = [e.ledger_index for e in casework_index.case_events(node.index, number)]
    index = node.index.lookups.record_index(number)
    petition_receipt = node.ledger.body(index).fir.petition_receipt if index is not None else ""
    if petition_receipt:
        found = casework_index.petition_status(node.index, petition_receipt)
        if found is not None:
            indexes.append(found.ledger_index)
            indexes.extend(casework_index.petition_updates(node.index, petition_receipt))
    facts = station_facts(request, io)
    custody = held.arrests(node.index, number)
    can = {
        "assign_io": allowed(officer, "case.diary", case=station_facts(request, "")),
        "arrest": allowed(officer, "case.arrest", case=facts),
        "seizure": allowed(officer, "case.seizure", case=facts),
        "diary": allowed(officer, "case.diary", case=facts),
        "final_report": allowed(officer, "case.chargesheet", case=facts),
        "court": allowed(officer, "case.court", case=facts),
        "disposal": allowed(officer, "case.court", case=facts),
        "wanted": allowed(officer, "case.arrest", case=facts),
        "custody": allowed(officer, "case.arrest", case=facts),
        "movement": allowed(officer, "case.seizure", case=facts),
        "progress": allowed(officer, "case.diary", case=facts),
        "mo": allowed(officer, "case.diary", case=facts),
        "send_zero": fir is not None
        and fir.zero_fir
        and allowed(officer, "fir.transfer_zero", case=facts),
    }
    if took is not None:
        # The court's file stays with the station that registered it (SENDER_ONLY_KINDS).
        can["court"] = False
    if transfer_view.transferred(request, number):
        # The investigation is another unit's now: only the court's progress is recorded here
        # (node/records/case_transfer.py AFTER_TRANSFER_KINDS).
        can = {name: may and name in ("court", "disposal") for name, may in can.items()}
    sent = [t for t in node.index.lookups.zero_fir_transfers(number) if t.direction == "sent"]
    work = CaseWork(
        fir_number=number,
        io_officer_id=io,
        charge_sheeted=casework_index.charge_sheeted(node.index, number),
        can=can,
        zero_fir=fir is not None and fir.zero_fir,
        zero_sent_to=sent[0].to_station if sent else "",
        transfer_command=transfer_command,
        transferred=transferred,
        problems=action.problems if action else [],
        values=action.values if action else {},
        row_problems=action.row_problems if action else {},
        rows=case_forms.shown_rows(action.values if action else {}),
        saved=request.query_params.get("saved", ""),
        wanted=casework_index.wanted_in_case(node.index, number),
        custody=custody,
        held_codes=sorted(
            {r.accused_code for r in custody if not r.noticed and r.status not in OUT}
        ),
        property_register=[
            ItemChain(item, held.movements(node.index, item.item_ref))
            for item in held.property_register(node.index, number)
        ],
        now_ms=now_ms(),
        today=forms.today(),
        mo_rows=history_index.case_mo(node.index.engine, number),
    )
    return work, indexes


def _case_page(
    request: Request,
    officer: Officer,
    ref_text: str,
    *,
    amend: Refused | None = None,
    action: Refused | None = None,
    transfer_command: str = "",
    transferred: str = "",
    registered: bool = False,
) -> Response:
    """The case page: the record, its timeline with every entry proved, and for an FIR its
    investigation. `amend` and `action` are a refused amendment or casework action, shown
    again; `transfer_command` and `transferred` what a Zero FIR hand-over answered;
    `registered` that the FIR was registered just now (as "?registered=1" says)."""
    node = station(request)
    ref = parse_ref(ref_text)
    took = transfer_view.taken_over(request, ref)  # a case this unit took over, by its key
    if took is None and node.index.lookups.record_index(ref) is None:
        return not_found(request, f"no record {ref!r} at this station")
    history = views.history(node, ref)
    ref = took.case_key if took else record_ref(node.ledger.body(history[0].index)) or ref
    unsealed = _may_unseal(officer, node)
    view = views.unsealed_view(node, ref) if unsealed else views.current_view(node, ref)
    kind = history[0].kind
    fir_view = node.index.lookups.fir(ref) if kind == "fir" else None
    work, work_indexes = _casework(
        request,
        officer,
        ref,
        action=action,
        transfer_command=transfer_command,
        transferred=transferred,
        fir=fir_view,
    )
    record = [took.ledger_index] if took else _record_indexes(node, ref, view)
    items, proofs = timeline(node, [*record, *work_indexes])
    return render(
        request,
        "case.html",
        status_code=400 if (amend and amend.problems) or (action and action.problems) else 200,
        ref=ref,
        kind=kind,
        view=view,
        status=fir_view.status if fir_view else str(view.get("status", "")),
        crime_head=str(view.get("crime_head", "")),
        registered_at_ms=_ms(view, "registered_at_ms") or history[0].written_at_ms,
        occurrence_from_ms=_ms(view, "occurrence_from_ms"),
        occurrence_to_ms=_ms(view, "occurrence_to_ms"),
        received_at_ms=_ms(view, "received_at_ms"),
        reported_at_ms=_ms(view, "reported_at_ms"),
        sections=[f"{s.get('act', '')} {s.get('section', '')}" for s in view.get("sections", [])],
        persons=_person_rows(view),
        property_rows=_property_rows(view),
        place=str(view.get("place_of_occurrence", {}).get("description", "")),
        timeline=items,
        checkpoint_ok=proofs.ok,
        checkpoint_size=proofs.checkpoint_size,
        checkpoint_error=proofs.error,
        registered_flash=(
            ref if (registered or request.query_params.get("registered")) and kind == "fir" else ""
        ),
        amended_flash=bool(request.query_params.get("amended")),
        unsealed=unsealed,
        can_amend=kind in ("fir", "ncr") and not took and allowed(officer, "fir.amend"),
        can_pdf=kind == "fir" and not took and allowed(officer, "pdf.fir_copy"),
        problems=amend.problems if amend else [],
        values=amend.values if amend else {"brief_facts": str(view.get("brief_facts", ""))},
        casework=work,
        row_problems=action.row_problems if action else {},  # of a growing form's rows
        ts=(
            transfer_view.transfer_state(request, officer, work.fir_number)
            if work is not None and (took or (fir_view is not None and fir_view.fir_number))
            else None
        ),
    )


@router.get("/case/{ref:path}", response_class=HTMLResponse)
def case_page(request: Request, ref: str, officer: AsFirRead) -> Response:
    return _case_page(request, officer, ref)


def registered_case_page(request: Request, officer: Officer, ref: str) -> Response | None:
    """The answer to an FIR form submitted by htmx (hx-boost): the new case's page itself, with
    its address for htmx to put in the history (`HX-Push-Url`), instead of a redirect the
    browser would follow with a second request. A reload then asks for that address, never the
    form again, as after a redirect. None when the request is not htmx's or the officer may not
    read the case page (the caller redirects, as for a form without script)."""
    if request.headers.get("HX-Boosted") != "true" or not allowed(officer, "fir.read"):
        return None
    page = _case_page(request, officer, ref, registered=True)
    if page.status_code == 200:
        page.headers["HX-Push-Url"] = f"{case_url(ref)}?registered=1"
    return page


@router.post(
    "/case/{ref:path}/amend", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def case_amend(request: Request, ref: str, officer: AsFirAmend) -> Response:
    values = await form(request)
    node = station(request)
    target = parse_ref(ref)
    if await blocking(node.index.lookups.record_index, target) is None:
        return not_found(request, f"no record {target!r} at this station")
    facts = values.get("brief_facts", "")
    try:
        await blocking(
            registers.amend,
            node,
            officer.officer_id,
            target,
            values.get("reason", ""),
            {"brief_facts": facts} if facts else {},
        )
    except InputError as exc:
        refused = Refused(exc.problems, values)
        return await blocking(_case_page, request, officer, ref, amend=refused)
    return redirect(case_url(target), amended="1")


CaseCommand = Callable[[Station, str, str], object]


def _case_command(action: str, values: Mapping[str, str], read: forms.RowsRead) -> CaseCommand:
    """The station command a case action's form asks for, its arguments bound: called with the
    station, the officer id and the FIR number (`node.station.casework`). The forms that grow
    by rows (arrest, seizure, diary, final report) are read by `node.web.case_forms`."""
    problems = read.problems
    if action == "arrest":  # each arrest its own time: the memo's, or the row's
        return partial(casework.arrest_several, arrests=case_forms.arrests(values, read))
    at = forms.local_ms(values.get("at", ""), "time", problems)
    text = values.get("text", "")
    common: dict[str, Any] = {"at_ms": at or None, "text": text}
    if action == "seizure":
        items, mahazar = case_forms.seizure(values, read)
        return partial(casework.seize, items=items, mahazar=mahazar, **common)
    if action == "diary":
        day = case_forms.diary(values, read)
        return partial(casework.write_diary, day=day, text=text)
    if action == "custody":  # one order of the court, on each accused produced
        orders = [
            records_pb2.CaseEvent(kind="custody", text=text, custody=order)
            for order in _custody_orders(values, problems)
        ]
        return partial(casework.record_case_events, asked=orders, at_ms=at or None)
    if action == "movement":  # the items moved together, each its own entry of custody
        moved = [
            records_pb2.CaseEvent(
                kind="property_movement",
                text=text,
                movement=records_pb2.PropertyMovement(
                    item=item,
                    movement=values.get("movement", ""),
                    counterpart=values.get("counterpart", ""),
                    reference=values.get("reference", ""),
                ),
            )
            for item in case_forms.ticked(values, "item_") or [values.get("item", "")]
        ]
        return partial(casework.record_case_events, asked=moved, at_ms=at or None)
    if action == "progress":
        return partial(casework.inform_progress, text=text)
    if action == "disposal":
        judgment = case_forms.disposal(values, read)
        appeal = values.get("appeal", "") == "1"  # an appellate court's result
        return partial(casework.record_disposal, disposal=judgment, text=text, appeal=appeal)
    if action == "mo":
        mo = records_pb2.ModusOperandi(
            accused_codes=values.get("accused_codes", "").replace(",", " ").split(),
            property_taken=[c for c in history_rules.PROPERTY_TAKEN if values.get(f"taken_{c}")],
            note=values.get("note", ""),
            **{name: values.get(name, "") for name in history_rules.MO_SINGLE},
        )
        return partial(casework.record_mo, mo=mo, at_ms=at or None)
    return partial(casework.record_case_event, **_event_args(action, values, read), **common)


def _custody_orders(
    values: Mapping[str, str], problems: list[str]
) -> list[records_pb2.CustodyOrder]:
    """The court's order as the custody form gives it, one per accused ticked ("accused_A2"),
    or the one accused a client names ("accused_code")."""
    codes = case_forms.ticked(values, "accused_") or [values.get("accused_code", "")]
    # A remand "until" a day: from that day's start in India, so the 15 days are never
    # overstated (BNSS s.187(2)).
    until = forms.local_ms(values.get("until", ""), "remand until", problems)
    return [
        records_pb2.CustodyOrder(
            accused_code=code.upper(),
            order=values.get("order", ""),
            court=values.get("court", ""),
            order_reference=values.get("order_reference", ""),
            until_ms=until,
            bail_bond=values.get("bail_bond", ""),
            sureties=case_forms.lines(values.get("sureties", "")),
        )
        for code in codes
    ]


def _event_args(action: str, values: Mapping[str, str], read: forms.RowsRead) -> dict[str, Any]:
    """The arguments of `casework.record_case_event` for the case actions without a command of
    their own (declared wanted and withdrawn, the final report, court progress)."""
    if action in ("wanted", "wanted-withdrawn"):
        # The accused by code only: the station copies the name and relative from the FIR.
        # Several accused on one proclamation or warrant: their codes with spaces ("A1 A3").
        codes = values.get("accused_code", "").replace(",", " ").upper().split() or [""]
        named = [records_pb2.PersonInCase(role=records_pb2.ACCUSED, accused_code=c) for c in codes]
        return {
            "kind": action.replace("-", "_"),
            "persons": named,
            "report_type": values.get("basis", "") if action == "wanted" else "",
            "court": values.get("court", ""),
        }
    if action == "final-report":
        sections, charged = case_forms.final_report(values, read)
        return {
            "kind": "final_report",
            "report_type": values.get("report_type", ""),
            "sections": sections,
            "persons": charged,
        }
    return {
        "kind": "court_progress",
        "court": values.get("court", ""),
        "court_case_number": values.get("court_case_number", ""),
        "next_hearing": values.get("next_hearing", ""),
        "outcome": values.get("outcome", ""),
    }


async def _case_action(request: Request, officer: Officer, ref: str, action: str) -> Response:
    values = await form(request)
    node = station(request)
    target = parse_ref(ref)
    fir = await blocking(node.index.lookups.fir, target)
    took = None if fir is not None else await blocking(transfer_view.taken_over, request, target)
    if took is not None:  # a case this unit took over, by its key
        number = took.case_key
    elif fir is not None:
        number = fir.fir_number or fir.zero_fir_number
    else:
        return not_found(request, f"no FIR {target!r} at this station")
    io = await blocking(casework_index.current_io, node.index, number)
    # Assigning the IO is supervisory: checked on the case with no IO (the SHO, supervisors).
    require(
        officer, CASE_ACTIONS[action], station_facts(request, "" if action == "assign-io" else io)
    )
    read = forms.RowsRead()
    try:
        if action == "assign-io":
            await blocking(
                casework.assign_io,
                node,
                officer.officer_id,
                number,
                values.get("io_officer_id", ""),
                values.get("text", ""),
            )
        else:
            command = _case_command(action, values, read)
            if read.problems:
                raise InputError("; ".join(read.problems), read.problems)
            await blocking(command, node, officer.officer_id, number)
    except InputError as exc:
        refused = Refused(
            exc.problems or [str(exc)], {"action": action, **values}, read.row_problems
        )
        return await blocking(_case_page, request, officer, ref, action=refused)
    return redirect(case_url(number), saved=action)


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
for _action, _rule in CASE_ACTIONS.items():
    _case_route(_action, Depends(officer_required(_rule)))


@router.post(
    "/case/{ref:path}/send-zero",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)],
)
async def case_send_zero(request: Request, ref: str, officer: AsZeroTransfer) -> Response:
    """Sends this Zero FIR to the station with jurisdiction: through the federation when the
    node has one, else by showing the command line that makes the call (TransferZeroFir)."""
    values = await form(request)
    node = station(request)
    target = parse_ref(ref)
    fir = await blocking(node.index.lookups.fir, target)
    if fir is None or not fir.zero_fir:
        return not_found(request, f"no Zero FIR {target!r} at this station")
    to = values.get("to_station", "")
    if not to:
        refused = Refused(
            ["the node id of the station with jurisdiction is required"], {"action": "send-zero"}
        )
        return await blocking(_case_page, request, officer, ref, action=refused)
    command = (
        f"{TRANSFER_COMMAND} {shlex.quote(fir.zero_fir_number)} --to {shlex.quote(to)} "
        f"--officer {shlex.quote(officer.officer_id)}"
    )
    hand_over = context(request).transfer_zero_fir
    if hand_over is None:
        return await blocking(_case_page, request, officer, ref, transfer_command=command)
    # A federated node hands it over now: the receiving station numbers it and both logs record
    # the hand-over; if that station cannot be reached, say so and offer the command.
    try:
        message = await hand_over(fir.zero_fir_number, to, officer.officer_id)
    except CctnsError as exc:
        refused = Refused([f"the hand-over did not complete: {public_message(exc)}"])
        return await blocking(
            _case_page, request, officer, ref, action=refused, transfer_command=command
        )
    return await blocking(_case_page, request, officer, ref, transferred=message)


# -- a petition's page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PetitionActions:
    """The lifecycle actions open to the officer on this petition now."""

    enquire: bool
    permit: bool
    sign: bool
    close: bool
    convert: bool


def _petition_page(
    request: Request,
    officer: Officer,
    number: str,
    refused: Refused | None = None,
) -> Response:
    node = station(request)
    found = casework_index.petition_status(node.index, number) if number.strip() else None
    if found is None:
        return not_found(request, f"no petition {number!r} at this station")
    body = node.ledger.body(found.ledger_index)
    petition = body.petition
    items, proofs = timeline(
        node,
        [found.ledger_index, *casework_index.petition_updates(node.index, found.receipt_number)],
    )
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
    return render(
        request,
        "petition.html",
        status_code=400 if refused else 200,
        petition=petition,
        state=found,
        officer_id=body.officer_id,
        timeline=items,
        checkpoint_ok=proofs.ok,
        checkpoint_size=proofs.checkpoint_size,
        checkpoint_error=proofs.error,
        actions=actions,
        now_ms=now,
        overdue_missing=found in casework_index.overdue_missing_persons(node.index, now=now),
        problems=refused.problems if refused else [],
        values={**prefill, **(refused.values if refused else {})},
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
    """Runs a lifecycle command on the petition `values["number"]`: back to its page, saved,
    or shown again with the problems."""
    number = values.get("number", "")
    try:
        await blocking(command, station(request), officer.officer_id, number, *args, **kwargs)
    except InputError as exc:
        return await _petition_refused(request, officer, values, exc)
    return redirect("/petition", number=number, saved="1")


async def _petition_refused(
    request: Request, officer: Officer, values: Mapping[str, str], exc: InputError
) -> Response:
    """The petition page again (400), with what was typed and why it was refused."""
    refused = Refused(exc.problems or [str(exc)], values)
    return await blocking(_petition_page, request, officer, values.get("number", ""), refused)


@router.post(
    "/petition/enquire", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def petition_enquire(request: Request, officer: AsPetitionEnquire) -> Response:
    values = await form(request)
    return await _petition_command(
        request, officer, values, casework.start_enquiry, values.get("note", "")
    )


@router.post(
    "/petition/permit", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def petition_permit(request: Request, officer: AsEnquiryPermit) -> Response:
    values = await form(request)
    problems: list[str] = []
    cited = forms.sections(values.get("sections", ""), problems)
    if problems:
        return await _petition_refused(request, officer, values, InputError(problems[0], problems))
    return await _petition_command(
        request, officer, values, casework.permit_enquiry, cited, note=values.get("note", "")
    )


@router.post("/petition/sign", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def petition_sign(request: Request, officer: AsPetitionReceive) -> Response:
    values = await form(request)
    return await _petition_command(request, officer, values, casework.sign_efir)


@router.post("/petition/close", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def petition_close(request: Request, officer: AsPetitionClose) -> Response:
    values = await form(request)
    return await _petition_command(
        request, officer, values, casework.close_petition, values.get("reason", "")
    )


def _convert(node: Station, officer: Officer, number: str, values: Mapping[str, str]) -> str:
    """Registers the FIR of the conversion form on petition `number`; its reference."""
    parsed = forms.parse_fir(values)
    if parsed.problems:
        raise InputError("; ".join(parsed.problems), parsed.problems)
    check_fir_recorder(officer, parsed.fir, node.statutes)
    return casework.convert_to_fir(node, officer.officer_id, number, parsed.fir).ref


@router.post(
    "/petition/convert", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def petition_convert(request: Request, officer: AsPetitionConvert) -> Response:
    require(officer, "fir.register")
    values = await form(request)
    try:
        ref = await blocking(_convert, station(request), officer, values.get("number", ""), values)
    except InputError as exc:
        return await _petition_refused(request, officer, values, exc)
    return redirect(case_url(ref), registered="1")
