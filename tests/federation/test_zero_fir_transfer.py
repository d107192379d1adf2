"""A Zero FIR crosses the network: the sending station hands it over with the CLI, the station
with jurisdiction (a real serving process) numbers it, and both logs record the hand-over."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.log import verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.federation import build
from node.records.validation import IST, utc_ms
from node.station import registers, transfer
from node.station.core import Station
from protos import records_pb2
from tests.processes import start_node, stop_node

SENDER, RECEIVER = "kalamassery", "edappally"
RECEIVER_ID = "kerala/ernakulam-city/ps-edappally"


pytestmark = pytest.mark.slow  # real node processes


def _zero_fir() -> records_pb2.Fir:
    occurred = datetime.now(IST) - timedelta(hours=3)
    return records_pb2.Fir(
        zero_fir=True,
        jurisdiction_station="Edappally",
        occurrence_from_ms=utc_ms(occurred),
        place_of_occurrence=records_pb2.Place(description="Edappally junction, near the mall"),
        sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        brief_facts="Mobile phone stolen from the complainant's bag at Edappally junction.",
        persons=[
            records_pb2.PersonInCase(
                person=records_pb2.Person(name="Anitha Joseph", age=34, sex="F"),
                role=records_pb2.COMPLAINANT,
            )
        ],
    )


def test_zero_fir_handed_over_between_two_real_nodes(tmp_path: Path) -> None:
    build(tmp_path, records=20, peer_lists=True)
    sender_dir = DataDir(tmp_path / SENDER)
    station = Station.open(sender_dir)
    try:
        zero_ref = registers.register_fir(station, "PEN200001", _zero_fir()).ref
    finally:
        station.close()
    receiver, _ = start_node(
        "node", "serve", "--data-dir", str(tmp_path / RECEIVER), log_path=tmp_path / "receiver.log"
    )
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "admin.cli",
                "peer",
                "transfer-zero-fir",
                zero_ref,
                "--to",
                RECEIVER_ID,
                "--officer",
                "PEN200001",
                "--data-dir",
                str(sender_dir.path),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "FIR No. " in result.stdout
    finally:
        stop_node(receiver)
    fir_number = result.stdout.split("numbered as ", 1)[1].split(" at ")[0]
    receiver_dir = DataDir(tmp_path / RECEIVER)
    got = Station.open(receiver_dir)
    try:
        position = got.index.lookups.record_index(fir_number)
        assert position is not None
        fir = got.ledger.body(position).fir
        assert fir.zero_fir_number == zero_ref
        verify_log(got.ledger.store, got.ledger.public_key, got.config.origin)
    finally:
        got.close()
    with RocksDBLogStore.open(sender_dir.ledger_path, audit=True) as store:
        verify_log(store, bytes(sender_dir.load_key().verify_key), sender_dir.load_config().origin)
    again = Station.open(sender_dir)
    try:
        status = transfer.zero_fir_status(again, zero_ref)
        assert status["fir_number"] == fir_number
    finally:
        again.close()
