"""A run split over processes (`SimOptions(jobs=2)`, simulations/sim/parts.py): the parts' reports
merged into one that holds every invariant and counts the shared offices' logs once."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from simulations.sim.engine import SimOptions, Simulation, run_scenario
from simulations.sim.parts import partition
from simulations.sim.report import Report, render_text
from simulations.sim.scenario import load_scenario
from simulations.sim.shape import (
    TinyFault,
    TinyOffice,
    TinyScenario,
    TinyWorkload,
    tiny_scenario,
)

HOUR = 3600.0


def national_tiny(faults: tuple[TinyFault, ...] = ()) -> TinyScenario:
    """Three districts under a state under a national node: the state and the national node
    are above the split (in every part), and write entries of their own."""
    workload = TinyWorkload(entries={"station": 48.0, "state": 480.0, "national": 240.0})
    base = tiny_scenario(districts=3, circles=2, stations=2, workload=workload)
    offices = [TinyOffice("ncrb", "national", "", "")] + [
        dataclasses.replace(o, parent="ncrb") if o.id == "tiny/scrb" else o for o in base.offices
    ]
    return TinyScenario("tiny", offices, base.workload, faults)


def figures(report: Report) -> dict[str, Any]:
    """The report without what a run measures of the machine (wall, memory, CPU, the split)."""
    data = report.to_json()
    for name in ("wall_seconds", "peak_rss_mb", "cpu_seconds", "jobs", "parts"):
        data.pop(name)
    return data


OPTIONS = SimOptions(days=4 / 24, seed=5, search_sample=1.0)


def test_sim_split_run_holds_every_invariant_and_counts_the_shared_logs_once() -> None:
    scenario = national_tiny()
    whole = run_scenario(scenario, OPTIONS)
    split = run_scenario(scenario, dataclasses.replace(OPTIONS, jobs=2))
    assert whole.ok and split.ok, split.problems
    assert split.jobs == 2 and whole.jobs == 1
    assert len(split.parts) == 3 and "shared" in split.parts[-1] and "ncrb" in split.parts[-1]
    assert "ran in 2 parts" in render_text(split)
    # The state's and the national node's own entries, and the national node's replica of
    # the state's log (in both parts), are counted once: the same figures as the whole run.
    assert split.offices == whole.offices
    assert split.entries_written == whole.entries_written > 0
    assert split.entries_total == whole.entries_total
    assert split.replicas_checked == split.replicas_verified == whole.replicas_checked
    assert split.messages == whole.messages
    assert {k: v.count for k, v in split.lag.items()} == {k: v.count for k, v in whole.lag.items()}
    assert split.lag["state->national"].count > 0
    # The national node reads every log through the state, on one link whose latency draws
    # go by call number: a part's calls on it are fewer, so its draws differ by milliseconds.
    assert abs(split.lag["station->national"].p50 - whole.lag["station->national"].p50) < 1.0
    assert split.lag["station->circle"] == whole.lag["station->circle"]
    assert split.searches == whole.searches and split.fanout_answered == whole.fanout_answered
    assert split.sim_seconds == whole.sim_seconds


def test_sim_split_run_gives_the_same_report_twice() -> None:
    scenario = national_tiny((TinyFault("link-down", HOUR, HOUR, "tiny/d2/c1/ps1"),))
    options = dataclasses.replace(OPTIONS, jobs=2)
    first, second = run_scenario(scenario, options), run_scenario(scenario, options)
    assert first.ok and figures(first) == figures(second)
    # The fault is the part's that holds the station; the other part does not call it skipped.
    assert len(first.outages) == 1 and not [n for n in first.notes if n.startswith("fault ")]
    assert first.parts == second.parts


def test_sim_fault_on_the_state_is_applied_in_every_part() -> None:
    # The state crashes for an hour: the state is in both parts, so both apply it; the merged
    # outage is one, over every office under the state (each part holds only some of them).
    faults = (TinyFault("crash", HOUR, HOUR, "tiny/scrb"),)
    scenario = national_tiny(faults)
    whole = run_scenario(scenario, OPTIONS)
    split = run_scenario(scenario, dataclasses.replace(OPTIONS, jobs=2))
    assert split.ok, split.problems
    (outage,) = split.outages
    (alone,) = whole.outages
    assert outage.kind == "crash" and outage.target == "tiny/scrb"
    under_state = sum(1 for o in scenario.offices if o.id != "ncrb")
    assert outage.offices == alone.offices == under_state
    assert outage.written_during == alone.written_during > 0
    assert outage.caught_up_at is not None
    assert split.entries_written == whole.entries_written
    assert not [n for n in split.notes if n.startswith("fault ")]


def test_sim_partition_by_district_with_the_state_above_it_in_every_part() -> None:
    scenario = load_scenario("kerala", scale=0.05, seed=2)
    split = partition(scenario, SimOptions(seed=2, search_sample=0.05), 2)
    assert split.by == "district" and len(split.parts) == 2
    roles = {split.offices[n].role for n in split.shared}
    assert roles <= {"national", "state", "forensic-lab", "fingerprint-bureau"}
    assert {"ncrb", "kerala/scrb"} <= split.shared
    # Every office is in exactly one part or shared; a district wholly in one part.
    every = [n for part in split.parts for n in part]
    assert len(every) == len(set(every)) and set(every) | split.shared == set(split.offices)
    for part in split.parts:
        districts = {split.offices[n].district for n in part}
        for other in split.parts:
            if other is not part:
                assert not districts & {split.offices[n].district for n in other}
    low, high = sorted(split.weights)
    assert low / high > 0.8  # balanced by their work


def test_sim_partition_keeps_the_districts_a_fault_links_together() -> None:
    faults = (TinyFault("link-down", HOUR, HOUR, "tiny/d1/c1/ps1", other="tiny/d3/c1/ps1"),)
    split = partition(tiny_scenario(districts=4, faults=faults), SimOptions(), 2)
    (together,) = [p for p in split.parts if "tiny/d1" in p]
    assert "tiny/d3" in together and "tiny/d2" not in together


def test_sim_partition_by_state_for_india() -> None:
    scenario = load_scenario("india", scale=0.005, seed=1)
    split = partition(scenario, SimOptions(seed=1), 2)
    assert split.by == "state" and split.shared == {"ncrb"}
    states = [{n.split("/", 1)[0] for n in part} for part in split.parts]
    assert not states[0] & states[1]


class BrokenWorkload:
    """A workload whose rhythm fails when a part's run reads it (the split does not)."""

    def entries_per_day(self, role: str) -> float:
        return 48.0 if role == "station" else 0.0

    def searches_per_day(self, role: str) -> float:
        return 0.0

    @property
    def rhythm(self) -> tuple[float, ...]:
        raise ValueError("no rhythm here")


def test_sim_split_run_says_which_part_failed_and_why() -> None:
    base = tiny_scenario(districts=2)
    scenario = TinyScenario("tiny", base.offices, BrokenWorkload())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"part [12] of the run failed(.|\n)*no rhythm here"):
        run_scenario(scenario, dataclasses.replace(OPTIONS, jobs=2))


def test_sim_india_districts_are_named_within_their_state() -> None:
    # India's files number each state's districts from d01: a search from bihar/d03 goes to
    # bihar/d03's offices only, not to every state's d03 (so it stays in its state's part).
    scenario = load_scenario("india", scale=0.005, seed=1)
    sim = Simulation(scenario, SimOptions(seed=1))
    try:
        station = next(n for n, o in sim.offices.items() if o.role == "station")
        state = station.split("/", 1)[0]
        assert sim.offices[station].district.startswith(f"{state}/d")
        targets = sim._search_targets(station)
        assert targets and all(t.split("/", 1)[0] == state for t in targets)
        assert sum(1 for t in targets if sim.offices[t].role == "district") == 1
    finally:
        sim.close()
