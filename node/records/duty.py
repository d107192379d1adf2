"""Beats, the duty roster and the beat book: the vocabulary, the rules and how a place is put on
a beat (pure: no I/O).

A station's area is divided into beats, each with the localities it covers (Kerala Police's beat
system: docs/investigation.md, "Beats, patrols and the duty roster", says what is verified of
it). A beat is defined, revised and retired by entries of the log (`Beat`): retiring is an
entry, nothing is deleted, and a retired beat's code is never used again. The SHO puts officers
on duties (`DutyAssignment`), each for a beat or a place, from/to; an officer is never on two
duties at once, and an assignment is cancelled only by a later entry. The beat book holds what a
patrol saw (`PatrolEntry`): where it went and when, what it observed, whom it checked; written
once, never changed.

The station's commands are in `node.station.duty`, the tables and reads in `node.index.duty`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from node.records.validation import DAY_MS

DEFINED, RETIRED = "defined", "retired"
BEAT_ACTIONS: Final = (DEFINED, RETIRED)

BEAT_PATROL, NIGHT_PATROL = "beat_patrol", "night_patrol"
COURT_DUTY, PROCESS_SERVICE, PETITION_ENQUIRY = "court_duty", "process_service", "petition_enquiry"
GD_WRITER, SENTRY, TRAFFIC, BANDOBAST, ESCORT = (
    "gd_writer", "sentry", "traffic", "bandobast", "escort",
)  # fmt: skip
# The duties of the roster, in the order the roster shows them. Their English and Malayalam
# labels are the web UI's (node/web/i18n_duty.json, "duty.kind.<duty>").
DUTIES: Final = (
    BEAT_PATROL,
    NIGHT_PATROL,
    PROCESS_SERVICE,
    PETITION_ENQUIRY,
    COURT_DUTY,
    GD_WRITER,
    SENTRY,
    TRAFFIC,
    BANDOBAST,
    ESCORT,
)
# English labels for the command line and CSV (the web UI has both languages).
DUTY_LABELS: Final[dict[str, str]] = {
    BEAT_PATROL: "Beat patrol",
    NIGHT_PATROL: "Night patrol",
    PROCESS_SERVICE: "Summons / warrant service",
    PETITION_ENQUIRY: "Petition enquiry",
    COURT_DUTY: "Court duty",
    GD_WRITER: "GD writer",
    SENTRY: "Sentry",
    TRAFFIC: "Traffic",
    BANDOBAST: "Bandobast",
    ESCORT: "Escort",
}
# A beat patrol is of a beat; night patrol of a beat or a route (a place); court duty,
# traffic, bandobast and escort name where. The others may name either, or neither (the
# station).
NEEDS_BEAT: Final = frozenset({BEAT_PATROL})
NEEDS_BEAT_OR_PLACE: Final = frozenset({NIGHT_PATROL})
NEEDS_PLACE: Final = frozenset({COURT_DUTY, TRAFFIC, BANDOBAST, ESCORT})
# The duties that cover a beat in the suggested roster.
PATROLS: Final = frozenset({BEAT_PATROL, NIGHT_PATROL})
# One assignment is one shift: a longer duty is assigned day by day (this project's rule).
MAX_DUTY_MS: Final = DAY_MS
# How far ahead the roster is written: a month (this project's rule).
ROSTER_AHEAD_MS: Final = 31 * DAY_MS
# Incidents counted per beat for the roster: the last thirty days.
WORKLOAD_DAYS: Final = 30

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,11}$")
# Word breaks: whitespace and punctuation. Malayalam vowel signs are marks (Mn/Mc), not word
# characters to `\w`, so words are split on what is not a letter, mark or digit instead.
_DUTY_REF = re.compile(r"^\s*DUTY\s*-?\s*([0-9]{1,12})\s*$", re.IGNORECASE)
_PATROL_REF = re.compile(r"^\s*PATROL\s*-?\s*([0-9]{1,12})\s*$", re.IGNORECASE)


def valid_code(code: str) -> bool:
    """A beat's code: a letter or digit, then up to 11 letters, digits or '-' ("B1", "NP-2")."""
    return bool(_CODE.match(code))


def duty_ref(index: int) -> str:
    """An assignment's reference, by its ledger index: "DUTY-1234" (unique for ever)."""
    return f"DUTY-{index}"


def patrol_ref(index: int) -> str:
    """A beat book entry's reference, by its ledger index: "PATROL-1234"."""
    return f"PATROL-{index}"


def duty_index(text: str) -> int | None:
    """'DUTY-1234', 'duty 1234' or '1234' -> 1234; None when it is no assignment's reference."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return int(text)
    match = _DUTY_REF.match(text)
    return int(match[1]) if match else None


def patrol_index(text: str) -> int | None:
    """'PATROL-1234' -> 1234."""
    match = _PATROL_REF.match(text or "")
    return int(match[1]) if match else None


def words(text: str) -> tuple[str, ...]:
    """A place as compared: its words, case-folded, NFC ("HMT Colony, Kalamassery" ->
    ("hmt", "colony", "kalamassery")); Malayalam words kept whole with their vowel signs."""
    folded = unicodedata.normalize("NFC", text or "").casefold()
    out: list[str] = []
    word: list[str] = []
    for ch in folded:
        if unicodedata.category(ch)[0] in "LMN" or ch in "\u200c\u200d":
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return tuple(out)


def locality_key(locality: str) -> str:
    """A locality as two beats may not share it: its words joined by one space."""
    return " ".join(words(locality))


@dataclass(frozen=True, slots=True)
class BeatArea:
    """What the mapping needs of a beat: its code, name and localities."""

    code: str
    name: str
    localities: tuple[str, ...]


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    if n == 0 or n > len(haystack):
        return False
    first = needle[0]
    return any(
        haystack[i] == first and tuple(haystack[i : i + n]) == tuple(needle)
        for i in range(len(haystack) - n + 1)
    )


def beat_of(text: str, beats: Iterable[BeatArea], *, hint: str = "") -> str | None:
    """The beat a place belongs to, by its code, or None.

    `hint` is what the record itself says of the beat (an FIR's place of occurrence has a beat
    field): a beat whose code or name it is wins. Otherwise every locality of every beat is
    looked for in `text` as whole words, in order ("HMT Colony" in "near the HMT Colony bus
    stop"); the longest locality found wins (the most particular: "HMT Colony" over
    "Kalamassery"), and of equally long ones the beat listed first (the caller lists them by
    code)."""
    areas = list(beats)
    hint_key = locality_key(hint)
    if hint_key:
        for area in areas:
            if hint_key in (locality_key(area.code), locality_key(area.name)):
                return area.code
    found = words(text)
    best: tuple[int, str] | None = None
    for area in areas:
        for locality in area.localities:
            needle = words(locality)
            if (best is None or len(needle) > best[0]) and _contains(found, needle):
                best = (len(needle), area.code)
    return best[1] if best else None


def overlaps(a_from: int, a_to: int, b_from: int, b_to: int) -> bool:
    """Whether two periods [from, to) share a moment."""
    return a_from < b_to and b_from < a_to
