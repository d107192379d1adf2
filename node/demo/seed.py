"""Fills a station with synthetic records through the station's own commands (validated,
numbered, signed, indexed), in group-committed chunks, with a progress bar on stderr."""

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
    if latest is not None:
        # Seeding again: new records come after the station's latest FIR (no ante-dating).
        after = datetime.fromtimestamp(latest / 1000 + 1, IST)
        start = max(start, after)
        end = max(end, start + timedelta(seconds=records))
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
        registers.register_many(station, items(), chunk=CHUNK)
    finally:
        bar.close()
    return dict(counts)
