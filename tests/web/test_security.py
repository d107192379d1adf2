"""Cross-cutting security checks of the web UI, over real HTTP against a running node
(`cctns node web`, hypercorn): CSRF on every POST route, another station's officer, a citizen
guessing FIR numbers, XSS payloads in names, SQL-injection strings in every search box.

Each area's own tests check its pages; these walk every route the app declares, so a route added
later is covered without a new test. Slow: they start a node process.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.config import DataDir
from node.records.validation import IST, utc_ms
from node.runtime import web_context
from node.station import registers
from node.station.core import Station
from node.web.app import create_app
from protos import records_pb2
from tests.processes import set_limits
from tests.web.browser import (
    WebNode,
    create_station,
    csrf_from,
    login,
    serve,
)
from tests.web.support import ROOMY, walk_routes

pytestmark = pytest.mark.slow  # a node process per module

XSS = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = '"><script>alert(2)</script>'
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
XSS_MOBILE = "9847000111"
VICTIM = "Sreelakshmi Pattathil"
VICTIM_FATHER = "Gopinathan Pattathil"
VICTIM_MOBILE = "9447012345"
SENSITIVE_MARKS = (VICTIM, VICTIM_FATHER, VICTIM_MOBILE, "Pattathil")
OTHER_STATION = "kerala/thrissur-city/ps-ollur"
SQL_INJECTIONS = (
    "' OR '1'='1",
    "'; DROP TABLE persons; --",
    '" OR ""="',
    "1' UNION SELECT name, sql FROM sqlite_master --",
    "%' AND 1=1 --",
    "Raju'); DELETE FROM records; --",
    "\\' OR 1=1 #",
    "🙂' OR rowid > 0 --",
)
ERROR_MARKS = ("Traceback", "OperationalError", "sqlite3.", "SQLAlchemy", "Internal Server Error")


@dataclass
class Setup:
    node: WebNode
    sensitive_ref: str
    xss_ref: str
    xss_petition: str
    fir_count: int
    year: int
    post_routes: list[str]
    get_routes: list[str]


def slug(ref: str) -> str:
    match = re.match(r"^FIR No\. (\d+)/(\d{4})$", ref)
    assert match, ref
    return f"{match[1]}-{match[2]}"


def sensitive_fir() -> records_pb2.Fir:
    """A rape case (BNS 64(1)): the victim's identity is withheld by law (BNS s.72)."""
    fir = records_pb2.Fir(
        occurrence_from_ms=utc_ms(datetime.now(IST) - timedelta(hours=6)),
        place_of_occurrence=records_pb2.Place(description="Near the railway underpass"),
        sections=[records_pb2.ActSection(act="BNS", section="64(1)")],
        brief_facts=f"The victim {VICTIM}, D/o {VICTIM_FATHER}, was assaulted by the accused.",
        # A woman officer records it (BNSS s.173(1) first proviso).
        recording=records_pb2.InformationRecording(recorded_by_sex="F"),
    )
    victim = records_pb2.Person(
        name=VICTIM,
        relative_name=VICTIM_FATHER,
        relation="D/o",
        age=24,
        sex="F",
        address="Pattathil House, Kalamassery",
        mobile=VICTIM_MOBILE,
    )
    fir.persons.add(person=victim, role=records_pb2.COMPLAINANT)
    fir.persons.add(person=victim, role=records_pb2.VICTIM)
    fir.persons.add(
        person=records_pb2.Person(name="Biju Mathew", relative_name="Mathew", relation="S/o"),
        role=records_pb2.ACCUSED,
    )
    return fir


def xss_fir() -> records_pb2.Fir:
    fir = records_pb2.Fir(
        occurrence_from_ms=utc_ms(datetime.now(IST) - timedelta(hours=5)),
        place_of_occurrence=records_pb2.Place(description=f"HMT junction {XSS}"),
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        brief_facts=f"A mobile phone was stolen from {XSS}.",
    )
    fir.persons.add(
        person=records_pb2.Person(name=XSS, relative_name=XSS_SCRIPT, relation="S/o", age=30),
        role=records_pb2.COMPLAINANT,
    )
    fir.persons.add(person=records_pb2.Person(name=XSS_SCRIPT), role=records_pb2.ACCUSED)
    return fir


def app_routes() -> tuple[list[str], list[str]]:
    """The paths of the app's POST routes and GET routes (from app.routes, on a scratch node)."""

    with tempfile.TemporaryDirectory(prefix="cctns-routes-") as tmp:
        data_dir = DataDir(Path(tmp) / "node")
        data_dir.create(origin="cctns.in/kerala/ernakulam-city/ps-routes")
        station = Station.open(data_dir)
        try:
            app = create_app(web_context(data_dir, station, None))
            routes = list(walk_routes(list(app.routes)))
        finally:
            station.close()
    posts = sorted({path for path, methods in routes if "POST" in methods})
    gets = sorted({path for path, methods in routes if "GET" in methods})
    return posts, gets


def fill(path: str, value: str) -> str:
    """The route path with every {param} (or {param:path}) replaced by `value`."""
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base = tmp_path_factory.mktemp("security")
    data_dir = create_station(base / "station", records=300)
    station = Station.open(DataDir(data_dir))
    try:
        sensitive = registers.register_fir(station, "PEN900001", sensitive_fir())
        xss = registers.register_fir(station, "PEN900001", xss_fir())
        petition = registers.receive_petition(
            station,
            "PEN900001",
            records_pb2.Petition(
                petitioner=records_pb2.Person(name=XSS, mobile=XSS_MOBILE, address=XSS_SCRIPT),
                subject=f"Complaint {XSS}",
                details=f"Neighbour {XSS_SCRIPT} blocks the lane.",
                channel="in person",
            ),
        )
        year = int(sensitive.ref.rsplit("/", 1)[1])
        fir_count = max(int(xss.ref.split(" ")[2].split("/")[0]), 1)
    finally:
        station.close()
    posts, gets = app_routes()
    # The probes below post from one address far more often than a citizen would; the portal's
    # limits are not what this module tests (tests/web/test_throttle.py does).
    set_limits(data_dir, **asdict(ROOMY))
    with serve(data_dir) as node:
        yield Setup(node, sensitive.ref, xss.ref, petition.ref, fir_count, year, posts, gets)


@pytest.fixture(scope="module")
def officer_client(setup: Setup) -> Iterator[httpx.Client]:
    """A client signed in as an SHO of the station (a woman officer)."""
    with setup.node.client() as client:
        login(client, setup.node.new_officer(role="sho", sex="F"))
        yield client


def ledger_size(node: WebNode) -> int:
    size: int = httpx.get(f"{node.base_url}/healthz").json()["entries"]
    return size


def assert_no_error_page(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}\n{response.text[:800]}"
    for mark in ERROR_MARKS:
        assert mark not in response.text, f"{what}: {mark!r} in the page"


# -- CSRF ----------------------------------------------------------------------------------------

SESSIONLESS_POSTS = ("/api/exchange/inbound",)


def test_every_post_route_refuses_a_request_without_a_csrf_token(
    setup: Setup, officer_client: httpx.Client
) -> None:
    assert setup.post_routes, "the app declares no POST route"
    before = ledger_size(setup.node)
    target = slug(setup.xss_ref)
    form = {
        "officer_id": setup.node.officer.officer_id,
        "password": setup.node.officer.password,
        "code": "123456",
        "reason": "csrf probe",
        "brief_facts": "csrf probe",
        "category": "Others",
        "summary": "csrf probe",
        "subject": "csrf probe",
        "petitioner_name": "Csrf Probe",
        "name": "Csrf Probe",
        "mobile": "9999999999",
    }
    refused: dict[str, list[int]] = {}
    with setup.node.client() as anonymous:
        anonymous.get("/")  # an anonymous CSRF cookie, as a visitor would have
        for route in setup.post_routes:
            path = fill(route, target)
            codes = [
                officer_client.post(path, data=form).status_code,
                officer_client.post(path, data={**form, "csrf_token": "forged"}).status_code,
                officer_client.post(path, json=form).status_code,
                anonymous.post(path, data=form).status_code,
                anonymous.post(path, data={**form, "csrf_token": "forged"}).status_code,
            ]
            refused[route] = codes
    # An anonymous visitor's /logout has nothing to end: a redirect home is no state change.
    if "/logout" in refused:
        refused["/logout"] = [c if c != 303 else 403 for c in refused["/logout"]]
    # Routes that take no session at all (a court's signed message: the signature is the
    # credential, cookies are ignored) have no CSRF to refuse; what they must not do is accept
    # a request that is not a validly signed message: refused as bad input, nothing written.
    for route in SESSIONLESS_POSTS:
        codes = refused.pop(route)
        assert codes and all(400 <= code < 500 for code in codes), (route, codes)
    wrong = {route: codes for route, codes in refused.items() if set(codes) != {403}}
    assert not wrong, f"POST routes not refusing a missing/forged CSRF token with 403: {wrong}"
    assert ledger_size(setup.node) == before, "a refused POST wrote to the ledger"
    # The session survived the refused logout.
    assert officer_client.get("/fir").status_code == 200


# -- another station's officer -------------------------------------------------------------------


def test_another_stations_officer_is_refused(setup: Setup) -> None:
    stranger = setup.node.new_officer(
        role="sho", sex="F", name="Ollur SHO", station_node_id=OTHER_STATION
    )
    with setup.node.client() as client:
        try:
            login(client, stranger)
        except AssertionError:
            return  # refused at login: nothing of this station to see
        theft = slug(setup.xss_ref)
        answers = {
            path: client.get(path)
            for path in (f"/case/{theft}", f"/fir/{theft}/pdf", "/fir", "/gd", "/petitions")
        }
        let_through = {path: r.status_code for path, r in answers.items() if r.status_code != 403}
        assert not let_through, f"another station's officer was not refused: {let_through}"
        before = ledger_size(setup.node)
        page = client.get("/gd")
        token = csrf_from(page.text) if "csrf_token" in page.text else ""
        response = client.post(
            "/fir/new",
            data={
                "csrf_token": token,
                "occurrence_from": (datetime.now(IST) - timedelta(hours=2)).strftime(
                    "%Y-%m-%dT%H:%M"
                ),
                "place": "Ollur",
                "brief_facts": "A bicycle was stolen.",
                "section_0": "BNS 303(2)",
                "complainant_name": "Joseph K",
                "accused_0_unknown": "on",
                "information_type": "oral",
            },
        )
        assert response.status_code == 403, f"POST /fir/new: {response.status_code}"
        assert ledger_size(setup.node) == before


def test_own_officer_sees_the_case(setup: Setup, officer_client: httpx.Client) -> None:
    """The refusals above are about the station, not a broken page."""
    response = officer_client.get(f"/case/{slug(setup.xss_ref)}")
    assert response.status_code == 200
    assert "FIR No." in response.text


# -- a citizen guessing FIR numbers --------------------------------------------------------------


def test_citizen_guessing_fir_numbers_sees_no_sensitive_fir(setup: Setup) -> None:
    sensitive_slug = slug(setup.sensitive_ref)
    routes = [r for r in setup.get_routes if "{" in r]
    assert routes
    seen = 0
    with setup.node.client() as citizen:
        for number in range(1, setup.fir_count + 2):
            for value in (f"{number}-{setup.year}", f"FIR No. {number}/{setup.year}"):
                for route in routes:
                    path = fill(route, value)
                    response = citizen.get(path)
                    seen += 1
                    for mark in SENSITIVE_MARKS:
                        assert mark not in response.text, f"{path}: {mark!r} shown to a citizen"
                    if value in (sensitive_slug, setup.sensitive_ref):
                        assert "64(1)" not in response.text, f"{path}: the section shown"
        # The citizens' forms, as a citizen would fill them in: every number, any mobile.
        for path in ("/citizen/status", "/citizen/fir-copy"):
            page = citizen.get(path)
            if page.status_code != 200:
                continue
            token = csrf_from(page.text)
            for number in range(1, setup.fir_count + 2):
                for reference in (f"FIR No. {number}/{setup.year}", f"{number}/{setup.year}"):
                    for mobile in (VICTIM_MOBILE, "9000000000"):
                        response = citizen.post(
                            path,
                            data={"reference": reference, "mobile": mobile, "csrf_token": token},
                        )
                        seen += 1
                        assert response.status_code < 500, f"{path} {reference}"
                        for mark in SENSITIVE_MARKS:
                            assert mark not in response.text, f"{path} {reference}: {mark!r}"
        # The JSON API, if any, by query.
        for route in (r for r in setup.get_routes if r.startswith("/api/") and "{" not in r):
            for params in ({"reference": setup.sensitive_ref, "mobile": VICTIM_MOBILE},):
                response = citizen.get(route, params=params)
                for mark in SENSITIVE_MARKS:
                    assert mark not in response.text, f"{route}: {mark!r} shown"
    assert seen


def citizen_post(client: httpx.Client, path: str, **fields: str) -> httpx.Response | None:
    """Posts a citizens' form as the portal's page does; None when the page is not there."""
    page = client.get(path)
    if page.status_code == 404:
        return None
    assert page.status_code == 200, f"{path}: {page.status_code}"
    return client.post(
        path, data={**fields, "csrf_token": csrf_from(page.text)}, follow_redirects=True
    )


def test_citizen_fir_copy_of_a_sensitive_fir_is_withheld(setup: Setup) -> None:
    with setup.node.client() as citizen:
        for mobile in (VICTIM_MOBILE, "9000000000"):
            for reference in (setup.sensitive_ref, setup.sensitive_ref.removeprefix("FIR No. ")):
                response = citizen_post(
                    citizen, "/citizen/fir-copy", reference=reference, mobile=mobile
                )
                if response is None:
                    pytest.skip("no /citizen/fir-copy page yet")
                assert response.status_code < 500
                assert not response.content.startswith(b"%PDF"), "a sensitive FIR's copy given"
                for mark in SENSITIVE_MARKS:
                    assert mark not in response.text
                assert "64(1)" not in response.text
                status = citizen_post(
                    citizen, "/citizen/status", reference=reference, mobile=mobile
                )
                assert status is not None and status.status_code < 500
                for mark in SENSITIVE_MARKS:
                    assert mark not in status.text
                assert "64(1)" not in status.text


# -- XSS in names --------------------------------------------------------------------------------


def test_xss_payloads_in_names_are_escaped(setup: Setup, officer_client: httpx.Client) -> None:
    pages = {
        "case page": officer_client.get(f"/case/{slug(setup.xss_ref)}"),
        "FIR register": officer_client.get("/fir", params={"year": setup.year}),
        "petitions": officer_client.get("/petitions"),
        "search": officer_client.get("/search", params={"q": XSS, "kind": "person"}),
    }
    for what, response in pages.items():
        if response.status_code == 404:
            continue
        assert response.status_code == 200, f"{what}: {response.status_code}"
        assert XSS not in response.text, f"{what}: the payload is rendered as markup"
        assert "<script>alert(2)</script>" not in response.text, f"{what}: a live <script>"
    assert XSS_ESCAPED in pages["case page"].text, "the case page does not show the name at all"


def test_xss_payloads_escaped_in_the_citizen_status_page(setup: Setup) -> None:
    with setup.node.client() as citizen:
        response = citizen_post(
            citizen, "/citizen/status", reference=setup.xss_petition, mobile=XSS_MOBILE
        )
        if response is None:
            pytest.skip("no /citizen/status page yet")
        assert response.status_code == 200
        assert setup.xss_petition in response.text, "the status page did not find the petition"
        assert XSS not in response.text
        assert "<script>alert(2)</script>" not in response.text


# -- SQL injection in every search box -----------------------------------------------------------


def search_forms(client: httpx.Client, pages: list[str]) -> list[tuple[str, str, list[str]]]:
    """(page, action, text field names) of every GET form on `pages` (the search boxes)."""
    found: list[tuple[str, str, list[str]]] = []
    for page in pages:
        response = client.get(page)
        if response.status_code != 200:
            continue
        for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", response.text, re.S | re.I):
            attributes, body = form.group(1), form.group(2)
            if re.search(r'method="post"', attributes, re.I):
                continue
            action = re.search(r'action="([^"]*)"', attributes)
            fields = [
                m.group(2)
                for m in re.finditer(r'<input\b([^>]*?)name="([^"]+)"([^>]*)>', body)
                if not re.search(r'type="(hidden|checkbox|radio|submit|date|number)"', m.group(0))
            ]
            if fields:
                found.append((page, action.group(1) if action else page, fields))
    return found


def test_sql_injection_in_every_search_box_returns_a_page(
    setup: Setup, officer_client: httpx.Client
) -> None:
    pages = ["/search", "/gd", "/fir", "/petitions", "/dashboard", "/citizen", "/citizen/vehicles"]
    forms = search_forms(officer_client, pages)
    assert any(action.startswith("/search") for _, action, _ in forms), forms
    for page, action, fields in forms:
        for injection in SQL_INJECTIONS:
            for field in fields:
                response = officer_client.get(action, params={field: injection})
                assert_no_error_page(response, f"{page} -> {action}?{field}=")
                assert response.status_code == 200, f"{action}?{field}: {response.status_code}"
    for kind in ("person", "vehicle", "property", "case"):
        for injection in SQL_INJECTIONS:
            response = officer_client.get("/search", params={"q": injection, "kind": kind})
            assert_no_error_page(response, f"/search kind={kind}")
            assert response.status_code == 200
    # The tables are all still there: a seeded name is still found.
    assert officer_client.get("/fir", params={"year": setup.year}).status_code == 200


def test_sql_injection_in_citizen_forms_returns_a_page(setup: Setup) -> None:
    with setup.node.client() as citizen:
        forms = search_forms(citizen, ["/citizen", "/citizen/status", "/citizen/vehicles"])
        if not forms:
            pytest.skip("no citizen search forms yet")
        for page, action, fields in forms:
            for injection in SQL_INJECTIONS:
                params: dict[str, Any] = dict.fromkeys(fields, injection)
                response = citizen.get(action, params=params)
                assert_no_error_page(response, f"{page} -> {action}")
                assert response.status_code in (200, 400), f"{action}: {response.status_code}"
