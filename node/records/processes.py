"""The process register and the fortnightly forwarding of NCRs: the kinds of process, the steps
each may take, their numbers and the clocks (pure: no I/O).

A court sends the station its processes to serve or execute (BNSS Chapter VI, "Processes to
compel appearance"): a summons (form: BNSS s.63), a warrant of arrest, bailable or not (BNSS
s.72), a proclamation requiring a person absconding to appear (BNSS s.84). Each is entered in
the process register with the court, its case number, the person and the day it is returnable
to the court, and ends in one step: served (a summons), executed (a warrant), published (a
proclamation), or returned unserved with the reason. The station's commands are in
`node.station.processes`, the register in `node.index.processes`.

Non-cognizable cases (NCRs): the officer in charge forwards "the daily diary report of all such
cases fortnightly to the Magistrate" (BNSS s.174(1)(ii)): each forwarding lists the NCRs
registered since the last one, and the next is due fifteen days after it (or after the first
NCR not yet forwarded).

docs/investigation.md says which section numbers were checked against the text.
"""

from __future__ import annotations

import re
from typing import Final

from node.records.validation import DAY_MS

SUMMONS, BAILABLE_WARRANT, NON_BAILABLE_WARRANT, PROCLAMATION = (
    "summons", "bailable_warrant", "non_bailable_warrant", "proclamation",
)  # fmt: skip
PROCESS_TYPES: Final = (SUMMONS, BAILABLE_WARRANT, NON_BAILABLE_WARRANT, PROCLAMATION)
SERVED, EXECUTED, PUBLISHED, RETURNED = "served", "executed", "published", "returned"
STEPS: Final = (SERVED, EXECUTED, PUBLISHED, RETURNED)
# The step that carries out each kind of process (any may instead be returned unserved).
CARRIED_OUT_BY: Final[dict[str, str]] = {
    SUMMONS: SERVED,
    BAILABLE_WARRANT: EXECUTED,
    NON_BAILABLE_WARRANT: EXECUTED,
    PROCLAMATION: PUBLISHED,
}
PENDING: Final = "pending"
# A process is listed by `due_now` once its returnable day is this near (or past).
PROCESS_SOON_MS: Final = 7 * DAY_MS
# The NCRs' daily diary report goes to the magistrate fortnightly (BNSS s.174(1)(ii)).
NCR_FORWARDING_MS: Final = 15 * DAY_MS

_NUMBER = re.compile(r"\s*PRC\s*/\s*([0-9]{4})\s*/\s*([0-9]{1,9})\s*", re.IGNORECASE)


def process_number(serial: int, year: int) -> str:
    """The process register's number: "PRC/2026/000012" ("PR-" is the property register's)."""
    return f"PRC/{year}/{serial:06d}"


def canonical_process(text: str) -> str | None:
    """'prc/2026/12' -> 'PRC/2026/000012'; None when it is no process number."""
    match = _NUMBER.fullmatch(text or "")
    return process_number(int(match[2]), int(match[1])) if match else None


def allowed_steps(process_type: str) -> tuple[str, str]:
    """The steps that end a process of `process_type`: carried out, or returned unserved."""
    return CARRIED_OUT_BY[process_type], RETURNED
