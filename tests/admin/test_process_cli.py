"""`cctns case process-* / processes / ncr-forward` on a real node directory: a summons
received and served, a warrant returned without a reason refused, the NCRs forwarded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from node.config import DataDir
from node.records.validation import IST
from tests.admin.support import run

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"


def test_process_cli_receive_serve_return_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    data = ["--officer", OFFICER, "--data-dir", str(data_dir.path)]
    returnable = (datetime.now(IST).date() + timedelta(days=3)).isoformat()
    receive = [
        "case", "process-receive", "--court", "JFCM Kalamassery", "--case", "CC 231/2026",
        "--name", "Suresh K", "--relative", "S/o Kumaran", "--address", "HMT Colony",
        "--returnable", returnable, *data,
    ]  # fmt: skip
    code, out, err = run(capsys, *receive, "--type", "summons")
    assert code == 0, err
    summons = json.loads(out)["ref"]
    code, out, err = run(capsys, *receive, "--type", "bailable_warrant")
    warrant = json.loads(out)["ref"]
    code, out, err = run(capsys, "case", "process-serve", summons, "--how", "In person", *data)
    assert code == 0 and json.loads(out)["status"] == "served", err
    code, _, err = run(capsys, "case", "process-return", warrant, "--reason", " ", *data)
    assert code != 0 and "the reason" in err
    code, out, _ = run(capsys, "case", "processes", "--pending", "--data-dir", str(data_dir.path))
    (row,) = json.loads(out)
    assert (row["process_number"], row["relative"], row["overdue"]) == (
        warrant, "S/o Kumaran", False,
    )  # fmt: skip
    code, out, _ = run(capsys, "case", "due", "--data-dir", str(data_dir.path))
    assert [d["ref"] for d in json.loads(out) if d["kind"] == "process"] == [warrant]
    code, _, err = run(capsys, "case", "ncr-forward", "--magistrate", "JFCM", *data)
    assert code != 0 and "no NCR" in err
