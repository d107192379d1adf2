"""The investigation of a case taken over, recorded by the unit in its own log (real RocksDB
ledgers and SQLite indexes of two stations and a second unit): the case named by the sender's
FIR number and node id, the FIR's facts read from the proven entry the take-over holds, the
clocks run at the unit, the sender's log untouched, and a unit that did not take the case over
refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.log import now_ms
from node.index import investigation as held
from node.index import reports
from node.index import transfers as moved
from node.index.aggregate import statistics as stats
from node.index.aggregate.index import AggregateIndex
from node.records.validation import DAY_MS, ist_date
from node.station import case_transfer, casework, investigation, registers, views
from node.station.core import Station
from protos import records_pb2
from tests.node.station.test_case_transfer import CB_OFFICER, OFFICER, SENDER, _open, keys, order
from tests.node.station.test_investigation import accused, mahazar, memo, refused
from tests.node.support import theft_fir

CB_IO = "PEN900011"
HOUR_MS = DAY_MS // 24
SENDER_ID = SENDER.split("/", 1)[1]


@pytest.fixture
def taken(tmp_path: Path) -> Iterator[tuple[Station, Station, Station, str, str]]:
    """A theft case of Kalamassery taken over by the Crime Branch: (sender, unit, another unit,
    the sender's FIR number, the unit's key of the case)."""
    sender = _open(tmp_path, "a", SENDER, "Ernakulam City", "Kalamassery")
    unit = _open(
        tmp_path, "b", "cctns.in/kerala/crime-branch/cb-ernakulam", "Ernakulam City",
        "Crime Branch, Ernakulam",
    )  # fmt: skip
    other = _open(
        tmp_path, "c", "cctns.in/kerala/cyber/ps-cyber-kochi", "Ernakulam City", "Cyber PS"
    )
    fir = registers.register_fir(sender, OFFICER, theft_fir()).ref
    acceptance = case_transfer.accept_case(
        unit, CB_OFFICER, case_transfer.transfer_case(sender, OFFICER, fir, order()), *keys(sender)
    )
    case_transfer.record_case_acceptance(sender, OFFICER, acceptance, *keys(unit))
    yield sender, unit, other, fir, f"{fir} of {SENDER_ID}"
    for station in (sender, unit, other):
        station.close()


def test_unit_records_the_investigation_in_its_own_log(
    taken: tuple[Station, Station, Station, str, str],
) -> None:
    sender, unit, _, fir, key = taken
    sender_size = sender.ledger.size()
    (row,) = moved.cases_taken_over(unit.index)
    assert row.case_key == key

    # Named as people type it; the unit's IO assigned.
    casework.assign_io(unit, CB_OFFICER, key.lower().replace("fir no. ", "FIR No "), CB_IO)
    arrested_at = now_ms() - 3 * HOUR_MS
    receipt = casework.arrest(
        unit, CB_IO, key, [accused("A1", "Manoj P")], memo(informed_at_ms=now_ms()),
        at_ms=arrested_at,
    )  # fmt: skip
    assert receipt.ref == key
    # The unit's lock-up register holds him, with the 24-hour clock from the arrest.
    (person,) = held.lockup_register(unit.index)
    assert (person.fir_number, person.accused_code, person.name) == (key, "A1", "Manoj P")
    assert person.awaiting_production
    assert person.production_due_ms == arrested_at + 24 * HOUR_MS
    production = [d for d in investigation.due_now(unit) if d.kind == "production"]
    assert [(d.fir_number, d.due_ms) for d in production] == [(key, person.production_due_ms)]

    # A diary day (one only), a seizure into the unit's property register, a remand.
    today = ist_date(now_ms()).isoformat()
    day = records_pb2.DiaryDay(day=today, places_visited=["Edappally"])
    casework.write_diary(unit, CB_IO, key, day, "Arrested A1; questioned him")
    refused(unit, "is written", casework.write_diary, CB_IO, key, day, "Again")
    before_fir = ist_date(now_ms() - 30 * DAY_MS).isoformat()
    refused(
        unit, "before .* was registered", casework.write_diary, CB_IO, key,
        records_pb2.DiaryDay(day=before_fir), "Too early",
    )  # fmt: skip
    phone = records_pb2.PropertyItem(category="mobile phone", description="Redmi, black")
    casework.seize(unit, CB_IO, key, [phone], mahazar())
    (item,) = held.property_register(unit.index, key)
    assert item.fir_number == key
    remanded = now_ms()
    casework.order_custody(
        unit, CB_IO, key,
        records_pb2.CustodyOrder(
            accused_code="A1", order="judicial_custody", court="JFCM Kalamassery",
            until_ms=remanded + 14 * DAY_MS,
        ),
        at_ms=remanded,
    )  # fmt: skip
    # Theft (BNS 303(2), at most three years): the final report within 60 days of the remand.
    clock = held.case_clock(unit.index, key)
    assert clock is not None
    assert clock.final_report_due_ms == remanded + 60 * DAY_MS
    # Day 85: bail by default overdue (60 days), the informant to be told within the week (90
    # days from the registration at Kalamassery).
    later = {d.kind: d for d in investigation.due_now(unit, now=remanded + 85 * DAY_MS)}
    assert later["default_bail"].overdue and later["default_bail"].fir_number == key
    assert not later["progress"].overdue and later["progress"].fir_number == key
    assert "fir_to_magistrate" not in later  # the registering station's duty

    # The MO names accused by the codes of the FIR as the proven entry holds them (a code the
    # FIR does not have is refused); an alteration of sections; the charge sheet.
    refused(
        unit, "has no accused A7", casework.record_mo, CB_IO, key,
        records_pb2.ModusOperandi(accused_codes=["A7"], place_type="road"),
    )  # fmt: skip
    case_transfer.alter_sections(
        unit, CB_IO, key,
        records_pb2.SectionAlteration(
            added=[records_pb2.ActSection(act="BNS", section="3(5)")],
            reason="Two accused acting in common intention", court="JFCM Kalamassery",
            report_date=today,
        ),
    )  # fmt: skip
    assert moved.current_sections(unit.index, key) == [("BNS", "303(2)"), ("BNS", "3(5)")]
    casework.record_case_event(
        unit, CB_IO, key, "final_report", report_type="charge_sheet",
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
    )  # fmt: skip
    assert not [
        d for d in investigation.due_now(unit, now=remanded + 85 * DAY_MS) if d.fir_number == key
    ]

    # Not transferred on; the court's file stays with the registering station.
    refused(
        unit, "not modelled", case_transfer.transfer_case, CB_OFFICER, key,
        order(to_node_id="kerala/cyber/ps-cyber-kochi"),
    )  # fmt: skip
    refused(
        unit, "stays on the court's file", casework.record_case_event, CB_IO, key,
        "court_progress", court="JFCM Kalamassery", next_hearing="2027-01-12",
    )  # fmt: skip

    # The sending station's log is not touched; its view of its own case unchanged.
    assert sender.ledger.size() == sender_size
    assert moved.transfer_out(sender.index, fir) is not None
    # No crime counted at the unit: it registered no FIR (the sender counts it).
    assert reports.crime_head_counts(unit.index) == []
    assert reports.charge_sheeting(unit.index).charge_sheets == 0
    assert reports.pending_by_age(unit.index, now_ms()) == [
        (label, 0) for label, _, _ in reports.AGE_BUCKETS
    ]
    # The FIR as received, under the withholding policy, as the case's view.
    assert views.current_view(unit, key)["fir_number"] == fir

    # A rebuilt index has the same rows.
    before = unit.index.snapshot()
    unit.rebuild_index()
    assert unit.index.snapshot() == before


def test_case_refused_where_it_was_not_taken_over(
    taken: tuple[Station, Station, Station, str, str],
) -> None:
    sender, unit, other, fir, key = taken
    for station in (other, unit):
        unknown = key if station is other else f"FIR No. 999/2026 of {SENDER_ID}"
        refused(
            station, "was not taken over by this unit", casework.arrest, CB_IO, unknown,
            [accused("A1", "Manoj P")], memo(),
        )  # fmt: skip
        refused(
            station, "was not taken over by this unit", casework.write_diary, CB_IO, unknown,
            records_pb2.DiaryDay(day=ist_date(now_ms()).isoformat()), "Scene visited",
        )  # fmt: skip
    # The sender names its own case by its number: still refused there (transferred).
    refused(sender, "transferred to Crime Branch", casework.assign_io, OFFICER, fir, CB_IO)


@pytest.mark.parametrize(
    ("database", "unit_first"),
    [
        ("sqlite", False),
        ("sqlite", True),
        # PostgreSQL holds a column to its length: the unit's key fits case_outcomes.
        pytest.param("postgres", True, marks=pytest.mark.postgres),
    ],
)
def test_units_charge_sheet_counted_against_the_one_fir(
    taken: tuple[Station, Station, Station, str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    database: str,
    unit_first: bool,
) -> None:
    sender, unit, _, _, key = taken
    casework.record_case_event(
        unit, CB_IO, key, "final_report", report_type="charge_sheet",
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
    )  # fmt: skip
    url = (
        f"sqlite:///{tmp_path / 'aggregate.sqlite3'}"
        if database == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    index = AggregateIndex(url)
    try:
        # Both logs at once, or the unit's first (its report waits under the key until the
        # sender's office is met).
        batches = [[unit], [sender]] if unit_first else [[sender, unit]]
        for batch in batches:
            index.catch_up(
                (s.config.origin, s.ledger.size(), s.ledger.store.entries) for s in batch
            )
        year = ist_date(now_ms()).year
        # The crime once, where it was registered; the unit's charge sheet disposes of it.
        assert stats.crime_by_head(index, year=year, state="kerala").total == 1
        total = stats.police_disposal(index, year=year, state="kerala")[-1]
        assert (total.registered, total.charge_sheeted, total.pending_end) == (1, 1, 0)
    finally:
        index.close()
