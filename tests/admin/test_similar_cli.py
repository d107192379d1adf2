"""`cctns case similar` on a real node directory: the cases of the same series first, asked by
case number or by typed MO and words; a query that names nothing to match is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.config import DataDir
from node.station.core import Station
from tests.admin.support import run
from tests.federation.test_similar_search import seed

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


def test_case_similar_cli_by_number_and_by_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        series = seed(station)
    finally:
        station.close()
    where = ["--data-dir", str(data_dir.path)]
    code, out, err = run(capsys, "case", "similar", series[0], *where)
    assert code == 0, err
    found = json.loads(out)
    assert {f["fir_number"] for f in found[:2]} == set(series[1:])
    assert "Window grill removed" in found[0]["mo"] and "Window grill removed" in found[0]["shared"]
    typed = "entry:window_grill_removed place:locked_house almirah chisel"
    code, out, err = run(capsys, "case", "similar", typed, "--limit", "3", *where)
    assert code == 0, err
    assert {f["fir_number"] for f in json.loads(out)} == set(series)
    code, _, err = run(capsys, "case", "similar", "12 / 34", *where)
    assert code != 0 and "nor MO attributes or words" in err
