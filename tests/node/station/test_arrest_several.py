"""Several accused arrested in one memo (`casework.arrest_several`) over a real station: one
arrest event each, each with its own person informed and its own 24-hour clock, appended in one
group commit or not at all; and a charge sheet naming the accused it charges."""

from __future__ import annotations

import pytest

from ledger.errors import InputError
from ledger.log import now_ms
from node.index import casework as cases
from node.index import investigation as held
from node.station import casework, registers
from node.station.casework import Arrest
from node.station.core import Station
from protos import records_pb2
from tests.node.support import person, theft_fir

OFFICER = "PEN100001"
HOUR = 60 * 60 * 1000


def memo(informed: str, **fields: object) -> records_pb2.ArrestMemo:
    given: dict[str, object] = {
        "place": "Kalamassery market",
        "grounds": "Seen in the video of the riot throwing stones",
        "attesting_witness": "Ramesh K, shopkeeper",
        "informed_person": informed,
    }
    given.update(fields)
    return records_pb2.ArrestMemo(**given)  # type: ignore[arg-type]


def arrest(code: str, name: str, informed: str, at_ms: int | None = None) -> Arrest:
    accused = records_pb2.PersonInCase(
        person=records_pb2.Person(name=name, age=24, sex="M"), accused_code=code
    )
    return Arrest(accused, memo(informed), at_ms=at_ms)


def test_several_accused_each_with_their_own_clock_and_person_informed(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    first = now_ms() - 30 * HOUR
    size = station.ledger.size()
    receipts = casework.arrest_several(
        station,
        OFFICER,
        fir,
        [
            arrest("A1", "Rioter One", "Latha, mother", first),
            arrest("A2", "Rioter Two", "Shyla, wife", first + 10 * HOUR),
            arrest("A3", "Rioter Three", "Mani, father"),
        ],
    )
    assert len(receipts) == 3 and station.ledger.size() == size + 3
    bodies = [station.ledger.body(r.index).case_event for r in receipts]
    assert [(b.persons[0].accused_code, b.arrest_memo.informed_person) for b in bodies] == [
        ("A1", "Latha, mother"),
        ("A2", "Shyla, wife"),
        ("A3", "Mani, father"),
    ]
    rows = {r.accused_code: r for r in held.arrests(station.index, fir)}
    assert rows["A1"].production_due_ms == first + 24 * HOUR
    assert rows["A2"].production_due_ms == first + 34 * HOUR
    assert rows["A1"].production_overdue(now_ms()) and not rows["A2"].production_overdue(now_ms())
    assert all(r.memo_complete for r in rows.values())


def test_one_bad_arrest_writes_none_and_names_its_arrest(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    size = station.ledger.size()
    bad = arrest("A2", "Rioter Two", "")
    with pytest.raises(InputError) as refused:
        casework.arrest_several(
            station,
            OFFICER,
            fir,
            [arrest("A1", "Rioter One", "Latha, mother"), bad, arrest("A1", "Again", "X, son")],
        )
    lines = refused.value.problems
    assert any(line.startswith("arrest 2: the person named to be informed") for line in lines)
    assert "arrest 3: A1 is named twice" in lines
    assert station.ledger.size() == size
    assert held.arrests(station.index, fir) == []
    with pytest.raises(InputError, match="at least one arrested person"):
        casework.arrest_several(station, OFFICER, fir, [])
    assert station.ledger.size() == size


def test_a_charge_sheet_names_the_accused_it_charges(station: Station) -> None:
    fir = theft_fir()
    del fir.persons[1:]
    for n, name in enumerate(("Suresh Kumar", "Manoj"), 1):
        accused = person(name, records_pb2.ACCUSED)
        accused.accused_code = f"A{n}"
        fir.persons.append(accused)
    number = registers.register_fir(station, OFFICER, fir).ref
    sections = [records_pb2.ActSection(act="BNS", section="303(2)")]
    size = station.ledger.size()
    with pytest.raises(InputError, match="has no accused A7"):
        casework.record_case_event(
            station, OFFICER, number, "final_report", report_type="charge_sheet",
            sections=sections, persons=[records_pb2.PersonInCase(accused_code="A7")],
        )  # fmt: skip
    with pytest.raises(InputError, match="closure report charges nobody"):
        casework.record_case_event(
            station, OFFICER, number, "final_report", report_type="closure", text="No trace",
            persons=[records_pb2.PersonInCase(accused_code="A1")],
        )  # fmt: skip
    assert station.ledger.size() == size
    receipt = casework.record_case_event(
        station, OFFICER, number, "final_report", report_type="charge_sheet", sections=sections,
        persons=[records_pb2.PersonInCase(accused_code=c) for c in ("a1", "A2")],
    )  # fmt: skip
    event = station.ledger.body(receipt.index).case_event
    assert [(p.accused_code, p.person.name) for p in event.persons] == [
        ("A1", "Suresh Kumar"),
        ("A2", "Manoj"),
    ]
    assert cases.charge_sheeted(station.index, number)
