"""`cctns link ...` on a district node holding verified replicas of two stations (real RocksDB,
real SQLite aggregate index), run as on a stopped node: the accused both stations wrote is
proposed, confirmed into one person shown with both stations' cases, reversed by a later entry;
a rejection without its reason is refused with a usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin.cli import main
from federation.logs import LedgerLogReader
from node.station import registers
from node.station.core import Station
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import build_district
from tests.node.support import accused_fir


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def _accused(station: Station, name: str, relative: str, age: int, address: str) -> str:
    fir = accused_fir(name, relative, age, address)
    ref = registers.register_fir(station, "PEN100200", fir).ref
    view = station.index.lookups.fir(ref)
    assert view is not None
    (accused,) = [p for p in view.persons if p.role == "accused"]
    return f"{station.config.origin}:{accused.person_id}"


@pytest.fixture
def district(tmp_path: Path) -> tuple[str, str, str]:
    built = build_district(tmp_path)
    try:
        here = _accused(built.children[0], "Biju Thomas", "Thomas", 40, "Kalappurackal, Eloor")
        there = _accused(built.children[1], "Biju T.", "Thomas", 41, "Kalappurackal House, Eloor")
        readers = {s.config.origin: LedgerLogReader(s.ledger) for s in built.children}
        peer = LogPeer(readers.__getitem__, "children")
        for child in built.children:
            follow(built.replicas.get(child.config.origin).follower, peer)
        return str(built.data_dir.path), here, there
    finally:
        built.close()  # the commands open the stores themselves, as on a stopped node


def test_link_propose_confirm_show_reverse(
    district: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, here, there = district
    code, proposals = run(capsys, "link", "propose", "--data-dir", data_dir)
    assert code == 0 and isinstance(proposals, list)
    (pair,) = proposals
    named = {f"{pair[side]['origin']}:{pair[side]['person_id']}" for side in ("first", "second")}
    assert named == {here, there}

    code, _ = run(capsys, "link", "reject", here, there, "--officer", "PEN1", "--reason", "",
                  "--data-dir", data_dir)  # fmt: skip
    assert code != 0
    code, written = run(capsys, "link", "confirm", here, there, "--officer", "PEN100200",
                        "--reason", "same vehicle", "--data-dir", data_dir)  # fmt: skip
    assert code == 0 and isinstance(written, dict)
    assert written["probability"] == pytest.approx(pair["probability"], abs=1e-3)
    code, shown = run(capsys, "link", "show", there, "--data-dir", data_dir)
    assert code == 0 and isinstance(shown, dict)
    assert len({case["origin"] for case in shown["cases"]}) == 2
    assert {"Biju Thomas", "Biju T."} <= set(shown["names"])

    code, _ = run(capsys, "link", "reverse", str(written["index"]), "--officer", "PEN100200",
                  "--reason", "another Biju", "--data-dir", data_dir)  # fmt: skip
    assert code == 0
    code, shown = run(capsys, "link", "show", there, "--data-dir", data_dir)
    assert isinstance(shown, dict)
    assert len({case["origin"] for case in shown["cases"]}) == 1
    assert [d["decision"] for d in shown["decisions"]] == ["confirm", "reverse"]
    assert len(shown["proposals"]) == 1
