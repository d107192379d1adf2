"""The `cctns` command line, as auditors' scripts use it: real node dirs, real RocksDB."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import rocksdict

from admin import cli
from admin.cli import main
from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.errors import (
    AuthenticationError,
    CctnsError,
    EntriesLost,
    EquivocationError,
    InputError,
    NotFound,
    NotPermitted,
    PeerError,
    PeerUnavailable,
    ProofError,
    StoreError,
    TamperError,
    UsageError,
    VerificationError,
)
from node.config import DataDir
from node.station.core import Station
from protos import ledger_pb2

ORIGIN = "cctns.in/kerala/thrissur-city/ps-ollur"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def node_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    data = str(tmp_path / "node")
    assert run(capsys, "node", "init", "--data-dir", data, "--origin", ORIGIN)[0] == 0
    code, _, err = run(capsys, "node", "seed", "--data-dir", data, "--records", "120", "--quiet")
    assert code == 0, err
    return data


def info(capsys: pytest.CaptureFixture[str], data: str) -> dict[str, str]:
    code, out, _ = run(capsys, "node", "info", "--data-dir", data, "--json")
    assert code == 0
    parsed: dict[str, str] = json.loads(out)
    return parsed


def test_cli_node_info_json(node_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = info(capsys, node_dir)
    assert set(result) == {"node_id", "origin", "public_key"}
    assert result["origin"] == ORIGIN
    assert len(base64.b64decode(result["public_key"])) == 32


def test_cli_checkpoint_verifies_with_the_published_key(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, note, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    assert code == 0
    public = base64.b64decode(info(capsys, node_dir)["public_key"])
    checkpoint = verify_checkpoint(note.encode(), public, ORIGIN, ORIGIN)
    assert checkpoint.size > 120


def test_cli_entry_and_inclusion_proof_check_out(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "ledger", "entry", "7", "--data-dir", node_dir, "--json")
    assert code == 0
    entry = json.loads(out)
    raw = base64.b64decode(entry["entry"])
    assert base64.b64decode(entry["leaf_hash"]) == hashlib.sha256(b"\0" + raw).digest()
    code, out, _ = run(
        capsys, "ledger", "prove-inclusion", "7", "--size", "50", "--data-dir", node_dir, "--json"
    )
    proof = json.loads(out)
    assert (proof["leafIdx"], proof["treeSize"]) == (7, 50)
    assert proof["leafHash"] == entry["leaf_hash"]
    merkle.verify_inclusion(
        base64.b64decode(proof["leafHash"]),
        7,
        50,
        [base64.b64decode(p) for p in proof["proof"]],
        base64.b64decode(proof["root"]),
    )


def test_cli_consistency_proof_links_to_the_checkpoint(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, note, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    public = base64.b64decode(info(capsys, node_dir)["public_key"])
    checkpoint = verify_checkpoint(note.encode(), public, ORIGIN, ORIGIN)
    code, out, _ = run(
        capsys,
        "ledger",
        "prove-consistency",
        "10",
        str(checkpoint.size),
        "--data-dir",
        node_dir,
        "--json",
    )
    assert code == 0
    proof = json.loads(out)
    assert base64.b64decode(proof["root2"]) == checkpoint.root
    merkle.verify_consistency(
        10,
        checkpoint.size,
        [base64.b64decode(p) for p in proof["proof"]],
        base64.b64decode(proof["root1"]),
        checkpoint.root,
    )


def test_cli_verify_passes_then_names_a_tampered_entry(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "ledger", "verify", "--data-dir", node_dir, "--quiet")
    assert code == 0 and out.startswith("ok:")

    path = str(Path(node_dir) / "ledger")
    options = rocksdict.Options(raw_mode=True)
    db = rocksdict.Rdict(
        path,
        options=options,
        column_families={
            name: rocksdict.Options(raw_mode=True)
            for name in rocksdict.Rdict.list_cf(path, options)
            if name != "default"
        },
    )
    entries = db.get_column_family("entries")
    key = (42).to_bytes(8, "big")
    value = bytearray(entries[key])
    value[len(value) // 2] ^= 0x01
    entries[key] = bytes(value)
    del entries
    db.close()
    code, out, err = run(capsys, "ledger", "verify", "--data-dir", node_dir, "--quiet")
    assert code == 3
    assert "entry 42" in err and len(err.strip().splitlines()) == 1


def test_cli_rebuild_index_gives_identical_answers(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def answers() -> tuple[object, ...]:
        station = Station.open(DataDir(node_dir))
        try:
            hits = station.index.search.persons("Raju")
            return (station.index.snapshot(), [(h.person_id, h.record_ref) for h in hits])
        finally:
            station.close()

    before = answers()
    assert run(capsys, "admin", "rebuild-index", "--data-dir", node_dir, "--quiet")[0] == 0
    assert answers() == before


def test_cli_init_refuses_to_overwrite(node_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "node", "init", "--data-dir", node_dir)
    assert code == 2 and "refusing to overwrite" in err


def test_cli_missing_node_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "ledger", "checkpoint", "--data-dir", str(tmp_path / "none"))
    assert code == 2
    assert err.startswith("error: ") and "node init" in err and "Traceback" not in err


def test_cli_record_add_rejects_bad_input_and_writes_nothing(
    node_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "fir.json"
    bad.write_text(
        json.dumps({"brief_facts": "x", "sections": [{"act": "BNS", "section": "9999"}]})
    )
    _, before, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    code, _, err = run(
        capsys,
        "record",
        "add",
        "fir",
        "--file",
        str(bad),
        "--officer",
        "PEN1",
        "--data-dir",
        node_dir,
    )
    assert code == 2 and "9999" in err
    _, after, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    assert before == after


@pytest.mark.slow  # a real `cctns` process
def test_cli_entry_point_runs_as_a_program(node_dir: str) -> None:
    exe = Path(sys.executable).parent / "cctns"
    result = subprocess.run(
        [str(exe), "node", "info", "--json"],
        env={**os.environ, "CCTNS_DATA_DIR": node_dir},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["origin"] == ORIGIN


def test_cli_alerts_lists_recorded_equivocations(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "node", "alerts", "--data-dir", node_dir)[0] == 0
    station = Station.open(DataDir(node_dir))
    try:
        station.append_system(
            ledger_pb2.ReplicationEvent(
                kind="equivocation",
                origin="cctns.in/kerala/x/ps-y",
                checkpoint=b"note one",
                conflicting_checkpoint=b"note two",
                detail="same size 10, different roots",
            )
        )
    finally:
        station.close()
    code, out, _ = run(capsys, "node", "alerts", "--data-dir", node_dir, "--json")
    assert code == 3
    (alert,) = json.loads(out)
    assert alert["origin"] == "cctns.in/kerala/x/ps-y"
    assert alert["detail"] == "same size 10, different roots"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("x"), 2),
        (NotFound("x"), 2),
        (UsageError("x"), 2),
        (VerificationError("x"), 3),
        (TamperError("x", index=4), 3),
        (EntriesLost(3, 10), 3),
        (ProofError("x"), 3),
        (EquivocationError("x"), 3),
        (StoreError("x"), 4),
        (PeerError("x"), 5),
        (PeerUnavailable("x"), 5),
        (AuthenticationError("x"), 5),
        (NotPermitted("x"), 5),
        (CctnsError("x"), 1),
    ],
)
def test_cli_exit_code_by_error_class(error: CctnsError, code: int) -> None:
    assert cli.exit_code(error) == code


def test_cli_exit_codes_stated_alike_in_help_readme_and_decisions() -> None:
    repo = Path(__file__).resolve().parents[2]
    readme = " ".join((repo / "README.md").read_text().split())
    decisions = " ".join((repo / "docs" / "decisions.md").read_text().split())
    help_text = " ".join(cli.build_parser().format_help().split())
    for code, meaning in cli.EXIT_MEANINGS:
        stated = f"{code} {meaning}"
        assert stated in readme and stated in decisions and stated in help_text, stated
    assert {code for _, code in cli.EXIT_CODES} <= {code for code, _ in cli.EXIT_MEANINGS}
