"""Acts and sections a police station cites, shipped as data with their sources.

The data lives in `node/records/laws/data/*.json` (see `data/SOURCES.md` for where each number
comes from and what could not be verified). This module loads it once and answers the questions
the rest of the node asks: is this section known, what does it punish, which BNS section replaced
this IPC section, may this section be cited for an offence on this date, and under which crime
head does a case count in the statistics.

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
    "BNS_COMMENCEMENT",
    "Act",
    "Citation",
    "Section",
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


@dataclass(frozen=True, slots=True)
class Act:
    """An act whose sections may be cited: `code` is the short form used in records ("BNS")."""

    code: str
    name: str
    year: int
    kind: str  # "penal code", "special law" or "local law" (a Kerala act)


@dataclass(frozen=True, slots=True)
class Section:
    """One citable section (or sub-section) of an act, with what statistics and procedure need.

    `max_punishment_years` is the longest term of imprisonment in years (0 for fine only, None
    where the section sets no punishment of its own, e.g. common intention, or only life/death).
    """

    act: str
    section: str
    title: str
    max_punishment_years: float | None
    life: bool
    death: bool
    cognizable: bool
    bailable: bool
    crime_head: str
    identity_withheld: bool

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


def _severity(section: Section) -> tuple[int, int, float, int, int]:
    """Order for "most serious": death > life > longest term, then non-bailable, cognizable."""
    years = section.max_punishment_years
    return (
        int(section.death),
        int(section.life),
        -1.0 if years is None else years,
        int(not section.bailable),
        int(section.cognizable),
    )


class Statutes:
    """The acts, sections and IPC<->BNS correspondence, loaded from the package data.

    Use `statutes()` (or `Statutes.default()`) for the one shared, cached instance.
    """

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        """Load from `data` ({file name: parsed JSON}) or, by default, from the package data."""
        files = data if data is not None else _read_package_data()
        self._acts: dict[str, Act] = {}
        self._in_force: dict[str, tuple[datetime.date | None, datetime.date | None]] = {}
        self._sections: dict[str, dict[str, Section]] = {}
        self._ipc_to_bns: dict[str, list[str]] = {}
        self._bns_to_ipc: dict[str, list[str]] = {}
        self._load(files)

    @staticmethod
    @functools.cache
    def default() -> Statutes:
        """The shared instance built from the package data (loaded once per process)."""
        return Statutes()

    # -- loading ---------------------------------------------------------------------------

    def _load(self, files: dict[str, Any]) -> None:
        problems: list[str] = []
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
                section = Section(
                    act=code,
                    section=row["section"],
                    title=row["title"],
                    max_punishment_years=row["max_punishment_years"],
                    life=bool(row["life"]),
                    death=bool(row["death"]),
                    cognizable=bool(row["cognizable"]),
                    bailable=bool(row["bailable"]),
                    crime_head=row["crime_head"],
                    identity_withheld=bool(row["identity_withheld"]),
                )
                key = normalise_section(section.section)
                if key in self._sections[code]:
                    problems.append(f"{code} {section.section} listed twice")
                if not section.crime_head:
                    problems.append(f"{code} {section.section} has no crime head")
                self._sections[code][key] = section
        for pair in files["ipc_bns.json"]["map"]:
            ipc_key = normalise_section(pair["ipc"])
            ipc = self._sections["IPC"].get(ipc_key)
            if ipc is None:
                problems.append(f"mapping names unknown IPC section {pair['ipc']}")
                continue
            if ipc_key in self._ipc_to_bns:
                problems.append(f"IPC {pair['ipc']} mapped twice")
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
        if problems:
            # The data ships with the code: an inconsistency is our bug, found at start-up.
            raise UsageError("node/records/laws data is inconsistent: " + "; ".join(problems))

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

    # -- statistics --------------------------------------------------------------------------

    def _resolve(self, cited: Citation | tuple[str, str]) -> Section:
        if isinstance(cited, Section):
            return cited
        if isinstance(cited, tuple):
            return self.section(cited[0], cited[1])
        return self.section(cited.act, cited.section)

    def most_serious(self, sections: Iterable[Citation | tuple[str, str]]) -> Section:
        """The most serious of the cited sections: death > life > longest term.

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


def _read_package_data() -> dict[str, Any]:
    folder = resources.files("node.records.laws").joinpath("data")
    names = ("acts.json", "bns.json", "ipc.json", "sll.json", "ipc_bns.json")
    return {name: json.loads(folder.joinpath(name).read_text(encoding="utf-8")) for name in names}
