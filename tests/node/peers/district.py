"""A district office holding verified replicas of two stations, on real RocksDB and SQLite files:
the stations' FIRs (a theft, and a theft with a murder, at each), replicated in-process by the
real follower (tests/federation/test_replication.py's LogPeer stands in for the network)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from federation.logs import LedgerLogReader
from federation.replicas import ReplicaSet
from federation.replication import Witness
from node.config import DataDir
from node.peers.replica_index import ReplicaIndexes
from node.records.laws import Statutes
from node.records.validation import IST, utc_ms
from node.station import registers
from node.station.core import Station
from protos import records_pb2
from tests.federation.test_replication import LogPeer, follow
from tests.node.support import station_clock_at, theft_fir

DISTRICT = "cctns.in/kerala/ernakulam-city/dpo"
STATIONS = (
    ("cctns.in/kerala/ernakulam-city/ps-kalamassery", "Kalamassery"),
    ("cctns.in/kerala/ernakulam-city/ps-edappally", "Edappally"),
)
YEAR = datetime.now(IST).year
MURDER = Statutes.default().crime_head([("BNS", "103(1)")])
THEFT = Statutes.default().crime_head([("BNS", "303(2)")])


def register(station: Station, when: datetime, *cited: tuple[str, str]) -> str:
    fir = theft_fir(when)
    del fir.sections[:]
    fir.sections.extend(records_pb2.ActSection(act=a, section=s) for a, s in cited)
    with station_clock_at(station, utc_ms(when)):
        return registers.register_fir(station, "PEN100200", fir).ref


@dataclass
class District:
    data_dir: DataDir
    station: Station
    children: list[Station]
    replicas: ReplicaSet
    indexes: ReplicaIndexes

    def close(self) -> None:
        self.indexes.close()
        self.replicas.close()
        self.station.close()
        for child in self.children:
            child.close()


def build_district(tmp_path: Path) -> District:
    start = datetime(YEAR, 1, 5, 10, 0, tzinfo=IST)
    children = []
    for number, (origin, name) in enumerate(STATIONS):
        data_dir = DataDir(tmp_path / name)
        data_dir.create(origin=origin, district="Ernakulam City", station=name)
        station = Station.open(data_dir)
        register(station, start.replace(day=5 + number), ("BNS", "303(2)"))
        register(station, start.replace(day=10 + number), ("BNS", "303(2)"), ("BNS", "103(1)"))
        children.append(station)
    district_dir = DataDir(tmp_path / "district")
    district_dir.create(origin=DISTRICT, role="district", district="Ernakulam City")
    district_station = Station.open(district_dir)
    witness = Witness(district_dir.load_key(), DISTRICT, lambda: int(time.time()))
    indexes = ReplicaIndexes(district_dir.path / "replicas")
    replicas = ReplicaSet(
        district_dir.path / "replicas", witness=witness, on_verified=indexes.on_verified
    )
    indexes.replicas = replicas
    readers = {s.config.origin: LedgerLogReader(s.ledger) for s in children}
    peer = LogPeer(readers.__getitem__, "children")
    for station in children:
        key = bytes(station.ledger.keys.key_at(0))
        follow(replicas.follow(station.config.origin, key), peer)
    return District(district_dir, district_station, children, replicas, indexes)
