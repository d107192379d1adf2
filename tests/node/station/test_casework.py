"""Casework over a real station (RocksDB ledger, SQLite index): every command's validation
(nothing written when invalid) and effect, the queries, and the projection after a rebuild."""

from __future__ import annotations

import pytest

from ledger.errors import InputError
from ledger.log import now_ms
from node.index import casework as casework_index
from node.station import casework, registers, views
from node.station.core import Station
from protos import records_pb2
from tests.node.support import station_clock_at, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
SDPO = "PEN900001"
IO = "PEN300001"
HOUR = 60 * 60 * 1000
# Criminal breach of trust: cognizable, five years; a preliminary enquiry may be permitted.
BREACH_OF_TRUST = [records_pb2.ActSection(act="BNS", section="316(2)")]


def receive(station: Station, category: str = "general", *, age_ms: int = HOUR) -> str:
    petition = records_pb2.Petition(
        petitioner=records_pb2.Person(name="Leela Menon", age=44, sex="F"),
        subject=f"A {category} complaint",
        details="Details of the complaint.",
        channel="e-FIR" if category == "e_fir" else "in person",
        category=category,
    )
    with station_clock_at(station, now_ms() - age_ms):
        return registers.receive_petition(station, OFFICER, petition).ref


def refused(station: Station, message: str, fn: object, *args: object, **kw: object) -> None:
    """The command raises InputError naming `message` and appends nothing."""
    size = station.ledger.size()
    with pytest.raises(InputError, match=message):
        fn(station, *args, **kw)  # type: ignore[operator]
    assert station.ledger.size() == size


def status(station: Station, receipt: str) -> casework_index.PetitionStatus:
    found = casework_index.petition_status(station.index, receipt)
    assert found is not None
    return found


def test_casework_petition_starts_received_with_its_category(station: Station) -> None:
    receipt = receive(station, "missing_child")
    found = status(station, receipt)
    assert (found.status, found.category, found.efir_due_ms) == ("received", "missing_child", 0)
    assert casework_index.petition_status(station.index, "PET/1999/000001") is None
    # A petition received without a category is a general one.
    plain = registers.receive_petition(
        station,
        OFFICER,
        records_pb2.Petition(petitioner=records_pb2.Person(name="Joseph K"), subject="Noise"),
    )
    assert status(station, plain.ref).category == "general"


def test_casework_enquiry_and_its_permission(station: Station) -> None:
    receipt = receive(station)
    refused(station, "no petition", casework.start_enquiry, OFFICER, "PET/1999/000009")
    refused(station, "officer id", casework.start_enquiry, "", receipt)
    casework.start_enquiry(station, OFFICER, receipt, "called both parties")
    assert status(station, receipt).status == "under_enquiry"
    refused(station, "already started", casework.start_enquiry, OFFICER, receipt)

    now = now_ms()
    casework.permit_enquiry(station, SDPO, receipt, BREACH_OF_TRUST, now=now)
    found = status(station, receipt)
    assert found.enquiry_deadline_ms == now + 14 * 24 * HOUR
    assert found.enquiry_permitted_by == SDPO
    refused(station, "already permitted", casework.permit_enquiry, SDPO, receipt, BREACH_OF_TRUST)
    body = station.ledger.body(station.ledger.size() - 1)
    assert body.officer_id == SDPO
    assert body.petition_update.permitted_by == SDPO
    assert body.petition_update.deadline_ms == found.enquiry_deadline_ms
    assert [(s.act, s.section) for s in body.petition_update.sections] == [("BNS", "316(2)")]

    assert casework_index.overdue_enquiries(station.index, now=now + 13 * 24 * HOUR) == []
    assert [
        p.receipt_number
        for p in casework_index.overdue_enquiries(station.index, now=now + 15 * 24 * HOUR)
    ] == [receipt]


@pytest.mark.parametrize(
    ("sections", "why"),
    [
        ([], "name the offences the information discloses"),
        ([("BNS", "103(1)")], r"BNS 103\(1\) is punishable with death: .*register an FIR"),
        ([("BNS", "117(2)")], r"BNS 117\(2\) is punishable with 7 years: .*register an FIR"),
        ([("BNS", "329(4)")], r"BNS 329\(4\) is punishable with at most 1 year"),
        ([("BNS", "115(2)")], r"BNS 115\(2\) is not cognizable"),
        # The most serious cited offence decides: breach of trust beside murder is no enquiry.
        ([("BNS", "316(2)"), ("BNS", "103(1)")], r"BNS 103\(1\) is punishable with death"),
        ([("BNS", "999")], "unknown section 999 of BNS"),
    ],
)
def test_casework_preliminary_enquiry_is_permitted_only_for_three_to_seven_years(
    station: Station, sections: list[tuple[str, str]], why: str
) -> None:
    receipt = receive(station, age_ms=0)
    cited = [records_pb2.ActSection(act=act, section=section) for act, section in sections]
    refused(station, why, casework.permit_enquiry, SDPO, receipt, cited)
    assert not status(station, receipt).enquiry_deadline_ms
    # Three years (BNS 85, cruelty) and five (316(2)) may: the lower bound is inclusive.
    casework.permit_enquiry(
        station, SDPO, receipt, [records_pb2.ActSection(act="BNS", section="85")]
    )
    assert status(station, receipt).enquiry_deadline_ms


def test_casework_close_needs_a_reason_and_ends_the_petition(station: Station) -> None:
    receipt = receive(station)
    refused(
        station, "reason for closing is required", casework.close_petition, OFFICER, receipt, " "
    )
    casework.close_petition(station, OFFICER, receipt, "Settled between the parties")
    found = status(station, receipt)
    assert (found.status, found.note) == ("closed", "Settled between the parties")
    refused(station, "already closed", casework.close_petition, OFFICER, receipt, "again")
    refused(station, "already closed", casework.start_enquiry, OFFICER, receipt)
    refused(station, "already closed", casework.convert_to_fir, OFFICER, receipt, theft_fir())


def test_casework_efir_signature_window(station: Station) -> None:
    fresh = receive(station, "e_fir", age_ms=HOUR)
    lapsed = receive(station, "e_fir", age_ms=4 * 24 * HOUR)
    general = receive(station)
    pending = {p.receipt_number: p for p in casework_index.pending_efirs(station.index)}
    assert set(pending) == {fresh, lapsed}
    assert pending[fresh].efir_due_ms == pending[fresh].received_at_ms + 3 * 24 * HOUR

    refused(station, "not an e-FIR", casework.sign_efir, OFFICER, general)
    refused(
        station,
        "the 3-day window for the informant's signature has passed",
        casework.sign_efir,
        OFFICER,
        lapsed,
    )
    refused(station, "has not signed", casework.convert_to_fir, OFFICER, fresh, theft_fir())
    casework.sign_efir(station, OFFICER, fresh)
    assert status(station, fresh).efir_signed_ms > 0
    refused(station, "already signed", casework.sign_efir, OFFICER, fresh)
    assert [p.receipt_number for p in casework_index.pending_efirs(station.index)] == [lapsed]

    fir = casework.convert_to_fir(station, OFFICER, fresh, theft_fir())
    assert fir.kind == "fir"
    assert views.current_view(station, fir.ref)["petition_receipt"] == fresh
    found = status(station, fresh)
    assert (found.status, found.fir_number) == ("converted", fir.ref)
    last = station.ledger.body(station.ledger.size() - 1).petition_update
    assert (last.action, last.fir_number) == ("converted", fir.ref)


def test_casework_conversion_writes_nothing_when_the_fir_is_invalid(station: Station) -> None:
    receipt = receive(station)
    bad = theft_fir()
    bad.brief_facts = ""
    refused(station, "brief facts", casework.convert_to_fir, OFFICER, receipt, bad)
    assert status(station, receipt).status == "received"
    other = theft_fir(petition_receipt="PET/2026/999999")
    refused(station, "names petition", casework.convert_to_fir, OFFICER, receipt, other)


def test_casework_missing_person_complaints_end_in_an_fir_or_a_reason(station: Station) -> None:
    old = receive(station, "missing_person", age_ms=30 * HOUR)
    child = receive(station, "missing_child", age_ms=2 * 24 * HOUR)
    recent = receive(station, "missing_person", age_ms=HOUR)
    receive(station, "general", age_ms=3 * 24 * HOUR)
    overdue = [p.receipt_number for p in casework_index.overdue_missing_persons(station.index)]
    assert overdue == [old, child]
    assert recent in [
        p.receipt_number for p in casework_index.overdue_missing_persons(station.index, days=0)
    ]

    refused(
        station,
        "missing-person complaint ends in an FIR",
        casework.close_petition,
        OFFICER,
        old,
        "",
    )
    casework.close_petition(station, OFFICER, old, "Found at her sister's house in Aluva")
    casework.convert_to_fir(station, OFFICER, child, theft_fir())
    assert casework_index.overdue_missing_persons(station.index) == []


def test_casework_case_events_and_the_io(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    refused(station, "no FIR", casework.assign_io, OFFICER, "FIR No. 999/2001", IO)
    refused(station, "investigating officer's id", casework.assign_io, OFFICER, fir, "")
    assert casework_index.current_io(station.index, fir) == ""
    casework.assign_io(station, OFFICER, fir, IO)
    assert casework_index.current_io(station.index, fir) == IO
    refused(station, "already the investigating officer", casework.assign_io, OFFICER, fir, IO)

    refused(station, "at least one arrested person", casework.record_case_event, IO, fir, "arrest")
    nameless = records_pb2.PersonInCase(person=records_pb2.Person(age=30))
    refused(
        station,
        "name is required",
        casework.record_case_event,
        IO,
        fir,
        "arrest",
        persons=[nameless],
    )
    accused = records_pb2.PersonInCase(
        person=records_pb2.Person(name="Manoj P", age=29, sex="M"), accused_code="A1"
    )
    casework.record_case_event(station, IO, fir, "arrest", persons=[accused], text="at his house")
    arrest = station.ledger.body(station.ledger.size() - 1).case_event
    assert arrest.persons[0].role == records_pb2.ACCUSED

    refused(station, "at least one item", casework.record_case_event, IO, fir, "seizure")
    phone = records_pb2.PropertyItem(category="mobile phone", description="Redmi, black")
    casework.record_case_event(station, IO, fir, "seizure", property=[phone])
    seized = station.ledger.body(station.ledger.size() - 1).case_event
    assert seized.property[0].status == records_pb2.SEIZED

    refused(
        station, "case diary entry is required", casework.record_case_event, IO, fir, "case_diary"
    )
    casework.record_case_event(station, IO, fir, "case_diary", text="Questioned two witnesses.")
    refused(station, "in the future", casework.record_case_event, IO, fir, "case_diary", text="x",
            at_ms=now_ms() + 24 * HOUR)  # fmt: skip

    refused(station, "charge_sheet or a closure", casework.record_case_event, IO, fir,
            "final_report", report_type="summary")  # fmt: skip
    unknown = [records_pb2.ActSection(act="BNS", section="9999")]
    refused(station, "9999", casework.record_case_event, IO, fir, "final_report",
            report_type="charge_sheet", sections=unknown)  # fmt: skip
    refused(station, "reason for the closure", casework.record_case_event, IO, fir, "final_report",
            report_type="closure")  # fmt: skip
    assert not casework_index.charge_sheeted(station.index, fir)
    sections = [records_pb2.ActSection(act="BNS", section="303(2)")]
    casework.record_case_event(
        station, IO, fir, "final_report", report_type="charge_sheet", sections=sections
    )
    assert casework_index.charge_sheeted(station.index, fir)

    refused(station, "the court is required", casework.record_case_event, IO, fir, "court_progress",
            next_hearing="2027-01-05")  # fmt: skip
    refused(station, "not YYYY-MM-DD", casework.record_case_event, IO, fir, "court_progress",
            court="JFCM Kalamassery", next_hearing="5 Jan")  # fmt: skip
    court = {"court": "JFCM Kalamassery", "court_case_number": "CC 12/2027"}
    casework.record_case_event(
        station, IO, fir, "court_progress", next_hearing="2027-01-05", **court
    )
    refused(station, "kind must be one of", casework.record_case_event, IO, fir, "picnic")
    refused(station, "assign_io", casework.record_case_event, IO, fir, "io_assigned")

    events = casework_index.case_events(station.index, fir)
    assert [e.kind for e in events] == [
        "io_assigned", "arrest", "seizure", "case_diary", "final_report", "court_progress",
    ]  # fmt: skip
    assert [e.officer_id for e in events] == [OFFICER] + [IO] * 5
    assert all(e.io_officer_id == IO for e in events)
    assert "A1 Manoj P" in events[1].summary
    assert "charge_sheet u/s BNS 303(2)" in events[4].summary
    # The IO changes; later events name the new one.
    casework.assign_io(station, OFFICER, fir, "PEN300002", "transferred")
    assert casework_index.current_io(station.index, fir) == "PEN300002"
    assert casework_index.case_events(station.index, fir)[-1].io_officer_id == "PEN300002"


def test_casework_projection_survives_a_rebuild(station: Station) -> None:
    enquiry = receive(station)
    casework.start_enquiry(station, OFFICER, enquiry)
    casework.permit_enquiry(station, SDPO, enquiry, BREACH_OF_TRUST)
    efir = receive(station, "e_fir")
    casework.sign_efir(station, OFFICER, efir)
    converted = casework.convert_to_fir(station, OFFICER, efir, theft_fir()).ref
    missing = receive(station, "missing_person", age_ms=48 * HOUR)
    closed = receive(station)
    casework.close_petition(station, OFFICER, closed, "No offence disclosed")
    casework.assign_io(station, OFFICER, converted, IO)
    casework.record_case_event(station, IO, converted, "case_diary", text="Visited the scene.")

    receipts = (enquiry, efir, missing, closed)
    before = {r: casework_index.petition_status(station.index, r) for r in receipts}
    events = casework_index.case_events(station.index, converted)
    snapshot = station.index.snapshot()
    assert any(name == "petition_status" and rows for name, rows in snapshot)

    station.rebuild_index()
    assert station.index.snapshot() == snapshot
    assert {r: casework_index.petition_status(station.index, r) for r in receipts} == before
    assert casework_index.case_events(station.index, converted) == events
    assert casework_index.current_io(station.index, converted) == IO
    assert [p.receipt_number for p in casework_index.overdue_missing_persons(station.index)] == [
        missing
    ]
