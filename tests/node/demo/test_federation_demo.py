"""`make run` (`cctns demo`, node/demo/federation.py) with no peer list written: the eight
nodes (national, state, two districts, four stations) join through their parents and find each
other in the signed directory (docs/directory.md); the national node holds a verified replica
of every office and counts their crimes, and the state node finds one station's chance print
among another's ten-prints. Slow: eight real node processes on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.config import DataDir, load_federation
from node.demo.federation import NODES, build, run_federation_demo
from node.peers.directory import DIRECTORY_NAME


def test_demo_build_writes_only_what_is_local(tmp_path: Path) -> None:
    build(tmp_path, records=0)
    by_name = {node.name: node for node in NODES}
    listens = {n.name: load_federation(DataDir(tmp_path / n.name)).listen for n in NODES}
    for node in NODES:
        config = load_federation(DataDir(tmp_path / node.name))
        assert config.peers == ()
        assert config.parent == (by_name[node.parent].node_id if node.parent else "")
        assert config.parent_address == (listens[node.parent] if node.parent else "")


@pytest.mark.slow
def test_demo_check_finds_another_district_through_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The check: Kalamassery asks every office and each answers; it fetches Ollur's first FIR
    # (another district's station), which it knows only from the directory.
    assert run_federation_demo(tmp_path / "demo", records=30, check=True) == 0
    out = capsys.readouterr().out
    assert f"answered by {len(NODES) - 1} offices, unanswered none" in out, out
    assert "national node: crime FIRs of 4 stations counted as each station counts them" in out
    # Ollur's chance print, searched at the state node, is a hit on Kalamassery's ten-print: the
    # slips and their images replicated (node/demo/biometrics.py).
    assert "state node: Ollur's chance print is a hit on FIR No. " in out, out
    assert "of kerala/ernakulam-city/ps-kalamassery" in out
    everyone = {node.node_id for node in NODES}
    for name in ("ncrb", "scrb", "kalamassery"):
        saved = json.loads((tmp_path / "demo" / name / DIRECTORY_NAME).read_text())
        assert {row["node_id"] for row in saved["entries"]} >= everyone, name
    for node in NODES:
        assert load_federation(DataDir(tmp_path / "demo" / node.name)).peers == ()
