"""Citizen services: verification requests, NOCs and permissions with due dates; grievances
against the police; the public lists of missing persons and unidentified bodies.

Service requests ("SR/2026/000012") are received at the station, each with a due date computed
from the time received (`DUE_DAYS`, calendar days):

  passport_verification    15  the MEA allows 21 days for the police verification report; the
                               station aims at 15 so the report reaches the passport office
                               within that window
  employment_verification  15
  tenant_verification      15
  noc                      30  no-objection certificates
  permission               30  permissions (events, processions, loudspeakers, ...)

A request is *overdue* when its due time has passed and it is neither completed nor rejected.
Its status moves received -> in_progress -> completed | rejected (a closed request takes no
further update).

Grievances against the police ("GRV/2026/000003") are kept by the office that supervises the
office complained about, never by that office itself (option (a) of the design: no forwarding
over the network, the protos are fixed). A node stores a grievance only when its role is a
supervising one (`SUPERVISING_ROLES`) and the grievance is not against itself; a station node
stores nothing of a grievance and tells the citizen where to file it (see
`node.web.pages.services`).

The projection also keeps two public lists (read by `/citizen/missing`):
  * missing persons: petitions of category "missing_person" / "missing_child" that have not
    been closed (`PetitionUpdate` action "closed"); the person is the first respondent with
    role MISSING (a petition without one is not listed; a sealed identity is never listed).
    Name, age and sex only, never address or mobile; the date shown is the date reported.
  * unidentified bodies: General Diary entries of category "other" whose summary starts with
    "Unidentified body" (the diary has no category of its own for them), read from the core
    `gd_entries` table.

The commands are in `node.station.services`, the tables and lists in `node.index.services`; this
module holds the rules only (pure, no I/O).
"""

from __future__ import annotations

import re

from node.records.casework import MISSING_CATEGORIES as MISSING_CATEGORIES
from node.records.validation import DAY_MS, Problems, check_person
from protos import records_pb2

DUE_DAYS: dict[str, int] = {
    "passport_verification": 15,
    "employment_verification": 15,
    "tenant_verification": 15,
    "noc": 30,
    "permission": 30,
}
REQUEST_KINDS = tuple(DUE_DAYS)
REQUEST_STATUSES = ("received", "in_progress", "completed", "rejected")
REQUEST_UPDATES = ("in_progress", "completed", "rejected")
REQUEST_CLOSED = ("completed", "rejected")
GRIEVANCE_STATUSES = ("received", "under_enquiry", "closed")
GRIEVANCE_UPDATES = ("under_enquiry", "closed")
# Node roles that supervise stations and so may hold grievances against them.
SUPERVISING_ROLES = ("circle", "sub-division", "district", "state")
UNIDENTIFIED_BODY_PREFIX = "Unidentified body"
_MOBILE = re.compile(r"^[6-9][0-9]{9}$")


def due_ms(kind: str, received_at_ms: int) -> int:
    """When a request of `kind` received at `received_at_ms` is due."""
    return received_at_ms + DUE_DAYS[kind] * DAY_MS


def is_overdue(due: int, status: str, now: int) -> bool:
    return now > due and status not in REQUEST_CLOSED


def holds_grievances(role: str) -> bool:
    """Whether a node of this role keeps grievances (it supervises other offices)."""
    return role in SUPERVISING_ROLES


def check_applicant(person: records_pb2.Person, what: str, problems: Problems) -> None:
    """A citizen applying for a service or filing a grievance: named, with a mobile to reach."""
    check_person(person, what, problems)
    if not _MOBILE.match(person.mobile):
        problems.add(f"{what}: a 10-digit mobile number is required")
