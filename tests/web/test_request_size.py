"""The request-size bound (`node.web.request_size`) over a real station: a body over
`limits.MAX_REQUEST_BYTES` is refused with 413 before anything parses it, on the citizens' portal,
a staff form and the JSON API, and nothing is written; the largest real form still passes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.records import limits
from node.web.forms import ACCUSED_ROWS, PROPERTY_ROWS, VICTIM_ROWS, WITNESS_ROWS
from tests.web.browser import csrf_from, running_node
from tests.web.support import Node, TestClient, csrf, login, post_form, staff_node, theft_form

MEGABYTE = "x" * 1_000_000
MALAYALAM = "കേരളം" * limits.FACTS  # three bytes a character, nine percent-encoded


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = staff_node(tmp_path_factory.mktemp("request-size"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN300001", "sho", name="Anitha K", sex="F")


FORM_ENCODED = {"content-type": "application/x-www-form-urlencoded"}


def _chunked_name(token: str, size: int) -> Iterator[bytes]:
    """A complaint form whose name is `size` bytes, sent in chunks: no Content-Length."""
    yield f"csrf_token={token}&mobile=9847012345&name=".encode()
    for _ in range(size // 100_000):
        yield b"y" * 100_000


def _unchanged(node: Node, before: tuple[int, bytes]) -> bool:
    return (node.station.ledger.size(), node.station.ledger.checkpoint()) == before


def _state(node: Node) -> tuple[int, bytes]:
    return node.station.ledger.size(), node.station.ledger.checkpoint()


def test_request_size_portal_complaint_with_a_megabyte_field(node: Node) -> None:
    before = _state(node)
    form = {"name": "Mini", "mobile": "9847012345", "address": "Kalamassery", "subject": "s"}
    for field in ("details", "missing_name", "name"):
        citizen = TestClient(node.app)
        answer = post_form(
            citizen,
            "/citizen/complaint",
            {**form, "details": "d", "kind": "missing_person", "missing_age": "9", field: MEGABYTE},
        )
        assert answer.status_code == 413, field
        assert "bytes: it was refused" in answer.text
        assert answer.headers["x-frame-options"] == "DENY"  # the security headers too
    assert _unchanged(node, before)


def test_request_size_staff_fir_form_with_a_megabyte_field(node: Node, sho: TestClient) -> None:
    before = _state(node)
    answer = post_form(sho, "/fir/new", theft_form(brief_facts=MEGABYTE))
    assert answer.status_code == 413
    assert _unchanged(node, before)


def test_request_size_json_api_refuses_a_large_body_declared_or_not(node: Node) -> None:
    client = TestClient(node.app)
    declared = client.post(
        "/api/status/PET-2026-1",
        content=b'{"q": "' + MEGABYTE.encode() + b'"}',
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["status"] == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 100_000

    unannounced = client.post(
        "/api/status/PET-2026-1", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in unannounced.request.headers
    assert unannounced.status_code == 413


def test_request_size_chunked_form_over_the_limit_is_refused(node: Node) -> None:
    citizen = TestClient(node.app)
    token = csrf(citizen.get("/citizen/complaint").text)
    before = _state(node)

    answer = citizen.post(
        "/citizen/complaint", content=_chunked_name(token, 600_000), headers=FORM_ENCODED
    )
    assert answer.status_code == 413
    assert _unchanged(node, before)


def _at_limit(field: str) -> str:
    return MALAYALAM[: limits.text(field)]


def test_request_size_largest_fir_form_is_registered(node: Node, sho: TestClient) -> None:
    """Every free-text field of the FIR form at its limit, in Malayalam (nine bytes a character
    once percent-encoded): the form fits the bound, and the station registers it."""
    form = theft_form(
        place=_at_limit("Place.description"), brief_facts=_at_limit("Fir.brief_facts")
    )
    people = ["complainant_"]
    people += [f"accused_{row}_" for row in range(ACCUSED_ROWS)]
    people += [f"victim_{row}_" for row in range(VICTIM_ROWS)]
    people += [f"witness_{row}_" for row in range(WITNESS_ROWS)]
    for prefix in people:
        form[prefix + "name"] = _at_limit("Person.name")
        form[prefix + "relative_name"] = _at_limit("Person.relative_name")
        form[prefix + "relation"] = "S/o"
        form[prefix + "address"] = _at_limit("Person.address")
        form[prefix + "age"] = "40"
        form[prefix + "sex"] = "M"
    form.pop("accused_0_unknown")
    for row in range(PROPERTY_ROWS):
        prefix = f"property_{row}_"
        form[prefix + "category"] = _at_limit("PropertyItem.category")
        form[prefix + "description"] = _at_limit("PropertyItem.description")
        form[prefix + "status"] = "stolen"
        form[prefix + "value"] = "65,000"
    token = csrf(sho.get("/fir/new").text)
    answer = sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    sent = int(answer.request.headers["content-length"])
    assert 200_000 < sent < limits.MAX_REQUEST_BYTES
    assert answer.status_code == 303, answer.text
    index = node.station.ledger.size() - 1
    written = node.station.ledger.body(index).fir
    assert written.brief_facts == form["brief_facts"]
    assert len(written.persons) == 1 + ACCUSED_ROWS + VICTIM_ROWS + WITNESS_ROWS


def _ledger_size(data_dir: Path) -> int:
    """The size of a running node's log, read beside it (read-only)."""
    with RocksDBLogStore.open(DataDir(data_dir).ledger_path, audit=True) as store:
        return store.size()


@pytest.mark.slow  # a real node process: hypercorn between the client and the app
def test_request_size_real_server_refuses_a_megabyte_complaint(tmp_path: Path) -> None:
    with running_node(tmp_path, records=0) as served, served.client() as client:
        before = _ledger_size(served.data_dir)
        token = csrf_from(client.get("/citizen/complaint").text)
        form = {"csrf_token": token, "mobile": "9847012345", "name": MEGABYTE}
        refused = client.post("/citizen/complaint", data=form)
        assert refused.status_code == 413
        assert "bytes: it was refused" in refused.text
        unannounced = client.post(
            "/citizen/complaint", content=_chunked_name(token, 1_000_000), headers=FORM_ENCODED
        )
        assert unannounced.status_code == 413
        # The node still serves, and takes a complaint of a real size.
        token = csrf_from(client.get("/citizen/complaint").text)
        fine = {**form, "csrf_token": token, "name": "Mini Joseph", "address": "Kalamassery"}
        fine.update(subject="Neighbour's dog bites", details="It bit my son near the gate.")
        accepted = client.post("/citizen/complaint", data=fine)
        assert accepted.status_code == 200 and "PET/" in accepted.text
        assert _ledger_size(served.data_dir) == before + 1
