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
from collections.abc import Iterable, Sequence
from typing import Any

from ledger.errors import InputError
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
    GD_CATEGORIES,
    PETITION_CHANNELS,
    Problems,
    check_officer,
    check_person,
    check_property,
    check_sections,
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
    """Bulk registration (seeding, imports): items of (kind, officer_id, record).

    Each chunk is validated whole, then appended in one group commit; a bad record stops
    the run with an InputError naming it, and nothing of its chunk is written.
    """
    receipts: list[Receipt] = []
    with station.writing():
        drafts: list[Draft] = []
        batch = Batch()
        for number, (kind, officer_id, record) in enumerate(items, 1):
            try:
                drafts.append(draft(station, kind, officer_id, record, batch))
            except InputError as exc:
                # Numbers drafted for this chunk were never written: take them back.
                station.numbers.forget()
                raise InputError(f"record {number} ({kind}): {exc}", exc.problems) from exc
            if len(drafts) >= chunk:
                receipts.extend(station.commit(drafts))
                drafts, batch = [], Batch()
        if drafts:
            receipts.extend(station.commit(drafts))
    return receipts


def draft(station: Station, kind: str, officer_id: str, record: Any, batch: Batch) -> Draft:
    if kind == "fir":
        return draft_fir(station, officer_id, record, batch)
    if kind == "gd":
        gd: records_pb2.GeneralDiaryEntry = record
        return draft_gd(
            station, officer_id, gd.category, gd.summary, gd.entry_time_ms or None, batch
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
) -> Draft:
    problems = Problems()
    gd = records_pb2.GeneralDiaryEntry(
        category=category, summary=summary, entry_time_ms=entry_time_ms or 0
    )
    limits.check(gd, problems)
    problems.raise_if_any("General Diary entry not written")
    check_officer(officer_id, problems)
    if category not in GD_CATEGORIES:
        problems.add(f"GD category must be one of {', '.join(GD_CATEGORIES)}")
    problems.require(summary, "GD summary")
    when = station.given_time(entry_time_ms, "GD entry time", problems)
    problems.raise_if_any("General Diary entry not written")
    day = ist_date(when).isoformat()
    number = station.numbers.next("gd", day, lambda: station.index.lookups.max_gd_number(day))
    gd.gd_date, gd.gd_number, gd.entry_time_ms = day, number, when
    ref = "GD " + gd_ref(day, number)
    batch.refs.add(ref)
    batch.bodies += 1
    return Draft("general_diary", ref, [station.body(officer_id, gd)])


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
    if petition.receipt_number:
        problems.add("the receipt number is assigned by the station, not given")
    received = station.given_time(petition.received_at_ms, "time received", problems)
    problems.raise_if_any("petition not received")
    year = ist_date(received).year
    serial = station.numbers.next(
        "petition", str(year), lambda: station.index.lookups.max_petition_serial(year)
    )
    petition.receipt_number = petition_receipt(serial, year)
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
    body = station.body(officer_id, petition)
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
    reported = station.given_time(ncr.reported_at_ms, "time reported", problems)
    check_sections(ncr.sections, ist_date(reported), station.statutes, problems)
    for cited in ncr.sections:
        known = station.statutes.is_known(cited.act, cited.section)
        if known and station.statutes.section(cited.act, cited.section).cognizable:
            problems.add(f"{cited.act} {cited.section} is cognizable: register an FIR, not an NCR")
    if ncr.ncr_number:
        problems.add("the NCR number is assigned by the station, not given")
    problems.raise_if_any("non-cognizable report not registered")
    year = ist_date(reported).year
    serial = station.numbers.next(
        "ncr", str(year), lambda: station.index.lookups.max_ncr_serial(year)
    )
    ncr.ncr_number = ncr_number(serial, year)
    ncr.reported_at_ms = reported
    _assign_person_ids(station, [ncr.informant], batch)
    offence = withholding.offence_of(ncr.sections, station.statutes, reported)
    informant = records_pb2.PersonInCase(person=ncr.informant, role=records_pb2.INFORMANT)
    assessment = withholding.assess_persons([informant], offence)
    sealed = _seal(assessment, [ncr.informant], ncr.ncr_number, ncr, "ncr")
    batch.bodies += 1
    return Draft("ncr", ncr.ncr_number, [station.body(officer_id, ncr)], sealed=sealed)


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
    registered = station.given_time(fir.registered_at_ms, "registration time", problems)
    _check_fir_facts(station, fir, registered, problems)
    explicit = bool(fir.fir_serial or fir.fir_number)
    year = fir.fir_year or ist_date(registered).year
    if explicit and not fir.zero_fir:
        _check_explicit_number(station, fir, year, batch, problems)
    previous = _previous_registration(station, year)
    if previous is not None and registered < previous and not fir.zero_fir:
        problems.add("registration time is before the previous FIR's: FIRs cannot be ante-dated")
    problems.raise_if_any("FIR not registered")

    fir.registered_at_ms = registered
    fir.district = fir.district or station.config.district
    fir.police_station = fir.police_station or station.config.station
    fir.crime_head = station.statutes.crime_head(list(fir.sections))
    fir.information_received_ms = fir.information_received_ms or registered
    if fir.zero_fir:
        serial = station.numbers.next(
            "zero", str(year), lambda: station.index.lookups.max_zero_fir_serial(year)
        )
        fir.zero_fir_number = zero_fir_number(serial, year)
        fir.fir_number, fir.fir_serial, fir.fir_year = "", 0, year
        ref = fir.zero_fir_number
    else:
        if not explicit:
            fir.fir_serial = station.numbers.next(
                "fir", str(year), lambda: station.index.lookups.max_fir_serial(year)
            )
        fir.fir_year = year
        fir.fir_number = fir_number(fir.fir_serial, year)
        ref = fir.fir_number
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
    draft.bodies.append(station.body(officer_id, fir))
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


def _check_fir_facts(
    station: Station, fir: records_pb2.Fir, registered: int, problems: Problems
) -> None:
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
    check_sections(fir.sections, occurred, station.statutes, problems)
    known = [s for s in fir.sections if station.statutes.is_known(s.act, s.section)]
    if known and not any(station.statutes.section(s.act, s.section).cognizable for s in known):
        problems.add("no cognizable offence cited: record a non-cognizable report instead")
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


def _check_explicit_number(
    station: Station, fir: records_pb2.Fir, year: int, batch: Batch, problems: Problems
) -> None:
    serial = fir.fir_serial
    if fir.fir_number:
        match = re.fullmatch(r"FIR No\. ([0-9]{1,9})/([0-9]{4})", fir.fir_number)
        if not match:
            problems.add(f"FIR number {fir.fir_number!r} is not of the form 'FIR No. N/YYYY'")
            return
        serial, year = int(match[1]), int(match[2])
    if serial <= 0:
        problems.add("FIR serial must be positive")
        return
    number = fir_number(serial, year)
    if number in batch.refs or station.index.lookups.fir_exists(year, serial):
        problems.add(f"duplicate FIR number: {number} is already registered")
        return
    fir.fir_serial, fir.fir_year = serial, year
    station.numbers.claim(
        "fir", str(year), serial, lambda: station.index.lookups.max_fir_serial(year)
    )


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
