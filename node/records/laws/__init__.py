"""Acts and sections a police station cites, shipped as data with their sources.

The data lives in `node/records/laws/data/*.json` (see `data/SOURCES.md` for where each number
comes from and what could not be verified). This module loads it once and answers the questions
the rest of the node asks: is this section known, what does it punish, which BNS section replaced
this IPC section, may this section be cited for an offence on this date, and under which crime
head does a case count in the statistics.

Two formats of data are read (the tables are being rewritten file by file): format 1 rows carry
only title, punishment, classification, crime head and withholding; format 2 rows add what a row
is (`kind`), the court that tries it, per-section dates in force and the sources it was checked
against (keys into `data/sources/*.json`). A format 1 row reads as an offence from the "legacy"
source, unchecked.

It must never do I/O beyond reading its own package data, and never guess: an unknown act or
section is an `InputError` with a message a user can act on.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

from ledger.errors import InputError, UsageError

__all__ = [
    "ACCESSORY",
    "BNS_COMMENCEMENT",
    "GENERAL",
    "KINDS",
    "LEGACY_SOURCE",
    "NON_CRIME",
    "OFFENCE",
    "Act",
    "Citation",
    "Correspondence",
    "Section",
    "Source",
    "Statutes",
    "normalise_section",
    "statutes",
]

#: The day the Bharatiya Nyaya Sanhita replaced the Indian Penal Code. Offences committed before
#: it keep their IPC sections; offences on or after it are cited under the BNS.
BNS_COMMENCEMENT = datetime.date(2024, 7, 1)

_PREFIX = re.compile(r"^(?:u/s|section|sec\.?|s\.)\s*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_LEADING_NUMBER = re.compile(r"^(\d+)(.*)$")

#: What a row is. An offence punishes something itself; an accessory section's class follows the
#: main offence (common intention, abetment, conspiracy, attempt: BNS 3(5), 49, 61(2), 62, 190;
#: IPC 34, 109, 120B, 149, 511); a general row punishes nothing (definitions, exceptions); a
#: non-crime row is registered as a case but is no crime (Kerala Police Act s.57 missing person,
#: BNSS s.194 / CrPC s.174 unnatural death), counted apart from crime.
OFFENCE, ACCESSORY, GENERAL, NON_CRIME = "offence", "accessory", "general", "non-crime"
KINDS = (OFFENCE, ACCESSORY, GENERAL, NON_CRIME)
#: The source of every format 1 row: the team's tables before the format 2 review.
LEGACY_SOURCE = "legacy"
_SOURCE_KINDS = ("official", "secondary", "unverified")
# "Most serious": any offence ranks above any other row; a non-crime row names the case's
# category when no offence is cited, so it ranks above accessory and general rows.
_KIND_RANK = {OFFENCE: 3, NON_CRIME: 2, ACCESSORY: 1, GENERAL: 0}


@dataclass(frozen=True, slots=True)
class Act:
    """An act whose sections may be cited: `code` is the short form used in records ("BNS")."""

    code: str
    name: str
    year: int
    kind: str  # "penal code", "special law" or "local law" (a Kerala act)


@dataclass(frozen=True, slots=True)
class Source:
    """Where rows were checked: a title, an address (None for working knowledge) and its kind,
    "official", "secondary" or "unverified"."""

    key: str
    title: str
    url: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class Section:
    """One citable section (or sub-section) of an act, with what statistics and procedure need.

    `max_punishment_years` is the longest term of imprisonment in years across every limb,
    aggravated ones included (0 for fine only, None where the section sets no punishment of its
    own, e.g. common intention, or only life/death). `cognizable` and `bailable` are None for
    rows with no class of their own (accessory, general, non-crime). `in_force_from` and
    `in_force_until` are set only where the row's dates differ from its act's; `not_in_force`
    says why a row was never brought into force ("" when it was).
    """

    act: str
    section: str
    title: str
    max_punishment_years: float | None
    life: bool
    death: bool
    cognizable: bool | None
    bailable: bool | None
    crime_head: str
    identity_withheld: bool
    kind: str = OFFENCE
    triable_by: str | None = None
    in_force_from: datetime.date | None = None
    in_force_until: datetime.date | None = None
    not_in_force: str = ""
    source: tuple[str, ...] = (LEGACY_SOURCE,)
    checked: bool = False

    @property
    def citation(self) -> str:
        """The section as written in a record, e.g. "BNS 303(2)"."""
        return f"{self.act} {self.section}"


class Citation(Protocol):
    """Anything naming an act and a section: a `Section`, or a `records_pb2.ActSection`."""

    @property
    def act(self) -> str: ...

    @property
    def section(self) -> str: ...


def normalise_section(section: str) -> str:
    """The comparison key of a section string: "303 (2)" -> "303(2)", "498a" -> "498A".

    A leading "Sec."/"S."/"u/s" is dropped. Letters are upper-cased for comparison only; the
    canonical spelling is the one in the data ("55(a)", "20(b)(ii)(A)").
    """
    text = _PREFIX.sub("", section.strip())
    return _SPACE.sub("", text).upper()


def _section_sort_key(section: Section) -> tuple[int, str]:
    match = _LEADING_NUMBER.match(section.section)
    if match is None:
        return (10**6, section.section)
    return (int(match.group(1)), match.group(2))


@dataclass(frozen=True, slots=True)
class Correspondence:
    """One row of the IPC -> BNS table: the BNS sections that replaced an IPC section, and
    whether the source says their classification differs from the IPC section's."""

    ipc: str
    bns: tuple[str, ...]
    class_differs: bool = False
    note: str = ""
    source: tuple[str, ...] = (LEGACY_SOURCE,)


def _severity(section: Section) -> tuple[int, int, int, float, int, int]:
    """Order for "most serious": any offence above any other row, then death > life > longest
    term (aggravated limbs included in the data), then non-bailable, cognizable."""
    years = section.max_punishment_years
    return (
        _KIND_RANK.get(section.kind, 0),
        int(section.death),
        int(section.life),
        -1.0 if years is None else years,
        int(section.bailable is False),
        int(section.cognizable is True),
    )


class Statutes:
    """The acts, sections and IPC<->BNS correspondence, loaded from the package data.

    Use `statutes()` (or `Statutes.default()`) for the one shared, cached instance.
    """

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        """Load from `data` ({file name: parsed JSON}, the sources files named
        "sources/<area>.json") or, by default, from the package data."""
        files = data if data is not None else _read_package_data()
        self._acts: dict[str, Act] = {}
        self._in_force: dict[str, tuple[datetime.date | None, datetime.date | None]] = {}
        self._sections: dict[str, dict[str, Section]] = {}
        self._ipc_to_bns: dict[str, list[str]] = {}
        self._bns_to_ipc: dict[str, list[str]] = {}
        self._correspondence: dict[str, Correspondence] = {}
        self._sources: dict[str, Source] = {
            LEGACY_SOURCE: Source(
                LEGACY_SOURCE,
                "The team's format 1 tables (data/SOURCES.md), not reviewed row by row",
                None,
                "unverified",
            )
        }
        self._load(files)

    @staticmethod
    @functools.cache
    def default() -> Statutes:
        """The shared instance built from the package data (loaded once per process)."""
        return Statutes()

    # -- loading ---------------------------------------------------------------------------

    def _load(self, files: dict[str, Any]) -> None:
        problems: list[str] = []
        for name in sorted(files):
            if name.startswith("sources/"):
                self._load_sources(name, files[name], problems)
        for entry in files["acts.json"]["acts"]:
            code = str(entry["code"]).upper()
            if code in self._acts:
                problems.append(f"act {code} listed twice")
            self._acts[code] = Act(code, entry["name"], int(entry["year"]), entry["kind"])
            self._in_force[code] = (
                _date_or_none(entry.get("in_force_from")),
                _date_or_none(entry.get("in_force_until")),
            )
            self._sections[code] = {}
        tables: list[tuple[str, list[dict[str, Any]]]] = [
            ("BNS", files["bns.json"]["sections"]),
            ("IPC", files["ipc.json"]["sections"]),
        ]
        tables.extend(files["sll.json"]["acts"].items())
        for code, rows in tables:
            if code not in self._acts:
                problems.append(f"sections given for unlisted act {code}")
                continue
            for row in rows:
                section = self._row(code, row, problems)
                if section is None:
                    continue
                key = normalise_section(section.section)
                if key in self._sections[code]:
                    problems.append(f"{code} {section.section} listed twice")
                self._sections[code][key] = section
        self._check_heads(problems)
        for pair in files["ipc_bns.json"]["map"]:
            self._load_pair(pair, problems)
        if problems:
            # The data ships with the code: an inconsistency is our bug, found at start-up.
            raise UsageError("node/records/laws data is inconsistent: " + "; ".join(problems))

    def _load_sources(self, name: str, content: Any, problems: list[str]) -> None:
        table = content.get("sources") if isinstance(content, dict) else None
        if not isinstance(table, dict):
            problems.append(f'{name} has no "sources" object')
            return
        for key, entry in table.items():
            if key in self._sources:
                problems.append(f"source {key} defined twice ({name})")
                continue
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind not in _SOURCE_KINDS or not entry.get("title"):
                problems.append(
                    f"source {key} ({name}) needs a title and a kind ({', '.join(_SOURCE_KINDS)})"
                )
                continue
            url = str(entry["url"]) if entry.get("url") else None
            self._sources[key] = Source(key, str(entry["title"]), url, str(kind))

    def _row(self, code: str, row: dict[str, Any], problems: list[str]) -> Section | None:
        """One row of either format as a Section; None (with the problems) when it is wrong."""
        where = f"{code} {row.get('section')}"
        kind = row.get("kind", OFFENCE)
        if kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
            return None
        cognizable, bailable = row.get("cognizable"), row.get("bailable")
        if kind == OFFENCE and (cognizable is None or bailable is None):
            problems.append(f"{where}: an offence is cognizable or not, bailable or not")
        sources = row.get("source", [LEGACY_SOURCE])
        if isinstance(sources, str):
            sources = [sources]
        if not sources:
            problems.append(f"{where} has no source")
        for key in sources:
            if key not in self._sources:
                problems.append(f"{where} names unknown source {key!r}")
        head = row.get("crime_head") or ""
        if not head and kind != GENERAL:
            problems.append(f"{where} has no crime head")
        try:
            in_force_from = _date_or_none(row.get("in_force_from"))
            in_force_until = _date_or_none(row.get("in_force_until"))
        except ValueError as exc:
            problems.append(f"{where}: a date in force is not YYYY-MM-DD ({exc})")
            return None
        return Section(
            act=code,
            section=row["section"],
            title=row["title"],
            max_punishment_years=row.get("max_punishment_years"),
            life=bool(row.get("life")),
            death=bool(row.get("death")),
            cognizable=None if cognizable is None else bool(cognizable),
            bailable=None if bailable is None else bool(bailable),
            crime_head=str(head),
            identity_withheld=bool(row.get("identity_withheld")),
            kind=kind,
            triable_by=row.get("triable_by"),
            in_force_from=in_force_from,
            in_force_until=in_force_until,
            not_in_force=str(row.get("not_in_force") or ""),
            source=tuple(str(k) for k in sources),
            checked=bool(row.get("checked", False)),
        )

    def _check_heads(self, problems: list[str]) -> None:
        """Missing persons and unnatural deaths are counted apart from crime by their crime
        head: a head of a non-crime row may not also be an offence's."""
        offence_heads = {
            s.crime_head for t in self._sections.values() for s in t.values() if s.kind != NON_CRIME
        }
        for table in self._sections.values():
            for section in table.values():
                if section.kind == NON_CRIME and section.crime_head in offence_heads:
                    problems.append(
                        f"{section.citation} is a non-crime row but its crime head "
                        f"{section.crime_head!r} is also an offence's: non-crime cases are "
                        "counted apart from crime, give it a head of its own"
                    )

    def _load_pair(self, pair: dict[str, Any], problems: list[str]) -> None:
        ipc_key = normalise_section(pair["ipc"])
        ipc = self._sections["IPC"].get(ipc_key)
        if ipc is None:
            problems.append(f"mapping names unknown IPC section {pair['ipc']}")
            return
        if ipc_key in self._ipc_to_bns:
            problems.append(f"IPC {pair['ipc']} mapped twice")
        sources = pair.get("source", [LEGACY_SOURCE])
        if isinstance(sources, str):
            sources = [sources]
        for key in sources:
            if key not in self._sources:
                problems.append(f"mapping of IPC {pair['ipc']} names unknown source {key!r}")
        targets: list[str] = []
        for bns_text in pair["bns"]:
            bns = self._sections["BNS"].get(normalise_section(bns_text))
            if bns is None:
                problems.append(f"IPC {pair['ipc']} maps to unknown BNS section {bns_text}")
                continue
            targets.append(bns.section)
            reverse = self._bns_to_ipc.setdefault(normalise_section(bns.section), [])
            if ipc.section not in reverse:
                reverse.append(ipc.section)
        self._ipc_to_bns[ipc_key] = targets
        self._correspondence[ipc_key] = Correspondence(
            ipc=ipc.section,
            bns=tuple(targets),
            class_differs=bool(pair.get("class_differs", False)),
            note=str(pair.get("note") or ""),
            source=tuple(str(k) for k in sources),
        )

    # -- lookup ----------------------------------------------------------------------------

    def acts(self) -> list[Act]:
        """Every act, in the order of the data (BNS and IPC first)."""
        return list(self._acts.values())

    def act(self, code: str) -> Act:
        """The act with this short code (case-insensitive); InputError if unknown."""
        found = self._acts.get(code.strip().upper())
        if found is None:
            raise InputError(f"unknown act {code}")
        return found

    def sections(self, act: str) -> list[Section]:
        """Every section of an act, in numeric order."""
        code = self.act(act).code
        return sorted(self._sections[code].values(), key=_section_sort_key)

    def _matches(self, act: str, section: str) -> list[Section]:
        code = self.act(act).code
        table = self._sections[code]
        key = normalise_section(section)
        exact = table.get(key)
        if exact is not None:
            return [exact]
        # A section cited without its sub-section ("303" for "303(2)"): accept every sub-section.
        return [s for k, s in table.items() if k.startswith(key + "(")]

    def section(self, act: str, section: str) -> Section:
        """The section cited as `section` of `act`.

        Spacing and letter case are ignored. A section cited without its sub-section ("303")
        resolves to the first matching sub-section in the data ("303(2)"), which the data lists
        as the one commonly cited. Raises InputError for an unknown act or section.
        """
        matches = self._matches(act, section)
        if not matches:
            raise InputError(f"unknown section {section.strip()} of {self.act(act).code}")
        return matches[0]

    def is_known(self, act: str, section: str) -> bool:
        """Whether `section` of `act` is known (an unknown act is simply not known)."""
        try:
            return bool(self._matches(act, section))
        except InputError:
            return False

    # -- IPC <-> BNS -------------------------------------------------------------------------

    def ipc_to_bns(self, section: str) -> list[str]:
        """The BNS sections that replaced an IPC section ([] where the BNS has none, e.g. 309)."""
        result: list[str] = []
        for ipc in self._matches("IPC", section) or [self.section("IPC", section)]:
            for target in self._ipc_to_bns.get(normalise_section(ipc.section), []):
                if target not in result:
                    result.append(target)
        return result

    def bns_to_ipc(self, section: str) -> list[str]:
        """The IPC sections a BNS section replaced ([] for new offences such as snatching)."""
        result: list[str] = []
        for bns in self._matches("BNS", section) or [self.section("BNS", section)]:
            for source in self._bns_to_ipc.get(normalise_section(bns.section), []):
                if source not in result:
                    result.append(source)
        return result

    def correspondence(self, section: str) -> Correspondence:
        """The IPC -> BNS row of an IPC section (an IPC section the table does not map has no
        BNS sections and no class difference)."""
        ipc = self.section("IPC", section)
        found = self._correspondence.get(normalise_section(ipc.section))
        return found if found is not None else Correspondence(ipc.section, ())

    def class_differs(self, section: str) -> bool:
        """Whether the source says the BNS sections replacing this IPC section are classified
        (cognizable, bailable) differently from it."""
        return self.correspondence(section).class_differs

    # -- sources -----------------------------------------------------------------------------

    def sources(self) -> dict[str, Source]:
        """Every source a row may name, by key ("legacy" included: format 1 rows)."""
        return dict(self._sources)

    def source(self, key: str) -> Source:
        """The source with this key; InputError if unknown."""
        found = self._sources.get(key)
        if found is None:
            raise InputError(f"unknown source {key}")
        return found

    # -- rules -------------------------------------------------------------------------------

    def check_law_in_force(self, act: str, occurrence_date: datetime.date) -> None:
        """Raise InputError unless `act` may be cited for an offence on `occurrence_date`.

        The rule that matters: offences before 1 July 2024 keep their IPC sections, offences on
        or after it are cited under the BNS. Other acts are checked against their commencement.
        """
        found = self.act(act)
        start, until = self._in_force[found.code]
        if start is not None and occurrence_date < start:
            if found.code == "BNS":
                raise InputError(
                    f"BNS cited for an offence on {occurrence_date.isoformat()}: offences before "
                    f"{BNS_COMMENCEMENT.isoformat()} are cited under the IPC"
                )
            raise InputError(
                f"{found.code} cited for an offence on {occurrence_date.isoformat()}, before the "
                f"act came into force on {start.isoformat()}"
            )
        if until is not None and occurrence_date > until:
            if found.code == "IPC":
                raise InputError(
                    f"IPC cited for an offence on {occurrence_date.isoformat()}: offences on or "
                    f"after {BNS_COMMENCEMENT.isoformat()} are cited under the BNS"
                )
            raise InputError(
                f"{found.code} cited for an offence on {occurrence_date.isoformat()}, after it "
                f"was repealed ({until.isoformat()})"
            )

    def section_not_in_force(
        self, cited: Citation | tuple[str, str], occurrence_date: datetime.date | None
    ) -> str | None:
        """Why the section itself may not be cited for an offence on `occurrence_date`, or None.

        On top of the act's dates (`check_law_in_force`): a row never brought into force is
        refused whatever the date (BNS 106(2), hit and run, left out of the commencement
        notification), one that came into force later than its act (IPC 498A, 1983) before that
        date, one that ceased (IPC 497, struck down in 2018) after it. Without a date only the
        first is decided.
        """
        section = self._resolve(cited)
        if section.not_in_force:
            return f"{section.citation} was never brought into force: {section.not_in_force}"
        if occurrence_date is None:
            return None
        day = occurrence_date.isoformat()
        if section.in_force_from is not None and occurrence_date < section.in_force_from:
            return (
                f"{section.citation} cited for an offence on {day}, before it came into force "
                f"on {section.in_force_from.isoformat()}"
            )
        if section.in_force_until is not None and occurrence_date > section.in_force_until:
            return (
                f"{section.citation} cited for an offence on {day}, after it ceased to be in "
                f"force ({section.in_force_until.isoformat()})"
            )
        return None

    def preliminary_enquiry_refusal(
        self, sections: Iterable[Citation | tuple[str, str]]
    ) -> str | None:
        """Why a preliminary enquiry may not be held on information disclosing `sections`, or
        None when it may (BNSS s.173(3)): the most serious cited offence is cognizable and
        punishable with three years or more but less than seven, neither life nor death."""
        resolved = [self._resolve(s) for s in sections]
        offences = [s for s in resolved if s.kind == OFFENCE]
        law = "a preliminary enquiry (BNSS s.173(3)) is for a cognizable offence punishable "
        law += "with three years or more but less than seven"
        if not offences:
            return f"no offence cited: {law}"
        worst = self.most_serious(offences)
        years = worst.max_punishment_years
        if worst.death or worst.life:
            what = "death" if worst.death else "imprisonment for life"
            return f"{worst.citation} is punishable with {what}: {law}; register an FIR"
        if not worst.cognizable:
            return f"{worst.citation} is not cognizable: {law}"
        if years is None or years < 3:
            term = "no term of imprisonment" if not years else f"at most {_years(years)}"
            return f"{worst.citation} is punishable with {term}: {law}"
        if years >= 7:
            return f"{worst.citation} is punishable with {_years(years)}: {law}; register an FIR"
        return None

    def preliminary_enquiry(self, sections: Iterable[Citation | tuple[str, str]]) -> bool:
        """Whether a preliminary enquiry may be held on information disclosing `sections`
        (BNSS s.173(3); `preliminary_enquiry_refusal` says why not)."""
        return self.preliminary_enquiry_refusal(sections) is None

    # -- statistics --------------------------------------------------------------------------

    def _resolve(self, cited: Citation | tuple[str, str]) -> Section:
        if isinstance(cited, Section):
            return cited
        if isinstance(cited, tuple):
            return self.section(cited[0], cited[1])
        return self.section(cited.act, cited.section)

    def most_serious(self, sections: Iterable[Citation | tuple[str, str]]) -> Section:
        """The most serious of the cited sections: any offence above accessory, general and
        non-crime rows; then death > life > longest term (aggravated limbs included).

        Ties go to the non-bailable, then the cognizable section, then the first cited. This is
        the offence a case is counted under in the statistics (one count per case).
        """
        resolved = [self._resolve(s) for s in sections]
        if not resolved:
            raise InputError("no sections cited")
        best = resolved[0]
        for candidate in resolved[1:]:
            if _severity(candidate) > _severity(best):
                best = candidate
        return best

    def crime_head(self, sections: Iterable[Citation | tuple[str, str]]) -> str:
        """The statistics head of a case: the crime head of its most serious section."""
        return self.most_serious(sections).crime_head

    def non_crime_heads(self) -> frozenset[str]:
        """The heads of cases registered but counted apart from crime (missing persons,
        unnatural deaths): the crime heads of the non-crime rows, which no offence shares."""
        return frozenset(
            s.crime_head
            for table in self._sections.values()
            for s in table.values()
            if s.kind == NON_CRIME
        )

    def search(self, text: str) -> list[Section]:
        """Sections for a picker: by number ("303", "BNS 303", "498a") or by words in the title.

        Words match title or crime head, case-insensitively, all words required. Results come in
        act order (as `acts()`), then numeric order.
        """
        words = text.strip().split()
        if not words:
            return []
        act_filter: str | None = None
        if len(words) > 1 and words[0].upper() in self._acts:
            act_filter = words[0].upper()
            words = words[1:]
        query = " ".join(words)
        key = normalise_section(query)
        numeric = key[:1].isdigit()
        found: list[Section] = []
        for code, table in self._sections.items():
            if act_filter is not None and code != act_filter:
                continue
            hits: list[Section] = []
            for section_key, section in table.items():
                if numeric:
                    if section_key == key or section_key.startswith(key + "("):
                        hits.append(section)
                else:
                    haystack = f"{section.title} {section.crime_head}".lower()
                    if all(word.lower() in haystack for word in words):
                        hits.append(section)
            found.extend(sorted(hits, key=_section_sort_key))
        return found


def statutes() -> Statutes:
    """The shared `Statutes` built from the package data, loaded once."""
    return Statutes.default()


def _date_or_none(text: object) -> datetime.date | None:
    if text is None or text == "":
        return None
    return datetime.date.fromisoformat(str(text))


def _years(years: float) -> str:
    whole = int(years)
    text = str(whole) if whole == years else f"{years:g}"
    return f"{text} year{'' if years == 1 else 's'}"


def _read_package_data() -> dict[str, Any]:
    folder = resources.files("node.records.laws").joinpath("data")
    names = ("acts.json", "bns.json", "ipc.json", "sll.json", "ipc_bns.json")
    files = {name: json.loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in names}
    sources = folder.joinpath("sources")
    if sources.is_dir():
        for entry in sorted(sources.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                files[f"sources/{entry.name}"] = json.loads(entry.read_text(encoding="utf-8"))
    return files
