"""Seeding a station that has already written live: synthetic history is an import, so it
fills only the years before the station's first live year (real RocksDB, real SQLite)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from node.config import DataDir
from node.demo.seed import seed_station
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from tests.node.support import theft_fir


def test_seeding_after_live_records_ends_before_the_first_live_year(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin="cctns.in/kerala/ernakulam-city/ps-kalamassery")
    station = Station.open(data_dir)
    try:
        live = registers.register_fir(station, "PEN100001", theft_fir())
        year = datetime.now(IST).year
        counts = seed_station(station, 300, seed=3, show_progress=False)
        assert sum(counts.values()) == 300
        imported = [
            body
            for _, body in station.ledger.bodies()
            if body.imported_from and body.WhichOneof("record") == "fir"
        ]
        assert imported and all(body.fir.fir_year < year for body in imported)
        # The live series goes on from the live FIR, untouched by the import.
        assert registers.register_fir(station, "PEN100001", theft_fir()).ref == (
            f"FIR No. {int(live.ref.split()[2].split('/')[0]) + 1}/{year}"
        )
    finally:
        station.close()
