"""`cctns duty ...` on a real node directory: beats defined and retired, a duty assigned and an
overlapping one refused, the roster and its suggestion, a patrol written and read back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from node.config import DataDir
from node.records.validation import IST
from tests.admin.support import run

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
SHO = "PEN420001"


def test_duty_cli_beats_roster_patrol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    where = ["--data-dir", str(data_dir.path)]
    data = ["--officer", SHO, *where]
    code, out, err = run(
        capsys, "duty", "beat-add", "B1", "--name", "HMT Colony",
        "--locality", "HMT Colony", "--locality", "Thevakkal", *data,
    )  # fmt: skip
    assert code == 0 and json.loads(out)["ref"] == "Beat B1", err
    code, _, err = run(capsys, "duty", "beat-add", "B2", "--name", "Two", *data)
    assert code == 2 and "at least one locality" in err
    run(capsys, "duty", "beat-add", "B2", "--name", "Edappally", "--locality", "Edappally", *data)
    start = datetime.now(IST).replace(second=0, microsecond=0) + timedelta(hours=1)
    iso = lambda moment: moment.strftime("%Y-%m-%dT%H:%M")  # noqa: E731
    assign = [
        "duty", "assign", "--on", "PEN430017", "--duty", "beat_patrol", "--beat", "B1",
        "--from", iso(start), "--until", iso(start + timedelta(hours=8)), *data,
    ]  # fmt: skip
    code, out, err = run(capsys, *assign)
    assert code == 0, err
    ref = json.loads(out)["ref"]
    code, _, err = run(capsys, *assign)
    assert code == 2 and f"already on beat patrol ({ref})" in err
    day = start.date().isoformat()
    code, out, _ = run(capsys, "duty", "roster", "--day", day, *where)
    assert [(r["ref"], r["beat"]) for r in json.loads(out)] == [(ref, "B1")]
    code, out, _ = run(capsys, "duty", "roster", "--day", day, "--suggest", *where)
    assert [(s["beat"], s["covered_by"]) for s in json.loads(out)] == [
        ("B1", ["PEN430017"]), ("B2", []),
    ]  # fmt: skip
    code, out, err = run(capsys, "duty", "cancel", ref, "--reason", "On leave", *data)
    assert code == 0 and json.loads(out)["status"] == "cancelled", err
    code, out, _ = run(capsys, "duty", "roster", "--on", "PEN430017", *where)
    assert [(r["ref"], r["cancelled"]) for r in json.loads(out)] == [(ref, True)]
    code, _, err = run(capsys, "duty", "beat-retire", "B2", "--reason", "Merged", *data)
    assert code == 0, err
    code, out, _ = run(capsys, "duty", "beats", *where)
    assert [(b["code"], b["status"]) for b in json.loads(out)] == [
        ("B1", "defined"), ("B2", "retired"),
    ]  # fmt: skip
    went = datetime.now(IST).replace(second=0, microsecond=0) - timedelta(hours=3)
    code, out, err = run(
        capsys, "duty", "patrol", "--beat", "B1", "--from", iso(went),
        "--until", iso(went + timedelta(hours=2)),
        "--point", f"{went.strftime('%H:%M')} Thevakkal junction",
        "--observations", "Quiet night", "--check", "Biju M; Bus shelter; sent home",
        "--by", "PEN430017", *data,
    )  # fmt: skip
    assert code == 0, err
    patrol = json.loads(out)["ref"]
    code, out, _ = run(capsys, "duty", "beat-book", "--beat", "B1", *where)
    (row,) = json.loads(out)
    assert (row["ref"], row["officer"], row["points"][0]["place"]) == (
        patrol, "PEN430017", "Thevakkal junction",
    )  # fmt: skip
    assert row["checks"][0]["name"] == "Biju M"
