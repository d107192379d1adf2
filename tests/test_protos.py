"""The committed generated code matches the .proto files (`make proto` after any change)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protos.generate import PROTO_DIR, generate


def test_protos_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (a dev dependency) is not installed")
    fresh = {p.name: p.read_bytes() for p in generate(tmp_path)}
    committed_names = {p.name for p in PROTO_DIR.glob("*_pb2*.py*")}
    assert committed_names == set(fresh), "generated files differ: run `make proto`"
    for name, content in fresh.items():
        committed = PROTO_DIR / name
        assert committed.exists(), f"{name} is missing: run `make proto`"
        assert committed.read_bytes() == content, f"{name} is stale: run `make proto`"
