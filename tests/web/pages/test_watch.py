"""The watch-list page (node/web/pages/watch.py) on a real station, in a real app: an officer adds
a watch, sees the alerts the offices above sent for it, withdraws it; a value that cannot be
watched is refused with the reason; an officer whose role may not search the federation may not
watch either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.station.watchlist import Received
from tests.web.support import Node, csrf, login, open_kalamassery, web_node

OTHER = "cctns.in/kerala/thrissur-city/ps-ollur"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    built = web_node(tmp_path, open_kalamassery(tmp_path))
    yield built
    built.close()


def test_an_officer_watches_a_vehicle_and_sees_what_was_found(node: Node) -> None:
    client = login(node, "PEN500600", "sho")
    page = client.get("/watch")
    assert page.status_code == 200 and 'id="new-watch"' in page.text
    answer = client.post(
        "/watch",
        data={"kind": "vehicle", "value": "KL-07-AB-1234", "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    (watch,) = node.station.watchlist.watches("PEN500600")
    assert (watch.kind, watch.value) == ("vehicle", "KL-07-AB-1234")
    # What the district node tells this node (federation Alert) shows on the page.
    node.station.watchlist.receive(
        "kerala/thrissur-city/dpo",
        [Received(watch.watch_id, OTHER, 41, "FIR No. 7/2026", "vehicle KL-07-AB-1234", 1)],
    )
    page = client.get("/watch")
    assert "FIR No. 7/2026" in page.text and OTHER in page.text
    cancel = client.post(
        f"/watch/{watch.watch_id}/cancel",
        data={"csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert cancel.status_code == 303
    assert node.station.watchlist.watches("PEN500600")[0].cancelled_ms > 0


def test_a_value_that_cannot_be_watched_is_refused(node: Node) -> None:
    client = login(node, "PEN500601", "sho")
    page = client.get("/watch")
    answer = client.post(
        "/watch", data={"kind": "phone", "value": "12345", "csrf_token": csrf(page.text)}
    )
    assert answer.status_code == 400 and "no phone number" in answer.text
    assert node.station.watchlist.watches("PEN500601") == []


def test_a_role_without_federated_search_may_not_watch(node: Node) -> None:
    client = login(node, "PEN500602", "gd_writer")
    assert client.get("/watch").status_code == 403
