"""The station's registers: the General Diary, petitions received, the FIR register and the FIR
form (with its section picker), and the FIR copy.

    GET  /gd?date=            the day's General Diary          ("gd.read")
    GET  /gd/new, POST        write a GD entry                  ("gd.write")
    GET  /petitions           petitions received, with their casework status, the e-FIRs
                              awaiting a signature and the missing persons overdue
                                                                ("petition.receive")
    GET  /petitions/new, POST receive a petition               ("petition.receive")
    GET  /petitions/receipt   its acknowledgement               ("petition.receive")
    GET  /fir?year=           the FIR register                  ("fir.read")
    GET  /fir/new, POST       register an FIR                   ("fir.register")
    GET  /fir/sections?q=     the section picker's <option>s    ("fir.register")
    GET  /ncr/new, POST       register a non-cognizable report, with the offence's
                              occurrence (its date decides the law cited) ("fir.register")
    GET  /fir/{ref}/pdf       the FIR copy, proved against the ledger ("pdf.fir_copy")
    GET  /wanted              the register of wanted persons: the accused this station's
                              cases hold wanted now (since when, the case, the basis and
                              grounds)                         ("fir.read")
    GET  /wanted.csv          the same register as CSV              ("fir.read")
    GET  /lockup              the lock-up register: everyone held in the station's cases
                              (at the station awaiting production, remanded), since when,
                              the 24-hour production clock (BNSS s.58) ("fir.read")
    GET  /lockup.csv          the same register as CSV              ("fir.read")
    GET  /property-register   the property ("thondi") register: every seized item, its
                              mahazar, where it is now              ("fir.read")
    GET  /property-register.csv  the same register as CSV           ("fir.read")
    GET  /due                 what the station owes the law now: productions, final reports
                              (bail by default, two months), informants to be told; overdue
                              first (`node.station.investigation.due_now`) ("fir.read")

Every page needs a signed-in officer of this station whose role may do the page's action
(`deps.station_officer`); every POST is CSRF protected. A form that fails validation is shown
again with what was typed and every problem listed; nothing is written then (the station
validates before it appends). Saved forms redirect (303) to a page that says what was saved, so
a reload never writes twice. The station's commands block: async handlers run them in a worker
thread (`deps.blocking`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from ledger.errors import InputError
from ledger.log import now_ms
from node.index import casework as casework_index
from node.index import investigation as held
from node.index import listings
from node.records import casework as casework_rules
from node.records import limits
from node.records.validation import (
    FIRST_YEAR,
    GD_CATEGORIES,
    IST,
    LAST_YEAR,
    PETITION_CHANNELS,
    RELATIONS,
    SEXES,
    format_time,
)
from node.records.withholding import RECORDING_PLACES
from node.station import investigation, registers, views
from node.web import csvout, forms
from node.web.deps import (
    blocking,
    form,
    language,
    not_found,
    redirect,
    render,
    station,
    station_officer,
)
from node.web.pages.cases import registered_case_page
from node.web.pdf import fir_copy_pdf
from node.web.proofs import verify_entries
from node.web.rules import Forbidden, Officer, check_fir_recorder
from node.web.security import csrf_protected
from node.web.urls import case_url, parse_ref
from protos import records_pb2

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# The signed-in officer of this station, when their role may do the action (node.web.rules).
AsFirRead = Annotated[Officer, Depends(station_officer("fir.read"))]
AsFirRegister = Annotated[Officer, Depends(station_officer("fir.register"))]
AsGdRead = Annotated[Officer, Depends(station_officer("gd.read"))]
AsGdWrite = Annotated[Officer, Depends(station_officer("gd.write"))]
AsPdfFirCopy = Annotated[Officer, Depends(station_officer("pdf.fir_copy"))]
AsPetitionReceive = Annotated[Officer, Depends(station_officer("petition.receive"))]

PICKER_LIMIT = 30
# A year or a GD number in a URL: the digits 0-9 only, never more than a year has.
_DIGITS = re.compile(r"[0-9]{1,4}")
_NOT_SAFE_IN_A_FILE_NAME = re.compile(r"[^A-Za-z0-9]+")


# -- General Diary -------------------------------------------------------------------------------


@router.get("/gd", response_class=HTMLResponse)
def gd_register(request: Request, officer: AsGdRead, saved: str = "") -> Response:
    node = station(request)
    wanted = request.query_params.get("date", "").strip() or forms.today()
    problems: list[str] = []
    day = _diary_day(wanted, problems)
    rows = listings.gd_day(node.index, day.isoformat())
    flash = ""
    if _DIGITS.fullmatch(saved) and any(str(r.gd_number) == saved for r in rows):
        flash = f"GD {day.isoformat()}/{saved}"
    return render(
        request,
        "gd_register.html",
        status_code=400 if problems else 200,
        day=day.isoformat(),
        previous_day=(day - timedelta(days=1)).isoformat(),
        next_day=(day + timedelta(days=1)).isoformat(),
        is_today=day.isoformat() == forms.today(),
        rows=rows,
        problems=problems,
        saved_ref=flash,
        latest_day=listings.latest_gd_date(node.index),
    )


def _diary_day(wanted: str, problems: list[str]) -> date:
    """The diary's day asked for (YYYY-MM-DD, within the years a record may name), else today
    with a problem."""
    try:
        day = date.fromisoformat(wanted[: limits.CODE])
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        problems.append(
            f"{limits.clip(wanted, limits.CODE)!r} is not a date (YYYY-MM-DD) between the years "
            f"{FIRST_YEAR} and {LAST_YEAR}"
        )
        return date.fromisoformat(forms.today())
    return day


def _gd_form(request: Request, values: Mapping[str, str], problems: list[str]) -> Response:
    return render(
        request,
        "gd_new.html",
        status_code=400 if problems else 200,
        values=values,
        problems=problems,
        categories=[c for c in GD_CATEGORIES if c != "fir"],
    )


@router.get("/gd/new", response_class=HTMLResponse)
def gd_new_form(request: Request, officer: AsGdWrite) -> Response:
    return _gd_form(request, {"category": "information"}, [])


@router.post("/gd/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def gd_new(request: Request, officer: AsGdWrite) -> Response:
    values = await form(request)
    problems: list[str] = []
    when = forms.local_ms(values.get("entry_time", ""), "time", problems)
    category = values.get("category", "")
    if category == "fir":
        problems.append("FIR entries are written by registering the FIR")
    if problems:
        return _gd_form(request, values, problems)
    try:
        receipt = await blocking(
            registers.write_gd,
            station(request),
            officer.officer_id,
            category,
            values.get("summary", ""),
            entry_time_ms=when or None,
        )
    except InputError as exc:
        return _gd_form(request, values, exc.problems)
    day, _, number = receipt.ref.removeprefix("GD ").partition("/")
    return redirect("/gd", date=day, saved=number)


# -- petitions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PetitionsCasework:
    """What the petitions list shows of casework: each petition's status, and what needs
    attention (e-FIRs awaiting the informant's signature, missing persons not traced)."""

    statuses: Mapping[str, casework_index.PetitionStatus]
    pending_efirs: list[casework_index.PetitionStatus]
    overdue_missing: list[casework_index.PetitionStatus]
    overdue_enquiries: list[casework_index.PetitionStatus]
    now_ms: int
    overdue_days: int = casework_rules.MISSING_OVERDUE_DAYS


@router.get("/petitions", response_class=HTMLResponse)
def petitions_list(request: Request, officer: AsPetitionReceive) -> Response:
    index = station(request).index
    rows = listings.recent_petitions(index)
    now = now_ms()
    casework = PetitionsCasework(
        statuses=casework_index.petition_statuses(index, (r.receipt_number for r in rows)),
        pending_efirs=casework_index.pending_efirs(index),
        overdue_missing=casework_index.overdue_missing_persons(index, now=now),
        overdue_enquiries=casework_index.overdue_enquiries(index, now=now),
        now_ms=now,
    )
    return render(request, "petitions.html", rows=rows, casework=casework)


def _petition_form(request: Request, values: Mapping[str, str], problems: list[str]) -> Response:
    return render(
        request,
        "petition_new.html",
        status_code=400 if problems else 200,
        values=values,
        problems=problems,
        channels=PETITION_CHANNELS,
        relations=RELATIONS,
        sexes=SEXES,
    )


@router.get("/petitions/new", response_class=HTMLResponse)
def petition_new_form(request: Request, officer: AsPetitionReceive) -> Response:
    return _petition_form(request, {"channel": "in person"}, [])


@router.post("/petitions/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def petition_new(request: Request, officer: AsPetitionReceive) -> Response:
    values = await form(request)
    problems: list[str] = []
    petition = records_pb2.Petition(
        petitioner=forms.person(values, "petitioner_", "petitioner", problems),
        subject=values.get("subject", ""),
        details=values.get("details", ""),
        channel=values.get("channel", ""),
    )
    if problems:
        return _petition_form(request, values, problems)
    try:
        receipt = await blocking(
            registers.receive_petition, station(request), officer.officer_id, petition
        )
    except InputError as exc:
        return _petition_form(request, values, exc.problems)
    return redirect("/petitions/receipt", number=receipt.ref)


@router.get("/petitions/receipt", response_class=HTMLResponse)
def petition_receipt(request: Request, officer: AsPetitionReceive, number: str = "") -> Response:
    node = station(request)
    index = node.index.lookups.record_index(number) if number.strip() else None
    if index is None or node.ledger.body(index).WhichOneof("record") != "petition":
        return not_found(request, f"no petition {number!r} at this station")
    body = node.ledger.body(index)
    return render(
        request,
        "petition_receipt.html",
        petition=body.petition,
        officer_id=body.officer_id,
        written_at_ms=body.written_at_ms,
        ledger_index=index,
    )


# -- FIR register and registration ---------------------------------------------------------------


@router.get("/fir", response_class=HTMLResponse)
def fir_list(request: Request, officer: AsFirRead, year: str = "") -> Response:
    index = station(request).index
    this_year = datetime.now(IST).year
    chosen = this_year
    if _DIGITS.fullmatch(year) and FIRST_YEAR <= int(year) <= LAST_YEAR:
        chosen = int(year)
    years = listings.fir_years(index)
    if this_year not in years:
        years = [this_year, *years]
    return render(
        request,
        "fir_list.html",
        year=chosen,
        years=years,
        rows=listings.fir_register(index, chosen),
    )


@router.get("/wanted", response_class=HTMLResponse)
def wanted_register(request: Request, officer: AsFirRead) -> Response:
    """The accused this station's cases hold wanted now, longest wanted first (an arrest in
    the case or a withdrawal takes them off: node/index/casework.py)."""
    rows = casework_index.wanted_persons(station(request).index)
    return render(request, "wanted_list.html", rows=rows)


@router.get("/wanted.csv")
def wanted_register_csv(request: Request, officer: AsFirRead) -> Response:
    """The register of wanted persons as CSV (a header row first)."""
    rows = casework_index.wanted_persons(station(request).index)
    header = [
        "fir_number",
        "accused_code",
        "name",
        "relation",
        "relative_name",
        "wanted_since",
        "basis",
        "court_order",
        "grounds",
        "recorded_by",
    ]
    body = [
        [
            r.fir_number,
            r.accused_code,
            r.name,
            r.relation,
            r.relative_name,
            format_time(r.since_ms),
            r.basis,
            r.court_order,
            r.grounds,
            r.officer_id,
        ]
        for r in rows
    ]
    stamp = datetime.now(IST).strftime("%Y%m%d")
    return csvout.attachment([header, *body], f"wanted-persons-{stamp}.csv")


@router.get("/lockup", response_class=HTMLResponse)
def lockup_register(request: Request, officer: AsFirRead) -> Response:
    """Everyone held in this station's cases now, longest held first, with the production
    clock (24 hours from the arrest, BNSS s.58) and an overdue mark past it."""
    rows = held.lockup_register(station(request).index)
    return render(request, "lockup.html", rows=rows, now_ms=now_ms())


@router.get("/lockup.csv")
def lockup_register_csv(request: Request, officer: AsFirRead) -> Response:
    """The lock-up register as CSV (a header row first)."""
    now = now_ms()
    rows = held.lockup_register(station(request).index)
    header = [
        "fir_number",
        "accused_code",
        "name",
        "arrested_at",
        "status",
        "production_due",
        "production_overdue",
        "produced_at",
        "court",
        "remand_until",
        "memo_complete",
    ]
    body = [
        [
            r.fir_number,
            r.accused_code,
            r.name,
            format_time(r.arrested_at_ms),
            r.status,
            format_time(r.production_due_ms) if r.awaiting_production else "",
            "yes" if r.production_overdue(now) else "no",
            format_time(r.produced_at_ms) if r.produced_at_ms else "",
            r.court,
            format_time(r.remand_until_ms) if r.remand_until_ms else "",
            "yes" if r.memo_complete else "no",
        ]
        for r in rows
    ]
    stamp = datetime.now(IST).strftime("%Y%m%d")
    return csvout.attachment([header, *body], f"lockup-register-{stamp}.csv")


@router.get("/property-register", response_class=HTMLResponse)
def property_register(request: Request, officer: AsFirRead) -> Response:
    """Every item seized in this station's cases, in order of seizure, and where it is now."""
    rows = held.property_register(station(request).index)
    return render(request, "property_register.html", rows=rows)


@router.get("/property-register.csv")
def property_register_csv(request: Request, officer: AsFirRead) -> Response:
    """The property register as CSV (a header row first)."""
    rows = held.property_register(station(request).index)
    header = [
        "item",
        "fir_number",
        "category",
        "description",
        "identifiers",
        "value_inr",
        "seized_at",
        "seized_place",
        "witnesses",
        "video_reference",
        "location",
        "counterpart",
    ]
    body = [
        [
            r.item_ref,
            r.fir_number,
            r.category,
            r.description,
            r.identifiers,
            r.value_inr,
            format_time(r.seized_at_ms),
            r.seized_place,
            r.witnesses,
            r.video_reference,
            r.location,
            r.counterpart,
        ]
        for r in rows
    ]
    stamp = datetime.now(IST).strftime("%Y%m%d")
    return csvout.attachment([header, *body], f"property-register-{stamp}.csv")


@router.get("/due", response_class=HTMLResponse)
def due_list(request: Request, officer: AsFirRead) -> Response:
    """What is overdue, and what falls due within the week, overdue first."""
    rows = investigation.due_now(station(request))
    return render(request, "due.html", rows=rows)


@router.get("/fir/sections", response_class=HTMLResponse)
def fir_sections(request: Request, officer: AsFirRegister) -> Response:
    """<option>s for the section picker's <datalist> (htmx fills it while the officer types)."""
    params = request.query_params
    text = params.get("q") or next(
        (v for k, v in params.multi_items() if k.startswith("section") and v.strip()), ""
    )
    text = text[: limits.text("SearchRequest.query")]
    found = station(request).statutes.search(text)[:PICKER_LIMIT] if text.strip() else []
    options = "".join(
        f'<option value="{escape(s.citation)}">{escape(s.citation)} · {escape(s.title)}</option>'
        for s in found
    )
    return HTMLResponse(options)


def fir_form_page(
    request: Request,
    values: Mapping[str, str],
    problems: list[str],
    status: int = 200,
    row_problems: Mapping[str, list[str]] | None = None,
) -> Response:
    """The FIR form, with what was typed (every row of every kind, at least one of each, so the
    form works without JavaScript) and the problems found, those of a row beside it too."""
    rows = {kind: indexes or [0] for kind, indexes in forms.row_indexes(values).items()}
    return render(
        request,
        "fir_new.html",
        status_code=status if not problems or status != 200 else 400,
        values=values,
        problems=problems,
        row_problems=row_problems or {},
        section_rows=range(forms.SECTION_ROWS),
        accused_rows=rows["accused"],
        victim_rows=rows["victim"],
        witness_rows=rows["witness"],
        property_rows=rows["property"],
        max_persons=forms.MAX_PERSONS,
        max_property=forms.MAX_PROPERTY,
        relations=RELATIONS,
        sexes=SEXES,
        information_types=forms.INFORMATION_TYPES,
        property_statuses=forms.PROPERTY_STATUSES,
        recording_places=RECORDING_PLACES,
    )


@router.get("/fir/new", response_class=HTMLResponse)
def fir_new_form(request: Request, officer: AsFirRegister) -> Response:
    return fir_form_page(request, {"information_type": "oral"}, [])


@router.post("/fir/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def fir_new(request: Request, officer: AsFirRegister) -> Response:
    values = await form(request)
    node = station(request)
    parsed = forms.parse_fir(values)
    if parsed.problems:
        return fir_form_page(request, values, parsed.problems, row_problems=parsed.row_problems)
    try:
        check_fir_recorder(officer, parsed.fir, node.statutes)
    except Forbidden as exc:
        return fir_form_page(request, values, [str(exc)], status=403)
    try:
        receipt = await blocking(registers.register_fir, node, officer.officer_id, parsed.fir)
    except InputError as exc:
        return fir_form_page(request, values, exc.problems)
    shown = await blocking(registered_case_page, request, officer, receipt.ref)
    return shown or redirect(case_url(receipt.ref), registered="1")


# -- non-cognizable reports ----------------------------------------------------------------------


def _ncr_form(
    request: Request, values: Mapping[str, str], problems: list[str], status: int = 200
) -> Response:
    return render(
        request,
        "ncr_new.html",
        status_code=400 if problems else status,
        values=values,
        problems=problems,
        relations=RELATIONS,
        sexes=SEXES,
    )


def parse_ncr(values: Mapping[str, str], problems: list[str]) -> records_pb2.NonCognizableReport:
    """The NCR form as a report: the informant, the sections, when the offence occurred, the
    facts. The station numbers it and checks the law against the occurrence's date."""
    return records_pb2.NonCognizableReport(
        informant=forms.person(values, "informant_", "informant", problems),
        sections=forms.sections(values.get("sections", ""), problems),
        brief_facts=values.get("brief_facts", "").strip(),
        occurrence_from_ms=forms.local_ms(
            values.get("occurrence_from", ""), "occurrence from", problems
        ),
        occurrence_to_ms=forms.local_ms(values.get("occurrence_to", ""), "occurrence to", problems),
    )


@router.get("/ncr/new", response_class=HTMLResponse)
def ncr_new_form(request: Request, officer: AsFirRegister) -> Response:
    return _ncr_form(request, {}, [])


@router.post("/ncr/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def ncr_new(request: Request, officer: AsFirRegister) -> Response:
    values = await form(request)
    problems: list[str] = []
    ncr = parse_ncr(values, problems)
    if problems:
        return _ncr_form(request, values, problems)
    try:
        receipt = await blocking(registers.register_ncr, station(request), officer.officer_id, ncr)
    except InputError as exc:
        return _ncr_form(request, values, exc.problems or [str(exc)])
    return redirect(case_url(receipt.ref), registered="1")


@router.get("/fir/{number:path}/pdf")
def fir_pdf(request: Request, officer: AsPdfFirCopy, number: str) -> Response:
    node = station(request)
    ref = parse_ref(number)
    index = node.index.lookups.record_index(ref)
    if index is None or node.ledger.body(index).WhichOneof("record") != "fir":
        return not_found(request, f"no FIR {ref!r} at this station")
    view = views.current_view(node, ref)
    history = views.history(node, ref)
    proofs = verify_entries(node, [h.index for h in history])
    if proofs.ok and proofs.entries and all(p.ok for p in proofs.entries.values()):
        verified = (
            f"Ledger entry {history[0].index} of {node.config.origin}"
            + (f" (and {len(history) - 1} amendment(s))" if len(history) > 1 else "")
            + f", verified against the signed checkpoint of {proofs.checkpoint_size} entries"
        )
    else:
        verified = f"NOT VERIFIED: {proofs.error or 'an entry did not verify'}"
    pdf = fir_copy_pdf(
        view,
        station_name=node.config.station,
        district=node.config.district,
        lang=language(request),
        verified=verified,
    )
    number_text = view.get("fir_number") or view.get("zero_fir_number") or ref
    filename = _NOT_SAFE_IN_A_FILE_NAME.sub("-", str(number_text)).strip("-") + ".pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
