"""Past cases from an earlier system (ten years of a station's FIRs, with their persons,
sections, property, final reports and court results), imported into the station's ledger with
their original numbers and dates: the reader of the documented export format
(docs/legacy-import.md) and the import itself (`cctns import`).

Theory of operation:

1. Read. A JSON file (a list of case objects, or one case object a line) or a CSV set
   (`CSV_FILES`, joined by the legacy FIR number) becomes one `LegacyCase` per FIR: the FIR
   record, and its final reports and court results as `CaseEvent`s. Every problem of the format
   (a missing or unknown column, a bad date, an unknown role, a duplicate FIR number, a row of a
   case that is not there) is listed with its file and line; nothing is dropped silently.
2. Validate the whole export against the station before anything is written: every FIR is
   drafted through the registers' import path (`registers.draft_fir` with an import batch: the
   same rules as `import_records`, among them sections known and in force through the station's
   statutes, and numbers neither taken nor reaching the live series), every event checked by the
   rules `node.station.casework.record_case_event` applies to it. Any problem: InputError
   listing them all, each with its row, and nothing written.
3. Write in chunks, in register order (year, serial): each chunk one group commit holding each
   case's GD entry, FIR and events, all marked `EntryBody.imported_from`. A case is never split
   across commits, so an interruption leaves every case whole or absent.
4. Resume: a case whose FIR number the station already holds as imported (with the same
   registration time) is skipped and counted; so a run interrupted between chunks, run again,
   ends with every case exactly once. The live series continues after the highest imported
   number (`registers._number`).

What this module must never do: write a row of an export that has any problem; write a case
twice; go around the live registers' rules (an import is marked as one, and only an import may
carry original numbers and past times).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ledger.errors import InputError, TooLarge
from node.records import limits
from node.records.casework import REPORT_TYPES
from node.records.refs import fir_number
from node.records.sealing import Redactor, rewrite_free_text
from node.records.validation import IST, Problems, check_date, check_sections, ist_date, utc_ms
from node.station import registers
from node.station.core import Batch, Draft, Station
from protos import records_pb2

#: The files of a CSV export, in a directory; each row names its case by `fir_number`.
CSV_FILES = ("cases.csv", "persons.csv", "sections.csv", "property.csv", "outcomes.csv")
#: The columns of each file (and the keys of a JSON case object and of its lists): required
#: first, then optional.
CASE_REQUIRED = ("fir_number", "registered", "occurrence_from", "place", "brief_facts")
CASE_OPTIONAL = ("occurrence_to", "information_type", "gd_reference", "officer")
PERSON_REQUIRED = ("fir_number", "role")
PERSON_OPTIONAL = (
    "accused_code",
    "name",
    "aliases",
    "relation",
    "relative_name",
    "age",
    "sex",
    "address",
    "mobile",
    "unknown",
    "juvenile",
)
SECTION_REQUIRED = ("fir_number", "act", "section")
SECTION_OPTIONAL: tuple[str, ...] = ()
PROPERTY_REQUIRED = ("fir_number", "category", "status")
PROPERTY_OPTIONAL = (
    "description",
    "value_inr",
    "identifiers",
    "registration",
    "engine_number",
    "chassis_number",
    "make",
    "model",
)
OUTCOME_REQUIRED = ("fir_number", "kind", "date")
OUTCOME_OPTIONAL = (
    "report_type",
    "sections",
    "court",
    "case_number",
    "outcome",
    "next_hearing",
    "text",
)
_COLUMNS = {
    "cases.csv": (CASE_REQUIRED, CASE_OPTIONAL),
    "persons.csv": (PERSON_REQUIRED, PERSON_OPTIONAL),
    "sections.csv": (SECTION_REQUIRED, SECTION_OPTIONAL),
    "property.csv": (PROPERTY_REQUIRED, PROPERTY_OPTIONAL),
    "outcomes.csv": (OUTCOME_REQUIRED, OUTCOME_OPTIONAL),
}
# A JSON case object's lists, and the CSV file whose columns their objects have.
_LISTS = {
    "persons": "persons.csv",
    "sections": "sections.csv",
    "property": "property.csv",
    "outcomes": "outcomes.csv",
}
#: Outcome kinds (outcomes.csv `kind`) and the case event each becomes.
OUTCOME_KINDS = {"final_report": "final_report", "court": "court_progress"}
#: The largest export file read (a JSON file, or each CSV file): ten years of a busy station
#: (about 2,000 FIRs a year with their rows) is a few tens of megabytes.
MAX_EXPORT_FILE_BYTES = 512 * 1024 * 1024
#: Cases written per group commit.
CHUNK = 200

_FIR = re.compile(r"(?:FIR\s*No\.?\s*)?0*([0-9]{1,9})\s*/\s*([0-9]{4})", re.IGNORECASE)
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})(.*)")
_TRUE, _FALSE = ("yes", "y", "true", "1"), ("", "no", "n", "false", "0")

Progress = Callable[[str, int, int], None]
_ROLES = [
    name.lower()
    for name in records_pb2.PersonRole.DESCRIPTOR.values_by_name
    if "UNSPECIFIED" not in name
]
_STATUSES = [
    name.lower()
    for name in records_pb2.PropertyStatus.DESCRIPTOR.values_by_name
    if "UNSPECIFIED" not in name
]


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the export: where it is ("persons.csv line 7", "cases.json case 3
    persons[2]") and its fields as text."""

    where: str
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "").strip()


@dataclass(slots=True)
class RawCase:
    """A case's rows, before they are read into records."""

    case: Row
    persons: list[Row] = field(default_factory=list)
    sections: list[Row] = field(default_factory=list)
    property: list[Row] = field(default_factory=list)
    outcomes: list[Row] = field(default_factory=list)


@dataclass(slots=True)
class LegacyCase:
    """One past case: its FIR (with its original number and times) and its events, each with
    the row it came from."""

    where: str
    ref: str  # "FIR No. 17/2019"
    officer: str
    fir: records_pb2.Fir
    events: list[tuple[str, records_pb2.CaseEvent]] = field(default_factory=list)

    @property
    def key(self) -> tuple[int, int]:
        return (self.fir.fir_year, self.fir.fir_serial)


@dataclass(frozen=True, slots=True)
class LegacyExport:
    """An export as read: its cases (in register order) and the problems of its format."""

    cases: list[LegacyCase]
    problems: list[str]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did (or, checked only, would do)."""

    cases: int  # cases in the export
    imported: int  # cases written now (0 when only checked)
    skipped: int  # cases the station already holds from an earlier run
    entries: int  # ledger entries written (or to be written): GD entries, FIRs, events
    checked_only: bool
    first: str | None = None
    last: str | None = None


# -- reading ---------------------------------------------------------------------------------------


def read_export(path: Path, officer: str, fmt: str | None = None) -> LegacyExport:
    """Reads an export (`fmt` "json" or "csv"; None: a directory is a CSV set, a file JSON)
    into cases; every problem of the format is listed, none raised. `officer` writes the
    entries of cases whose row names none."""
    fmt = fmt or ("csv" if path.is_dir() else "json")
    problems: list[str] = []
    if fmt == "csv":
        directory = path if path.is_dir() else path.parent
        raw = _read_csv_set(directory, problems)
    elif fmt == "json":
        raw = _read_json(path, problems)
    else:
        raise InputError(f"the export format is json or csv, not {fmt!r}")
    cases = [case for item in raw if (case := _read_case(item, officer, problems)) is not None]
    cases.sort(key=lambda case: case.key)
    return LegacyExport(cases, problems)


def _open_checked(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > MAX_EXPORT_FILE_BYTES:
        raise TooLarge(f"{path}: larger than {MAX_EXPORT_FILE_BYTES:,} bytes")
    # utf-8-sig: spreadsheets write a byte-order mark before the first column's name.
    return path.open(encoding="utf-8-sig", newline="")


def _read_csv_set(directory: Path, problems: list[str]) -> list[RawCase]:
    rows = {name: _read_csv(directory / name, problems) for name in CSV_FILES}
    return _join(rows["cases.csv"], {key: rows[name] for key, name in _LISTS.items()}, problems)


def _read_csv(path: Path, problems: list[str]) -> list[Row]:
    name = path.name
    if name != "cases.csv" and not path.exists():
        return []  # every file but cases.csv may be left out (no rows of its kind)
    try:
        with _open_checked(path) as stream:
            reader = csv.DictReader(stream)
            header = [h.strip() for h in reader.fieldnames or []]
            if not _header_ok(name, header, problems):
                return []
            reader.fieldnames = header
            rows = []
            for fields in reader:
                where = f"{name} line {reader.line_num}"
                if None in fields:
                    problems.append(f"{where}: more values than columns")
                    continue
                rows.append(Row(where, {k: v or "" for k, v in fields.items()}))
            return rows
    except UnicodeDecodeError as exc:
        problems.append(f"{name}: not UTF-8 text: {exc}")
    except csv.Error as exc:
        problems.append(f"{name}: not CSV: {exc}")
    return []


def _header_ok(name: str, header: Sequence[str], problems: list[str]) -> bool:
    required, optional = _COLUMNS[name]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing:
        problems.append(f"{name} line 1: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"{name} line 1: unknown column(s) {', '.join(unknown)} "
            f"(known: {', '.join(required + optional)})"
        )
    return not missing and not unknown


def _join(cases: list[Row], lists: dict[str, list[Row]], problems: list[str]) -> list[RawCase]:
    """Cases with the rows naming them; a duplicate FIR number or a row naming no case listed."""
    by_number: dict[tuple[int, int], RawCase] = {}
    joined: list[RawCase] = []
    for row in cases:
        key = _fir_key(row.get("fir_number"))
        if key is None:
            problems.append(f"{row.where}: fir_number {row.get('fir_number')[:40]!r} is not N/YYYY")
            continue
        if key in by_number:
            problems.append(
                f"{row.where}: duplicate FIR {fir_number(*key)}, also at "
                f"{by_number[key].case.where}"
            )
            continue
        by_number[key] = RawCase(row)
        joined.append(by_number[key])
    for attribute, rows in lists.items():
        for row in rows:
            key = _fir_key(row.get("fir_number"))
            found = by_number.get(key) if key is not None else None
            if found is None:
                problems.append(f"{row.where}: no case {row.get('fir_number')[:40]!r} in cases.csv")
                continue
            getattr(found, attribute).append(row)
    return joined


def _fir_key(text: str) -> tuple[int, int] | None:
    match = _FIR.fullmatch(text.strip())
    return (int(match[1]), int(match[2])) if match and int(match[1]) else None


def _read_json(path: Path, problems: list[str]) -> list[RawCase]:
    """A JSON list of case objects, or JSON lines (one case object a line)."""
    name = path.name
    with _open_checked(path) as stream:
        try:
            text = stream.read()
        except UnicodeDecodeError as exc:
            problems.append(f"{name}: not UTF-8 text: {exc}")
            return []
    items: list[tuple[str, Any]] = []
    if text.lstrip().startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"{name} line {exc.lineno}: not JSON: {exc.msg}")
            return []
        items = [(f"{name} case {n}", item) for n, item in enumerate(loaded, 1)]
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((f"{name} line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(f"{name} line {number}: not JSON: {exc.msg}")
    cases: list[Row] = []
    lists: dict[str, list[Row]] = {key: [] for key in _LISTS}
    for where, case in items:
        if not isinstance(case, dict):
            problems.append(f"{where}: not a case object")
            continue
        given_number = _text(case.get("fir_number"))
        case_keys = set(CASE_REQUIRED + CASE_OPTIONAL)
        unknown = [k for k in case if k not in case_keys and k not in _LISTS]
        if unknown:
            problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        cases.append(Row(where, {k: _text(v) for k, v in case.items() if k in case_keys}))
        for key, file_name in _LISTS.items():
            if _fir_key(given_number) is None:
                break  # said by _join; its rows belong to no case
            values = case.get(key, [])
            if not isinstance(values, list):
                problems.append(f"{where}: {key} must be a list")
                continue
            required, optional = _COLUMNS[file_name]
            for position, given in enumerate(values, 1):
                inner = f"{where} {key}[{position}]"
                value: Any = given
                if key == "sections" and isinstance(given, str):
                    act, _, section = given.strip().partition(" ")
                    value = {"act": act, "section": section}
                if not isinstance(value, dict):
                    problems.append(f"{inner}: not an object")
                    continue
                extra = [k for k in value if k not in required + optional or k == "fir_number"]
                if extra:
                    problems.append(f"{inner}: unknown field(s) {', '.join(sorted(extra))}")
                fields = {k: _text(v) for k, v in value.items()}
                fields["fir_number"] = given_number
                lists[key].append(Row(inner, fields))
    return _join(cases, lists, problems)


def _text(value: Any) -> str:
    """A JSON value as the text a CSV cell would hold ("; " between the items of a list)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return str(value)


def _read_case(raw: RawCase, default_officer: str, problems: list[str]) -> LegacyCase | None:
    """The FIR and events of one case; None (with its problems, each naming its row) when any
    row of the case is wrong."""
    found: list[str] = []
    row = raw.case

    def say(where: str, text: str) -> None:
        found.append(f"{where}: {text}")

    for name in CASE_REQUIRED:
        if not row.get(name):
            say(row.where, f"{name} is required")
    key = _fir_key(row.get("fir_number"))
    if key is None:
        return None  # said by _join
    ref = fir_number(*key)
    fir = records_pb2.Fir(
        fir_number=ref,
        fir_serial=key[0],
        fir_year=key[1],
        brief_facts=row.get("brief_facts"),
        information_type=row.get("information_type").lower(),
        gd_reference=row.get("gd_reference"),
    )
    fir.place_of_occurrence.description = row.get("place")
    registered = _moment(row, "registered", say, need_time=True)
    fir.registered_at_ms = registered or 0
    fir.occurrence_from_ms = _moment(row, "occurrence_from", say) or 0
    fir.occurrence_to_ms = _moment(row, "occurrence_to", say) or 0
    if fir.gd_reference and not re.fullmatch(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}/[0-9]{1,6}", fir.gd_reference
    ):
        say(row.where, f"gd_reference {fir.gd_reference[:40]!r} is not YYYY-MM-DD/N")
    for item in raw.sections:
        act, section = item.get("act").upper(), item.get("section")
        if not act or not section:
            say(item.where, "act and section are required")
        fir.sections.add(act=act, section=section)
    for item in raw.persons:
        _read_person(item, fir.persons.add(), say)
    for item in raw.property:
        _read_property(item, fir.property.add(), say)
    events = [
        (item.where, event) for item in raw.outcomes if (event := _read_outcome(item, ref, say))
    ]
    events.sort(key=lambda pair: pair[1].at_ms)  # in the ledger in the order they happened
    if found:
        problems.extend(found)
        return None
    officer = row.get("officer") or default_officer
    return LegacyCase(row.where, ref, officer, fir, events)


def _moment(
    row: Row, name: str, say: Callable[[str, str], None], *, need_time: bool = False
) -> int | None:
    """A date or a date and time of `row` as Unix ms (India time unless an offset is given):
    ISO ("2019-03-14", "2019-03-14 11:05") or day first ("14/03/2019 11:05"); None if empty
    or wrong (said)."""
    text = row.get(name)
    if not text:
        return None
    dmy = _DMY.fullmatch(text)
    iso = f"{dmy[3]}-{int(dmy[2]):02d}-{int(dmy[1]):02d}{dmy[4]}" if dmy else text
    try:
        moment = datetime.fromisoformat(iso.replace(" ", "T", 1) if len(iso) > 10 else iso)
    except ValueError:
        say(row.where, f"{name} {text[:40]!r} is not a date (YYYY-MM-DD or DD/MM/YYYY, HH:MM)")
        return None
    if need_time and len(iso.strip()) <= 10:
        say(row.where, f"{name} {text[:40]!r} needs its time (YYYY-MM-DD HH:MM)")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    return utc_ms(moment)


def _read_person(
    row: Row, entry: records_pb2.PersonInCase, say: Callable[[str, str], None]
) -> None:
    role = row.get("role").upper()
    if role.lower() not in _ROLES:
        say(row.where, f"role {row.get('role')[:40]!r} is not one of {', '.join(_ROLES)}")
    else:
        entry.role = records_pb2.PersonRole.Value(role)
    entry.accused_code = row.get("accused_code").upper()
    entry.unknown = _flag(row, "unknown", say)
    person = entry.person
    person.name = row.get("name")
    person.aliases.extend(a.strip() for a in row.get("aliases").split(";") if a.strip())
    person.relation = row.get("relation")
    person.relative_name = row.get("relative_name")
    person.sex = row.get("sex").upper()
    person.address = row.get("address")
    person.mobile = row.get("mobile")
    person.juvenile = _flag(row, "juvenile", say)
    person.age = _whole(row, "age", 150, say)
    if not entry.unknown and not person.name:
        say(row.where, "name is required (or unknown: yes for an accused not known)")


def _read_property(
    row: Row, item: records_pb2.PropertyItem, say: Callable[[str, str], None]
) -> None:
    item.category = row.get("category")
    item.description = row.get("description")
    item.identifiers = row.get("identifiers")
    status = row.get("status").lower()
    if status not in _STATUSES:
        say(row.where, f"status {row.get('status')[:40]!r} is not one of {', '.join(_STATUSES)}")
    else:
        item.status = records_pb2.PropertyStatus.Value(status.upper())
    item.value_inr = _whole(row, "value_inr", 10**15, say, commas=True)
    vehicle = {n: row.get(n) for n in ("registration", "engine_number", "chassis_number")}
    vehicle |= {n: row.get(n) for n in ("make", "model")}
    if any(vehicle.values()):
        item.vehicle.CopyFrom(records_pb2.Vehicle(**vehicle))


def _read_outcome(
    row: Row, ref: str, say: Callable[[str, str], None]
) -> records_pb2.CaseEvent | None:
    """A final report or a court result as the case event `record_case_event` would append."""
    kind = OUTCOME_KINDS.get(row.get("kind").lower())
    if kind is None:
        say(row.where, f"kind {row.get('kind')[:40]!r} is not one of {', '.join(OUTCOME_KINDS)}")
        return None
    at = _moment(row, "date", say)
    event = records_pb2.CaseEvent(fir_number=ref, kind=kind, at_ms=at or 0, text=row.get("text"))
    if kind == "final_report":
        event.report_type = row.get("report_type").lower()
        if event.report_type not in REPORT_TYPES:
            say(row.where, f"report_type is one of {', '.join(REPORT_TYPES)}")
        elif event.report_type == "charge_sheet":
            for cited in row.get("sections").split(";"):
                act, _, section = cited.strip().partition(" ")
                if act:
                    event.sections.add(act=act.upper(), section=section.strip())
            if not event.sections:
                say(row.where, "a charge sheet names its sections ('BNS 303(2); BNS 3(5)')")
        elif not event.text:
            say(row.where, "text (the reason for the closure report) is required")
    else:
        event.court = row.get("court")
        event.court_case_number = row.get("case_number")
        event.outcome = row.get("outcome")
        event.next_hearing = row.get("next_hearing")
        problems = Problems()
        if not event.court:
            problems.add("court is required")
        if event.next_hearing:
            check_date(event.next_hearing, "next_hearing", problems)
        if not (event.next_hearing or event.outcome or event.court_case_number):
            problems.add("a court result needs an outcome, a next hearing or a case number")
        for problem in problems.items:
            say(row.where, problem)
    return event if at else None


def _flag(row: Row, name: str, say: Callable[[str, str], None]) -> bool:
    value = row.get(name).lower()
    if value not in _TRUE + _FALSE:
        say(row.where, f"{name} {value[:20]!r} is not yes or no")
    return value in _TRUE


def _whole(
    row: Row, name: str, most: int, say: Callable[[str, str], None], *, commas: bool = False
) -> int:
    text = row.get(name).replace(",", "") if commas else row.get(name)
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or int(text) > most:
        say(row.where, f"{name} {text[:20]!r} is not a whole number up to {most:,}")
        return 0
    return int(text)


# -- importing -------------------------------------------------------------------------------------


def import_cases(
    station: Station,
    export: LegacyExport,
    *,
    source: str,
    check_only: bool = False,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> ImportResult:
    """Validates every case of `export` against the station, then (unless `check_only`) writes
    them in chunks of `chunk` cases, each case with its events in one commit, marked imported
    from `source`. Cases the station already holds from an earlier import are skipped.

    InputError listing every problem (the export's and the station's, each naming its row)
    when there is any; then nothing is written. `progress(stage, done, total)` is told of
    "checking" and "importing"."""
    source = source.strip()
    if not source:
        raise InputError("an import needs its source: what the records are imported from")
    if len(source) > registers.IMPORT_SOURCE_LIMIT:
        raise InputError(
            f"the import source is longer than {registers.IMPORT_SOURCE_LIMIT} characters"
        )
    problems = list(export.problems)
    total = len(export.cases)
    with station.writing():
        batch = Batch(imported_from=source)
        planned: list[list[Draft]] = []  # each case's drafts: its FIR (with GD entry), events
        refs: list[str] = []
        skipped = 0
        highest: dict[int, int] = {}  # the highest FIR serial of each year, before the import
        for done, case in enumerate(export.cases, 1):
            year, serial = case.key
            if year not in highest:
                highest[year] = station.index.lookups.max_fir_serial(year)
            held = _held(station, case) if serial <= highest[year] else None
            if held == _IMPORTED:
                skipped += 1
            elif held is not None:
                problems.append(f"{case.where}: {held}")
            else:
                drafts = _draft_case(station, case, batch, problems)
                if drafts:
                    planned.append(drafts)
                    refs.append(case.ref)
            if progress is not None:
                progress("checking", done, total)
        if problems:
            station.numbers.forget()  # numbers drafted here were never written
            raise InputError(
                f"{len(problems)} problem(s) in the export: nothing imported", problems
            )
        entries = sum(len(d.bodies) for drafts in planned for d in drafts)
        if check_only:
            station.numbers.forget()
            return ImportResult(total, 0, skipped, entries, True)
        for start in range(0, len(planned), chunk):
            part = planned[start : start + chunk]
            station.commit([draft for drafts in part for draft in drafts])
            if progress is not None:
                progress("importing", start + len(part), len(planned))
    return ImportResult(
        total,
        len(planned),
        skipped,
        entries,
        False,
        refs[0] if refs else None,
        refs[-1] if refs else None,
    )


#: `_held`'s answer for a case the station holds from an earlier import.
_IMPORTED = "imported"


def _held(station: Station, case: LegacyCase) -> str | None:
    """None when the station does not hold the case's FIR number; `_IMPORTED` when it holds it
    from an earlier import with the same registration time (the case is skipped); else why the
    number cannot be imported (written live, or imported for another registration time)."""
    position = station.index.lookups.record_index(case.ref)
    if position is None:
        return None
    body = station.ledger.body(position)
    if not body.imported_from:
        return f"{case.ref} is already registered live at this station"
    if body.fir.registered_at_ms != case.fir.registered_at_ms:
        return (
            f"{case.ref} was imported before (from {body.imported_from!r}) with another "
            "registration time: not the same case"
        )
    return _IMPORTED


def _draft_case(
    station: Station, case: LegacyCase, batch: Batch, problems: list[str]
) -> list[Draft]:
    """The case's drafts (GD entry and FIR, then its events) in `batch`; [] with the problems
    (each naming its row) when the station's rules refuse any of it."""
    bodies_before = batch.bodies
    found: list[str] = []
    fir: Draft | None = None
    try:
        fir = registers.draft_fir(station, case.officer, case.fir, batch)
    except InputError as exc:
        found.extend(f"{case.where} ({case.ref}): {p}" for p in exc.problems)
    for where, event in case.events:
        mine = Problems()
        _check_event(station, event, case.fir.registered_at_ms, mine)
        found.extend(f"{where}: {p}" for p in mine.items)
    if found or fir is None:
        batch.bodies = bodies_before
        problems.extend(found)
        return []
    return [fir, *(_draft_event(station, case.officer, e, fir, batch) for _, e in case.events)]


def _check_event(
    station: Station, event: records_pb2.CaseEvent, registered_ms: int, problems: Problems
) -> None:
    """What `casework.record_case_event` holds a final report or a court's progress to (the
    format's part is read by `_read_outcome`), and the past time of an imported event: not
    in the future, not before its FIR's day. An event dated the FIR's day is placed at the
    registration time (the export gives its date only)."""
    limits.check(event, problems)
    station.event_time(event.at_ms, "the date", problems)
    if ist_date(event.at_ms) < ist_date(registered_ms):
        problems.add(f"the date {ist_date(event.at_ms)} is before the FIR's registration")
    elif event.at_ms < registered_ms:
        event.at_ms = registered_ms
    if event.kind == "final_report" and event.report_type == "charge_sheet":
        check_sections(event.sections, None, station.statutes, problems)


def _draft_event(
    station: Station,
    officer: str,
    event: records_pb2.CaseEvent,
    fir: Draft,
    batch: Batch,
) -> Draft:
    """The case event's draft, as `casework._append_event` appends an event naming no persons:
    the names of the case's protected persons redacted from its free text. The FIR is drafted
    in the same commit, so the identities sealed are its draft's (a new FIR leaves no protected
    person in clear)."""
    rewrite_free_text(event, "case_event", Redactor(fir.sealed))
    batch.bodies += 1
    body = station.body(officer, event, imported_from=batch.imported_from)
    return Draft("case_event", event.fir_number, [body])


__all__ = [
    "CHUNK",
    "CSV_FILES",
    "ImportResult",
    "LegacyCase",
    "LegacyExport",
    "import_cases",
    "read_export",
]
