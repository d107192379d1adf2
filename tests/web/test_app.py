"""The app's wiring (`node.web.app`): every area's router is included by name, and no (method,
path) has two handlers (a second one would win or lose by the order the routers are included)."""

from __future__ import annotations

import pkgutil
from collections import Counter
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest

from node.web import app as web_app
from node.web import pages
from tests.web.support import Node, TestClient, open_kalamassery, walk_routes, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("app")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_app_registers_each_method_and_path_once(node: Node) -> None:
    pairs = Counter(
        (method, path) for path, methods in walk_routes(list(node.app.routes)) for method in methods
    )
    assert len(pairs) > 40, "the routes were not found"
    twice = sorted(pair for pair, count in pairs.items() if count > 1)
    assert twice == []


def test_app_includes_the_router_of_every_page_module() -> None:
    modules = [
        import_module(f"{pages.__name__}.{info.name}")
        for info in pkgutil.iter_modules([str(Path(pages.__file__).parent)])
    ]
    assert len(modules) >= 9
    for module in modules:
        assert module.router in web_app.ROUTERS, f"{module.__name__}.router is not included"
    assert len(web_app.ROUTERS) == len(modules)


def test_app_health_check_names_the_node(node: Node) -> None:
    health = TestClient(node.app).get("/healthz").json()
    assert health == {
        "status": "ok",
        "node": node.station.config.node_id,
        "entries": node.station.ledger.size(),
    }
