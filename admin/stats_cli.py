"""`cctns stats ...`: crime statistics of a district, state or national node, in the form of
NCRB's Crime in India, from its one index over the replicas it holds (docs/statistics.md).

    cctns stats crime --year 2026 [--state kerala | --india] [--csv] --data-dir D
    cctns stats disposal --year 2026 [--state kerala | --india] --data-dir D
    cctns stats rates --year 2026 --state kerala --data-dir D
    cctns stats accidents --year 2026 [--state kerala | --india] --data-dir D
    cctns stats trace --year 2026 [--state kerala] [--area "Ernakulam City"] [--head Murder]
        [--column charge_sheeted|convicted|...] [--prove] --data-dir D
                                         the cases behind a figure; --prove checks each one
    cctns stats reindex --data-dir D     rebuild the index from the replicas (node stopped)

The figures read the index (SQLite beside the replicas, or node.toml's aggregate_url), which a
running node keeps; `--prove` and `reindex` open the replica stores, so the node must be stopped
for them (RocksDB admits one process).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from admin.common import command, emit, progress, subcommands
from federation.replicas import ReplicaSet
from node.config import DataDir
from node.index.aggregate import statistics as stats
from node.index.aggregate.index import AggregateIndex
from node.peers.replica_index import ReplicaIndexes


def _indexes(data_dir: DataDir) -> ReplicaIndexes:
    config = data_dir.load_config()
    return ReplicaIndexes(data_dir.path / "replicas", config.aggregate_url)


@contextmanager
def _aggregate(path: str) -> Iterator[AggregateIndex]:
    indexes = _indexes(DataDir(path))
    try:
        yield indexes.aggregate
    finally:
        indexes.close()


@contextmanager
def _with_replicas(path: str) -> Iterator[ReplicaIndexes]:
    data_dir = DataDir(path)
    indexes = _indexes(data_dir)
    replicas = ReplicaSet(data_dir.path / "replicas")
    indexes.replicas = replicas
    try:
        yield indexes
    finally:
        indexes.close()
        replicas.close()


def _state(args: argparse.Namespace) -> str | None:
    return None if args.india else args.state


def _print_rows(rows: Sequence[Sequence[Any]], as_csv: bool) -> None:
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerows(rows)
        return
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def cmd_stats_crime(args: argparse.Namespace) -> int:
    with _aggregate(args.data_dir) as index:
        table = stats.crime_by_head(index, year=args.year, state=_state(args))
    if not args.csv:
        print(f"Cases registered in {table.year} by crime head: {table.scope}")
    _print_rows(list(stats.table_rows(table)), args.csv)
    return 0


def cmd_stats_disposal(args: argparse.Namespace) -> int:
    with _aggregate(args.data_dir) as index:
        police = stats.police_disposal(index, year=args.year, state=_state(args))
        courts = stats.court_disposal(index, year=args.year, state=_state(args))
    rows: list[Sequence[Any]] = [
        (
            "Area",
            "Pending at start",
            "Registered",
            "Charge-sheeted",
            "Closed",
            "Pending at end",
            "CS rate %",
            "Pendency %",
        ),
    ]
    rows += [
        (
            r.area,
            r.pending_start,
            r.registered,
            r.charge_sheeted,
            r.closed,
            r.pending_end,
            _rate(r.charge_sheeting_rate),
            _rate(r.pendency_rate),
        )
        for r in police
    ]
    print(f"Disposal of cases by police, {args.year}")
    _print_rows(rows, args.csv)
    court_rows: list[Sequence[Any]] = [
        ("Area", *(o.title() for o in stats.COURT_OUTCOMES), "Conviction rate %")
    ]
    court_rows += [
        (r.area, *(r.outcomes[o] for o in stats.COURT_OUTCOMES), _rate(r.conviction_rate))
        for r in courts
    ]
    print(f"\nDisposal of cases by courts, {args.year}")
    _print_rows(court_rows, args.csv)
    return 0


def cmd_stats_rates(args: argparse.Namespace) -> int:
    with _aggregate(args.data_dir) as index:
        found = stats.crime_rates(index, year=args.year, state=args.state)
    rows: list[Sequence[Any]] = [("Area", "Cases", "Population", "Rate per lakh")]
    rows += [(r.area, r.cases, r.population or "-", _rate(r.rate)) for r in found]
    _print_rows(rows, args.csv)
    return 0


def cmd_stats_accidents(args: argparse.Namespace) -> int:
    with _aggregate(args.data_dir) as index:
        tables = stats.road_accidents(index, year=args.year, state=_state(args))
    print(f"Road accidents registered in {tables.year}: {tables.scope}, {len(tables.accidents)}")
    for key, title in (("area", "Area"), ("slot", "Time of day"), ("vehicle", "Vehicle")):
        rows: list[Sequence[Any]] = [(title, *(s.title() for s in stats.SEVERITIES), "Killed")]
        rows += [
            (label, *(row[s] for s in stats.SEVERITIES), row["killed"])
            for label, row in tables.by(key)
        ]
        print()
        _print_rows(rows, args.csv)
    return 0


def cmd_stats_trace(args: argparse.Namespace) -> int:
    with _aggregate(args.data_dir) as index:
        cases = stats.trace(
            index,
            year=args.year,
            state=_state(args),
            area=args.area,
            head=args.head,
            column=args.column,
        )
    out: list[dict[str, Any]] = [
        {
            "origin": c.origin,
            "index": c.index,
            "fir_number": c.fir_number,
            "district": c.district,
            "crime_head": c.crime_head,
            "registered_at_ms": c.registered_at_ms,
        }
        for c in cases
    ]
    if args.prove:
        origin = DataDir(args.data_dir).load_config().origin
        with _with_replicas(args.data_dir) as indexes:
            for case in out:
                proved = indexes.prove(case["origin"], case["index"], cosigner=origin)
                case["proved_against_size"] = proved.checkpoint_size
                case["root"] = proved.root_hex
    emit({"cases": out, "count": len(out), "proved": bool(args.prove)})
    return 0


def cmd_stats_reindex(args: argparse.Namespace) -> int:
    with _with_replicas(args.data_dir) as indexes:
        replicas = indexes.replicas
        assert replicas is not None
        total = sum(replicas.get(origin).size() for origin in replicas.origins())
        aggregate = indexes.aggregate
        aggregate.rebuild()
        done = 0
        with progress(total, "indexing") as advance:

            def step(applied: int) -> None:
                nonlocal done
                done += applied
                advance(done)

            logs = [
                (origin, replicas.get(origin).size(), replicas.get(origin).leaves)
                for origin in replicas.origins()
            ]
            applied = aggregate.catch_up(logs, progress=step)
    emit({"offices": len(logs), "entries": applied})
    return 0


def _scope_options(sub: argparse.ArgumentParser, *, india: bool = True) -> None:
    sub.add_argument("--year", type=int, required=True)
    sub.add_argument("--state", help="a state's node-id name, e.g. kerala (default: all)")
    if india:
        sub.add_argument("--india", action="store_true", help="every state, by state")
    sub.add_argument("--csv", action="store_true", help="CSV on stdout")


def register(groups: Any) -> None:
    """Adds the `stats` command group."""
    group = subcommands(groups, "stats", "crime statistics (Crime in India tables)", __doc__)
    sub = command(group, "crime", cmd_stats_crime, "cases by crime head and area")
    _scope_options(sub)
    sub = command(group, "disposal", cmd_stats_disposal, "disposal by police and by courts")
    _scope_options(sub)
    sub = command(group, "rates", cmd_stats_rates, "crime rate per lakh of population")
    sub.add_argument("--year", type=int, required=True)
    sub.add_argument("--state", required=True)
    sub.add_argument("--csv", action="store_true")
    sub = command(
        group, "accidents", cmd_stats_accidents, "road accidents: severity, time, vehicle"
    )
    _scope_options(sub)
    sub = command(group, "trace", cmd_stats_trace, "the cases behind a figure (JSON)")
    _scope_options(sub)
    sub.add_argument("--area", help="a police district (in a state) or a state (India)")
    sub.add_argument("--head", help="a crime head")
    sub.add_argument(
        "--column",
        help="a figure of disposal by police ("
        + ", ".join(stats.DISPOSAL_COLUMNS)
        + ") or by courts ("
        + ", ".join(stats.COURT_OUTCOMES)
        + ") instead of cases by head",
    )
    sub.add_argument("--prove", action="store_true", help="check each case's inclusion proof")
    command(group, "reindex", cmd_stats_reindex, "rebuild the index from the replicas")


__all__ = ["register"]
