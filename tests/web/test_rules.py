"""The rules table: each role's key permissions, jurisdiction, the investigating-officer rule and
the woman-officer rule."""

from __future__ import annotations

import pytest

from ledger.errors import UsageError
from node.records.laws import Statutes
from node.web.rules import (
    ACTIONS,
    CASE_ACTIONS,
    PERMISSIONS,
    ROLES,
    CaseFacts,
    Forbidden,
    Officer,
    allowed,
    check_fir_recorder,
    require,
    require_woman_officer,
)
from protos import records_pb2

KALAMASSERY = "kerala/ernakulam-city/ps-kalamassery"
ALUVA = "kerala/ernakulam-rural/ps-aluva"
CITY = "kerala/ernakulam-city/"


def officer(role: str, officer_id: str = "PEN100001", **changes: object) -> Officer:
    values: dict[str, object] = {
        "officer_id": officer_id,
        "name": "Test Officer",
        "sex": "M",
        "role": role,
        "station_node_id": KALAMASSERY,
        "jurisdiction": "",
        "totp_confirmed": True,
    }
    values.update(changes)
    return Officer(**values)  # type: ignore[arg-type]


def case(io: str = "PEN100001", station: str = KALAMASSERY) -> CaseFacts:
    return CaseFacts(station_node_id=station, io_officer_id=io)


def fir(section: str, *persons: tuple[int, str]) -> records_pb2.Fir:
    """An FIR citing BNS `section` with persons given as (role, sex)."""
    record = records_pb2.Fir(sections=[records_pb2.ActSection(act="BNS", section=section)])
    for role, sex in persons:
        record.persons.add(person=records_pb2.Person(name="Someone", sex=sex), role=role)  # type: ignore[arg-type]
    return record


def test_rules_table_covers_every_role_with_known_actions() -> None:
    assert set(PERMISSIONS) == set(ROLES)
    for actions in PERMISSIONS.values():
        assert actions <= set(ACTIONS)


@pytest.mark.parametrize(
    ("role", "may", "may_not"),
    [
        ("gd_writer", {"gd.write", "petition.receive"}, {"fir.register", "case.chargesheet"}),
        ("sho", {"fir.register", "fir.transfer_zero", "petition.convert"}, {"users.manage"}),
        ("investigating_officer", {"case.diary", "fir.register"}, {"petition.close"}),
        ("circle_inspector", {"case.chargesheet", "grievance.handle"}, {"gd.write"}),
        ("sdpo", {"enquiry.permit", "case.chargesheet"}, {"fir.register", "users.manage"}),
        ("district_supervisor", {"dashboard.view", "search.federated"}, {"gd.write"}),
        ("scrb_analyst", {"dashboard.view", "search.federated"}, {"gd.write", "case.diary"}),
        ("ncrb_analyst", {"dashboard.view"}, {"fir.register", "pdf.fir_copy"}),
        ("node_admin", {"users.manage"}, {"fir.read", "gd.read", "search.local"}),
    ],
)
def test_rules_role_key_permissions(role: str, may: set[str], may_not: set[str]) -> None:
    someone = officer(role, jurisdiction=CITY)
    for action in may:
        assert allowed(someone, action), action
    for action in may_not:
        assert not allowed(someone, action), action
        with pytest.raises(Forbidden):
            require(someone, action, case() if action in CASE_ACTIONS else None)


def test_rules_only_sdpo_level_permits_preliminary_enquiry() -> None:
    roles = {role for role in ROLES if allowed(officer(role), "enquiry.permit")}
    assert roles == {"sdpo", "district_supervisor"}


def test_rules_chargesheet_by_investigating_officer_or_supervisor() -> None:
    io = officer("investigating_officer", "PEN100001")
    other_io = officer("investigating_officer", "PEN100002")
    require(io, "case.chargesheet", case(io="PEN100001"))
    with pytest.raises(Forbidden, match="investigating officer"):
        require(other_io, "case.chargesheet", case(io="PEN100001"))
    for action in CASE_ACTIONS:
        assert allowed(io, action, case=case(io="PEN100001"))
        assert not allowed(other_io, action, case=case(io="PEN100001"))
    # The SHO of the station and the supervisors above it may act on any case there.
    require(officer("sho", "PEN200001"), "case.chargesheet", case())
    for role in ("circle_inspector", "sdpo", "district_supervisor"):
        require(officer(role, "PEN300001", jurisdiction=CITY), "case.chargesheet", case())


def test_rules_case_action_without_case_facts_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        require(officer("investigating_officer"), "case.chargesheet")
    # allowed() without facts answers for the role (menus, page gates).
    assert allowed(officer("investigating_officer"), "case.chargesheet")


def test_rules_other_station_refused() -> None:
    aluva_case = case(io="PEN100001", station=ALUVA)
    # Even the case's own IO, posted elsewhere now, and the SHO of another station are refused.
    for role in ("investigating_officer", "sho", "gd_writer"):
        assert not allowed(officer(role), "fir.read", case=aluva_case)
    with pytest.raises(Forbidden, match="jurisdiction"):
        require(officer("sho"), "case.chargesheet", aluva_case)
    # A circle of Ernakulam City does not cover Ernakulam Rural; the district above it does.
    assert not allowed(officer("circle_inspector", jurisdiction=CITY), "fir.read", case=aluva_case)
    rural = officer("district_supervisor", jurisdiction="kerala/ernakulam-rural")
    assert allowed(rural, "case.chargesheet", case=aluva_case)
    # A prefix is matched on whole path parts: "kerala/ernakulam" covers neither.
    assert not allowed(officer("sdpo", jurisdiction="kerala/ernakulam"), "fir.read", case=case())


def test_rules_supervisor_jurisdiction_is_the_offices_under_them() -> None:
    """An SDPO named by their office covers the stations under it (the station's chain of
    offices, from its directory), not the district's other sub-divisions, though the ids share
    the district's prefix; a circle inspector likewise."""
    above = ("kerala/ernakulam-city/sdpo-thrikkakara", "kerala/ernakulam-city/dpo")
    ours = CaseFacts(station_node_id=KALAMASSERY, io_officer_id="PEN9", offices_above=above)
    thrikkakara = officer("sdpo", jurisdiction="kerala/ernakulam-city/sdpo-thrikkakara/")
    aluva = officer("sdpo", jurisdiction="kerala/ernakulam-city/sdpo-aluva/")
    assert allowed(thrikkakara, "enquiry.permit", case=ours)
    assert not allowed(aluva, "enquiry.permit", case=ours)
    with pytest.raises(Forbidden, match="jurisdiction"):
        require(aluva, "case.chargesheet", ours)
    # Without the chain (a station that knows no offices above it) the office covers nothing.
    assert not allowed(thrikkakara, "fir.read", case=case())
    # The district, as a prefix, still covers it.
    assert allowed(officer("district_supervisor", jurisdiction=CITY), "fir.read", case=ours)


def test_rules_analyst_jurisdiction() -> None:
    state = officer("scrb_analyst", jurisdiction="kerala/")
    assert allowed(state, "fir.read", case=case(station=ALUVA))
    assert not allowed(state, "fir.read", case=case(station="tamil-nadu/chennai/ps-adyar"))
    national = officer("ncrb_analyst", jurisdiction="*")
    assert allowed(national, "fir.read", case=case(station="tamil-nadu/chennai/ps-adyar"))
    assert not allowed(officer("scrb_analyst", jurisdiction="*"), "fir.read", case=case())


def test_rules_disabled_officer_may_do_nothing() -> None:
    assert not allowed(officer("sho", disabled=True), "gd.read")


def test_rules_unknown_action_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        allowed(officer("sho"), "fir.delete")


def test_rules_woman_officer_records_sexual_offence_against_woman() -> None:
    man = officer("sho", sex="M")
    woman = officer("investigating_officer", "PEN100009", sex="F")
    statutes = Statutes.default()
    with pytest.raises(Forbidden, match="woman officer"):
        require_woman_officer(man)
    require_woman_officer(woman)
    listed_victim = fir("64(1)", (records_pb2.COMPLAINANT, "M"), (records_pb2.VICTIM, "F"))
    with pytest.raises(Forbidden, match="woman officer"):
        check_fir_recorder(man, listed_victim, statutes)
    check_fir_recorder(woman, listed_victim, statutes)
    # She reports the offence against herself: no victim row, the complainant is the woman.
    herself = fir("64(1)", (records_pb2.COMPLAINANT, "F"), (records_pb2.ACCUSED, "M"))
    with pytest.raises(Forbidden, match="woman officer"):
        check_fir_recorder(man, herself, statutes)
    check_fir_recorder(woman, herself, statutes)
    # An acid attack (BNS 124) is on the proviso's list, though its victim's name is not withheld.
    with pytest.raises(Forbidden, match="woman officer"):
        check_fir_recorder(man, fir("124(1)", (records_pb2.COMPLAINANT, "F")), statutes)
    # A man reporting the offence against another man, and a theft, need no woman officer.
    check_fir_recorder(man, fir("64(1)", (records_pb2.COMPLAINANT, "M")), statutes)
    check_fir_recorder(man, fir("303(2)", (records_pb2.COMPLAINANT, "F")), statutes)
    # An acid attack on a man, reported by his mother: the offence is not against a woman.
    son = fir("124(1)", (records_pb2.COMPLAINANT, "F"), (records_pb2.VICTIM, "M"))
    check_fir_recorder(man, son, statutes)
