"""`cctns stats ...` on a district node holding verified replicas of two stations (real RocksDB
replica stores and a real SQLite aggregate index): the Crime in India table, the cases behind a
figure each proved against its replica, and a rebuild of the index from the replicas."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from admin.cli import main
from tests.node.peers.district import MURDER, THEFT, YEAR, build_district


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    district = build_district(tmp_path)
    path = str(district.data_dir.path)
    district.close()  # the commands below open the stores themselves, as on a stopped node
    return path


def test_crime_table_and_trace_with_proofs(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        capsys, "stats", "crime", "--year", str(YEAR), "--state", "kerala", "--csv",
        "--data-dir", data_dir,
    )  # fmt: skip
    assert code == 0
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(out))}
    assert rows[MURDER][1:] == ["2", "2"] and rows[THEFT][1:] == ["2", "2"]

    code, out = run(
        capsys, "stats", "trace", "--year", str(YEAR), "--state", "kerala", "--head", MURDER,
        "--prove", "--data-dir", data_dir,
    )  # fmt: skip
    answer = json.loads(out)
    assert code == 0 and answer["count"] == 2 and answer["proved"]
    assert {c["origin"].rsplit("-", 1)[-1] for c in answer["cases"]} == {"kalamassery", "edappally"}
    assert all(c["proved_against_size"] > c["index"] for c in answer["cases"])

    # A disposal figure: the year's four FIRs are all pending at its end.
    code, out = run(
        capsys, "stats", "trace", "--year", str(YEAR), "--state", "kerala",
        "--column", "pending_end", "--data-dir", data_dir,
    )  # fmt: skip
    assert code == 0 and json.loads(out)["count"] == 4


def test_reindex_rebuilds_the_same_figures(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("stats", "crime", "--year", str(YEAR), "--csv", "--data-dir", data_dir)
    _, before = run(capsys, *args)
    code, out = run(capsys, "stats", "reindex", "--data-dir", data_dir)
    assert code == 0 and json.loads(out)["offices"] == 2
    _, after = run(capsys, *args)
    assert after == before and "kerala" in after


def test_accidents_table(data_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "stats", "accidents", "--year", str(YEAR), "--data-dir", data_dir)
    # The district's stations registered thefts and murders only: no road accident among them.
    assert code == 0 and "Road accidents registered in" in out and ": India, 0" in out


def test_an_unknown_state_is_refused(data_dir: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stats", "crime", "--year", str(YEAR), "--state", "goa", "--data-dir", data_dir])
    assert code != 0
    assert "goa" in capsys.readouterr().err
