"""History sheets (the register of known offenders) and the MO of an accused: the commands and
their checks (`node.records.history` has the rules and their sources).

Every command validates first and writes nothing when anything is wrong (InputError listing every
problem), under the station's single-writer lock while it reads the state, numbers and appends.
A sheet's review and closing are entries of their own, appended: the opening is never changed,
and a closed sheet stays in the log. Sheet numbers run per year ("HS/2026/000012") from the
station's counters, the highest in the index the first time (as `node.station.processes`).

The MO of a case is a case event (`casework.record_mo`, through `record_case_event`, which calls
`check_mo` here): the accused are named by their codes in the FIR, their names copied from it
as the FIR holds them (none for an accused the FIR holds only by a commitment), and the event
is appended under the case's withholding like every case event.
"""

from __future__ import annotations

import datetime

from ledger.errors import NotFound
from node.index import history as register
from node.records import limits
from node.records.history import (
    CATEGORIES,
    CLOSE_RANKS,
    CLOSED,
    MO_SINGLE,
    OPEN_RANKS,
    OPENED,
    PROPERTY_TAKEN,
    RANKS,
    REVIEW_RANKS,
    REVIEWED,
    canonical_sheet,
    sheet_number,
)
from node.records.validation import Problems, check_date, check_officer, check_person, ist_date
from node.station import views
from node.station.core import Receipt, Station
from protos import records_pb2

ADULT_AGE = 18
# Sheets on these categories rest on cases (a suspect may be sheeted on grounds alone: SOP
# 6.15.10(b), "not convicted but believed to be addicted to crime").
NEEDS_CASES = frozenset({"known_depredator", "rowdy"})


def check_mo(mo: records_pb2.ModusOperandi, problems: Problems, *, in_case: bool) -> None:
    """The MO's attributes from the vocabulary (or empty), at least one given; in a case, the
    accused it is about (their codes checked against the FIR by the caller)."""
    for field, vocabulary in MO_SINGLE.items():
        value = getattr(mo, field).strip()
        setattr(mo, field, value)
        if value and value not in vocabulary:
            problems.add(f"the {field.replace('_', ' ')} is one of {', '.join(vocabulary)}")
    taken = [t.strip() for t in mo.property_taken if t.strip()]
    del mo.property_taken[:]
    mo.property_taken.extend(dict.fromkeys(taken))
    for code in taken:
        if code not in PROPERTY_TAKEN:
            problems.add(f"the property taken is among {', '.join(PROPERTY_TAKEN)}")
            break
    mo.note = mo.note.strip()
    codes = [c.strip().upper() for c in mo.accused_codes if c.strip()]
    del mo.accused_codes[:]
    mo.accused_codes.extend(dict.fromkeys(codes))
    if in_case and not codes:
        problems.add("name the accused the MO is about (A1, A2...)")
    if not in_case and codes:
        problems.add("a history sheet's MO names no accused codes (the sheet is the person's)")
    given = any(getattr(mo, f) for f in MO_SINGLE) or taken or mo.note
    if in_case and not given:
        problems.add("the MO records at least one attribute or a note")


def mo_persons(
    station: Station, number: str, event: records_pb2.CaseEvent, problems: Problems
) -> None:
    """The accused of the MO event, by their codes in the FIR as it reads now: each must be an
    accused of the case; those the FIR names in clear are copied into `event.persons` (name,
    relation, relative), the others (unknown, or held by a commitment) are named by code only."""
    _, view = views.amended_view(station, number)
    accused: dict[str, dict[str, object]] = {}
    for entry in view.get("persons", []):
        code = str(entry.get("accused_code", "")).strip().upper()
        if code and entry.get("role") in ("ACCUSED", "SUSPECT"):
            accused[code] = entry
    known = ", ".join(sorted(accused)) or "none"
    for code in event.mo.accused_codes:
        found = accused.get(code)
        if found is None:
            problems.add(f"the FIR {number} has no accused {code} (its accused: {known})")
            continue
        person = found.get("person", {})
        assert isinstance(person, dict)
        name = str(person.get("name", "")).strip()
        if name and not person.get("identity_commitment"):
            event.persons.add(
                role=records_pb2.ACCUSED,
                accused_code=code,
                person=records_pb2.Person(
                    name=name,
                    relation=str(person.get("relation", "")),
                    relative_name=str(person.get("relative_name", "")),
                    age=int(str(person.get("age", 0) or 0)),
                    sex=str(person.get("sex", "")),
                ),
            )


# -- history sheets -------------------------------------------------------------------------------


def _check_order(
    sheet: records_pb2.HistorySheet,
    ranks: frozenset[str],
    what: str,
    today: datetime.date,
    problems: Problems,
) -> None:
    """The order behind a step: who ordered it, of a rank the rule asks, its reference and
    date (not in the future)."""
    sheet.ordered_by = sheet.ordered_by.strip()
    sheet.ordered_by_rank = sheet.ordered_by_rank.strip()
    sheet.order_reference = sheet.order_reference.strip()
    sheet.order_date = sheet.order_date.strip()
    inner = Problems()
    check_officer(sheet.ordered_by, inner)
    if inner.items:
        problems.add(f"the officer who ordered {what} (officer id) is required")
    allowed = " or ".join(RANKS[r][0] for r in sorted(ranks))
    if not sheet.ordered_by_rank:
        problems.add(f"the rank of the officer who ordered {what} is required ({allowed})")
    elif sheet.ordered_by_rank not in ranks:
        shown = RANKS.get(sheet.ordered_by_rank, (sheet.ordered_by_rank[:24],))[0]
        problems.add(f"{what} is ordered by the {allowed}, not by the {shown}")
    problems.require(sheet.order_reference, f"the reference of the order for {what}")
    if not sheet.order_date:
        problems.add(f"the date of the order for {what} is required")
    else:
        before = len(problems.items)
        check_date(sheet.order_date, f"the date of the order for {what}", problems)
        if len(problems.items) == before and (
            datetime.date.fromisoformat(sheet.order_date) > today
        ):
            problems.add(f"the order for {what} is dated in the future")


def _protected_here(station: Station, number: str, person: records_pb2.Person) -> bool:
    """Whether the FIR `number` of this station holds `person` (by name) as one the law
    protects: sealed, or protected though held in clear from before the policy."""
    _, view = views.amended_view(station, number)
    case = views.protection(station, "fir", view)
    name = person.name.strip().lower()
    if not name:
        return False
    for item in case.sealed:
        if name in {n.strip().lower() for n in (item.identity.name, *item.identity.aliases)}:
            return True
    return name in {p.name.strip().lower() for p in case.clear}


def open_sheet(station: Station, officer_id: str, given: records_pb2.HistorySheet) -> Receipt:
    """Opens a history sheet on a person: checks it (the person, the category, the grounds, the
    order of an officer of the rank the rule asks, the cases it rests on, the MO), numbers it
    HS/YYYY/NNNNNN. A case of this station (`office` empty) must be an FIR here, written as the
    station recorded it; another station's is taken as given. A sheet is never opened on a
    child, nor on a person one of the cases cited holds as one the law protects."""
    sheet = records_pb2.HistorySheet()
    sheet.CopyFrom(given)
    problems = Problems()
    limits.check(sheet, problems)
    problems.raise_if_any("history sheet not opened")
    check_officer(officer_id, problems)
    if sheet.sheet_number:
        problems.add("the sheet number is assigned by the station, not given")
    sheet.action = OPENED
    sheet.category = sheet.category.strip()
    sheet.grounds = sheet.grounds.strip()
    sheet.note = sheet.note.strip()
    person = sheet.person
    person.name = person.name.strip()
    person.address = person.address.strip()
    check_person(person, "the person", problems)
    if person.identity_commitment:
        problems.add("a history sheet names the person in clear (no sealed identity)")
    problems.require(person.address, "the person's address")
    if not (person.relative_name.strip() or person.age or sheet.birth_year):
        problems.add(
            "the person's relative (father, mother, spouse), age or year of birth is required"
        )
    today = ist_date(station.now())
    age = person.age or (today.year - sheet.birth_year if sheet.birth_year else 0)
    if sheet.birth_year and not 1900 <= sheet.birth_year <= today.year:
        problems.add(f"the year of birth {sheet.birth_year} is not plausible")
    elif person.juvenile or 0 < age < ADULT_AGE:
        problems.add(
            "a history sheet is not opened on a child (Juvenile Justice (Care and Protection "
            "of Children) Act, 2015: a child's records are not kept against them)"
        )
    if sheet.category not in CATEGORIES:
        problems.add("the category is one of " + ", ".join(CATEGORIES))
    problems.require(sheet.grounds, "the grounds for opening the sheet")
    _check_order(sheet, OPEN_RANKS, "opening the sheet", today, problems)
    if sheet.HasField("mo"):
        check_mo(sheet.mo, problems, in_case=False)
    received = station.event_time(sheet.at_ms or None, "the time of opening", problems)
    with station.writing():
        seen: set[tuple[str, str]] = set()
        cases = list(sheet.cases)
        del sheet.cases[:]
        for case in cases:
            office, number = case.office.strip(), case.fir_number.strip()
            if not number or (office, number.lower()) in seen:
                continue
            seen.add((office, number.lower()))
            if not office:
                fir = station.index.lookups.fir(number)
                if fir is None:
                    problems.add(
                        f"no FIR {number!r} at this station (name the station of another "
                        "station's case)"
                    )
                    continue
                number = fir.fir_number or fir.zero_fir_number
                if person.name and _protected_here(station, number, person):
                    problems.add(
                        f"{number} holds the person as one the law protects: no history sheet "
                        "names them"
                    )
            sheet.cases.add(office=office, fir_number=number)
        if sheet.category in NEEDS_CASES and not sheet.cases:
            problems.add(
                "the cases the sheet rests on are required (FIR numbers, of this or other stations)"
            )
        problems.raise_if_any("history sheet not opened")
        year = ist_date(received).year
        serial = station.numbers.next(
            "history_sheet",
            str(year),
            lambda: register.max_sheet_serial(station.index.engine, year),
        )
        sheet.sheet_number = sheet_number(serial, year)
        sheet.at_ms = received
        return station.append_records(officer_id, [sheet], ref=sheet.sheet_number)


def _step(
    station: Station,
    officer_id: str,
    number: str,
    action: str,
    order: records_pb2.HistorySheet,
    text: str,
    at_ms: int | None,
) -> Receipt:
    failed = f"history sheet not {action}"
    canonical = canonical_sheet(number) or number.strip()
    step = records_pb2.HistorySheet()
    step.CopyFrom(order)
    step.sheet_number = canonical
    step.action = action
    del step.cases[:]
    step.ClearField("person")
    step.ClearField("mo")
    step.category = ""
    step.birth_year = 0
    text = text.strip()
    if action == CLOSED:
        step.note, step.grounds = text, ""
    else:
        step.grounds, step.note = text, ""
    problems = Problems()
    limits.check(step, problems)
    check_officer(officer_id, problems)
    problems.raise_if_any(failed)
    today = ist_date(station.now())
    if action == CLOSED:
        _check_order(step, CLOSE_RANKS, "closing the sheet", today, problems)
        problems.require(text, "the reason the sheet is closed")
    else:
        _check_order(step, REVIEW_RANKS, "retaining the sheet", today, problems)
        problems.require(text, "the review's findings (why the sheet is retained)")
    with station.writing():
        found = register.find_sheet(station.index.engine, canonical)
        if found is None:
            raise NotFound(f"no history sheet {limits.clip(number, limits.REFERENCE)!r} here")
        if not found.open:
            problems.add(f"{found.sheet_number} is already closed")
        when = station.event_time(at_ms, f"the time the sheet is {action}", problems)
        if when < found.last_order_ms:
            problems.add(f"the sheet cannot be {action} before its last order")
        problems.raise_if_any(failed)
        step.at_ms = when
        return station.append_records(officer_id, [step], ref=found.sheet_number)


def review_sheet(
    station: Station,
    officer_id: str,
    number: str,
    order: records_pb2.HistorySheet,
    findings: str,
    *,
    at_ms: int | None = None,
) -> Receipt:
    """The sheet retained for a further period on its review, by the order in `order`
    (`ordered_by`, `ordered_by_rank`: the SDPO or the SP; `order_reference`, `order_date`),
    with the review's `findings`. The sheet is next due for review at the end of that year."""
    return _step(station, officer_id, number, REVIEWED, order, findings, at_ms)


def close_sheet(
    station: Station,
    officer_id: str,
    number: str,
    order: records_pb2.HistorySheet,
    reason: str,
    *,
    at_ms: int | None = None,
) -> Receipt:
    """The sheet closed by a gazetted officer's order (`order`), with the reason. The sheet
    stays in the log and in the register, closed; a closed sheet takes no more steps."""
    return _step(station, officer_id, number, CLOSED, order, reason, at_ms)


def order(ordered_by: str, rank: str, reference: str, date: str) -> records_pb2.HistorySheet:
    """The order behind a review or a closing, as `review_sheet` and `close_sheet` take it."""
    return records_pb2.HistorySheet(
        ordered_by=ordered_by, ordered_by_rank=rank, order_reference=reference, order_date=date
    )
