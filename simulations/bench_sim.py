"""`make bench`: the simulator's cost curve, beside a baseline measured in the same run.

For 10, 100, 835, 5,000 and 17,000 stations the simulator (simulations/sim/engine.py) runs one
scenario each in a process of its own (so each peak memory is its own): 10 and 100 stations are
Kerala scaled down, 835 is Kerala's 835 offices (482 stations), 5,000 India scaled, 17,000 all
of India. Measured: wall time, peak resident memory, ledger entries written and simulated
seconds per wall second; the entries per wall second are set beside raw Ed25519 signs per second
over entry-sized bodies, measured in the same run (every simulated entry is signed once by its
writer and verified by each replica, so the ratio says how far the simulator is from the cost of
the signatures alone). Faults are off for the curve (`--targets` runs them).

The two big sizes run a shorter span by default (`--big-days`, one simulated hour): the report
says which span each size ran, and gives the day's wall time only as a linear extrapolation.
With `--targets` it also runs the issue's two targets, faults on, and sets their wall times
against them: the Kerala week (under 10 minutes) and the India day (under 30 minutes). The
targets run split over `--jobs` processes (default: the machine's cores, at most 2;
simulations/sim/parts.py), as `cctns sim` does; their peak memory is then the sum of the
parts' peaks. The cost curve runs each size in one process (`--jobs` 1), as before.

Results go to bench-out/simulator.json and the chart beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nacl.signing

from ledger.entry import ENTRY_CONTEXT
from node.records.validation import IST
from simulations.bench import sample_bodies
from simulations.chart import bar_chart
from simulations.report import per_second, save_results

DAY = 86400.0
# (label, scenario, stations wanted: a scale is chosen to keep about that many)
SIZES = (
    ("10 stations", "kerala", 10),
    ("100 stations", "kerala", 100),
    ("835 offices (Kerala)", "kerala", 482),
    ("5,000 stations", "india", 5000),
    ("17,000 stations (India)", "india", 16995),
)
TARGETS = (("Kerala week", "kerala", 7.0, 600.0), ("India day", "india", 1.0, 1800.0))


def raw_sign_rate(count: int = 5000) -> float:
    """Raw Ed25519 signatures per second over entry-sized bodies (the baseline)."""
    raw = [b.SerializeToString(deterministic=True) for b in sample_bodies(count)]
    key = nacl.signing.SigningKey.generate()
    start = time.perf_counter()
    for body in raw:
        key.sign(ENTRY_CONTEXT + body)
    return per_second(len(raw), time.perf_counter() - start)


def run_one(
    scenario: str, stations: int, days: float, faults: bool, seed: int, jobs: int = 1
) -> dict[str, Any]:
    """One simulation in this process: what it cost (called in the child)."""
    # The engine is imported where it runs: the parent process measures the baseline only,
    # and its own memory must not count the engine's.
    from simulations.sim.engine import SimOptions, run_scenario  # noqa: PLC0415
    from simulations.sim.scenario import load_scenario  # noqa: PLC0415

    full = load_scenario(scenario, faults=faults)
    total = len(full.by_role("station"))
    scale = min(1.0, stations / total)
    chosen = load_scenario(scenario, scale=scale, seed=seed, faults=faults) if scale < 1 else full
    started = time.perf_counter()
    report = run_scenario(chosen, SimOptions(days=days, seed=seed, faults=faults, jobs=jobs))
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if report.jobs > 1:  # the parts ran in processes of their own: the sum of their peaks
        peak_kib = round(report.peak_rss_mb * 1024)
    return {
        "scenario": scenario,
        "offices": len(chosen.offices),
        "stations": len(chosen.by_role("station")),
        "days": days,
        "wall_seconds": wall,
        "peak_rss_mb": peak_kib / 1024.0,
        "cpu_seconds": report.cpu_seconds,
        "jobs": report.jobs,
        "entries_written": report.entries_written,
        "entries_total": report.entries_total,
        "lost": report.lost,
        "duplicated": report.duplicated,
        "problems": list(report.problems),
    }


def run_child(
    scenario: str,
    stations: int,
    days: float,
    *,
    faults: bool,
    seed: int,
    budget: float,
    jobs: int = 1,
) -> dict[str, Any]:
    """`run_one` in a process of its own, stopped after `budget` seconds."""
    command = [
        sys.executable,
        "-m",
        "simulations.bench_sim",
        "--one",
        scenario,
        "--stations",
        str(stations),
        "--days",
        repr(days),
        "--seed",
        str(seed),
        "--jobs",
        str(jobs),
    ]
    if faults:
        command.append("--faults")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=budget, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {budget:.0f} s", "days": days}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"failed (exit {done.returncode}): {' / '.join(tail)}", "days": days}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _derive(run: dict[str, Any], sign_rate: float) -> None:
    if "error" in run:
        return
    wall = run["wall_seconds"]
    run["entries_per_s"] = per_second(run["entries_total"], wall)
    run["ratio_to_signs"] = run["entries_per_s"] / sign_rate
    run["sim_seconds_per_wall_second"] = per_second(round(run["days"] * DAY), wall)
    run["day_wall_seconds_extrapolated"] = wall / run["days"]


def _table(results: dict[str, Any]) -> str:
    lines = [
        f"raw Ed25519 signs/s (baseline, same run): {results['raw_ed25519_signs_per_s']:,.0f}",
        "",
        f"{'size':26} {'offices':>8} {'span':>7} {'wall s':>9} {'peak MB':>8} "
        f"{'entries/s':>10} {'/signs':>7} {'sim s/s':>9} {'day (extrap.)':>14}",
    ]
    for run in results["curve"]:
        span = f"{run['days'] * 24:.3g} h" if run["days"] < 1 else f"{run['days']:g} d"
        if "error" in run:
            lines.append(f"{run['label']:26} {'':>8} {span:>7} {run['error']}")
            continue
        extrap = run["day_wall_seconds_extrapolated"]
        lines.append(
            f"{run['label']:26} {run['offices']:>8,} {span:>7} {run['wall_seconds']:>9.1f} "
            f"{run['peak_rss_mb']:>8.0f} {run['entries_per_s']:>10,.0f} "
            f"{run['ratio_to_signs']:>7.3f} {run['sim_seconds_per_wall_second']:>9,.0f} "
            f"{(f'{extrap:,.0f} s' if run['days'] < 1 else '-'):>14}"
        )
    if any(run.get("days", 1) < 1 for run in results["curve"]):
        lines.append(
            "day (extrap.): the span's wall time times the day over the span. The spans start at "
            "midnight, the quiet hours of the daily rhythm: a lower bound, not a measurement."
        )
    for target in results.get("targets", []):
        if "error" in target:
            lines.append(f"{target['label']}: {target['error']}")
            continue
        verdict = "meets" if target["wall_seconds"] <= target["target_seconds"] else "MISSES"
        lines.append(
            f"{target['label']}: {target['wall_seconds']:,.0f} s wall for {target['offices']:,} "
            f"offices, target {target['target_seconds']:,.0f} s: {verdict} "
            f"(lost {target['lost']}, duplicated {target['duplicated']})"
            + (
                f"; {target['jobs']} processes, CPU {target['cpu_seconds']:,.0f} s"
                if target.get("jobs", 1) > 1
                else ""
            )
        )
    return "\n".join(lines)


def _chart(results: dict[str, Any]) -> str:
    bars = []
    for run in results["curve"]:
        if "error" in run:
            bars.append((run["label"], 0.0, run["error"]))
            continue
        span = f"{run['days'] * 24:.3g} h" if run["days"] < 1 else f"{run['days']:g} d"
        bars.append(
            (
                f"{run['label']} ({span})",
                run["wall_seconds"],
                f"{run['wall_seconds']:,.0f} s, {run['peak_rss_mb']:,.0f} MB, "
                f"x{run['ratio_to_signs']:.3f} of signs/s",
            )
        )
    return bar_chart("Simulator wall time by network size (same run)", bars)


def _keep(results: dict[str, Any], out: str) -> None:
    """The results so far, written after every size: a long run stopped midway keeps them."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=1.0, help="simulated days, small sizes")
    parser.add_argument(
        "--big-days", type=float, default=1 / 24, help="simulated days for 5,000 and 17,000"
    )
    parser.add_argument("--budget", type=float, default=1800.0, help="wall seconds per size")
    parser.add_argument("--sizes", default="", help="comma-separated station counts to run")
    parser.add_argument("--targets", action="store_true", help="also the Kerala week, India day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--jobs",
        type=int,
        default=max(1, min(2, os.cpu_count() or 1)),
        help="processes the target runs are split over (default: the cores, at most 2)",
    )
    parser.add_argument("--out", default="bench-out/simulator.json")
    # One size in this process (what the parent starts for each):
    parser.add_argument("--one", default="", help=argparse.SUPPRESS)
    parser.add_argument("--stations", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--faults", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        one = run_one(args.one, args.stations, args.days, args.faults, args.seed, args.jobs)
        print(json.dumps(one))
        return 0
    wanted = {int(s) for s in args.sizes.split(",") if s.strip()}
    print("baseline: raw Ed25519 signs ...", file=sys.stderr)
    sign_rate = raw_sign_rate()
    results: dict[str, Any] = {
        "when": datetime.now(IST).isoformat(),
        "raw_ed25519_signs_per_s": sign_rate,
        "curve": [],
    }
    for label, scenario, stations in SIZES:
        if wanted and stations not in wanted:
            continue
        days = args.big_days if stations >= 5000 else args.days
        print(f"simulating {label}, {days * 24:g} simulated hours ...", file=sys.stderr)
        run = run_child(scenario, stations, days, faults=False, seed=args.seed, budget=args.budget)
        run["label"] = label
        _derive(run, sign_rate)
        results["curve"].append(run)
        _keep(results, args.out)
    if args.targets:
        results["targets"] = []
        for label, scenario, days, target in TARGETS:
            print(f"target run: {label} (faults on) ...", file=sys.stderr)
            run = run_child(
                scenario,
                10**9,
                days,
                faults=True,
                seed=args.seed,
                budget=max(target * 2, 60),
                jobs=args.jobs,
            )
            run.update(label=label, target_seconds=target)
            _derive(run, sign_rate)
            results["targets"].append(run)
            _keep(results, args.out)
    print("\n== simulator cost curve ==")
    print(_table(results))
    save_results(results, args.out, _chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
