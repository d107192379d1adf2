"""Regenerates the Python code and type stubs for every .proto in this folder (`make proto`).

Generated files are committed so that a node runs without grpcio-tools; a test regenerates into a
temporary folder and fails when the committed copies are stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parent


def generate(out_dir: Path) -> list[Path]:
    """Runs protoc (from grpcio-tools) over protos/*.proto, writing under out_dir/protos/."""
    # grpcio-tools is a development dependency: only `make proto` and its test need it.
    import grpc_tools  # noqa: PLC0415
    from grpc_tools import protoc  # noqa: PLC0415

    (out_dir / "protos").mkdir(parents=True, exist_ok=True)
    protos = sorted(PROTO_DIR.glob("*.proto"))
    include = str(Path(grpc_tools.__file__).resolve().parent / "_proto")
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={Path(sys.executable).parent / 'protoc-gen-mypy'}",
        f"--mypy_out={out_dir}",
        f"--plugin=protoc-gen-mypy_grpc={Path(sys.executable).parent / 'protoc-gen-mypy_grpc'}",
        f"--mypy_grpc_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(ROOT)) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # The gRPC generators write (empty) service modules for files without services: drop those.
    for proto in protos:
        if not re.search(r"^service ", proto.read_text("utf-8"), re.MULTILINE):
            for suffix in ("_pb2_grpc.py", "_pb2_grpc.pyi"):
                (out_dir / "protos" / f"{proto.stem}{suffix}").unlink(missing_ok=True)
    return sorted((out_dir / "protos").glob("*_pb2*.py*"))


def main() -> int:
    for path in generate(ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
