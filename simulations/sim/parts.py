"""A run split over processes: the scenario's offices in parts, each part a whole run of its own
in simulated time (same seed), their reports merged into one (docs/simulator.md, "Split over
two cores").

`run_scenario(scenario, SimOptions(jobs=N))` comes here. The split (`partition`):

- by district when the run holds one state (Kerala), by state when it holds several (India);
  each district (state) with everything under it is a *unit*, and the units are shared out
  among the N parts by their work (offices x levels above them x commits and audits a day,
  largest first onto the lightest part), so the parts cost about the same;
- the offices above the units (Kerala: the national node, SCRB and the state bureaux under it;
  India: the national node) are *shared*: they run in every part, and there follow only that
  part's offices. A follower of one log depends on no other, so each (holder, log) pair of a
  unit office replicates, lags and catches up as in the whole run;
- units a fault names together (a link between two offices of two units) go to one part.

Each part runs `Simulation` over its offices (`SimOptions.part_offices`) in a process of its own
(multiprocessing, "spawn"), and sends back its report and raw figures (`PartTally`: the lag
samples, the fan-out latencies, the bytes per link, what is of the shared offices). `merge`
adds them up:

- counts summed; what the shared offices' own logs hold and carry (their workload entries,
  their replicas' checks, the traffic of their logs between shared offices: the national
  node's replica of SCRB's log is in every part) is counted once, from the first part; the
  audit entries of searches they answer, if any, are per part and summed;
- distributions (lag per level, fan-out latency) merged from the raw samples (the shared logs'
  lag from the first part only);
- invariants: every part checks its own; the merged PROBLEMS are the union;
- wall time of the whole; peak memory the sum of the parts' peaks (each counts its own
  Python and libraries, about 100 MiB); CPU the sum of the parts' processes (their start
  included) and this process's split and merge.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module
import resource
import tempfile
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from simulations.sim.directory import notes_of
from simulations.sim.engine import (
    DAY,
    SimOptions,
    Simulation,
    label_order,
    link_label,
    replace_options,
    run_scenario,
    select_offices,
    standing_notes,
    survivors_frozen,
)
from simulations.sim.node import Office
from simulations.sim.report import EquivocationResult, OutageResult, Report, Stats
from simulations.sim.shape import ScenarioLike
from simulations.sim.timers import sim_clock

__all__ = ["PartTally", "Partition", "merge", "partition", "run_in_parts"]

TICKS_A_DAY = 48  # an office commits its workload at most once a tick (30 minutes)


@dataclass(frozen=True, slots=True)
class Partition:
    """How a run is split: the offices of each part, and the shared ones (in every part)."""

    offices: dict[str, Office]  # the whole run's selection, parents first
    shared: frozenset[str]
    parts: list[frozenset[str]]  # each part's own offices (without the shared)
    units: list[list[str]]  # each part's units (district or state names)
    weights: list[float]  # each part's estimated work
    by: str  # "district" or "state"

    def describe(self) -> list[str]:
        """One line per part, for the report."""
        lines = []
        for index, (own, units, weight) in enumerate(
            zip(self.parts, self.units, self.weights, strict=True)
        ):
            stations = sum(1 for n in own if self.offices[n].role == "station")
            names = ", ".join(units)
            lines.append(
                f"part {index + 1}: {len(units)} {self.by}(s) ({names}): {len(own)} offices, "
                f"{stations} stations, + the {len(self.shared)} shared; "
                f"estimated work {weight / sum(self.weights):.1%}"
            )
        shared = sorted(self.shared, key=list(self.offices).index)
        shown = ", ".join(shared[:6]) + (f" and {len(shared) - 6} more" if len(shared) > 6 else "")
        lines.append(f"shared (in every part, each following only its part's offices): {shown}")
        return lines


@dataclass(slots=True)
class PartTally:
    """One part's raw figures, for the merge (a part's report gives only their summaries)."""

    report: Report
    own: list[str]
    lag: dict[str, list[float]]  # label -> samples, logs of the part's own offices
    lag_shared: dict[str, list[float]]  # label -> samples, logs of the shared offices
    search_latency: list[float]
    bytes: dict[tuple[str, str], int]
    shared_bytes: dict[tuple[str, str], int]
    calls: int
    shared_calls: int
    shared_written: int  # workload entries of the shared offices (the same in every part)
    shared_checked: int
    shared_verified: int
    shared_lost: int
    shared_duplicated: int
    shared_lost_with_disk: int
    outages: list[tuple[OutageResult, list[str], int]]  # (result, members, by shared offices)
    engine_notes: list[str]
    directory: dict[str, Any]
    cpu_seconds: float = 0.0


# -- the split --------------------------------------------------------------------------------


def partition(scenario: ScenarioLike, options: SimOptions, jobs: int) -> Partition:
    """The run's offices in up to `jobs` parts (fewer when there are fewer units)."""
    scale = options.scale if getattr(scenario, "scale", 1.0) >= 1.0 else 1.0
    offices = select_offices(scenario, scale, options.seed)
    states = [n for n, o in offices.items() if o.role == "state"]
    by = "state" if len(states) > 1 else "district"
    heads = {n for n, o in offices.items() if o.role == by}
    unit_of: dict[str, str] = {}
    for node_id, office in offices.items():  # parents first: a child takes its parent's unit
        if node_id in heads:
            unit_of[node_id] = node_id
        elif office.parent in unit_of:
            unit_of[node_id] = unit_of[office.parent]
    shared = frozenset(n for n in offices if n not in unit_of)
    # Units a fault names together are one (a link between two of them).
    joined: dict[str, str] = {h: h for h in heads}

    def root(unit: str) -> str:
        while joined[unit] != unit:
            unit = joined[unit]
        return unit

    if options.faults:
        district_head = {o.district: n for n, o in offices.items() if o.role == "district"}
        for spec in scenario.faults:
            named = [spec.target, getattr(spec, "other", "") or ""]
            if spec.kind == "district-cut" and spec.target in district_head:
                named.append(district_head[spec.target])
            linked = sorted({root(unit_of[n]) for n in named if n in unit_of})
            for other in linked[1:]:
                joined[other] = linked[0]
    members: defaultdict[str, list[str]] = defaultdict(list)
    for node_id, unit in unit_of.items():
        members[root(unit)].append(node_id)
    weight = {
        unit: sum(_work(scenario, options, offices, n) for n in own)
        for unit, own in members.items()
    }
    count = max(1, min(jobs, len(members)))
    parts: list[set[str]] = [set() for _ in range(count)]
    units: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for unit in sorted(members, key=lambda u: (-weight[u], u)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        parts[lightest].update(members[unit])
        units[lightest] += [_unit_name(offices, u) for u in sorted(heads) if root(u) == unit]
        loads[lightest] += weight[unit]
    return Partition(
        offices=offices,
        shared=shared,
        parts=[frozenset(p) for p in parts],
        units=units,
        weights=loads,
        by=by,
    )


def _unit_name(offices: dict[str, Office], head: str) -> str:
    office = offices[head]
    if office.role == "district" and office.district:
        return office.district.rsplit("/", 1)[-1]
    return head.split("/", 1)[0]


def _work(
    scenario: ScenarioLike, options: SimOptions, offices: dict[str, Office], node: str
) -> float:
    """An office's estimated work a day: each commit of its log (its workload, at most one a
    tick, and the audit entries of the searches it answers) replicated at every level above."""
    levels, parent = 0, offices[node].parent
    while parent:
        levels += 1
        parent = offices[parent].parent
    workload = scenario.workload
    role = offices[node].role
    commits = min(workload.entries_per_day(role), TICKS_A_DAY)
    if role in ("station", "district"):
        # Searches are answered in the district, about one answer per station asked.
        commits += workload.searches_per_day("station") * options.search_sample
    return levels * (commits + 1)


# -- running the parts ------------------------------------------------------------------------


def run_in_parts(scenario: ScenarioLike, options: SimOptions) -> Report:
    """`scenario` run as `options.jobs` parts, in as many processes, merged (blocking)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    split = partition(scenario, options, options.jobs)
    if len(split.parts) < 2:
        report = run_scenario(scenario, replace_options(options, jobs=1))
        report.notes.append(f"not split: the run holds a single {split.by}")
        return report
    with tempfile.TemporaryDirectory(prefix="cctns-sim-") as tmp:
        base = options.data_dir or Path(tmp)
        tallies = _run_parts(scenario, options, split, base)
    report = merge(options, split, tallies)
    report.wall_seconds = time.perf_counter() - started
    report.cpu_seconds += time.process_time() - cpu_started  # the split and the merge
    return report


def _run_parts(
    scenario: ScenarioLike, options: SimOptions, split: Partition, base: Path
) -> list[PartTally]:
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    processes = []
    replies = []  # to each part: when the last part's offices converged
    for index, own in enumerate(split.parts):
        part_options = replace_options(
            options,
            progress=None,
            part_offices=own | split.shared,
            shared_offices=split.shared,
            data_dir=base / f"part-{index + 1}" if options.store == "disk" else options.data_dir,
        )
        reading, writing = context.Pipe(duplex=False)
        replies.append(writing)
        process = context.Process(
            target=_part_main,
            args=(scenario, part_options, index, messages, reading, options.progress is not None),
            name=f"cctns-sim-part-{index + 1}",
            daemon=True,
        )
        process.start()
        processes.append(process)
    tallies: dict[int, PartTally] = {}
    done = [0.0] * len(processes)
    settled: dict[int, float] = {}
    try:
        while len(tallies) < len(processes):
            try:
                message = messages.get(timeout=1.0)
            except queue_module.Empty:
                for index, process in enumerate(processes):
                    if index not in tallies and process.exitcode is not None:
                        raise RuntimeError(
                            f"part {index + 1} of the run ended (exit {process.exitcode}) "
                            "without a report"
                        ) from None
                continue
            kind, index = message[0], message[1]
            if kind == "progress" and options.progress is not None:
                done[index] = message[2]
                options.progress(min(done), message[3])
            elif kind == "settled":
                settled[index] = message[2]
                if len(settled) == len(processes):
                    last = max(settled.values())
                    for reply in replies:
                        reply.send(last)
            elif kind == "done":
                tallies[index] = message[2]
            elif kind == "error":
                raise RuntimeError(f"part {index + 1} of the run failed:\n{message[2]}")
    finally:
        for process in processes:
            process.join(timeout=5.0)
            if process.is_alive():
                process.terminate()
                process.join()
    return [tallies[i] for i in range(len(processes))]


def _part_main(
    scenario: ScenarioLike,
    options: SimOptions,
    index: int,
    messages: Any,
    replies: Any,
    progress: bool,
) -> None:
    """A part in its own process: runs it, sends back ("done", index, PartTally), or ("error",
    index, the traceback). When its offices have converged it says so ("settled", index, when)
    and waits for the moment the last part's did (`replies`), and runs until then."""

    def settled(when: float) -> float:
        messages.put(("settled", index, when))
        last: float = replies.recv()
        return last

    try:
        if progress:

            def report_progress(done: float, total: float) -> None:
                messages.put(("progress", index, done, total))

            options = replace_options(options, progress=report_progress)
        tally = trio.run(_run_part, scenario, options, settled, clock=sim_clock())
        # The part's whole process: its start (imports, the scenario unpickled) included.
        used = resource.getrusage(resource.RUSAGE_SELF)
        tally.cpu_seconds = used.ru_utime + used.ru_stime
        messages.put(("done", index, tally))
    except BaseException:
        messages.put(("error", index, traceback.format_exc()))


async def _run_part(
    scenario: ScenarioLike, options: SimOptions, settled: Callable[[float], float]
) -> PartTally:
    simulation = Simulation(scenario, options)
    simulation.settled = settled
    try:
        with survivors_frozen():
            report = await simulation.run()
        return tally_of(simulation, report)
    finally:
        simulation.close()


def tally_of(sim: Simulation, report: Report) -> PartTally:
    """What a part sends back for the merge."""
    network = sim.network
    return PartTally(
        report=report,
        own=[n for n in sim.offices if n not in sim.shared],
        lag=dict(sim.lag),
        lag_shared=dict(sim.lag_shared),
        search_latency=list(sim.search_latency),
        bytes=dict(network.bytes),
        shared_bytes=dict(network.shared_bytes),
        calls=network.calls,
        shared_calls=network.shared_calls,
        shared_written=sum(sim.written[n] for n in sim.shared),
        shared_checked=sim.shared_checked,
        shared_verified=sim.shared_verified,
        shared_lost=sim.shared_lost,
        shared_duplicated=sim.shared_duplicated,
        shared_lost_with_disk=sim.shared_lost_with_disk,
        outages=[(o.result, o.offices, o.shared_written) for o in sim.outages],
        engine_notes=list(sim.notes),
        directory=sim.directory.counters(),
        cpu_seconds=report.cpu_seconds,
    )


# -- the merge ----------------------------------------------------------------------------------


def _union(lists: list[list[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
    return list(seen)


def merge(options: SimOptions, split: Partition, tallies: list[PartTally]) -> Report:
    """One report from the parts' (see the module docstring for what is counted how)."""
    first, rest = tallies[0], tallies[1:]
    reports = [t.report for t in tallies]
    offices = split.offices
    roles: defaultdict[str, int] = defaultdict(int)
    for office in offices.values():
        roles[office.role] += 1
    # Lag: the part's own logs from every part, the shared logs' from the first.
    samples: defaultdict[str, list[float]] = defaultdict(list)
    for tally in tallies:
        for label, values in tally.lag.items():
            samples[label] += values
    for label, values in first.lag_shared.items():
        samples[label] += values
    lag = {label: Stats.of(samples[label]) for label in sorted(samples, key=label_order)}
    latencies = [v for t in tallies for v in t.search_latency]
    # Bytes per link: a link between two shared offices is in every part; its shared logs'
    # traffic counted once.
    carried: defaultdict[tuple[str, str], int] = defaultdict(int)
    for tally in tallies:
        for link, count in tally.bytes.items():
            carried[link] += count - tally.shared_bytes.get(link, 0)
    for link, count in first.shared_bytes.items():
        carried[link] += count
    sim_seconds = max(r.sim_seconds for r in reports)
    days = max(sim_seconds / DAY, 1e-9)
    per_kind: defaultdict[str, list[float]] = defaultdict(list)
    for (a, b), count in carried.items():
        per_kind[link_label(offices, a, b)].append(count / days)
    bytes_per_link = {
        label: sum(values) / len(values)
        for label, values in sorted(per_kind.items(), key=lambda kv: label_order(kv[0]))
    }
    top = sorted(carried.items(), key=lambda kv: -kv[1])[:10]
    twice = sum(t.shared_written for t in rest)  # the shared offices' entries, counted once
    report = Report(
        scenario=first.report.scenario,
        days=options.days,
        seed=options.seed,
        store=options.store,
        scale=options.scale,
        offices=dict(roles),
        entries_written=sum(r.entries_written for r in reports) - twice,
        entries_total=sum(r.entries_total for r in reports) - twice,
        lag=lag,
        fanout_latency=Stats.of(latencies),
        searches=sum(r.searches for r in reports),
        fanout_asked=sum(r.fanout_asked for r in reports),
        fanout_answered=sum(r.fanout_answered for r in reports),
        bytes_per_link_day=bytes_per_link,
        top_links=[(f"{a} <-> {b}", count / days) for (a, b), count in top],
        messages=sum(t.calls - t.shared_calls for t in tallies) + first.shared_calls,
        lost=sum(r.lost for r in reports) - sum(t.shared_lost for t in rest),
        lost_with_disk=sum(r.lost_with_disk for r in reports)
        - sum(t.shared_lost_with_disk for t in rest),
        duplicated=sum(r.duplicated for r in reports) - sum(t.shared_duplicated for t in rest),
        replicas_checked=sum(r.replicas_checked for r in reports)
        - sum(t.shared_checked for t in rest),
        replicas_verified=sum(r.replicas_verified for r in reports)
        - sum(t.shared_verified for t in rest),
        replicas_failed=_union([r.replicas_failed for r in reports]),
        equivocations=_equivocations(reports),
        outages=_outages(tallies),
        problems=_union([r.problems for r in reports]),
        sim_seconds=sim_seconds,
        cpu_seconds=sum(t.cpu_seconds for t in tallies),
        peak_rss_mb=sum(r.peak_rss_mb for r in reports),
        jobs=len(tallies),
        parts=split.describe(),
    )
    report.notes = _union([t.engine_notes for t in tallies]) + standing_notes(options)
    report.notes += notes_of(_directory(split, tallies))
    return report


def _directory(split: Partition, tallies: list[PartTally]) -> dict[str, Any]:
    """The directory's figures over the parts: each office joined once (the shared ones
    joined in every part, counted once); checks, lookups and verdicts summed."""
    total: dict[str, Any] = {"flagged": {}}
    for tally in tallies:
        for name, value in tally.directory.items():
            if name == "flagged":
                for why, count in value.items():
                    total["flagged"][why] = total["flagged"].get(why, 0) + count
            else:
                total[name] = total.get(name, 0) + value
    total["joined"] = len(split.offices)
    total["states"] = len({n.split("/", 1)[0] for n in split.offices if "/" in n})
    return total


def _equivocations(reports: list[Report]) -> list[EquivocationResult]:
    """One per office: a shared office's equivocation is in every part, caught first where
    it was caught first."""
    found: dict[str, EquivocationResult] = {}
    for report in reports:
        for eq in report.equivocations:
            held = found.get(eq.node)
            if held is None:
                found[eq.node] = EquivocationResult(eq.node, eq.at, eq.detected_at, eq.detected_by)
            elif eq.detected_at is not None and (
                held.detected_at is None or eq.detected_at < held.detected_at
            ):
                held.detected_at, held.detected_by = eq.detected_at, eq.detected_by
    return sorted(found.values(), key=lambda e: (e.at, e.node))


def _outages(tallies: list[PartTally]) -> list[OutageResult]:
    """One per fault: a fault on a shared office is in every part; its offices counted once,
    what they wrote meanwhile once, caught up when the last part had."""
    merged: dict[tuple[str, str, float], OutageResult] = {}
    members: dict[tuple[str, str, float], set[str]] = {}
    for index, tally in enumerate(tallies):
        for result, offices, shared_written in tally.outages:
            key = (result.kind, result.target, result.start)
            written = result.written_during - (shared_written if index else 0)
            held = merged.get(key)
            if held is None:
                merged[key] = OutageResult(
                    result.kind,
                    result.target,
                    result.start,
                    result.end,
                    written,
                    result.offices,
                    result.caught_up_at,
                )
                members[key] = set(offices)
                continue
            held.end = max(held.end, result.end)
            held.written_during += written
            members[key] |= set(offices)
            held.offices = len(members[key])
            if held.caught_up_at is None or result.caught_up_at is None:
                held.caught_up_at = None
            else:
                held.caught_up_at = max(held.caught_up_at, result.caught_up_at)
    return sorted(merged.values(), key=lambda o: (o.end, o.start))
