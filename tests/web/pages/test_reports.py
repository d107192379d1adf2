"""The periodic reports' pages (node/web/pages/reports.py) over a real station with planted
cases (tests/node/station/test_periodic_reports.py), signed in through /login: who may see
them, the numbers as planted, the chart, the builder's counts, the CSV downloads, Malayalam."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from node.records.validation import ist_date
from node.station import registers
from node.web.i18n import Translator
from tests.node.station.test_periodic_reports import Planted, plant
from tests.node.support import theft_fir
from tests.web.support import Node, TestClient, login, open_kalamassery, web_node


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Planted]]:
    tmp = tmp_path_factory.mktemp("reports-web")
    station = open_kalamassery(tmp)
    p = plant(station)
    node = web_node(tmp, station, translator=Translator())
    yield node, p
    node.close()


@pytest.fixture(scope="module")
def sho(planted: tuple[Node, Planted]) -> TestClient:
    return login(planted[0], "PEN300001", "sho")


def _cell(html: str, cell_id: str) -> str:
    found = re.search(rf'<td id="{cell_id}">([^<]*)</td>', html)
    assert found, cell_id
    return found.group(1)


def test_reports_need_the_dashboard_permission(planted: tuple[Node, Planted]) -> None:
    node, _ = planted
    for path in ("/reports/daily", "/reports/monthly", "/reports/adhoc", "/reports/adhoc.csv"):
        response = TestClient(node.app).get(path, follow_redirects=False)
        assert response.status_code == 303, path
    writer = login(node, "PEN300002", "gd_writer")
    assert writer.get("/reports/monthly").status_code == 403


def test_daily_page_shows_the_day(sho: TestClient, planted: tuple[Node, Planted]) -> None:
    _, p = planted
    response = sho.get(f"/reports/daily?day={p.day}")
    assert response.status_code == 200
    html = response.text
    firs = html.split('id="firs"', 1)[1].split("</section>", 1)[0]
    for name in ("a", "b", "c"):
        assert p.numbers[name] in firs
    assert p.numbers["old"] not in firs  # listed among the overdue, not the day's FIRs
    assert (_cell(html, "arrests"), _cell(html, "remanded"), _cell(html, "seized-value")) == (
        "1", "1", "12,000",
    )  # fmt: skip
    assert _cell(html, "missing") == "1"
    rows = list(csv.reader(io.StringIO(sho.get(f"/reports/daily.csv?day={p.day}").text)))
    assert ["Arrests", "1"] in rows and ["FIRs registered", "3"] in rows
    assert sho.get("/reports/daily?day=yesterday").status_code == 400


def test_monthly_page_has_the_chart_and_the_numbers(
    sho: TestClient, planted: tuple[Node, Planted]
) -> None:
    _, p = planted
    query = urlencode({"year": p.year, "month": p.month})
    html = sho.get(f"/reports/monthly?{query}").text
    assert "<svg" in html and "Theft" in html and "Robbery" in html
    assert (_cell(html, "charge-sheeted"), _cell(html, "detected"), _cell(html, "arrests")) == (
        "1", "1", "1",
    )  # fmt: skip
    response = sho.get(f"/reports/monthly.csv?{query}")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "Crime head" and ["Pending >365 days", "2", "", "", ""] in rows
    ml = sho.get(f"/reports/monthly?{query}&lang=ml").text
    assert "പ്രതിമാസ കുറ്റകൃത്യ അവലോകനം" in ml
    assert sho.get("/reports/monthly?month=13").status_code == 400


def test_adhoc_builder_counts_and_downloads(sho: TestClient, planted: tuple[Node, Planted]) -> None:
    _, p = planted
    query = urlencode(
        {
            "from": str(p.day - timedelta(days=500)),
            "to": str(p.day),
            "group_by": "crime_head",
            "status": "pending",
        }
    )
    html = sho.get(f"/reports/adhoc?{query}").text
    assert 'id="builder"' in html and "5 FIRs" in html
    rows = list(csv.reader(io.StringIO(sho.get(f"/reports/adhoc.csv?{query}").text)))
    assert rows == [["crime_head", "cases"], ["Theft", "3"], ["Robbery", "2"], ["Total", "5"]]
    assert sho.get("/reports/adhoc?group_by=colour").status_code == 400
    # Filters nothing matches: the builder says so of the filters, not "No FIRs recorded yet."
    none = sho.get(f"/reports/adhoc?{query}&crime_head=Arson").text
    assert "No FIR matches these filters in this period." in none
    assert "No FIRs recorded yet." not in none


def test_daily_page_says_what_is_empty_rightly(tmp_path: Path) -> None:
    """A station with one FIR, registered today, and nothing overdue: the overdue section says
    nothing is overdue (it said "No FIRs recorded yet.", with an FIR on the page above it), and
    a day without FIRs says so of that day, in English and in Malayalam."""
    station = open_kalamassery(tmp_path)
    node = web_node(tmp_path, station, translator=Translator())
    try:
        number = registers.register_fir(station, "PEN300001", theft_fir()).ref
        today = ist_date(station.now())
        sho = login(node, "PEN300001", "sho")
        html = sho.get(f"/reports/daily?day={today}").text
        firs = html.split('id="firs"', 1)[1].split("</section>", 1)[0]
        overdue = html.split('id="overdue"', 1)[1].split("</section>", 1)[0]
        assert number in firs
        assert "Overdue now: 0" in overdue
        assert "No FIRs recorded yet." not in html
        assert "Nothing is overdue." in overdue
        earlier = sho.get(f"/reports/daily?day={today - timedelta(days=3)}").text
        assert "No FIRs recorded yet." not in earlier
        assert "No FIR was registered on this day." in earlier.split('id="firs"', 1)[1]
        ml = sho.get(f"/reports/daily?day={today}&lang=ml").text
        assert "കാലാവധി കഴിഞ്ഞതായി ഒന്നുമില്ല." in ml.split('id="overdue"', 1)[1]
    finally:
        node.close()
