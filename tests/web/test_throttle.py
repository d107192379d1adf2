"""The web UI's rate limits (`node.web.throttle`) over a real station and its app: every citizen
submission, status lookup (page and API alike) and FIR copy counts per client and in total, 429
with Retry-After over a limit and nothing written; staff pages and the officers' API count
against nothing; sign-in is throttled per client without locking the officers' accounts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.requests import Request

from node.station.core import Station
from node.web.throttle import client_address
from tests.web.support import (
    PASSWORD,
    ROOMY,
    Node,
    TestClient,
    add_officer,
    code,
    csrf,
    login,
    open_kalamassery,
    post_form,
    web_node,
)

MOBILE = "9847055555"
COMPLAINT = {
    "name": "Mini Joseph",
    "mobile": MOBILE,
    "address": "Kalamassery North",
    "subject": "Neighbour's dog bites",
    "details": "The neighbour's dog bit my son near the gate.",
}
# Every citizen submission: (path, form). They share one budget.
SUBMISSIONS = [
    ("/citizen/complaint", COMPLAINT),
    ("/citizen/complaint", {**COMPLAINT, "kind": "e_fir"}),
    (
        "/citizen/complaint",
        {**COMPLAINT, "kind": "missing_person", "missing_name": "Ravi", "missing_age": "70"},
    ),
    ("/citizen/request", {**COMPLAINT, "kind": "passport_verification"}),
    ("/citizen/grievance", {**COMPLAINT, "details": "The constable was rude."}),
]


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    made = open_kalamassery(tmp_path_factory.mktemp("throttle"))
    yield made
    made.close()


@pytest.fixture
def limited() -> Iterator[list[Node]]:
    """Apps over the station made by `app(apps, tmp, station, **limits)`; their accounts closed
    after."""
    apps: list[Node] = []
    yield apps
    for made in apps:
        made.accounts.close()


def app(apps: list[Node], tmp: Path, station: Station, **limits: str) -> Node:
    """The station's app with ROOMY limits but for `limits`."""
    made = web_node(tmp, station, limits=replace(ROOMY, **limits))
    apps.append(made)
    return made


def client(node: Node, address: str = "10.0.0.1") -> TestClient:
    return TestClient(node.app, client=(address, 50000))


def assert_refused(response: object, *, api: bool = False, words: str = "") -> int:
    """A 429 answer with Retry-After; returns the seconds."""
    status = getattr(response, "status_code", None)
    headers = getattr(response, "headers", {})
    assert status == 429, getattr(response, "text", "")
    wait = int(headers["retry-after"])
    assert 1 <= wait <= 3600
    text: str = getattr(response, "text", "")
    if api:
        error = getattr(response, "json")()["error"]  # noqa: B009
        assert error["status"] == 429 and error["problems"] == []
        text = error["message"]
    assert words in text
    assert f"try again in {wait} s" in text
    return wait


# -- the portal ------------------------------------------------------------------------------------


def test_throttle_complaints_per_client_then_429_and_nothing_written(
    limited: list[Node], tmp_path: Path, station: Station
) -> None:
    node = app(limited, tmp_path, station, portal_submissions="2/minute")
    citizen = client(node)
    for _ in range(2):
        assert post_form(citizen, "/citizen/complaint", COMPLAINT).status_code == 200
    size = station.ledger.size()
    refused = post_form(citizen, "/citizen/complaint", COMPLAINT)
    assert_refused(refused, words="too many complaints and requests from your address")
    assert refused.headers["content-type"].startswith("text/html")
    assert station.ledger.size() == size  # nothing written
    # Another address has its own budget.
    assert post_form(client(node, "10.0.0.2"), "/citizen/complaint", COMPLAINT).status_code == 200


def test_throttle_total_limit_across_clients(
    limited: list[Node], tmp_path: Path, station: Station
) -> None:
    node = app(limited, tmp_path, station, portal_submissions_total="3/minute")
    for address in ("10.0.1.1", "10.0.1.2", "10.0.1.3"):
        assert post_form(client(node, address), "/citizen/complaint", COMPLAINT).status_code == 200
    size = station.ledger.size()
    refused = post_form(client(node, "10.0.1.4"), "/citizen/complaint", COMPLAINT)
    assert_refused(refused, words="the portal is receiving too many complaints and requests")
    assert station.ledger.size() == size


@pytest.mark.parametrize(("path", "form"), SUBMISSIONS, ids=lambda v: str(v)[:40])
def test_throttle_every_citizen_submission_counts(
    limited: list[Node], tmp_path: Path, station: Station, path: str, form: dict[str, str]
) -> None:
    node = app(limited, tmp_path, station, portal_submissions="1/hour")
    citizen = client(node)
    assert post_form(citizen, "/citizen/complaint", COMPLAINT).status_code == 200
    size = station.ledger.size()
    assert_refused(post_form(citizen, path, form))
    assert station.ledger.size() == size


def test_throttle_status_lookups_page_and_api_share_one_budget(
    limited: list[Node], tmp_path: Path, station: Station
) -> None:
    node = app(limited, tmp_path, station, portal_lookups="2/minute")
    citizen = client(node)
    lookup = {"reference": "PET/2026/000999", "mobile": MOBILE}
    assert post_form(citizen, "/citizen/status", lookup).status_code == 200
    assert citizen.get("/api/status/PET/2026/000999", params={"mobile": MOBILE}).status_code == 404
    answer = citizen.get("/api/status/PET/2026/000999", params={"mobile": MOBILE})
    assert_refused(answer, api=True, words="too many status lookups from your address")
    assert_refused(post_form(citizen, "/citizen/status", lookup))


def test_throttle_fir_copies(limited: list[Node], tmp_path: Path, station: Station) -> None:
    node = app(limited, tmp_path, station, portal_fir_copies_total="1/minute")
    form = {"reference": "FIR No. 1/2026", "mobile": MOBILE}
    assert post_form(client(node, "10.0.2.1"), "/citizen/fir-copy", form).status_code == 200
    refused = post_form(client(node, "10.0.2.2"), "/citizen/fir-copy", form)
    assert_refused(refused, words="the portal is receiving too many FIR copy requests")


def test_throttle_staff_pages_and_api_count_against_nothing(
    limited: list[Node], tmp_path: Path, station: Station
) -> None:
    exhausted = "1/hour"
    node = app(
        limited,
        tmp_path,
        station,
        portal_submissions=exhausted,
        portal_lookups=exhausted,
        portal_fir_copies=exhausted,
    )
    sho = login(node, "PEN300001", "sho")  # from the same address as the citizen below
    citizen = TestClient(node.app)
    post_form(citizen, "/citizen/complaint", COMPLAINT)
    post_form(citizen, "/citizen/status", {"reference": "PET/2026/000001", "mobile": MOBILE})
    assert_refused(post_form(citizen, "/citizen/complaint", COMPLAINT))
    assert_refused(citizen.get("/api/status/PET/2026/000001", params={"mobile": MOBILE}), api=True)
    for _ in range(5):
        for path in ("/gd", "/fir/new", "/petitions", "/citizen/vehicles"):
            assert sho.get(path).status_code == 200, path
        assert sho.get("/api/search/persons", params={"q": "Mini Joseph"}).status_code == 200
    # An officer's own writes are staff pages too.
    page = sho.get("/gd/new")
    written = sho.post(
        "/gd/new",
        data={"csrf_token": csrf(page.text), "category": "departure", "summary": "Patrol left."},
        follow_redirects=False,
    )
    assert written.status_code == 303, written.text


def test_throttle_counts_an_ipv6_client_by_its_64() -> None:
    def address(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1)}))

    assert address("2001:db8:1:2::5") == address("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address("2001:db8:1:3::5") != address("2001:db8:1:2::5")
    assert address("::ffff:10.0.0.7") == address("10.0.0.7") == "10.0.0.7"
    assert address("testclient") == "testclient"


# -- sign-in ---------------------------------------------------------------------------------------


def _sign_in(citizen: TestClient, officer_id: str, password: str) -> int:
    page = citizen.get("/login")
    response = citizen.post(
        "/login",
        data={"officer_id": officer_id, "password": password, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    return response.status_code


def test_throttle_sign_in_failures_slow_the_client_not_lock_the_officers(
    limited: list[Node], tmp_path: Path, station: Station
) -> None:
    node = app(limited, tmp_path, station, login_failures_per_client="3/minute")
    officers = [f"PEN40000{n}" for n in range(4)]
    totps = {officer: add_officer(node.accounts, node.clock, officer)[1] for officer in officers}
    outsider = client(node, "203.0.113.9")
    # Three wrong passwords, each for another officer: none of them is locked by that.
    for officer in officers[:3]:
        assert _sign_in(outsider, officer, "wrong password!") == 401
    # The outsider is refused now, even with a right password, before anything is checked.
    events = len(node.accounts.events(officers[3]))
    page = outsider.get("/login")
    refused = outsider.post(
        "/login",
        data={"officer_id": officers[3], "password": PASSWORD, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert_refused(refused, words="too many failed sign-ins from your address")
    assert len(node.accounts.events(officers[3])) == events  # not checked, nothing counted
    # Every officer still signs in, from their own address.
    for officer in officers:
        assert _sign_in(client(node, "10.0.3.1"), officer, PASSWORD) == 303
        pending = node.accounts.begin_login(officer, PASSWORD)
        node.accounts.complete_login(pending.token, code(totps[officer], node.clock.now))
        node.clock.advance(30_000)


def test_throttle_sign_in_attempts_per_client(
    limited: list[Node], tmp_path: Path, station: Station
) -> None:
    node = app(limited, tmp_path, station, login_attempts_per_client="2/minute")
    add_officer(node.accounts, node.clock, "PEN500001")
    station_lan = client(node, "10.0.4.1")
    assert _sign_in(station_lan, "PEN500001", PASSWORD) == 303
    assert _sign_in(station_lan, "PEN500001", PASSWORD) == 303
    assert _sign_in(station_lan, "PEN500001", PASSWORD) == 429
