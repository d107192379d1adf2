"""`cctns sim ...`: the network simulator (docs/simulator.md).

    cctns sim kerala [--days N] [--scale F] [--seed N] [--store memory|disk] [--html PATH]
                     [--search-sample F] [--jobs N] [--json] [--quiet]
    cctns sim india  (the same options)
    cctns sim kerala --real [--offices 20] [--seconds 60] [--seed N] [--json]

Runs the scenario (simulations/scenarios/<name>.toml) with the real node logic over the
in-memory transport in simulated time, shows progress on stderr (when it is a terminal and
--quiet is not given), prints the report and writes it as HTML with charts. Exits 0 when every
invariant holds (nothing lost, nothing duplicated, replicas verify, equivocations caught,
outages caught up), 1 otherwise.

`--jobs N` splits the run over N processes (by district, or by state for India; the offices
above the split run in every part) and merges their reports (simulations/sim/parts.py); the
default is this machine's cores, at most 2. `--jobs 1` runs it whole in this process.

`--real` runs the same scenario small as real node processes (gRPC on loopback,
simulations/sim/realproc.py) beside the simulator, and prints simulated against measured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from admin.common import command, subcommands

SCENARIOS = ("kerala", "india")


def cmd_run(args: argparse.Namespace) -> int:
    # The simulator is loaded only for this command (it is no part of a node).
    from simulations.sim.engine import SimOptions, run_scenario  # noqa: PLC0415
    from simulations.sim.report import render_html, render_text  # noqa: PLC0415
    from simulations.sim.scenario import load_scenario  # noqa: PLC0415

    if args.real:
        return _run_real(args)
    scenario = load_scenario(args.scenario, scale=args.scale, seed=args.seed)
    days = args.days if args.days is not None else float(getattr(scenario, "days", 1.0))
    seed = args.seed if args.seed is not None else int(getattr(scenario, "seed", 0))
    bar = tqdm(
        total=round(days * 24),
        desc=f"sim {args.scenario}",
        unit=" sim-h",
        disable=True if args.quiet else None,  # None: silent when stderr is no terminal
        file=sys.stderr,
    )

    def progress(done: float, total: float) -> None:
        bar.update(round(done / 3600) - bar.n)

    try:
        report = run_scenario(
            scenario,
            SimOptions(
                days=days,
                scale=args.scale,
                seed=seed,
                store=args.store,
                search_sample=args.search_sample,
                progress=progress,
                jobs=args.jobs if args.jobs is not None else default_jobs(),
            ),
        )
    finally:
        bar.close()
    html = Path(args.html or f"sim-{args.scenario}.html")
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_html(report), encoding="utf-8")
    if args.json:
        print(json.dumps(report.to_json(), default=_plain))
    else:
        print(render_text(report), end="")
        print(f"report: {html}")
    return 0 if report.ok else 1


def _run_real(args: argparse.Namespace) -> int:
    from simulations.sim.realproc import RealOptions, run_real  # noqa: PLC0415 (as above)

    options = RealOptions(scenario=args.scenario, offices=args.offices, seconds=args.seconds)
    if args.seed is not None:
        options = RealOptions(
            scenario=args.scenario, offices=args.offices, seconds=args.seconds, seed=args.seed
        )
    comparison = run_real(options, say=lambda text: print(text, file=sys.stderr))
    if args.json:
        print(json.dumps(comparison.to_json(), default=_plain))
    else:
        print(comparison.table())
    return 1 if comparison.measured.lost else 0


def default_jobs() -> int:
    """The parts a run is split into unless `--jobs` says: the machine's cores, at most 2."""
    return max(1, min(2, os.cpu_count() or 1))


def _plain(value: Any) -> Any:
    return str(value)


def register(groups: Any) -> None:
    group = subcommands(
        groups,
        "sim",
        "simulate the network at Kerala or India scale",
        "Runs the real node logic for every office over a simulated network in simulated "
        "time, with the scenario's faults, and reports lag, traffic and the invariants.",
    )
    for name in SCENARIOS:
        sub = command(group, name, cmd_run, f"simulate the {name} scenario", data_dir=False)
        sub.set_defaults(scenario=name)
        sub.add_argument("--days", type=_positive, help="simulated days (default: the scenario's)")
        sub.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the stations (default 1)"
        )
        sub.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
        sub.add_argument("--store", choices=("memory", "disk"), default="memory")
        sub.add_argument("--html", help="where to write the HTML report")
        sub.add_argument(
            "--search-sample",
            type=_fraction,
            default=0.05,
            help="fraction of the workload's searches run (default 0.05)",
        )
        sub.add_argument(
            "--jobs",
            type=_positive_int,
            help="processes to split the run over (default: the cores, at most 2)",
        )
        sub.add_argument("--json", action="store_true", help="the report as JSON on stdout")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_argument(
            "--real",
            action="store_true",
            help="run it small as real node processes and compare with the simulator",
        )
        sub.add_argument(
            "--offices", type=_positive_int, default=20, help="node processes for --real"
        )
        sub.add_argument(
            "--seconds", type=_positive, default=60.0, help="workload span for --real (seconds)"
        )


def _positive(text: str) -> float:
    """A number above 0 (argparse type): a clear usage error, not a traceback, otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be above 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _fraction(text: str) -> float:
    value = _positive(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} must be at most 1")
    return value
