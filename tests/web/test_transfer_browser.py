"""A case's sections altered and its investigation transferred from the case page in Chromium,
between two real node processes: the sending station's web UI (inside its node) calls the
receiving unit over gRPC with mutual TLS on loopback; the unit's "cases taken over" page lists
the case, and the unit writes a case diary day on its case page of it. With CCTNS_SCREENSHOTS
set, the pages are kept as screenshots (English, Malayalam)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from ledger.log import now_ms
from node.config import DataDir
from node.demo.federation import DEMO_PASSWORD, build, free_port
from node.records.validation import ist_date
from node.station import registers
from node.station.core import Station
from node.web.urls import ref_slug
from tests.node.support import theft_fir
from tests.processes import start_node, stop_node
from tests.web.browser import browser_fixture, screenshot  # noqa: F401  (the `browser` fixture)

pytestmark = pytest.mark.slow  # node processes and a browser
SENDER, RECEIVER = "kalamassery", "edappally"
RECEIVER_ID = "kerala/ernakulam-city/ps-edappally"
TIMEOUT_MS = 30_000


def _serve(base: Path, name: str, port: int) -> subprocess.Popen[bytes]:
    process, _ = start_node(
        "node", "serve", "--data-dir", str(base / name), "--http", f"127.0.0.1:{port}",
        log_path=base / f"{name}.log",
    )  # fmt: skip
    return process


@pytest.fixture(scope="module")
def federation(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, str, dict[str, str]]]:
    base = tmp_path_factory.mktemp("transfer-browser")
    build(base, records=15, peer_lists=True)
    station = Station.open(DataDir(base / SENDER))
    try:
        fir = registers.register_fir(station, "PEN100001", theft_fir()).ref
    finally:
        station.close()
    ports = {SENDER: free_port(), RECEIVER: free_port()}
    processes = [_serve(base, RECEIVER, ports[RECEIVER]), _serve(base, SENDER, ports[SENDER])]
    try:
        yield base, fir, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for process in processes:
            stop_node(process)


def _login(page: Any, base: Path, name: str, url: str) -> None:
    officer, secret = (base / name / "web" / "demo-officer.txt").read_text().split()
    page.goto(f"{url}/login")
    page.fill("#officer_id", officer)
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    page.fill("#code", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.click("form:has(#code) button[type=submit]")
    assert officer in page.inner_text("header")


def test_alter_and_transfer_in_the_browser(
    browser: Any, federation: tuple[Path, str, dict[str, str]]
) -> None:
    base, fir, urls = federation
    today = ist_date(now_ms()).isoformat()
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _login(page, base, SENDER, urls[SENDER])
    case = f"{urls[SENDER]}/case/{ref_slug(fir)}"
    page.goto(case)

    page.click("summary:has-text('Alter the sections')")
    page.fill("#alter-added", "BNS 309(4)")
    page.fill("#alter-dropped", "BNS 303(2)")
    page.fill("#alter-reason", "The motorcycle was snatched with force: robbery, not theft")
    page.fill("#alter-court", "JFCM Kalamassery")
    page.fill("#alter-reference", "Alteration report 14/2026")
    with page.expect_navigation():
        page.click("#form-alter-sections button[type=submit]")
    assert page.inner_text("#sections-fir") == "BNS 303(2)"
    assert page.inner_text("#sections-now").startswith("BNS 309(4)")

    page.click("summary:has-text('Transfer the investigation')")
    page.fill("#transfer-to", RECEIVER_ID)
    page.fill("#transfer-unit", "Edappally (special investigation team)")
    page.fill("#transfer-by", "District Police Chief, Kochi City")
    page.fill("#transfer-ref", "C2/118/2026/KC")
    page.fill("#transfer-reason", "The accused belong to a gang working in Edappally's limits")
    with page.expect_navigation():
        page.click("#form-transfer button[type=submit]")
    banner = page.inner_text("#transferred-banner")
    assert (
        f"Investigation transferred to Edappally (special investigation team) on {today}, "
        "order C2/118/2026/KC" in banner
    )
    assert page.locator("#transfer-accepted").count() == 1
    assert page.locator("#form-arrest").count() == 0
    page.locator("#transfer-and-sections").scroll_into_view_if_needed()
    screenshot(page, "case-transfer")
    page.goto(f"{case}?lang=ml")
    assert "ഇപ്പോഴത്തെ വകുപ്പുകൾ" in page.inner_text("#transfer-and-sections")
    screenshot(page, "case-transfer-ml")
    context.close()

    unit = browser.new_context(locale="en-IN")
    unit.set_default_timeout(TIMEOUT_MS)
    page = unit.new_page()
    _login(page, base, RECEIVER, urls[RECEIVER])
    page.click("header nav a[href='/cases-taken-over']")
    row = page.inner_text("#cases-taken-over tbody")
    assert fir in row and "Kalamassery" in row and "C2/118/2026/KC" in row
    screenshot(page, "cases-taken-over")
    page.goto(f"{urls[RECEIVER]}/cases-taken-over?lang=ml")
    assert "ഏറ്റെടുത്ത കേസുകൾ" in page.inner_text("h1")
    screenshot(page, "cases-taken-over-ml")

    # The unit's case page of the case: the FIR as received, its own investigation, the same
    # forms; a diary day written there goes into the unit's log.
    page.goto(f"{urls[RECEIVER]}/cases-taken-over?lang=en")
    with page.expect_navigation():
        page.click(f"#cases-taken-over a:has-text('{fir}')")
    assert "Investigation taken over by Edappally" in page.inner_text("#taken-over-order")
    assert page.locator("#form-arrest").count() == 1 and page.locator("#form-court").count() == 0
    page.fill("#diary-text", "Questioned the complainant again at Kalamassery")
    with page.expect_navigation():
        page.click("#form-diary button[type=submit]")
    assert "Questioned the complainant again" in page.inner_text(".timeline")
    page.locator("#investigation").scroll_into_view_if_needed()
    screenshot(page, "case-taken-over")
    page.goto(f"{page.url.split('?', 1)[0]}?lang=ml")
    assert "അന്വേഷണം ഈ യൂണിറ്റിന്റെ ലോഗിൽ" in page.inner_text("#taken-over-order")
    page.locator("#investigation").scroll_into_view_if_needed()
    screenshot(page, "case-taken-over-ml")
    unit.close()
