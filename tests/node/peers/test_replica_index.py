"""The one index over an aggregating node's verified replicas gives the dashboards' figures that
the station's own index gives for its log (real RocksDB, real SQLite)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from node.config import DataDir
from node.index import reports
from node.index.record_index import IndexedEntry
from node.peers.replica_index import ReplicaIndexes
from node.records.validation import IST, utc_ms
from node.station import casework, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-edappally"


def test_replica_figures_equal_the_stations_own(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "station")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    try:
        first = registers.register_fir(station, "PEN100001", theft_fir()).ref
        registers.register_fir(station, "PEN100001", theft_fir())
        casework.assign_io(station, "PEN100001", first, "PEN100002")
        casework.record_case_event(
            station,
            "PEN100002",
            first,
            "final_report",
            report_type="charge_sheet",
            sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        )
        entries = [IndexedEntry(i, body) for i, body in station.ledger.bodies()]
        now = utc_ms(datetime.now(IST))
        own = (reports.charge_sheeting(station.index), reports.pending_by_age(station.index, now))
        heads = reports.crime_head_counts(station.index)
    finally:
        station.close()

    indexes = ReplicaIndexes(tmp_path / "replicas")
    try:
        replica = indexes.aggregate
        replica.apply({ORIGIN: entries})
        figures = (reports.charge_sheeting(replica), reports.pending_by_age(replica, now))
        assert figures == own
        assert figures[0].charge_sheets == 1
        assert reports.crime_head_counts(replica) == heads
        # Another office's FIR of the same number, without a final report, stays pending.
        other = "cctns.in/kerala/thrissur-city/ps-ollur"
        replica.apply({other: [e for e in entries if e.body.WhichOneof("record") != "case_event"]})
        rate = reports.charge_sheeting(replica)
        assert (rate.firs, rate.charge_sheets) == (4, 1)
        pending = sum(count for _, count in reports.pending_by_age(replica, now))
        assert pending == 3
    finally:
        indexes.close()
