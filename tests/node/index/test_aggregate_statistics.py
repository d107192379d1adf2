"""Crime in India tables from an aggregating node's index (node/index/aggregate/statistics.py),
on SQLite and on real PostgreSQL, against a hand-counted fixture: eight FIRs in three stations of
two states, one counted under its most serious of two offences, one moved to another head by an
alteration of its sections, one missing-person FIR left out, final reports and a conviction; the
trace from a table cell to its cases, each proved against its station's checkpoint; and five
FIRs of an earlier year of which three are road accidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from federation.logs import LedgerLogReader, proven_entry
from ledger.entry import parse_leaf
from ledger.errors import InputError
from ledger.proof import verify_log_checkpoint, verify_proven
from node.config import DataDir
from node.index.aggregate import statistics as stats
from node.index.aggregate.index import AggregateIndex
from node.records.laws import Statutes
from node.records.population import LAKH, shipped
from node.records.validation import IST, utc_ms
from node.station import casework, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import station_clock_at, theft_fir

OFFICER = "PEN100200"
KALAMASSERY = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OLLUR = "cctns.in/kerala/thrissur-city/ps-ollur"
EGMORE = "cctns.in/tamil-nadu/chennai/ps-egmore"
HEADS = Statutes.default()
THEFT = HEADS.crime_head([("BNS", "303(2)")])
MURDER = HEADS.crime_head([("BNS", "103(1)")])
ROBBERY = HEADS.crime_head([("BNS", "309(4)")])
NDPS = HEADS.crime_head([("NDPS", "20(b)(ii)(A)")])
YEAR = 2026
ACCIDENTS = 2024  # the road accidents of the fixture, apart from the crime tables' years


def at(month: int, day: int, year: int = YEAR) -> int:
    return utc_ms(datetime(year, month, day, 11, 0, tzinfo=IST))


def sections(*cited: tuple[str, str]) -> list[records_pb2.ActSection]:
    return [records_pb2.ActSection(act=a, section=s) for a, s in cited]


class Desk:
    """One station's officer, writing on given days."""

    def __init__(self, station: Station) -> None:
        self.station = station

    def fir(self, when: int, *cited: tuple[str, str]) -> str:
        fir = theft_fir(datetime.fromtimestamp(when / 1000, IST))
        del fir.sections[:]
        fir.sections.extend(sections(*cited))
        with station_clock_at(self.station, when):
            return registers.register_fir(self.station, OFFICER, fir).ref

    def accident(
        self,
        when: int,
        hour: int,
        *cited: tuple[str, str],
        victims: int = 1,
        vehicle: bool = True,
    ) -> str:
        """An FIR of `cited` that happened at `hour` (Indian time) on the day of `when`."""
        day = datetime.fromtimestamp(when / 1000, IST)
        fir = theft_fir(day)
        occurred = day.replace(hour=hour, minute=30)
        fir.occurrence_from_ms = fir.occurrence_to_ms = utc_ms(occurred)
        fir.information_received_ms = utc_ms(occurred) + 3_600_000
        del fir.sections[:]
        fir.sections.extend(sections(*cited))
        fir.brief_facts = "A motorcycle hit a pedestrian crossing the road near the junction."
        del fir.property[:]
        if vehicle:
            fir.property.add(
                category="vehicle",
                status=records_pb2.SEIZED,
                vehicle=records_pb2.Vehicle(registration="KL 7 CD 1234", vehicle_type="motorcycle"),
            )
        for n in range(victims):
            fir.persons.add(
                person=records_pb2.Person(name=f"Victim {n}", age=30 + n, sex="M"),
                role=records_pb2.VICTIM,
            )
        with station_clock_at(self.station, utc_ms(occurred) + 2 * 3_600_000):
            return registers.register_fir(self.station, OFFICER, fir).ref

    def missing_person(self, when: int) -> str:
        fir = theft_fir(datetime.fromtimestamp(when / 1000, IST))
        del fir.sections[:]
        del fir.property[:]
        fir.sections.extend(sections(("KPA", "57")))
        fir.brief_facts = "The informant's son, aged 17, has been missing since the evening."
        with station_clock_at(self.station, when):
            return registers.register_fir(self.station, OFFICER, fir).ref

    def event(self, when: int, fir: str, kind: str, **fields: object) -> None:
        with station_clock_at(self.station, when + 1000):
            casework.record_case_event(
                self.station,
                OFFICER,
                fir,
                kind,
                at_ms=when,
                **fields,  # type: ignore[arg-type]
            )


@pytest.fixture(scope="module")
def stations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Station]]:
    base = tmp_path_factory.mktemp("statistics")
    opened: dict[str, Station] = {}
    for origin, district, name in (
        (KALAMASSERY, "Ernakulam City", "Kalamassery"),
        (OLLUR, "Thrissur City", "Ollur"),
        (EGMORE, "Chennai", "Egmore"),
    ):
        data_dir = DataDir(base / name)
        data_dir.create(origin=origin, district=district, station=name)
        opened[origin] = Station.open(data_dir)

    a, b, c = (Desk(opened[o]) for o in (KALAMASSERY, OLLUR, EGMORE))
    # Road accidents, two years before: counted apart (see test_road_accidents).
    a.accident(at(8, 3, ACCIDENTS), 19, ("BNS", "281"), ("BNS", "106(1)"), victims=2)
    a.accident(at(9, 1, ACCIDENTS), 8, ("BNS", "281"), ("BNS", "125(b)"))
    a.accident(at(10, 1, ACCIDENTS), 8, ("BNS", "125(a)"))  # hurt, and a vehicle: an accident
    a.accident(at(11, 1, ACCIDENTS), 2, ("BNS", "106(1)"), vehicle=False)  # no vehicle: not road
    a.accident(at(12, 1, ACCIDENTS), 23, ("MVA", "185"))  # drunk driving alone: no accident
    f1 = a.fir(at(11, 20, YEAR - 1), ("BNS", "303(2)"))  # pending at the start of the year
    f2 = a.fir(at(1, 10), ("BNS", "303(2)"), ("BNS", "103(1)"))  # counted once, as murder
    a.fir(at(2, 3), ("BNS", "303(2)"))  # still pending at the end
    a.missing_person(at(2, 5))  # no crime: left out
    f5 = a.fir(at(3, 1), ("BNS", "303(2)"))
    registers.amend(a.station, OFFICER, f5, "robbery: force was used", {"sections": ["BNS:309(4)"]})
    a.event(at(2, 20), f1, "final_report", report_type="charge_sheet",
            sections=sections(("BNS", "303(2)")))  # fmt: skip
    a.event(at(4, 2), f2, "final_report", report_type="closure", text="Accused not traced.")
    b.fir(at(1, 15), ("NDPS", "20(b)(ii)(A)"))  # special law, pending
    f7 = b.fir(at(2, 1), ("BNS", "303(2)"))
    b.event(at(3, 1), f7, "final_report", report_type="charge_sheet",
            sections=sections(("BNS", "303(2)")))  # fmt: skip
    b.event(at(6, 9), f7, "court_progress", court="JFCM Ollur",
            outcome="Accused convicted u/s 303(2) BNS, fine Rs 5000")  # fmt: skip
    c.fir(at(5, 5), ("BNS", "303(2)"))
    yield opened
    for station in opened.values():
        station.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index(
    request: pytest.FixtureRequest, tmp_path: Path, stations: dict[str, Station]
) -> Iterator[AggregateIndex]:
    url = (
        f"sqlite:///{tmp_path / 'aggregate.sqlite3'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    opened = AggregateIndex(url)
    opened.catch_up(
        (s.config.origin, s.ledger.size(), s.ledger.store.entries) for s in stations.values()
    )
    yield opened
    opened.close()


def cells(table: stats.HeadTable) -> dict[tuple[str, str], int]:
    return {
        (area, row.head): count
        for row in table.rows
        for area, count in zip(table.areas, row.counts, strict=True)
        if count
    }


def test_cases_by_head_and_district_as_counted_by_hand(index: AggregateIndex) -> None:
    table = stats.crime_by_head(index, year=YEAR, state="kerala")
    assert table.scope == "Kerala"
    assert table.areas == ("Ernakulam City", "Thrissur City")
    assert cells(table) == {
        ("Ernakulam City", MURDER): 1,  # theft and murder: murder, once
        ("Ernakulam City", THEFT): 1,
        ("Ernakulam City", ROBBERY): 1,  # altered from theft
        ("Thrissur City", NDPS): 1,
        ("Thrissur City", THEFT): 1,
    }
    assert table.area_totals == (3, 2) and table.total == 5
    families = {row.head: row.family for row in table.rows}
    assert families[NDPS] == stats.SPECIAL_LOCAL and families[MURDER] == stats.PENAL
    assert [row.family for row in table.rows][-1] == stats.SPECIAL_LOCAL  # penal heads first
    assert stats.crime_by_head(index, year=YEAR - 1, state="kerala").total == 1


def test_india_by_state(index: AggregateIndex) -> None:
    table = stats.crime_by_head(index, year=YEAR)
    assert table.scope == "India" and table.areas == ("kerala", "tamil-nadu")
    assert table.area_totals == (5, 1)
    assert cells(table)[("tamil-nadu", THEFT)] == 1


def test_disposal_by_police_and_courts(index: AggregateIndex) -> None:
    rows = {r.area: r for r in stats.police_disposal(index, year=YEAR, state="kerala")}
    ernakulam, thrissur, total = rows["Ernakulam City"], rows["Thrissur City"], rows["Total"]
    # Pending from before the year: F1 and the five 2024 FIRs of the accident fixture.
    assert (ernakulam.pending_start, ernakulam.registered) == (6, 3)
    assert (ernakulam.charge_sheeted, ernakulam.closed, ernakulam.pending_end) == (1, 1, 7)
    assert (thrissur.pending_start, thrissur.registered) == (0, 2)
    assert (thrissur.charge_sheeted, thrissur.closed, thrissur.pending_end) == (1, 0, 1)
    assert total.for_investigation == 11 and total.pending_end == 8
    assert total.charge_sheeting_rate == pytest.approx(200 / 3)
    assert total.pendency_rate == pytest.approx(800 / 11)
    courts = {r.area: r for r in stats.court_disposal(index, year=YEAR, state="kerala")}
    assert courts["Thrissur City"].outcomes["convicted"] == 1
    assert courts["Total"].conviction_rate == pytest.approx(100.0)
    assert "Ernakulam City" not in courts


def test_crime_rate_per_lakh_from_census_figures(index: AggregateIndex) -> None:
    kerala = shipped()["kerala"]
    rows = {r.area: r for r in stats.crime_rates(index, year=YEAR, state="kerala")}
    ernakulam = kerala.revenue_districts["Ernakulam"]
    assert rows["Ernakulam"].cases == 3 and rows["Ernakulam"].population == ernakulam
    assert rows["Ernakulam"].rate == pytest.approx(3 * LAKH / ernakulam)
    assert rows["Wayanad"].cases == 0 and rows["Wayanad"].rate == 0
    assert rows["Kerala"].rate == pytest.approx(5 * LAKH / kerala.total)
    # A state without shipped figures has its cases and no rate.
    tamil_nadu = stats.crime_rates(index, year=YEAR, state="tamil-nadu")
    assert tamil_nadu[-1].cases == 1 and tamil_nadu[-1].rate is None


def test_a_cell_traces_to_its_cases_each_proved(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    traced = stats.trace(index, year=YEAR, state="kerala", area="Ernakulam City", head=MURDER)
    assert len(traced) == 1
    case = traced[0]
    assert case.origin == KALAMASSERY and case.crime_head == MURDER
    station = stations[case.origin]
    proven = proven_entry(LedgerLogReader(station.ledger), case.index, station.ledger.size())
    checkpoint = verify_log_checkpoint(
        station.ledger.checkpoint(), keys=station.ledger.keys, origin=case.origin
    )
    verified = verify_proven(proven, checkpoint, keys=station.ledger.keys, origin=case.origin)
    fir = parse_leaf(proven.leaf).decode_body().fir
    assert verified.index == case.index
    assert {(s.act, s.section) for s in fir.sections} == {("BNS", "303(2)"), ("BNS", "103(1)")}
    # Every case behind the state's total, each once.
    everything = stats.trace(index, year=YEAR, state="kerala")
    assert len(everything) == 5 == len({(c.origin, c.index) for c in everything})
    assert {c.origin for c in stats.trace(index, year=YEAR, area="tamil-nadu")} == {EGMORE}


def test_every_disposal_figure_traces_to_as_many_cases(index: AggregateIndex) -> None:
    """Each cell of disposal by police and by courts lists exactly the cases it counts."""
    police = stats.police_disposal(index, year=YEAR, state="kerala")
    for row in police:
        area = None if row.area == "Total" else row.area
        for column in stats.DISPOSAL_COLUMNS:
            traced = stats.trace(index, year=YEAR, state="kerala", area=area, column=column)
            assert len(traced) == getattr(row, column), (row.area, column)
            assert len({(c.origin, c.index) for c in traced}) == len(traced)
    charged = stats.trace(
        index, year=YEAR, state="kerala", area="Ernakulam City", column="charge_sheeted"
    )
    # F1, from last year (the station's clock runs on from the time it was set to: a loaded
    # machine registered it a millisecond or more later)
    [f1] = charged
    assert 0 <= f1.registered_at_ms - at(11, 20, YEAR - 1) < 60_000
    [closed] = stats.trace(index, year=YEAR, state="kerala", column="closed")
    assert closed.crime_head == MURDER  # F2, closed as not traced
    courts = stats.court_disposal(index, year=YEAR, state="kerala")
    for row in courts:
        area = None if row.area == "Total" else row.area
        for outcome in stats.COURT_OUTCOMES:
            traced = stats.trace(index, year=YEAR, state="kerala", area=area, column=outcome)
            assert len(traced) == row.outcomes[outcome], (row.area, outcome)
    [convicted] = stats.trace(index, year=YEAR, state="kerala", column="convicted")
    assert convicted.origin == OLLUR and convicted.district == "Thrissur City"
    # India's disposal by state traces the same way.
    india = {r.area: r for r in stats.police_disposal(index, year=YEAR)}
    egmore = stats.trace(index, year=YEAR, area="tamil-nadu", column="pending_end")
    assert len(egmore) == india["tamil-nadu"].pending_end == 1
    with pytest.raises(InputError, match="not one of"):
        stats.trace(index, year=YEAR, state="kerala", column="arrested")


def test_road_accidents_by_severity_time_and_vehicle(index: AggregateIndex) -> None:
    tables = stats.road_accidents(index, year=ACCIDENTS, state="kerala")
    # Three road accidents; death by negligence without a vehicle and drunk driving alone
    # are not.
    assert len(tables.accidents) == 3
    ((area, row),) = tables.by("area")
    assert area == "Ernakulam City"
    assert (row[stats.FATAL], row[stats.GRIEVOUS], row[stats.INJURY]) == (1, 1, 1)
    assert row["killed"] == 2
    slots = dict(tables.by("slot"))
    assert slots["18:00-21:00"][stats.FATAL] == 1
    assert slots["06:00-09:00"][stats.GRIEVOUS] == 1 and slots["06:00-09:00"][stats.INJURY] == 1
    assert list(slots) == [s for s in stats.TIME_SLOTS if s in slots]  # in the day's order
    vehicles = dict(tables.by("vehicle"))
    assert sum(vehicles["motorcycle"][s] for s in stats.SEVERITIES) == 3
    assert {a.case.origin for a in tables.accidents} == {KALAMASSERY}
    assert stats.road_accidents(index, year=YEAR, state="kerala").accidents == ()
