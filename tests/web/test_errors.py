"""The web boundary's one error mapping (`node.web.errors`), each row through a real request: the
status, the one JSON shape under /api/, the error page for pages, and no internal detail (a
file path, a peer's address) in what a user is shown. Also FastAPI's own errors under /api/
(401, 404, 422) in the same shape, a real storage failure as 503, and the OpenAPI description."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import (
    AuthenticationError,
    CctnsError,
    EntriesLost,
    InputError,
    NotFound,
    NotPermitted,
    PeerError,
    PeerUnavailable,
    RateLimited,
    StoreError,
    TamperError,
    UsageError,
    VerificationError,
)
from node.index import public
from node.records import limits
from node.station import registers
from node.web.errors import ERRORS, row_for
from node.web.rules import Forbidden
from node.web.urls import case_url
from tests.node.support import theft_fir
from tests.web.support import Node, TestClient, csrf, login, open_kalamassery, web_node

SECRET = "/srv/cctns/data/ledger at 10.0.0.7:7101"  # what must never reach a user
PAGE = "/citizen/vehicles"
API = "/api/vehicles/public"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("errors")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_errors_table_lists_the_most_specific_class_first() -> None:
    for position, row in enumerate(ERRORS):
        for later in ERRORS[position + 1 :]:
            assert not issubclass(later.error, row.error), f"{later.error} is shadowed by {row}"
    assert ERRORS[-1].error is CctnsError  # the catch-all comes last


# (raised, status, what the user is shown: None for the error's own message)
CASES: list[tuple[CctnsError, int, str | None]] = [
    (Forbidden("PEN1: the role 'sho' may not do 'x'"), 403, None),
    (NotFound("no FIR No. 99/2026 at this station"), 404, None),
    (InputError("two problems", ["first problem", "second problem"]), 400, None),
    (RateLimited("too many status lookups from your address", retry_after_s=42), 429, None),
    (VerificationError(f"checkpoint of {SECRET} does not verify"), 409, "did not verify"),
    (TamperError(f"the store cannot say its size: {SECRET}", index=0), 409, "did not verify"),
    (NotPermitted(f"role denied at {SECRET}", "kerala/ernakulam-city/dpo"), 502, "refused"),
    (PeerError(f"bad answer from {SECRET}", "kerala/ernakulam-city/dpo"), 502, "another node"),
    (PeerUnavailable(f"no answer from {SECRET}", "kerala/ernakulam-city/dpo"), 502, "another"),
    (AuthenticationError(f"certificate {SECRET} revoked", "kerala/x"), 502, "another node"),
    (StoreError(f"store at {SECRET} is corrupted"), 503, "storage unavailable"),
    (UsageError(f"no node initialised in {SECRET}"), 500, "internal error"),
    (CctnsError(f"something at {SECRET}"), 500, "internal error"),
]


@pytest.mark.parametrize(
    ("error", "status", "shown"), CASES, ids=[type(c[0]).__name__ for c in CASES]
)
def test_errors_each_row_answers_its_status_as_json_and_as_a_page(
    node: Node,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: CctnsError,
    status: int,
    shown: str | None,
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    assert row_for(error).status == status
    monkeypatch.setattr(public, "public_vehicles", failing)
    client = TestClient(node.app)
    with caplog.at_level(logging.WARNING, logger="node.web.errors"):
        answer = client.get(API)
        page = client.get(PAGE)
    assert answer.status_code == page.status_code == status
    retry_after = str(error.retry_after_s) if isinstance(error, RateLimited) else None
    assert answer.headers.get("retry-after") == page.headers.get("retry-after") == retry_after
    body = answer.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    problems = error.problems if isinstance(error, InputError) else []
    assert body["error"]["problems"] == problems
    assert page.headers["content-type"].startswith("text/html")
    message = str(error) if shown is None else body["error"]["message"]
    assert message in html.unescape(page.text)
    if shown is None:
        assert body["error"]["message"] == str(error)
    else:
        assert shown in body["error"]["message"]
        assert SECRET not in answer.text and SECRET not in page.text
        assert SECRET in caplog.text  # the operator still learns what happened


def test_errors_storage_failure_is_503_without_the_path(tmp_path: Path) -> None:
    node = web_node(tmp_path, open_kalamassery(tmp_path))
    try:
        fir = registers.register_fir(node.station, "PEN100001", theft_fir()).ref
        sho = login(node, "PEN500001", "sho")
        serial, year = fir.removeprefix("FIR No. ").split("/")
        node.station.ledger.store.close()  # the disk went away under the running node
        answer = sho.get(f"/api/firs/{year}/{serial}")
        page = sho.get(case_url(fir))
    finally:
        node.close()
    assert answer.status_code == page.status_code == 503
    assert answer.json() == {
        "error": {"status": 503, "message": "storage unavailable", "problems": []}
    }
    assert "storage unavailable" in page.text
    for text in (answer.text, page.text):
        assert str(tmp_path) not in text


def test_errors_request_validation_under_api_has_the_api_shape(node: Node) -> None:
    answer = TestClient(node.app).get(API, params={"q": "x" * (limits.IDENTIFIER + 1)})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["status"] == 422
    assert error["message"]
    (problem,) = error["problems"]
    assert problem.startswith("query.q: ") and str(limits.IDENTIFIER) in problem


def test_errors_fastapis_own_errors_under_api_have_the_api_shape(node: Node) -> None:
    client = TestClient(node.app)
    no_session = client.get("/api/search/persons", params={"q": "raju"})
    assert no_session.status_code == 401
    assert no_session.json() == {
        "error": {"status": 401, "message": "login required", "problems": []}
    }
    missing = client.get("/api/no-such-route")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"status": 404, "message": "Not Found", "problems": []}}
    wrong_method = client.post("/api/vehicles/public")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["status"] == 405
    assert "GET" in wrong_method.headers["allow"]


def test_errors_pages_keep_their_answers(node: Node) -> None:
    client = TestClient(node.app)
    login_first = client.get("/gd", follow_redirects=False)
    assert login_first.status_code == 303
    assert login_first.headers["location"].startswith("/login")
    assert client.get("/no-such-page").status_code == 404


def test_errors_openapi_describes_the_error_shape(node: Node) -> None:
    spec = TestClient(node.app).get("/api/openapi.json").json()
    assert '{"error": {"status"' in spec["info"]["description"]
    schema = spec["components"]["schemas"]["ErrorOut"]
    assert schema["properties"]["error"]["$ref"].endswith("/ErrorBody")
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"status", "message", "problems"}
    responses = spec["paths"][API]["get"]["responses"]
    for status in ("422", "500", "503"):
        ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut"), status
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    officer = spec["paths"]["/api/firs/{year}/{serial}"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(officer)


def test_errors_lost_entries_show_no_internals(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise EntriesLost(3, 10)

    monkeypatch.setattr(public, "public_vehicles", failing)
    answer = TestClient(node.app).get(API)
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == "a record did not verify against the signed log"
    assert "acknowledged" not in answer.text and "cctns" not in answer.text


def test_errors_a_halted_log_refuses_writes_as_503_without_the_reason(tmp_path: Path) -> None:
    node = web_node(tmp_path, open_kalamassery(tmp_path))
    try:
        writer = login(node, "PEN500002", "sho")
        node.station.ledger.halt(f"the scrub found {SECRET} damaged")
        form = writer.get("/gd/new")
        refused = writer.post(
            "/gd/new",
            data={"category": "arrival", "summary": "after", "csrf_token": csrf(form.text)},
            follow_redirects=False,
        )
        size = node.station.ledger.size()
    finally:
        node.close()
    assert refused.status_code == 503
    assert "storage unavailable" in refused.text
    assert SECRET not in html.unescape(refused.text)
    assert size == 1  # the genesis entry alone
