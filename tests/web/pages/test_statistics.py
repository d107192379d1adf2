"""The statistics pages of an aggregating node (node/web/pages/statistics.py): a district office
holding verified replicas of two stations (real RocksDB replica stores, replicated in-process
with the real follower) shows the Crime in India table, each count opens its cases, each case
is checked against its station's log; a station without replicas says it has none."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from federation.replicas import ReplicaSet
from node.config import DataDir
from node.peers.replica_index import ReplicaIndexes
from node.station.core import Station
from node.web.app import create_app
from node.web.auth import Accounts
from node.web.deps import WebContext
from tests.node.peers.district import DISTRICT, MURDER, STATIONS, THEFT, YEAR, build_district
from tests.web.support import FAST, Clock, TestClient, sign_in


@pytest.fixture
def district(tmp_path: Path) -> Iterator[Any]:
    """The district's web app (signed in as its supervisor) and the stations it replicates."""
    built = build_district(tmp_path)
    clock = Clock()
    accounts = Accounts(f"sqlite:///{tmp_path / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    app = create_app(
        WebContext(station=built.station, accounts=accounts, replica_indexes=built.indexes)
    )
    client = sign_in(
        accounts,
        clock,
        app,
        "PEN900100",
        "district_supervisor",
        station_node_id=DISTRICT.split("/", 1)[1],
        jurisdiction="kerala/ernakulam-city",
    )
    yield client, built.children
    accounts.close()
    built.close()


def test_the_table_counts_each_case_once_and_opens_its_cases(district: Any) -> None:
    client, children = district
    page = client.get(f"/statistics?year={YEAR}&state=kerala")
    assert page.status_code == 200, page.text
    assert "Ernakulam City" in page.text and MURDER in page.text
    # The map of Kerala: Ernakulam's rate per lakh drawn, districts without cases at 0.
    assert 'id="map"' in page.text and 'data-region="Ernakulam"' in page.text
    assert 'id="road-accidents"' in page.text
    assert "From the verified replicas of 2 offices." in page.text  # and as of when
    assert 'id="head-trend"' in page.text and "<polyline" in page.text
    india = client.get(f"/statistics?year={YEAR}&state=india")
    assert india.status_code == 200 and 'data-region="kerala"' in india.text
    table = client.get(f"/statistics/crime.csv?year={YEAR}&state=kerala")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == ["Crime head", "Law", "Ernakulam City", "Total"]
    counts = {row[0]: row[2:] for row in rows[1:]}
    # Two stations, each one theft and one theft-and-murder counted as murder.
    assert counts[MURDER] == ["2", "2"] and counts[THEFT] == ["2", "2"]
    assert counts["Total"] == ["4", "4"]

    cases = client.get(
        "/statistics/cases", params={"year": YEAR, "state": "kerala", "head": MURDER}
    )
    assert cases.status_code == 200
    links = [part.split('"')[0] for part in cases.text.split('href="/statistics/proof?')[1:]]
    assert len(links) == 2
    for station in children:
        assert station.config.origin in cases.text
    proof = client.get("/statistics/proof?" + links[0].replace("&amp;", "&"))
    assert proof.status_code == 200, proof.text
    assert 'id="proved"' in proof.text and "BNS 103(1)" in proof.text


def test_disposal_counts_open_their_cases(district: Any) -> None:
    client, _ = district
    page = client.get(f"/statistics?year={YEAR}&state=kerala")
    police = page.text.split('id="police-disposal"')[1].split("</section>")[0]
    links = [p.split('"')[0].replace("&amp;", "&") for p in police.split('href="/statistics/')[1:]]
    registered = [link for link in links if "column=registered" in link]
    assert registered and all(link.startswith("cases?") for link in links)
    # Four FIRs registered in the year, all still pending: each count lists as many cases.
    for link in registered:
        cases = client.get("/statistics/" + link)
        assert cases.status_code == 200
        assert cases.text.count('href="/statistics/proof?') == 4
        assert "Figure: Registered" in cases.text
    bad = client.get("/statistics/cases", params={"year": YEAR, "column": "arrested"})
    assert bad.status_code == 404 and "not one of" in bad.text


def test_a_proof_of_an_entry_beyond_the_replica_is_refused(district: Any) -> None:
    client, children = district
    origin = children[0].config.origin
    answer = client.get("/statistics/proof", params={"origin": origin, "index": 10_000})
    assert answer.status_code == 404
    unknown = client.get(
        "/statistics/proof", params={"origin": "cctns.in/kerala/x/ps-none", "index": 0}
    )
    assert unknown.status_code == 404


def test_a_station_without_replicas_has_no_statistics(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "station")
    origin = STATIONS[0][0]
    data_dir.create(origin=origin, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    clock = Clock()
    accounts = Accounts(f"sqlite:///{tmp_path / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    try:
        indexes = ReplicaIndexes(None)
        indexes.replicas = ReplicaSet(None)
        app = create_app(WebContext(station=station, accounts=accounts, replica_indexes=indexes))
        client: TestClient = sign_in(accounts, clock, app, "PEN900101", "sho")
        page = client.get("/statistics")
        assert page.status_code == 200 and 'id="no-replicas"' in page.text
    finally:
        accounts.close()
        station.close()
