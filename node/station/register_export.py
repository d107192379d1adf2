"""The station's registers for a period, printed (a landscape A4 PDF table) or exported (CSV).

    register = open_register(station, "gd", parse_period("2026-11-01", "2026-11-30"), "ml")
    for line in csv_lines(register, register.rows()): ...        # streamed, a line at a time
    data = register_pdf(register, register.rows(), station_name=..., district=...)

Registers (`KINDS`): the General Diary, FIRs, non-cognizable reports, petitions, arrests and the
lock-up, the property ("thondi") register, missing persons, wanted persons, the process
register (courts' summonses and warrants), and the history sheets standing in the period (the
register of known offenders); each read from the station's index
(`node.index.register_periods`) in the order it is written. Labels are in English or Malayalam
(`LABELS`: the web's translations live in `node.web`, which this layer may not import, so the
registers keep their own small table). Registers this node does not keep yet (`NOT_KEPT`) say
so when asked for.

Every page of the PDF carries the station, the register's title in English and Malayalam, the
period and "page x of y", and repeats the table's header; a long cell wraps within its column,
and a value too long for one page goes on in rows of its own. Malayalam is shaped by HarfBuzz
and copies back out as written (`node.station.pdf_fonts`). Persons the withholding policy
protects (flagged `withheld` in the index) print as withheld, as on the FIR copy. A CSV cell
that a spreadsheet would run as a formula is neutralised, as `node.web.csvout` does.

The module reads; it never writes a record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos

from ledger.errors import InputError
from node.index import register_periods as periods
from node.index.register_periods import Period
from node.records.sealing import WITHHELD_TEXT
from node.records.validation import FIRST_YEAR, IST, LAST_YEAR, format_time, utc_ms
from node.station.core import Station
from node.station.pdf_fonts import (
    FontSet,
    ShapedTextOutput,
    TextFitter,
    cache_shaped_widths,
    find_fonts,
    setup_fonts,
    shaping_available,
    text_pieces,
)

__all__ = [
    "KINDS",
    "LANGUAGES",
    "NOT_KEPT",
    "Register",
    "RegisterKind",
    "csv_lines",
    "open_register",
    "parse_period",
    "register_pdf",
]

LANGUAGES = ("en", "ml")
# The longest period one export covers: a year of registers (a leap year and a day).
MOST_DAYS = 367
# The most characters of a cell in one table row: well within a page even in a narrow column.
PIECE_CHARS = 600


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    en: str
    ml: str
    width: float  # relative


@dataclass(frozen=True, slots=True)
class RegisterKind:
    """A register: its title in both languages and its columns."""

    kind: str
    en: str
    ml: str
    columns: tuple[Column, ...]


def _cols(*spec: tuple[str, str, str, float]) -> tuple[Column, ...]:
    return tuple(Column(*c) for c in spec)


# Malayalam labels follow the web's ml.json where it has the term (ജനറൽ ഡയറി, പരാതി,
# പ്രഥമ വിവര റിപ്പോർട്ട്); the others are this module's own and await a Malayalam-reading
# officer's review (docs/registers.md).
KINDS: dict[str, RegisterKind] = {
    k.kind: k
    for k in (
        RegisterKind(
            "gd", "General Diary", "ജനറൽ ഡയറി",
            _cols(
                ("gd_ref", "GD No.", "ജി.ഡി. നമ്പർ", 1.2),
                ("time", "Time", "സമയം", 1.3),
                ("category", "Category", "വിഭാഗം", 1.0),
                ("summary", "Entry", "രേഖപ്പെടുത്തൽ", 5.0),
                ("officer", "Officer", "ഉദ്യോഗസ്ഥൻ", 1.0),
            ),
        ),
        RegisterKind(
            "fir", "FIR Register", "പ്രഥമ വിവര റിപ്പോർട്ട് രജിസ്റ്റർ",
            _cols(
                ("fir_number", "FIR No.", "എഫ്.ഐ.ആർ. നമ്പർ", 1.4),
                ("registered", "Registered", "രജിസ്റ്റർ ചെയ്തത്", 1.3),
                ("sections", "Sections", "വകുപ്പുകൾ", 1.4),
                ("crime_head", "Crime head", "കുറ്റകൃത്യ വിഭാഗം", 1.2),
                ("place", "Place", "സ്ഥലം", 2.0),
                ("status", "Status", "സ്ഥിതി", 1.0),
                ("officer", "Officer", "ഉദ്യോഗസ്ഥൻ", 1.0),
            ),
        ),
        RegisterKind(
            "ncr", "Non-Cognizable Report Register", "എൻ.സി.ആർ. രജിസ്റ്റർ",
            _cols(
                ("ncr_number", "NCR No.", "എൻ.സി.ആർ. നമ്പർ", 1.3),
                ("reported", "Reported", "റിപ്പോർട്ട് ചെയ്തത്", 1.3),
                ("sections", "Sections", "വകുപ്പുകൾ", 1.3),
                ("facts", "Brief facts", "ചുരുക്കം", 4.0),
                ("gd_reference", "GD ref.", "ജി.ഡി.", 1.1),
                ("officer", "Officer", "ഉദ്യോഗസ്ഥൻ", 1.0),
            ),
        ),
        RegisterKind(
            "petition", "Petition Register", "പരാതി രജിസ്റ്റർ",
            _cols(
                ("receipt", "Receipt No.", "രസീത് നമ്പർ", 1.4),
                ("received", "Received", "ലഭിച്ചത്", 1.3),
                ("petitioner", "Petitioner", "പരാതിക്കാരൻ", 1.6),
                ("subject", "Subject", "വിഷയം", 3.0),
                ("channel", "Channel", "മാർഗം", 0.9),
                ("status", "Status", "സ്ഥിതി", 1.0),
            ),
        ),
        RegisterKind(
            "lockup", "Arrest and Lock-up Register", "അറസ്റ്റ്, ലോക്കപ്പ് രജിസ്റ്റർ",
            _cols(
                ("fir_number", "FIR No.", "എഫ്.ഐ.ആർ. നമ്പർ", 1.3),
                ("accused_code", "Accused", "പ്രതി", 0.6),
                ("name", "Name", "പേര്", 1.8),
                ("arrested", "Arrested", "അറസ്റ്റ്", 1.3),
                ("notice", "Notice", "നോട്ടീസ്", 0.7),
                ("status", "Status", "സ്ഥിതി", 1.2),
                ("production_due", "Production due", "ഹാജരാക്കേണ്ടത്", 1.3),
                ("produced", "Produced", "ഹാജരാക്കിയത്", 1.3),
                ("court", "Court", "കോടതി", 1.3),
                ("remand_until", "Remand until", "റിമാൻഡ് വരെ", 1.3),
                ("memo", "Memo complete", "മെമ്മോ പൂർണ്ണം", 0.8),
            ),
        ),
        RegisterKind(
            "property", "Property Register", "തൊണ്ടിമുതൽ രജിസ്റ്റർ",
            _cols(
                ("item", "Item", "ഇനം", 1.1),
                ("fir_number", "FIR No.", "എഫ്.ഐ.ആർ. നമ്പർ", 1.3),
                ("category", "Category", "വിഭാഗം", 1.0),
                ("description", "Description", "വിവരണം", 2.2),
                ("identifiers", "Identifiers", "തിരിച്ചറിയൽ", 1.3),
                ("value_inr", "Value (Rs.)", "മൂല്യം (രൂ.)", 0.9),
                ("seized", "Seized", "പിടിച്ചെടുത്തത്", 1.3),
                ("place", "Place", "സ്ഥലം", 1.3),
                ("witnesses", "Witnesses", "സാക്ഷികൾ", 1.4),
                ("location", "Now at", "ഇപ്പോൾ", 0.9),
                ("counterpart", "With", "ആരുടെ പക്കൽ", 1.1),
            ),
        ),
        RegisterKind(
            "missing", "Missing Persons Register", "കാണാതായവരുടെ രജിസ്റ്റർ",
            _cols(
                ("receipt", "Receipt No.", "രസീത് നമ്പർ", 1.4),
                ("category", "Category", "വിഭാഗം", 1.0),
                ("name", "Name", "പേര്", 2.0),
                ("age", "Age", "പ്രായം", 0.6),
                ("sex", "Sex", "ലിംഗം", 0.6),
                ("reported", "Reported", "റിപ്പോർട്ട് ചെയ്തത്", 1.3),
                ("closed", "Traced / closed", "കണ്ടെത്തി / അവസാനിപ്പിച്ചു", 1.0),
            ),
        ),
        RegisterKind(
            "unnatural-deaths", "Unnatural Death Register", "അസ്വാഭാവിക മരണ രജിസ്റ്റർ",
            _cols(
                ("fir_number", "UD case (FIR No.)", "യു.ഡി. കേസ് (എഫ്.ഐ.ആർ. നമ്പർ)", 1.4),
                ("registered", "Registered", "രജിസ്റ്റർ ചെയ്തത്", 1.2),
                ("deceased", "Deceased", "മരിച്ചയാൾ", 1.7),
                ("age_sex", "Age, sex", "പ്രായം, ലിംഗം", 0.8),
                ("informant", "Informant", "വിവരം നൽകിയയാൾ", 1.5),
                ("place", "Place", "സ്ഥലം", 1.6),
                ("inquest", "Inquest under", "ഇൻക്വസ്റ്റ് വകുപ്പ്", 0.9),
                ("status", "Status", "സ്ഥിതി", 0.9),
                ("officer", "Officer", "ഉദ്യോഗസ്ഥൻ", 1.0),
            ),
        ),
        RegisterKind(
            "wanted", "Register of Wanted Persons", "പിടികിട്ടാനുള്ളവരുടെ രജിസ്റ്റർ",
            _cols(
                ("fir_number", "FIR No.", "എഫ്.ഐ.ആർ. നമ്പർ", 1.3),
                ("accused_code", "Accused", "പ്രതി", 0.6),
                ("name", "Name", "പേര്", 1.8),
                ("relative", "Relative", "ബന്ധു", 1.5),
                ("since", "Wanted since", "മുതൽ", 1.3),
                ("basis", "Basis", "അടിസ്ഥാനം", 1.0),
                ("court_order", "Court's order", "കോടതി ഉത്തരവ്", 2.0),
                ("grounds", "Grounds", "കാരണങ്ങൾ", 2.0),
                ("officer", "Officer", "ഉദ്യോഗസ്ഥൻ", 1.0),
            ),
        ),
        RegisterKind(
            "process", "Process Register", "പ്രോസസ് രജിസ്റ്റർ",
            _cols(
                ("process_number", "Process No.", "പ്രോസസ് നമ്പർ", 1.4),
                ("received", "Received", "ലഭിച്ചത്", 1.3),
                ("process_type", "Process", "പ്രോസസ് തരം", 1.1),
                ("court", "Court and case", "കോടതിയും കേസും", 1.7),
                ("name", "Person", "വ്യക്തി", 1.6),
                ("address", "Address", "വിലാസം", 1.7),
                ("fir_number", "FIR No.", "എഫ്.ഐ.ആർ. നമ്പർ", 1.2),
                ("returnable", "Returnable on", "തിരികെ നൽകേണ്ട തീയതി", 1.0),
                ("status", "Status", "സ്ഥിതി", 1.0),
                ("step", "Served / returned", "നടത്തിയത് / തിരിച്ചയച്ചത്", 1.9),
            ),
        ),
        RegisterKind(
            "history", "Register of History Sheets", "ഹിസ്റ്ററി ഷീറ്റ് രജിസ്റ്റർ",
            _cols(
                ("sheet_number", "Sheet No.", "ഷീറ്റ് നമ്പർ", 1.3),
                ("opened", "Opened", "തുറന്നത്", 1.2),
                ("category", "Category", "വിഭാഗം", 1.0),
                ("name", "Name", "പേര്", 1.6),
                ("particulars", "Age, address, marks", "വയസ്സ്, വിലാസം, അടയാളങ്ങൾ", 2.0),
                ("grounds", "Grounds and cases", "കാരണങ്ങളും കേസുകളും", 2.2),
                ("order", "Order", "ഉത്തരവ്", 1.4),
                ("status", "Status", "സ്ഥിതി", 1.4),
            ),
        ),
    )
}  # fmt: skip

# Registers a station keeps that this node records nothing for yet (none since the unnatural
# death register, 2 December 2026).
NOT_KEPT: dict[str, str] = {}

# Words the registers print, in both languages (the web's ml.json has the withheld line).
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "station": "Police station",
        "district": "District",
        "period": "Period: {first} to {last}",
        "page": "Page {page} of {pages}",
        "none": "No entries in this period.",
        "withheld": "[identity withheld by law]",
        "yes": "yes",
        "no": "no",
        "rows": "{rows} entries",
    },
    "ml": {
        "station": "പോലീസ് സ്റ്റേഷൻ",
        "district": "ജില്ല",
        "period": "കാലയളവ്: {first} മുതൽ {last} വരെ",
        "page": "പേജ് {page} / {pages}",
        "none": "ഈ കാലയളവിൽ രേഖപ്പെടുത്തലുകളില്ല.",
        "withheld": "[നിയമപ്രകാരം വ്യക്തിവിവരങ്ങൾ മറച്ചിരിക്കുന്നു]",
        "yes": "ഉണ്ട്",
        "no": "ഇല്ല",
        "rows": "{rows} രേഖപ്പെടുത്തലുകൾ",
    },
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- the period and the rows -----------------------------------------------------------------------


def parse_period(
    first: str, last: str, *, most_days: int = MOST_DAYS, what: str = "a register is exported"
) -> Period:
    """The period from `first` to `last` (YYYY-MM-DD, both included, India time); InputError
    naming every problem (not a date, the last before the first, longer than `most_days`;
    `what` names the thing so limited in that message). The reports use it too."""
    problems: list[str] = []
    days: list[date] = []
    for name, text in (("from", first), ("to", last)):
        try:
            day = date.fromisoformat(text.strip()[:10])
        except ValueError:
            problems.append(f"{name} {text[:20]!r} is not a date (YYYY-MM-DD)")
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            problems.append(f"{name} {text[:20]!r} is not between {FIRST_YEAR} and {LAST_YEAR}")
            continue
        days.append(day)
    if not problems:
        start, end = days
        if end < start:
            problems.append(f"the period ends ({end}) before it begins ({start})")
        elif (end - start).days >= most_days:
            problems.append(f"{what} for at most {most_days} days at a time")
    if problems:
        raise InputError("; ".join(problems), problems=problems)
    start, end = days
    return Period(
        first_day=start.isoformat(),
        last_day=end.isoformat(),
        start_ms=utc_ms(datetime.combine(start, time(0), IST)),
        end_ms=utc_ms(datetime.combine(end + timedelta(days=1), time(0), IST)),
    )


@dataclass(frozen=True, slots=True)
class Register:
    """A register over a period, in one language, ready to be read row by row."""

    station: Station
    spec: RegisterKind
    period: Period
    lang: str
    count: int

    @property
    def title(self) -> str:
        return self.spec.ml if self.lang == "ml" else self.spec.en

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.ml if self.lang == "ml" else c.en for c in self.spec.columns)

    def label(self, key: str, **params: Any) -> str:
        return LABELS[self.lang][key].format(**params)

    def rows(self) -> Iterator[tuple[str, ...]]:
        """The register's rows, oldest first, read a page at a time."""
        stmt = periods.register_select(self.spec.kind, self.period)
        index = self.station.index
        for page in periods.pages(index, stmt):
            sections: dict[int, list[str]] = {}
            if self.spec.kind in ("fir", "ncr", "unnatural-deaths"):
                sections = periods.sections_of(index, (int(r.ledger_index) for r in page))
            for row in page:
                values = _ROWS[self.spec.kind](self, row, sections)
                yield tuple(values[c.key] for c in self.spec.columns)


def open_register(station: Station, kind: str, period: Period, lang: str = "en") -> Register:
    """Register `kind` of `station` over `period`, labelled in `lang` ("en" or "ml");
    InputError for a register this node does not keep (and why) or an unknown language."""
    if kind in NOT_KEPT:
        raise InputError(f"no register {kind!r}: {NOT_KEPT[kind]}")
    if kind not in KINDS:
        raise InputError(f"no register {kind[:40]!r} (registers: {', '.join(KINDS)})")
    if lang not in LANGUAGES:
        raise InputError(f"no language {lang[:10]!r} (languages: {', '.join(LANGUAGES)})")
    stmt = periods.register_select(kind, period)
    return Register(station, KINDS[kind], period, lang, periods.count(station.index, stmt))


def _when(ms: Any) -> str:
    return format_time(int(ms)) if ms else ""


def _yes(register: Register, flag: Any) -> str:
    return register.label("yes") if flag else register.label("no")


_Row = Callable[[Register, Any, dict[int, list[str]]], dict[str, str]]


def _gd(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    return {
        "gd_ref": f"{r.gd_date}/{r.gd_number}",
        "time": _when(r.entry_time_ms),
        "category": r.category,
        "summary": r.summary,
        "officer": r.officer_id,
    }


def _fir(reg: Register, r: Any, sections: dict[int, list[str]]) -> dict[str, str]:
    number = r.fir_number or r.zero_fir_number
    if r.zero_fir and r.fir_number and r.zero_fir_number:
        number = f"{r.fir_number} ({r.zero_fir_number})"
    return {
        "fir_number": number,
        "registered": _when(r.registered_at_ms),
        "sections": ", ".join(sections.get(int(r.ledger_index), ())),
        "crime_head": r.crime_head,
        "place": r.place,
        "status": r.status,
        "officer": r.officer_id,
    }


def _unnatural_death(reg: Register, r: Any, sections: dict[int, list[str]]) -> dict[str, str]:
    deceased = reg.label("withheld") if r.deceased_withheld else r.deceased or ""
    informant = reg.label("withheld") if r.informant_withheld else r.informant or ""
    cited = sections.get(int(r.ledger_index), ())
    inquest = [c for c in cited if c.replace(" ", "").upper() in _INQUEST_CITATIONS]
    return {
        "fir_number": r.fir_number,
        "registered": _when(r.registered_at_ms),
        "deceased": deceased,
        "age_sex": ", ".join(p for p in (str(r.deceased_age or ""), r.deceased_sex or "") if p),
        "informant": informant,
        "place": r.place,
        "inquest": ", ".join(inquest or cited),
        "status": r.status,
        "officer": r.officer_id,
    }


_INQUEST_CITATIONS = {f"{act}{section}" for act, section in periods.INQUEST}


def _ncr(reg: Register, r: Any, sections: dict[int, list[str]]) -> dict[str, str]:
    return {
        "ncr_number": r.ncr_number,
        "reported": _when(r.reported_at_ms),
        "sections": ", ".join(sections.get(int(r.ledger_index), ())),
        "facts": r.brief_facts,
        "gd_reference": r.gd_reference,
        "officer": r.officer_id,
    }


def _petition(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    petitioner = reg.label("withheld") if r.petitioner_withheld else (r.petitioner or "")
    return {
        "receipt": r.receipt_number,
        "received": _when(r.received_at_ms),
        "petitioner": petitioner,
        "subject": r.subject,
        "channel": r.channel,
        "status": r.status,
    }


def _lockup(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    return {
        "fir_number": r.fir_number,
        "accused_code": r.accused_code,
        "name": r.name,
        "arrested": _when(r.arrested_at_ms),
        "notice": _yes(reg, r.noticed),
        "status": r.status,
        "production_due": _when(r.production_due_ms),
        "produced": _when(r.produced_at_ms),
        "court": r.court,
        "remand_until": _when(r.remand_until_ms),
        "memo": _yes(reg, r.memo_complete),
    }


def _property(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    return {
        "item": r.item_ref,
        "fir_number": r.fir_number,
        "category": r.category,
        "description": r.description,
        "identifiers": r.identifiers,
        "value_inr": str(r.value_inr) if r.value_inr else "",
        "seized": _when(r.seized_at_ms),
        "place": r.seized_place,
        "witnesses": r.witnesses,
        "location": r.location,
        "counterpart": r.counterpart,
    }


def _missing(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    return {
        "receipt": r.receipt,
        "category": r.category,
        "name": r.name,
        "age": str(r.age) if r.age else "",
        "sex": r.sex,
        "reported": _when(r.reported),
        "closed": _yes(reg, r.closed),
    }


def _process(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    # A person the law protects in the case is held by the sealed commitment (no name in the
    # index) or as the withheld line, as on the FIR copy.
    name = r.name if r.name and r.name != WITHHELD_TEXT else reg.label("withheld")
    step = f"{_when(r.step_at_ms)}: {r.step_note}" if r.step_at_ms else ""
    return {
        "process_number": r.process_number,
        "received": _when(r.received_at_ms),
        "process_type": r.process_type.replace("_", " "),
        "court": f"{r.court}, {r.court_case_number}",
        "name": f"{name} ({r.relative})" if r.relative else name,
        "address": r.address,
        "fir_number": r.fir_number,
        "returnable": r.returnable_date,
        "status": r.status,
        "step": step,
    }


def _history(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    # A sheet is never opened on a person the law protects (node/station/history.py); a name
    # held only as a commitment would still print as the withheld line.
    name = r.name if r.name and r.name != WITHHELD_TEXT else reg.label("withheld")
    particulars = "; ".join(
        p for p in (str(r.age or r.birth_year or ""), r.address, r.aliases, r.marks) if p
    )
    closed = f"closed {_when(r.closed_at_ms)}: {r.closing_note}" if r.closed_at_ms else "open"
    return {
        "sheet_number": r.sheet_number,
        "opened": _when(r.opened_at_ms),
        "category": r.category.replace("_", " "),
        "name": f"{name} ({r.relative})" if r.relative else name,
        "particulars": particulars,
        "grounds": f"{r.grounds} [{r.cases}]" if r.cases else r.grounds,
        "order": f"{r.ordered_by_rank.upper()} {r.ordered_by}, {r.order_reference}",
        "status": closed,
    }


def _wanted(reg: Register, r: Any, _: dict[int, list[str]]) -> dict[str, str]:
    return {
        "fir_number": r.fir_number,
        "accused_code": r.accused_code,
        "name": r.name,
        "relative": f"{r.relation} {r.relative_name}".strip(),
        "since": _when(r.at_ms),
        "basis": r.basis,
        "court_order": r.court_order,
        "grounds": r.grounds,
        "officer": r.officer_id,
    }


_ROWS: dict[str, _Row] = {
    "gd": _gd,
    "fir": _fir,
    "ncr": _ncr,
    "petition": _petition,
    "lockup": _lockup,
    "property": _property,
    "missing": _missing,
    "unnatural-deaths": _unnatural_death,
    "wanted": _wanted,
    "process": _process,
    "history": _history,
}


# -- CSV -------------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A value as a CSV cell, a leading formula character neutralised (a spreadsheet must not
    run a cell as a formula: CSV injection). The web's CSV downloads use it too."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(register: Register, rows: Iterable[tuple[str, ...]]) -> Iterator[str]:
    """The register as CSV, a line at a time (the header first, CRLF line ends), each cell
    guarded against running as a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(values: Iterable[str]) -> str:
        writer.writerow([csv_cell(v) for v in values])
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    yield line(register.headers)
    for values in rows:
        yield line(values)


# -- PDF -------------------------------------------------------------------------------------------


class _RegisterPdf(FPDF):
    """Landscape A4 pages, each headed by the station, the title and the period, and footed by
    the page number; the table's header repeats on each page (fpdf2's tables do that)."""

    def __init__(
        self, heading: list[str], page_label: str, family: str, fitter: TextFitter
    ) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.heading = heading
        self.page_label = page_label
        self.family = family
        self.fitter = fitter

    def header(self) -> None:
        self.set_font(self.family, "B", 11)
        self.cell(0, 6, self.heading[0], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.family, "", 8.5)
        for line in self.heading[1:]:
            self.cell(0, 4.5, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.family, "", 7.5)
        # "{nb}" (the page count) is filled in at output, in the text as written: shaping would
        # turn it into glyphs first. So the label is drawn shaped up to the count, and the
        # count (ASCII) unshaped after it.
        head, _, tail = self.page_label.partition("{pages}")
        head = self.fitter.fit(head.format(page=self.page_no()))
        self.cell(self.get_string_width(head) + 2 * self.c_margin, 4, head)
        shaped = self.text_shaping is not None
        if shaped:
            self.set_text_shaping(False)
        self.cell(0, 4, "{nb}" + self.fitter.fit(tail))
        if shaped:
            self.set_text_shaping(True)


def register_pdf(
    register: Register,
    rows: Iterable[tuple[str, ...]],
    *,
    station_name: str,
    district: str,
    compress: bool = True,
    fonts: FontSet | None = None,
) -> bytes:
    """The register as a landscape A4 PDF (rows as `register.rows()` gives them, perhaps
    wrapped in a progress bar). Malayalam labels need a Malayalam font: without one the
    labels are English and Malayalam text is transliterated (`TextFitter`)."""
    fonts = fonts if fonts is not None else find_fonts()
    fitter = TextFitter(fonts, shaping_available())
    spec = register.spec
    labels = LABELS[register.lang if fonts.has_malayalam else "en"]
    ml = register.lang == "ml" and fonts.has_malayalam
    titles = f"{spec.en} / {spec.ml}" if fonts.has_malayalam else spec.en
    period = labels["period"].format(first=register.period.first_day, last=register.period.last_day)
    heading = [
        titles,
        f"{labels['station']}: {station_name}, {labels['district']}: {district}",
        f"{period}  ({labels['rows'].format(rows=register.count)})",
    ]
    pdf = _RegisterPdf([], labels["page"], "helvetica", fitter)
    pdf.set_compression(compress)
    family = setup_fonts(pdf, fonts, fitter)
    pdf.family = family
    pdf.heading = [fitter.fit(line) for line in heading]
    if fitter.shaping:
        pdf.set_text_shaping(True)
        cache_shaped_widths(pdf)
    pdf.alias_nb_pages()
    pdf.set_title(fitter.fit(f"{spec.en} {register.period.first_day} - {register.period.last_day}"))
    pdf.set_creator("cctns")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()
    headers = [c.ml if ml else c.en for c in spec.columns]
    total = sum(c.width for c in spec.columns)
    widths = tuple(pdf.epw * c.width / total for c in spec.columns)
    pdf.set_font(family, "", 7.5)
    pdf.set_draw_color(150, 150, 150)
    written = 0
    with pdf.table(
        col_widths=widths,
        line_height=3.8,
        padding=0.8,
        text_align="LEFT",
        cell_fill_color=(235, 235, 235),
        cell_fill_mode=TableCellFillMode.NONE,
        repeat_headings=1,
    ) as table:
        heading_row = table.row()
        for text in headers:
            heading_row.cell(fitter.fit(text))
        for values in rows:
            written += 1
            cells = [text_pieces(fitter.fit(v), PIECE_CHARS) for v in values]
            # A row never breaks across pages (fpdf2 refuses it): a long value goes on in rows
            # of its own.
            for part in range(max(len(c) for c in cells)):
                row = table.row()
                for pieces in cells:
                    row.cell(pieces[part] if part < len(pieces) else "")
    if not written:
        pdf.ln(4)
        pdf.set_font(family, "", 9)
        pdf.cell(0, 6, fitter.fit(labels["none"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output(output_producer_class=ShapedTextOutput))
