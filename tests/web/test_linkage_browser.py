"""One person across records in Chromium, against a real node process: an SHO reaches the pairs
to decide from the navigation, confirms the duplicate accused with a reason, sees both FIRs on
the person's profile, reverses the link there (a later entry), and reads the profile in
Malayalam. With CCTNS_SCREENSHOTS set, the pages are kept as screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from node.config import DataDir
from node.station import registers
from node.station.core import Station
from tests.node.support import accused_fir
from tests.web.browser import (
    WebNode,
    browser_fixture,  # noqa: F401  (the `browser` fixture)
    create_station,
    screenshot,
    serve,
    sign_in,
    submit,
)

pytestmark = pytest.mark.slow  # a node process and a browser
MALAYALAM = re.compile(r"[\u0D00-\u0D7F]")
TIMEOUT_MS = 20_000


def _accused(station: Station, name: str, relative: str, age: int, address: str) -> str:
    fir = accused_fir(name, relative, age, address)
    return registers.register_fir(station, "PEN420001", fir).ref


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebNode, list[str]]]:
    path = create_station(tmp_path_factory.mktemp("linkage-browser") / "station", records=0)
    station = Station.open(DataDir(path))
    try:
        refs = [
            _accused(station, "Muhammed Shafi M.", "Shameer", 21, "Manzil House, Eloor"),
            _accused(station, "Mohammed Shafi", "Shamir", 22, "Manzil, Eloor P.O."),
        ]
    finally:
        station.close()
    with serve(path) as running:
        yield running, refs


def test_confirm_profile_and_reverse_in_the_browser(
    browser: Any, node: tuple[WebNode, list[str]]
) -> None:
    web, (first_ref, second_ref) = node
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, web.base_url, web.new_officer(role="sho", name="Anitha Kumari", sex="F"))
    page.click("header nav a[href='/persons/links']")
    proposal = "#proposals form[action='/persons/links/confirm']"
    page.fill(f"{proposal} input[name='reason']", "Same father and house; seen on CCTV")
    screenshot(page, "person-links")
    submit(page, proposal)
    assert page.locator("#saved").count() == 1
    with page.expect_navigation():
        page.click("#decisions a[href^='/persons/profile']")
    cases = page.inner_text("#cases")
    assert first_ref in cases and second_ref in cases
    assert "Mohammed Shafi" in page.inner_text("#names")
    screenshot(page, "person-profile")

    page.fill("#decisions form input[name='reason']", "Two cousins: checked at the house")
    submit(page, "#decisions form")
    assert "/persons/profile" in page.url
    shown = set(re.findall(r"FIR No\. \d+/\d+", page.inner_text("#cases")))
    assert len({first_ref, second_ref} & shown) == 1
    assert page.locator("#proposals form[action='/persons/links/confirm']").count() == 1

    page.goto(page.url + "&lang=ml")
    assert MALAYALAM.search(page.inner_text("h1"))
    context.close()
