"""The ledger core stays pure: no storage engine, database, network stack or event loop.

Every module in ledger/ except the adapters listed below is parsed (not imported) and its
imports checked, including imports inside functions and `if TYPE_CHECKING:` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parents[2] / "ledger"
ADAPTERS = {"rocksdb_store.py"}
FORBIDDEN = {"rocksdict", "sqlalchemy", "grpc", "trio"}
CORE = sorted(path for path in LEDGER.glob("*.py") if path.name not in ADAPTERS)


def imported_modules(source: str) -> set[str]:
    """Top-level package names a module imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def test_core_purity_covers_the_core() -> None:
    names = {path.name for path in CORE}
    assert {"store.py", "errors.py"} <= names
    assert "rocksdb_store.py" not in names


@pytest.mark.parametrize("module", CORE, ids=lambda path: path.name)
def test_core_purity_no_forbidden_imports(module: Path) -> None:
    found = imported_modules(module.read_text(encoding="utf-8")) & FORBIDDEN
    assert not found, f"ledger/{module.name} imports {sorted(found)}: adapters only"


@pytest.mark.parametrize(
    "source",
    [
        "import rocksdict",
        "import grpc.aio as g",
        "from trio import lowlevel",
        "def f():\n    from sqlalchemy.orm import Session",
        "import importlib\nimportlib.import_module('rocksdict')",
    ],
)
def test_core_purity_checker_sees_imports(source: str) -> None:
    assert imported_modules(source) & FORBIDDEN
