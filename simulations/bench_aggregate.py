"""Benchmark of an aggregating node's one index over its replicas, on PostgreSQL
(node/index/aggregate): ingest, and a year's Crime in India table of one state.

1. Ingest: the logs of many offices (copies of real seeded station logs: GD entries, petitions,
   NCRs, FIRs with their persons and property, each office in its own police district) applied
   through `AggregateIndex.catch_up` (projection, COPY, bookkeeping, in transactions of 20,000
   entries). Baseline, same run: a plain `COPY` of the very rows the ingest wrote into empty
   tables of the same shape (same indexes, same partitions). Target: the ingest at least half
   the rate of the plain COPY (rows per second).
2. Statistics: FIRs of one state and year (--state-firs, default 500,000: about Kerala's yearly
   cognizable cases) added the same way, then `crime_by_head` (cases by head and district) and
   `police_disposal` timed, median of 5. Target: the head table under 1 s.

Runs against a fresh schema of the PostgreSQL at --url (dropped at the end).
"""

from __future__ import annotations

import argparse
import statistics as pystats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from node.config import DataDir
from node.demo.seed import seed_station
from node.index.aggregate import schema as agg
from node.index.aggregate import statistics as stats
from node.index.aggregate.index import INGEST_BATCH, AggregateIndex
from node.index.projection import IndexedEntry
from node.records.validation import IST, utc_ms
from node.station.core import Station
from protos import ledger_pb2, records_pb2
from simulations.chart import bar_chart
from simulations.report import per_second, progress, save_results

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA_PREFIX = "cctns_bench_aggregate_"  # its schemas, dropped when it ends
DISTRICTS = (
    "Thiruvananthapuram City", "Thiruvananthapuram Rural", "Kollam City", "Kollam Rural",
    "Pathanamthitta", "Alappuzha", "Kottayam", "Idukki", "Ernakulam City", "Ernakulam Rural",
    "Thrissur City", "Thrissur Rural", "Palakkad", "Malappuram", "Kozhikode City",
    "Kozhikode Rural", "Wayanad", "Kannur City", "Kannur Rural", "Kasaragod",
)  # fmt: skip


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def template_logs(work: Path, stations: int, records: int) -> list[list[ledger_pb2.EntryBody]]:
    """The decoded bodies of `stations` real station logs seeded with `records` records each."""
    out = []
    for number in range(stations):
        data_dir = DataDir(work / f"template-{number}")
        data_dir.create(
            origin=f"cctns.in/kerala/bench/ps-template-{number}",
            district="Ernakulam City",
            station=f"Template {number}",
        )
        station = Station.open(data_dir)
        try:
            seed_station(station, records, seed=100 + number, show_progress=False)
            out.append([body for _, body in station.ledger.bodies()])
        finally:
            station.close()
    return out


def office_log(
    template: list[ledger_pb2.EntryBody], district: str, number: int, year: int | None = None
) -> list[IndexedEntry]:
    """Office `number`'s log made from a template: FIRs filed in `district` (and, with `year`,
    registered in that year). Copies of one template would name the same vehicles and missing
    persons in every office, which no real state does (and which every office's standing
    watches would then find in every other's): each office's vehicles get registrations of
    its own, and its missing persons no relative (no standing watch on a name alone)."""
    entries = []
    start = utc_ms(datetime(year, 1, 1, tzinfo=IST)) if year is not None else 0
    for position, body in enumerate(template):
        if body.WhichOneof("record") == "fir":
            copy = ledger_pb2.EntryBody()
            copy.CopyFrom(body)
            copy.fir.district = district
            if year is not None:
                copy.fir.fir_year = year
                copy.fir.registered_at_ms = start + position * 1000
            for item in copy.fir.property:
                if item.HasField("vehicle"):
                    item.vehicle.registration = (
                        f"KL-{number % 99 + 1:02d}-B{chr(65 + number // 99 % 26)}-"
                        f"{(position * 7 + number) % 10000:04d}"
                    )
            for entry in copy.fir.persons:
                if entry.role == records_pb2.MISSING:
                    entry.person.relative_name = ""
            body = copy
        entries.append(IndexedEntry(position, body))
    return entries


def _offices(
    templates: list[list[ledger_pb2.EntryBody]], count: int, prefix: str, year: int | None
) -> Iterator[tuple[str, list[IndexedEntry]]]:
    for number in range(count):
        district = DISTRICTS[number % len(DISTRICTS)]
        slug = district.lower().replace(" ", "-")
        origin = f"cctns.in/kerala/{slug}/{prefix}-{number}"
        yield origin, office_log(templates[number % len(templates)], district, number, year)


def ingest(
    index: AggregateIndex, offices: Iterator[tuple[str, list[IndexedEntry]]], total: int
) -> int:
    """Applies every office's log in transactions of INGEST_BATCH entries; returns entries."""
    done = 0
    pending: dict[str, list[IndexedEntry]] = {}
    count = 0
    for origin, entries in offices:
        pending[origin] = entries
        count += len(entries)
        if count >= INGEST_BATCH:
            done += index.apply(pending)
            progress("  ingested", done, total)
            pending, count = {}, 0
    if pending:
        done += index.apply(pending)
    progress("  ingested", total, total)
    return done


def _rows(index: AggregateIndex) -> int:
    with index.engine.connect() as conn:
        return sum(
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
            for t in agg.derived.sorted_tables
        )


def plain_copy_seconds(index: AggregateIndex, url: str, schema: str) -> float:
    """Copies every row of the index's tables, as COPY text, into empty tables of the same shape
    in another schema: the time of the COPY FROM alone (the rows read out beforehand)."""
    target = AggregateIndex(_with_schema(url, schema))
    try:
        for office in index.offices():
            target.office(office.origin)  # the same states: the same partitions
        data: list[tuple[str, bytes]] = []
        source = index.engine.raw_connection()
        try:
            cursor = source.driver_connection.cursor()  # type: ignore[union-attr]
            for table in agg.derived.sorted_tables:
                if table.name == "index_meta":
                    continue
                buffer = bytearray()
                query = f'COPY (SELECT * FROM "{table.name}") TO STDOUT'
                with cursor.copy(query) as copy:
                    for block in copy:
                        buffer += block
                data.append((table.name, bytes(buffer)))
        finally:
            source.close()
        sink = target.engine.raw_connection()
        try:
            cursor = sink.driver_connection.cursor()  # type: ignore[union-attr]
            started = time.perf_counter()
            for name, text in data:
                with cursor.copy(f'COPY "{name}" FROM STDIN') as copy:
                    copy.write(text)
            sink.commit()
            return time.perf_counter() - started
        finally:
            sink.close()
    finally:
        target.close()


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def _timed(fn: Any, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return pystats.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL (a schema is made)")
    parser.add_argument("--offices", type=int, default=200, help="offices ingested")
    parser.add_argument("--records", type=int, default=2000, help="records per template log")
    parser.add_argument("--templates", type=int, default=3, help="seeded template stations")
    parser.add_argument("--state-firs", type=int, default=500_000, help="FIRs of one state-year")
    parser.add_argument("--out", default="bench-out/aggregate.json")
    args = parser.parse_args(argv)
    year = datetime.now(IST).year
    schemas = [f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = sa.create_engine(args.url)
    results: dict[str, Any] = {"when": datetime.now(IST).isoformat(), "year": year}
    try:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        with tempfile.TemporaryDirectory(prefix="cctns-bench-agg-") as tmp:
            _log(f"seeding {args.templates} template stations x {args.records:,} records ...")
            templates = template_logs(Path(tmp), args.templates, args.records)
        index = AggregateIndex(_with_schema(args.url, schemas[0]))
        try:
            total = sum(len(templates[n % len(templates)]) for n in range(args.offices))
            _log(f"ingest: {args.offices} offices, {total:,} entries ...")
            # The offices' logs are made before the clock starts: only the ingest is timed.
            offices = list(_offices(templates, args.offices, "ps", None))
            started = time.perf_counter()
            entries = ingest(index, iter(offices), total)
            ingest_s = time.perf_counter() - started
            rows = _rows(index)
            _log("baseline: plain COPY of the same rows ...")
            copy_s = plain_copy_seconds(index, args.url, schemas[1])
            results.update(
                entries=entries,
                rows=rows,
                ingest_s=ingest_s,
                ingest_rows_per_s=per_second(rows, ingest_s),
                ingest_entries_per_s=per_second(entries, ingest_s),
                copy_s=copy_s,
                copy_rows_per_s=per_second(rows, copy_s),
                ingest_over_copy=copy_s / ingest_s,
            )
            firs_per_office = sum(1 for body in templates[0] if body.WhichOneof("record") == "fir")
            more = max(0, args.state_firs // max(1, firs_per_office))
            fir_templates = [[b for b in t if b.WhichOneof("record") == "fir"] for t in templates]
            firs_total = more * len(fir_templates[0])
            _log(f"statistics: {more:,} more offices, about {firs_total:,} FIRs of {year} ...")
            ingest(index, _offices(fir_templates, more, "cii", year), firs_total)
            with index.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
            table = stats.crime_by_head(index, year=year, state="kerala")
            results.update(
                state_firs=table.total,
                crime_table_s=_timed(lambda: stats.crime_by_head(index, year=year, state="kerala")),
                disposal_s=_timed(lambda: stats.police_disposal(index, year=year, state="kerala")),
            )
        finally:
            index.close()
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _verdict(ok: bool, target: str) -> str:
    return f"(meets {target})" if ok else f"(MISSES {target})"


def _report(r: dict[str, Any]) -> None:
    print("\n== aggregate index benchmark (PostgreSQL) ==")
    print(f"ingest: {r['entries']:,} entries, {r['rows']:,} rows in {r['ingest_s']:.1f} s")
    print(
        f"  ingest rows/s              {r['ingest_rows_per_s']:12,.0f}   "
        f"({r['ingest_entries_per_s']:,.0f} entries/s)"
    )
    print(f"  plain COPY rows/s (base.)  {r['copy_rows_per_s']:12,.0f}")
    ok = r["ingest_over_copy"] >= 0.5
    print(f"  ingest / plain COPY        {r['ingest_over_copy']:12.2f}   {_verdict(ok, '>= 0.5')}")
    print(f"statistics over {r['state_firs']:,} FIRs of one state in {r['year']}:")
    ok = r["crime_table_s"] < 1.0
    table_ms = r["crime_table_s"] * 1000
    print(f"  cases by head and district {table_ms:9.0f} ms   {_verdict(ok, '< 1 s')}")
    print(f"  disposal by police         {r['disposal_s'] * 1000:9.0f} ms")


def _chart(r: dict[str, Any]) -> str:
    return bar_chart(
        "Aggregate index ingest against a plain COPY of the same rows (same run)",
        [
            ("plain COPY (baseline)", 1.0, f"{r['copy_rows_per_s']:,.0f} rows/s"),
            (
                "ingest (projection + COPY)",
                r["ingest_over_copy"],
                f"{r['ingest_rows_per_s']:,.0f} rows/s ({r['ingest_over_copy']:.2f})",
            ),
        ],
        target=0.5,
        target_label="target 0.5",
    )


if __name__ == "__main__":
    sys.exit(main())
