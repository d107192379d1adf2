"""The station staff's pages: General Diary, petitions, FIRs, the case page and search.

Every page needs a signed-in officer whose role may do the page's action and whose jurisdiction
covers this station (`station_officer`); every POST is CSRF protected. A form
that fails validation is shown again with what was typed and every problem listed; nothing is
written then (the station validates before it appends). Saved forms redirect (303) to a page
that says what was saved, so a reload never writes twice.

The station's commands block (RocksDB, the index): async handlers run them in a worker thread.
The case page proves each entry it shows against the node's latest signed checkpoint.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from ledger.errors import CctnsError, InputError
from ledger.proof import verify_entry, verify_log_checkpoint
from node.index import listings
from node.records.laws import Statutes
from node.records.validation import GD_CATEGORIES, IST, PETITION_CHANNELS, RELATIONS, SEXES, utc_ms
from node.station import registers, transfer, views
from node.station.core import Station
from node.web.app import language
from node.web.rules import (
    STATION_ROLES,
    CaseFacts,
    Forbidden,
    Officer,
    allowed,
    check_fir_recorder,
    covers,
    require,
)
from node.web.security import csrf_protected, officer_required
from protos import ledger_pb2, records_pb2

__all__ = ["case_url", "parse_ref", "router"]

router = APIRouter(include_in_schema=False)

T = TypeVar("T")


def station_officer(action: str) -> Callable[[Request], Officer]:
    """A FastAPI dependency: the signed-in officer, if their role may do `action` and this
    station lies within their jurisdiction (another station's officer is refused, 403)."""
    base = officer_required(action)

    def dependency(request: Request) -> Officer:
        officer = base(request)
        _check_case(officer, _station(request), action)
        return officer

    return dependency


# The signed-in officer of this station, when their role may do the action (node.web.rules).
AsFirAmend = Annotated[Officer, Depends(station_officer("fir.amend"))]
AsFirRead = Annotated[Officer, Depends(station_officer("fir.read"))]
AsFirRegister = Annotated[Officer, Depends(station_officer("fir.register"))]
AsGdRead = Annotated[Officer, Depends(station_officer("gd.read"))]
AsGdWrite = Annotated[Officer, Depends(station_officer("gd.write"))]
AsPdfFirCopy = Annotated[Officer, Depends(station_officer("pdf.fir_copy"))]
AsPetitionReceive = Annotated[Officer, Depends(station_officer("petition.receive"))]

SEARCH_KINDS = ("person", "vehicle", "property", "case")
SEARCH_SCOPES = ("local", "federation")
INFORMATION_TYPES = ("oral", "written", "electronic")
PROPERTY_STATUSES = ("stolen", "recovered", "seized", "unclaimed", "lost")
# Fixed rows of the FIR form (a station's FIR seldom lists more; amendments add later).
SECTION_ROWS = 5
ACCUSED_ROWS = 3
VICTIM_ROWS = 2
WITNESS_ROWS = 2
PROPERTY_ROWS = 2
PICKER_LIMIT = 30
_FIR_SLUG = re.compile(r"^\s*(\d+)-(\d{4})\s*$")
_ZERO_SLUG = re.compile(r"^\s*zero-(\d+)-(\d{4})\s*$", re.IGNORECASE)
_FIR_REF = re.compile(r"^FIR No\. (\d+)/(\d{4})$")
_ZERO_REF = re.compile(r"^ZERO FIR (\d+)/(\d{4})$")
_CITATION = re.compile(r"^\s*([A-Za-z][A-Za-z_-]*)\s*[: ]\s*(?:u/s\s*|s\.\s*)?(\S.*?)\s*$")


# -- references and URLs -------------------------------------------------------------------------


def parse_ref(text: str) -> str:
    """A record reference from a URL: "12-2026" -> "FIR No. 12/2026", "zero-3-2026" ->
    "ZERO FIR 3/2026"; anything else as given ("FIR No. 12/2026", "PET/2026/000001")."""
    fir = _FIR_SLUG.match(text)
    if fir:
        return f"FIR No. {int(fir[1])}/{fir[2]}"
    zero = _ZERO_SLUG.match(text)
    if zero:
        return f"ZERO FIR {int(zero[1])}/{zero[2]}"
    return text.strip()


def ref_slug(ref: str) -> str:
    """The URL form of a reference: "FIR No. 12/2026" -> "12-2026", others percent-encoded."""
    fir = _FIR_REF.match(ref)
    if fir:
        return f"{fir[1]}-{fir[2]}"
    zero = _ZERO_REF.match(ref)
    if zero:
        return f"zero-{zero[1]}-{zero[2]}"
    return quote(ref, safe="")


def case_url(ref: str) -> str:
    """The case page of a record."""
    return f"/case/{ref_slug(ref)}"


def pdf_url(ref: str) -> str:
    """The FIR copy (PDF) of an FIR or Zero FIR."""
    return f"/fir/{ref_slug(ref)}/pdf"


# -- helpers -------------------------------------------------------------------------------------


def _station(request: Request) -> Station:
    station: Station = request.app.state.station
    return station


def _render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    render: Callable[..., HTMLResponse] = request.app.state.render
    return render(
        request,
        template,
        status_code=status_code,
        case_url=case_url,
        pdf_url=pdf_url,
        **values,
    )


def _not_found(request: Request, message: str) -> Response:
    render: Callable[..., HTMLResponse] = request.app.state.render
    return render(request, "error.html", status_code=404, status=404, message=message)


def _redirect(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _values(form: FormData) -> dict[str, str]:
    """The text fields of a submitted form (the last value of a repeated name wins)."""
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"}


def _today() -> str:
    return datetime.now(IST).date().isoformat()


def _local_ms(text: str, what: str, problems: list[str]) -> int:
    """Milliseconds of a datetime-local value ("2026-11-28T14:05", read as IST); 0 if empty."""
    text = text.strip()
    if not text:
        return 0
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{what}: {text!r} is not a date and time")
        return 0
    return utc_ms(moment)


def _age(text: str, what: str, problems: list[str]) -> int:
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        problems.append(f"{what}: age must be a number of years")
        return 0
    return int(text)


def _rupees(text: str, what: str, problems: list[str]) -> int:
    text = text.replace(",", "").strip()
    if not text:
        return 0
    if not text.isdigit():
        problems.append(f"{what}: value must be a whole number of rupees")
        return 0
    return int(text)


def _check_case(officer: Officer, station: Station, action: str) -> None:
    """Case-level rules for a record of this station (jurisdiction)."""
    require(officer, action, CaseFacts(station_node_id=station.config.node_id, io_officer_id=""))


def _may_unseal(officer: Officer, station: Station) -> bool:
    """Sealed identities are shown in clear only to this station's own officers."""
    return (
        officer.role in STATION_ROLES
        and covers(officer, station.config.node_id)
        and allowed(officer, "fir.read")
    )


async def _blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(fn, *args, **kwargs)


# -- General Diary -------------------------------------------------------------------------------


@router.get("/gd", response_class=HTMLResponse)
def gd_register(
    request: Request,
    officer: AsGdRead,
    saved: str = "",
) -> Response:
    station = _station(request)
    wanted = request.query_params.get("date", "").strip() or _today()
    problems: list[str] = []
    try:
        day = date.fromisoformat(wanted)
    except ValueError:
        problems.append(f"{wanted!r} is not a date (YYYY-MM-DD)")
        day = date.fromisoformat(_today())
    rows = listings.gd_day(station.index, day.isoformat())
    flash = ""
    if saved.isdigit() and any(r.gd_number == int(saved) for r in rows):
        flash = f"GD {day.isoformat()}/{int(saved)}"
    return _render(
        request,
        "gd_register.html",
        status_code=400 if problems else 200,
        day=day.isoformat(),
        previous_day=(day - timedelta(days=1)).isoformat(),
        next_day=(day + timedelta(days=1)).isoformat(),
        is_today=day.isoformat() == _today(),
        rows=rows,
        problems=problems,
        saved_ref=flash,
        latest_day=listings.latest_gd_date(station.index),
    )


def _gd_form(request: Request, values: Mapping[str, str], problems: list[str]) -> Response:
    return _render(
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
    values = _values(await request.form())
    problems: list[str] = []
    when = _local_ms(values.get("entry_time", ""), "time", problems)
    category = values.get("category", "")
    if category == "fir":
        problems.append("FIR entries are written by registering the FIR")
    if problems:
        return _gd_form(request, values, problems)
    station = _station(request)
    try:
        receipt = await _blocking(
            registers.write_gd,
            station,
            officer.officer_id,
            category,
            values.get("summary", "").strip(),
            entry_time_ms=when or None,
        )
    except InputError as exc:
        return _gd_form(request, values, exc.problems)
    day, _, number = receipt.ref.removeprefix("GD ").partition("/")
    return _redirect("/gd", date=day, saved=number)


# -- petitions -----------------------------------------------------------------------------------


@router.get("/petitions", response_class=HTMLResponse)
def petitions_list(request: Request, officer: AsPetitionReceive) -> Response:
    rows = listings.recent_petitions(_station(request).index)
    return _render(request, "petitions.html", rows=rows)


def _petition_form(request: Request, values: Mapping[str, str], problems: list[str]) -> Response:
    return _render(
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


def _person(values: Mapping[str, str], prefix: str, what: str, problems: list[str]) -> Any:
    """A Person from the form fields `<prefix>name`, `<prefix>age`, ..."""
    return records_pb2.Person(
        name=values.get(prefix + "name", "").strip(),
        relation=values.get(prefix + "relation", "").strip(),
        relative_name=values.get(prefix + "relative_name", "").strip(),
        age=_age(values.get(prefix + "age", ""), what, problems),
        sex=values.get(prefix + "sex", "").strip(),
        address=values.get(prefix + "address", "").strip(),
        mobile=values.get(prefix + "mobile", "").strip(),
    )


@router.post("/petitions/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def petition_new(request: Request, officer: AsPetitionReceive) -> Response:
    values = _values(await request.form())
    problems: list[str] = []
    petition = records_pb2.Petition(
        petitioner=_person(values, "petitioner_", "petitioner", problems),
        subject=values.get("subject", "").strip(),
        details=values.get("details", "").strip(),
        channel=values.get("channel", "").strip(),
    )
    if problems:
        return _petition_form(request, values, problems)
    try:
        receipt = await _blocking(
            registers.receive_petition, _station(request), officer.officer_id, petition
        )
    except InputError as exc:
        return _petition_form(request, values, exc.problems)
    return _redirect("/petitions/receipt", number=receipt.ref)


@router.get("/petitions/receipt", response_class=HTMLResponse)
def petition_receipt(
    request: Request,
    officer: AsPetitionReceive,
    number: str = "",
) -> Response:
    station = _station(request)
    index = station.index.lookups.record_index(number) if number.strip() else None
    if index is None or station.ledger.body(index).WhichOneof("record") != "petition":
        return _not_found(request, f"no petition {number!r} at this station")
    body = station.ledger.body(index)
    return _render(
        request,
        "petition_receipt.html",
        petition=body.petition,
        officer_id=body.officer_id,
        written_at_ms=body.written_at_ms,
        ledger_index=index,
    )


# -- FIR register and registration ---------------------------------------------------------------


@router.get("/fir", response_class=HTMLResponse)
def fir_list(
    request: Request,
    officer: AsFirRead,
    year: str = "",
) -> Response:
    station = _station(request)
    this_year = datetime.now(IST).year
    chosen = int(year) if year.isdigit() and 1900 < int(year) < 3000 else this_year
    years = listings.fir_years(station.index)
    if this_year not in years:
        years = [this_year, *years]
    return _render(
        request,
        "fir_list.html",
        year=chosen,
        years=years,
        rows=listings.fir_register(station.index, chosen),
    )


@router.get("/fir/sections", response_class=HTMLResponse)
def fir_sections(request: Request, officer: AsFirRegister) -> Response:
    """<option>s for the section picker's <datalist> (htmx fills it while the officer types)."""
    params = request.query_params
    text = params.get("q") or next(
        (v for k, v in params.multi_items() if k.startswith("section") and v.strip()), ""
    )
    statutes: Statutes = _station(request).statutes
    found = statutes.search(text)[:PICKER_LIMIT] if len(text.strip()) >= 1 else []
    options = "".join(
        f'<option value="{escape(s.citation)}">{escape(s.citation)} · {escape(s.title)}</option>'
        for s in found
    )
    return HTMLResponse(options)


@dataclass(slots=True)
class _FirForm:
    fir: records_pb2.Fir
    problems: list[str] = field(default_factory=list)
    sexual_offence: bool = False
    victim_sex: str = ""


def _section_citation(text: str, problems: list[str]) -> records_pb2.ActSection | None:
    text = text.strip()
    if not text:
        return None
    match = _CITATION.match(text)
    if match is None:
        problems.append(f"section {text!r}: write the act and the section, e.g. BNS 303(2)")
        return None
    return records_pb2.ActSection(act=match[1].upper(), section=match[2].strip())


def _parse_fir(values: Mapping[str, str], statutes: Statutes) -> _FirForm:
    problems: list[str] = []
    fir = records_pb2.Fir(
        occurrence_from_ms=_local_ms(
            values.get("occurrence_from", ""), "occurrence from", problems
        ),
        occurrence_to_ms=_local_ms(values.get("occurrence_to", ""), "occurrence to", problems),
        place_of_occurrence=records_pb2.Place(description=values.get("place", "").strip()),
        brief_facts=values.get("brief_facts", "").strip(),
        information_type=values.get("information_type", "").strip(),
        zero_fir=values.get("zero_fir") == "on",
        jurisdiction_station=values.get("jurisdiction_station", "").strip(),
    )
    for row in range(SECTION_ROWS):
        cited = _section_citation(values.get(f"section_{row}", ""), problems)
        if cited is not None:
            fir.sections.append(cited)
    complainant = _person(values, "complainant_", "complainant", problems)
    if any(v.strip() for k, v in values.items() if k.startswith("complainant_")):
        fir.persons.append(
            records_pb2.PersonInCase(person=complainant, role=records_pb2.COMPLAINANT)
        )
    for row in range(ACCUSED_ROWS):
        prefix = f"accused_{row}_"
        name = values.get(prefix + "name", "").strip()
        unknown = values.get(prefix + "unknown") == "on" or name.lower() == "unknown"
        if unknown:
            fir.persons.append(records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True))
        elif name:
            fir.persons.append(
                records_pb2.PersonInCase(
                    person=_person(values, prefix, f"accused {row + 1}", problems),
                    role=records_pb2.ACCUSED,
                )
            )
    for role, rows, label in (
        (records_pb2.VICTIM, VICTIM_ROWS, "victim"),
        (records_pb2.WITNESS, WITNESS_ROWS, "witness"),
    ):
        for row in range(rows):
            prefix = f"{label}_{row}_"
            if values.get(prefix + "name", "").strip():
                fir.persons.append(
                    records_pb2.PersonInCase(
                        person=_person(values, prefix, f"{label} {row + 1}", problems), role=role
                    )
                )
    for row in range(PROPERTY_ROWS):
        prefix = f"property_{row}_"
        item = _property(values, prefix, f"property item {row + 1}", problems)
        if item is not None:
            fir.property.append(item)
    sexual = any(
        statutes.is_known(s.act, s.section) and statutes.section(s.act, s.section).identity_withheld
        for s in fir.sections
    )
    female_victim = any(p.role == records_pb2.VICTIM and p.person.sex == "F" for p in fir.persons)
    return _FirForm(fir, problems, sexual, "F" if female_victim else "")


def _property(
    values: Mapping[str, str], prefix: str, what: str, problems: list[str]
) -> records_pb2.PropertyItem | None:
    fields = ("category", "description", "status", "value", "registration", "engine", "chassis")
    given = {k: values.get(prefix + k, "").strip() for k in fields}
    if not any(v for k, v in given.items() if k != "status"):
        return None
    status = given["status"].upper()
    item = records_pb2.PropertyItem(
        category=given["category"].lower(),
        description=given["description"],
        status=records_pb2.PropertyStatus.Value(status) if status in _STATUS_NAMES else 0,  # type: ignore[arg-type]
        value_inr=_rupees(given["value"], what, problems),
    )
    if given["registration"] or given["engine"] or given["chassis"]:
        item.vehicle.CopyFrom(
            records_pb2.Vehicle(
                registration=given["registration"],
                engine_number=given["engine"],
                chassis_number=given["chassis"],
            )
        )
        if not item.category:
            item.category = "vehicle"
    return item


_STATUS_NAMES = frozenset(s.upper() for s in PROPERTY_STATUSES)


def _fir_form(
    request: Request, values: Mapping[str, str], problems: list[str], status: int = 200
) -> Response:
    return _render(
        request,
        "fir_new.html",
        status_code=status if not problems or status != 200 else 400,
        values=values,
        problems=problems,
        section_rows=range(SECTION_ROWS),
        accused_rows=range(ACCUSED_ROWS),
        victim_rows=range(VICTIM_ROWS),
        witness_rows=range(WITNESS_ROWS),
        property_rows=range(PROPERTY_ROWS),
        relations=RELATIONS,
        sexes=SEXES,
        information_types=INFORMATION_TYPES,
        property_statuses=PROPERTY_STATUSES,
    )


@router.get("/fir/new", response_class=HTMLResponse)
def fir_new_form(request: Request, officer: AsFirRegister) -> Response:
    return _fir_form(request, {"information_type": "oral"}, [])


@router.post("/fir/new", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)])
async def fir_new(request: Request, officer: AsFirRegister) -> Response:
    values = _values(await request.form())
    station = _station(request)
    form = _parse_fir(values, station.statutes)
    if form.problems:
        return _fir_form(request, values, form.problems)
    try:
        check_fir_recorder(officer, sexual_offence=form.sexual_offence, victim_sex=form.victim_sex)
    except Forbidden as exc:
        return _fir_form(request, values, [str(exc)], status=403)
    try:
        receipt = await _blocking(registers.register_fir, station, officer.officer_id, form.fir)
    except InputError as exc:
        return _fir_form(request, values, exc.problems)
    return _redirect(case_url(receipt.ref), registered="1")


@router.get("/fir/{number:path}/pdf")
def fir_pdf(
    request: Request,
    officer: AsPdfFirCopy,
    number: str,
) -> Response:
    from node.web.pdf import fir_copy_pdf

    station = _station(request)
    ref = parse_ref(number)
    index = station.index.lookups.record_index(ref)
    if index is None or station.ledger.body(index).WhichOneof("record") != "fir":
        return _not_found(request, f"no FIR {ref!r} at this station")
    _check_case(officer, station, "pdf.fir_copy")
    view = views.current_view(station, ref)
    history = views.history(station, ref)
    proofs = verify_entries(station, [h.index for h in history])
    if proofs.ok and proofs.entries and all(p.ok for p in proofs.entries.values()):
        verified = (
            f"Ledger entry {history[0].index} of {station.config.origin}"
            + (f" (and {len(history) - 1} amendment(s))" if len(history) > 1 else "")
            + f", verified against the signed checkpoint of {proofs.checkpoint_size} entries"
        )
    else:
        verified = f"NOT VERIFIED: {proofs.error or 'an entry did not verify'}"
    pdf = fir_copy_pdf(
        view,
        station_name=station.config.station,
        district=station.config.district,
        lang=language(request),
        verified=verified,
    )
    number_text = view.get("fir_number") or view.get("zero_fir_number") or ref
    filename = re.sub(r"[^A-Za-z0-9]+", "-", str(number_text)).strip("-") + ".pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


# -- ledger proofs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryProof:
    """Whether one ledger entry verified against the checkpoint."""

    index: int
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class Proofs:
    """The signed checkpoint checked, and each entry's inclusion in it."""

    ok: bool  # the checkpoint note verified
    checkpoint_size: int
    entries: dict[int, EntryProof]
    error: str = ""


def verify_entries(station: Station, indexes: Iterable[int]) -> Proofs:
    """Checks the latest signed checkpoint with the node's public key, then each entry's
    signature and its inclusion proof against that checkpoint's root."""
    ledger = station.ledger
    wanted = sorted(set(indexes))
    try:
        checkpoint = verify_log_checkpoint(
            ledger.checkpoint(), public_key=ledger.public_key, origin=ledger.origin
        )
    except CctnsError as exc:
        failed = {i: EntryProof(i, False, str(exc)) for i in wanted}
        return Proofs(False, 0, failed, str(exc))
    entries: dict[int, EntryProof] = {}
    for index in wanted:
        try:
            verify_entry(
                ledger.leaf(index),
                index,
                ledger.inclusion_proof(index, checkpoint.size),
                checkpoint,
                public_key=ledger.public_key,
                origin=ledger.origin,
            )
        except CctnsError as exc:
            entries[index] = EntryProof(index, False, str(exc))
        else:
            entries[index] = EntryProof(index, True)
    return Proofs(True, checkpoint.size, entries)


# -- the case page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One entry appended to the case, with its proof."""

    index: int
    kind: str
    officer_id: str
    written_at_ms: int
    title: str
    detail: str
    verified: bool
    error: str


def _describe(body: ledger_pb2.EntryBody) -> tuple[str, str, str]:
    """(kind, title, detail) of an entry for the timeline."""
    kind = body.WhichOneof("record") or ""
    if kind == "fir":
        fir = body.fir
        sections = ", ".join(f"{s.act} {s.section}" for s in fir.sections)
        number = fir.fir_number or fir.zero_fir_number
        return kind, number, f"u/s {sections}" if sections else ""
    if kind == "amendment":
        amendment = body.amendment
        try:
            changes = json.loads(amendment.changes_json or "{}")
        except ValueError:
            changes = {}
        changed = ", ".join(sorted(changes)) if isinstance(changes, dict) else ""
        return kind, amendment.reason, changed
    if kind == "general_diary":
        gd = body.general_diary
        return kind, f"GD {gd.gd_date}/{gd.gd_number} ({gd.category})", gd.summary
    if kind == "zero_fir_transfer":
        zt = body.zero_fir_transfer
        detail = zt.to_station + (f" → {zt.assigned_fir_number}" if zt.assigned_fir_number else "")
        return kind, f"{zt.zero_fir_number}: {zt.direction}", detail
    if kind == "petition":
        return kind, body.petition.receipt_number, body.petition.subject
    if kind == "ncr":
        return kind, body.ncr.ncr_number, ""
    if kind == "disclosure":
        return kind, body.disclosure.record_ref, body.disclosure.authority
    return kind, kind, ""


def _timeline_indexes(station: Station, ref: str, view: Mapping[str, Any]) -> list[int]:
    indexes = [item.index for item in views.history(station, ref)]
    gd_reference = str(view.get("gd_reference", ""))
    if gd_reference:
        gd_index = station.index.lookups.record_index("GD " + gd_reference)
        if gd_index is not None:
            indexes.append(gd_index)
    zero_number = str(view.get("zero_fir_number", ""))
    if zero_number:
        try:
            status = transfer.zero_fir_status(station, zero_number)
        except InputError:
            status = {}
        indexes.extend(int(i) for i in status.get("entries", []))
    return sorted(set(indexes))


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
                withheld=bool(commitment) and not person.get("identity_sealed"),
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


def _case_page(
    request: Request,
    officer: Officer,
    ref_text: str,
    *,
    problems: list[str] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    station = _station(request)
    ref = parse_ref(ref_text)
    index = station.index.lookups.record_index(ref)
    if index is None:
        return _not_found(request, f"no record {ref!r} at this station")
    _check_case(officer, station, "fir.read")
    history = views.history(station, ref)
    ref = _record_ref(station, history[0].index) or ref
    unsealed = _may_unseal(officer, station)
    view = views.unsealed_view(station, ref) if unsealed else views.current_view(station, ref)
    indexes = _timeline_indexes(station, ref, view)
    proofs = verify_entries(station, indexes)
    timeline = []
    for position in indexes:
        body = station.ledger.body(position)
        kind, title, detail = _describe(body)
        proof = proofs.entries[position]
        timeline.append(
            TimelineItem(
                index=position,
                kind=kind,
                officer_id=body.officer_id,
                written_at_ms=body.written_at_ms,
                title=title,
                detail=detail,
                verified=proofs.ok and proof.ok,
                error=proof.error,
            )
        )
    kind = history[0].kind
    fir_view = station.index.lookups.fir(ref) if kind == "fir" else None
    flash = ""
    if request.query_params.get("registered") and kind == "fir":
        flash = ref
    can_amend = kind in ("fir", "ncr") and allowed(officer, "fir.amend")
    return _render(
        request,
        "case.html",
        status_code=400 if problems else 200,
        ref=ref,
        kind=kind,
        view=view,
        status=fir_view.status if fir_view else str(view.get("status", "")),
        crime_head=str(view.get("crime_head", "")),
        registered_at_ms=_ms(view, "registered_at_ms") or history[0].written_at_ms,
        occurrence_from_ms=_ms(view, "occurrence_from_ms"),
        occurrence_to_ms=_ms(view, "occurrence_to_ms"),
        received_at_ms=_ms(view, "received_at_ms"),
        sections=[f"{s.get('act', '')} {s.get('section', '')}" for s in view.get("sections", [])],
        persons=_person_rows(view),
        property_rows=_property_rows(view),
        place=str(view.get("place_of_occurrence", {}).get("description", "")),
        timeline=timeline,
        checkpoint_ok=proofs.ok,
        checkpoint_size=proofs.checkpoint_size,
        checkpoint_error=proofs.error,
        registered_flash=flash,
        amended_flash=bool(request.query_params.get("amended")),
        unsealed=unsealed,
        can_amend=can_amend,
        can_pdf=kind == "fir" and allowed(officer, "pdf.fir_copy"),
        problems=problems or [],
        values=values or {"brief_facts": str(view.get("brief_facts", ""))},
    )


def _record_ref(station: Station, index: int) -> str:
    from node.records.refs import record_ref

    return record_ref(station.ledger.body(index))


@router.get("/case/{ref:path}", response_class=HTMLResponse)
def case_page(request: Request, ref: str, officer: AsFirRead) -> Response:
    return _case_page(request, officer, ref)


@router.post(
    "/case/{ref:path}/amend", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def case_amend(request: Request, ref: str, officer: AsFirAmend) -> Response:
    values = _values(await request.form())
    station = _station(request)
    target = parse_ref(ref)
    if await _blocking(station.index.lookups.record_index, target) is None:
        return _not_found(request, f"no record {target!r} at this station")
    _check_case(officer, station, "fir.amend")
    changes: dict[str, Any] = {}
    facts = values.get("brief_facts", "").strip()
    if facts:
        changes["brief_facts"] = facts
    try:
        await _blocking(
            registers.amend,
            station,
            officer.officer_id,
            target,
            values.get("reason", "").strip(),
            changes,
        )
    except InputError as exc:
        return await run_in_threadpool(
            _case_page, request, officer, ref, problems=exc.problems, values=values
        )
    return _redirect(case_url(target), amended="1")


# -- search --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalHit:
    """One local search result, whatever was searched."""

    ref: str
    title: str
    detail: str
    extra: str = ""


def _local_search(station: Station, kind: str, query: str) -> list[LocalHit]:
    index = station.index
    if kind == "person":
        return [
            LocalHit(
                h.record_ref,
                h.name,
                " ".join(p for p in (h.relation, h.relative_name) if p),
                f"{h.age or '?'} · {h.sex or '?'} · {h.role}"
                + (f" · {h.matched_name}" if h.matched_name != h.name else ""),
            )
            for h in index.search.persons(query, limit=50)
        ]
    if kind == "vehicle":
        return [
            LocalHit(
                h.record_ref,
                h.registration or h.engine_number or h.chassis_number,
                " ".join(p for p in (h.make, h.model, h.colour, h.vehicle_type) if p),
                f"{h.property_status} · {h.matched_on}",
            )
            for h in index.search.vehicles(query, limit=50)
        ]
    if kind == "property":
        return [
            LocalHit(h.record_ref, h.category, h.description, f"{h.status} · ₹{h.value_inr}")
            for h in index.search.property(query, limit=50)
        ]
    found = index.lookups.record_index(parse_ref(query))
    if found is None:
        return []
    body = station.ledger.body(found)
    _, title, detail = _describe(body)
    from node.records.refs import record_ref

    return [LocalHit(record_ref(body) or title, title, detail)]


@dataclass(frozen=True, slots=True)
class FederatedView:
    """A federated search result as the page shows it."""

    hits: list[dict[str, Any]]
    freshness: list[str]
    unanswered: list[tuple[str, str]]
    error: str = ""


def _federated_view(result: Any) -> FederatedView:
    hits = [
        {
            "answered_by": answered_by,
            "origin": hit.origin,
            "ref": hit.ref,
            "title": hit.title,
            "detail": hit.detail,
        }
        for answered_by, hit in getattr(result, "hits", ())
    ]
    lines: list[str] = []
    for answered_by, items in sorted(getattr(result, "freshness", {}).items()):
        for fresh in items:
            line = f"{fresh.origin}: checkpoint {fresh.checkpoint_size}"
            if fresh.from_replica:
                line += f" (replica at {answered_by})"
            lines.append(line)
    unanswered = sorted((str(k), str(v)) for k, v in getattr(result, "unanswered", {}).items())
    return FederatedView(hits, lines, unanswered)


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    q: str = "",
    kind: str = "person",
    scope: str = "local",
) -> Response:
    officer = await run_in_threadpool(
        station_officer("search.federated" if scope == "federation" else "search.local"), request
    )
    kind = kind if kind in SEARCH_KINDS else "person"
    scope = scope if scope in SEARCH_SCOPES else "local"
    query = q.strip()[:200]
    station = _station(request)
    problems: list[str] = []
    local: list[LocalHit] = []
    federated: FederatedView | None = None
    in_federation = request.app.state.context.federated_search is not None
    if query and allowed(officer, "search.local"):
        try:
            local = await _blocking(_local_search, station, kind, query)
        except InputError as exc:
            problems.extend(exc.problems)
    if query and scope == "federation" and in_federation:
        require(officer, "search.federated")
        try:
            result = await request.app.state.context.federated_search(
                kind, query, officer.officer_id
            )
        except CctnsError as exc:
            federated = FederatedView([], [], [], str(exc))
        else:
            federated = _federated_view(result)
    return await run_in_threadpool(
        _render,
        request,
        "search.html",
        q=query,
        kind=kind,
        scope=scope,
        kinds=SEARCH_KINDS,
        local=local,
        federated=federated,
        in_federation=in_federation,
        problems=problems,
    )
