"""The layers' import rules, as a test: imports point down only, and node/ has no import cycle.

    admin, simulations            (nothing of ours imports them)
    node.runtime                  the one composition root
    node.web | node.peers         siblings: neither imports the other
    node.metrics                  the node's figures for monitoring (down to node.station)
    node.station
    node.index
    node.records                  the pure domain
    node.config                   a node's configuration files
    federation                    knows the node only through its own interfaces
    ledger, protos

`node.demo` (synthetic data and demos) is used by admin, simulations and tests, never by the
layers. Every module is parsed, not imported: imports inside functions and `if TYPE_CHECKING:`
blocks count like any other. The checker tests itself on deliberate violations at the end.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("ledger", "protos", "federation", "node", "admin", "simulations")

_BASE = ("ledger", "protos")
_NODE_BASE = (*_BASE, "federation", "node.config")
# Who may import whom: a module of the package on the left may import only the packages on the
# right (and its own package). The longest matching prefix applies.
ALLOWED: dict[str, tuple[str, ...]] = {
    "ledger": _BASE,
    "protos": ("protos",),
    "federation": (*_BASE, "federation"),
    "node.config": _NODE_BASE,
    "node.records": (*_BASE, "node.records"),
    "node.index": (*_NODE_BASE, "node.records", "node.index"),
    "node.station": (*_NODE_BASE, "node.records", "node.index", "node.station"),
    "node.peers": (*_NODE_BASE, "node.records", "node.index", "node.station", "node.peers"),
    "node.web": (*_NODE_BASE, "node.records", "node.index", "node.station", "node.web"),
    "node.metrics": (*_NODE_BASE, "node.records", "node.index", "node.station", "node.metrics"),
    "node.runtime": (*_NODE_BASE, "node"),
    "node.demo": (*_NODE_BASE, "node"),
    "admin": PROJECT,
    "simulations": PROJECT,
}
# Outside the layers: may be imported by these only.
RESTRICTED: dict[str, tuple[str, ...]] = {
    "node.demo": ("node.demo", "admin", "simulations"),
    "node.runtime": ("node.demo", "admin", "simulations"),
    "admin": ("admin",),
    # `cctns sim` (admin/sim_cli.py) runs the network simulator.
    "simulations": ("simulations", "admin"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str) -> Iterator[str]:
    """Every project module `source` imports (absolute, relative, and `from pkg import mod`)."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from node.station import registers` imports node.station.registers.
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from (n for n in names if n.split(".")[0] in PROJECT)


def _layer(name: str, table: dict[str, tuple[str, ...]]) -> str | None:
    found = [key for key in table if name == key or name.startswith(key + ".")]
    return max(found, key=len) if found else None


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def violations(module: str, imported: set[str]) -> list[str]:
    """The imports of `module` the rules forbid, one message each."""
    out = []
    layer = _layer(module, ALLOWED)
    for name in sorted(imported):
        if layer is not None and not _within(name, (*ALLOWED[layer], layer)):
            out.append(f"{module} imports {name}: {layer} may import only {ALLOWED[layer]}")
        restricted = _layer(name, RESTRICTED)
        if restricted is not None and not _within(module, (*RESTRICTED[restricted], "tests")):
            out.append(f"{module} imports {name}: only {RESTRICTED[restricted]} may")
    return out


def project_modules() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            name = module_name(path)
            modules[name] = set(imports_of(path.read_text(encoding="utf-8"), name))
    return modules


MODULES = project_modules()


def test_layering_covers_every_package() -> None:
    for package in PROJECT:
        assert any(name == package or name.startswith(package + ".") for name in MODULES)
    for name in MODULES:
        assert _layer(name, ALLOWED) is not None or name == "node", f"{name} has no layer"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layering_imports_point_down(module: str) -> None:
    assert violations(module, MODULES[module]) == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the modules of `graph`, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph.get(name, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name)) is not None:
            return found
    return None


def test_layering_no_import_cycle_in_node() -> None:
    graph = {
        name: {t for t in targets if t != name and t.startswith("node.")}
        for name, targets in MODULES.items()
        if name.startswith("node.")
    }
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


# -- the checker, checked ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("ledger.log", "from node.station.core import Station"),
        ("federation.service", "import node.config"),
        ("node.index.lookups", "def f():\n    from node.station import registers"),
        ("node.records.refs", "from node.index.schema import records"),
        ("node.station.core", "from node.web import app"),
        ("node.web.pages", "from node.peers.clients import Peers"),
        ("node.peers.peer_node", "from node.web.app import WebContext"),
        ("node.station.registers", "from node.demo.synthetic import SyntheticRecords"),
        ("node.index.reports", "import simulations.bench"),
        ("federation.tls", "from admin import cli"),
        ("node.records.names", "from ..index import schema"),
    ],
)
def test_layering_checker_refuses(module: str, source: str) -> None:
    assert violations(module, set(imports_of(source, module)))


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("node.station.core", "from node.index.record_index import RecordIndex"),
        ("node.web.app", "from node.station.core import Station"),
        ("node.runtime", "from node.web.app import create_app\nfrom node.peers import clients"),
        ("admin.cli", "from node.demo.station import run_demo"),
        ("node.peers.clients", "from federation.fanout import federated_search"),
    ],
)
def test_layering_checker_allows(module: str, source: str) -> None:
    assert violations(module, set(imports_of(source, module))) == []


def test_layering_checker_finds_a_cycle() -> None:
    graph = {"node.a": {"node.b"}, "node.b": {"node.c"}, "node.c": {"node.a"}, "node.d": set()}
    assert _cycle(graph) == ["node.a", "node.b", "node.c", "node.a"]
    assert _cycle({"node.a": {"node.b"}, "node.b": set()}) is None
