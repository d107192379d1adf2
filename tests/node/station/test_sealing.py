"""Identities the law withholds, at the station: sealed while an FIR is drafted, never in the ledger
or the index in clear, disclosed only with a logged Disclosure entry."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest

from ledger.errors import InputError
from node.config import DataDir
from node.demo.seed import seed_station
from node.index import casework as casework_index
from node.records.sealing import (
    verify_disclosure,
)
from node.records.validation import IST, utc_ms
from node.station import casework, disclosure, registers, views
from node.station.core import Station
from protos import records_pb2
from tests.node.support import VICTIM, VICTIM_FATHER, VICTIM_MOBILE, sexual_offence_fir, victim

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"


def theft_fir(**person_fields: object) -> records_pb2.Fir:
    occurred = datetime.now(IST) - timedelta(hours=5)
    fir = records_pb2.Fir(
        occurrence_from_ms=utc_ms(occurred),
        place_of_occurrence=records_pb2.Place(description="HMT junction"),
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        brief_facts="A mobile phone was stolen.",
    )
    fir.persons.add(person=records_pb2.Person(name="Rajesh K"), role=records_pb2.COMPLAINANT)
    fir.persons.add(
        person=records_pb2.Person(**person_fields),  # type: ignore[arg-type]
        role=records_pb2.ACCUSED,
    )
    return fir


def all_leaf_bytes(station: Station) -> bytes:
    return b"".join(station.ledger.leaf(i) for i in range(station.ledger.size()))


def commitments(station: Station, index: int) -> list[bytes]:
    fir = station.ledger.body(index).fir
    return [e.person.identity_commitment for e in fir.persons if e.person.identity_commitment]


def test_sealed_bns64_victim_never_in_the_ledger_bytes(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    raw = all_leaf_bytes(station)
    for secret in (VICTIM, VICTIM_FATHER, VICTIM_MOBILE, "Thekkedath", "Sreelakshmi"):
        assert secret.encode() not in raw
    assert b"Biju Mathew" in raw  # the accused is not withheld
    fir = station.ledger.body(receipt.index).fir
    roles = {e.role: e.person for e in fir.persons}
    sealed_victim = roles[records_pb2.VICTIM]
    assert len(sealed_victim.identity_commitment) == 32
    assert sealed_victim.sex == "F" and sealed_victim.person_id
    # The victim as complainant is sealed too (same identity, own salt).
    assert roles[records_pb2.COMPLAINANT].identity_commitment
    assert roles[records_pb2.COMPLAINANT].identity_commitment != sealed_victim.identity_commitment
    assert "[withheld:" in fir.brief_facts


def test_sealed_victim_not_found_by_name_in_the_index(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    assert station.index.search.persons(VICTIM) == []
    assert station.index.search.persons(VICTIM_FATHER) == []
    assert station.index.search.persons("Biju Mathew")
    view = station.index.lookups.fir(receipt.ref)
    assert view is not None
    assert [p.withheld for p in view.persons] == [True, True, False]


def test_sealed_unsealed_view_is_local_and_current_view_stays_sealed(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    sealed = views.current_view(station, receipt.ref)
    assert VICTIM not in str(sealed)
    local = views.unsealed_view(station, receipt.ref)
    people = [entry["person"] for entry in local["persons"]]
    assert people[1]["name"] == VICTIM and people[1]["mobile"] == VICTIM_MOBILE
    assert people[1]["identity_sealed"] is True and people[1]["identity_commitment"]
    assert people[2]["name"] == "Biju Mathew" and "identity_sealed" not in people[2]
    assert local["brief_facts"] == sexual_offence_fir().brief_facts


def test_sealed_disclosure_verifies_and_is_logged(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    commitment = commitments(station, receipt.index)[1]
    size = station.ledger.size()
    person, salt = disclosure.disclose(
        station,
        "PEN200002",
        commitment,
        "CJM Ernakulam, CMP 12/2026",
        "kerala/ernakulam-city/court-cjm",
    )
    assert person.name == VICTIM and len(salt) == 32
    verify_disclosure(commitment, person, salt)
    assert station.ledger.size() == size + 1
    body = station.ledger.body(size)
    assert body.WhichOneof("record") == "disclosure"
    assert body.officer_id == "PEN200002"
    assert body.disclosure.commitment == commitment
    assert body.disclosure.record_ref == receipt.ref
    assert body.disclosure.authority == "CJM Ernakulam, CMP 12/2026"
    assert body.disclosure.requester_node_id == "kerala/ernakulam-city/court-cjm"
    # The disclosure entry itself carries no identity.
    assert VICTIM.encode() not in station.ledger.leaf(size)


def test_sealed_disclosure_needs_authority_and_a_known_commitment(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    commitment = commitments(station, receipt.index)[0]
    size = station.ledger.size()
    with pytest.raises(InputError, match="authority"):
        disclosure.disclose(station, OFFICER, commitment, "", "court")
    with pytest.raises(InputError, match="no sealed identity"):
        disclosure.disclose(station, OFFICER, bytes(32), "order", "court")
    assert station.ledger.size() == size


def test_sealed_store_survives_reopen(data_dir: DataDir) -> None:
    station = Station.open(data_dir)
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    station.close()
    again = Station.open(data_dir)
    try:
        assert views.unsealed_view(again, receipt.ref)["persons"][1]["person"]["name"] == VICTIM
        commitment = commitments(again, receipt.index)[1]
        person, salt = disclosure.disclose(again, OFFICER, commitment, "SP approval 4/2026", "node")
        verify_disclosure(commitment, person, salt)
    finally:
        again.close()
    assert (data_dir.path / "sealed" / "identities.sqlite3").exists()


def test_sealed_informant_on_request_and_juveniles_always(station: Station) -> None:
    fir = theft_fir(name="Appu", age=15, sex="M", juvenile=True)
    fir.persons.add(person=records_pb2.Person(name="Shaji Paul"), role=records_pb2.INFORMANT)
    receipt = registers.register_fir(station, OFFICER, fir, withhold_informants=True)
    raw = all_leaf_bytes(station)
    assert b"Appu" not in raw and b"Shaji Paul" not in raw
    assert b"Rajesh K" in raw  # a complainant in a theft case is named
    persons = station.ledger.body(receipt.index).fir.persons
    assert [bool(p.person.identity_commitment) for p in persons] == [False, True, True]
    assert persons[1].person.juvenile


def test_sealed_informants_on_sexual_offence_cases(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir(informant=True))
    assert b"Rosamma" not in all_leaf_bytes(station)
    assert len(commitments(station, receipt.index)) == 3


def test_sealed_theft_fir_is_not_sealed(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, theft_fir(name="Suresh"))
    assert commitments(station, receipt.index) == []


def test_sealed_identity_cannot_be_amended_into_clear(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    person_id = station.ledger.body(receipt.index).fir.persons[1].person.person_id
    with pytest.raises(InputError, match="withheld by law"):
        registers.amend(
            station, OFFICER, receipt.ref, "spelling", {f"persons.{person_id}.name": VICTIM}
        )
    amended = registers.amend(
        station, OFFICER, receipt.ref, "facts", {"brief_facts": f"{VICTIM} identified the accused."}
    )
    assert VICTIM.encode() not in station.ledger.leaf(amended.index)
    assert views.unsealed_view(station, receipt.ref)["brief_facts"] == (
        f"{VICTIM} identified the accused."
    )


def test_sealed_commitment_with_identity_is_refused(station: Station) -> None:
    fir = theft_fir(name="Suresh", identity_commitment=bytes(32))
    with pytest.raises(InputError, match="commitment only"):
        registers.register_fir(station, OFFICER, fir)


def test_sealed_seed_station_keeps_sexual_offence_firs_sealed(station: Station) -> None:
    seed_station(station, 6000, seed=7, show_progress=False)  # about 200 FIRs
    laws = station.statutes
    checked = 0
    for index, body in station.ledger.bodies():
        if body.WhichOneof("record") != "fir":
            continue
        fir = body.fir
        sensitive = any(laws.section(s.act, s.section).identity_withheld for s in fir.sections)
        for entry in fir.persons:
            # A missing child is not sealed: the search for the child is public (withholding.py).
            child = entry.person.juvenile and entry.role != records_pb2.MISSING
            if child or (sensitive and entry.role == records_pb2.VICTIM):
                assert entry.person.identity_commitment and not entry.person.name
                sealed = station.sealed.get(entry.person.identity_commitment)
                assert sealed is not None and sealed.identity.name
                assert sealed.identity.name.encode() not in station.ledger.leaf(index)
                checked += 1
    assert checked > 0


def test_sealed_commitment_is_base64_in_views(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, sexual_offence_fir())
    encoded = views.current_view(station, receipt.ref)["persons"][1]["person"][
        "identity_commitment"
    ]
    assert base64.b64decode(encoded) == commitments(station, receipt.index)[1]


# -- who the policy protects, at the station (node.records.withholding) -----------------------

COMPLAINANT = "Anitha Kumari"
COMPLAINANT_MOBILE = "9447011111"


def woman_reports_against_herself() -> records_pb2.Fir:
    """BNS 64: the woman reports the offence against herself; no separate victim row."""
    fir = sexual_offence_fir()
    del fir.persons[:]
    fir.brief_facts = f"{COMPLAINANT} reported that the accused assaulted her near her house."
    fir.persons.add(
        person=records_pb2.Person(
            name=COMPLAINANT,
            sex="F",
            age=27,
            address="Kunnumpuram House, Kalamassery",
            mobile=COMPLAINANT_MOBILE,
        ),
        role=records_pb2.COMPLAINANT,
    )
    fir.persons.add(person=records_pb2.Person(name="Biju Mathew"), role=records_pb2.ACCUSED)
    return fir


def test_sealed_woman_complainant_with_no_victim_row(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, woman_reports_against_herself())
    raw = all_leaf_bytes(station)
    for secret in (COMPLAINANT, COMPLAINANT_MOBILE, "Kunnumpuram", "Anitha"):
        assert secret.encode() not in raw, secret
    complainant = station.ledger.body(receipt.index).fir.persons[0].person
    assert complainant.identity_commitment and complainant.sex == "F"
    assert not (complainant.name or complainant.mobile or complainant.address or complainant.age)
    assert station.index.search.persons(COMPLAINANT) == []
    assert station.index.search.persons("Anitha") == []
    # Her mobile still proves her copy and status (read from the sealed store, never shown).
    assert views.fir_contact_mobiles(station, receipt.index) == [COMPLAINANT_MOBILE]


def test_sealed_pocso_complainant_parent_and_child(station: Station) -> None:
    fir = theft_fir()
    fir.sections[0].CopyFrom(records_pb2.ActSection(act="POCSO", section="4"))
    fir.brief_facts = "Suresh Babu reported that his daughter was abused by the accused."
    del fir.persons[:]
    fir.persons.add(
        person=records_pb2.Person(name="Suresh Babu", sex="M", age=44, mobile="9895012345"),
        role=records_pb2.COMPLAINANT,
    )
    fir.persons.add(person=records_pb2.Person(name="Child Z", sex="F"), role=records_pb2.VICTIM)
    fir.persons.add(person=records_pb2.Person(name="Manoj P"), role=records_pb2.ACCUSED)
    receipt = registers.register_fir(station, OFFICER, fir)
    raw = all_leaf_bytes(station)
    assert b"Suresh Babu" not in raw and b"9895012345" not in raw and b"Child Z" not in raw
    assert b"Manoj P" in raw
    assert len(commitments(station, receipt.index)) == 2
    assert "[withheld:" in station.ledger.body(receipt.index).fir.brief_facts
    assert station.index.search.persons("Suresh Babu") == []


def test_sealed_child_accused_by_age_alone(station: Station) -> None:
    # No `juvenile` flag (the form has none): 14 years old, or born less than 18 years before.
    fir = theft_fir(name="Appu Kuttan", age=14, sex="M")
    fir.brief_facts = "Appu Kuttan took the phone from the counter."
    born = (datetime.now(IST) - timedelta(days=17 * 365)).date().isoformat()
    fir.persons.add(
        person=records_pb2.Person(name="Kichu Das", date_of_birth=born), role=records_pb2.ACCUSED
    )
    receipt = registers.register_fir(station, OFFICER, fir)
    raw = all_leaf_bytes(station)
    assert b"Appu" not in raw and b"Kichu" not in raw and born.encode() not in raw
    persons = station.ledger.body(receipt.index).fir.persons
    assert [(bool(p.person.identity_commitment), p.person.juvenile) for p in persons] == [
        (False, False),
        (True, True),
        (True, True),
    ]
    assert station.index.search.persons("Appu Kuttan") == []
    view = views.current_view(station, receipt.ref)
    assert "Appu" not in str(view) and "[withheld:" in view["brief_facts"]


def test_sealed_child_arrested_and_named_in_case_event_text(station: Station) -> None:
    fir = theft_fir(name="Appu Kuttan", age=14, sex="M")
    fir.persons.add(person=victim(), role=records_pb2.WITNESS)
    receipt = registers.register_fir(station, OFFICER, fir)
    station_fir = station.ledger.body(receipt.index).fir
    code = station_fir.persons[1].accused_code
    # Arrested as the case's A1, without an age: protected as the case's child accused.
    arrested = records_pb2.PersonInCase(
        person=records_pb2.Person(name="Appu K", sex="M"), accused_code=code
    )
    arrest = casework.record_case_event(
        station,
        OFFICER,
        receipt.ref,
        "arrest",
        persons=[arrested],
        text="Appu Kuttan was apprehended near the market and handed to the JJB.",
    )
    diary = casework.record_case_event(
        station, OFFICER, receipt.ref, "case_diary", text="Questioned APPU KUTTAN's mother."
    )
    event = station.ledger.body(arrest.index).case_event
    assert event.persons[0].person.identity_commitment and event.persons[0].person.juvenile
    for index in (arrest.index, diary.index):
        assert b"Appu" not in station.ledger.leaf(index)
        assert b"APPU" not in station.ledger.leaf(index)
    assert "[withheld:" in station.ledger.body(diary.index).case_event.text
    summaries = [e.summary for e in casework_index.case_events(station.index, receipt.ref)]
    assert not any("Appu" in s for s in summaries)


def test_sealed_names_redacted_from_amendment_text_and_reason(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, woman_reports_against_herself())
    amended = registers.amend(
        station,
        OFFICER,
        receipt.ref,
        f"{COMPLAINANT} gave the place again",
        {"place_of_occurrence.description": f"Behind the house of {COMPLAINANT}"},
    )
    leaf = station.ledger.leaf(amended.index)
    assert COMPLAINANT.encode() not in leaf and b"[withheld:" in leaf
    local = views.unsealed_view(station, receipt.ref)
    assert local["place_of_occurrence"]["description"] == f"Behind the house of {COMPLAINANT}"
    shared = views.current_view(station, receipt.ref)
    assert COMPLAINANT not in str(shared)


def test_sealed_names_redacted_from_the_gd_entry_the_fir_cites(station: Station) -> None:
    gd = registers.write_gd(
        station, OFFICER, "information", f"{COMPLAINANT} came to the station to give information."
    )
    fir = woman_reports_against_herself()
    fir.gd_reference = gd.ref.removeprefix("GD ")
    registers.register_fir(station, OFFICER, fir)
    # The GD entry was written before anyone knew: the view redacts it, the log cannot.
    shared = views.current_view(station, gd.ref)
    assert COMPLAINANT not in shared["summary"] and "[withheld:" in shared["summary"]
    assert views.unsealed_view(station, gd.ref)["summary"].startswith(COMPLAINANT)


def test_sealed_child_petitioner_keeps_the_status_lookup(station: Station) -> None:
    born = (datetime.now(IST) - timedelta(days=16 * 365)).date().isoformat()
    petition = records_pb2.Petition(
        subject="Harassment on the school bus",
        details="Meenu R is followed on the bus every day.",
        petitioner=records_pb2.Person(name="Meenu R", date_of_birth=born, mobile="9745012345"),
    )
    receipt = registers.receive_petition(station, OFFICER, petition)
    leaf = station.ledger.leaf(receipt.index)
    assert b"Meenu" not in leaf and b"9745012345" not in leaf
    found = views.find_petition(station, receipt.ref)
    assert found is not None and found.petitioner_mobile == "9745012345"


def test_sealed_entry_written_before_the_policy_is_withheld_when_read(station: Station) -> None:
    # An entry as an older node wrote it: a 15-year-old accused in clear (no sealing).
    fir = theft_fir(name="Old Entry Boy", age=15, sex="M", mobile="9400000001")
    fir.fir_number, fir.fir_serial, fir.fir_year = "FIR No. 77/2025", 77, 2025
    fir.registered_at_ms = fir.occurrence_from_ms + 3_600_000
    fir.brief_facts = "Old Entry Boy took the phone."
    receipt = station.append_records(OFFICER, [fir], ref=fir.fir_number)
    assert b"Old Entry Boy" in station.ledger.leaf(receipt.index)  # the log keeps what it holds
    assert station.index.search.persons("Old Entry Boy") == []
    shared = views.current_view(station, fir.fir_number)
    accused = shared["persons"][1]["person"]
    assert accused["identity_withheld"] is True and "name" not in accused
    assert "Old Entry Boy" not in str(shared) and "9400000001" not in str(shared)
    assert views.unsealed_view(station, fir.fir_number)["persons"][1]["person"]["name"] == (
        "Old Entry Boy"
    )


def test_sealed_correction_making_a_case_sensitive_hides_names_from_the_index(
    station: Station,
) -> None:
    fir = theft_fir(name="Suresh P")
    fir.sections[0].CopyFrom(records_pb2.ActSection(act="BNS", section="118(1)"))
    fir.persons.add(
        person=records_pb2.Person(name="Latha Mohan", sex="F", age=30), role=records_pb2.VICTIM
    )
    receipt = registers.register_fir(station, OFFICER, fir)
    assert station.index.search.persons("Latha Mohan")
    registers.amend(station, OFFICER, receipt.ref, "facts show BNS 74", {"sections": ["BNS:74"]})
    assert station.index.search.persons("Latha Mohan") == []
    assert station.index.search.persons("Rajesh K") == []  # the complainant reports it
    assert station.index.search.persons("Suresh P")  # the accused stays findable
    station.rebuild_index()
    assert station.index.search.persons("Latha Mohan") == []
    assert station.index.search.persons("Suresh P")
