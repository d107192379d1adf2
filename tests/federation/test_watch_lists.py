"""A watch-list hit between two stations through their district node, with real node processes
and gRPC over mutual TLS on loopback (docs/watch.md): an officer of station A watches a vehicle
(`cctns watch add`); A's node hands the watch up; station B registers an FIR naming the vehicle;
the district replicates B, matches the record as it indexes it, and tells A's node, which lists
the alert (`cctns watch alerts`); the district's log holds the audit entry of that read."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from node.config import AGGREGATE_NAME
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from protos import records_pb2
from tests.federation.procs import (
    Federation,
    Spec,
    await_alert,
    running_federation,
    wait_for,
)
from tests.node.support import theft_fir

SPECS = [
    Spec("dpo", "district"),
    Spec("sta", "station", parent="dpo"),
    Spec("stb", "station", parent="dpo"),
]
OFFICER = "PEN100400"
REG = "KL-07-WX-2468"
WAIT = 90.0  # a loaded machine: replication, the watch loop (5 s) and delivery


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with running_federation(tmp_path, SPECS, poll=0.5) as federation:
        yield federation


def _held_by_district(fed: Federation) -> list[str]:
    path = fed["dpo"].path / "replicas" / AGGREGATE_NAME
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT watch_id FROM watches WHERE cancelled = 0")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def _audits(fed: Federation, kind: str) -> int:
    db = sqlite3.connect(f"file:{fed['dpo'].path / 'index.sqlite3'}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM records WHERE kind = ?", (kind,)).fetchone()[0])
    finally:
        db.close()


def test_a_vehicle_watched_at_one_station_is_found_in_anothers_record(fed: Federation) -> None:
    added = fed.cli(
        "watch", "add", "vehicle", "kl 7 wx 2468", "--officer", OFFICER,
        "--data-dir", str(fed["sta"].path),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    watch_id = json.loads(added.stdout)["watch_id"]
    wait_for(
        "the district holds the watch", lambda: watch_id in _held_by_district(fed), timeout=WAIT
    )
    audits_before = _audits(fed, "audit")

    # Station B writes an FIR naming the vehicle (stopped to write to its ledger, as procs do).
    fed.stop("stb")
    station = Station.open(fed["stb"].data_dir)
    try:
        fir = theft_fir(datetime.now(IST))
        del fir.property[:]
        fir.property.add(
            category="vehicle",
            status=records_pb2.SEIZED,
            vehicle=records_pb2.Vehicle(registration=REG, vehicle_type="car"),
        )
        ref = registers.register_fir(station, "PEN200500", fir).ref
    finally:
        station.close()
    fed.start("stb")

    alert = await_alert(fed, "sta", watch_id, WAIT)  # station A told of B's record
    assert alert["origin"] == fed["stb"].origin and alert["ref"] == ref
    assert alert["from_node"] == fed["dpo"].node_id and "registration" in str(alert["detail"])
    # The read it amounts to is audited where it was answered: the district's log.
    wait_for(
        "the district's audit entry", lambda: _audits(fed, "audit") > audits_before, timeout=WAIT
    )
