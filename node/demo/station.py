"""`make run`: a station node with demo data, verified, searched, and how to use it."""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path

from ledger.log import verify_log
from node.config import DataDir
from node.demo.seed import seed_station
from node.records.validation import IST
from node.station.core import Station

DEMO_ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


def run_demo(path: Path, *, records: int = 3000) -> int:
    """Creates (once) and seeds a demo station, verifies its ledger, shows a search."""
    data_dir = DataDir(path)
    if not data_dir.exists():
        data_dir.create(
            origin=DEMO_ORIGIN, role="station", district="Ernakulam City", station="Kalamassery"
        )
        print(f"created demo station node in {path}", file=sys.stderr)
    station = Station.open(data_dir)
    try:
        if station.ledger.size() < records // 2:
            seed_station(station, records, seed=7)
        report = verify_log(station.ledger.store, station.ledger.keys.first, station.config.origin)
        sample = station.index.search.persons("Muhamed", limit=3)
    finally:
        station.close()
    d = shlex.quote(str(path))
    print(f"\nStation node {DEMO_ORIGIN}")
    print(f"  ledger: {report.size} signed entries, every checkpoint verified")
    print("  a misspelt search, 'Muhamed':")
    for hit in sample:
        print(f"    {hit.name} ({hit.role}, {hit.record_ref})")
    print("\nTry:")
    for line in (
        f"cctns node info --data-dir {d}",
        f"cctns ledger checkpoint --data-dir {d}",
        f"cctns ledger entry 1 --data-dir {d} --json",
        f"cctns ledger prove-inclusion 5 --data-dir {d} --json",
        f"cctns ledger verify --data-dir {d}",
        f"cctns search person 'K. Raju' --data-dir {d}",
        f"cctns record show 'FIR No. 1/{datetime.now(IST).year}' --data-dir {d}",
    ):
        print(f"  .venv/bin/{line}")
    return 0
