"""`make bench`: similar-case search ("cases like this one", docs/mo-search.md) over many cases,
beside a baseline measured in the same run on the same database.

Measured, over an index of `--cases` generated FIRs (100,000 by default) with their MO entries,
two planted series (English and Malayalam brief facts) and their decoys (`node.demo.mo_cases`):
- search time p50/p99 of "cases like this one" for random cases of the index, beside a
  primary-key lookup of a case's profile on the same SQLite file (the baseline);
- ranking quality: each member of each series asked about in turn, the share of the other
  members found in the top 5 (and in the top 10);
- projection rate (entries/s into the MO and similar-case tables).

Results are also written to bench-out/mo.json.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from node.demo.mo_cases import planted_cases
from node.index import history, similar
from node.index.record_index import sqlite_pragmas
from node.records.validation import IST
from simulations.chart import bar_chart
from simulations.report import per_second, percentile, progress, save_results

ORIGIN = "cctns.in/bench/ps-bench"


def build(workdir: Path, cases: int) -> tuple[sa.Engine, Any, dict[str, float]]:
    """The MO and similar-case tables of `cases` generated FIRs (projected as a station's
    index projects them, without the rest of the index)."""
    print(f"generating {cases:,} cases ...", file=sys.stderr)
    planted = planted_cases(ORIGIN, cases)
    engine = sa.create_engine(f"sqlite:///{workdir / 'mo.sqlite3'}")
    sa.event.listen(engine, "connect", sqlite_pragmas)
    history.metadata.create_all(engine)
    similar.metadata.create_all(engine)
    chunk = 2000
    start = time.perf_counter()
    for begin in range(0, len(planted.bodies), chunk):
        with engine.begin() as conn:
            for body in planted.bodies[begin : begin + chunk]:
                history.project(conn, body.index, body)
                similar.project(conn, body.index, body)
        progress(
            "  projected entries", min(begin + chunk, len(planted.bodies)), len(planted.bodies)
        )
    seconds = time.perf_counter() - start
    return (
        engine,
        planted,
        {
            "cases": float(planted.firs),
            "entries": float(len(planted.bodies)),
            "project_entries_per_s": per_second(len(planted.bodies), seconds),
        },
    )


def bench_search(engine: sa.Engine, workdir: Path, queries: int) -> dict[str, float]:
    with engine.connect() as conn:
        keys = [
            int(k) for k in conn.execute(sa.select(similar.case_profiles.c.ledger_index)).scalars()
        ]
    rng = random.Random(7)
    latencies: list[float] = []
    for key in rng.sample(keys, min(queries, len(keys))):
        start = time.perf_counter()
        similar.similar(engine, similar.query_case(engine, key), limit=10)
        latencies.append(time.perf_counter() - start)
    # Baseline: a primary-key lookup of a case's profile on the same database file.
    db = sqlite3.connect(workdir / "mo.sqlite3")
    base: list[float] = []
    for key in rng.sample(keys, min(queries, len(keys))):
        start = time.perf_counter()
        db.execute("SELECT * FROM case_profiles WHERE ledger_index = ?", (key,)).fetchall()
        base.append(time.perf_counter() - start)
    db.close()
    p50, p99, b99 = percentile(latencies, 50), percentile(latencies, 99), percentile(base, 99)
    return {
        "similar_p50_ms": p50 * 1000,
        "similar_p99_ms": p99 * 1000,
        "pk_lookup_p99_ms": b99 * 1000,
        "similar_p99_over_pk_p99": p99 / b99,
        "queries": float(len(latencies)),
    }


def bench_ranking(engine: sa.Engine, planted: Any) -> dict[str, float]:
    """Each member of a series asked about: the share of the other members in its top 5/10."""
    found5 = found10 = wanted = 0
    for series in planted.series:
        members = [series.target, *series.similar]
        for member in members:
            key = similar.case_key(engine, member)
            assert key is not None
            hits = [h.fir_number for h in similar.similar(engine, similar.query_case(engine, key))]
            others = set(members) - {member}
            found5 += len(others & set(hits[:5]))
            found10 += len(others & set(hits[:10]))
            wanted += len(others)
    return {
        "planted_in_top5": found5 / wanted,
        "planted_in_top10": found10 / wanted,
        "planted_asked": float(sum(1 + len(s.similar) for s in planted.series)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--out", default="bench-out/mo.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"when": datetime.now(IST).isoformat()}
    with tempfile.TemporaryDirectory(prefix="cctns-bench-mo-") as tmp:
        work = Path(tmp)
        engine, planted, rates = build(work, args.cases)
        results.update(rates)
        print(f"search: {args.queries:,} cases like a case ...", file=sys.stderr)
        results.update(bench_search(engine, work, args.queries))
        results.update(bench_ranking(engine, planted))
        engine.dispose()
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _chart(r: dict[str, Any]) -> str:
    return bar_chart(
        "Similar-case search (p99, ms)",
        [
            (
                "primary-key lookup (baseline)",
                r["pk_lookup_p99_ms"],
                f"{r['pk_lookup_p99_ms']:.3f} ms",
            ),
            ("cases like this one", r["similar_p99_ms"], f"{r['similar_p99_ms']:.1f} ms"),
        ],
    )


def _report(r: dict[str, Any]) -> None:
    print("\n== similar-case (MO) search benchmark ==")
    print(f"cases indexed                        {int(r['cases']):10,}")
    print(f"projection: entries/s                {r['project_entries_per_s']:10.0f}")
    print(
        f"similar-case search over {int(r['cases']):,} cases: p50 {r['similar_p50_ms']:.2f} ms, "
        f"p99 {r['similar_p99_ms']:.2f} ms  (pk lookup p99 {r['pk_lookup_p99_ms']:.3f} ms, "
        f"ratio {r['similar_p99_over_pk_p99']:.0f}x)"
    )
    print(
        f"ranking: planted similar cases in the top 5 {r['planted_in_top5']:.1%}, "
        f"top 10 {r['planted_in_top10']:.1%}  ({int(r['planted_asked'])} cases asked about)"
    )


if __name__ == "__main__":
    sys.exit(main())
