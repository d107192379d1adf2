"""Reading submitted forms into records: the FIR form (sections, persons, property, times), the
persons and sections of the casework forms, and the contact fields of the citizens' forms.

Every reader appends one line per problem to the `problems` (or `errors`) list it is given and
returns what it could read, so a page shows every problem at once and writes nothing. Nothing
here touches a request or the station: the values come in as a mapping of strings.

Numbers and dates are read within the table of limits (`node.records.limits`): ages, rupees and
times parse only in their ranges (digits 0-9, years FIRST_YEAR..LAST_YEAR), so no input reaches a
protobuf field or a datetime it would overflow; text fields are held to their limits by the
station, which refuses the record whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ledger.errors import InputError
from node.records import limits
from node.records.validation import FIRST_YEAR, IST, LAST_YEAR, normalise_mobile, utc_ms
from node.records.withholding import RECORDING_PLACES
from protos import records_pb2

__all__ = [
    "ACCUSED_ROWS",
    "INFORMATION_TYPES",
    "MAX_AGE",
    "MAX_RUPEES",
    "PORTAL_LIMITS",
    "PROPERTY_ROWS",
    "PROPERTY_STATUSES",
    "SECTION_ROWS",
    "VICTIM_ROWS",
    "WITNESS_ROWS",
    "FirForm",
    "age",
    "contact_fields",
    "local_ms",
    "parse_fir",
    "person",
    "rupees",
    "section_citation",
    "sections",
    "today",
]

INFORMATION_TYPES = ("oral", "written", "electronic")
PROPERTY_STATUSES = ("stolen", "recovered", "seized", "unclaimed", "lost")
# Fixed rows of the FIR form (a station's FIR seldom lists more; amendments add later).
SECTION_ROWS = 5
ACCUSED_ROWS = 3
VICTIM_ROWS = 2
WITNESS_ROWS = 2
PROPERTY_ROWS = 2
_STATUS_NAMES = frozenset(s.upper() for s in PROPERTY_STATUSES)
# The oldest age the forms take, and the largest value in rupees (₹10 lakh crore).
MAX_AGE = 150
MAX_RUPEES = 10**13
# The limits the citizens' forms show (maxlength, "at most N characters"), from the table.
PORTAL_LIMITS = {
    "name": limits.text("Person.name"),
    "address": limits.text("Person.address"),
    "mobile": limits.text("Person.mobile"),
    "subject": limits.text("Petition.subject"),
    "details": limits.text("Petition.details"),
    "reference": limits.REFERENCE,
    "query": limits.IDENTIFIER,  # the public vehicle search: a registration, engine or chassis
    "office": limits.text("Grievance.against_office"),
    "note": limits.text("ServiceRequestUpdate.note"),
}
_CITATION = re.compile(r"^\s*([A-Za-z][A-Za-z_-]*)\s*[: ]\s*(?:u/s\s*|s\.\s*)?(\S.*?)\s*$")


def today() -> str:
    """Today's date in India, as YYYY-MM-DD."""
    return datetime.now(IST).date().isoformat()


def local_ms(text: str, what: str, problems: list[str]) -> int:
    """Milliseconds of a datetime-local value ("2026-11-28T14:05", read as IST); 0 if empty."""
    text = text.strip()
    if not text:
        return 0
    try:
        if len(text) > limits.CODE:
            raise ValueError(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{what}: {limits.clip(text, limits.CODE)!r} is not a date and time")
        return 0
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        problems.append(f"{what}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
        return 0
    return utc_ms(moment)


def age(text: str, what: str, problems: list[str]) -> int:
    """An age in whole years (digits 0-9, at most MAX_AGE); 0 if empty."""
    return _number(
        text,
        MAX_AGE,
        f"{what}: age must be a number of years (digits 0-9, at most {MAX_AGE})",
        problems,
    )


def rupees(text: str, what: str, problems: list[str]) -> int:
    """A value in whole rupees ("65,000" is 65000; at most MAX_RUPEES); 0 if empty."""
    return _number(
        text.replace(",", ""),
        MAX_RUPEES,
        f"{what}: value must be a whole number of rupees (digits 0-9, at most {MAX_RUPEES:,})",
        problems,
    )


def _number(text: str, most: int, refusal: str, problems: list[str]) -> int:
    try:
        return limits.whole_number(text, "number", most)
    except InputError:
        problems.append(refusal)
        return 0


def person(
    values: Mapping[str, str], prefix: str, what: str, problems: list[str]
) -> records_pb2.Person:
    """A Person from the form fields `<prefix>name`, `<prefix>age`, ..."""
    return records_pb2.Person(
        name=values.get(prefix + "name", "").strip(),
        relation=values.get(prefix + "relation", "").strip(),
        relative_name=values.get(prefix + "relative_name", "").strip(),
        age=age(values.get(prefix + "age", ""), what, problems),
        sex=values.get(prefix + "sex", "").strip(),
        address=values.get(prefix + "address", "").strip(),
        mobile=values.get(prefix + "mobile", "").strip(),
    )


def section_citation(text: str, problems: list[str]) -> records_pb2.ActSection | None:
    """One act and section ("BNS 303(2)", "bns: u/s 303(2)"); None if empty."""
    text = text.strip()
    if not text:
        return None
    match = _CITATION.match(text)
    if match is None:
        problems.append(f"section {text!r}: write the act and the section, e.g. BNS 303(2)")
        return None
    return records_pb2.ActSection(act=match[1].upper(), section=match[2].strip())


def sections(text: str, problems: list[str]) -> list[records_pb2.ActSection]:
    """Sections written in one field, separated by commas or semicolons."""
    out: list[records_pb2.ActSection] = []
    for part in text.replace(";", ",").split(","):
        cited = section_citation(part, problems)
        if cited is not None:
            out.append(cited)
    return out


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
        value_inr=rupees(given["value"], what, problems),
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


@dataclass(slots=True)
class FirForm:
    """The FIR form read: the record and the problems found."""

    fir: records_pb2.Fir
    problems: list[str] = field(default_factory=list)


def parse_fir(values: Mapping[str, str]) -> FirForm:
    """The FIR form (`/fir/new`, and a petition's conversion) as an FIR record."""
    problems: list[str] = []
    fir = records_pb2.Fir(
        occurrence_from_ms=local_ms(values.get("occurrence_from", ""), "occurrence from", problems),
        occurrence_to_ms=local_ms(values.get("occurrence_to", ""), "occurrence to", problems),
        place_of_occurrence=records_pb2.Place(description=values.get("place", "").strip()),
        brief_facts=values.get("brief_facts", "").strip(),
        information_type=values.get("information_type", "").strip(),
        zero_fir=values.get("zero_fir") == "on",
        jurisdiction_station=values.get("jurisdiction_station", "").strip(),
    )
    for row in range(SECTION_ROWS):
        cited = section_citation(values.get(f"section_{row}", ""), problems)
        if cited is not None:
            fir.sections.append(cited)
    complainant = person(values, "complainant_", "complainant", problems)
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
                    person=person(values, prefix, f"accused {row + 1}", problems),
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
                        person=person(values, prefix, f"{label} {row + 1}", problems), role=role
                    )
                )
    for row in range(PROPERTY_ROWS):
        item = _property(values, f"property_{row}_", f"property item {row + 1}", problems)
        if item is not None:
            fir.property.append(item)
    _recording(values, fir.recording, problems)
    return FirForm(fir, problems)


def _recording(
    values: Mapping[str, str], recording: records_pb2.InformationRecording, problems: list[str]
) -> None:
    """How the information was recorded (BNSS s.173(1) second proviso). Who recorded it is the
    signed-in officer, filled by the page (`node.web.rules.check_fir_recorder`), never a field."""
    place = values.get("recording_place", "").strip()
    if place and place not in RECORDING_PLACES:
        problems.append(f"the place of recording is one of: {', '.join(RECORDING_PLACES)}")
        place = ""
    recording.informant_disabled = values.get("informant_disabled") == "on"
    recording.place = place
    recording.videographed = values.get("videographed") == "on"
    recording.interpreter = values.get("interpreter", "").strip()


def contact_fields(
    form: dict[str, str], errors: list[str], required: Sequence[tuple[str, int]]
) -> str | None:
    """Checks a citizen form's required fields (present, not too long) and its mobile number;
    appends one catalog key per problem to `errors`; returns the normalised mobile number."""
    for name, limit in required:
        if not form[name]:
            errors.append(f"portal.error.{name}_required")
        elif len(form[name]) > limit:
            errors.append(f"portal.error.{name}_too_long")
    number = normalise_mobile(form["mobile"])
    if number is None:
        errors.append("portal.error.mobile")
    return number
