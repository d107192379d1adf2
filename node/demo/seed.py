"""Fills a station with synthetic records through the station's own commands (validated,
numbered, signed, indexed), in group-committed chunks, with a progress bar on stderr.

Synthetic history lies in the past, so it comes in as an import (`registers.import_records`):
each entry says in the ledger that it was imported from synthetic records, and live records
written afterwards continue the numbering after it."""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from tqdm import tqdm

from ledger.errors import InputError
from node.demo.synthetic import SyntheticRecords
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from protos import records_pb2

CHUNK = 500
DEFAULT_PLACE = ("Ernakulam City", "Kalamassery")


def officer_ids(seed: int, count: int = 12) -> list[str]:
    """Plausible officer ids (Kerala police PEN numbers) for a station's staff."""
    rng = random.Random(seed)
    return [f"PEN{rng.randrange(100000, 999999)}" for _ in range(count)]


def seed_station(
    station: Station,
    records: int,
    *,
    seed: int = 1,
    days: int | None = None,
    show_progress: bool = True,
) -> dict[str, int]:
    """Writes `records` synthetic records spread over the past `days` (about 2 a day by
    default... scaled so that a year holds a realistic station's load). Returns counts by kind."""
    end = datetime.now(IST) - timedelta(minutes=1)
    span = days if days is not None else max(30, min(3 * 365, records // 8))
    start = end - timedelta(days=span)
    latest = registers.latest_fir_registration_ms(
        station,
    )
    live = station.index.lookups.first_live_register_ms()
    if live is not None:
        # The station has written live: synthetic history (an import) may only fill the years
        # before its first live year (registers.import_records), so it ends there.
        first_year = datetime.fromtimestamp(live / 1000, IST).year
        end = min(end, datetime(first_year, 1, 1, tzinfo=IST) - timedelta(minutes=1))
        start = min(start, end - timedelta(days=span))
    if latest is not None and latest / 1000 < end.timestamp():
        # Seeding again: new records come after the station's latest FIR, and never after now
        # (an import keeps its records' times, which may not lie in the future).
        after = datetime.fromtimestamp(latest / 1000 + 1, IST)
        start = min(max(start, after), end - timedelta(seconds=1))
    try:
        source = SyntheticRecords(seed, station.config.district, station.config.station)
    except InputError:
        # A node outside the shipped Kerala gazetteer still gets Kerala-like records,
        # filed under its own district and station names.
        source = SyntheticRecords(seed, *DEFAULT_PLACE)
    officers = officer_ids(seed)
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    bar = tqdm(
        total=records,
        desc="seeding",
        unit=" records",
        file=sys.stderr,
        # None: tqdm stays silent when stderr is no terminal.
        disable=None if show_progress else True,
    )

    def items() -> Iterator[tuple[str, str, Any]]:
        for kind, record in source.stream(records, start, end):
            if isinstance(record, records_pb2.Fir):
                record.district = station.config.district
                record.police_station = station.config.station
            counts[kind] += 1
            bar.update(1)
            yield kind, rng.choice(officers), record

    try:
        registers.import_records(
            station,
            items(),
            source=f"synthetic records (cctns node seed, seed {seed})",
            chunk=CHUNK,
        )
    finally:
        bar.close()
    return dict(counts)
