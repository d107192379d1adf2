"""The periodic reports (node/station/periodic_reports.py) over a real station (RocksDB ledger,
SQLite index) with planted cases: thefts and a robbery over two years, an arrest remanded, a
seizure, a charge sheet, a missing person and a GD entry; the daily and monthly numbers are
exactly those planted, pending cases fall in their age bands, and the ad hoc builder counts per
group."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from ledger.errors import InputError
from node.config import DataDir
from node.index.aggregate.index import AggregateIndex
from node.index.record_index import IndexedEntry
from node.records.validation import DAY_MS, IST, utc_ms
from node.station import casework, investigation, registers
from node.station import periodic_reports as pr
from node.station.core import Station
from protos import records_pb2
from tests.node.support import station_clock_at, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
IO = "PEN300001"
HOUR = 60 * 60 * 1000


@dataclass
class Planted:
    """What `plant` wrote: the day of the month reviewed, and the FIRs by name."""

    day: date  # the 10th of the month two months back
    year: int
    month: int
    times: dict[str, datetime]  # FIR name -> registered (IST)
    numbers: dict[str, str]  # FIR name -> FIR number
    heads: dict[str, str]  # FIR name -> crime head


def _fir(station: Station, when: datetime, section: str) -> str:
    fir = theft_fir(when)
    fir.sections[0].section = section
    with station_clock_at(station, utc_ms(when)):
        return registers.register_fir(station, OFFICER, fir).ref


def plant(station: Station) -> Planted:
    """Six FIRs: a theft 400 days before the day, a theft the same day last year, a robbery
    200 days before; on the day two thefts (a, b) and a robbery (c). On the day: A1 of theft a
    arrested and remanded, a phone of Rs 12,000 seized in theft b, a missing person reported,
    a GD entry; the next day theft a charge-sheeted and an IO assigned to theft b."""
    today = datetime.now(IST).date()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    first = (first - timedelta(days=1)).replace(day=1)
    day = first.replace(day=10)
    at = datetime.combine(day, time(11), IST)
    times = {
        "old": at - timedelta(days=400),
        "last_year": at.replace(year=at.year - 1),
        "robbery_old": at - timedelta(days=200),
        "a": at,
        "b": at + timedelta(minutes=5),
        "c": at + timedelta(minutes=10),
    }
    sections = {"robbery_old": "309(4)", "c": "309(4)"}
    numbers = {
        name: _fir(station, when, sections.get(name, "303(2)")) for name, when in times.items()
    }
    base = utc_ms(at)
    with station_clock_at(station, base + HOUR):
        casework.arrest(
            station, IO, numbers["a"],
            [records_pb2.PersonInCase(
                person=records_pb2.Person(name="Manoj P", age=29, sex="M"), accused_code="A1")],
            records_pb2.ArrestMemo(
                place="His house", grounds="Named by the complainant",
                attesting_witness="Ramesh K", informed_person="Shyla, wife",
                informed_at_ms=base + HOUR,
            ),
            at_ms=base + HOUR,
        )  # fmt: skip
    with station_clock_at(station, base + 2 * HOUR):
        casework.seize(
            station, IO, numbers["b"],
            [records_pb2.PropertyItem(category="mobile phone", description="Redmi 9",
                                      value_inr=12000)],
            records_pb2.Mahazar(place="Shed", witnesses=["Ramesh K"],
                                video_reference="VID/1"),
        )  # fmt: skip
    with station_clock_at(station, base + 3 * HOUR):
        casework.order_custody(
            station, IO, numbers["a"],
            records_pb2.CustodyOrder(accused_code="A1", order="judicial_custody",
                                     court="JFCM Kalamassery", until_ms=base + 10 * DAY_MS),
        )  # fmt: skip
    with station_clock_at(station, base + 4 * HOUR):
        registers.receive_petition(
            station, OFFICER,
            records_pb2.Petition(
                subject="Missing since Sunday", category="missing_person",
                petitioner=records_pb2.Person(name="Leela Menon", mobile="9847000001"),
                respondents=[records_pb2.PersonInCase(
                    person=records_pb2.Person(name="Anju", age=19, sex="F"),
                    role=records_pb2.MISSING)],
            ),
        )  # fmt: skip
        registers.write_gd(station, OFFICER, "information", "Night patrol left at 22:00")
    with station_clock_at(station, base + DAY_MS):
        casework.record_case_event(
            station, IO, numbers["a"], "final_report", report_type="charge_sheet",
            sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        )  # fmt: skip
        casework.assign_io(station, OFFICER, numbers["b"], "PEN300009")
    heads = {"old": "Theft", "last_year": "Theft", "robbery_old": "Robbery"}
    heads.update(a="Theft", b="Theft", c="Robbery")
    return Planted(day, day.year, day.month, times, numbers, heads)


@pytest.fixture(scope="module")
def planted_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Station, Planted]]:
    data_dir = DataDir(tmp_path_factory.mktemp("reports") / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    planted = plant(station)
    yield station, planted
    station.close()


def test_daily_situation_counts_the_day_as_planted(
    planted_station: tuple[Station, Planted],
) -> None:
    station, p = planted_station
    report = pr.daily_situation(station, p.day)
    assert [(h.head, h.numbers) for h in report.firs_by_head] == [
        ("Theft", (p.numbers["a"], p.numbers["b"])),
        ("Robbery", (p.numbers["c"],)),
    ]
    assert report.firs == 3
    assert (report.arrests, report.notices, report.produced, report.remanded) == (1, 0, 1, 1)
    assert (report.seizures, report.seized_value_inr) == (1, 12000)
    assert report.missing_reported == 1
    # The GD: the three FIRs' own entries and the patrol's.
    assert report.gd_entries == 4
    overdue = [d for d in investigation.due_now(station) if d.overdue]
    assert overdue and list(report.overdue) == overdue
    assert report.as_dict()["firs_by_head"][0]["fir_numbers"] == [p.numbers["a"], p.numbers["b"]]
    # The day before holds nothing.
    quiet = pr.daily_situation(station, p.day - timedelta(days=1))
    assert (quiet.firs, quiet.arrests, quiet.seizures, quiet.gd_entries) == (0, 0, 0, 0)


def _expected_heads(p: Planted) -> dict[str, tuple[int, int, int, int]]:
    """Per head: this month, the same month last year, year to date, the same last year."""
    out: dict[str, list[int]] = {}
    for name, when in p.times.items():
        counts = out.setdefault(p.heads[name], [0, 0, 0, 0])
        counts[0] += (when.year, when.month) == (p.year, p.month)
        counts[1] += (when.year, when.month) == (p.year - 1, p.month)
        counts[2] += when.year == p.year and when.month <= p.month
        counts[3] += when.year == p.year - 1 and when.month <= p.month
    return {head: (c[0], c[1], c[2], c[3]) for head, c in out.items() if any(c)}


def test_monthly_review_numbers_as_planted(planted_station: tuple[Station, Planted]) -> None:
    station, p = planted_station
    review = pr.monthly_review(station, p.year, p.month)
    got = {
        h.head: (h.month, h.month_last_year, h.year_to_date, h.year_to_date_last_year)
        for h in review.heads
    }
    assert got == _expected_heads(p)
    assert got["Theft"][:2] == (2, 1) and got["Robbery"][0] == 1
    assert review.registered == 3
    assert (review.charge_sheeted, review.closed, review.detected_of_registered) == (1, 0, 1)
    assert (review.arrests, review.seized_items, review.seized_value_inr) == (1, 1, 12000)
    # As of the month's end: b and c (21 days or so), the robbery of 200 days, and the two
    # thefts of a year and more; a is charge-sheeted.
    assert dict(review.pending_by_age) == {"0-30": 2, "31-90": 0, "91-365": 1, ">365": 2}
    assert review.pending == 5
    # The month before the charge sheet: the review of last year's month has it pending.
    before = pr.monthly_review(station, p.year - 1, p.month)
    assert before.charge_sheeted == 0 and before.registered == 1


def test_sum_of_station_reviews_is_the_district_review(
    planted_station: tuple[Station, Planted],
) -> None:
    station, p = planted_station
    one = pr.monthly_review(station, p.year, p.month)
    total = pr.sum_reviews([one, one], "Ernakulam City")
    assert total.registered == 2 * one.registered
    assert dict(total.pending_by_age) == {k: 2 * n for k, n in one.pending_by_age}
    assert (total.arrests, total.offices) == (2, ("Kalamassery", "Kalamassery"))
    with pytest.raises(InputError):
        pr.sum_reviews([], "none")


def test_adhoc_counts_per_group(planted_station: tuple[Station, Planted]) -> None:
    station, p = planted_station
    period = pr.adhoc_period((p.day - timedelta(days=500)).isoformat(), p.day.isoformat())
    nothing = pr.AdhocFilters()
    by_head = pr.adhoc(station.index, nothing, "crime_head", period)
    assert by_head.groups == (("Theft", 4), ("Robbery", 2))
    by_status = pr.adhoc(station.index, nothing, "status", period)
    assert by_status.groups == (("pending", 5), ("charge_sheet", 1))
    by_io = pr.adhoc(station.index, pr.AdhocFilters(crime_head="Theft"), "io", period)
    assert by_io.groups == (("(none)", 3), ("PEN300009", 1))
    robbery = pr.adhoc(station.index, pr.AdhocFilters(section="BNS 309(4)"), "month", period)
    months = sorted(f"{p.times[n]:%Y-%m}" for n in ("robbery_old", "c"))
    assert [g for g, _ in robbery.groups] == months and robbery.total == 2
    pending_thefts = pr.AdhocFilters(crime_head="Theft", status="pending", section="bns")
    assert pr.adhoc(station.index, pending_thefts, "crime_head", period).total == 3
    with pytest.raises(InputError, match="group by"):
        pr.adhoc(station.index, nothing, "colour", period)
    with pytest.raises(InputError, match="status"):
        pr.adhoc(station.index, pr.AdhocFilters(status="solved"), "month", period)
    with pytest.raises(InputError, match="before it begins"):
        pr.adhoc_period("2026-02-01", "2026-01-01")


def test_district_review_from_the_aggregate_index(
    planted_station: tuple[Station, Planted], tmp_path: Path
) -> None:
    """A district node's aggregate index holds each station's FIRs and final reports: its
    review of a station equals the station's own, but for arrests and seizures (not held)."""
    station, p = planted_station
    aggregate = AggregateIndex(f"sqlite:///{tmp_path / 'aggregate.sqlite3'}")
    try:
        bodies = [IndexedEntry(i, body) for i, body in station.ledger.bodies()]
        aggregate.apply({ORIGIN: bodies})
        own = pr.monthly_review(station, p.year, p.month)
        district = pr.district_review(aggregate, p.year, p.month, scope="Ernakulam City")
        (office,) = district.offices
        assert office.scope == ORIGIN
        for review in (office, district.total):
            assert review.heads == own.heads
            assert review.pending_by_age == own.pending_by_age
            assert (review.charge_sheeted, review.detected_of_registered) == (1, 1)
            assert (review.arrests, review.seized_items, review.seized_value_inr) == (
                None, None, None,
            )  # fmt: skip
        assert district.total.scope == "Ernakulam City"
    finally:
        aggregate.close()
