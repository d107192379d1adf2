"""The withholding policy (`node.records.withholding`): who is protected, by the offence and the
person's relation to it, read alike from a record being drafted and from a record's view."""

from __future__ import annotations

from datetime import datetime

import pytest
from google.protobuf.json_format import MessageToDict

from node.records.laws import Statutes
from node.records.validation import IST, utc_ms
from node.records.withholding import (
    CHILD,
    REPORTER,
    VICTIM,
    Offence,
    Party,
    age_on,
    assess,
    assess_fir,
    assess_persons,
    assess_view,
    offence_of,
    recording_problems,
    seal,
)
from protos import records_pb2

OCCURRED = utc_ms(datetime(2026, 3, 10, 21, 0, tzinfo=IST))


@pytest.fixture(scope="module")
def statutes() -> Statutes:
    return Statutes.default()


def fir(sections: list[tuple[str, str]], *persons: records_pb2.PersonInCase) -> records_pb2.Fir:
    return records_pb2.Fir(
        occurrence_from_ms=OCCURRED,
        sections=[records_pb2.ActSection(act=a, section=s) for a, s in sections],
        persons=persons,
    )


def entry(role: int, name: str = "", **fields: object) -> records_pb2.PersonInCase:
    return records_pb2.PersonInCase(
        person=records_pb2.Person(name=name, **fields),  # type: ignore[arg-type]
        role=role,  # type: ignore[arg-type]
    )


def test_withholding_woman_complainant_of_a_sexual_offence_with_no_victim_row(
    statutes: Statutes,
) -> None:
    record = fir(
        [("BNS", "64(1)")],
        entry(records_pb2.COMPLAINANT, "Anitha Kumari", sex="F", age=24, mobile="9447011111"),
        entry(records_pb2.ACCUSED, "Biju Mathew", sex="M", age=35),
        entry(records_pb2.WITNESS, "Joseph K", sex="M", age=50),
    )
    found = assess_fir(record, statutes)
    assert found.grounds == (REPORTER, None, None)
    assert found.offence.withheld == ("BNS 64(1)",)
    assert found.woman_officer
    assert found.public_withholding is not None and "BNS 64(1)" in found.public_withholding


def test_withholding_pocso_complainant_parent_and_the_child(statutes: Statutes) -> None:
    record = fir(
        [("POCSO", "4")],
        entry(records_pb2.COMPLAINANT, "Suresh Babu", sex="M", age=42),
        entry(records_pb2.VICTIM, "Child Z", sex="F", age=11),
        entry(records_pb2.ACCUSED, "Manoj P", sex="M", age=30),
    )
    found = assess_fir(record, statutes)
    assert found.grounds == (REPORTER, CHILD, None)
    # POCSO is not on the BNSS s.173(1) proviso's list.
    assert not found.woman_officer


def test_withholding_child_accused_by_age_or_date_of_birth_in_any_offence(
    statutes: Statutes,
) -> None:
    record = fir(
        [("BNS", "303(2)")],
        entry(records_pb2.COMPLAINANT, "Rajesh K", age=41),
        entry(records_pb2.ACCUSED, "Boy A", age=14),
        # 18 on 2026-05-01, so 17 on the day of the offence: a child in conflict with law.
        entry(records_pb2.ACCUSED, "Boy B", date_of_birth="2008-05-01", age=18),
        # 18 on 2026-03-10 itself: not a child that day.
        entry(records_pb2.ACCUSED, "Man C", date_of_birth="2008-03-10"),
        entry(records_pb2.WITNESS, "Girl D", juvenile=True),
        records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True),
    )
    found = assess_fir(record, statutes)
    assert found.grounds == (None, CHILD, CHILD, None, CHILD, None)
    # Sealed children leave the record showable to its complainant, the children withheld.
    assert found.public_withholding is not None  # not sealed yet: they stand in clear
    sealed = seal(found, [e.person for e in record.persons], "FIR No. 1/2026")
    assert len(sealed) == 3
    assert record.persons[1].person.juvenile and record.persons[2].person.juvenile
    assert not record.persons[1].person.name and not record.persons[2].person.date_of_birth
    assert assess_fir(record, statutes).public_withholding is None


def test_withholding_age_on_the_offence_date() -> None:
    child = Party("ACCUSED", date_of_birth="2010-12-31", age=30)
    assert age_on(child, OCCURRED) == 15  # the birth date wins over the recorded age
    assert age_on(Party("ACCUSED", age=16), OCCURRED) == 16
    assert age_on(Party("ACCUSED", date_of_birth="not a date", age=17), OCCURRED) == 17
    assert age_on(Party("ACCUSED"), OCCURRED) is None


def test_withholding_missing_child_is_not_sealed_for_age() -> None:
    found = assess(Offence(occurred_ms=OCCURRED), [Party("MISSING", age=9, juvenile=True)])
    assert found.grounds == (None,)


def test_withholding_same_person_by_name_and_by_accused_code(statutes: Statutes) -> None:
    record = fir(
        [("BNS", "74")],
        entry(records_pb2.VICTIM, "Meera S", sex="F", age=30),
        entry(records_pb2.WITNESS, " meera  S ", sex="F"),
        entry(records_pb2.ACCUSED, "Boy A", age=16),
    )
    case = assess_fir(record, statutes)
    assert case.grounds == (VICTIM, VICTIM, CHILD)
    record.persons[2].accused_code = "A1"
    case = assess_fir(record, statutes)
    # An arrest of A1, recorded later without the age: protected as the case's A1.
    arrested = records_pb2.PersonInCase(
        person=records_pb2.Person(name="A. Boy"), role=records_pb2.ACCUSED, accused_code="A1"
    )
    later = assess_persons([arrested], case.offence, case=case)
    assert later.grounds == (CHILD,)


def test_withholding_informants_on_request_only(statutes: Statutes) -> None:
    record = fir(
        [("BNS", "303(2)")],
        entry(records_pb2.INFORMANT, "Ravi T", age=40),
        entry(records_pb2.COMPLAINANT, "Rajesh K", age=41),
    )
    assert assess_fir(record, statutes).grounds == (None, None)
    requested = assess_fir(record, statutes, withhold_informants=True)
    assert [g.code if g else None for g in requested.grounds] == ["on_request", None]


def test_withholding_woman_officer_sections(statutes: Statutes) -> None:
    assert offence_of(fir([("BNS", "124(1)")]).sections, statutes).woman_officer == ("BNS 124(1)",)
    assert offence_of(fir([("IPC", "376(2)")]).sections, statutes).woman_officer
    assert offence_of(fir([("IPC", "354A")]).sections, statutes).woman_officer
    assert not offence_of(fir([("BNS", "303(2)")]).sections, statutes).woman_officer
    # An acid attack is recorded by a woman officer, but its victim's name is not withheld.
    assert not offence_of(fir([("BNS", "124(1)")]).sections, statutes).withheld


def test_withholding_view_and_message_get_the_same_answer(statutes: Statutes) -> None:
    record = fir(
        [("BNS", "64(1)"), ("BNS", "115(2)")],
        entry(records_pb2.COMPLAINANT, "Suma R", sex="F", date_of_birth="2009-01-02"),
        entry(records_pb2.VICTIM, "Suma R", sex="F"),
        entry(records_pb2.ACCUSED, "Anil P", sex="M", age=33),
        entry(records_pb2.WITNESS, "Hari", sex="M", age=12),
    )
    view = MessageToDict(record, preserving_proto_field_name=True)
    from_view, from_message = assess_view(view, statutes), assess_fir(record, statutes)
    assert from_view.grounds == from_message.grounds == (CHILD, VICTIM, None, CHILD)
    assert from_view.offence == from_message.offence
    assert from_view.woman_officer and from_message.woman_officer


# -- who records the information, and how (BNSS s.173(1) provisos) ------------------------------


def recorded(record: records_pb2.Fir, statutes: Statutes, **recording: object) -> list[str]:
    record.recording.CopyFrom(records_pb2.InformationRecording(**recording))  # type: ignore[arg-type]
    return recording_problems(assess_fir(record, statutes), record.recording)


def test_withholding_recording_by_a_woman_officer(statutes: Statutes) -> None:
    rape = fir(
        [("BNS", "64(1)")],
        entry(records_pb2.COMPLAINANT, "Anitha Kumari", sex="F", age=24),
    )
    assert recorded(rape, statutes, recorded_by_sex="F") == []
    (man,) = recorded(rape, statutes, recorded_by_sex="M")
    assert "BNS 64(1) against a woman: the information is recorded by a woman officer" in man
    assert "BNSS s.173(1) first proviso" in man
    (nobody,) = recorded(rape, statutes)
    assert "say who recorded it" in nobody
    # IPC cases: CrPC s.154(1).
    ipc = fir([("IPC", "354")], entry(records_pb2.VICTIM, "Anitha Kumari", sex="F", age=24))
    (old,) = recorded(ipc, statutes, recorded_by_sex="M")
    assert "CrPC s.154(1) first proviso" in old
    # Not against a woman, or not a listed offence: anyone records it.
    son = fir([("BNS", "124(1)")], entry(records_pb2.VICTIM, "Arun", sex="M", age=30))
    assert recorded(son, statutes, recorded_by_sex="M") == []
    theft = fir([("BNS", "303(2)")], entry(records_pb2.COMPLAINANT, "Leela", sex="F", age=50))
    assert recorded(theft, statutes) == []


def test_withholding_acid_attack_needs_a_woman_officer_though_no_identity_is_withheld(
    statutes: Statutes,
) -> None:
    for act, section in (("BNS", "124(1)"), ("IPC", "326A"), ("IPC", "326B")):
        acid = fir([(act, section)], entry(records_pb2.COMPLAINANT, "Reshma", sex="F", age=27))
        assessment = assess_fir(acid, statutes)
        assert not assessment.offence.withheld and assessment.woman_officer, section
        assert recorded(acid, statutes, recorded_by_sex="M"), section


def test_withholding_recording_from_a_person_with_a_disability(statutes: Statutes) -> None:
    rape = fir([("BNS", "64(1)")], entry(records_pb2.VICTIM, "Anitha Kumari", sex="F", age=24))
    proper = {
        "recorded_by_sex": "F",
        "informant_disabled": True,
        "place": "residence",
        "videographed": True,
        "interpreter": "Smt. Latha, special educator",
    }
    assert recorded(rape, statutes, **proper) == []
    assert recorded(rape, statutes, **{**proper, "place": "place of her choice"}) == []
    found = recorded(rape, statutes, recorded_by_sex="F", informant_disabled=True, place="station")
    assert len(found) == 3
    assert all("second proviso" in p for p in found)
    assert any("at her residence or a place of her choice" in p for p in found)
    assert any("videographed" in p for p in found)
    assert any("interpreter or special educator" in p for p in found)
    # The proviso follows the listed offences only.
    theft = fir([("BNS", "303(2)")], entry(records_pb2.COMPLAINANT, "Leela", sex="F", age=50))
    assert recorded(theft, statutes, informant_disabled=True) == []


def test_withholding_recording_values(statutes: Statutes) -> None:
    theft = fir([("BNS", "303(2)")], entry(records_pb2.COMPLAINANT, "Leela", sex="F", age=50))
    assert recorded(theft, statutes, recorded_by_sex="X", place="market") == [
        "the recording officer's sex is F or M",
        "the place of recording is one of: station, residence, place of her choice",
    ]
