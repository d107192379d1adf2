"""The real-process mode, tiny: a handful of `cctns node serve` processes over mutual TLS,
driven through the stations' web forms, measured, and set beside the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulations.sim.realproc import RealOptions, main, real_scenario, run_real

pytestmark = pytest.mark.slow


def test_the_small_scenario_is_the_states_part_whole() -> None:
    scenario = real_scenario(RealOptions(offices=20))
    assert 5 <= len(scenario.offices) <= 20
    assert scenario.root.node_id == "kerala/scrb" and scenario.root.parent == ""
    assert scenario.levels == ("state", "district", "sub-division", "circle", "station")
    assert scenario.by_role("station")


def test_real_processes_and_the_simulator_side_by_side(tmp_path: Path) -> None:
    options = RealOptions(
        offices=6, seconds=30.0, rate=0.5, searches_per_minute=12.0, base=tmp_path / "nodes"
    )
    comparison = run_real(options)
    measured = comparison.measured
    assert measured.processes <= 6
    assert measured.writes > 0 and measured.refused == 0
    # Nothing lost or duplicated among the real processes: every acknowledged entry reached
    # every ancestor of its station.
    assert measured.lost == 0 and measured.duplicated == 0
    rows = {metric: (sim, real) for metric, sim, real in comparison.rows}
    assert rows["entries written"][1] == measured.writes
    assert rows["lag station->state p50 (s)"][1] is not None
    assert rows["fan-out latency p50 (s)"][1] is not None
    # Both columns: the simulator ran on the same offices, and lost nothing either.
    assert rows["entries written"][0] is not None and rows["entries written"][0] > 0
    simulated_lost, measured_lost = rows["records lost"]
    assert simulated_lost == 0 and measured_lost == 0
    assert "simulated" in comparison.table() and "measured" in comparison.table()
    # The processes are gone, their folder kept for a look.
    assert (tmp_path / "nodes" / "logs").is_dir()


def test_the_module_entry_point_writes_the_comparison(tmp_path: Path) -> None:
    out = tmp_path / "real.json"
    code = main(["kerala", "--offices", "6", "--seconds", "10", "--no-simulate", "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["measured"]["lost"] == 0
    assert {row["metric"] for row in result["rows"]} >= {"records lost", "entries written"}
