"""The process register and the fortnightly NCR forwarding over a real station (RocksDB ledger,
SQLite index): a summons received and served leaves the pending list, a warrant past its
returnable day is overdue, a return needs its reason, every refusal writes nothing, the NCRs
since the last forwarding go in the next and are due fifteen days on, and a rebuilt index holds
the same register."""

from __future__ import annotations

import datetime

import pytest

from ledger.errors import InputError
from ledger.log import now_ms
from node.index import processes as register
from node.records.validation import DAY_MS, ist_date
from node.station import investigation, processes, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import VICTIM, sexual_offence_fir, station_clock_at, theft_fir

OFFICER = "PEN100001"


def refused(station: Station, message: str, fn: object, *args: object, **kw: object) -> None:
    size = station.ledger.size()
    with pytest.raises(InputError, match=message):
        fn(station, *args, **kw)  # type: ignore[operator]
    assert station.ledger.size() == size


def process(kind: str, returnable: datetime.date, **fields: object) -> records_pb2.CourtProcess:
    given: dict[str, object] = {
        "process_type": kind,
        "court": "Judicial First Class Magistrate Court, Kalamassery",
        "court_case_number": "CC 231/2026",
        "person": records_pb2.Person(
            name="Suresh K", relation="S/o", relative_name="Kumaran",
            address="Kizhakkethil House, HMT Colony, Kalamassery",
        ),
        "returnable_date": returnable.isoformat(),
    }  # fmt: skip
    given.update(fields)
    return records_pb2.CourtProcess(**given)  # type: ignore[arg-type]


def ncr(facts: str) -> records_pb2.NonCognizableReport:
    return records_pb2.NonCognizableReport(
        informant=records_pb2.Person(name="Anil Kumar"),
        sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
        brief_facts=facts,
    )


def test_summons_served_leaves_the_pending_list(station: Station) -> None:
    today = ist_date(now_ms())
    refused(
        station, "the process is one of.*the court's case number.*address.*returnable date",
        processes.receive_process, OFFICER,
        process("notice", today, court_case_number="", returnable_date="",
                person=records_pb2.Person(name="Suresh K")),
    )  # fmt: skip
    refused(
        station, "no FIR", processes.receive_process, OFFICER,
        process("summons", today, fir_number="FIR No. 99/2026"),
    )  # fmt: skip
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    got = processes.receive_process(
        station, OFFICER, process("summons", today + datetime.timedelta(days=20), fir_number=fir)
    )
    year = today.year
    assert got.ref == f"PRC/{year}/000001"
    (row,) = register.process_register(station.index, pending_only=True)
    assert (row.name, row.relative, row.fir_number, row.status) == (
        "Suresh K", "S/o Kumaran", fir, "pending",
    )  # fmt: skip
    refused(
        station, "a summons is served or returned", processes.record_step, OFFICER,
        f"prc/{year}/1", "executed", "arrested",
    )  # fmt: skip
    refused(station, "how the process was served", processes.carry_out, OFFICER, got.ref, " ")
    processes.carry_out(station, OFFICER, f"prc/{year}/1", "Served in person; signed the copy")
    assert register.process_register(station.index, pending_only=True) == []
    (row,) = register.process_register(station.index)
    assert (row.status, row.step_note) == ("served", "Served in person; signed the copy")
    refused(station, "already served", processes.return_unserved, OFFICER, got.ref, "Moved")
    assert station.ledger.body(got.index).court_process.returnable_date  # never edited


def test_warrant_past_its_returnable_day_is_overdue_and_return_needs_a_reason(
    station: Station,
) -> None:
    today = ist_date(now_ms())
    warrant = processes.receive_process(
        station, OFFICER, process("non_bailable_warrant", today - datetime.timedelta(days=2))
    ).ref
    far = processes.receive_process(
        station, OFFICER, process("summons", today + datetime.timedelta(days=40))
    ).ref
    due = {d.ref: d for d in investigation.due_now(station) if d.kind == "process"}
    assert set(due) == {warrant}  # the far one is not due within the week
    assert due[warrant].overdue and due[warrant].fir_number == ""
    refused(station, "the reason the process is returned", processes.return_unserved,
            OFFICER, warrant, "")  # fmt: skip
    refused(station, "no process", processes.return_unserved, OFFICER, "PRC/2026/000999", "x")
    processes.return_unserved(station, OFFICER, warrant, "Accused abroad since March (Dubai)")
    pending = register.process_register(station.index, pending_only=True)
    assert [r.process_number for r in pending] == [far]
    assert not [d for d in investigation.due_now(station) if d.kind == "process"]


def test_ncr_forwarding_lists_those_since_the_last_and_is_due_in_fifteen_days(
    station: Station,
) -> None:
    refused(station, "no NCR registered since", processes.forward_ncrs, OFFICER, "JFCM")
    start = now_ms() - 40 * DAY_MS
    with station_clock_at(station, start):
        first = registers.register_ncr(station, OFFICER, ncr("Slapped over parking.")).ref
    due = {d.kind: d for d in investigation.due_now(station)}
    assert due["ncr_forwarding"].overdue  # 40 days since the first NCR not forwarded
    refused(station, "the magistrate", processes.forward_ncrs, OFFICER, " ")
    with station_clock_at(station, start + 2 * DAY_MS):
        second = registers.register_ncr(station, OFFICER, ncr("Abused over a fence.")).ref
        got = processes.forward_ncrs(station, OFFICER, "JFCM Kalamassery")
    sent = station.ledger.body(got.index).ncr_forwarding
    assert (list(sent.ncr_numbers), sent.magistrate) == ([first, second], "JFCM Kalamassery")
    assert "ncr_forwarding" not in {d.kind for d in investigation.due_now(station)}
    third = registers.register_ncr(station, OFFICER, ncr("Insulted at the bus stop.")).ref
    # The next falls due 15 days after the last forwarding: long past now.
    due = {d.kind: d for d in investigation.due_now(station)}
    assert due["ncr_forwarding"].overdue
    assert due["ncr_forwarding"].due_ms == sent.forwarded_at_ms + 15 * DAY_MS
    again = processes.forward_ncrs(station, OFFICER, "JFCM Kalamassery")
    assert list(station.ledger.body(again.index).ncr_forwarding.ncr_numbers) == [third]


def test_register_survives_a_rebuilt_index(station: Station) -> None:
    today = ist_date(now_ms())
    served = processes.receive_process(station, OFFICER, process("summons", today)).ref
    processes.receive_process(station, OFFICER, process("proclamation", today))
    processes.carry_out(station, OFFICER, served, "Affixed at the house; copy to the wife")
    registers.register_ncr(station, OFFICER, ncr("Slapped over parking."))
    processes.forward_ncrs(station, OFFICER, "JFCM Kalamassery")
    before = (register.process_register(station.index), register.last_forwarding(station.index))
    station.index.drop_all()
    station.sync_index()
    after = (register.process_register(station.index), register.last_forwarding(station.index))
    assert after == before
    assert register.ncrs_not_forwarded(station.index) == []
    # The counter continues from the register after a restart of the numbering.
    station.numbers.forget()
    assert processes.receive_process(station, OFFICER, process("summons", today)).ref.endswith(
        "/000003"
    )


def test_a_summons_to_a_protected_victim_names_them_as_the_fir_does(station: Station) -> None:
    """A summons for the victim of a BNS 64 case, received for that case, carries the sealed
    identity's commitment, not her name or address; her name is redacted from the note."""
    fir = registers.register_fir(station, OFFICER, sexual_offence_fir()).ref
    returnable = ist_date(now_ms()) + datetime.timedelta(days=10)
    summons = process(
        "summons", returnable, fir_number=fir, note=f"Summons to {VICTIM} as PW1",
        person=records_pb2.Person(name=VICTIM, address="Near the railway underpass"),
    )  # fmt: skip
    processes.receive_process(station, OFFICER, summons)
    written = station.ledger.body(station.ledger.size() - 1)
    assert VICTIM.lower() not in str(written).lower()
    assert "underpass" not in str(written.court_process.person)
    assert written.court_process.person.identity_commitment
