"""Accused declared wanted on their case (node/station/casework.py, node/index/casework.py),
over a real station (RocksDB ledger, SQLite index): the event names the FIR's accused by code
with the name and relative the FIR gives them; bad input is refused with nothing written; an
arrest of the same accused in the case, or a withdrawal, ends the wanted status (appended, never
edited); the register lists what stands, also after the index is rebuilt from the ledger."""

from __future__ import annotations

import pytest

from ledger.errors import InputError
from node.index import casework as casework_index
from node.station import casework, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import person, theft_fir

OFFICER = "PEN100001"
ORDER = "Proclamation dated 2026-11-20 in CC 412/2026, JFCM-I Kalamassery"


def fir_with_accused(station: Station) -> str:
    """An FIR naming two accused: A1 with a relative, A2 by name alone."""
    fir = theft_fir()
    del fir.persons[1:]
    a1 = person("Suresh Kumar", records_pb2.ACCUSED, relation="S/o", relative_name="Gopalan")
    a1.accused_code = "A1"
    a2 = person("Manoj", records_pb2.ACCUSED)
    a2.accused_code = "A2"
    fir.persons.extend([a1, a2])
    return registers.register_fir(station, OFFICER, fir).ref


def declare(station: Station, number: str, *codes: str, **kw: str) -> None:
    casework.record_case_event(
        station,
        OFFICER,
        number,
        "wanted",
        persons=[records_pb2.PersonInCase(accused_code=c) for c in codes],
        report_type=kw.get("basis", "proclamation"),
        court=kw.get("court", ORDER),
        text=kw.get("text", "absconding since the occurrence; warrant returned unexecuted"),
    )


def refused(station: Station, message: str, number: str, *codes: str, **kw: str) -> None:
    size = station.ledger.size()
    with pytest.raises(InputError, match=message):
        declare(station, number, *codes, **kw)
    assert station.ledger.size() == size


def test_wanted_names_the_firs_accused_and_refuses_bad_input(station: Station) -> None:
    number = fir_with_accused(station)
    refused(station, "has no accused A7", number, "A7")
    refused(station, "grounds", number, "A1", text="  ")
    refused(station, "court's order", number, "A1", court="")
    refused(station, "basis", number, "A1", basis="rumour")
    refused(station, "accused code", number)
    assert casework_index.wanted_persons(station.index) == []

    declare(station, number, "a1", basis="warrant")
    (row,) = casework_index.wanted_persons(station.index)
    assert (row.fir_number, row.accused_code, row.name, row.relation, row.relative_name) == (
        number,
        "A1",
        "Suresh Kumar",
        "S/o",
        "Gopalan",
    )
    assert row.basis == "warrant" and row.court_order == ORDER and "absconding" in row.grounds
    event = station.ledger.body(station.ledger.size() - 1).case_event
    assert event.kind == "wanted" and event.persons[0].person.relative_name == "Gopalan"
    refused(station, "already wanted", number, "A1")
    # A lookout needs no court's order.
    declare(station, number, "A2", basis="lookout", court="")
    assert [r.accused_code for r in casework_index.wanted_in_case(station.index, number)] == [
        "A1",
        "A2",
    ]


def test_an_arrest_or_a_withdrawal_ends_the_wanted_status(station: Station) -> None:
    number = fir_with_accused(station)
    declare(station, number, "A1", "A2")
    other = fir_with_accused(station)
    declare(station, other, "A1")
    # An arrest of A1 in another case ends nothing here.
    arrested = person("Suresh Kumar", records_pb2.ACCUSED, relation="S/o", relative_name="Gopalan")
    arrested.accused_code = "A1"
    casework.record_case_event(station, OFFICER, other, "arrest", persons=[arrested])
    assert {
        (r.fir_number, r.accused_code) for r in casework_index.wanted_persons(station.index)
    } == {
        (number, "A1"),
        (number, "A2"),
    }
    casework.record_case_event(station, OFFICER, number, "arrest", persons=[arrested])
    with pytest.raises(InputError, match="A1 is not wanted"):
        casework.record_case_event(
            station,
            OFFICER,
            number,
            "wanted_withdrawn",
            persons=[records_pb2.PersonInCase(accused_code="A1")],
            text="recalled",
        )
    with pytest.raises(InputError, match="reason"):
        casework.record_case_event(
            station,
            OFFICER,
            number,
            "wanted_withdrawn",
            persons=[records_pb2.PersonInCase(accused_code="A2")],
        )
    casework.record_case_event(
        station,
        OFFICER,
        number,
        "wanted_withdrawn",
        persons=[records_pb2.PersonInCase(accused_code="A2")],
        court="Order dated 2026-11-28 recalling the proclamation",
        text="the accused appeared before the court",
    )
    assert casework_index.wanted_persons(station.index) == []
    kinds = [e.kind for e in casework_index.case_events(station.index, number)]
    assert kinds == ["wanted", "arrest", "wanted_withdrawn"]
    # Declared wanted again later (jumped bail): a new event, the register lists it again.
    declare(station, number, "A1", basis="warrant")
    before = casework_index.wanted_persons(station.index)
    station.rebuild_index()
    assert casework_index.wanted_persons(station.index) == before
    assert [r.accused_code for r in before] == ["A1"]
