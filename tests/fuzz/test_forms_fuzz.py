"""Property-based fuzzing of every HTML form the web UI serves: the forms are found by reading the
pages themselves (staff pages signed in as an SHO, the citizens' portal without), and each is
posted with generated values in every field (long, empty, odd Unicode, control characters,
numbers out of range, wrong dates) and its real CSRF token. No answer may be a server error, and
the node keeps serving. Real RocksDB and SQLite files; `CCTNS_FUZZ_EXAMPLES` sets the examples
per form (the suite runs a few, `make soak` many)."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.index import listings
from node.web.urls import case_url
from tests.web.support import Node, TestClient, csrf, login, make_node, walk_routes

EXAMPLES = int(os.environ.get("CCTNS_FUZZ_EXAMPLES", "25"))
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_FIELD = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.I)
_ATTR = re.compile(r'([a-zA-Z_-]+)="([^"]*)"')
# Forms whose success changes who is signed in: fuzzed, but on a client of their own.
_SESSION_FORMS = ("/login", "/logout", "/lang")


@dataclass(frozen=True)
class Form:
    page: str
    action: str
    fields: tuple[tuple[str, str], ...]  # (name, kind: the input type, "textarea", "select")


def forms_of(page: str, text: str) -> list[Form]:
    found = []
    for attributes, body in _FORM.findall(text):
        attrs = dict(_ATTR.findall(attributes))
        if attrs.get("method", "get").lower() != "post":
            continue
        fields = []
        for tag, raw in _FIELD.findall(body):
            field = dict(_ATTR.findall(raw))
            name = field.get("name")
            if not name or name == "csrf_token":
                continue
            kind = tag.lower() if tag.lower() != "input" else field.get("type", "text").lower()
            if kind in ("submit", "button", "hidden") and name != "csrf_token":
                kind = "hidden"
            fields.append((name, kind))
        action = html.unescape(attrs.get("action") or page)
        found.append(Form(page, action, tuple(dict.fromkeys(fields))))
    return found


def value_strategy(kind: str) -> st.SearchStrategy[str]:
    odd = st.text(min_size=0, max_size=300)
    numbers = st.integers(min_value=-(2**70), max_value=2**70).map(str)
    unicode_digits = st.sampled_from(["١٢٣", "൧൨", "²", "৩৪", "0x1F", "1e9", "-0", "∞"])
    long = st.integers(min_value=1_000, max_value=200_000).map(lambda n: "x" * n)
    dates = st.sampled_from(
        ["0001-01-01T00:00", "9999-12-31T23:59", "2026-02-30T10:00", "2026-13-01", "", "now"]
    )
    common = st.one_of(odd, numbers, unicode_digits, long, st.just(""))
    if kind in ("number",):
        return st.one_of(numbers, unicode_digits, common)
    if kind in ("datetime-local", "date", "time"):
        return st.one_of(dates, common)
    return common


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = make_node(tmp_path_factory.mktemp("fuzz-forms"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def officer(node: Node) -> TestClient:
    return login(node, "PEN700002", "sho")


def pages(node: Node) -> list[str]:
    """Every GET page without path parameters, and the case pages of the seeded records."""
    plain = sorted(
        path
        for path, methods in walk_routes(list(node.app.routes))
        if "GET" in methods and "{" not in path and not path.startswith(("/api", "/static"))
    )
    petition = listings.recent_petitions(node.station.index, limit=1)[0].receipt_number
    return [
        *plain,
        case_url(node.theft),
        case_url(node.zero),
        f"/petition?{urlencode({'number': petition})}",
    ]


def discover(node: Node, client: TestClient) -> list[Form]:
    forms: dict[tuple[str, str], Form] = {}
    for page in pages(node):
        response = client.get(page)
        if response.status_code != 200 or "text/html" not in response.headers["content-type"]:
            continue
        for form in forms_of(page, response.text):
            forms.setdefault((form.action, form.page), form)
    return list(forms.values())


def fuzz(node: Node, client: TestClient, form: Form) -> set[int]:
    statuses: set[int] = set()

    @given(values=st.fixed_dictionaries({n: value_strategy(k) for n, k in form.fields}))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def post(values: dict[str, str]) -> None:
        page = client.get(form.page)
        token = csrf(page.text) if page.status_code == 200 else ""
        response = client.post(
            form.action, data={**values, "csrf_token": token}, follow_redirects=False
        )
        statuses.add(response.status_code)
        assert response.status_code < 500, f"{form.action}: {response.status_code}"

    post()
    return statuses


def test_forms_fuzz_staff_forms_never_a_server_error(node: Node, officer: TestClient) -> None:
    forms = [
        f for f in discover(node, officer) if not f.action.startswith((*_SESSION_FORMS, "/citizen"))
    ]
    actions = {f.action for f in forms}
    # The staff's forms were all found: the registers, casework and amendment among them.
    assert {"/gd/new", "/petitions/new", "/fir/new"} <= actions, actions
    assert any(a.startswith("/case/") for a in actions), actions
    assert any(a.startswith("/petition/") for a in actions), actions
    for form in forms:
        fuzz(node, officer, form)
    assert officer.get("/gd").status_code == 200  # still signed in, still serving


def test_forms_fuzz_portal_forms_never_a_server_error(node: Node) -> None:
    citizen = TestClient(node.app)
    forms = [f for f in discover(node, citizen) if not f.action.startswith(_SESSION_FORMS)]
    actions = {f.action for f in forms}
    assert any(a.startswith("/citizen/") for a in actions), actions
    for form in forms:
        fuzz(node, citizen, form)
    assert citizen.get("/healthz").status_code == 200


def test_forms_fuzz_sign_in_forms_never_a_server_error(node: Node) -> None:
    client = TestClient(node.app)
    forms = [f for f in discover(node, client) if f.action.startswith(_SESSION_FORMS)]
    assert any(f.action == "/login" for f in forms), forms
    for form in forms:
        fuzz(node, client, form)
    assert client.get("/login").status_code == 200
