"""`make bench`: the legacy import's rate (`cctns import`, `node.station.legacy`) beside the plain
append rate of the very same entries, measured in the same run on the same machine.

A synthetic export of N past cases (default 5,000 over 2016-2025: synthetic FIRs of a Kerala
station, each with a final report and, for most charge sheets, a court result) is written in
the documented JSON format, then:
- read: the export parsed into cases (every row checked for format);
- imported: the cases validated against a fresh station on RocksDB and SQLite and written in
  chunks (each case's GD entry, FIR and events, indexed), as `cctns import` does;
- the baselines: the entry bodies the import wrote, appended again to a fresh ledger in group
  commits of the same size with `Ledger.append_many` (signing, RocksDB, synced WAL, the
  high-water mark: no validation, no index), and committed through a fresh station
  (`Station.commit`: the same appends, indexed; no validation, no drafting).

Prints cases/s and entries/s and the ratio of the import's entries/s to each baseline's.
Results are also written to bench-out/import.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nacl.signing

from ledger.errors import InputError
from ledger.log import Ledger
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.synthetic import SyntheticRecords
from node.records.laws import Statutes
from node.records.validation import IST, Problems, check_sections, ist_date
from node.station import legacy
from node.station.core import Draft, Station
from protos import ledger_pb2, records_pb2
from simulations.chart import bar_chart
from simulations.report import per_second, save_results

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
FIRST_YEAR, LAST_YEAR = 2016, 2025


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, IST).isoformat(timespec="minutes")


def synthetic_export(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` past cases in the export's JSON form, numbered per year in registration order."""
    source = SyntheticRecords(seed, "Ernakulam City", "Kalamassery")
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=IST).timestamp()
    span = datetime(LAST_YEAR, 12, 1, tzinfo=IST).timestamp() - start
    serials: dict[int, int] = {}
    cases = []
    for n in range(count):
        registered = datetime.fromtimestamp(start + span * (n + 0.5) / count, IST)
        fir = source.crime_fir(registered)
        while _not_in_force(fir):
            fir = source.crime_fir(registered)
        year = registered.year
        serials[year] = serials.get(year, 0) + 1
        cases.append(_export_case(fir, serials[year], year, n))
    return cases


def _not_in_force(fir: records_pb2.Fir) -> bool:
    """Whether the synthetic FIR cites a section or an act not yet in force on its occurrence
    date (the generator draws IPC 376AB before 21 April 2018, the JJ Act of 2015 before 15
    January 2016): the import would refuse it, as it should."""
    problems = Problems()
    check_sections(fir.sections, ist_date(fir.occurrence_from_ms), Statutes.default(), problems)
    return bool(problems.items)


def _export_case(fir: records_pb2.Fir, serial: int, year: int, n: int) -> dict[str, Any]:
    roles = records_pb2.PersonRole
    statuses = records_pb2.PropertyStatus
    sections = "; ".join(f"{s.act} {s.section}" for s in fir.sections)
    day = 86_400_000
    outcomes: list[dict[str, Any]] = []
    if n % 3:  # two cases in three charge-sheeted, most of them with a court result
        outcomes.append(
            {
                "kind": "final_report",
                "date": _iso(fir.registered_at_ms + 60 * day)[:10],
                "report_type": "charge_sheet",
                "sections": sections,
            }
        )
        if n % 3 == 1:
            outcomes.append(
                {
                    "kind": "court",
                    "date": _iso(fir.registered_at_ms + 200 * day)[:10],
                    "court": "JFCM Kalamassery",
                    "case_number": f"CC {serial}/{year}",
                    "outcome": "Accused convicted" if n % 2 else "Accused acquitted",
                }
            )
    else:
        outcomes.append(
            {
                "kind": "final_report",
                "date": _iso(fir.registered_at_ms + 90 * day)[:10],
                "report_type": "closure",
                "text": "Undetected: the offender could not be traced.",
            }
        )
    return {
        "fir_number": f"{serial}/{year}",
        "registered": _iso(fir.registered_at_ms),
        "occurrence_from": _iso(fir.occurrence_from_ms),
        "occurrence_to": _iso(fir.occurrence_to_ms) if fir.occurrence_to_ms else "",
        "place": fir.place_of_occurrence.description,
        "brief_facts": fir.brief_facts,
        "information_type": fir.information_type,
        "sections": [f"{s.act} {s.section}" for s in fir.sections],
        "persons": [
            {
                "role": roles.Name(p.role).lower(),
                "name": p.person.name,
                "aliases": list(p.person.aliases),
                "relation": p.person.relation,
                "relative_name": p.person.relative_name,
                "age": p.person.age or "",
                "sex": p.person.sex,
                "address": p.person.address,
                "unknown": p.unknown,
            }
            for p in fir.persons
        ],
        "property": [
            {
                "category": item.category,
                "description": item.description,
                "status": statuses.Name(item.status).lower(),
                "value_inr": item.value_inr or "",
                "identifiers": item.identifiers,
                "registration": item.vehicle.registration,
                "engine_number": item.vehicle.engine_number,
                "chassis_number": item.vehicle.chassis_number,
            }
            for item in fir.property
        ],
        "outcomes": outcomes,
    }


def _station(path: Path) -> Station:
    data_dir = DataDir(path)
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    return Station.open(data_dir)


def _fresh(body: ledger_pb2.EntryBody) -> ledger_pb2.EntryBody:
    copy = ledger_pb2.EntryBody()
    copy.CopyFrom(body)
    copy.ClearField("origin")
    copy.ClearField("index")
    copy.ClearField("written_at_ms")
    return copy


def bench(work: Path, count: int, chunk: int) -> dict[str, Any]:
    export_path = work / "cases.json"
    export_path.write_text(json.dumps(synthetic_export(count), ensure_ascii=False), "utf-8")

    started = time.perf_counter()
    export = legacy.read_export(export_path, OFFICER)
    read_s = time.perf_counter() - started
    if export.problems:
        raise SystemExit("synthetic export refused:\n" + "\n".join(export.problems[:20]))
    station = _station(work / "import")
    try:
        started = time.perf_counter()
        try:
            result = legacy.import_cases(station, export, source="bench", chunk=chunk)
        except InputError as exc:
            raise SystemExit("synthetic export refused:\n" + "\n".join(exc.problems[:20])) from exc
        import_s = time.perf_counter() - started
        bodies = [_fresh(b) for _, b in station.ledger.bodies(1, station.ledger.size())]
    finally:
        station.close()
    assert len(bodies) == result.entries
    commits = math.ceil(result.imported / chunk)
    group = math.ceil(len(bodies) / commits)
    batches = [bodies[i : i + group] for i in range(0, len(bodies), group)]

    store = RocksDBLogStore.open(work / "plain")
    ledger = Ledger(store, nacl.signing.SigningKey.generate(), ORIGIN, mark=MarkFile(work / "m"))
    try:
        started = time.perf_counter()
        for batch in batches:
            ledger.append_many([_fresh(b) for b in batch])
        plain_s = time.perf_counter() - started
    finally:
        ledger.close()
        store.close()

    station = _station(work / "indexed")
    try:
        copies = [[_fresh(b) for b in batch] for batch in batches]
        started = time.perf_counter()
        for batch in copies:
            station.commit([Draft("bench", "", batch)])
        indexed_s = time.perf_counter() - started
    finally:
        station.close()

    entries = result.entries
    whole_s = read_s + import_s
    return {
        "when": datetime.now(IST).isoformat(),
        "cases": result.imported,
        "entries": entries,
        "chunk_cases": chunk,
        "entries_per_commit": group,
        "read_s": read_s,
        "import_s": import_s,
        "cases_per_s": per_second(result.imported, whole_s),
        "import_entries_per_s": per_second(entries, whole_s),
        "plain_append_entries_per_s": per_second(entries, plain_s),
        "append_and_index_entries_per_s": per_second(entries, indexed_s),
        "ratio_to_plain_append": per_second(entries, whole_s) / per_second(entries, plain_s),
        "ratio_to_append_and_index": per_second(entries, whole_s) / per_second(entries, indexed_s),
    }


def _chart(r: dict[str, Any]) -> str:
    plain = r["plain_append_entries_per_s"]
    bars = [
        ("plain append (baseline)", 1.0, f"{plain:,.0f} entries/s"),
        (
            "append and index",
            r["append_and_index_entries_per_s"] / plain,
            f"{r['append_and_index_entries_per_s']:,.0f}/s",
        ),
        (
            "legacy import (read, check, write)",
            r["ratio_to_plain_append"],
            f"{r['import_entries_per_s']:,.0f}/s  ({r['ratio_to_plain_append']:.2f})",
        ),
    ]
    return bar_chart("Legacy import against plain appends of the same entries", bars)


def _report(r: dict[str, Any]) -> None:
    print("\n== legacy import benchmark ==")
    print(f"cases imported                        {r['cases']:10,}")
    print(f"entries written (GD, FIR, events)     {r['entries']:10,}")
    print(f"read the export                       {r['read_s']:10.2f} s")
    print(f"check and write                       {r['import_s']:10.2f} s")
    print(f"import: cases/s                       {r['cases_per_s']:10.0f}")
    print(f"import: entries/s                     {r['import_entries_per_s']:10.0f}")
    print(f"plain append_many: entries/s          {r['plain_append_entries_per_s']:10.0f}")
    print(f"append and index: entries/s           {r['append_and_index_entries_per_s']:10.0f}")
    print(f"import / plain append                 {r['ratio_to_plain_append']:10.2f}")
    print(f"import / append and index             {r['ratio_to_append_and_index']:10.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--chunk", type=int, default=legacy.CHUNK, help="cases per commit")
    parser.add_argument("--out", default="bench-out/import.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cctns-bench-import-") as tmp:
        print(f"legacy import: {args.cases:,} cases ...", file=sys.stderr)
        results = bench(Path(tmp), args.cases, args.chunk)
    _report(results)
    save_results(results, args.out, _chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
