"""Indexes of verified replicas carry the station's tables, casework and services included, so an
aggregating node's dashboards read a replica as they read a station (real RocksDB, real SQLite)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

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


def test_replica_index_has_the_casework_and_services_tables(tmp_path: Path) -> None:
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
        own_tables = set(sa.inspect(station.index.engine).get_table_names())
    finally:
        station.close()

    indexes = ReplicaIndexes(tmp_path / "replicas")
    try:
        replica = indexes.index(ORIGIN)
        replica.apply(entries)
        assert set(sa.inspect(replica.engine).get_table_names()) == own_tables
        assert {"case_events", "petition_status", "service_requests"} <= own_tables
        figures = (reports.charge_sheeting(replica), reports.pending_by_age(replica, now))
        assert figures == own
        assert figures[0].charge_sheets == 1
    finally:
        indexes.close()
