"""`cctns register export` on a real node directory: a register for a period as a PDF file and
as CSV (to a file and to stdout); a register not kept, or a bad period, is refused with exit 2."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from node.config import DataDir
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from tests.admin.support import run

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"


def test_register_export_writes_pdf_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        for n in range(3):
            registers.write_gd(station, OFFICER, "information", f"Entry {n}: Anil Kumar")
    finally:
        station.close()
    today = datetime.now(IST).date().isoformat()
    data = str(data_dir.path)
    period = ("--from", today, "--to", today, "--data-dir", data)

    pdf = tmp_path / "gd.pdf"
    code, out, err = run(capsys, "register", "export", "gd", *period, "--out", str(pdf))
    assert code == 0, err
    assert json.loads(out) == {"register": "gd", "rows": 3, "out": str(pdf)}
    text = PdfReader(pdf).pages[0].extract_text()
    assert "General Diary" in text and "Entry 2: Anil Kumar" in text

    out_csv = tmp_path / "gd.csv"
    code, out, err = run(
        capsys, "register", "export", "gd", *period, "--format", "csv", "--out", str(out_csv)
    )
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert len(rows) == 4 and rows[0][0] == "GD No."
    code, out, _ = run(capsys, "register", "export", "gd", *period, "--format", "csv", "--out", "-")
    assert code == 0 and out.count("Anil Kumar") == 3


def test_register_export_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    data = str(data_dir.path)
    out = str(tmp_path / "x.pdf")
    code, _, err = run(
        capsys, "register", "export", "gd", "--from", "2026-11-31", "--to", "2026-11-30",
        "--out", out, "--data-dir", data,
    )  # fmt: skip
    assert code == 2 and "is not a date" in err
    assert not Path(out).exists()
