"""The `cctns` command line, as auditors' scripts use it: real node dirs, real RocksDB."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rocksdict

from admin import cli, record_cli
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
    RateLimited,
    StoreError,
    TamperError,
    UsageError,
    VerificationError,
)
from node.config import DataDir
from node.station.core import Station
from protos import ledger_pb2
from tests.admin.support import run

ORIGIN = "cctns.in/kerala/thrissur-city/ps-ollur"


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


def test_cli_rotate_key_then_the_auditors_commands_follow(
    node_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = info(capsys, node_dir)["public_key"]
    code, out, err = run(capsys, "node", "rotate-key", "--data-dir", node_dir, "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["previous_key"] == before != rotated["public_key"]
    assert "cctns ca enrol" in err  # the certificate still names the old key
    assert info(capsys, node_dir)["public_key"] == rotated["public_key"]
    code, out, _ = run(capsys, "ledger", "verify", "--data-dir", node_dir, "--quiet")
    assert code == 0 and "1 key hand-over" in out
    # The checkpoint is now the new key's; the hand-over entry is the old key's.
    _, note, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    new = base64.b64decode(rotated["public_key"])
    assert (
        verify_checkpoint(note.encode(), new, ORIGIN, ORIGIN).size == rotated["handover_index"] + 1
    )
    _, out, _ = run(
        capsys, "ledger", "entry", str(rotated["handover_index"]), "--data-dir", node_dir
    )
    event = json.loads(out)["body"]["node_event"]
    assert event["kind"] == "key_rotation"
    assert event["previous_key"] == before and event["public_key"] == rotated["public_key"]
    code, _, err = run(capsys, "node", "rotate-key", "--data-dir", node_dir, "--officer", " ")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_cli_verify_refuses_a_log_that_ends_on_another_key(
    node_dir: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A log handed over to a key this node does not hold is not this node's log."""
    assert run(capsys, "node", "rotate-key", "--data-dir", node_dir)[0] == 0
    key_path = DataDir(node_dir).key_path
    key_path.write_bytes(bytes(range(32)))  # another node's key file
    code, _, err = run(capsys, "ledger", "verify", "--data-dir", node_dir, "--quiet")
    assert code == 3 and "not this node's" in err


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


def _add(capsys: pytest.CaptureFixture[str], node_dir: str, path: Path) -> tuple[int, str]:
    code, _, err = run(
        capsys, "record", "add", "fir", "--file", str(path), "--officer", "PEN1", "--data-dir",
        node_dir,
    )  # fmt: skip
    return code, err


def test_cli_record_add_refuses_over_the_limits_and_writes_nothing(
    node_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fir = {
        "occurrenceFromMs": "1767225600000",
        "placeOfOccurrence": {"description": "Ollur junction"},
        "sections": [{"act": "BNS", "section": "303(2)"}],
        "persons": [{"person": {"name": "Rajesh K"}, "role": "COMPLAINANT"}],
        "briefFacts": "A scooter was stolen.",
    }
    cases = {
        "megabyte": ({**fir, "briefFacts": "x" * 1_000_000}, "brief facts is longer than 20,000"),
        "year 9999": ({**fir, "registeredAtMs": "253370764800000"}, "registered at is not a time"),
        "year 1": ({**fir, "occurrenceFromMs": "-62135596800000"}, "occurrence from is not a time"),
        "serial": ({**fir, "firNumber": "FIR No. ١٢/2026"}, "is not of the form"),
        "uint32": ({**fir, "firSerial": 2**32}, "not a valid fir record"),
    }
    _, before, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    for name, (record, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.json"
        path.write_text(json.dumps(record, ensure_ascii=False))
        code, err = _add(capsys, node_dir, path)
        assert code == 2, (name, err)
        assert err.startswith("error: ") and message in err, (name, err)
        assert "Traceback" not in err and len(err) < 1000, name
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (record_cli.MAX_RECORD_FILE_BYTES + 1))
    code, err = _add(capsys, node_dir, huge)
    assert code == 2 and "larger than" in err
    _, after, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    assert before == after


def _scooter_fir(**fields: object) -> dict[str, object]:
    return {
        "occurrenceFromMs": str(int(time.time() * 1000) - 3_600_000),
        "placeOfOccurrence": {"description": "Ollur junction"},
        "sections": [{"act": "BNS", "section": "303(2)"}],
        "persons": [{"person": {"name": "Rajesh K"}, "role": "COMPLAINANT"}],
        "briefFacts": "A scooter was stolen.",
        **fields,
    }


def test_cli_record_add_takes_no_number_or_past_time_from_the_caller(
    node_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    week_ago = str(int(time.time() * 1000) - 7 * 86_400_000)
    cases = {
        "year": (_scooter_fir(firYear=2019), "FIR year 2019 given"),
        "serial": (_scooter_fir(firSerial=50), "FIR number is assigned by the station"),
        "back-dated": (_scooter_fir(registeredAtMs=week_ago), "not back-dated"),
    }
    _, before, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    for name, (record, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(record))
        code, err = _add(capsys, node_dir, path)
        assert code == 2 and message in err, (name, err)
        assert err.count("\n") == 1, err  # one line
    _, after, _ = run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)
    assert before == after


def test_cli_record_import_keeps_numbers_and_the_live_series_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "fresh")
    assert run(capsys, "node", "init", "--data-dir", data, "--origin", ORIGIN)[0] == 0
    year = time.gmtime().tm_year
    hour_ms = 3_600_000
    lines = [
        {
            "kind": "fir",
            "officer": "PEN7",
            "record": _scooter_fir(
                firNumber=f"FIR No. {serial}/2019",
                registeredAtMs=str(1_552_550_400_000 + serial * hour_ms),  # March 2019
                occurrenceFromMs=str(1_552_550_400_000),
                sections=[{"act": "IPC", "section": "379"}],
            ),
        }
        for serial in (31, 32)
    ]
    lines.append(
        {
            "kind": "fir",
            "officer": "PEN7",
            "record": _scooter_fir(
                firNumber=f"FIR No. 3/{year}",
                registeredAtMs=str(int(time.time() * 1000) - 2 * hour_ms),
                occurrenceFromMs=str(int(time.time() * 1000) - 3 * hour_ms),
            ),
        }
    )
    source = tmp_path / "past.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    code, out, err = run(
        capsys, "record", "import", "--file", str(source), "--source", "CCTNS 1.0 export",
        "--data-dir", data,
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["imported"] == 3 and result["first"] == "FIR No. 31/2019"
    code, out, _ = run(capsys, "record", "show", "FIR No. 31/2019", "--data-dir", data)
    assert code == 0 and json.loads(out)["current"]["fir_number"] == "FIR No. 31/2019"
    live = tmp_path / "live.json"
    live.write_text(json.dumps(_scooter_fir()))
    code, out, err = run(
        capsys, "record", "add", "fir", "--file", str(live), "--officer", "PEN1", "--data-dir",
        data,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["ref"] == f"FIR No. 4/{year}"
    station = Station.open(DataDir(data))
    try:
        marked = [
            station.ledger.body(i).imported_from
            for i in range(station.ledger.size())
            if station.ledger.body(i).WhichOneof("record") == "fir"
        ]
    finally:
        station.close()
    assert marked == ["CCTNS 1.0 export"] * 3 + [""]


def test_cli_record_import_refuses_a_bad_line_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "fresh")
    assert run(capsys, "node", "init", "--data-dir", data, "--origin", ORIGIN)[0] == 0
    _, before, _ = run(capsys, "ledger", "checkpoint", "--data-dir", data)
    good = json.dumps({"kind": "fir", "officer": "PEN7", "record": _scooter_fir()})
    cases = {
        "not json": (good + "\n{not json\n", "line 2: not an import line"),
        "unknown kind": (json.dumps({"kind": "memo", "officer": "x", "record": {}}), "line 1"),
        "future": (
            json.dumps(
                {
                    "kind": "gd",
                    "officer": "PEN7",
                    "record": {
                        "category": "arrival",
                        "summary": "SI on duty",
                        "entryTimeMs": str(int(time.time() * 1000) + 86_400_000),
                    },
                }
            ),
            "in the future",
        ),
        "huge": ("x" * (record_cli.MAX_RECORD_FILE_BYTES + 2) + "\n", "larger than"),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.jsonl"
        path.write_text(text)
        code, _, err = run(
            capsys, "record", "import", "--file", str(path), "--source", "x", "--data-dir", data
        )
        assert code == 2 and message in err, (name, err)
        assert "Traceback" not in err and err.count("\n") == 1, (name, err)
    _, after, _ = run(capsys, "ledger", "checkpoint", "--data-dir", data)
    assert before == after


@pytest.mark.parametrize("bad", ["١٢", "²", "9" * 5000, "-1"])
def test_cli_search_numbers_are_digits_in_range(
    node_dir: str, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    for option in ("--age-min", "--limit"):
        with pytest.raises(SystemExit) as exited:
            main(["search", "person", "Raju", option, bad, "--data-dir", node_dir])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert f"argument {option}: the number: " in err and "Traceback" not in err


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
        (RateLimited("x", retry_after_s=30), 6),
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
