"""The dashboards (`node.web.pages.dashboard`) over a real seeded station, signed in through
/login and /login/totp: who may see them, the SVG charts, the CSV downloads, and the figures
against the records."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.log import now_ms
from node.config import DataDir
from node.demo.seed import seed_station
from node.index import reports
from node.index.aggregate.index import AggregateIndex
from node.index.record_index import IndexedEntry
from node.records.validation import IST, utc_ms
from node.station import casework, registers
from node.station.core import Station
from node.web.app import create_app
from node.web.auth import Accounts
from node.web.deps import WebContext
from node.web.pages.dashboard import _by_office, _sources
from protos import records_pb2
from tests.web.support import Node, TestClient, login, make_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = make_node(tmp_path_factory.mktemp("dashboard"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN300001", "sho")


def test_dashboard_needs_a_signed_in_officer(node: Node) -> None:
    client = TestClient(node.app)
    for path in ("/dashboard", "/dashboard/crime-heads.csv", "/dashboard/overdue.csv"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path


def test_dashboard_refuses_a_role_without_it(node: Node) -> None:
    writer = login(node, "PEN300002", "gd_writer")
    assert writer.get("/dashboard").status_code == 403
    assert writer.get("/dashboard/trend.csv").status_code == 403


def test_dashboard_refuses_another_stations_officer(node: Node) -> None:
    stranger = login(node, "PEN300003", "sho", station_node_id="kerala/thrissur-city/ps-ollur")
    assert stranger.get("/dashboard").status_code == 403
    assert stranger.get("/dashboard/crime-heads.csv").status_code == 403


def test_dashboard_shows_the_charts_and_the_notes(node: Node, sho: TestClient) -> None:
    page = sho.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") == 3  # crime heads, trend, pending by age
    assert "<polyline" in page.text
    for head in reports.crime_head_counts(node.station.index)[:3]:
        assert head[0] in page.text
    assert "No charge sheets recorded yet." in page.text
    assert "no final report (charge sheet or closure) recorded" in page.text
    assert "petitions received more than 14 days ago have no FIR" in page.text
    for chart in ("crime-heads", "trend", "pending", "charge-sheeting", "overdue"):
        assert f'href="/dashboard/{chart}.csv"' in page.text
    assert "<script" not in page.text.split("</head>", 1)[1]  # no script in the body
    malayalam = sho.get("/dashboard?lang=ml")
    assert "കുറ്റകൃത്യ വിഭാഗം അനുസരിച്ച് എഫ്.ഐ.ആറുകൾ" in malayalam.text


def _csv(client: TestClient, chart: str) -> list[list[str]]:
    response = client.get(f"/dashboard/{chart}.csv")
    assert response.status_code == 200, chart
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


def test_dashboard_csv_downloads_have_a_header_and_the_rows(node: Node, sho: TestClient) -> None:
    heads = _csv(sho, "crime-heads")
    assert heads[0] == ["crime_head", "firs"]
    counts = node.station.index.lookups.counts_by_crime_head()
    assert {row[0]: int(row[1]) for row in heads[1:]} == counts
    trend = _csv(sho, "trend")
    assert trend[0] == ["month", "firs_registered"]
    assert len(trend) == 13
    pending = _csv(sho, "pending")
    assert pending[0] == ["age_days", "pending_firs"]
    assert [row[0] for row in pending[1:]] == ["0-30", "31-90", "91-180", "181-365", ">365"]
    assert sum(int(row[1]) for row in pending[1:]) == sum(counts.values())
    charge = _csv(sho, "charge-sheeting")
    assert charge == [["firs", "charge_sheets", "rate"], [str(sum(counts.values())), "0", ""]]
    overdue = _csv(sho, "overdue")
    assert overdue[0] == ["receipt_number", "received_date", "days_waiting", "channel"]
    assert len(overdue) > 1
    # More than 14 days: 14 whole days and some hours count (days_waiting is whole days).
    assert all(int(row[2]) >= 14 for row in overdue[1:])
    assert sho.get("/dashboard/nothing.csv").status_code == 404


def test_dashboard_figures_match_the_records(node: Node) -> None:
    now = now_ms()
    trend = reports.monthly_trend(node.station.index, now)
    assert len(trend) == 12
    assert (
        trend[-1][1] >= 2
    )  # this month's include the fixture's two (its Zero FIR is not numbered here)
    pending = dict(reports.pending_by_age(node.station.index, now))
    assert sum(pending.values()) == sum(node.station.index.lookups.counts_by_crime_head().values())
    assert pending[">365"] > 0  # the seed spans 400 days
    total, rows = reports.overdue_petitions(node.station.index, now, limit=5)
    assert total >= len(rows) == 5
    assert [r.received_at_ms for r in rows] == sorted(r.received_at_ms for r in rows)
    # A petition received today is not overdue; FIR-less ones 15 days old are.
    assert all(r.days_waiting > reports.OVERDUE_DAYS for r in rows)


def test_charge_sheeting_rate_and_pending_follow_final_reports(tmp_path: Path) -> None:
    """A charge sheet recorded in a case moves it out of 'pending' and into the rate."""

    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin="cctns.in/kerala/ernakulam-city/ps-kalamassery")
    station = Station.open(data_dir)
    try:
        occurred = datetime.now(IST) - timedelta(days=3)
        fir = records_pb2.Fir(
            occurrence_from_ms=utc_ms(occurred),
            place_of_occurrence=records_pb2.Place(description="Market road"),
            sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
            brief_facts="Purse snatched at the market.",
            persons=[
                records_pb2.PersonInCase(
                    person=records_pb2.Person(name="Mini Joseph"), role=records_pb2.COMPLAINANT
                )
            ],
        )
        first = registers.register_fir(station, "PEN100001", fir).ref
        registers.register_fir(station, "PEN100001", fir)
        assert reports.charge_sheeting(station.index).charge_sheets == 0
        before = sum(
            count for _, count in reports.pending_by_age(station.index, utc_ms(datetime.now(IST)))
        )
        casework.assign_io(station, "PEN100001", first, "PEN100002")
        casework.record_case_event(
            station,
            "PEN100002",
            first,
            "final_report",
            text="Charge sheet filed against A1.",
            report_type="charge_sheet",
            sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        )
        rate = reports.charge_sheeting(station.index)
        assert (rate.firs, rate.charge_sheets, rate.rate) == (2, 1, 0.5)
        after = sum(
            count for _, count in reports.pending_by_age(station.index, utc_ms(datetime.now(IST)))
        )
        assert after == before - 1
    finally:
        station.close()


def test_dashboard_of_an_aggregating_node_covers_its_replicas(tmp_path: Path) -> None:
    """A district node's dashboard adds its verified replicas' figures (from its one index over
    them, node/index/aggregate) to its own."""
    origin = "cctns.in/kerala/ernakulam-city/ps-edappally"
    child_dir = DataDir(tmp_path / "child")
    child_dir.create(origin=origin)
    child = Station.open(child_dir)
    seed_station(child, 120, seed=3, show_progress=False)
    replica = AggregateIndex(f"sqlite:///{tmp_path / 'aggregate.sqlite3'}")
    replica.apply({origin: [IndexedEntry(i, body) for i, body in child.ledger.bodies()]})
    child_heads = dict(reports.crime_head_counts(child.index))
    child.close()

    district_dir = DataDir(tmp_path / "district")
    district_dir.create(origin="cctns.in/kerala/ernakulam-city/dpo", role="district")
    district = Station.open(district_dir)
    try:
        sources: list[reports.Source] = [district.index, replica]
        combined = dict(reports.combined(reports.crime_head_counts, sources))
        assert combined == child_heads and sum(combined.values()) > 0

        class Replicas:  # what the runtime hands the web: node.peers.replica_index
            aggregate = replica

            def held(self) -> bool:
                return True

        accounts = Accounts(f"sqlite:///{tmp_path / 'accounts.sqlite3'}")
        app = create_app(WebContext(station=district, accounts=accounts))
        app.state.context.replica_indexes = Replicas()

        class FakeRequest:  # only `.app` is read
            pass

        request = FakeRequest()
        request.app = app  # type: ignore[attr-defined]
        sources = _sources(request)  # type: ignore[arg-type]
        assert len(sources) == 2
        offices = dict(_by_office(request, sources))  # type: ignore[arg-type]
        assert offices == {
            "kerala/ernakulam-city/dpo": 0,
            "kerala/ernakulam-city/ps-edappally": sum(child_heads.values()),
        }
        accounts.close()
    finally:
        district.close()
        replica.close()
