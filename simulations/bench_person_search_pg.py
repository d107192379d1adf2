"""Person search on the aggregating node's PostgreSQL index (node/index/aggregate) against the
station's SQLite index, over the same 200,000 persons and the same queries (issue 13).

The FIRs are `simulations.bench.person_entries` (the generator's realistic Kerala names), applied
to an SQLite `RecordIndex` and to an `AggregateIndex` in a fresh schema of the PostgreSQL
database at --url (dropped at the end). The queries are `simulations.bench.search_queries`
(a misspelt name, the relative's name, an age range: as officers search). Measured in one run:
- p50/p99 of `Search.persons` on SQLite and of `AggregateIndex.persons` on PostgreSQL, each
  beside a primary-key lookup of one `persons` row on the same database;
- agreement: the share of queries whose answers (persons, order, scores) are the same on both;
  recall (the person in the top 20) on each;
- pg_trgm against Python for the typo fallback: for each query token no record spells, the
  known tokens 1-2 edits away found by the search's in-memory vocabulary (rapidfuzz) and by a
  trigram query on `name_tokens` (a GIN `gin_trgm_ops` index, `%` with the default 0.3
  similarity), then the same exact Damerau-Levenshtein check on both: time per token, and how
  many of the vocabulary's neighbours the trigram query misses;
- the outside set's recall on the SQLite index (`simulations.bench.bench_outside_recall`);
- statements per search on each engine, counted in a pass of their own after the timed one
  (SQLAlchemy's `before_cursor_execute` on PostgreSQL; SQLite's trace callback, as the search
  runs its statements on the driver's connection there).

Results go to bench-out/person_search_pg.json (and .svg).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rapidfuzz.distance import DamerauLevenshtein

from node.index import schema as core
from node.index.aggregate.index import AggregateIndex
from node.index.record_index import IndexedEntry, RecordIndex
from node.index.search import PersonHit
from node.records import names
from node.records.validation import IST
from simulations import bench
from simulations.bench_national_search import DEFAULT_URL, with_search_path
from simulations.chart import bar_chart
from simulations.report import percentile, progress, save_results

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


def _answer(hits: list[PersonHit]) -> list[tuple[str, float]]:
    return [(h.person_id, round(h.score, 6)) for h in hits]


def _pk_lookups(conn: sa.Connection, count: int, rng: random.Random) -> list[float]:
    """Primary-key lookups of `persons` rows on `conn`: the baseline of the same database."""
    p = core.persons
    keys = conn.execute(sa.select(p.c.ledger_index, p.c.seq).limit(5000)).all()
    stmt = sa.select(p).where(p.c.ledger_index == sa.bindparam("i"), p.c.seq == sa.bindparam("s"))
    out = []
    for index, seq in rng.sample(keys, min(count, len(keys))):
        start = time.perf_counter()
        conn.execute(stmt, {"i": index, "s": seq}).all()
        out.append(time.perf_counter() - start)
    return out


def count_statements(
    lite: RecordIndex, agg: AggregateIndex, searches: list[tuple[str, int | None, int | None]]
) -> dict[str, dict[int, int]]:
    """Per engine, how many searches ran how many statements (not BEGIN, COMMIT, ROLLBACK)."""
    statements = 0

    def one(*_: Any) -> None:
        nonlocal statements
        statements += 1

    def traced(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: None if sql.startswith(("BEGIN", "COMMIT", "ROLLBACK")) else one()
        )

    def untraced(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(None)

    def counted(search: Callable[[str, int | None, int | None], object]) -> dict[int, int]:
        nonlocal statements
        per_search: Counter[int] = Counter()
        for query, low, high in searches:
            statements = 0
            search(query, low, high)
            per_search[statements] += 1
        return dict(sorted(per_search.items()))

    sa.event.listen(lite.engine.pool, "checkout", traced)
    sa.event.listen(lite.engine.pool, "checkin", untraced)
    sa.event.listen(agg.engine, "before_cursor_execute", one)
    try:
        return {
            "sqlite": counted(
                lambda q, low, high: lite.search.persons(q, limit=20, age_min=low, age_max=high)
            ),
            "pg": counted(lambda q, low, high: agg.persons(q, limit=20, age_min=low, age_max=high)),
        }
    finally:
        sa.event.remove(lite.engine.pool, "checkout", traced)
        sa.event.remove(lite.engine.pool, "checkin", untraced)
        sa.event.remove(agg.engine, "before_cursor_execute", one)


def _mean(per_search: dict[int, int]) -> float:
    return sum(n * c for n, c in per_search.items()) / sum(per_search.values())


def _apply(entries: list[IndexedEntry], apply: Any, what: str) -> float:
    seconds = 0.0
    for begin in range(0, len(entries), 2000):
        part = entries[begin : begin + 2000]
        start = time.perf_counter()
        apply(part)
        seconds += time.perf_counter() - start
        progress(what, min(begin + 2000, len(entries)), len(entries))
    return seconds


def _trigram_neighbours(
    conn: sa.Connection, kind: str, token: str, edits: int
) -> tuple[list[str], float]:
    start = time.perf_counter()
    rows = conn.execute(
        sa.text("SELECT token, variant FROM name_tokens WHERE kind = :k AND token % :t"),
        {"k": kind, "t": token},
    ).all()
    found = sorted(
        {
            str(v)
            for t, v in rows
            if abs(len(t) - len(token)) <= edits
            and 0 < DamerauLevenshtein.distance(token, str(t)) <= edits
        }
    )
    return found, time.perf_counter() - start


def bench_typo_fallback(
    agg: AggregateIndex, queries: list[tuple[str, str, int | None, int | None]]
) -> dict[str, float]:
    """The typo fallback by the in-memory vocabulary (rapidfuzz) and by pg_trgm, per token."""
    vocabulary = agg.search._vocabulary  # the search's own, loaded by the searches above
    with agg.engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.exec_driver_sql(
            "CREATE INDEX IF NOT EXISTS name_tokens_trgm ON name_tokens "
            "USING gin (token gin_trgm_ops)"
        )
        conn.exec_driver_sql("ANALYZE name_tokens")
    python_s: list[float] = []
    trigram_s: list[float] = []
    wanted = missed = 0
    with agg.engine.connect() as conn:
        for _, query, _, _ in queries:
            for token in names.tokens(names.split_relation(query).name):
                edits = 2 if len(token) >= 7 else (1 if len(token) >= 3 else 0)
                if not edits or vocabulary.known("name", names.variant_key(token)):
                    continue
                start = time.perf_counter()
                expected = vocabulary.neighbours("name", token, edits)
                python_s.append(time.perf_counter() - start)
                found, seconds = _trigram_neighbours(conn, "name", token, edits)
                trigram_s.append(seconds)
                wanted += len(expected)
                missed += len(set(expected) - set(found))
    if not python_s:
        return {"typo_tokens": 0.0}
    return {
        "typo_tokens": float(len(python_s)),
        "typo_python_p50_ms": percentile(python_s, 50) * 1000,
        "typo_python_p99_ms": percentile(python_s, 99) * 1000,
        "typo_trgm_p50_ms": percentile(trigram_s, 50) * 1000,
        "typo_trgm_p99_ms": percentile(trigram_s, 99) * 1000,
        "typo_trgm_missed_share": missed / wanted if wanted else 0.0,
    }


def measure(url: str, persons: int, queries: int, warmup: int, workdir: Path) -> dict[str, Any]:
    print(f"entries: {persons:,} persons ...", file=sys.stderr)
    entries, people = bench.person_entries(persons, origin=ORIGIN)
    lite = RecordIndex(f"sqlite:///{workdir / 'persons.sqlite3'}")
    agg = AggregateIndex(url)
    out: dict[str, Any] = {"persons": float(len(people)), "firs": float(len(entries))}
    try:
        agg.office(ORIGIN)
        out["sqlite_apply_s"] = _apply(entries, lite.apply, "  SQLite FIRs")
        out["pg_apply_s"] = _apply(entries, lambda part: agg.apply({ORIGIN: part}), "  PG FIRs")
        with agg.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        _, asked = bench.search_queries(lite, people, queries + warmup)
        for _, query, low, high in asked[:warmup]:  # warm both caches and vocabularies
            lite.search.persons(query, limit=20, age_min=low, age_max=high)
            agg.persons(query, limit=20, age_min=low, age_max=high)
        asked = asked[warmup:]
        lite_s: list[float] = []
        pg_s: list[float] = []
        same = lite_found = pg_found = 0
        differ: list[str] = []
        for n, (person_id, query, low, high) in enumerate(asked, 1):
            start = time.perf_counter()
            a = lite.search.persons(query, limit=20, age_min=low, age_max=high)
            lite_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            b = [hit for _, hit in agg.persons(query, limit=20, age_min=low, age_max=high)]
            pg_s.append(time.perf_counter() - start)
            same += _answer(a) == _answer(b)
            if _answer(a) != _answer(b) and len(differ) < 10:
                differ.append(query)
            lite_found += any(h.person_id == person_id for h in a)
            pg_found += any(h.person_id == person_id for h in b)
            progress("  queries", n, len(asked))
        rng = random.Random(9)
        with agg.engine.connect() as conn:
            pg_pk = _pk_lookups(conn, len(asked), rng)
        db = sqlite3.connect(workdir / "persons.sqlite3")
        rowids = [r[0] for r in db.execute("SELECT rowid FROM persons LIMIT 5000")]
        lite_pk = []
        for rowid in rng.sample(rowids, min(len(asked), len(rowids))):
            start = time.perf_counter()
            db.execute("SELECT * FROM persons WHERE rowid = ?", (rowid,)).fetchall()
            lite_pk.append(time.perf_counter() - start)
        db.close()
        out.update(
            {
                "queries": float(len(asked)),
                "sqlite_p50_ms": percentile(lite_s, 50) * 1000,
                "sqlite_p99_ms": percentile(lite_s, 99) * 1000,
                "sqlite_pk_p99_ms": percentile(lite_pk, 99) * 1000,
                "pg_p50_ms": percentile(pg_s, 50) * 1000,
                "pg_p99_ms": percentile(pg_s, 99) * 1000,
                "pg_pk_p50_ms": percentile(pg_pk, 50) * 1000,
                "pg_pk_p99_ms": percentile(pg_pk, 99) * 1000,
                "same_answers": same / len(asked),
                "sqlite_recall_top20": lite_found / len(asked),
                "pg_recall_top20": pg_found / len(asked),
                "differing_queries": differ,
            }
        )
        out["pg_p99_over_pk_p99"] = out["pg_p99_ms"] / out["pg_pk_p99_ms"]
        counts = count_statements(lite, agg, [(q, low, high) for _, q, low, high in asked])
        out["sqlite_statements"] = counts["sqlite"]
        out["pg_statements"] = counts["pg"]
        out["sqlite_statements_mean"] = _mean(counts["sqlite"])
        out["pg_statements_mean"] = _mean(counts["pg"])
        out.update(bench_typo_fallback(agg, asked))
        # Last, as it plants the outside set's persons in the SQLite index.
        print("recall: outside Kerala names (SQLite) ...", file=sys.stderr)
        outside = bench.bench_outside_recall(lite, people, len(entries))
        out.update({k: v for k, v in outside.items() if k != "outside_missed"})
        out["outside_missed"] = outside["outside_missed"]
    finally:
        lite.close()
        agg.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL (a schema is made in it)")
    parser.add_argument("--out", default="bench-out/person_search_pg.json")
    args = parser.parse_args(argv)
    schema = f"cctns_bench_person_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(args.url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        with tempfile.TemporaryDirectory(prefix="cctns-bench-") as tmp:
            results = measure(
                with_search_path(args.url, schema),
                args.persons,
                args.queries,
                args.warmup,
                Path(tmp),
            )
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    results["when"] = datetime.now(IST).isoformat()
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _report(r: dict[str, Any]) -> None:
    print(
        f"person search over {int(r['persons']):,} persons, {int(r['queries'])} queries:\n"
        f"  SQLite     p50 {r['sqlite_p50_ms']:.2f} ms, p99 {r['sqlite_p99_ms']:.2f} ms "
        f"(PK lookup p99 {r['sqlite_pk_p99_ms']:.3f} ms), recall {r['sqlite_recall_top20']:.1%}\n"
        f"  PostgreSQL p50 {r['pg_p50_ms']:.2f} ms, p99 {r['pg_p99_ms']:.2f} ms "
        f"(PK lookup p50 {r['pg_pk_p50_ms']:.3f} ms, p99 {r['pg_pk_p99_ms']:.3f} ms), "
        f"recall {r['pg_recall_top20']:.1%}\n"
        f"  same answers on both: {r['same_answers']:.1%}\n"
        f"  statements per search (count: searches): SQLite {r['sqlite_statements']} "
        f"(mean {r['sqlite_statements_mean']:.2f}), PostgreSQL {r['pg_statements']} "
        f"(mean {r['pg_statements_mean']:.2f})\n"
        f"  outside names (SQLite): recall (top 10) {r['outside_recall_top10']:.1%} of "
        f"{int(r['outside_tried'])} typed forms"
    )
    if r.get("typo_tokens"):
        print(
            f"  typo fallback over {int(r['typo_tokens'])} unknown tokens: Python (rapidfuzz) "
            f"p50 {r['typo_python_p50_ms']:.3f} ms, p99 {r['typo_python_p99_ms']:.3f} ms; "
            f"pg_trgm p50 {r['typo_trgm_p50_ms']:.3f} ms, p99 {r['typo_trgm_p99_ms']:.3f} ms, "
            f"missing {r['typo_trgm_missed_share']:.1%} of the neighbours"
        )


def _chart(r: dict[str, Any]) -> str:
    bars = [
        ("SQLite search p99", r["sqlite_p99_ms"], f"{r['sqlite_p99_ms']:.2f} ms"),
        ("PostgreSQL search p99", r["pg_p99_ms"], f"{r['pg_p99_ms']:.2f} ms"),
        ("PostgreSQL PK lookup p99", r["pg_pk_p99_ms"], f"{r['pg_pk_p99_ms']:.3f} ms"),
    ]
    return bar_chart("Person search: SQLite and PostgreSQL, same queries", bars)


if __name__ == "__main__":
    sys.exit(main())
