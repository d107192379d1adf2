"""Property-based fuzzing of the JSON API from its own OpenAPI description (schemathesis): every
operation, with generated parameters (valid and not), signed in as an officer, never answers a
server error, and the node keeps serving. Runs in the app's process (ASGI), on a seeded station
with real RocksDB and SQLite files; `CCTNS_FUZZ_EXAMPLES` sets the examples per operation (the
suite runs a few, `make soak` many)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.web.support import Node, TestClient, login, make_node

EXAMPLES = int(os.environ.get("CCTNS_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = make_node(tmp_path_factory.mktemp("fuzz-api"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def officer_cookies(node: Node) -> dict[str, str]:
    client = login(node, "PEN700001", "sho")
    return dict(client.cookies)


def test_api_fuzz_never_a_server_error(node: Node, officer_cookies: dict[str, str]) -> None:
    """Every operation of /api/openapi.json, with generated parameters, signed in."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", node.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5  # the API's operations are all described
    seen: dict[str, set[int]] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            response = case.call(cookies=officer_cookies)
            where = f"{case.method} {case.formatted_path}"
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
            if response.status_code >= 400:
                assert "error" in response.json(), f"{where}: {response.text}"

        call()
    # The fuzzing reached every operation's handler, not only the sign-in wall (401/403).
    assert all(codes - {401, 403} for codes in seen.values()), seen
    assert len(seen) == len(operations), seen


def test_api_fuzz_node_still_serves(node: Node) -> None:
    client = TestClient(node.app)
    assert client.get("/healthz").status_code == 200
    assert node.station.ledger.size() > 0
