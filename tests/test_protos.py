"""The committed generated code matches the .proto files (`make proto` after any change)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protos.generate import PROTO_DIR, generate


def test_protos_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (a dev dependency) is not installed")
    fresh = {p.name: p.read_bytes() for p in generate(tmp_path)}
    for name, content in fresh.items():
        if name.endswith("_pb2_grpc.py") and b"class " not in content:
            continue  # empty service modules are not kept
        committed = PROTO_DIR / name
        assert committed.exists(), f"{name} is missing: run `make proto`"
        assert committed.read_bytes() == content, f"{name} is stale: run `make proto`"
