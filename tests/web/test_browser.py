"""The web UI in a real browser: Playwright driving Debian's Chromium against a node serving its
web UI (hypercorn) as a separate process.

An officer logs in with password and TOTP, registers an FIR and downloads its copy; a citizen
files a complaint and tracks it; the page switches to Malayalam; a federated search names the
offices that did not answer; a name carrying markup opens no dialog. With CCTNS_SCREENSHOTS set
(`make screenshots`), full-page PNGs of the main pages are written there. Slow: node processes
and a browser.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from node.demo.federation import NODES, build
from node.records.validation import IST
from tests.web.browser import (
    Officer,
    WebNode,
    browser_fixture,  # noqa: F401  (the `browser` fixture)
    running_node,
    screenshot,
    serve,
    submit_fir,
)

pytestmark = pytest.mark.slow  # node processes and a browser

MALAYALAM = re.compile(r"[\u0D00-\u0D7F]")
RECEIPT = re.compile(r"PET/\d{4}/\d{6}")
XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    with running_node(tmp_path_factory.mktemp("browser")) as running:
        yield running


def ui_login(page: Any, base_url: str, officer: Officer, shot: str = "") -> None:
    """Logs in through the pages: officer id and password, then the TOTP code (the first
    login's setup page asks for a code too)."""
    page.goto(f"{base_url}/login")
    if shot:
        screenshot(page, shot)
    page.fill("#officer_id", officer.officer_id)
    page.fill("#password", officer.password)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert re.search(r"/(login/totp|account/totp-setup)", page.url), page.url
    page.fill("#code", officer.code())
    with page.expect_navigation():
        page.click("form:has(#code) button[type=submit]")
    assert officer.officer_id in page.inner_text("header"), page.content()[:2000]


@pytest.fixture(scope="module")
def officer_context(browser: Any, node: WebNode) -> Iterator[Any]:
    """A browser context with an SHO of the station logged in."""
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    ui_login(page, node.base_url, node.new_officer(role="sho", sex="F", name="Anitha Kumari"))
    page.close()
    yield context
    context.close()


@pytest.fixture
def citizen_page(browser: Any) -> Iterator[Any]:
    """A fresh browser context with no login."""
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def test_officer_logs_in_with_password_and_totp(browser: Any, node: WebNode) -> None:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        ui_login(page, node.base_url, node.officer, shot="login")
        page.goto(f"{node.base_url}/")
        assert page.locator("a[href='/fir/new']").count() > 0
        screenshot(page, "home")
    finally:
        context.close()


def test_an_officer_logs_in_again_at_once(node: WebNode) -> None:
    """A second login in the same TOTP step moves the node's clock to the next step (a node
    refuses a replayed code) instead of waiting for it."""
    officer = node.new_officer(role="sho", sex="F", name="Mini Thomas")
    started = time.monotonic()
    before = node.clock()
    for _ in range(3):
        with node.client() as client:
            node.login(client, officer)
    assert node.clock() == before + 2 * 30_000  # setup, then two more steps
    assert time.monotonic() - started < 25  # no wait for a 30-second step


def open_section(page: Any, section: str) -> None:
    """Unfolds a section of the FIR form (a <details>), as an officer clicks its heading."""
    if page.get_attribute(f"#section-{section}", "open") is None:
        page.click(f"#section-{section} > summary")


def fill_fir_start(page: Any, complainant: str, mobile: str = "9447000123") -> None:
    """Fills the FIR form's occurrence, section and complainant (the page is /fir/new)."""
    occurred = datetime.now(IST) - timedelta(hours=3)
    page.fill("#occurrence_from", occurred.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#place", "Near HMT junction bus stop, Kalamassery")
    page.fill("#section_0", "BNS 303(2)")
    open_section(page, "complainant")
    page.fill("#complainant_name", complainant)
    page.fill("#complainant_mobile", mobile)
    page.fill("#complainant_age", "41")


def register_fir(page: Any, base_url: str, complainant: str, mobile: str = "9447000123") -> str:
    """Fills /fir/new and submits it; returns the case page's URL."""
    page.goto(f"{base_url}/fir/new")
    fill_fir_start(page, complainant, mobile)
    open_section(page, "accused")
    page.check("input[name='accused_0_unknown']")
    open_section(page, "facts")
    page.fill("#brief_facts", "The complainant's motorcycle parked near the bus stop was stolen.")
    submit_fir(page)
    assert "/case/" in page.url, page.inner_text("main")[:2000]
    url: str = page.url
    return url


def test_a_refused_fir_comes_back_in_place_with_the_stations_problems(
    officer_context: Any, node: WebNode
) -> None:
    """The FIR form is submitted by htmx: an FIR the station refuses (a non-cognizable section
    alone) comes back in the page with the station's problems and what was typed; corrected, it
    is registered and the case page's address is the page's own (a reload shows the case, it
    does not send the form again)."""
    page = officer_context.new_page()
    page.goto(f"{node.base_url}/fir/new")
    fill_fir_start(page, "Suresh Babu Refused")
    page.fill("#section_0", "BNS 115(2)")  # voluntarily causing hurt: non-cognizable
    open_section(page, "accused")
    page.check("input[name='accused_0_unknown']")
    open_section(page, "facts")
    page.fill("#brief_facts", "The complainant was slapped during a quarrel over parking.")
    submit_fir(page)
    assert page.url.endswith("/fir/new"), page.url
    assert "cognizable" in page.inner_text("#problems").lower(), page.inner_text("main")[:2000]
    assert page.input_value("#complainant_name") == "Suresh Babu Refused"
    page.fill("#section_0", "BNS 303(2)")
    page.fill("#brief_facts", "The complainant's motorcycle was stolen from the parking lot.")
    submit_fir(page)
    assert "/case/" in page.url, page.inner_text("main")[:2000]
    case_url = page.url
    assert "registered" in page.inner_text(".flash")
    page.reload()
    assert page.url == case_url
    assert "Suresh Babu Refused" in page.inner_text("main")
    assert page.locator("#problems").count() == 0


def test_register_an_fir_and_download_its_pdf(officer_context: Any, node: WebNode) -> None:
    page = officer_context.new_page()
    page.goto(f"{node.base_url}/fir/new")
    screenshot(page, "fir-form")
    register_fir(page, node.base_url, "Rajesh Krishnan")
    assert "FIR No." in page.inner_text("main")
    assert "Rajesh Krishnan" in page.inner_text("main")
    screenshot(page, "case")
    link = page.locator("a[href$='/pdf']").first
    href = link.get_attribute("href")
    assert href, "no PDF link on the case page"
    response = officer_context.request.get(f"{node.base_url}{href}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.body().startswith(b"%PDF")
    page.close()


def test_registers_and_search_pages(officer_context: Any, node: WebNode) -> None:
    page = officer_context.new_page()
    page.goto(f"{node.base_url}/gd")
    assert page.locator("main table, main .empty, main ul").count() > 0
    screenshot(page, "gd-register")
    page.goto(f"{node.base_url}/fir")
    assert "FIR No." in page.inner_text("main")
    page.goto(f"{node.base_url}/search")
    page.fill("input[name='q']", "Rajesh Krishnen")  # misspelt on purpose
    with page.expect_navigation():
        page.press("input[name='q']", "Enter")
    assert "Rajesh Krishnan" in page.inner_text("main")
    screenshot(page, "search")
    page.goto(f"{node.base_url}/dashboard")
    assert page.locator("main svg, main table").count() > 0
    screenshot(page, "dashboard")
    page.close()


def test_arrest_through_the_case_page_reaches_the_lockup(
    officer_context: Any, node: WebNode
) -> None:
    """An arrest typed into the case page's memo form, in the browser, is on the lock-up
    register with its production clock and on the list of what is due; both in Malayalam too."""
    page = officer_context.new_page()
    case_url = register_fir(page, node.base_url, "Suresh Babu", mobile="9447000456")
    page.fill("#arrested_0_accused_code", "A1")
    page.fill("#arrested_0_name", "Vinod Kumar")
    page.fill("#arrest-place", "Kalamassery bus stand")
    page.fill("#arrest-grounds", "Named by the complainant; seen with the motorcycle")
    page.fill("#arrest-witness", "Abdul Salam, shopkeeper")
    page.fill("#arrested_0_informed_person", "Latha, mother")
    with page.expect_navigation():
        page.click("#form-arrest button[type=submit]")
    assert "Vinod Kumar" in page.inner_text("main"), page.inner_text("main")[:2000]
    page.goto(f"{node.base_url}/lockup")
    text = page.inner_text("main")
    assert "Vinod Kumar" in text and "A1" in text, text[:2000]
    screenshot(page, "lockup")
    page.goto(f"{node.base_url}/due")
    assert "Vinod Kumar" in page.inner_text("main")
    screenshot(page, "due")
    page.goto(f"{node.base_url}/property-register")
    screenshot(page, "property-register")
    with page.expect_navigation():
        page.click("a[href^='/lang/ml']")
    assert len(MALAYALAM.findall(page.inner_text("main"))) > 5
    screenshot(page, "property-register-ml")
    page.goto(f"{node.base_url}/lockup")
    assert "Vinod Kumar" in page.inner_text("main")
    screenshot(page, "lockup-ml")
    page.goto(case_url)
    screenshot(page, "case-investigation-ml")
    with page.expect_navigation():
        page.click("a[href^='/lang/en']")
    page.close()


def test_citizen_files_a_complaint_and_tracks_it(citizen_page: Any, node: WebNode) -> None:
    page = citizen_page
    page.goto(f"{node.base_url}/citizen")
    screenshot(page, "citizen-portal")
    page.goto(f"{node.base_url}/citizen/complaint")
    page.fill("#name", "Mary Joseph")
    page.fill("#mobile", "9846012345")
    page.fill("#address", "Kunnumpuram House, HMT Colony, Kalamassery")
    page.fill("#subject", "Loud music every night")
    page.fill("#details", "The neighbours play loud music past midnight every night.")
    with page.expect_navigation():
        page.click("form:has(#details) button[type=submit]")
    found = RECEIPT.search(page.inner_text("main"))
    assert found, page.inner_text("main")
    receipt = found.group(0)
    page.goto(f"{node.base_url}/citizen/status")
    page.fill("#reference", receipt)
    page.fill("#mobile", "9846012345")
    with page.expect_navigation():
        page.click("form:has(#reference) button[type=submit]")
    text = page.inner_text("main")
    assert receipt in text
    assert "Mary Joseph" not in text  # the status page shows no names
    screenshot(page, "citizen-status")


def test_switch_to_malayalam(citizen_page: Any, node: WebNode) -> None:
    page = citizen_page
    page.goto(f"{node.base_url}/")
    assert page.get_attribute("html", "lang") == "en"
    with page.expect_navigation():
        page.click("a[href^='/lang/ml']")
    assert page.get_attribute("html", "lang") == "ml"
    main = page.inner_text("main")
    assert len(MALAYALAM.findall(main)) > 10, main
    screenshot(page, "home-ml")
    page.goto(f"{node.base_url}/citizen")
    assert page.get_attribute("html", "lang") == "ml"
    with page.expect_navigation():
        page.click("a[href^='/lang/en']")
    assert page.get_attribute("html", "lang") == "en"


def test_markup_in_a_name_opens_no_dialog(officer_context: Any, node: WebNode) -> None:
    page = officer_context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    case_url = register_fir(page, node.base_url, XSS, mobile="9447000999")
    page.goto(case_url)
    assert XSS in page.inner_text("main"), "the name is not shown as text"
    assert page.locator("main img[src='x']").count() == 0
    page.goto(f"{node.base_url}/search?q=img+src&kind=person")
    page.goto(f"{node.base_url}/fir")
    page.wait_for_timeout(300)
    assert dialogs == []
    page.close()


# -- the FIR form that grows with the case ------------------------------------------------------

ACCUSED = 25
ITEMS = 40


def test_fir_form_grows_to_25_accused_and_40_items_and_keeps_a_draft(
    browser: Any, node: WebNode
) -> None:
    """A rioting case: "Add accused" pressed from the keyboard 24 times (the focus lands on each
    new row's name), "Add item" clicked 39 times; a reload restores every row from the draft;
    the case page lists 25 accused and 40 items, and the draft is gone."""
    context = browser.new_context(locale="en-IN")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        ui_login(page, node.base_url, node.new_officer(role="sho", sex="M", name="Biju Menon"))
        page.goto(f"{node.base_url}/fir/new")
        assert page.get_attribute("#section-occurrence", "open") is not None
        assert page.get_attribute("#section-accused", "open") is None  # folded
        fill_fir_start(page, "Shaji Varghese", mobile="9447000777")
        # From the keyboard alone: Enter on "Add accused" puts the focus in the new row's name.
        open_section(page, "accused")
        page.fill("#accused_0_name", "Rioter 01")
        for n in range(1, ACCUSED):
            page.press("button[data-add='accused']", "Enter")
            page.keyboard.insert_text(f"Rioter {n + 1:02d}")
        # Enter on "Add item", then category, Tab, description, Tab, status ("s": stolen).
        open_section(page, "property")
        page.focus("#property_0_category")
        for n in range(ITEMS):
            if n:
                page.press("button[data-add='property']", "Enter")
            page.keyboard.insert_text("glass")
            page.keyboard.press("Tab")
            page.keyboard.insert_text(f"Shop glass pane {n + 1:02d}")
            page.keyboard.press("Tab")
            page.keyboard.press("s")
        names = "#accused-rows input[name$='_name']:not([name$='relative_name'])"
        typed = page.eval_on_selector_all(names, "fields => fields.map(f => f.id + '=' + f.value)")
        assert typed == [f"accused_{n}_name=Rioter {n + 1:02d}" for n in range(ACCUSED)], typed
        statuses = "#property-rows select[name$='_status']"
        chosen = page.eval_on_selector_all(statuses, "fields => fields.map(f => f.value)")
        assert chosen == ["stolen"] * ITEMS, chosen
        page.select_option("#property_39_status", "lost")
        assert page.inner_text("#section-accused summary .badge") == str(ACCUSED)
        # A row removed: the rows after it are numbered again.
        page.click("button[data-add='accused']")
        page.fill(f"#accused_{ACCUSED}_name", "Added by mistake")
        page.click(f"#accused-rows > .row[data-row='{ACCUSED}'] .remove-row")
        assert page.locator("#accused-rows > .row").count() == ACCUSED
        open_section(page, "facts")
        page.fill("#brief_facts", "A mob broke into the shop and carried away its stock.")

        # The session times out, say: the page again, and every row is back from the draft.
        page.reload()
        assert page.is_visible("#draft-note"), page.inner_text("main")[:2000]
        assert page.locator("#accused-rows > .row").count() == ACCUSED
        assert page.locator("#property-rows > .row").count() == ITEMS
        assert page.input_value("#accused_24_name") == "Rioter 25"
        assert page.input_value("#property_39_description") == "Shop glass pane 40"
        assert page.input_value("#property_39_status") == "lost"
        assert page.input_value("#complainant_name") == "Shaji Varghese"
        screenshot(page, "fir-form-grown")

        submit_fir(page)
        assert "/case/" in page.url, page.inner_text("main")[:2000]
        text = page.inner_text("main")
        assert all(f"Rioter {n:02d}" in text for n in range(1, ACCUSED + 1)), text[:3000]
        assert all(f"Shop glass pane {n:02d}" in text for n in range(1, ITEMS + 1))
        assert "Added by mistake" not in text
        page.goto(f"{node.base_url}/fir/new")
        assert not page.is_visible("#draft-note")  # registered: the draft is gone
        assert page.input_value("#complainant_name") == ""

        # A draft can be discarded.
        page.fill("#place", "Edappally toll junction")
        page.reload()
        assert page.input_value("#place") == "Edappally toll junction"
        with page.expect_navigation():
            page.click("#draft-discard")
        assert page.input_value("#place") == ""
        assert not page.is_visible("#draft-note")
    finally:
        context.close()


# -- a federated search with offices down --------------------------------------------------------


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebNode, list[str]]]:
    """The demo federation (7 nodes) with only Kalamassery (web UI) and Edappally running;
    yields Kalamassery's web node and the node ids of the offices left stopped."""
    base: Path = tmp_path_factory.mktemp("federation")
    build(base, records=20, peer_lists=True)
    stopped = [n.node_id for n in NODES if n.name not in ("kalamassery", "edappally")]
    with (
        serve(base / "edappally", command="serve", extra=("--poll", "1")),
        serve(base / "kalamassery", command="serve", extra=("--poll", "1")) as kalamassery,
    ):
        yield kalamassery, stopped


def test_federated_search_names_the_offices_that_did_not_answer(
    browser: Any, federation: tuple[WebNode, list[str]]
) -> None:
    node, stopped = federation
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        ui_login(page, node.base_url, node.new_officer(role="sho", sex="F"))
        page.goto(f"{node.base_url}/search")
        page.fill("input[name='q']", "Raju")
        page.select_option("select[name='scope']", "federation")
        with page.expect_navigation():
            page.press("input[name='q']", "Enter")
        unanswered = page.inner_text("#unanswered")
        for node_id in stopped:
            assert node_id in unanswered, f"{node_id} not named: {unanswered}"
        assert "ps-edappally" not in unanswered
        assert "ps-edappally" in page.inner_text("main"), "the running office did not answer"
        screenshot(page, "search-federation")
    finally:
        context.close()


SERVED_NAME = "ശ്രീജിത്ത് മേനോൻ"  # a conjunct, chillus and a vowel sign drawn before its consonant


def test_reports_and_the_process_register_in_both_languages(
    officer_context: Any, node: WebNode
) -> None:
    """The daily situation report, the monthly crime review, the ad hoc report builder and the
    process register (a summons received through its form, for a person named in Malayalam),
    in English and in Malayalam; the register's PDF holds the name as shaped text."""
    page = officer_context.new_page()
    register_fir(page, node.base_url, "Joseph Varghese", mobile="9447000789")  # today's report
    returnable = (datetime.now(IST).date() + timedelta(days=20)).isoformat()
    page.goto(f"{node.base_url}/processes")
    page.select_option("select[name='process_type']", "summons")
    page.fill("input[name='court']", "JFCM Court, Kalamassery")
    page.fill("input[name='court_case_number']", "CC 231/2026")
    page.fill("input[name='name']", SERVED_NAME)
    page.select_option("select[name='relation']", "S/o")
    page.fill("input[name='relative_name']", "ജോർജ്")
    page.fill("input[name='address']", "Kizhakkethil House, HMT Colony, Kalamassery")
    page.fill("input[name='returnable_date']", returnable)
    with page.expect_navigation():
        page.click("form[action='/processes/receive'] button[type=submit]")
    assert SERVED_NAME in page.inner_text("#process-register"), page.inner_text("main")[:2000]
    screenshot(page, "processes")
    response = officer_context.request.get(f"{node.base_url}/registers/process.pdf?lang=ml")
    assert response.status == 200, response.text()[:500]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert SERVED_NAME in text and "പ്രോസസ് രജിസ്റ്റർ" in text
    page.goto(f"{node.base_url}/reports/daily")
    assert page.locator("#figures table").count() == 1
    assert "Theft" in page.inner_text("#firs"), page.inner_text("main")[:2000]
    screenshot(page, "reports-daily")
    page.goto(f"{node.base_url}/reports/monthly")
    assert page.locator("#heads svg").count() == 1
    screenshot(page, "reports-monthly")
    page.goto(f"{node.base_url}/reports/adhoc?group_by=crime_head")
    assert page.locator("main table").count() > 0
    screenshot(page, "reports-adhoc")
    with page.expect_navigation():
        page.click("a[href^='/lang/ml']")
    try:
        for path, name in (
            ("/reports/daily", "reports-daily-ml"),
            ("/reports/monthly", "reports-monthly-ml"),
            ("/reports/adhoc?group_by=crime_head", "reports-adhoc-ml"),
            ("/processes", "processes-ml"),
        ):
            page.goto(f"{node.base_url}{path}")
            assert len(MALAYALAM.findall(page.inner_text("h1"))) > 3, path
            screenshot(page, name)
        assert SERVED_NAME in page.inner_text("#process-register")
    finally:
        with page.expect_navigation():
            page.click("a[href^='/lang/en']")
        page.close()
