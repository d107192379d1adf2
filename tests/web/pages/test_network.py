"""The staff page /network (`node.web.pages.network`) over `federation.metrics.office_statuses`:
the offices that need attention first, their figures, both languages, the charts; and who may
see it. GET /metrics's allow list is tested here too, on the same app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from federation.metrics import STALE_AFTER, OfficeStatus, ReplicaFigures, office_statuses
from federation.replicas import origin_slug
from tests.web.support import Node, TestClient, login, open_kalamassery, web_node

NOW = 1_767_225_600.0


def figures(origin: str, **changes: object) -> ReplicaFigures:
    values: dict[str, object] = dict(origin=origin, verified=100, behind=0, state="idle",
                                     quarantined=False, verified_at=NOW - 60,
                                     last_contact=NOW - 30)  # fmt: skip
    values.update(changes)
    return ReplicaFigures(**values)  # type: ignore[arg-type]


class _Listed:
    software_version = "0.2.0"


class _Directory:
    """A directory that has seen one office lately, and knows one this node holds no replica of."""

    def get(self, node_id: str) -> _Listed | None:
        return _Listed() if node_id in ("kerala/ekm/ps-ok", "kerala/ekm/ps-new") else None

    def last_seen(self, node_id: str) -> float | None:
        return NOW - 5 if node_id == "kerala/ekm/ps-new" else None


def offices() -> list[OfficeStatus]:
    children = [(f"kerala/ekm/{name}", f"cctns.in/kerala/ekm/{name}")
                for name in ("ps-ok", "ps-fork", "ps-behind", "ps-silent", "ps-scrub")]  # fmt: skip
    held = [
        figures("cctns.in/kerala/ekm/ps-ok"),
        figures("cctns.in/kerala/ekm/ps-fork", quarantined=True, state="quarantined"),
        figures("cctns.in/kerala/ekm/ps-behind", behind=2500, state="fetching"),
        figures("cctns.in/kerala/ekm/ps-silent", last_contact=NOW - STALE_AFTER - 1),
        figures("cctns.in/kerala/ekm/ps-scrub"),
    ]
    damaged = [f"replicas/{origin_slug('cctns.in/kerala/ekm/ps-scrub')}/index.sqlite3"]
    return office_statuses(children, held, now=NOW, storage_alerts=damaged,
                           directory=_Directory(), listed=["kerala/ekm/ps-new"],
                           started=NOW - 10)  # fmt: skip


def test_network_offices_needing_attention_first() -> None:
    rows = offices()
    assert [(row.node_id.rsplit("/", 1)[1], row.alerts) for row in rows] == [
        ("ps-fork", ("quarantined",)),
        ("ps-scrub", ("scrub",)),
        ("ps-silent", ("stale",)),
        ("ps-behind", ("behind",)),
        ("ps-new", ()),
        ("ps-ok", ()),
    ]
    new = rows[4]
    assert not new.held and new.last_seen == NOW - 5 and new.software_version == "0.2.0"
    assert rows[3].behind == 2500 and rows[5].software_version == "0.2.0"
    # A child never heard from: "never-seen", once the node has run long enough to expect it.
    (row,) = office_statuses([("kerala/ekm/ps-x", "cctns.in/kerala/ekm/ps-x")],
                             [figures("cctns.in/kerala/ekm/ps-x", last_contact=None)],
                             now=NOW, started=NOW - STALE_AFTER - 1)  # fmt: skip
    assert row.alerts == ("never-seen",)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("network")
    made = web_node(tmp, open_kalamassery(tmp), data_dir=tmp / "node")
    made.app.state.context.offices = offices
    yield made
    made.close()


def test_network_page_shows_every_office_attention_first(node: Node) -> None:
    sho = login(node, "PEN400001", "sho")
    page = sho.get("/network")
    assert page.status_code == 200
    html = page.text
    order = [html.index(f'data-office="kerala/ekm/{name}"') for name in
             ("ps-fork", "ps-scrub", "ps-silent", "ps-behind", "ps-new", "ps-ok")]  # fmt: skip
    assert order == sorted(order)
    assert "quarantined (equivocation)" in html and "2,500" in html and "0.2.0" in html
    assert html.count("<svg") == 2 and "Replication lag: entries behind" in html
    assert "4 need attention" in html
    malayalam = sho.get("/network?lang=ml").text
    assert "ഈ നോഡിന് കീഴിലുള്ള ഓഫീസുകൾ" in malayalam and "ക്വാറന്റൈനിൽ" in malayalam


def test_network_page_refuses_who_may_not_see_it(node: Node) -> None:
    response = TestClient(node.app).get("/network", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert login(node, "PEN400002", "gd_writer").get("/network").status_code == 403


def test_network_metrics_served_to_loopback_and_the_allow_list_only(node: Node) -> None:
    registry = CollectorRegistry()
    Counter("cctns_test_scrapes", "a counter", registry=registry).inc()
    app = node.app
    app.state.metrics = None
    assert TestClient(app, client=("127.0.0.1", 5000)).get("/metrics").status_code == 404
    app.state.metrics = registry
    local = TestClient(app, client=("127.0.0.1", 5000)).get("/metrics")
    assert local.status_code == 200 and "cctns_test_scrapes_total 1.0" in local.text
    outsider = TestClient(app, client=("203.0.113.9", 5000)).get("/metrics")
    assert outsider.status_code == 403 and "cctns_test" not in outsider.text


def test_network_without_offices(tmp_path: Path) -> None:
    bare = web_node(tmp_path, open_kalamassery(tmp_path))
    try:
        page = login(bare, "PEN400003", "sho").get("/network")
        assert page.status_code == 200 and "holds no replicas" in page.text
    finally:
        bare.close()
