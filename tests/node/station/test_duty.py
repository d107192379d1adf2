"""Beats, the duty roster, the beat book and the workload that feeds the roster, over a real
station (RocksDB ledger, SQLite index): a beat defined and retired is two entries and takes no
new duty once retired; an officer's overlapping duty is refused; the workload puts the beat with
the most incidents first and a pending warrant under its beat; a patrol entry is never changed;
every refusal writes nothing and lists every problem; a rebuilt index holds the same rows."""

from __future__ import annotations

import datetime

import pytest

from ledger.errors import InputError, NotFound
from node.index import duty as duty_index
from node.records.duty import BeatArea, beat_of, words
from node.records.validation import CLOCK_SKEW_MS, DAY_MS, ist_date
from node.station import duty, processes, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import theft_fir

SHO = "PEN420001"
CPO = "PEN430017"
CPO2 = "PEN430018"
HOUR = 3_600_000


def refused(station: Station, message: str, fn: object, *args: object, **kw: object) -> None:
    size = station.ledger.size()
    with pytest.raises(InputError, match=message):
        fn(station, *args, **kw)  # type: ignore[operator]
    assert station.ledger.size() == size


def beats(station: Station) -> None:
    duty.define_beat(station, SHO, "B1", "HMT Colony", ["HMT Colony", "North Kalamassery"])
    duty.define_beat(station, SHO, "B2", "Edappally", ["Edappally", "Pathadipalam"])
    duty.define_beat(station, SHO, "B3", "Kangarappady", ["Kangarappady"])


def assignment(officer: str, kind: str, start: int, hours: int = 8, **fields: object):  # type: ignore[no-untyped-def]
    return records_pb2.DutyAssignment(
        officer_id=officer, duty=kind, from_ms=start, to_ms=start + hours * HOUR, **fields
    )  # type: ignore[arg-type]


def test_places_are_put_on_beats_by_whole_words() -> None:
    areas = [
        BeatArea("B1", "HMT Colony", ("HMT Colony", "Kalamassery")),
        BeatArea("B2", "Edappally", ("Edappally", "ഇടപ്പള്ളി")),
    ]
    assert beat_of("near the HMT Colony bus stop, Kalamassery", areas) == "B1"
    assert beat_of("Edappally toll junction", areas) == "B2"
    assert beat_of("ഇടപ്പള്ളി ജംഗ്ഷനു സമീപം", areas) == "B2"
    assert beat_of("HMTColony", areas) is None  # words, not letters
    assert beat_of("Vyttila", areas) is None
    assert beat_of("Vyttila", areas, hint="b2") == "B2"  # the record's own beat field
    assert words("ഇടപ്പള്ളി, HMT-Colony") == ("ഇടപ്പള്ളി", "hmt", "colony")


def test_beat_defined_revised_and_retired(station: Station) -> None:
    refused(
        station, "the beat's code.*the beat's name.*at least one locality",
        duty.define_beat, SHO, "B 1", " ", [" "],
    )  # fmt: skip
    first = duty.define_beat(station, SHO, "B1", "HMT Colony", ["HMT Colony"])
    refused(station, "already of beat B1", duty.define_beat, SHO, "B2", "Other", ["hmt  colony"])
    revised = duty.define_beat(station, SHO, "b1", "HMT Colony beat", ["HMT Colony", "Thevakkal"])
    (row,) = duty_index.beats(station.index)
    assert (row.code, row.name, row.localities, row.in_force) == (
        "B1", "HMT Colony beat", ("HMT Colony", "Thevakkal"), True,
    )  # fmt: skip
    assert (row.defined_index, row.revised_index) == (first.index, revised.index)
    start = station.now() + HOUR
    booked = duty.assign_duty(station, SHO, assignment(CPO, "beat_patrol", start, beat_code="B1"))
    refused(station, "cancel it first", duty.retire_beat, SHO, "B1", "Merged into B2")
    refused(station, "the reason", duty.retire_beat, SHO, "B1", " ")
    duty.cancel_duty(station, SHO, booked.ref, "Officer on leave")
    retired = duty.retire_beat(station, SHO, "B1", "Merged into B2 by order 12/2026")
    # Both entries are in the log; the beat stays in the index, retired.
    kinds = [station.ledger.body(i).beat.action for i in (first.index, retired.index)]
    assert kinds == ["defined", "retired"]
    (row,) = duty_index.beats(station.index)
    assert (row.status, row.retired_index, row.defined_index) == (
        "retired", retired.index, first.index,
    )  # fmt: skip
    refused(
        station, "beat B1 is retired: no duty",
        duty.assign_duty, SHO, assignment(CPO, "beat_patrol", start + DAY_MS, beat_code="B1"),
    )  # fmt: skip
    refused(station, "not used again", duty.define_beat, SHO, "B1", "HMT", ["HMT Colony"])
    refused(station, "already retired", duty.retire_beat, SHO, "B1", "again")
    with pytest.raises(NotFound):
        duty.retire_beat(station, SHO, "B9", "no such beat")


def test_overlapping_duty_refused_and_cancel_by_later_entry(station: Station) -> None:
    beats(station)
    start = station.now() + 2 * HOUR
    first = duty.assign_duty(station, SHO, assignment(CPO, "beat_patrol", start, beat_code="B1"))
    assert first.ref == f"DUTY-{first.index}"
    refused(
        station, f"PEN430017 is already on beat patrol \\({first.ref}\\)",
        duty.assign_duty, SHO, assignment(CPO, "court_duty", start + 4 * HOUR, place="JFCM"),
    )  # fmt: skip
    # Back to back is no overlap; another officer at the same time is none either.
    duty.assign_duty(station, SHO, assignment(CPO, "court_duty", start + 8 * HOUR, place="JFCM"))
    duty.assign_duty(station, SHO, assignment(CPO2, "beat_patrol", start, beat_code="B1"))
    refused(
        station,
        "the duty is one of.*ends.*before it begins",
        duty.assign_duty, SHO,
        records_pb2.DutyAssignment(officer_id=CPO, duty="lunch", from_ms=start, to_ms=start - 1),
    )  # fmt: skip
    refused(
        station, "beat patrol needs the beat",
        duty.assign_duty, SHO, assignment(CPO2, "beat_patrol", start + DAY_MS),
    )  # fmt: skip
    refused(
        station, "no beat 'B7'",
        duty.assign_duty, SHO, assignment(CPO2, "beat_patrol", start + DAY_MS, beat_code="B7"),
    )  # fmt: skip
    refused(
        station, "at most 24 hours",
        duty.assign_duty, SHO, assignment(CPO2, "bandobast", start + DAY_MS, 30, place="Ground"),
    )  # fmt: skip
    past = station.now() - 10 * HOUR
    refused(
        station, "already ended",
        duty.assign_duty, SHO, assignment(CPO2, "sentry", past, 2),
    )  # fmt: skip
    refused(
        station, "more than a month ahead",
        duty.assign_duty, SHO, assignment(CPO2, "sentry", station.now() + 40 * DAY_MS),
    )  # fmt: skip
    day = ist_date(start)
    from_ms, to_ms = duty_index.day_bounds(day)
    on_day = duty_index.roster(station.index, from_ms, to_ms + DAY_MS, officer_id=CPO)
    assert [d.duty for d in on_day] == ["beat_patrol", "court_duty"]
    refused(station, "the reason", duty.cancel_duty, SHO, first.ref, "")
    cancelled = duty.cancel_duty(station, SHO, first.ref.lower(), "Officer on leave")
    refused(station, "already cancelled", duty.cancel_duty, SHO, first.ref, "again")
    body = station.ledger.body(cancelled.index).duty
    assert (body.cancels, body.note) == (first.index, "Officer on leave")
    # The assignment's own entry is unchanged; the index marks it cancelled.
    assert station.ledger.body(first.index).duty.beat_code == "B1"
    row = duty_index.find_duty(station.index, first.index)
    assert row is not None and row.cancelled and row.cancel_reason == "Officer on leave"
    # With the patrol cancelled, the officer is free for the morning again.
    duty.assign_duty(station, SHO, assignment(CPO, "process_service", start, 4, beat_code="B2"))
    with pytest.raises(NotFound):
        duty.cancel_duty(station, SHO, "DUTY-999999", "no such duty")


def test_workload_orders_beats_and_places_warrants(station: Station) -> None:
    beats(station)
    for place in (
        records_pb2.Place(description="Near the Edappally toll junction"),
        records_pb2.Place(description="Church road", village="Edappally"),
        records_pb2.Place(description="HMT Colony gate"),
        records_pb2.Place(description="Behind the mall", beat="B2"),
    ):
        fir = theft_fir()
        fir.place_of_occurrence.CopyFrom(place)
        registers.register_fir(station, SHO, fir)
    registers.register_ncr(
        station, SHO,
        records_pb2.NonCognizableReport(
            informant=records_pb2.Person(name="Anil Kumar"),
            sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
            brief_facts="Slapped during a quarrel at Kangarappady junction.",
        ),
    )  # fmt: skip
    petition = registers.receive_petition(
        station, SHO,
        records_pb2.Petition(
            petitioner=records_pb2.Person(name="Leela Menon", address="North Kalamassery"),
            subject="Neighbour blocks the lane", details="The wall blocks the path.",
        ),
    )  # fmt: skip
    returnable = (ist_date(station.now()) + datetime.timedelta(days=10)).isoformat()
    warrant = processes.receive_process(
        station, SHO,
        records_pb2.CourtProcess(
            process_type="non_bailable_warrant", court="JFCM Kalamassery",
            court_case_number="CC 12/2026", returnable_date=returnable,
            person=records_pb2.Person(name="Suresh K", address="Kizhakkethil, Kangarappady"),
        ),
    )  # fmt: skip
    day = ist_date(station.now())
    duty.assign_duty(
        station, SHO, assignment(CPO, "beat_patrol", station.now() + HOUR, 4, beat_code="B1")
    )
    load = duty_index.workload(station.index, day)
    assert [b.code for b in load.beats] == ["B2", "B1", "B3"]
    b2, b1, b3 = load.beats
    # By the place's words, by its village, and by the FIR's own beat field.
    assert len(b2.incidents) == 3
    assert {i.kind for i in b1.incidents} == {"fir", "petition"}
    assert [p.receipt_number for p in b1.petitions] == [petition.ref]
    assert [i.kind for i in b3.incidents] == ["ncr"]
    assert [w.process_number for w in b3.warrants] == [warrant.ref]
    assert [d.officer_id for d in b1.patrolled_by] == [CPO]
    suggestions = duty_index.suggested_roster(station.index, day)
    assert [(s.beat.code, s.covered) for s in suggestions] == [
        ("B2", False), ("B1", True), ("B3", False),
    ]  # fmt: skip
    assert "1 warrants to execute" in suggestions[2].reasons
    # Thirty days on, the incidents have aged out; the warrant still waits in its beat.
    later = duty_index.workload(station.index, day + datetime.timedelta(days=31))
    assert all(not b.incidents for b in later.beats)
    assert [w.process_number for w in later.beats[2].warrants] == [warrant.ref]
    # Executed, it leaves the workload.
    processes.carry_out(station, SHO, warrant.ref, "Arrested at his house")
    assert not duty_index.workload(station.index, day).beats[2].processes


def patrol(start: int, **fields: object) -> records_pb2.PatrolEntry:
    given: dict[str, object] = {
        "officer_id": CPO,
        "beat_code": "B1",
        "from_ms": start,
        "to_ms": start + 2 * HOUR,
        "points": [
            records_pb2.PatrolPoint(place="HMT Colony gate", at_ms=start + 10 * 60_000),
            records_pb2.PatrolPoint(place="North Kalamassery ATM", at_ms=start + HOUR),
        ],
        "observations": "Street light near the ATM not working; informed the KSEB.",
        "checks": [
            records_pb2.PatrolCheck(
                person=records_pb2.Person(name="Biju M", relation="S/o", relative_name="Mathew"),
                place="Bus shelter", at_ms=start + HOUR, remarks="Loitering; sent home",
            )
        ],
    }  # fmt: skip
    given.update(fields)
    return records_pb2.PatrolEntry(**given)  # type: ignore[arg-type]


def test_patrol_entry_written_once_never_changed(station: Station) -> None:
    beats(station)
    now = station.now()
    start = now - 3 * HOUR
    booked = duty.assign_duty(
        station, SHO, assignment(CPO, "beat_patrol", start - HOUR, 6, beat_code="B1")
    )
    refused(
        station, "the beat patrolled.*the observations.*point 1: the place.*outside the patrol",
        duty.write_patrol, CPO,
        patrol(start, beat_code="", observations="", points=[
            records_pb2.PatrolPoint(place=" ", at_ms=start),
            records_pb2.PatrolPoint(place="Far", at_ms=start + 5 * HOUR),
        ]),
    )  # fmt: skip
    refused(
        station, "ends in the future",
        duty.write_patrol, CPO, patrol(now + 2 * CLOCK_SKEW_MS - 2 * HOUR),
    )  # fmt: skip
    refused(station, "no beat 'B9'", duty.write_patrol, CPO, patrol(start, beat_code="B9"))
    refused(station, "more than three days ago", duty.write_patrol, CPO, patrol(now - 5 * DAY_MS))
    written = duty.write_patrol(station, CPO, patrol(start))
    assert written.ref == f"PATROL-{written.index}"
    leaf = station.ledger.leaf(written.index)
    (row,) = duty_index.beat_book(station.index, beat_code="B1")
    assert row.duty_index == booked.index  # linked to the officer's beat patrol
    assert [p["place"] for p in row.points] == ["HMT Colony gate", "North Kalamassery ATM"]
    assert row.checks[0]["relative"] == "S/o Mathew"
    # A second entry over the same hours is refused: the first is not rewritten.
    refused(
        station, f"was on another patrol \\({written.ref}",
        duty.write_patrol, CPO, patrol(start + HOUR, observations="Corrected account"),
    )  # fmt: skip
    # No amendment reaches it either: it is no register record.
    refused(
        station, f"no record '{written.ref}'",
        registers.amend, SHO, written.ref, "correct it", {"summary": "x"},
    )  # fmt: skip
    assert station.ledger.leaf(written.index) == leaf
    assert duty_index.beat_book(station.index, beat_code="B1")[0].observations == (
        "Street light near the ATM not working; informed the KSEB."
    )


def test_rebuilt_index_holds_the_same_roster(station: Station) -> None:
    beats(station)
    start = station.now() + HOUR
    first = duty.assign_duty(station, SHO, assignment(CPO, "beat_patrol", start, beat_code="B2"))
    duty.cancel_duty(station, SHO, first.ref, "Leave")
    duty.write_patrol(station, CPO2, patrol(station.now() - 3 * HOUR, officer_id=CPO2))
    duty.retire_beat(station, SHO, "B3", "Merged")
    before = station.index.snapshot()
    station.rebuild_index()
    assert station.index.snapshot() == before
