"""`cctns case alter-sections / taken-over / transfer` on a real node directory: sections altered
and the sections now printed, a wrong alteration refused with its message and nothing written,
no case taken over yet, a transfer to a node the federation does not know refused before the
station is opened (the transfer over gRPC: tests/federation/test_case_transfer_network.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.log import now_ms
from node.config import DataDir
from node.records.validation import ist_date
from node.station import registers
from node.station.core import Station
from tests.admin.support import run
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"


def test_alter_sections_and_taken_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        fir = registers.register_fir(station, OFFICER, theft_fir()).ref
        size = station.ledger.size()
    finally:
        station.close()
    data = ["--officer", OFFICER, "--data-dir", str(data_dir.path)]
    today = ist_date(now_ms()).isoformat()
    alter = ["case", "alter-sections", fir, "--reason", "Snatched with force",
             "--court", "JFCM Kalamassery", "--report-date", today, *data]  # fmt: skip
    code, _, err = run(capsys, *alter, "--add", "BNS 309(4)", "--drop", "BNS 64(1)")
    assert code != 0 and "BNS 64(1) is not among the case's sections now" in err
    code, out, err = run(capsys, *alter, "--add", "BNS 309(4)", "--drop", "BNS 303(2)")
    assert code == 0, err
    assert json.loads(out)["sections_now"] == ["BNS 309(4)"]
    code, out, _ = run(capsys, "case", "taken-over", "--data-dir", str(data_dir.path))
    assert code == 0 and json.loads(out) == []
    code, _, err = run(
        capsys, "case", "transfer", fir, "--to", "kerala/crime-branch/cb-nowhere",
        "--unit", "Crime Branch", "--ordered-by", "SPC", "--order-reference", "X/1",
        "--order-date", today, "--reason", "r", *data,
    )  # fmt: skip
    assert code != 0
    station = Station.open(data_dir)
    try:
        assert station.ledger.size() == size + 1  # the alteration only
    finally:
        station.close()
