"""`cctns report daily|monthly|adhoc` on a real node directory with planted cases
(tests/node/station/test_periodic_reports.py): JSON on stdout, CSV to a file and to stdout, a
PDF file; a bad month or a PDF to stdout is refused with exit 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from node.config import DataDir
from node.station.core import Station
from tests.admin.support import run
from tests.node.station.test_periodic_reports import ORIGIN, Planted, plant


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Planted]:
    path = tmp_path_factory.mktemp("report-cli") / "node"
    data_dir = DataDir(path)
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        planted = plant(station)
    finally:
        station.close()
    return path, planted


def test_report_daily_and_monthly_print_json(
    node: tuple[Path, Planted], capsys: pytest.CaptureFixture[str]
) -> None:
    path, p = node
    code, out, _ = run(capsys, "report", "daily", "--data-dir", str(path), "--day", str(p.day))
    assert code == 0
    daily = json.loads(out)
    assert (daily["firs"], daily["arrests"], daily["items_seized"]) == (3, 1, 1)
    assert daily["missing_persons_reported"] == 1
    code, out, _ = run(
        capsys, "report", "monthly", "--data-dir", str(path),
        "--year", str(p.year), "--month", str(p.month),
    )  # fmt: skip
    assert code == 0
    review = json.loads(out)
    assert (review["registered"], review["charge_sheeted"], review["arrests"]) == (3, 1, 1)
    assert review["pending_by_age"] == {"0-30": 2, "31-90": 0, "91-365": 1, ">365": 2}


def test_report_writes_csv_and_pdf(
    node: tuple[Path, Planted], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, p = node
    code, out, _ = run(
        capsys, "report", "adhoc", "--data-dir", str(path),
        "--from", str(p.day - timedelta(days=500)), "--to", str(p.day),
        "--group-by", "status", "--format", "csv", "--out", "-",
    )  # fmt: skip
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["status", "cases"], ["pending", "5"], ["charge_sheet", "1"], ["Total", "6"]]
    target = tmp_path / "review.csv"
    code, out, _ = run(
        capsys, "report", "monthly", "--data-dir", str(path), "--year", str(p.year),
        "--month", str(p.month), "--format", "csv", "--out", str(target),
    )  # fmt: skip
    assert code == 0 and json.loads(out)["out"] == str(target)
    table = list(csv.reader(io.StringIO(target.read_text("utf-8"))))
    assert table[0][0] == "Crime head" and table[3][:2] == ["Total", "3"]
    pdf = tmp_path / "daily.pdf"
    code, _, _ = run(
        capsys, "report", "daily", "--data-dir", str(path), "--day", str(p.day),
        "--format", "pdf", "--out", str(pdf),
    )  # fmt: skip
    assert code == 0
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Daily Situation Report" in text and p.numbers["c"] in text


def test_report_refuses_bad_input(
    node: tuple[Path, Planted], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = node
    code, _, err = run(
        capsys, "report", "monthly", "--data-dir", str(path), "--year", "2026", "--month", "13"
    )
    assert code == 2 and "month 13" in err
    code, _, err = run(
        capsys, "report", "daily", "--data-dir", str(path), "--format", "pdf", "--out", "-"
    )
    assert code == 2 and "PDF" in err
