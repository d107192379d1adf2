"""The case exchange at a real station (RocksDB ledger, SQLite index): export of a case with
several persons, property items and events, valid against its schema and checkable by a
receiver; the registry of trusted systems in the log; import of each inbound kind as exactly one
event; refusals that append nothing; the round trip (docs/exchange.md)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import nacl.signing
import pytest
from google.protobuf.json_format import ParseDict

from ledger.errors import InputError, NotFound, VerificationError
from node.records.exchange import inbound
from node.records.exchange.schemas import CASE_SCHEMA, problems_of
from node.records.validation import IST
from node.station import casework, exchange, registers, views
from node.station.core import Station
from protos import records_pb2
from tests.node.support import VICTIM, VICTIM_FATHER, person, sexual_offence_fir, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
IO = "PEN300001"
COURT = "court.jfcm-kalamassery"
PRISON = "prison.sub-jail-ernakulam"
LAB = "fsl.thiruvananthapuram"
TODAY = datetime.now(IST).date().isoformat()
KEYS = {
    name: nacl.signing.SigningKey(bytes([n + 1]) * 32)
    for n, name in enumerate((COURT, PRISON, LAB))
}


def case_with_events(station: Station) -> str:
    """A theft with a complainant, two named accused, a witness, two property items, and an
    investigation: IO, arrest, seizure, case diary, charge sheet, court progress."""
    fir = theft_fir()
    del fir.persons[1:]  # the unknown accused
    fir.persons.append(person("Suresh Babu", records_pb2.ACCUSED, age=29, sex="M"))
    fir.persons.append(person("Anil Kumar", records_pb2.ACCUSED, age=31, sex="M"))
    fir.persons.append(person("Mini Joseph", records_pb2.WITNESS, age=50, sex="F"))
    fir.property[0].property_id = "PR-1"
    fir.property.add(
        property_id="PR-2", category="mobile phone", status=records_pb2.STOLEN, value_inr=12000
    )
    number = registers.register_fir(station, OFFICER, fir).ref
    casework.assign_io(station, OFFICER, number, IO)
    arrested = records_pb2.PersonInCase(
        accused_code="A1", person=records_pb2.Person(name="Suresh Babu")
    )
    casework.record_case_event(station, IO, number, "arrest", persons=[arrested], text="At home")
    casework.record_case_event(
        station,
        IO,
        number,
        "seizure",
        property=[records_pb2.PropertyItem(category="mobile phone", description="Black phone")],
    )
    casework.record_case_event(station, IO, number, "case_diary", text="Questioned A1.")
    casework.record_case_event(
        station,
        IO,
        number,
        "final_report",
        report_type="charge_sheet",
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
    )
    casework.record_case_event(
        station,
        IO,
        number,
        "court_progress",
        court="JFCM Kalamassery",
        court_case_number="CC 7/2026",
    )
    return number


def trust(station: Station) -> None:
    for system_id, kind in ((COURT, "court"), (PRISON, "prison"), (LAB, "forensic_lab")):
        key = bytes(KEYS[system_id].verify_key)
        exchange.add_system(station, OFFICER, system_id, kind, system_id.upper(), key)


def message(
    kind: str, body: dict[str, Any], number: str, *, sender: str = "", mid: str = ""
) -> dict[str, Any]:
    sender = sender or {"court": COURT, "priso": PRISON, "foren": LAB}[kind[:5]]
    unsigned = {
        "format": "cctns-inbound/1",
        "message_id": mid or f"{kind}-1",
        "sender": sender,
        "sent_on": TODAY,
        "case": {"origin": ORIGIN, "fir_number": number},
        "kind": kind,
        "body": body,
    }
    return inbound.sign_message(unsigned, KEYS.get(sender, KEYS[COURT]))


BODIES: dict[str, dict[str, Any]] = {
    "court_hearing": {
        "court": "JFCM Kalamassery",
        "court_case_number": "CC 7/2026",
        "hearing_date": TODAY,
        "next_hearing": "2099-01-15",
    },
    "court_disposal": {
        "court": "JFCM Kalamassery",
        "court_case_number": "CC 7/2026",
        "judgment_date": TODAY,
        "disposal": "conviction",
        "accused": ["A1"],
        "sections": [{"act": "BNS", "section": "303(2)"}],
        "sentence": {"imprisonment_days": 365, "fine_inr": 5000},
    },
    "court_appeal": {
        "court": "Sessions Court, Ernakulam",
        "appeal_number": "Crl.A 3/2026",
        "date": TODAY,
        "against": "CC 7/2026",
        "appellant": "accused",
        "accused": ["A1"],
        "status": "filed",
    },
    "prison_admission": {
        "prison": "Sub Jail, Ernakulam",
        "prisoner_number": "UTP 451/2026",
        "date": TODAY,
        "accused_code": "A1",
        "status": "undertrial",
        "committed_by": "JFCM Kalamassery",
    },
    "prison_release": {
        "prison": "Sub Jail, Ernakulam",
        "prisoner_number": "UTP 451/2026",
        "date": TODAY,
        "accused_code": "A1",
        "reason": "bail",
    },
    "forensic_result": {
        "lab": "FSL Thiruvananthapuram",
        "exhibit_reference": "PR-2",
        "examination": "digital",
        "result": "The IMEI matches the stolen phone.",
        "report_reference": "FSL/DIG/88/2026",
        "date": TODAY,
    },
}


def roundtrip(document: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(json.dumps(document, ensure_ascii=False))
    return parsed


def test_exchange_export_of_a_case_validates_and_checks(station: Station) -> None:
    number = case_with_events(station)
    document = roundtrip(exchange.export_case(station, number, exported_by=OFFICER))
    assert problems_of(document, CASE_SCHEMA) == []
    exchange.check_document(document, station.ledger.public_key)
    case = document["case"]
    roles = sorted((p["role"], p.get("accused_code", "")) for p in case["fir"]["persons"])
    assert roles == [("ACCUSED", "A1"), ("ACCUSED", "A2"), ("COMPLAINANT", ""), ("WITNESS", "")]
    assert [p["property_id"] for p in case["fir"]["property"]] == ["PR-1", "PR-2"]
    kinds = [e["event"]["kind"] for e in case["events"]]
    assert kinds == [
        "io_assigned",
        "arrest",
        "seizure",
        "case_diary",
        "final_report",
        "court_progress",
    ]
    assert {d["kind"] for d in case["documents"]} >= {
        "fir",
        "general_diary",
        "final_report",
        "court_case",
    }
    # Every part has its entry, each with the leaf hash the ledger holds.
    listed = {e["ledger_index"] for e in document["entries"]}
    assert {case["fir_ledger_index"], *(e["ledger_index"] for e in case["events"])} == listed
    assert document["checkpoint"]["size"] == station.ledger.size()
    with pytest.raises(NotFound):
        exchange.export_case(station, "FIR No. 99/2026")


def test_exchange_check_refuses_a_changed_document(station: Station) -> None:
    document = roundtrip(exchange.export_case(station, case_with_events(station)))
    forged = copy.deepcopy(document)
    forged["entries"][1]["leaf_hash"] = "00" * 32
    with pytest.raises(VerificationError, match="entry"):
        exchange.check_document(forged, station.ledger.public_key)
    other_key = bytes(nacl.signing.SigningKey(b"\x09" * 32).verify_key)
    with pytest.raises(VerificationError, match="signature"):
        exchange.check_document(document, other_key)
    unlisted = copy.deepcopy(document)
    del unlisted["entries"][-1]
    with pytest.raises(VerificationError, match="not listed"):
        exchange.check_document(unlisted, station.ledger.public_key)


def test_exchange_export_keeps_sealed_identities_sealed(station: Station) -> None:
    number = registers.register_fir(station, OFFICER, sexual_offence_fir()).ref
    casework.record_case_event(
        station, OFFICER, number, "case_diary", text=f"Statement of {VICTIM} recorded."
    )
    text = json.dumps(exchange.export_case(station, number), ensure_ascii=False)
    for secret in (VICTIM, VICTIM_FATHER, "Sreelakshmi", "Thekkedath"):
        assert secret not in text
    assert "Biju Mathew" in text  # the accused is not withheld
    assert "identity_commitment" in text


def test_exchange_registry_lives_in_the_log(station: Station) -> None:
    trust(station)
    assert sorted(exchange.trusted_systems(station)) == sorted((COURT, PRISON, LAB))
    size = station.ledger.size()
    with pytest.raises(InputError, match="already trusted"):
        exchange.add_system(station, OFFICER, COURT, "court", "x", bytes(KEYS[COURT].verify_key))
    with pytest.raises(InputError) as refused:
        exchange.add_system(station, "", "Bad Id!", "bakery", "", b"short")
    assert len(refused.value.problems) == 5
    assert station.ledger.size() == size
    exchange.remove_system(station, OFFICER, LAB, "the laboratory's key was replaced")
    assert LAB not in exchange.trusted_systems(station)
    station.rebuild_index()
    assert sorted(exchange.trusted_systems(station)) == sorted((COURT, PRISON))
    body = station.ledger.body(station.ledger.size() - 1)
    assert (body.node_event.kind, body.officer_id) == (exchange.SYSTEM_REMOVED, OFFICER)


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_exchange_import_appends_one_event(station: Station, kind: str) -> None:
    number = case_with_events(station)
    trust(station)
    events_before = len(exchange.export_case(station, number)["case"]["events"])
    size = station.ledger.size()
    done = exchange.import_message(station, OFFICER, message(kind, BODIES[kind], number))
    assert (done.appended, done.ledger_index, station.ledger.size()) == (True, size, size + 1)
    body = station.ledger.body(done.ledger_index)
    assert body.imported_from.startswith(
        f"exchange:{message(kind, {}, number)['sender']}/{kind}-1 "
    )
    event = body.case_event
    assert event.kind == ("court_progress" if kind.startswith("court") else kind)
    if kind in ("court_disposal", "prison_admission", "prison_release"):
        assert [p.accused_code for p in event.persons] == ["A1"]
        assert not event.persons[0].person.name  # by code and id, no identity copied
    if kind == "court_disposal":
        assert event.outcome.startswith("conviction of A1 u/s BNS 303(2): imprisonment for 365")
    if kind == "forensic_result":
        assert [p.property_id for p in event.property] == ["PR-2"]
    events = exchange.export_case(station, number)["case"]["events"]
    assert len(events) == events_before + 1
    assert events[-1]["external"]["sender"] == body.imported_from.split(":")[1].split("/")[0]


def test_exchange_import_refusals_append_nothing(station: Station) -> None:
    number = case_with_events(station)
    trust(station)
    size = station.ledger.size()

    def refused(error: type[Exception], match: str, msg: Any) -> None:
        with pytest.raises(error, match=match):
            exchange.import_message(station, OFFICER, msg)
        assert station.ledger.size() == size

    hearing = message("court_hearing", BODIES["court_hearing"], number)
    tampered = copy.deepcopy(hearing)
    tampered["body"]["next_hearing"] = "2099-02-01"
    refused(VerificationError, "signature", tampered)
    # Signed by the prison's key but claiming to be the court.
    forged = inbound.sign_message({**hearing, "message_id": "x"}, KEYS[PRISON])
    refused(VerificationError, "signature", forged)
    refused(
        InputError,
        "unknown sender",
        message("court_hearing", BODIES["court_hearing"], number, sender="court.nowhere"),
    )
    refused(
        InputError, "no FIR", message("court_hearing", BODIES["court_hearing"], "FIR No. 99/2026")
    )
    refused(
        InputError,
        "may not send",
        message("court_hearing", BODIES["court_hearing"], number, sender=PRISON),
    )
    unknown_accused = {**BODIES["prison_admission"], "accused_code": "A7"}
    refused(InputError, "no accused A7", message("prison_admission", unknown_accused, number))
    future = {**BODIES["prison_release"], "date": "2099-01-01"}
    refused(InputError, "future", message("prison_release", future, number))


def test_exchange_import_lists_every_problem_of_a_malformed_message(station: Station) -> None:
    trust(station)
    size = station.ledger.size()
    bad = message("court_disposal", {**BODIES["court_disposal"]}, "FIR No. 1/2026")
    del bad["body"]["court"]
    bad["body"]["disposal"] = "pardon"
    bad["body"]["accused"] = ["first accused"]
    bad["sent_on"] = "yesterday"
    bad["extra"] = True
    bad["body"]["judgment_date"] = "2026-02-30"  # of the form, but no day
    with pytest.raises(InputError) as refused:
        exchange.import_message(station, OFFICER, bad)
    problems = refused.value.problems
    assert len(problems) == 6, problems
    for where in (
        "/body/judgment_date",
        "/: Additional",
        "/body: 'court'",
        "/body/accused/0",
        "/body/disposal",
        "/sent_on",
    ):
        assert any(p.startswith(where) for p in problems), (where, problems)
    assert station.ledger.size() == size


def test_exchange_same_message_twice_appends_once(station: Station) -> None:
    number = case_with_events(station)
    trust(station)
    first = message("prison_admission", BODIES["prison_admission"], number)
    done = exchange.import_message(station, OFFICER, first)
    size = station.ledger.size()
    again = exchange.import_message(station, OFFICER, copy.deepcopy(first))
    assert (again.appended, again.ledger_index, station.ledger.size()) == (
        False,
        done.ledger_index,
        size,
    )
    other = message("prison_release", BODIES["prison_release"], number, mid="prison_admission-1")
    with pytest.raises(InputError, match="different message"):
        exchange.import_message(station, OFFICER, other)
    assert station.ledger.size() == size


def test_exchange_round_trip(station: Station) -> None:
    """Exported, written, read back and validated, the document's case is the case as the node
    shows it; after importing external events the next export shows the same case with those
    events added, each with its sender, and nothing else changed."""
    number = case_with_events(station)
    trust(station)
    before = roundtrip(exchange.export_case(station, number))
    assert problems_of(before, CASE_SCHEMA) == []
    assert before["case"]["fir"] == views.current_view(station, number)
    shown = ParseDict(views.current_view(station, number), records_pb2.Fir())
    assert ParseDict(before["case"]["fir"], records_pb2.Fir()) == shown
    for item in before["case"]["events"]:
        event = ParseDict(item["event"], records_pb2.CaseEvent())
        assert event == station.ledger.body(item["ledger_index"]).case_event

    for kind in ("court_disposal", "prison_admission", "forensic_result"):
        exchange.import_message(station, OFFICER, message(kind, BODIES[kind], number))
    after = roundtrip(exchange.export_case(station, number))
    exchange.check_document(after, station.ledger.public_key)
    assert after["case"]["fir"] == before["case"]["fir"]
    assert after["case"]["events"][: len(before["case"]["events"])] == before["case"]["events"]
    added = after["case"]["events"][len(before["case"]["events"]) :]
    assert [(e["external"]["sender"], e["external"]["message_id"]) for e in added] == [
        (COURT, "court_disposal-1"),
        (PRISON, "prison_admission-1"),
        (LAB, "forensic_result-1"),
    ]
    assert after["entries"][: len(before["entries"])] != []
    before_entries = {e["ledger_index"]: e["leaf_hash"] for e in before["entries"]}
    after_entries = {e["ledger_index"]: e["leaf_hash"] for e in after["entries"]}
    assert {i: after_entries[i] for i in before_entries} == before_entries
