"""The simulator's cost curve: its table and chart from runs (the runs themselves are `make
bench`'s), and a size that does not finish said so rather than dropped."""

from __future__ import annotations

from typing import Any

from simulations.bench_sim import _chart, _derive, _table, run_child


def results() -> dict[str, Any]:
    runs: list[dict[str, Any]] = [
        {
            "label": "10 stations",
            "offices": 43,
            "stations": 10,
            "days": 1.0,
            "wall_seconds": 12.0,
            "peak_rss_mb": 95.0,
            "entries_written": 900,
            "entries_total": 1200,
        },
        {
            "label": "17,000 stations (India)",
            "offices": 17903,
            "stations": 16995,
            "days": 1 / 24,
            "wall_seconds": 600.0,
            "peak_rss_mb": 2048.0,
            "entries_written": 30000,
            "entries_total": 60000,
        },
        {"label": "5,000 stations", "days": 1 / 24, "error": "did not finish within 1800 s"},
    ]
    for run in runs:
        _derive(run, sign_rate=20000.0)
    return {"raw_ed25519_signs_per_s": 20000.0, "curve": runs}


def test_the_cost_curve_table_and_chart() -> None:
    r = results()
    small, india, _ = r["curve"]
    assert small["entries_per_s"] == 100.0 and small["ratio_to_signs"] == 0.005
    assert small["sim_seconds_per_wall_second"] == 7200.0
    # A shorter span is extrapolated to a day, and the table says which span ran.
    assert india["day_wall_seconds_extrapolated"] == 600.0 * 24
    table = _table(r)
    assert "raw Ed25519 signs/s (baseline, same run): 20,000" in table
    assert "17,000 stations (India)" in table and "1 h" in table and "14,400 s" in table
    assert "5,000 stations" in table and "did not finish within 1800 s" in table
    svg = _chart(r)
    assert svg.startswith("<svg") and "17,000 stations (India) (1 h)" in svg


def test_targets_are_judged_against_the_issues_limits() -> None:
    r = results()
    r["targets"] = [
        {"label": "Kerala week", "offices": 836, "wall_seconds": 480.0, "target_seconds": 600.0,
         "lost": 0, "duplicated": 0},
        {"label": "India day", "offices": 17903, "wall_seconds": 2400.0,
         "target_seconds": 1800.0, "lost": 0, "duplicated": 0},
    ]  # fmt: skip
    table = _table(r)
    assert "Kerala week: 480 s wall for 836 offices, target 600 s: meets" in table
    assert "India day: 2,400 s wall for 17,903 offices, target 1,800 s: MISSES" in table


def test_targets_say_how_many_processes_they_ran_in() -> None:
    r = results()
    r["targets"] = [
        {"label": "Kerala week", "offices": 836, "wall_seconds": 480.0, "target_seconds": 600.0,
         "lost": 0, "duplicated": 0, "jobs": 2, "cpu_seconds": 900.0},
    ]  # fmt: skip
    assert "target 600 s: meets (lost 0, duplicated 0); 2 processes, CPU 900 s" in _table(r)


def test_a_target_run_is_split_over_the_processes_asked() -> None:
    run = run_child("kerala", 10, 0.05, faults=True, seed=1, budget=300, jobs=2)
    assert "error" not in run, run
    assert run["jobs"] == 2 and run["cpu_seconds"] > 0 and not run["problems"]
