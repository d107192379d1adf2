"""The beats and the duty roster in Chromium, against a real node process: an SHO defines two
beats through /beats, assigns a beat patrol through /duty (the datetime fields typed as a
browser sends them), sees it on the roster and in the workload panel, is refused an
overlapping duty with the station's message, cancels the patrol with a reason, and reads the
pages in Malayalam. With CCTNS_SCREENSHOTS set, the pages are kept as screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from node.records.validation import IST
from tests.web.browser import (
    WebNode,
    browser_fixture,  # noqa: F401  (the `browser` fixture)
    running_node,
    screenshot,
    sign_in,
    submit,
)

pytestmark = pytest.mark.slow  # a node process and a browser
MALAYALAM = re.compile(r"[\u0D00-\u0D7F]")
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    with running_node(tmp_path_factory.mktemp("duty-browser"), records=0) as running:
        yield running


def _login(page: Any, node: WebNode) -> None:
    sign_in(page, node.base_url, node.new_officer(role="sho", sex="F", name="Anitha Kumari"))


def test_duty_roster_in_the_browser(browser: Any, node: WebNode) -> None:
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _login(page, node)
    page.click("header nav a[href='/beats']")
    for code, name, places in (
        ("B1", "HMT Colony", "HMT Colony\nNorth Kalamassery"),
        ("B2", "Edappally", "Edappally\nPathadipalam"),
    ):
        page.fill("#beat-define input[name='code']", code)
        page.fill("#beat-define input[name='name']", name)
        page.fill("#beat-define textarea[name='localities']", places)
        submit(page, "#beat-define")
    assert "Pathadipalam" in page.inner_text("#beats")
    screenshot(page, "beats")

    start = datetime.now(IST).replace(second=0, microsecond=0) + timedelta(hours=1)
    page.click("header nav a[href='/duty']")
    page.goto(f"{node.base_url}/duty?day={start.date().isoformat()}")

    def assign(kind: str, beat: str, place: str = "") -> None:
        page.fill("#duty-assign input[name='officer_id']", "PEN430017")
        page.select_option("#duty-assign select[name='duty_kind']", kind)
        page.select_option("#duty-assign select[name='beat_code']", beat)
        page.fill("#duty-assign input[name='place']", place)
        page.fill("#duty-assign input[name='from_time']", start.strftime("%Y-%m-%dT%H:%M"))
        until = start + timedelta(hours=6)
        page.fill("#duty-assign input[name='to_time']", until.strftime("%Y-%m-%dT%H:%M"))
        submit(page, "#duty-assign")

    assign("beat_patrol", "B1")
    roster = page.inner_text("#duty-roster")
    assert "PEN430017" in roster and "Beat patrol" in roster, page.inner_text("main")[:2000]
    workload = page.locator("#duty-workload tr[data-beat='B1']").inner_text()
    assert "PEN430017" in workload
    assert "Not covered" in page.locator("#duty-workload tr[data-beat='B2']").inner_text()
    screenshot(page, "duty")
    assign("court_duty", "", "JFCM Kalamassery")
    assert "PEN430017 is already on beat patrol" in page.inner_text("body")
    page.goto(f"{node.base_url}/duty?day={start.date().isoformat()}")
    page.fill("#duty-roster input[name='reason']", "On leave")
    submit(page, "#duty-roster form")
    assert "On leave" in page.inner_text("#duty-roster")

    went = datetime.now(IST).replace(second=0, microsecond=0) - timedelta(hours=3)
    page.click("header nav a[href='/beat-book']")
    form = "#beat-book-new"
    page.select_option(f"{form} select[name='beat_code']", "B1")
    page.fill(f"{form} input[name='from_time']", went.strftime("%Y-%m-%dT%H:%M"))
    back = went + timedelta(hours=2)
    page.fill(f"{form} input[name='to_time']", back.strftime("%Y-%m-%dT%H:%M"))
    page.fill(
        f"{form} textarea[name='points']",
        f"{went:%H:%M} HMT Colony gate\n{went + timedelta(hours=1):%H:%M} North Kalamassery ATM",
    )
    page.fill(f"{form} textarea[name='observations']", "Street light near the ATM not working.")
    page.fill(f"{form} textarea[name='checks']", "Biju M; Bus shelter; Loitering, sent home")
    submit(page, form)
    book = page.inner_text("#beat-book")
    assert "North Kalamassery ATM" in book and "Biju M" in book, page.inner_text("main")[:2000]
    screenshot(page, "beat-book")

    with page.expect_navigation():
        page.click("a[href^='/lang/ml']")
    for path in ("/duty", "/beats", "/beat-book"):
        page.goto(f"{node.base_url}{path}")
        assert len(MALAYALAM.findall(page.inner_text("h1"))) > 3, path
        screenshot(page, f"{path.strip('/')}-ml")
    context.close()
