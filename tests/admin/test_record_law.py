"""`cctns record add` and the law rules of the registers, as a new user meets them: an NCR with
its occurrence date, sections of the wrong register, who recorded the information. Each refusal
is one line on stderr, exit code 2, and writes nothing."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from node.records.laws import LEGACY_SOURCE, statutes
from node.records.validation import IST, utc_ms
from tests.admin.test_cli import run

ORIGIN = "cctns.in/kerala/thrissur-city/ps-ollur"
HOUR_MS = 3_600_000


@pytest.fixture
def node_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    data = str(tmp_path / "node")
    assert run(capsys, "node", "init", "--data-dir", data, "--origin", ORIGIN)[0] == 0
    return data


def add(
    capsys: pytest.CaptureFixture[str], node_dir: str, tmp_path: Path, kind: str, record: Any
) -> tuple[int, str, str]:
    path = tmp_path / f"{kind}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(record))
    return run(
        capsys, "record", "add", kind, "--file", str(path), "--officer", "PEN1",
        "--data-dir", node_dir,
    )  # fmt: skip


def checkpoint(capsys: pytest.CaptureFixture[str], node_dir: str) -> str:
    return run(capsys, "ledger", "checkpoint", "--data-dir", node_dir)[1]


def _ncr(*sections: tuple[str, str], **fields: object) -> dict[str, object]:
    return {
        "informant": {"name": "Anil Kumar"},
        "sections": [{"act": a, "section": s} for a, s in sections],
        "briefFacts": "Slapped during a quarrel over parking.",
        **fields,
    }


def _fir(*sections: tuple[str, str], **fields: object) -> dict[str, object]:
    return {
        "occurrenceFromMs": str(int(time.time() * 1000) - HOUR_MS),
        "placeOfOccurrence": {"description": "Ollur junction"},
        "sections": [{"act": a, "section": s} for a, s in sections],
        "persons": [{"person": {"name": "Remya R", "sex": "F", "age": 29}, "role": "COMPLAINANT"}],
        "briefFacts": "The complainant was assaulted near the canal.",
        **fields,
    }


def test_record_add_ncr_with_its_occurrence_date(
    node_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    june = str(utc_ms(datetime(2024, 6, 15, 20, 30, tzinfo=IST)))
    before = checkpoint(capsys, node_dir)
    code, _, err = add(capsys, node_dir, tmp_path, "ncr", _ncr(("IPC", "323")))
    assert code == 2 and "offences on or after 2024-07-01 are cited under the BNS" in err
    assert err.startswith("error: ") and err.count("\n") == 1
    later = str(int(time.time() * 1000) + 2 * HOUR_MS)
    code, _, err = add(
        capsys, node_dir, tmp_path, "ncr", _ncr(("BNS", "115(2)"), occurrenceFromMs=later)
    )
    assert code == 2 and "occurrence is after the report" in err
    assert checkpoint(capsys, node_dir) == before
    code, out, err = add(
        capsys, node_dir, tmp_path, "ncr", _ncr(("IPC", "323"), occurrenceFromMs=june)
    )
    assert code == 0, err
    assert json.loads(out)["ref"].startswith("NCR 1/")
    code, out, _ = run(capsys, "record", "show", json.loads(out)["ref"], "--data-dir", node_dir)
    assert code == 0 and june in out


def test_record_add_refuses_sections_of_the_wrong_register(
    node_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = checkpoint(capsys, node_dir)
    code, _, err = add(capsys, node_dir, tmp_path, "ncr", _ncr(("BNS", "303(2)")))
    assert code == 2 and "BNS 303(2) is cognizable: register an FIR, not an NCR" in err
    if statutes().section("BNS", "3(5)").source != (LEGACY_SOURCE,):
        code, _, err = add(capsys, node_dir, tmp_path, "fir", _fir(("BNS", "3(5)")))
        assert code == 2 and "BNS 3(5) has no class of its own" in err, err
        code, _, err = add(
            capsys, node_dir, tmp_path, "fir", _fir(("BNS", "115(2)"), ("BNS", "3(5)"))
        )
        assert code == 2 and "record a non-cognizable report instead" in err, err
    assert checkpoint(capsys, node_dir) == before
    if statutes().section("BNS", "3(5)").source != (LEGACY_SOURCE,):
        code, _, err = add(
            capsys, node_dir, tmp_path, "ncr", _ncr(("BNS", "115(2)"), ("BNS", "3(5)"))
        )
        assert code == 0, err


def test_record_add_fir_woman_officer_rule(
    node_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = checkpoint(capsys, node_dir)
    for recording, message in (
        ({"recordedBySex": "M"}, "recorded by a woman officer (BNSS s.173(1) first proviso)"),
        ({}, "say who recorded it"),
        (
            {"recordedBySex": "F", "informantDisabled": True},
            "record it at her residence or a place of her choice",
        ),
    ):
        code, _, err = add(
            capsys, node_dir, tmp_path, "fir", _fir(("BNS", "124(1)"), recording=recording)
        )
        assert code == 2 and message in err, err
        assert err.count("\n") == 1
    assert checkpoint(capsys, node_dir) == before
    code, out, err = add(
        capsys, node_dir, tmp_path, "fir", _fir(("BNS", "124(1)"), recording={"recordedBySex": "F"})
    )
    assert code == 0, err
    assert json.loads(out)["ref"].startswith("FIR No. 1/")
