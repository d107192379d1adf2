"""The history-sheet register in Chromium, against a real node process: an SHO opens a suspect's
sheet through /history-sheets (reached from the navigation), retains it on review and closes it
on a gazetted officer's order (the sheet stays listed, closed), finds the person by a misspelt
name on the search page, and reads the register in Malayalam. With CCTNS_SCREENSHOTS set, the
pages are kept as screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
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
    with running_node(tmp_path_factory.mktemp("history-browser"), records=0) as running:
        yield running


def _login(page: Any, node: WebNode) -> None:
    sign_in(page, node.base_url, node.new_officer(role="sho", sex="F", name="Anitha Kumari"))


def test_history_sheets_in_the_browser(browser: Any, node: WebNode) -> None:
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _login(page, node)
    page.click("header nav a[href='/history-sheets']")
    today = datetime.now(IST).date().isoformat()
    form = "#form-history-open"
    page.fill(f"{form} input[name='name']", "Sudheesh Kumar")
    page.select_option(f"{form} select[name='relation']", "S/o")
    page.fill(f"{form} input[name='relative_name']", "Gopalan")
    page.fill(f"{form} input[name='age']", "34")
    page.fill(f"{form} input[name='address']", "Puthenpurayil House, HMT Colony")
    page.fill(f"{form} textarea[name='aliases']", "Kallan Sudhi")
    page.select_option(f"{form} select[name='category']", "suspect")
    page.fill(f"{form} textarea[name='grounds']", "Seen at three house-breakings by night.")
    page.fill(f"{form} input[name='ordered_by']", "PEN900001")
    page.select_option(f"{form} select[name='ordered_by_rank']", "sdpo")
    page.fill(f"{form} input[name='order_reference']", "No. 12/HS/2026")
    page.fill(f"{form} input[name='order_date']", today)
    page.select_option(f"{form} select[name='time_of_day']", "night")
    page.select_option(f"{form} select[name='entry_method']", "window_grill_removed")
    page.check(f"{form} input[name='taken_gold_ornaments']")
    submit(page, form)
    register = page.inner_text("#history-register")
    assert "Sudheesh Kumar" in register and "Kallan Sudhi" in register, register
    assert "Window grill removed" in register and "Open" in register
    screenshot(page, "history-sheets")

    row = "#history-register tbody tr"
    page.select_option(f"{row} select[name='action']", "close")
    page.fill(f"{row} input[name='ordered_by']", "PEN420001")
    page.select_option(f"{row} select[name='ordered_by_rank']", "sdpo")
    page.fill(f"{row} input[name='order_reference']", "No. 3/SDPO")
    page.fill(f"{row} input[name='order_date']", today)
    page.fill(f"{row} input[name='text']", "Still active in the area.")
    page.select_option(f"{row} select[name='action']", "review")
    submit(page, row)
    assert "Retained on review" in page.inner_text("#history-register")
    page.select_option(f"{row} select[name='action']", "close")
    page.fill(f"{row} input[name='ordered_by']", "PEN900001")
    page.select_option(f"{row} select[name='ordered_by_rank']", "sp")
    page.fill(f"{row} input[name='order_reference']", "No. 9/HS/2026")
    page.fill(f"{row} input[name='order_date']", today)
    page.fill(f"{row} input[name='text']", "Left the State.")
    submit(page, row)
    register = page.inner_text("#history-register")
    assert "Closed" in register and "Left the State." in register, register

    page.goto(f"{node.base_url}/search?q=Sudeesh+Kumar&kind=history")
    found = page.inner_text("main")
    assert "Sudheesh Kumar" in found and "closed" in found, found
    screenshot(page, "search-history")

    with page.expect_navigation():
        page.click("a[href^='/lang/ml']")
    page.goto(f"{node.base_url}/history-sheets")
    assert len(MALAYALAM.findall(page.inner_text("h1"))) > 3
    assert "സംശയിക്കപ്പെടുന്നയാൾ" in page.inner_text("#history-register")
    screenshot(page, "history-sheets-ml")
    context.close()
