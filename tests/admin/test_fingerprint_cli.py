"""`cctns fingerprint ...` over a real station on disk, run as on a stopped node, with synthetic
prints (node/demo/fingerprints.py): two ten-prints enrolled (one from a directory of files named
by finger, one finger by finger), a chance print kept with its case and searched (its mate
first, a HIT, the read audited like the web's), and bad input refused with one line and exit 2,
nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from node.config import DataDir
from node.demo import fingerprints as synthetic
from node.station import registers
from node.station.core import Station
from tests.admin.support import run
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-fingerprint-cli"
OFFICER = "PEN100001"
SEED = 2026  # the prints of tests/node/station/test_fingerprints.py: their chance prints hit
FINGERS = (2, 7)


@dataclass(frozen=True)
class Setup:
    data_dir: str
    refs: list[str]  # the FIR of each person
    files: Path  # where the images are


def _png(person: int, finger: int, *, chance: bool = False) -> bytes:
    master = synthetic.master_print(SEED, person, finger)
    number = 9 if chance else finger
    return synthetic.encode_png(
        synthetic.impression(master, SEED * 100 + person, number=number, chance=chance)
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("fingerprint-cli")
    data_dir = DataDir(root / "station")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    try:
        refs = [registers.register_fir(station, OFFICER, theft_fir()).ref for _ in range(2)]
    finally:
        station.close()  # the commands open the station themselves
    files = root / "prints"
    (files / "p0").mkdir(parents=True)
    for finger in FINGERS:
        (files / "p0" / f"{finger}.png").write_bytes(_png(0, finger))
        (files / f"p1-{finger}.png").write_bytes(_png(1, finger))
    (files / "chance.png").write_bytes(_png(1, FINGERS[1], chance=True))
    yield Setup(str(data_dir.path), refs, files)


def _ledger_size(setup: Setup) -> int:
    station = Station.open(DataDir(setup.data_dir))
    try:
        return station.ledger.size()
    finally:
        station.close()


def test_fingerprint_enrol_from_a_directory_and_finger_by_finger(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "fingerprint", "enrol", "--person", "P0", "--record",
                         setup.refs[0], "--dir", str(setup.files / "p0"), "--officer",
                         OFFICER, "--data-dir", setup.data_dir)  # fmt: skip
    assert code == 0, err
    kept = json.loads(out)
    assert [f["finger"] for f in kept["fingers"]] == list(FINGERS)
    assert all(f["minutiae"] >= 6 for f in kept["fingers"])
    fingers = [f"--finger={n}={setup.files / f'p1-{n}.png'}" for n in FINGERS]
    code, out, err = run(capsys, "fingerprint", "enrol", "--person", "P1", "--record",
                         setup.refs[1], *fingers, "--subject", "Person 1", "--officer", OFFICER,
                         "--data-dir", setup.data_dir)  # fmt: skip
    assert code == 0, err

    code, out, _ = run(capsys, "fingerprint", "slips", setup.refs[1], "--data-dir", setup.data_dir)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and "ten-print" in lines[0] and "right index" in lines[0]
    assert "P1" in lines[1] and "left index" in lines[1]
    code, out, _ = run(capsys, "fingerprint", "slips", setup.refs[0], "--json",
                       "--data-dir", setup.data_dir)  # fmt: skip
    assert [(s["finger"], s["person"]) for s in json.loads(out)] == [(2, "P0"), (7, "P0")]


def test_fingerprint_search_ranks_the_mate_first_and_audits_the_read(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = str(setup.files / "chance.png")
    code, out, err = run(capsys, "fingerprint", "search", probe, "--case", "FIR No. 9/2026",
                         "--purpose", "investigation", "--officer", "PEN300003",
                         "--data-dir", setup.data_dir)  # fmt: skip
    assert code == 0, err
    header, first = out.splitlines()[:2]
    assert header.split() == ["#", "score", "finger", "person", "record", "name"]
    assert first.split()[0] == "1" and "P1" in first
    assert setup.refs[1] in first and "left index" in first and first.endswith("HIT")
    assert "audited at entry" in out.splitlines()[-1]

    size = _ledger_size(setup)
    station = Station.open(DataDir(setup.data_dir))
    try:
        audit = station.ledger.body(size - 1).audit
    finally:
        station.close()
    assert audit.query_kind == "search:fingerprint" and audit.full_record
    assert (audit.asker_officer_id, audit.case_ref, audit.purpose) == (
        "PEN300003",
        "FIR No. 9/2026",
        "investigation",
    )
    assert "probe sha256:" in audit.query and setup.refs[1] in audit.returned_refs

    code, out, _ = run(capsys, "fingerprint", "search", probe, "--case", "FIR No. 9/2026",
                       "--limit", "1", "--json", "--officer", "PEN300003",
                       "--data-dir", setup.data_dir)  # fmt: skip
    assert code == 0
    answer = json.loads(out)
    (best,) = answer["candidates"]
    assert (best["person"], best["record"], best["finger"], best["hit"]) == (
        "P1",
        setup.refs[1],
        FINGERS[1],
        True,
    )
    assert answer["audit_index"] == size  # one more audited read


def test_fingerprint_chance_print_is_kept_with_its_case(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "fingerprint", "chance", str(setup.files / "chance.png"),
                         "--case", setup.refs[0], "--place", "rear door", "--officer", OFFICER,
                         "--data-dir", setup.data_dir)  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["fingers"][0]["finger"] == 0
    code, out, _ = run(capsys, "fingerprint", "slips", setup.refs[0], "--json",
                       "--data-dir", setup.data_dir)  # fmt: skip
    (chance,) = [s for s in json.loads(out) if s["slip"] == "chance_print"]
    assert chance["subject"] == "rear door"


def test_fingerprint_bad_input_is_refused_and_nothing_written(
    setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    blank.write_bytes(synthetic.encode_png(np.full((400, 360), 235, dtype=np.uint8)))
    text = tmp_path / "print.png"
    text.write_text("not an image")
    before = _ledger_size(setup)
    enrol = ("fingerprint", "enrol", "--person", "P0", "--record", setup.refs[0],
             "--officer", OFFICER, "--data-dir", setup.data_dir)  # fmt: skip
    search = ("fingerprint", "search", "--case", "FIR No. 9/2026", "--officer", OFFICER,
              "--data-dir", setup.data_dir)  # fmt: skip
    for argv, said in (
        ((*enrol, "--finger", f"1={tmp_path / 'missing.png'}"), "no such file"),
        ((*enrol, "--finger", f"11={blank}"), "a finger is a number from 1"),
        ((*enrol, "--finger", f"1={blank}", "--finger", f"1={blank}"), "given twice"),
        ((*enrol, "--finger", f"1={text}"), "PNG or JPEG"),
        ((*enrol, "--finger", f"1={blank}"), "too few"),
        ((*enrol, "--dir", str(tmp_path)), "named by its number"),
        (enrol, "give the fingers' images"),
        ((*search, str(text)), "PNG or JPEG"),
        ((*search, str(blank)), "too few to search"),
        ((*search, str(tmp_path)), "a directory"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "", (argv, err)
        (line,) = err.splitlines()
        assert line.startswith("error: ") and said in line, (argv, line)
    assert _ledger_size(setup) == before
