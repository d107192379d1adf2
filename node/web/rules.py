"""Who may do what: the one table of rules, and the case-level checks that refine it.

Every page and every API route asks this module, on the server, before it acts; templates may
ask `allowed` too, but only to hide links (hiding is never the protection). Nothing here does
I/O: the officer and the case facts are passed in.

Three layers, checked in order:
1. the role table `PERMISSIONS` (role -> frozenset of actions);
2. jurisdiction: station roles act only on their own station's cases; supervisors and analysts
   on the stations under the office their jurisdiction names ("kerala/ernakulam-city/sdpo-
   thrikkakara": the station's chain of offices above it, from its directory, must hold it),
   or on cases whose station node id starts with their jurisdiction prefix
   ("kerala/ernakulam-city/", for a district or a state);
3. case rules: a case's diary, arrests, seizures and charge sheet belong to its investigating
   officer, or to a supervisor (the SHO of that station, the circle inspector, the SDPO, the
   district supervisor); information on a listed sexual offence against a woman is recorded by
   a woman officer (BNSS s.173(1) proviso, earlier CrPC s.154(1) proviso): who that woman is,
   the withholding policy says (`node.records.withholding`).

Must never: import a web framework or a database, or grant anything the table does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ledger.errors import CctnsError, UsageError
from node.records.laws import Statutes
from node.records.withholding import assess_fir
from protos import records_pb2

ROLES = (
    "gd_writer",
    "sho",
    "investigating_officer",
    "circle_inspector",
    "sdpo",
    "district_supervisor",
    "scrb_analyst",
    "ncrb_analyst",
    "node_admin",
)

ACTIONS = (
    "gd.write",
    "gd.read",
    "petition.receive",
    "petition.enquire",
    "petition.close",
    "petition.convert",
    "enquiry.permit",
    "fir.register",
    "fir.read",
    "fir.amend",
    "fir.transfer_zero",
    "case.diary",
    "case.arrest",
    "case.seizure",
    "case.chargesheet",
    "case.court",
    "search.local",
    "search.federated",
    "dashboard.view",
    "requests.handle",
    "grievance.handle",
    "users.manage",
    "pdf.fir_copy",
    "duty.assign",
)

# Roles bound to one station: they act on that station's cases only.
STATION_ROLES = frozenset({"gd_writer", "sho", "investigating_officer"})
# Roles above the station: they act on every station inside their jurisdiction prefix.
SUPERVISOR_ROLES = frozenset({"circle_inspector", "sdpo", "district_supervisor"})
ANALYST_ROLES = frozenset({"scrb_analyst", "ncrb_analyst"})
# The investigation of a case belongs to its investigating officer; a supervisor may also act.
CASE_ACTIONS = frozenset({"case.diary", "case.arrest", "case.seizure", "case.chargesheet"})
# The jurisdiction that covers every node (the national bureau's analysts only).
NATIONAL = "*"

_SUPERVISION = frozenset(
    {
        "gd.read",
        "petition.enquire",
        "petition.close",
        "fir.read",
        "case.diary",
        "case.arrest",
        "case.seizure",
        "case.chargesheet",
        "case.court",
        "search.local",
        "search.federated",
        "dashboard.view",
        "grievance.handle",
        "pdf.fir_copy",
    }
)
_ANALYSIS = frozenset({"fir.read", "search.federated", "dashboard.view"})

PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # Writes the General Diary and receives what comes to the front desk; the officer in
        # charge registers the FIR.
        "gd_writer": frozenset(
            {"gd.write", "gd.read", "petition.receive", "fir.read", "search.local", "pdf.fir_copy"}
        ),
        # The station house officer (officer in charge of the police station).
        "sho": frozenset(
            {
                "gd.write",
                "gd.read",
                "petition.receive",
                "petition.enquire",
                "petition.close",
                "petition.convert",
                "fir.register",
                "fir.read",
                "fir.amend",
                "fir.transfer_zero",
                "case.diary",
                "case.arrest",
                "case.seizure",
                "case.chargesheet",
                "case.court",
                "search.local",
                "search.federated",
                "dashboard.view",
                "requests.handle",
                "grievance.handle",
                "pdf.fir_copy",
                # The beats and the duty roster (node/web/pages/duty.py).
                "duty.assign",
            }
        ),
        # A sub-inspector or inspector who investigates; registers FIRs when in charge.
        "investigating_officer": frozenset(
            {
                "gd.write",
                "gd.read",
                "petition.receive",
                "petition.enquire",
                "fir.register",
                "fir.read",
                "fir.amend",
                "case.diary",
                "case.arrest",
                "case.seizure",
                "case.chargesheet",
                "case.court",
                "search.local",
                "search.federated",
                "requests.handle",
                "pdf.fir_copy",
            }
        ),
        "circle_inspector": _SUPERVISION,
        # Preliminary enquiry before an FIR needs an officer not below the rank of DSP.
        "sdpo": _SUPERVISION | {"enquiry.permit"},
        "district_supervisor": _SUPERVISION | {"enquiry.permit"},
        "scrb_analyst": _ANALYSIS,
        "ncrb_analyst": _ANALYSIS,
        # Manages accounts; deliberately reads no case records (separation of duties).
        "node_admin": frozenset({"users.manage", "dashboard.view"}),
    }
)


class Forbidden(CctnsError):
    """The officer may not do this; the message says why (it is shown to the officer)."""


@dataclass(frozen=True, slots=True)
class Officer:
    """An officer as the rules see them (accounts live in `node.web.auth`)."""

    officer_id: str
    name: str
    sex: str
    role: str
    station_node_id: str
    jurisdiction: str
    totp_confirmed: bool = False
    disabled: bool = False
    created_ms: int = 0


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the rules need to know about a case. (Who records an FIR is the FIR's own question:
    `check_fir_recorder`.)"""

    station_node_id: str
    io_officer_id: str
    # The offices the station sits under, nearest first, as its node knows them (its
    # directory: node/peers/directory.py `offices_above`); empty when it knows none.
    offices_above: tuple[str, ...] = ()


_KNOWN_ACTIONS = frozenset(ACTIONS)


def check_action(action: str) -> None:
    """Raises UsageError for an action the table does not know."""
    if action not in _KNOWN_ACTIONS:
        # A typo in a route must fail loudly, not deny (or grant) quietly.
        raise UsageError(f"unknown action {action!r}")


def covers(officer: Officer, station_node_id: str, offices_above: tuple[str, ...] = ()) -> bool:
    """Whether the station node lies within the officer's jurisdiction.

    A supervisor's jurisdiction is either an office ("kerala/ernakulam-city/sdpo-thrikkakara":
    every station under that office in the organisation, `offices_above` being the station's
    chain of offices) or a node-id prefix ("kerala/ernakulam-city/": every station whose id
    starts with it, which suits a district). An office that is not above the station does not
    cover it, however its id begins: an SDPO covers the sub-division's stations, not the
    district's.
    """
    if officer.role in STATION_ROLES:
        return bool(officer.station_node_id) and officer.station_node_id == station_node_id
    if officer.role in SUPERVISOR_ROLES or officer.role in ANALYST_ROLES:
        if officer.jurisdiction == NATIONAL:
            return officer.role == "ncrb_analyst"
        office = officer.jurisdiction.strip().strip("/")
        if office and office in offices_above:
            return True
        prefix = jurisdiction_prefix(officer.jurisdiction)
        return bool(prefix) and station_node_id.startswith(prefix)
    return False


def jurisdiction_prefix(jurisdiction: str) -> str:
    """The prefix a jurisdiction covers: "kerala/ernakulam-city" -> "kerala/ernakulam-city/"."""
    cleaned = jurisdiction.strip().strip("/")
    return f"{cleaned}/" if cleaned else ""


def _refusal(officer: Officer, action: str, case: CaseFacts | None) -> str | None:
    """Why the officer may not act, or None when allowed. `action` is known."""
    if officer.disabled:
        return "this account is disabled"
    if action not in PERMISSIONS.get(officer.role, frozenset()):
        return f"the role {officer.role!r} may not do {action!r}"
    if case is None:
        return None
    if not covers(officer, case.station_node_id, case.offices_above):
        return f"case of {case.station_node_id} is outside this officer's jurisdiction"
    if (
        action in CASE_ACTIONS
        and case.io_officer_id != officer.officer_id
        and officer.role not in SUPERVISOR_ROLES
        and officer.role != "sho"
    ):
        return f"only the case's investigating officer or a supervisor may do {action!r}"
    return None


_WOMAN_OFFICER = (
    "information on a sexual offence against a woman must be recorded by a woman officer "
    "(BNSS s.173(1)); ask a woman officer of the station to record it"
)


def allowed(officer: Officer, action: str, *, case: CaseFacts | None = None) -> bool:
    """Whether the officer may do the action (on the case, when given).

    Without case facts the answer is the role's: "may this officer ever do this", for page
    gates and menus. Code that acts on a case passes its facts, or uses `require`.
    """
    check_action(action)
    return _refusal(officer, action, case) is None


def require(officer: Officer, action: str, case: CaseFacts | None = None) -> None:
    """Raises Forbidden unless the officer may do the action.

    The case-scoped actions (`CASE_ACTIONS`) need the case's facts: calling without them is a
    programming error (UsageError), so a route cannot skip the investigating-officer rule.
    """
    check_action(action)
    if action in CASE_ACTIONS and case is None:
        raise UsageError(f"{action!r} is checked against a case: pass its CaseFacts")
    reason = _refusal(officer, action, case)
    if reason is not None:
        raise Forbidden(f"{officer.officer_id}: {reason}")


def require_woman_officer(officer: Officer) -> None:
    """Raises Forbidden unless the officer is a woman."""
    if officer.sex != "F":
        raise Forbidden(f"{officer.officer_id}: {_WOMAN_OFFICER}")


def check_fir_recorder(officer: Officer, fir: records_pb2.Fir, statutes: Statutes) -> None:
    """The signed-in officer records the information: fills `fir.recording.recorded_by_sex`
    from the officer, then applies the station's rule (`node.records.withholding`, which the
    station checks again for every path): information about a listed offence against a woman
    (or a girl), whether she is listed as the victim or reports it as the complainant, is
    recorded by a woman officer. Raises Forbidden otherwise, before anything is sent."""
    fir.recording.recorded_by_sex = officer.sex if officer.sex in ("F", "M") else ""
    if assess_fir(fir, statutes).woman_officer:
        require_woman_officer(officer)
