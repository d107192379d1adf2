"""The checks of the investigation forms, and the station's clocks: who must be produced, whose
final report is due (`node.records.investigation` has the rules and their sources).

The commands that append these forms are `node.station.casework`'s (`arrest`, `seize`,
`write_diary`, `order_custody`, `move_property`, `inform_progress`, all through
`record_case_event`): the functions here check a form against the case as the index holds it,
adding every problem to `problems`, and fill in what the station computes (the final report's
due day with a first remand). `due_now` is the station's list of what is overdue or due soon.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from node.index import casework as cases
from node.index import history as history_index
from node.index import investigation as held
from node.index import transfers as moved
from node.index.processes import last_forwarding, ncrs_not_forwarded, process_register
from node.index.schema import firs, record_sections, records
from node.records.case_transfer import apply_alterations
from node.records.investigation import (
    APPEAL_RESULTS,
    BAIL,
    DEFAULT_BAIL,
    DISPOSAL_RESULTS,
    FIR_TO_MAGISTRATE_MS,
    MOVEMENTS,
    NAMES_COUNTERPART,
    NEEDS_REFERENCE,
    POLICE_CUSTODY,
    POLICE_CUSTODY_TOTAL_MS,
    PROGRESS_TOLD_DAYS,
    RELEASED,
    REMAND_LIMIT_MS,
    REMANDS,
    SERIOUS_YEARS,
    SEXUAL_OFFENCE_MONTHS,
    add_months,
    default_bail_days,
    police_custody_used,
    police_custody_window_days,
    two_month_case,
)
from node.records.processes import NCR_FORWARDING_MS
from node.records.validation import DAY_MS, IST, Problems, check_sections, ist_date
from node.station import views
from node.station.core import Station
from protos import records_pb2

# What `due_now` lists as due soon (besides what is overdue).
SOON_MS: Final = 7 * DAY_MS


def check_arrest_memo(
    memo: records_pb2.ArrestMemo, arrested_ms: int, now: int, problems: Problems
) -> None:
    """The particulars an arrest memo must have (or a notice to appear in its place); the
    person named informed after the arrest, not later than now."""
    # A minute's leeway each way: the two times come from different clocks (the form's, the
    # station's).
    if memo.informed_at_ms and not arrested_ms - 60_000 <= memo.informed_at_ms <= now + 60_000:
        problems.add("the person named was informed before the arrest or in the future")
    if memo.notice_to_appear:
        return
    problems.require(memo.grounds, "the grounds of arrest told to the person (BNSS s.47)")
    problems.require(
        memo.attesting_witness, "the witness who attested the arrest memo (BNSS s.36(b))"
    )
    problems.require(
        memo.informed_person, "the person named to be informed of the arrest (BNSS s.48(1))"
    )


def check_mahazar(mahazar: records_pb2.Mahazar, problems: Problems) -> None:
    """A seizure mahazar: where, at least one witness, the audio-video record (BNSS s.105)."""
    problems.require(mahazar.place, "the place of the seizure")
    if not any(w.strip() for w in mahazar.witnesses):
        problems.add("the seizure mahazar names at least one witness")
    problems.require(
        mahazar.video_reference,
        "the reference of the audio-video record of the search and seizure (BNSS s.105)",
    )


def check_diary(
    station: Station, number: str, diary: records_pb2.DiaryDay, problems: Problems
) -> None:
    """One investigation day: a real day, not in the future, not before the case, and not
    written already (a case diary has one entry per day, never changed)."""
    try:
        day = datetime.date.fromisoformat(diary.day)
    except ValueError:
        problems.add(f"the investigation day {diary.day[:20]!r} is not YYYY-MM-DD")
        return
    if day > ist_date(station.now()):
        problems.add("the investigation day is in the future")
    registered = registered_ms(station, number)
    if registered is not None and day < ist_date(registered):
        problems.add(f"the investigation day is before {number} was registered")
    if number and diary.day in held.diary_days(station.index, number):
        problems.add(
            f"the case diary of {number} for {diary.day} is written: an entry is never "
            "changed; what followed goes into the next day's"
        )
    for n, statement in enumerate(diary.statements, 1):
        w = statement.witness
        if w.address or w.mobile or w.identity_commitment or w.aliases or w.identifying_marks:
            problems.add(
                f"statement {n}: the diary names the person examined (name, relation, relative's "
                "name); their address and phone belong in the case's records, where the law's "
                "withholding applies to them"
            )
        if not statement.witness.name.strip():
            problems.add(f"statement {n}: the name of the person examined is required")
        if not statement.summary.strip():
            problems.add(f"statement {n}: what the statement says is required")


def registered_ms(station: Station, number: str) -> int | None:
    """When the case's FIR was registered: here, or (a case taken over, `number` its key) at
    the station that registered it, as its proven entry says. None for no such case."""
    fir = station.index.lookups.fir(number) if number else None
    if fir is not None:
        return fir.registered_at_ms
    took = moved.taken_over_case(station.index, number) if number else None
    return None if took is None else took.registered_at_ms


def check_custody(
    station: Station,
    number: str,
    order: records_pb2.CustodyOrder,
    at_ms: int,
    problems: Problems,
) -> None:
    """A court's order on an accused held in the case; fills in the final report's due day
    with the case's first remand (BNSS s.187(3): 60 or 90 days by the FIR's sections)."""
    order.accused_code = order.accused_code.strip().upper()
    order.order = order.order.strip()
    order.court = order.court.strip()
    if order.order not in (*REMANDS, BAIL, DEFAULT_BAIL, RELEASED):
        problems.add(
            "the order is one of police_custody, judicial_custody, bail, default_bail, released"
        )
        return
    problems.require(order.accused_code, "the accused code (A1, A2...)")
    if order.order != RELEASED:
        problems.require(order.court, "the court")
    if not number or not order.accused_code:
        return
    person = held.held_in_case(station.index, number, order.accused_code)
    if person is None:
        problems.add(f"{order.accused_code} is not held in {number} (no arrest, or already out)")
        return
    if at_ms < person.arrested_at_ms:
        problems.add("the order is dated before the arrest")
    if order.order in REMANDS:
        if order.until_ms <= at_ms:
            problems.add("a remand names the day it ends")
        elif order.until_ms - at_ms > REMAND_LIMIT_MS:
            problems.add("a remand is for at most 15 days at a time (BNSS s.187(2), (3))")
        if held.case_clock(station.index, number) is None:
            order.final_report_due_ms = (
                at_ms + default_bail_days(_serious(station, number)) * DAY_MS
            )
        if order.order == POLICE_CUSTODY and order.until_ms > at_ms:
            _check_police_custody(station, number, order, at_ms, problems)
    elif order.order == BAIL:
        problems.require(order.bail_bond, "the bail bond (amount, and sureties if any)")
    elif order.order == DEFAULT_BAIL:
        clock = held.case_clock(station.index, number)
        if clock is None or at_ms <= clock.final_report_due_ms:
            problems.add(
                "bail by default is due only once the final report's time (60 or 90 days from "
                "the first remand, BNSS s.187(3)) has passed"
            )
        elif cases.charge_sheeted(station.index, number):
            problems.add(f"a charge sheet is filed in {number}: no bail by default")


def _check_police_custody(
    station: Station,
    number: str,
    order: records_pb2.CustodyOrder,
    at_ms: int,
    problems: Problems,
) -> None:
    """BNSS s.187(2): police custody only within the initial 40 days (60-day cases) or 60 days
    (90-day cases) from the accused's first remand, and at most 15 days in all."""
    earlier = _custody_orders(station, number, order.accused_code)
    remands = [at for at, kind, _ in earlier if kind in REMANDS]
    first = min([*remands, at_ms])
    clock = held.case_clock(station.index, number)
    if clock is not None:
        limit_days = round((clock.final_report_due_ms - clock.first_remand_ms) / DAY_MS)
    else:
        limit_days = default_bail_days(_serious(station, number))
    window = police_custody_window_days(limit_days)
    window_end = first + window * DAY_MS
    if at_ms >= window_end or order.until_ms > window_end:
        problems.add(
            f"police custody may be ordered only within the first {window} days from "
            f"{order.accused_code}'s first remand on {ist_date(first).isoformat()} (until "
            f"{ist_date(window_end - 1).isoformat()}; a {limit_days}-day case, BNSS s.187(2)): "
            "judicial custody only after that"
        )
    used = police_custody_used([*earlier, (at_ms, order.order, order.until_ms)])
    if used > POLICE_CUSTODY_TOTAL_MS:
        before = police_custody_used(earlier)
        problems.add(
            f"{order.accused_code} has had {before / DAY_MS:g} days of police custody in "
            f"{number}: at most 15 days in all, in whole or in parts (BNSS s.187(2)); "
            f"{max(0.0, (POLICE_CUSTODY_TOTAL_MS - before) / DAY_MS):g} days remain"
        )


def _custody_orders(station: Station, number: str, code: str) -> list[tuple[int, str, int]]:
    """The court's custody orders on accused `code` in the case: (at_ms, order, until_ms)."""
    found: list[tuple[int, str, int]] = []
    for row in cases.case_events(station.index, number):
        if row.kind != "custody":
            continue
        body = station.ledger.body(row.ledger_index)
        custody = body.case_event.custody
        if custody.accused_code == code:
            found.append((row.at_ms, custody.order, custody.until_ms))
    return found


def _serious(station: Station, number: str) -> bool:
    """Whether the case's most serious section (as it reads now: the FIR as amended, with
    the alterations of its sections reported to the court) is punishable with death,
    imprisonment for life or ten years or more."""
    cited = moved.current_sections(station.index, number)
    known = [c for c in cited if station.statutes.is_known(*c)]
    if not known:
        return False
    worst = station.statutes.most_serious(known)
    return bool(worst.death or worst.life or (worst.max_punishment_years or 0) >= SERIOUS_YEARS)


def check_movement(
    station: Station, number: str, move: records_pb2.PropertyMovement, problems: Problems
) -> None:
    """A movement of a seized item of the case, allowed from where the item is now."""
    move.item = move.item.strip().upper()
    move.movement = move.movement.strip()
    rule = MOVEMENTS.get(move.movement)
    if rule is None:
        problems.add("the movement is one of " + ", ".join(MOVEMENTS))
        return
    if move.movement in NAMES_COUNTERPART:
        problems.require(move.counterpart.strip(), "where the item goes (court, laboratory, owner)")
    if move.movement in NEEDS_REFERENCE:
        problems.require(move.reference.strip(), "the forwarding letter or the order")
    item = held.property_item(station.index, move.item) if move.item else None
    if item is None or (number and item.fir_number != number):
        problems.add(f"no item {move.item!r} in the property register of {number or 'the case'}")
        return
    starts, _ = rule
    if item.location not in starts:
        how = move.movement.replace("_", " ")
        problems.add(f"{move.item} is at the {item.location}: it cannot be moved {how}")


def check_disposal(
    station: Station,
    number: str,
    kind: str,
    disposal: records_pb2.Disposal,
    problems: Problems,
) -> None:
    """A court's disposal of the case (or an appeal's result) for accused of the FIR: a
    conviction names its sections and the sentence."""
    results = DISPOSAL_RESULTS if kind == "court_disposal" else APPEAL_RESULTS
    disposal.result = disposal.result.strip()
    if disposal.result not in results:
        problems.add("the result is one of " + ", ".join(results))
    problems.require(disposal.court.strip(), "the court")
    if disposal.judgment_date:
        try:
            day = datetime.date.fromisoformat(disposal.judgment_date)
        except ValueError:
            problems.add(f"the judgment date {disposal.judgment_date[:20]!r} is not YYYY-MM-DD")
        else:
            if day > ist_date(station.now()):
                problems.add("the judgment date is in the future")
    else:
        problems.add("the judgment date is required")
    codes = [c.strip().upper() for c in disposal.accused_codes if c.strip()]
    del disposal.accused_codes[:]
    disposal.accused_codes.extend(codes)
    if not codes:
        problems.add("name the accused the judgment is about (A1, A2...)")
    elif number:
        _, view = views.amended_view(station, number)
        known = {str(p.get("accused_code", "")).upper() for p in view.get("persons", [])} - {""}
        for code in codes:
            if code not in known:
                problems.add(f"{number} has no accused {code}")
    if disposal.result == "convicted":
        if not disposal.sections:
            problems.add("a conviction names the sections the accused were convicted under")
        else:
            check_sections(disposal.sections, None, station.statutes, problems)
        problems.require(disposal.sentence.strip(), "the sentence")


# -- what is due ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """One thing the station owes the law by a time."""

    kind: str  # "production", "final_report", "default_bail", "progress", "fir_to_magistrate",
    # "process" (a court's process pending), "ncr_forwarding" (NCRs to the magistrate),
    # "history_review" (a history sheet due for review: `ref` is its number)
    fir_number: str  # "" for what is no case's (the NCRs; a process of another station's case)
    due_ms: int
    what: str
    overdue: bool
    ref: str = ""  # the process number, for a process; the sheet number, for a review


def due_now(station: Station, *, now: int | None = None) -> list[Due]:
    """Everything overdue, and everything due within a week: persons to be produced before a
    magistrate, final reports of remanded cases (bail by default) and of rape and POCSO cases
    (two months), informants to be told of the progress (ninety days), courts' processes
    pending (by their returnable day), the NCRs to forward to the magistrate (fortnightly).
    Overdue first, then by due time."""
    moment = station.now() if now is None else now
    index = station.index
    found: list[Due] = []
    for person in held.lockup_register(index):
        if person.awaiting_production:
            name = f"{person.accused_code} {person.name}".strip()
            found.append(
                Due(
                    "production",
                    person.fir_number,
                    person.production_due_ms,
                    f"produce {name} before a magistrate (24 hours, BNSS s.58)",
                    moment > person.production_due_ms,
                )
            )
    # A transferred case is the receiving unit's to report on (node/station/case_transfer.py).
    reported = _events_of(station, "final_report") | moved.transferred_numbers(index)
    for clock in held.case_clocks(index):
        if clock.fir_number in reported:
            continue
        found.append(
            Due(
                "default_bail",
                clock.fir_number,
                clock.final_report_due_ms,
                "final report, or the accused remanded are entitled to bail (BNSS s.187(3))",
                moment > clock.final_report_due_ms,
            )
        )
    open_cases = _open_cases(station)
    # The cases taken over run the investigation's clocks here (the two months, the informant
    # told): from the FIR's registration at the station that registered it. Sending the FIR to
    # the magistrate stays that station's.
    investigated = open_cases + _taken_over_cases(station)
    for number, registered, sections in investigated:
        if number in reported:
            continue
        if two_month_case(sections):
            day = add_months(ist_date(registered), SEXUAL_OFFENCE_MONTHS)
            due = _ist_ms(day)
            found.append(
                Due(
                    "final_report",
                    number,
                    due,
                    "final report within two months of the information (BNSS s.193(2))",
                    moment > due,
                )
            )
    sent = _events_of(station, "sent_to_magistrate")
    for number, registered, _ in open_cases:
        if number in sent:
            continue
        due = registered + FIR_TO_MAGISTRATE_MS
        found.append(
            Due(
                "fir_to_magistrate",
                number,
                due,
                "send the FIR to the magistrate (forthwith, BNSS s.176(1))",
                moment > due,
            )
        )
    told = _events_of(station, "progress_informed")
    for number, registered, _ in investigated:
        if number in told or number in reported:
            continue
        due = registered + PROGRESS_TOLD_DAYS * DAY_MS
        found.append(
            Due(
                "progress",
                number,
                due,
                "tell the informant the progress of the investigation (BNSS s.193(3)(ii))",
                moment > due,
            )
        )
    found.extend(_processes_and_ncrs(station, moment))
    found.extend(_history_reviews(station, moment))
    kept = [d for d in found if d.overdue or d.due_ms <= moment + SOON_MS]
    return sorted(kept, key=lambda d: (not d.overdue, d.due_ms, d.fir_number))


def _processes_and_ncrs(station: Station, moment: int) -> list[Due]:
    """The court's processes pending (due on their returnable day, BNSS Chapter VI) and the
    NCRs to forward to the magistrate (fifteen days after the last forwarding, or after the
    first NCR not forwarded yet: BNSS s.174(1)(ii))."""
    found: list[Due] = []
    for p in process_register(station.index, returnable_by=moment + SOON_MS, limit=10_000):
        kind = p.process_type.replace("_", " ")
        found.append(
            Due(
                "process",
                p.fir_number,
                p.returnable_ms,
                f"{p.process_number}: {kind} of {p.court} ({p.court_case_number}) on {p.name}, "
                f"returnable {p.returnable_date}",
                moment >= p.returnable_ms,
                p.process_number,
            )
        )
    waiting = ncrs_not_forwarded(station.index)
    if waiting:
        last = last_forwarding(station.index)
        since = last.forwarded_at_ms if last is not None else waiting[0].reported_at_ms
        due = since + NCR_FORWARDING_MS
        found.append(
            Due(
                "ncr_forwarding",
                "",
                due,
                f"forward the daily diary report of {len(waiting)} NCRs to the magistrate "
                "(fortnightly, BNSS s.174(1)(ii))",
                moment > due,
            )
        )
    return found


def _history_reviews(station: Station, moment: int) -> list[Due]:
    """The open history sheets due for review (the SDPO's order to retain or discontinue them
    at the end of December: node/records/history.py), by sheet number."""
    return [
        Due(
            "history_review",
            "",
            sheet.review_due_ms,
            f"review the history sheet of {sheet.name} (retain or close: the SDPO's order)",
            moment >= sheet.review_due_ms,
            ref=sheet.sheet_number,
        )
        for sheet in history_index.sheets(station.index.engine, open_only=True)
        if sheet.review_due_ms
    ]


def _ist_ms(day: datetime.date) -> int:
    return int(datetime.datetime.combine(day, datetime.time(), IST).timestamp() * 1000)


def _events_of(station: Station, kind: str) -> set[str]:
    """The cases that have an event of `kind`."""
    t = cases.case_events_table
    stmt = sa.select(t.c.fir_number).where(t.c.kind == kind).distinct()
    with station.index.engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


def _taken_over_cases(station: Station) -> list[tuple[str, int, list[tuple[str, str]]]]:
    """The cases this unit took over, by their keys, with the FIR's registration (at the station
    that registered it) and the sections now (the FIR's with the unit's alterations)."""
    return [
        (took.case_key, took.registered_at_ms, moved.current_sections(station.index, took.case_key))
        for took in moved.cases_taken_over(station.index, limit=1_000_000)
    ]


def _open_cases(station: Station) -> list[tuple[str, int, list[tuple[str, str]]]]:
    """The FIRs numbered here and registered live (an imported case's clocks ran in the old
    system), with their registration time and their sections as the index holds them."""
    stmt = (
        sa.select(
            firs.c.fir_number,
            firs.c.registered_at_ms,
            record_sections.c.act,
            record_sections.c.section,
        )
        .join(records, records.c.ledger_index == firs.c.ledger_index)
        .join(record_sections, record_sections.c.ledger_index == firs.c.ledger_index, isouter=True)
        .where(firs.c.fir_number != "", records.c.imported.is_(False))
        .order_by(firs.c.ledger_index)
    )
    cases_: dict[str, tuple[int, list[tuple[str, str]]]] = {}
    with station.index.engine.connect() as conn:
        for row in conn.execute(stmt):
            _, cited = cases_.setdefault(row.fir_number, (int(row.registered_at_ms), []))
            if row.act:
                cited.append((row.act, row.section))
    # The sections now: an alteration reported to the court decides the two-month rule (BNSS
    # s.193(2) speaks of the offence under investigation), the FIR entry stays as registered.
    altered = moved.altered_cases(station.index)
    return [
        (
            number,
            at,
            apply_alterations([(a.upper(), "".join(s.split())) for a, s in cited], altered[number])
            if number in altered
            else cited,
        )
        for number, (at, cited) in cases_.items()
    ]
