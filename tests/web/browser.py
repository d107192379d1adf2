"""Harness for the web UI's end-to-end tests: a real node serving its web UI as a subprocess
(hypercorn's trio worker, as in production), officers with real TOTP secrets, and Playwright
driving Debian's Chromium (`/usr/bin/chromium`; never a browser Playwright downloads).

`running_node(base)` makes a station (seeded with synthetic records), starts the node's command
line (`cctns node web`, through `tests.web.clocked_node`) on a free loopback port, waits for
/healthz and stops the process when the block ends, whatever happened inside it. The node's
officer accounts run on a clock the test moves (`WebNode.clock`): an officer who logs in again
within one 30-second TOTP step moves that clock to the next step, so no test waits for one.
`WebNode.new_officer()` adds an officer to the node's account store (the node reads it on every
login) and `WebNode.login()` signs one in over HTTP (password, then TOTP, CSRF tokens taken from
the forms).

The fixture `browser_fixture` (named `browser`) gives a headless Chromium launched with the flags
this machine needs; import it into a test module to use it. Without /usr/bin/chromium the tests
skip, except under CI (`CI=true`), where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import sync_playwright

from node.config import DataDir
from node.demo.federation import free_port as port
from node.demo.seed import seed_station
from node.station.core import Station
from node.web.auth import accounts_for
from simulations.chromium import CHROMIUM, CHROMIUM_ARGS, MISSING, has_chromium
from tests.processes import start_node, stop_node
from tests.web.clocked_node import ClockFile

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
NODE_ID = ORIGIN.split("/", 1)[1]
DISTRICT = "Ernakulam City"
STATION = "Kalamassery"
PASSWORD = "correct horse battery staple 42"
START_TIMEOUT = 60.0
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')

# Every process started here, stopped at exit if a test run is interrupted before teardown.


def free_port() -> int:
    return port()


def csrf_from(page: str) -> str:
    """The CSRF token of a page (a form's hidden field, else the <meta> tag)."""
    found = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page) or re.search(
        r'value="([^"]*)"[^>]*name="csrf_token"', page
    )
    if not found:
        found = _CSRF_META.search(page)
    if not found:
        raise AssertionError("no CSRF token on the page")
    return html.unescape(found.group(1))


@dataclass
class Officer:
    officer_id: str
    name: str
    role: str
    station_node_id: str
    totp_secret: str
    clock: ClockFile  # the node's accounts' clock
    password: str = PASSWORD
    _last_step: int = -1

    def code(self) -> str:
        """A TOTP code not used before: when this step's code was used (a node refuses a
        replayed code), the node's clock moves on to the next step."""
        totp = pyotp.TOTP(self.totp_secret)
        step_ms = totp.interval * 1000
        if self.clock() // step_ms <= self._last_step:
            self.clock.set((self._last_step + 1) * step_ms)
        step = self.clock() // step_ms
        self._last_step = step
        return totp.at(step * totp.interval)


def create_station(path: Path, *, records: int = 300, origin: str = ORIGIN) -> Path:
    """A station's data directory with `records` synthetic records."""
    data_dir = DataDir(path)
    data_dir.create(origin=origin, district=DISTRICT, station=STATION)
    station = Station.open(data_dir)
    try:
        if records:
            seed_station(station, records, show_progress=False)
    finally:
        station.close()
    return path


_ids = itertools.count(1)


def add_officer(
    data_dir: Path,
    *,
    clock: ClockFile,
    role: str = "sho",
    name: str = "Anitha Kumari",
    sex: str = "F",
    station_node_id: str = NODE_ID,
    jurisdiction: str = "",
    password: str = PASSWORD,
    officer_id: str = "",
) -> Officer:
    """Adds an officer to the node's accounts; returns the officer with the TOTP secret, whose
    codes follow the node's `clock`."""
    officer_id = officer_id or f"PEN9{os.getpid() % 1000:03d}{next(_ids):02d}"
    accounts = accounts_for(DataDir(data_dir))
    try:
        _, secret = accounts.create_officer(
            officer_id,
            name,
            sex,
            role,
            station_node_id,
            jurisdiction or station_node_id,
            password,
        )
    finally:
        close = getattr(accounts, "close", None)
        if close is not None:
            close()
    return Officer(officer_id, name, role, station_node_id, secret, clock, password)


@dataclass
class WebNode:
    """A node process serving the web UI at `base_url`."""

    data_dir: Path
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    clock: ClockFile
    officer: Officer
    officers: list[Officer] = field(default_factory=list)

    def new_officer(self, **fields: Any) -> Officer:
        officer = add_officer(self.data_dir, clock=self.clock, **fields)
        self.officers.append(officer)
        return officer

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0, **options)

    def login(self, client: httpx.Client, officer: Officer | None = None) -> httpx.Response:
        """Signs `officer` (a fresh SHO by default) in on `client`; returns the final page."""
        return login(client, officer or self.new_officer())


def form_action(page: str, field_name: str, default: str) -> str:
    """The action of the form holding an input named `field_name` (`default` when none)."""
    for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", page, re.S | re.I):
        if re.search(rf'name="{field_name}"', form.group(2)):
            action = re.search(r'action="([^"]*)"', form.group(1))
            return html.unescape(action.group(1)) if action and action.group(1) else default
    return default


def login(client: httpx.Client, officer: Officer) -> httpx.Response:
    """Password, then TOTP (or the first-login TOTP setup), as a browser would post them."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    step = client.post(
        form_action(page.text, "password", "/login"),
        data={
            "officer_id": officer.officer_id,
            "password": officer.password,
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=True,
    )
    assert step.status_code == 200, step.text
    done = client.post(
        form_action(step.text, "code", "/login/totp"),
        data={"code": officer.code(), "csrf_token": csrf_from(step.text)},
        follow_redirects=True,
    )
    assert done.status_code == 200, done.text
    assert officer.officer_id in done.text, "not signed in"
    return done


def sign_in(page: Any, base_url: str, officer: Officer) -> None:
    """Signs `officer` in through the pages in the browser (Playwright `page`): id and
    password, then the TOTP code (the first login's setup page asks for a code too)."""
    page.goto(f"{base_url}/login")
    page.fill("#officer_id", officer.officer_id)
    page.fill("#password", officer.password)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    page.fill("#code", officer.code())
    with page.expect_navigation():
        page.click("form:has(#code) button[type=submit]")
    assert officer.officer_id in page.inner_text("header"), page.content()[:2000]


def submit(page: Any, form: str) -> None:
    """Clicks the submit button of the form `form` (a selector) and waits for the page that
    answers it."""
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def submit_fir(page: Any) -> None:
    """Clicks Register on the FIR form and waits for the answer to be shown: the form is
    submitted by htmx (hx-boost), which swaps the case page (or the form with the station's
    problems) into the document instead of loading a new one (docs/web.md)."""
    page.evaluate(_AWAIT_BOOSTED_SWAP)
    page.click("form[action='/fir/new'] button[type=submit]")
    page.wait_for_function("() => window.cctnsBoostedSwap === true")


_AWAIT_BOOSTED_SWAP = """() => { window.cctnsBoostedSwap = false;
    document.addEventListener("htmx:afterSettle", (e) => {
        if (e.detail.boosted) window.cctnsBoostedSwap = true; }, {once: false}); }"""


@contextlib.contextmanager
def serve(
    data_dir: Path,
    *,
    command: str = "web",
    extra: tuple[str, ...] = (),
) -> Iterator[WebNode]:
    """Runs `cctns node <command> --data-dir … --http 127.0.0.1:<free port>` until the block
    ends, its officer accounts on a clock of the test's; `command` "serve" runs the whole node
    (federation and web UI)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = data_dir.parent / f"{data_dir.name}-{command}-{port}.log"
    clock = ClockFile.start(data_dir.parent / f"{data_dir.name}-{command}-{port}.clock")
    officer = add_officer(data_dir, clock=clock)
    process, ready = start_node(
        str(clock.path),
        "node",
        command,
        "--data-dir",
        str(data_dir),
        "--http",
        f"127.0.0.1:{port}",
        *extra,
        log_path=log,
        module="tests.web.clocked_node",
        timeout=START_TIMEOUT,
    )
    try:
        assert ready["web"].endswith(f":{port}"), ready
        yield WebNode(data_dir, base_url, process, log, clock, officer, [officer])
    finally:
        stop_node(process)


@contextlib.contextmanager
def running_node(base: Path, *, records: int = 300) -> Iterator[WebNode]:
    """A seeded station serving only its web UI (no federation)."""
    data_dir = create_station(base / "station", records=records)
    with serve(data_dir) as node:
        yield node


def require_chromium() -> None:
    if has_chromium():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(MISSING)
    pytest.skip(MISSING)


@pytest.fixture(name="browser", scope="module")
def browser_fixture() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright (its own temporary, empty profile)."""
    require_chromium()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir() -> Path | None:
    """Where to keep screenshots of the main pages (env CCTNS_SCREENSHOTS), when asked."""
    value = os.environ.get("CCTNS_SCREENSHOTS", "")
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        path = ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Any, name: str) -> None:
    """A full-page PNG of `page` as <CCTNS_SCREENSHOTS>/<name>.png (nothing when unset)."""
    folder = screenshot_dir()
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
