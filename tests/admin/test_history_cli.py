"""`cctns history open / review / close / list` and `cctns case mo` on a real node directory:
a sheet opened, refused without its order's rank the rule asks, retained and closed (listed
closed); an MO recorded, then superseded."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from node.config import DataDir
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from protos import records_pb2
from tests.admin.support import run
from tests.node.support import person, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"


def test_history_cli_open_review_close_list_and_mo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    try:
        fir = theft_fir()
        fir.persons.append(person("Sudheesh Kumar", records_pb2.ACCUSED, age=34))
        fir.persons[-1].accused_code = "A1"
        fir_number = registers.register_fir(station, OFFICER, fir).ref
    finally:
        station.close()
    data = ["--officer", OFFICER, "--data-dir", str(data_dir.path)]
    today = datetime.now(IST).date().isoformat()
    opening = [
        "history", "open", "--name", "Sudheesh Kumar", "--relative", "S/o Gopalan", "--age",
        "34", "--address", "HMT Colony", "--category", "known_depredator", "--grounds",
        "House-breakings by night", "--case", fir_number, "--case", "ps-aluva:FIR No. 88/2025",
        "--ordered-by", "PEN900001", "--order", "No. 12/HS", "--order-date", today,
        "--entry", "window_grill_removed", "--taken", "gold_ornaments", *data,
    ]  # fmt: skip
    code, _, err = run(capsys, *opening, "--rank", "sho")
    assert code != 0 and "not by the Station House Officer" in err
    code, out, err = run(capsys, *opening, "--rank", "sp")
    assert code == 0, err
    sheet = json.loads(out)["ref"]
    order = ["--ordered-by", "PEN900002", "--order", "No. 3", "--order-date", today]
    code, out, err = run(
        capsys, "history", "review", sheet, *order, "--rank", "sdpo", "--findings", "Active", *data
    )
    assert code == 0 and json.loads(out)["status"] == "open", err
    code, out, err = run(
        capsys, "history", "close", sheet, *order, "--rank", "sp", "--reason", "Died", *data
    )
    assert code == 0 and json.loads(out)["status"] == "closed", err
    code, out, _ = run(capsys, "history", "list", "--data-dir", str(data_dir.path))
    (row,) = json.loads(out)
    assert (row["sheet_number"], row["status"], row["closing_reason"]) == (sheet, "closed", "Died")
    assert "Window grill removed" in row["mo"]
    code, out, _ = run(capsys, "history", "list", "--open", "--data-dir", str(data_dir.path))
    assert json.loads(out) == []
    mo = ["case", "mo", fir_number, "--accused", "A1", *data]
    code, out, err = run(capsys, *mo, "--time", "night", "--entry", "door_lock_broken")
    assert code == 0, err
    code, out, err = run(capsys, *mo, "--entry", "window_grill_removed", "--taken", "cash")
    assert code == 0, err
    (current,) = json.loads(out)["current"]
    assert current["accused"] == "A1" and current["mo"] == "Window grill removed, Cash"
