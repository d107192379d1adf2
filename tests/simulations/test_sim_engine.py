"""The simulator on small scenarios: the invariants hold, and faults are caught and recovered.

Every run is seeded and under trio's MockClock, so each is deterministic and takes seconds.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path

import trio
import trio.testing

from protos import ledger_pb2, records_pb2
from simulations.sim import invariants
from simulations.sim.engine import DAY, SimOptions, Simulation, run_scenario, survivors_frozen
from simulations.sim.report import Report, render_html, render_text
from simulations.sim.shape import TinyFault, TinyWorkload, tiny_scenario

HOUR = 3600.0


def _run(faults: Sequence[TinyFault] = (), days: float = 0.5) -> Report:
    scenario = tiny_scenario(districts=2, circles=1, stations=3, faults=faults)
    return run_scenario(scenario, SimOptions(days=days, seed=7))


def test_sim_survivors_frozen_after_a_full_collection_and_unfrozen_at_the_end() -> None:
    assert gc.get_freeze_count() == 0
    callbacks, thresholds = list(gc.callbacks), gc.get_threshold()
    with survivors_frozen():
        gc.collect(1)
        assert gc.get_freeze_count() == 0  # only a full collection freezes what survived
        kept = [[n] for n in range(1000)]
        gc.collect()
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0
    assert gc.callbacks == callbacks
    assert gc.get_threshold() == thresholds


def test_sim_without_faults_loses_and_duplicates_nothing() -> None:
    report = _run()
    assert report.ok, report.problems
    assert report.entries_written > 50
    assert report.lost == 0 and report.duplicated == 0
    assert report.replicas_checked > 0
    assert report.replicas_verified == report.replicas_checked
    assert {"station->circle", "station->district", "station->state"} <= set(report.lag)
    assert report.searches > 0 and report.fanout_answered == report.fanout_asked
    assert report.bytes_per_link_day["station->circle"] > 0


def test_sim_runs_are_deterministic() -> None:
    first, second = _run(), _run()
    assert first.entries_written == second.entries_written
    assert first.messages == second.messages
    assert first.lag == second.lag
    assert first.bytes_per_link_day == second.bytes_per_link_day


def test_sim_equivocation_is_caught_through_gossip() -> None:
    report = _run([TinyFault("equivocate", 2 * HOUR, 0, "tiny/d1/c1/ps2")], days=1.0)
    assert report.ok, report.problems
    [caught] = report.equivocations
    assert caught.node == "tiny/d1/c1/ps2"
    assert caught.detected_at is not None and caught.detected_by == "tiny/d1/c1"
    assert caught.time_to_detect is not None and caught.time_to_detect > 0


def test_sim_equivocation_is_caught_when_the_fork_outgrows_the_true_log() -> None:
    """Every deceived reader's search appends to the fork, so the fork soon holds more entries
    than the true log: its notes are held by the office that follows the log until its replica
    has passed their size, then checked; a reader in another circle gossips to the district."""
    scenario = tiny_scenario(
        districts=1,
        circles=2,
        stations=4,
        workload=TinyWorkload(searches={"station": 60.0}),
        faults=[TinyFault("equivocate", 3 * HOUR, 0, "tiny/d1/c2/ps3")],
    )
    report = run_scenario(scenario, SimOptions(days=0.5, seed=2))
    assert report.ok, report.problems
    [caught] = report.equivocations
    assert caught.detected_at is not None


def test_sim_outages_are_caught_up_after_they_end() -> None:
    report = _run(
        [
            TinyFault("link-down", 1 * HOUR, 5 * HOUR, "tiny/d1/c1/ps1"),
            TinyFault("district-cut", 2 * HOUR, 3 * HOUR, "tiny/d2"),
            TinyFault("crash", 3 * HOUR, HOUR, "tiny/d1/c1"),
            TinyFault("lossy-link", 1 * HOUR, 4 * HOUR, "tiny/d1/c1/ps2", loss=0.5),
            TinyFault("slow-link", 1 * HOUR, 4 * HOUR, "tiny/d1/c1/ps3", latency=3.0),
            TinyFault("move", 6 * HOUR, HOUR, "tiny/d2/c1/ps1"),
        ]
    )
    assert report.ok, report.problems
    by_kind = {outage.kind: outage for outage in report.outages}
    assert set(by_kind) == {"link-down", "district-cut", "crash", "lossy-link", "slow-link", "move"}
    for outage in report.outages:
        assert outage.caught_up_at is not None, outage
    # The stations behind the cut links kept registering.
    assert by_kind["link-down"].written_during > 0
    assert by_kind["district-cut"].written_during > 0


def test_sim_station_cut_off_for_a_week_keeps_registering_and_converges() -> None:
    scenario = tiny_scenario(
        districts=1,
        circles=1,
        stations=2,
        faults=[TinyFault("link-down", 0.0, 7 * DAY, "tiny/d1/c1/ps1")],
        workload=TinyWorkload(searches={}),
    )
    report = run_scenario(scenario, SimOptions(days=7.0, seed=3, tick=3 * HOUR))
    assert report.ok, report.problems
    [outage] = report.outages
    assert outage.end - outage.start == 7 * DAY
    assert outage.written_during > 100
    assert outage.caught_up_at is not None
    assert report.lost == 0


def test_sim_node_restored_from_an_old_backup_recovers_from_its_parent() -> None:
    report = _run([TinyFault("restore-backup", 8 * HOUR, 6 * HOUR, "tiny/d1/c1/ps1")])
    assert report.ok, report.problems  # no fork: the parent quarantined nothing
    [outage] = report.outages
    assert outage.kind == "restore-backup" and outage.caught_up_at is not None
    assert report.lost == 0
    [note] = [n for n in report.notes if "restored from a backup" in n]
    recovered = int(note.split(": ")[1].split(" recovered")[0])
    assert recovered > 0  # the backup was behind its parent: recover_from_parent ran


def test_sim_disk_stores(tmp_path: Path) -> None:
    scenario = tiny_scenario(
        districts=1,
        circles=1,
        stations=2,
        faults=[TinyFault("crash", 2 * HOUR, HOUR, "tiny/d1/c1")],
    )
    options = SimOptions(days=0.25, seed=1, store="disk", data_dir=tmp_path)
    report = run_scenario(scenario, options)
    assert report.ok, report.problems
    assert list(tmp_path.rglob("CURRENT"))  # RocksDB directories were written


def test_sim_invariants_catch_an_entry_that_never_reached_the_parent() -> None:
    """The checker itself: an entry appended after convergence is reported as lost."""

    async def main() -> tuple[Report, Report]:
        scenario = tiny_scenario(districts=1, circles=1, stations=2)
        simulation = Simulation(scenario, SimOptions(days=0.25, seed=5))
        try:
            report = await simulation.run()
            simulation.nodes["tiny/d1/c1/ps1"].ledger.append(
                ledger_pb2.EntryBody(
                    officer_id="x", general_diary=records_pb2.GeneralDiaryEntry(gd_number=999_999)
                )
            )
            again = Report(scenario="tiny", days=0.25, seed=5, store="memory", scale=1.0)
            invariants.check(simulation, again)
            return report, again
        finally:
            simulation.close()

    report, again = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert report.ok, report.problems
    assert not again.ok
    assert again.lost >= 1
    assert any("tiny/d1/c1/ps1" in problem for problem in again.problems)


def test_sim_report_renders_text_and_html() -> None:
    report = _run([TinyFault("link-down", 1 * HOUR, 2 * HOUR, "tiny/d1/c1/ps1")])
    text = render_text(report)
    assert "replication lag" in text and "records lost: 0" in text
    html = render_html(report)
    assert html.count("<svg") >= 3 and "every invariant holds" in html


def test_sim_parent_cosigns_a_quiet_log_again_so_readers_never_find_its_line_stale() -> None:
    """Stations that write four entries a day and are searched often: between their entries
    the parent's line on their checkpoint would age past the readers' 60 minutes, and answers
    were flagged "cosigned too long ago" (6 in this run before the simulator modelled
    refresh_cosignature). The parent's poll at the line's refresh time is now a round that
    cosigns again, so no answer of a quiet but reachable office is flagged for age."""
    workload = TinyWorkload(entries={"station": 4.0}, searches={"station": 48.0})
    scenario = tiny_scenario(districts=2, circles=2, stations=2, workload=workload)
    report = run_scenario(scenario, SimOptions(days=1.0, seed=7, search_sample=1.0))
    assert report.ok, report.problems
    [witness] = [n for n in report.notes if n.startswith("witness:")]
    assert int(witness.split()[1]) > 1000, witness  # answers checked
    assert "too long ago" not in witness, witness
