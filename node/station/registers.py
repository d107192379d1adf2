"""The station's registers: General Diary, petitions, non-cognizable reports, FIRs, and
corrections to any of them.

Each register numbers its records from the station's counters (GD numbers per day, FIR No. N/YYYY
per year, Zero FIRs in their own series, receipts), through the writer core's one path: check
everything first (InputError listing every problem, nothing written), number, draft, commit. The
first check is the limits' (`node.records.limits`): a record over them is refused at once, before
anything else reads it.
Corrections never edit: `amend` appends an Amendment that refers to the original entry.

Identities the law withholds (`node.records.withholding`: victims of sexual offences and whoever
reports them, children in any role, informants on the officer's order) are sealed while a
record is drafted (`node.records.sealing`): the entry carries a salted commitment, the clear
identity stays in the station's sealed store, and the sealed names leave the free text.

`draft_*` prepare a record's entries without committing, for commands that write several
records in one commit (an FIR with its GD entry, a Zero FIR received with its transfer entry).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ledger.errors import InputError
from node.index.lookups import Lookups
from node.records import limits, withholding
from node.records.refs import fir_number, gd_ref, ncr_number, petition_receipt, zero_fir_number
from node.records.sealing import (
    FREE_TEXT,
    Redactor,
    SealedIdentity,
    has_identity,
    rewrite_free_text,
)
from node.records.validation import (
    FIR_REGISTER,
    GD_CATEGORIES,
    NCR_REGISTER,
    PETITION_CHANNELS,
    Problems,
    check_officer,
    check_person,
    check_property,
    check_register_sections,
    ist_date,
)
from node.station import views
from node.station.core import Batch, Draft, Receipt, Station
from protos import records_pb2

# Fields an amendment may correct, as dotted paths into the record.
_AMENDABLE = re.compile(
    r"^(brief_facts|sections|status|occurrence_from_ms|occurrence_to_ms|"
    r"place_of_occurrence\.description|summary|subject|details|"
    r"persons\.[A-Za-z0-9_-]+\.(name|aliases|age|relative_name|relation|address|sex))$"
)
_PERSON_PATH = re.compile(r"^persons\.(.+)\.([a-z_]+)$")
# The field of the table of limits each corrected value is held to, by its path's last part.
_AMENDED_FIELDS = {
    "brief_facts": "Fir.brief_facts",
    "sections": "Fir.sections",
    "description": "Place.description",
    "summary": "GeneralDiaryEntry.summary",
    "subject": "Petition.subject",
    "details": "Petition.details",
    "name": "Person.name",
    "aliases": "Person.aliases",
    "relative_name": "Person.relative_name",
    "relation": "Person.relation",
    "address": "Person.address",
    "sex": "Person.sex",
}


def write_gd(
    station: Station,
    officer_id: str,
    category: str,
    summary: str,
    *,
    entry_time_ms: int | None = None,
) -> Receipt:
    """Writes a General Diary entry, numbered in order through the day."""
    with station.writing():
        return station.run(draft_gd(station, officer_id, category, summary, entry_time_ms, Batch()))


def receive_petition(station: Station, officer_id: str, petition: records_pb2.Petition) -> Receipt:
    """Receives a petition or complaint and gives it a receipt number."""
    with station.writing():
        return station.run(draft_petition(station, officer_id, petition, Batch()))


def register_ncr(
    station: Station, officer_id: str, ncr: records_pb2.NonCognizableReport
) -> Receipt:
    """Registers a non-cognizable report."""
    with station.writing():
        return station.run(draft_ncr(station, officer_id, ncr, Batch()))


def register_fir(
    station: Station, officer_id: str, fir: records_pb2.Fir, *, withhold_informants: bool = False
) -> Receipt:
    """Registers an FIR (or a Zero FIR); numbers it and cites or writes its GD entry.

    Identities the withholding policy protects are sealed (`node.records.withholding`);
    `withhold_informants` seals informants in any case.
    """
    with station.writing():
        return station.run(
            draft_fir(station, officer_id, fir, Batch(), withhold_informants=withhold_informants)
        )


def amend(
    station: Station, officer_id: str, ref: str, reason: str, changes: dict[str, Any]
) -> Receipt:
    """Appends a correction to record `ref`; the original stays as it was written."""
    with station.writing():
        return station.run(draft_amendment(station, officer_id, ref, reason, changes))


def register_many(
    station: Station, items: Iterable[tuple[str, str, Any]], *, chunk: int = 500
) -> list[Receipt]:
    """Registers records written now (the CLI's `record add`): items of (kind, officer_id,
    record), held to the same rules as one at a time (the station's clock and counters).

    Each chunk is validated whole, then appended in one group commit; a bad record stops
    the run with an InputError naming it, and nothing of its chunk is written.
    """
    return _register_chunks(station, items, chunk, "")


def import_records(
    station: Station, items: Iterable[tuple[str, str, Any]], *, source: str, chunk: int = 500
) -> list[Receipt]:
    """Imports past records from an earlier system (a legacy register, synthetic history):
    items of (kind, officer_id, record), each marked in the ledger as imported from `source`.

    An imported record keeps its original time (not in the future) and may carry its original
    number ("FIR No. 17/2019", a GD number of its day, a receipt or NCR number); a record
    without one is numbered on from the highest of its period. A number may not collide with
    one written, nor reach the live series of its period: numbers at or above the first number
    written live there are refused, and a period that has live records takes only numbered
    imports. Live numbering continues after the highest imported number.
    """
    source = source.strip()
    if not source:
        raise InputError("an import needs its source: what the records are imported from")
    if len(source) > IMPORT_SOURCE_LIMIT:
        raise InputError(f"the import source is longer than {IMPORT_SOURCE_LIMIT} characters")
    return _register_chunks(station, items, chunk, source)


#: The longest description of an import's source (EntryBody.imported_from).
IMPORT_SOURCE_LIMIT = 200


def _register_chunks(
    station: Station, items: Iterable[tuple[str, str, Any]], chunk: int, imported_from: str
) -> list[Receipt]:
    receipts: list[Receipt] = []
    with station.writing():
        drafts: list[Draft] = []
        batch = Batch(imported_from=imported_from)
        for number, (kind, officer_id, record) in enumerate(items, 1):
            try:
                drafts.append(draft(station, kind, officer_id, record, batch))
            except InputError as exc:
                # Numbers drafted for this chunk were never written: take them back.
                station.numbers.forget()
                raise InputError(f"record {number} ({kind}): {exc}", exc.problems) from exc
            if len(drafts) >= chunk:
                receipts.extend(station.commit(drafts))
                drafts, batch = [], Batch(imported_from=imported_from)
        if drafts:
            receipts.extend(station.commit(drafts))
    return receipts


def draft(station: Station, kind: str, officer_id: str, record: Any, batch: Batch) -> Draft:
    if kind == "fir":
        return draft_fir(station, officer_id, record, batch)
    if kind == "gd":
        gd: records_pb2.GeneralDiaryEntry = record
        return draft_gd(
            station,
            officer_id,
            gd.category,
            gd.summary,
            gd.entry_time_ms or None,
            batch,
            gd_date=gd.gd_date,
            gd_number=gd.gd_number,
        )
    if kind == "petition":
        return draft_petition(station, officer_id, record, batch)
    if kind == "ncr":
        return draft_ncr(station, officer_id, record, batch)
    raise InputError(f"unknown record kind {kind!r}")


def draft_gd(
    station: Station,
    officer_id: str,
    category: str,
    summary: str,
    entry_time_ms: int | None,
    batch: Batch,
    *,
    gd_date: str = "",
    gd_number: int = 0,
) -> Draft:
    """A GD entry at the station's clock (or a little behind it, never before the station's
    previous GD entry), numbered on through its day. `gd_date`/`gd_number` only in an import:
    the original register's."""
    problems = Problems()
    gd = records_pb2.GeneralDiaryEntry(
        category=category,
        summary=summary,
        entry_time_ms=entry_time_ms or 0,
        gd_date=gd_date,
        gd_number=gd_number,
    )
    limits.check(gd, problems)
    problems.raise_if_any("General Diary entry not written")
    check_officer(officer_id, problems)
    if category not in GD_CATEGORIES:
        problems.add(f"GD category must be one of {', '.join(GD_CATEGORIES)}")
    problems.require(summary, "GD summary")
    imported = bool(batch.imported_from)
    when = station.entry_time(entry_time_ms, "GD entry time", problems, imported=imported)
    day = ist_date(when).isoformat()
    if gd_date and gd_date != day:
        problems.add(f"GD date {gd_date} is not the day of its entry time ({day})")
    if not imported:
        previous = _latest_gd_time(station)
        if previous is not None and when < previous:
            problems.add(
                "GD entry time is before the station's previous GD entry: the General Diary is "
                "written in order"
            )
    problems.raise_if_any("General Diary entry not written")
    number = _number(station, batch, "gd", day, gd_number, "GD number", problems)
    problems.raise_if_any("General Diary entry not written")
    gd.gd_date, gd.gd_number, gd.entry_time_ms = day, number, when
    ref = "GD " + gd_ref(day, number)
    batch.refs.add(ref)
    batch.bodies += 1
    if not imported:
        station.numbers.last_gd_ms = when
    body = station.body(officer_id, gd, imported_from=batch.imported_from)
    return Draft("general_diary", ref, [body])


def _latest_gd_time(station: Station) -> int | None:
    """The station's latest GD entry time (cached under the lock, like the counters)."""
    if station.numbers.last_gd_ms is None:
        station.numbers.last_gd_ms = station.index.lookups.latest_gd_time()
    return station.numbers.last_gd_ms


# The highest number of each register in a period, read from the index the first time.
_HIGHEST: dict[str, Callable[[Lookups, str], int]] = {
    "fir": lambda lookups, period: lookups.max_fir_serial(int(period)),
    "zero": lambda lookups, period: lookups.max_zero_fir_serial(int(period)),
    "gd": lambda lookups, period: lookups.max_gd_number(period),
    "petition": lambda lookups, period: lookups.max_petition_serial(int(period)),
    "ncr": lambda lookups, period: lookups.max_ncr_serial(int(period)),
}
# The reference a number of each register is written under.
_REF: dict[str, Callable[[int, str], str]] = {
    "fir": lambda number, period: fir_number(number, int(period)),
    "zero": lambda number, period: zero_fir_number(number, int(period)),
    "gd": lambda number, period: "GD " + gd_ref(period, number),
    "petition": lambda number, period: petition_receipt(number, int(period)),
    "ncr": lambda number, period: ncr_number(number, int(period)),
}


def _number(
    station: Station,
    batch: Batch,
    series: str,
    period: str,
    given: int,
    what: str,
    problems: Problems,
) -> int:
    """The number of a record of `series` in `period` (a year; a day for the GD).

    Written live: the station's next number; a number given is refused. Imported: the original
    number given, or the next one where none is given. An imported number may not be taken
    already, nor be at or above the first number written live in the period (an import fills
    the register before the station went live, it never runs ahead of the live series); a
    period with live records takes only numbered imports. Adds a problem and returns 0 when
    refused."""
    lookups = station.index.lookups

    def highest() -> int:
        return _HIGHEST[series](lookups, period)

    if not batch.imported_from:
        if given:
            problems.add(
                f"the {what} is assigned by the station, not given (past records keep their "
                "numbers only when imported: `cctns record import`)"
            )
            return 0
        return station.numbers.next(series, period, highest)
    key = (series, period)
    if key not in batch.first_live:
        batch.first_live[key] = lookups.first_live_number(series, period)
    live = batch.first_live[key]
    if not given:
        if live is not None:
            problems.add(
                f"{what}: {period} has records written live from number {live}: a record "
                "imported into it must carry its original number"
            )
            return 0
        return station.numbers.next(series, period, highest)
    ref = _REF[series](given, period)
    if live is not None and given >= live:
        problems.add(
            f"{ref} would run into the live series, which starts at {live} in {period}: an "
            "import may only fill the numbers before it"
        )
        return 0
    if ref in batch.refs or lookups.record_index(ref) is not None:
        problems.add(f"duplicate number: {ref} is already registered")
        return 0
    station.numbers.claim(series, period, given, highest)
    return given


def draft_petition(
    station: Station, officer_id: str, given: records_pb2.Petition, batch: Batch
) -> Draft:
    petition = records_pb2.Petition()
    petition.CopyFrom(given)
    problems = Problems()
    limits.check(petition, problems)
    problems.raise_if_any("petition not received")
    check_officer(officer_id, problems)
    check_person(petition.petitioner, "petitioner", problems)
    problems.require(petition.subject, "petition subject")
    if petition.channel and petition.channel not in PETITION_CHANNELS:
        problems.add(f"channel must be one of {', '.join(PETITION_CHANNELS)}")
    imported = bool(batch.imported_from)
    received = station.entry_time(
        petition.received_at_ms, "time received", problems, imported=imported
    )
    year = ist_date(received).year
    given_serial = _given_serial(
        petition.receipt_number, _RECEIPT, year, "receipt number", problems
    )
    problems.raise_if_any("petition not received")
    serial = _number(
        station, batch, "petition", str(year), given_serial, "receipt number", problems
    )
    problems.raise_if_any("petition not received")
    petition.receipt_number = petition_receipt(serial, year)
    batch.refs.add(petition.receipt_number)
    petition.received_at_ms = received
    petition.channel = petition.channel or "in person"
    _assign_person_ids(station, [petition.petitioner], batch)
    # No offence is cited yet: only a child is protected (JJ Act s.74), the petitioner included.
    entries = [
        records_pb2.PersonInCase(person=petition.petitioner, role=records_pb2.COMPLAINANT),
        *petition.respondents,
    ]
    assessment = withholding.assess_persons(entries, withholding.Offence(occurred_ms=received))
    persons = [petition.petitioner, *(r.person for r in petition.respondents)]
    sealed = _seal(assessment, persons, petition.receipt_number, petition, "petition")
    batch.bodies += 1
    body = station.body(officer_id, petition, imported_from=batch.imported_from)
    return Draft("petition", petition.receipt_number, [body], sealed=sealed)


def draft_ncr(
    station: Station, officer_id: str, given: records_pb2.NonCognizableReport, batch: Batch
) -> Draft:
    ncr = records_pb2.NonCognizableReport()
    ncr.CopyFrom(given)
    problems = Problems()
    limits.check(ncr, problems)
    problems.raise_if_any("non-cognizable report not registered")
    check_officer(officer_id, problems)
    check_person(ncr.informant, "informant", problems)
    problems.require(ncr.brief_facts, "brief facts")
    reported = station.entry_time(
        ncr.reported_at_ms, "time reported", problems, imported=bool(batch.imported_from)
    )
    occurred_ms = _check_ncr_occurrence(ncr, reported, problems)
    check_register_sections(
        NCR_REGISTER, ncr.sections, ist_date(occurred_ms), station.statutes, problems
    )
    year = ist_date(reported).year
    given_serial = _given_serial(ncr.ncr_number, _NCR, year, "NCR number", problems)
    problems.raise_if_any("non-cognizable report not registered")
    serial = _number(station, batch, "ncr", str(year), given_serial, "NCR number", problems)
    problems.raise_if_any("non-cognizable report not registered")
    ncr.ncr_number = ncr_number(serial, year)
    batch.refs.add(ncr.ncr_number)
    ncr.reported_at_ms = reported
    _assign_person_ids(station, [ncr.informant], batch)
    offence = withholding.offence_of(ncr.sections, station.statutes, occurred_ms)
    informant = records_pb2.PersonInCase(person=ncr.informant, role=records_pb2.INFORMANT)
    assessment = withholding.assess_persons([informant], offence)
    sealed = _seal(assessment, [ncr.informant], ncr.ncr_number, ncr, "ncr")
    batch.bodies += 1
    body = station.body(officer_id, ncr, imported_from=batch.imported_from)
    return Draft("ncr", ncr.ncr_number, [body], sealed=sealed)


def draft_fir(
    station: Station,
    officer_id: str,
    given: records_pb2.Fir,
    batch: Batch,
    *,
    withhold_informants: bool = False,
    gd_note: str = "",
) -> Draft:
    fir = records_pb2.Fir()
    fir.CopyFrom(given)
    problems = Problems()
    limits.check(fir, problems)
    problems.raise_if_any("FIR not registered")
    check_officer(officer_id, problems)
    imported = bool(batch.imported_from)
    registered = station.entry_time(
        fir.registered_at_ms, "registration time", problems, imported=imported
    )
    _check_fir_facts(station, fir, registered, problems, imported=imported)
    # The year and serial come from the registration time and the station's counter; an
    # import alone may give its original number (checked by `_number`).
    year = ist_date(registered).year
    given_serial = _given_fir_serial(fir, year, imported, problems)
    previous = _previous_registration(station, year)
    if previous is not None and registered < previous and not fir.zero_fir and not imported:
        problems.add("registration time is before the previous FIR's: FIRs cannot be ante-dated")
    problems.raise_if_any("FIR not registered")
    series = "zero" if fir.zero_fir else "fir"
    serial = _number(station, batch, series, str(year), given_serial, "FIR number", problems)
    problems.raise_if_any("FIR not registered")

    fir.registered_at_ms = registered
    fir.district = fir.district or station.config.district
    fir.police_station = fir.police_station or station.config.station
    fir.crime_head = station.statutes.crime_head(list(fir.sections))
    fir.information_received_ms = fir.information_received_ms or registered
    if fir.zero_fir:
        fir.zero_fir_number = zero_fir_number(serial, year)
        fir.fir_number, fir.fir_serial, fir.fir_year = "", 0, year
        ref = fir.zero_fir_number
    else:
        fir.fir_serial, fir.fir_year = serial, year
        fir.fir_number = fir_number(serial, year)
        ref = fir.fir_number
        if not imported:
            station.numbers.last_registered[year] = registered
    batch.refs.add(ref)
    _number_accused(fir)
    draft = Draft("fir", ref)
    if not fir.gd_reference:
        sections = ", ".join(f"{s.act} {s.section}" for s in fir.sections)
        gd = draft_gd(
            station,
            officer_id,
            "fir",
            f"{ref} registered{gd_note} u/s {sections}",
            registered,
            batch,
        )
        fir.gd_reference = gd.ref.removeprefix("GD ")
        draft.bodies.extend(gd.bodies)
        draft.related = (gd.ref,)
    _assign_person_ids(station, [p.person for p in fir.persons], batch)
    draft.sealed = _seal_fir(station, fir, ref, withhold_informants)
    batch.bodies += 1
    draft.bodies.append(station.body(officer_id, fir, imported_from=batch.imported_from))
    return draft


def _seal_fir(
    station: Station, fir: records_pb2.Fir, ref: str, withhold_informants: bool
) -> list[SealedIdentity]:
    """Seals the identities the withholding policy protects (in place) and redacts their names
    from the FIR's free text."""
    assessment = withholding.assess_fir(
        fir, station.statutes, withhold_informants=withhold_informants
    )
    return _seal(assessment, [e.person for e in fir.persons], ref, fir, "fir")


def _seal(
    assessment: withholding.Assessment,
    persons: Sequence[records_pb2.Person],
    ref: str,
    record: Any,
    kind: str,
) -> list[SealedIdentity]:
    """Applies the policy's answer to `persons` of `record` (sealing them in place) and redacts
    the sealed names from the record's free text; what the sealed store must keep."""
    sealed = withholding.seal(assessment, persons, ref)
    if sealed:
        rewrite_free_text(record, kind, Redactor(sealed))
    return sealed


def latest_fir_registration_ms(station: Station) -> int | None:
    """When the latest FIR of this or last year was registered (None if there is none)."""
    with station.writing():
        this_year = ist_date(station.now()).year
        for year in (this_year, this_year - 1):
            found = _previous_registration(station, year)
            if found is not None:
                return found
        return None


def _previous_registration(station: Station, year: int) -> int | None:
    """Registration time of the year's latest FIR: from the cache, else from the ledger."""
    if year not in station.numbers.last_registered:
        serial = station.numbers.cached("fir", str(year)) or station.index.lookups.max_fir_serial(
            year
        )
        position = station.index.lookups.record_index(fir_number(serial, year)) if serial else None
        if position is None:
            return None
        station.numbers.last_registered[year] = station.ledger.body(position).fir.registered_at_ms
    return station.numbers.last_registered[year]


def _check_ncr_occurrence(
    ncr: records_pb2.NonCognizableReport, reported: int, problems: Problems
) -> int:
    """The NCR's occurrence: not after the report, not ending before it begins. Returns when
    the offence began (the report's time when no occurrence is given): its date decides the
    law cited (an IPC 323 NCR reported today for a June 2024 offence)."""
    if ncr.occurrence_from_ms > reported or ncr.occurrence_to_ms > reported:
        problems.add("occurrence is after the report")
    if ncr.occurrence_to_ms and ncr.occurrence_to_ms < ncr.occurrence_from_ms:
        problems.add("occurrence ends before it begins")
    if ncr.occurrence_to_ms and not ncr.occurrence_from_ms:
        problems.add("occurrence has an end but no beginning")
    return ncr.occurrence_from_ms or reported


def _check_fir_facts(
    station: Station,
    fir: records_pb2.Fir,
    registered: int,
    problems: Problems,
    *,
    imported: bool = False,
) -> None:
    """The facts of an FIR: times, sections (`check_register_sections`), who recorded the
    information and how (`withholding.recording_problems`: not for an import, whose register
    predates the record of it), persons, property."""
    problems.require(fir.brief_facts, "brief facts")
    problems.require(fir.place_of_occurrence.description, "place of occurrence")
    if not fir.occurrence_from_ms:
        problems.add("time of occurrence is required")
    else:
        if fir.occurrence_from_ms > registered:
            problems.add("occurrence is after registration")
        if fir.occurrence_to_ms and fir.occurrence_to_ms < fir.occurrence_from_ms:
            problems.add("occurrence ends before it begins")
        if fir.occurrence_to_ms > registered:
            problems.add("occurrence is after registration")
    if fir.information_received_ms > registered:
        problems.add("information was received after registration")
    occurred = ist_date(fir.occurrence_from_ms) if fir.occurrence_from_ms else None
    check_register_sections(FIR_REGISTER, fir.sections, occurred, station.statutes, problems)
    if not imported:
        # Who recorded the information, and how (BNSS s.173(1) provisos), for every path.
        assessment = withholding.assess_fir(fir, station.statutes)
        for problem in withholding.recording_problems(assessment, fir.recording):
            problems.add(problem)
    informants = [
        p for p in fir.persons if p.role in (records_pb2.COMPLAINANT, records_pb2.INFORMANT)
    ]
    if not informants:
        problems.add("a complainant or informant is required")
    roles = records_pb2.PersonRole
    for number, entry in enumerate(fir.persons, 1):
        what = f"person {number} ({roles.Name(entry.role).lower()})"
        if entry.role == records_pb2.PERSON_ROLE_UNSPECIFIED:
            problems.add(f"person {number}: role is required")
        if entry.person.identity_commitment and has_identity(entry.person):
            problems.add(f"{what}: a sealed identity carries its commitment only")
        if entry.unknown and entry.role == records_pb2.ACCUSED:
            continue
        check_person(entry.person, what, problems)
    check_property(fir.property, problems)
    if fir.zero_fir and not fir.jurisdiction_station.strip():
        problems.add("a Zero FIR needs the station with jurisdiction")
    if fir.information_type and fir.information_type not in ("oral", "written", "electronic"):
        problems.add("information type must be oral, written or electronic")


_FIR_NUMBER = re.compile(r"FIR No\. ([0-9]{1,9})/([0-9]{4})")
_RECEIPT = re.compile(r"PET/([0-9]{4})/([0-9]{1,9})")
_NCR = re.compile(r"NCR ([0-9]{1,9})/([0-9]{4})")


def _given_fir_serial(fir: records_pb2.Fir, year: int, imported: bool, problems: Problems) -> int:
    """The FIR serial the caller gave (0: none), which must agree with the year of
    registration. Only an import may give one (`_number` refuses it otherwise); a Zero FIR is
    numbered in its own series and never given an FIR number."""
    if fir.zero_fir:
        if fir.fir_serial or fir.fir_number or fir.fir_year:
            problems.add("a Zero FIR is numbered in its own series: give no FIR number")
        return 0
    serial = fir.fir_serial
    given_year = fir.fir_year
    if fir.fir_number:
        match = _FIR_NUMBER.fullmatch(fir.fir_number)
        if not match:
            problems.add(f"FIR number {fir.fir_number!r} is not of the form 'FIR No. N/YYYY'")
            return 0
        if serial and serial != int(match[1]):
            problems.add(f"FIR serial {serial} disagrees with {fir.fir_number}")
        serial, given_year = int(match[1]), int(match[2])
    if given_year and given_year != year:
        problems.add(
            f"FIR year {given_year} given, but the FIR is registered in {year}: the year is the "
            "year of registration"
        )
        return 0
    if given_year and not serial:
        problems.add(
            "the FIR year is the year of registration, not given"
            if not imported
            else "an FIR year needs its serial"
        )
        return 0
    return serial


def _given_serial(
    number: str, pattern: re.Pattern[str], year: int, what: str, problems: Problems
) -> int:
    """The serial of a receipt or NCR number the caller gave (0: none); `_number` decides
    whether one may be given. Its year must be the year of the record's time."""
    if not number:
        return 0
    match = pattern.fullmatch(number.strip())
    if match is None:
        problems.add(f"{what} {number!r} is not a {what} of this station's form")
        return 0
    groups = [int(g) for g in match.groups()]
    given_year, serial = (groups[0], groups[1]) if pattern is _RECEIPT else (groups[1], groups[0])
    if given_year != year:
        problems.add(f"{what} {number} is not of the year of its record ({year})")
        return 0
    return serial


def _number_accused(fir: records_pb2.Fir) -> None:
    """Codes accused A1..A9, then B1.., in the order given (CCTNS convention)."""
    count = 0
    for entry in fir.persons:
        if entry.role == records_pb2.ACCUSED and not entry.accused_code:
            letter, digit = divmod(count, 9)
            entry.accused_code = f"{chr(ord('A') + letter)}{digit + 1}"
            count += 1


def _assign_person_ids(
    station: Station, persons: Sequence[records_pb2.Person], batch: Batch
) -> None:
    """Person ids are unique forever: P-<ledger index of the entry>-<position in it>."""
    position = station.ledger.size() + batch.bodies
    for number, person in enumerate(persons, 1):
        if not person.person_id:
            person.person_id = f"P-{position}-{number}"


def draft_amendment(
    station: Station, officer_id: str, ref: str, reason: str, changes: dict[str, Any]
) -> Draft:
    problems = Problems()
    limits.check(records_pb2.Amendment(record_ref=ref, reason=reason), problems)
    _check_amended_values(changes, problems)
    problems.raise_if_any(f"correction to {limits.clip(ref, limits.REFERENCE)} not written")
    check_officer(officer_id, problems)
    problems.require(reason, "reason for the correction")
    target = station.index.lookups.record_index(ref)
    if target is None:
        problems.add(f"no record {ref!r} at this station")
    if not changes:
        problems.add("no corrections given")
    for path, value in changes.items():
        if not _AMENDABLE.match(path):
            problems.add(f"{path!r} cannot be corrected by amendment")
        elif path == "sections":
            _check_amended_sections(station, value, problems)
    try:
        changes_json = json.dumps(changes, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        problems.add(f"corrections must be plain values: {exc}")
        changes_json = ""
    if target is not None and not problems.items:
        changes, reason = _guard_sealed(station, ref, changes, reason, problems)
        changes_json = json.dumps(changes, sort_keys=True, ensure_ascii=False)
    amendment = records_pb2.Amendment(record_ref=ref, reason=reason, changes_json=changes_json)
    limits.check(amendment, problems)
    problems.raise_if_any(f"correction to {ref} not written")
    assert target is not None
    amendment.amends_index = target
    return Draft("amendment", ref, [station.body(officer_id, amendment)])


def _check_amended_values(changes: dict[str, Any], problems: Problems) -> None:
    """Each corrected value within the limit of the field it corrects (a list: its items)."""
    for path, value in changes.items():
        field = _AMENDED_FIELDS.get(path.rsplit(".", 1)[-1])
        if field is None:
            continue
        label = path.replace("_", " ")
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > limits.count(field):
            problems.add(f"{label}: {len(value)} given, at most {limits.count(field)}")
        for item in items:
            if isinstance(item, str) and len(item) > limits.text(field):
                problems.add(f"{label} is longer than {limits.text(field):,} characters")
                break


def _guard_sealed(
    station: Station, ref: str, changes: dict[str, Any], reason: str, problems: Problems
) -> tuple[dict[str, Any], str]:
    """A correction never puts a protected identity back in clear: changes to the fields of a
    person the withholding policy protects (or whose identity is sealed) are refused, and the
    protected names in corrected text and in the reason are redacted."""
    kind, view = views.amended_view(station, ref)
    found = views.protection(station, kind, view)
    protected: set[str] = set()
    for position, entry in enumerate(view.get("persons", [])):
        person = entry.get("person", {})
        sealed = bool(person.get("identity_commitment"))
        if sealed or (found.assessment is not None and found.assessment.protected(position)):
            protected.add(str(person.get("person_id", "")))
    for path in changes:
        match = _PERSON_PATH.match(path)
        if match and match[1] in protected:
            problems.add(
                f"{path!r}: the identity of {match[1]} is withheld by law and cannot be "
                "corrected in the shared record"
            )
    texts = set(FREE_TEXT.get(kind, ()))
    changes = {
        path: found.redactor(value) if path in texts and isinstance(value, str) else value
        for path, value in changes.items()
    }
    return changes, found.redactor(reason)


def _check_amended_sections(station: Station, value: Any, problems: Problems) -> None:
    if not isinstance(value, list) or not value:
        problems.add("sections must be a list like ['BNS:303(2)']")
        return
    for item in value:
        act, _, section = str(item).partition(":")
        if not station.statutes.is_known(act, section):
            problems.add(f"unknown section {item!r}")
