"""POST /api/exchange/inbound (node/web/pages/api.py): a court's signed message, pushed over HTTP
without a session, is appended to its case once; the same message again appends nothing; a
changed message, an untrusted sender and text that is no JSON are refused and append nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.station.test_exchange import BODIES, case_with_events, message, trust
from tests.web.support import Node, TestClient, open_kalamassery, web_node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    built = web_node(tmp_path, open_kalamassery(tmp_path))
    yield built
    built.close()


def test_a_courts_message_is_appended_once_and_a_changed_one_refused(node: Node) -> None:
    number = case_with_events(node.station)
    trust(node.station)
    client = TestClient(node.app)
    signed = message("court_hearing", BODIES["court_hearing"], number)
    size = node.station.ledger.size()
    answer = client.post("/api/exchange/inbound", content=json.dumps(signed))
    assert answer.status_code == 200, answer.text
    assert answer.json()["appended"] is True and answer.json()["fir_number"] == number
    assert node.station.ledger.size() == size + 1
    again = client.post("/api/exchange/inbound", content=json.dumps(signed))
    assert again.status_code == 200 and again.json()["appended"] is False
    assert node.station.ledger.size() == size + 1

    changed = dict(signed, message_id="court_hearing-2")  # not what the court signed
    assert client.post("/api/exchange/inbound", content=json.dumps(changed)).status_code == 409
    stranger = message("court_hearing", BODIES["court_hearing"], number, sender="court.unknown")
    refused = client.post("/api/exchange/inbound", content=json.dumps(stranger))
    assert refused.status_code == 400
    assert client.post("/api/exchange/inbound", content=b"{not json").status_code == 400
    assert node.station.ledger.size() == size + 1
