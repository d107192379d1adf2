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
    "MAX_PERSONS",
    "MAX_PROPERTY",
    "MAX_RUPEES",
    "PORTAL_LIMITS",
    "PROPERTY_ROWS",
    "PROPERTY_STATUSES",
    "ROW_KINDS",
    "SECTION_ROWS",
    "VICTIM_ROWS",
    "WITNESS_ROWS",
    "FirForm",
    "RowsRead",
    "age",
    "contact_fields",
    "local_ms",
    "parse_fir",
    "person",
    "row_indexes",
    "rupees",
    "section_citation",
    "sections",
    "today",
]

INFORMATION_TYPES = ("oral", "written", "electronic")
PROPERTY_STATUSES = ("stolen", "recovered", "seized", "unclaimed", "lost")
# The section rows of the FIR form (an FIR seldom cites more; amendments add later).
SECTION_ROWS = 5
# The rows of each kind a typical FIR fills (the fixed slots the form once had; the request-size
# test fills these). The form itself grows: any number of rows, up to the limits below.
ACCUSED_ROWS = 3
VICTIM_ROWS = 2
WITNESS_ROWS = 2
PROPERTY_ROWS = 2
# The kinds of row the FIR form grows by, as their field names begin ("accused_0_name").
ROW_KINDS = ("accused", "victim", "witness", "property")
# The most persons (the complainant too) and property items one FIR holds (node.records.limits).
MAX_PERSONS = limits.count("Fir.persons")
MAX_PROPERTY = limits.count("Fir.property")
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
# A row's field name: its kind and its index, written as JavaScript writes a number (no leading
# zero, so "accused_01_" and "accused_1_" are never two rows), at most four digits.
_ROW_FIELD = re.compile(r"([a-z]+)_(0|[1-9][0-9]{0,3})_[a-z_]+")
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
class RowsRead:
    """What a form that grows by rows was refused for: every problem, and those of each row by
    the row's field prefix ("accused_2_"), for the page to show beside the row."""

    problems: list[str] = field(default_factory=list)
    row_problems: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, prefix: str, lines: Sequence[str]) -> None:
        """Adds the problems `lines` of the row whose fields begin with `prefix`."""
        if lines:
            self.problems.extend(lines)
            self.row_problems.setdefault(prefix, []).extend(lines)


@dataclass(slots=True)
class FirForm(RowsRead):
    """The FIR form read: the record, and what it was refused for."""

    fir: records_pb2.Fir = field(default_factory=records_pb2.Fir)


def row_indexes(
    values: Mapping[str, str], kinds: Sequence[str] = ROW_KINDS
) -> dict[str, list[int]]:
    """The index of every row of each kind (the FIR form's `ROW_KINDS`, or a case form's) the
    form was sent with, filled or empty, in order: a form grows by rows ("accused_7_name",
    "item_39_category"), and a removed row leaves a gap."""
    found: dict[str, set[int]] = {kind: set() for kind in kinds}
    for key in values:
        match = _ROW_FIELD.fullmatch(key)
        if match is not None and match[1] in found:
            found[match[1]].add(int(match[2]))
    return {kind: sorted(indexes) for kind, indexes in found.items()}


_PERSON_FIELDS = ("name", "relation", "relative_name", "age", "sex", "address", "mobile")
_ROLES = {
    "accused": records_pb2.ACCUSED,
    "victim": records_pb2.VICTIM,
    "witness": records_pb2.WITNESS,
}


def _person_row(
    values: Mapping[str, str], kind: str, index: int, form: FirForm
) -> records_pb2.PersonInCase | None:
    """The person of one row ("accused 3" is the row `accused_2_`); None for a row left empty."""
    prefix = f"{kind}_{index}_"
    what = f"{kind} {index + 1}"
    role = _ROLES[kind]
    name = values.get(prefix + "name", "").strip()
    if kind == "accused" and (values.get(prefix + "unknown") == "on" or name.lower() == "unknown"):
        return records_pb2.PersonInCase(role=role, unknown=True)
    if not any(values.get(prefix + f, "").strip() for f in _PERSON_FIELDS):
        return None
    problems: list[str] = []
    if not name:
        unknown = " (or tick that the accused is not known)" if kind == "accused" else ""
        problems.append(f"{what}: write the name{unknown}, or clear the row")
    found = person(values, prefix, what, problems)
    problems += [f"{what}: {line}" for line in limits.problems(found)]
    form.refuse(prefix, problems)
    return records_pb2.PersonInCase(person=found, role=role)


def _property_row(
    values: Mapping[str, str], index: int, form: FirForm
) -> records_pb2.PropertyItem | None:
    """The item of one row ("property item 3" is the row `property_2_`); None if left empty."""
    prefix = f"property_{index}_"
    what = f"property item {index + 1}"
    problems: list[str] = []
    item = _property(values, prefix, what, problems)
    if item is not None:
        problems += [f"{what}: {line}" for line in limits.problems(item)]
    form.refuse(prefix, problems)
    return item


def parse_fir(values: Mapping[str, str]) -> FirForm:
    """The FIR form (`/fir/new`, and a petition's conversion) as an FIR record: any number of
    accused, victims, witnesses and property items (`row_indexes`), rows left empty skipped, at
    most MAX_PERSONS persons and MAX_PROPERTY items; every problem names its row."""
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
    form = FirForm(problems, fir=fir)
    for row in range(SECTION_ROWS):
        cited = section_citation(values.get(f"section_{row}", ""), problems)
        if cited is not None:
            fir.sections.append(cited)
    complainant = person(values, "complainant_", "complainant", problems)
    if any(v.strip() for k, v in values.items() if k.startswith("complainant_")):
        fir.persons.append(
            records_pb2.PersonInCase(person=complainant, role=records_pb2.COMPLAINANT)
        )
    rows = row_indexes(values)
    for kind in ("accused", "victim", "witness"):
        for index in rows[kind]:
            found = _person_row(values, kind, index, form)
            if found is not None:
                fir.persons.append(found)
    for index in rows["property"]:
        item = _property_row(values, index, form)
        if item is not None:
            fir.property.append(item)
    if len(fir.persons) > MAX_PERSONS:
        problems.append(
            f"at most {MAX_PERSONS} persons in one FIR, the complainant included: "
            f"{len(fir.persons)} given"
        )
    if len(fir.property) > MAX_PROPERTY:
        problems.append(
            f"at most {MAX_PROPERTY} property items in one FIR: {len(fir.property)} given"
        )
    _recording(values, fir.recording, problems)
    return form


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
