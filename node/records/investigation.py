"""The clocks and forms of an investigation: custody, remand, bail, the property register, the
case diary and the final report's time limits.

Pure: constants, the rules as functions of their inputs, no I/O. The commands are in
`node.station.investigation`, the state they leave in the index in `node.index.investigation`.
Every limit names its source; docs/investigation.md says which were checked against the
official text and which are not.

Custody. An arrest (CCTNS IIF-3, the arrest memo: `records.ArrestMemo`) starts the clock for
production before a magistrate: within 24 hours of the arrest, the journey to the court
excluded (BNSS s.58; Constitution Art. 22(2)). The journey time is not modelled: the clock runs
24 hours from the arrest, so a case whose court is far shows as due earlier than the law
requires, never later. A notice to appear in place of arrest (BNSS s.35(3)) takes nobody into
custody and starts no clock. The memo is attested by a witness, a member of the family or a
respectable member of the locality (BNSS s.36(b)); the grounds of arrest are told to the
person (BNSS s.47(1)); the person they name is informed (BNSS s.36(c), s.48(1)).

Remand. The magistrate may remand an accused to police or judicial custody, each time for at
most 15 days (BNSS s.187(2) for the first days of the investigation, s.187(3) after); when the
investigation is not complete within 90 days (offences punishable with death, imprisonment for
life or for ten years or more) or 60 days (any other offence), the accused is released on bail
if prepared to furnish it: bail by default (BNSS s.187(3)). The limit counts here from the
first remand in the case and is written into that remand's entry (`final_report_due_ms`), from
the FIR's sections as they read then.

Final report. The investigation of rape and of the POCSO offences named in BNSS s.193(2) is
completed within two months from the date the information was recorded; the informant or
victim is told the progress of the investigation within ninety days (BNSS s.193(3)(ii)).

Property. Each item of a seizure (the seizure mahazar, `records.Mahazar`: place, witnesses,
the audio-video record BNSS s.105 asks for) enters the station's property register with a
number of its own (`item_ref`) and stays where the last movement put it: at the station's
property room, in court, at a laboratory, back with its owner, or disposed of.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Final

from node.records.validation import DAY_MS

HOUR_MS: Final = 3_600_000
PRODUCTION_LIMIT_MS: Final = 24 * HOUR_MS  # BNSS s.58; Constitution Art. 22(2)
REMAND_LIMIT_MS: Final = 15 * DAY_MS  # one remand at most (BNSS s.187(2), (3))
# Police custody: at most 15 days in all, in whole or in parts, within the initial 40 days (the
# 60-day cases) or 60 days (the 90-day cases) of the detention period (BNSS s.187(2)),
# counted here from the accused's first remand in the case.
POLICE_CUSTODY_TOTAL_MS: Final = 15 * DAY_MS
POLICE_CUSTODY_WINDOW_DAYS: Final[dict[int, int]] = {60: 40, 90: 60}
DEFAULT_BAIL_SERIOUS_DAYS: Final = 90  # death, life, or ten years or more (BNSS s.187(3)(i))
DEFAULT_BAIL_OTHER_DAYS: Final = 60  # any other offence (BNSS s.187(3)(ii))
SERIOUS_YEARS: Final = 10
PROGRESS_TOLD_DAYS: Final = 90  # the informant told of progress (BNSS s.193(3)(ii))
SEXUAL_OFFENCE_MONTHS: Final = 2  # BNSS s.193(2)
# The offences of BNSS s.193(2): BNS ss.64-68, 70, 71 and POCSO ss.4, 6, 8, 10 (any
# sub-section of each).
TWO_MONTH_OFFENCES: Final[dict[str, frozenset[str]]] = {
    "BNS": frozenset({"64", "65", "66", "67", "68", "70", "71"}),
    "POCSO": frozenset({"4", "6", "8", "10"}),
}

# A court's order on an arrested accused (`CustodyOrder.order`).
POLICE_CUSTODY, JUDICIAL_CUSTODY = "police_custody", "judicial_custody"
BAIL, DEFAULT_BAIL, RELEASED = "bail", "default_bail", "released"
CUSTODY_ORDERS: Final = (POLICE_CUSTODY, JUDICIAL_CUSTODY, BAIL, DEFAULT_BAIL, RELEASED)
REMANDS: Final = (POLICE_CUSTODY, JUDICIAL_CUSTODY)
# Where an arrested person is (the lock-up register's `status`): at the station awaiting
# production, remanded, or out (bail, default bail, released). Noticed persons are never in.
AT_STATION: Final = "at_station"
OUT: Final = (BAIL, DEFAULT_BAIL, RELEASED)

# Where a seized item is, and the movements between places (`PropertyMovement.movement`):
# movement -> (the places it may start from, the place it ends in).
STATION, COURT, LABORATORY, OWNER, DISPOSED = "station", "court", "laboratory", "owner", "disposed"
MOVEMENTS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "to_court": (frozenset({STATION}), COURT),
    "from_court": (frozenset({COURT}), STATION),
    "to_laboratory": (frozenset({STATION}), LABORATORY),
    "from_laboratory": (frozenset({LABORATORY}), STATION),
    "returned_to_owner": (frozenset({STATION, COURT}), OWNER),
    "disposed": (frozenset({STATION, COURT}), DISPOSED),
}
# Movements that name where the item goes (the court, the laboratory, the owner) and the paper
# that sends it (the forwarding letter, the court's order).
NAMES_COUNTERPART: Final = frozenset(
    {"to_court", "to_laboratory", "returned_to_owner", "from_laboratory"}
)
NEEDS_REFERENCE: Final = frozenset(
    {"to_court", "to_laboratory", "returned_to_owner", "disposed", "from_laboratory"}
)


# How a trial or an appeal ends for the accused named (`Disposal.result`).
DISPOSAL_RESULTS: Final = (
    "convicted", "acquitted", "discharged", "compounded", "abated", "withdrawn",
)  # fmt: skip
APPEAL_RESULTS: Final = ("upheld", "reversed", "modified", "dismissed")
# The FIR sent to the magistrate (BNSS s.176(1): "forthwith"): listed as overdue after a day.
FIR_TO_MAGISTRATE_MS: Final = DAY_MS


def item_ref(seizure_index: int, position: int) -> str:
    """The property register's number of the `position`-th item (from 1) of the seizure at
    ledger index `seizure_index`: unique for ever without a counter, like person ids."""
    return f"PR-{seizure_index}-{position}"


def production_due(arrested_ms: int) -> int:
    """When an arrested person must have been produced before a magistrate."""
    return arrested_ms + PRODUCTION_LIMIT_MS


def default_bail_days(serious: bool) -> int:
    """Days of custody after which the accused is released on bail by default unless the
    final report is filed: 90 for offences punishable with death, life or ten years or more."""
    return DEFAULT_BAIL_SERIOUS_DAYS if serious else DEFAULT_BAIL_OTHER_DAYS


def police_custody_window_days(limit_days: int) -> int:
    """The initial days of the detention period within which police custody may be ordered:
    40 of the 60-day cases, 60 of the 90-day cases (BNSS s.187(2))."""
    return POLICE_CUSTODY_WINDOW_DAYS.get(limit_days, 40 if limit_days <= 60 else 60)


def police_custody_used(orders: Iterable[tuple[int, str, int]]) -> int:
    """Milliseconds of police custody the accused has had, from their custody orders
    (at_ms, order, until_ms) in any order: each police custody runs until its end or the next
    order, whichever comes first."""
    ordered = sorted(orders)
    used = 0
    for n, (at, order, until) in enumerate(ordered):
        if order != POLICE_CUSTODY or until <= at:
            continue
        end = until
        if n + 1 < len(ordered):
            end = min(end, max(at, ordered[n + 1][0]))
        used += end - at
    return used


def two_month_offence(act: str, section: str) -> bool:
    """Whether `act` `section` ("BNS", "64(1)") is one of the offences of BNSS s.193(2)."""
    base = section.strip().split("(", 1)[0].strip()
    return base in TWO_MONTH_OFFENCES.get(act.strip().upper(), frozenset())


def two_month_case(sections: Iterable[tuple[str, str]]) -> bool:
    return any(two_month_offence(act, section) for act, section in sections)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus calendar months, the day clipped to the month's last (31 Dec + 2 -> 28 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
