"""A case's investigation transferred to another unit between two real stations (RocksDB
ledgers, SQLite indexes), the sections of a case altered and reported to the court, and police
custody within the first 40/60 days and 15 days in all (BNSS s.187(2))."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import InputError, VerificationError
from ledger.log import now_ms, verify_log
from node.config import DataDir
from node.index import transfers as moved
from node.records.validation import DAY_MS, ist_date
from node.station import case_transfer, casework, investigation, registers, views
from node.station.core import Station
from protos import federation_pb2, ledger_pb2, records_pb2
from tests.node.station.test_investigation import accused, memo, refused
from tests.node.support import theft_fir

SENDER = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
UNIT = "cctns.in/kerala/crime-branch/cb-ernakulam"
UNIT_ID = "kerala/crime-branch/cb-ernakulam"
OFFICER = "PEN100001"
IO = "PEN300001"
CB_OFFICER = "PEN900009"


def _open(tmp_path: Path, name: str, origin: str, district: str, station: str) -> Station:
    data_dir = DataDir(tmp_path / name)
    data_dir.create(origin=origin, district=district, station=station)
    return Station.open(data_dir)


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[tuple[Station, Station]]:
    sender = _open(tmp_path, "a", SENDER, "Ernakulam City", "Kalamassery")
    unit = _open(tmp_path, "b", UNIT, "Ernakulam City", "Crime Branch, Ernakulam")
    yield sender, unit
    sender.close()
    unit.close()


def order(**fields: str) -> records_pb2.CaseTransfer:
    given = {
        "to_node_id": UNIT_ID,
        "to_unit": "Crime Branch, Ernakulam",
        "ordered_by": "State Police Chief",
        "order_reference": "D3/4512/2026/PHQ",
        "order_date": ist_date(now_ms()).isoformat(),
        "reason": "Inter-district gang; the complainant's petition to the State Police Chief",
    }
    given.update(fields)
    return records_pb2.CaseTransfer(**given)


def keys(station: Station) -> tuple[bytes, str]:
    return station.ledger.public_key, station.config.origin


def test_transfer_recorded_in_both_logs_and_idempotent(stations: tuple[Station, Station]) -> None:
    sender, unit = stations
    fir = registers.register_fir(sender, OFFICER, theft_fir()).ref
    refused(sender, "who ordered", case_transfer.transfer_case, OFFICER, fir, order(ordered_by=""))
    handover = case_transfer.transfer_case(sender, OFFICER, fir, order())
    acceptance = case_transfer.accept_case(unit, CB_OFFICER, handover, *keys(sender))

    # The unit's log holds the proven entries; its list shows the case.
    took = unit.ledger.body(acceptance.taken_over.index).case_takeover
    assert (took.from_origin, took.fir_number) == (SENDER, fir)
    (row,) = moved.cases_taken_over(unit.index)
    assert (row.fir_number, row.from_station, row.sections) == (fir, "Kalamassery", "BNS 303(2)")
    assert row.order_reference == "D3/4512/2026/PHQ"
    receipt = case_transfer.record_case_acceptance(sender, OFFICER, acceptance, *keys(unit))
    sent = moved.transfer_out(sender.index, fir)
    assert sent is not None and sent.accepted
    assert (sent.receiver_origin, sent.takeover_index) == (UNIT, acceptance.taken_over.index)

    # Repeated, every step answers as before and writes nothing.
    sizes = sender.ledger.size(), unit.ledger.size()
    again = case_transfer.transfer_case(sender, OFFICER, fir, order())
    assert (again.fir.index, again.transfer.index) == (handover.fir.index, handover.transfer.index)
    second = case_transfer.accept_case(unit, CB_OFFICER, again, *keys(sender))
    assert second.taken_over.index == acceptance.taken_over.index
    assert case_transfer.record_case_acceptance(sender, OFFICER, second, *keys(unit)) == receipt
    assert (sender.ledger.size(), unit.ledger.size()) == sizes
    with pytest.raises(InputError, match="transferred to Crime Branch"):
        case_transfer.transfer_case(sender, OFFICER, fir, order(to_node_id="kerala/cyber/ps-x"))
    for station in (sender, unit):
        verify_log(station.ledger.store, station.ledger.public_key, station.config.origin)

    # After the transfer the station records no investigation, only the court's progress.
    refused(
        sender,
        "transferred to Crime Branch, Ernakulam on .* it is recorded there now",
        casework.arrest,
        IO,
        fir,
        [accused("A1", "Manoj P")],
        memo(),
    )
    refused(sender, "transferred to Crime Branch", casework.assign_io, OFFICER, fir, IO)
    diary = records_pb2.DiaryDay(day=ist_date(now_ms()).isoformat())
    refused(sender, "transferred", casework.write_diary, IO, fir, diary, "Visited the scene")
    casework.record_case_event(
        sender, OFFICER, fir, "court_progress", court="JFCM Kalamassery", next_hearing="2027-01-12"
    )


def test_forged_or_altered_hand_over_refused(stations: tuple[Station, Station]) -> None:
    sender, unit = stations
    fir = registers.register_fir(sender, OFFICER, theft_fir()).ref
    handover = case_transfer.transfer_case(sender, OFFICER, fir, order())
    size = unit.ledger.size()

    # The order's words changed after signing: the leaf no longer matches its proof.
    signed = ledger_pb2.SignedEntry.FromString(handover.transfer.leaf)
    body = ledger_pb2.EntryBody.FromString(signed.body)
    body.case_event.transfer.ordered_by = "Someone else"
    signed.body = body.SerializeToString(deterministic=True)
    forged = federation_pb2.CaseHandover()
    forged.CopyFrom(handover)
    forged.transfer.leaf = signed.SerializeToString(deterministic=True)
    with pytest.raises(VerificationError):
        case_transfer.accept_case(unit, CB_OFFICER, forged, *keys(sender))

    # A proof of another entry, a key that is not the sender's, a hand-over for another unit.
    swapped = federation_pb2.CaseHandover()
    swapped.CopyFrom(handover)
    swapped.transfer.CopyFrom(handover.fir)
    with pytest.raises(VerificationError):
        case_transfer.accept_case(unit, CB_OFFICER, swapped, *keys(sender))
    with pytest.raises(VerificationError):
        case_transfer.accept_case(unit, CB_OFFICER, handover, unit.ledger.public_key, SENDER)
    other = registers.register_fir(sender, OFFICER, theft_fir()).ref
    elsewhere = case_transfer.transfer_case(
        sender, OFFICER, other, order(to_node_id="kerala/cyber/ps-cyber-kochi")
    )
    with pytest.raises(InputError, match="not to this unit"):
        case_transfer.accept_case(unit, CB_OFFICER, elsewhere, *keys(sender))
    assert unit.ledger.size() == size
    assert moved.cases_taken_over(unit.index) == []


def test_sections_altered_fir_entry_unchanged(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    index = station.index.lookups.record_index(fir)
    assert index is not None
    registered = station.ledger.leaf(index)
    today = ist_date(now_ms()).isoformat()
    change = records_pb2.SectionAlteration(
        added=[records_pb2.ActSection(act="BNS", section="309(4)")],
        dropped=[records_pb2.ActSection(act="BNS", section="303(2)")],
        reason="The motorcycle was snatched with force: robbery, not theft",
        court="JFCM Kalamassery",
        report_date=today,
        report_reference="Alteration report 14/2026",
    )
    refused(
        station,
        "not among the case's sections",
        case_transfer.alter_sections,
        IO,
        fir,
        records_pb2.SectionAlteration(
            dropped=[records_pb2.ActSection(act="BNS", section="64(1)")],
            reason="x", court="JFCM", report_date=today,
        ),
    )  # fmt: skip
    refused(
        station,
        "unknown|not found|no section|BNS 9999",
        case_transfer.alter_sections,
        IO,
        fir,
        records_pb2.SectionAlteration(
            added=[records_pb2.ActSection(act="BNS", section="9999")],
            reason="x", court="JFCM", report_date=today,
        ),
    )  # fmt: skip
    refused(
        station,
        "the court the alteration report went to",
        case_transfer.alter_sections,
        IO,
        fir,
        records_pb2.SectionAlteration(added=change.added, reason="x", report_date=today),
    )
    case_transfer.alter_sections(station, IO, fir, change)
    assert moved.current_sections(station.index, fir) == [("BNS", "309(4)")]
    assert moved.fir_sections(station.index, fir) == [("BNS", "303(2)")]
    assert station.ledger.leaf(index) == registered
    _, view = views.amended_view(station, fir)
    assert [s["section"] for s in view["sections"]] == ["303(2)"]
    # A second alteration applies after the first, in order.
    case_transfer.alter_sections(
        station,
        IO,
        fir,
        records_pb2.SectionAlteration(
            added=[records_pb2.ActSection(act="BNS", section="3(5)")],
            reason="Two accused acting in common intention",
            court="JFCM Kalamassery",
            report_date=today,
        ),
    )
    assert moved.current_sections(station.index, fir) == [("BNS", "309(4)"), ("BNS", "3(5)")]
    before = station.index.snapshot()
    station.rebuild_index()
    assert station.index.snapshot() == before


def test_altered_into_a_two_month_offence_starts_that_clock(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    assert not [d for d in investigation.due_now(station) if d.kind == "final_report"]
    case_transfer.alter_sections(
        station,
        IO,
        fir,
        records_pb2.SectionAlteration(
            added=[records_pb2.ActSection(act="BNS", section="64(1)")],
            reason="The victim's statement discloses rape",
            court="JFCM Kalamassery",
            report_date=ist_date(now_ms()).isoformat(),
        ),
    )
    due = [d for d in investigation.due_now(station, now=now_ms() + 55 * DAY_MS)]
    assert [d.fir_number for d in due if d.kind == "final_report"] == [fir]


def _remand(
    station: Station, fir: str, kind: str, at: int, days: float, code: str = "A1"
) -> records_pb2.CustodyOrder:
    return records_pb2.CustodyOrder(
        accused_code=code, order=kind, court="JFCM Kalamassery", until_ms=int(at + days * DAY_MS)
    )


def test_police_custody_only_in_the_first_40_days(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    now = now_ms()
    casework.arrest(station, IO, fir, [accused("A1", "Manoj P")], memo(), at_ms=now - 50 * DAY_MS)
    first = now - 50 * DAY_MS + 20 * 60 * 60 * 1000
    casework.order_custody(
        station, IO, fir, _remand(station, fir, "judicial_custody", first, 14), at_ms=first
    )
    refused(
        station,
        r"only within the first 40 days from A1's first remand .*BNSS s.187\(2\)",
        casework.order_custody,
        IO,
        fir,
        _remand(station, fir, "police_custody", now, 3),
        at_ms=now,
    )
    # Within the window, a police custody ending after day 40 is refused too; one inside it
    # is recorded.
    day_35 = first + 35 * DAY_MS
    refused(
        station,
        "only within the first 40 days",
        casework.order_custody,
        IO,
        fir,
        _remand(station, fir, "police_custody", day_35, 7),
        at_ms=day_35,
    )
    casework.order_custody(
        station, IO, fir, _remand(station, fir, "police_custody", day_35, 4), at_ms=day_35
    )


def test_police_custody_at_most_15_days_in_all(station: Station) -> None:
    fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    now = now_ms()
    start = now - 20 * DAY_MS
    casework.arrest(station, IO, fir, [accused("A1", "Manoj P")], memo(), at_ms=start)
    casework.order_custody(
        station, IO, fir, _remand(station, fir, "police_custody", start, 10), at_ms=start
    )
    casework.order_custody(
        station,
        IO,
        fir,
        _remand(station, fir, "judicial_custody", start + 10 * DAY_MS, 10),
        at_ms=start + 10 * DAY_MS,
    )
    refused(
        station,
        r"A1 has had 10 days of police custody .* at most 15 days in all.* 5 days remain",
        casework.order_custody,
        IO,
        fir,
        _remand(station, fir, "police_custody", now, 6),
        at_ms=now,
    )
    casework.order_custody(station, IO, fir, _remand(station, fir, "police_custody", now, 5))
