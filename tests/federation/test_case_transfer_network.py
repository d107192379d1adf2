"""A case's investigation crosses the network: the sending station transfers it with the CLI, the
receiving unit (a real serving process, over gRPC with mutual TLS on loopback) takes it over,
both logs record it, and the same command again writes nothing; then the unit investigates it in
its own log (an arrest with its lock-up clock, a diary day, a charge sheet), the sender's log
untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.log import verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.federation import build
from node.index import investigation as held
from node.index import transfers as moved
from node.records.validation import ist_date
from node.station import casework, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.station.test_investigation import accused, memo
from tests.node.support import theft_fir
from tests.processes import start_node, stop_node

SENDER, RECEIVER = "kalamassery", "edappally"
RECEIVER_ID = "kerala/ernakulam-city/ps-edappally"
OFFICER = "PEN200001"

pytestmark = pytest.mark.slow  # real node processes


def _transfer(sender_dir: DataDir, fir: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "admin.cli", "case", "transfer", fir,
            "--to", RECEIVER_ID, "--unit", "Edappally (special team)",
            "--ordered-by", "District Police Chief, Kochi City",
            "--order-reference", "C2/118/2026/KC", "--order-date", "2026-12-01",
            "--reason", "The accused are of a gang operating in Edappally's limits",
            "--officer", OFFICER, "--data-dir", str(sender_dir.path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )  # fmt: skip


def test_case_transferred_between_two_real_nodes(tmp_path: Path) -> None:
    build(tmp_path, records=20, peer_lists=True)
    sender_dir = DataDir(tmp_path / SENDER)
    station = Station.open(sender_dir)
    try:
        fir = registers.register_fir(station, OFFICER, theft_fir()).ref
    finally:
        station.close()
    receiver, _ = start_node(
        "node", "serve", "--data-dir", str(tmp_path / RECEIVER), log_path=tmp_path / "receiver.log"
    )
    try:
        first = _transfer(sender_dir, fir)
        assert first.returncode == 0, first.stderr
        status = json.loads(first.stdout)
        sender_size = _size(sender_dir)
        again = _transfer(sender_dir, fir)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["takeover_index"] == status["takeover_index"]
        assert _size(sender_dir) == sender_size
    finally:
        stop_node(receiver)

    receiver_dir = DataDir(tmp_path / RECEIVER)
    got = Station.open(receiver_dir)
    try:
        (row,) = moved.cases_taken_over(got.index)
        assert (row.fir_number, row.ledger_index) == (fir, status["takeover_index"])
        assert row.from_origin == sender_dir.load_config().origin
        assert row.order_reference == "C2/118/2026/KC"
        # The unit investigates the case in its own log, by its key.
        key = f"{fir} of {row.from_origin.split('/', 1)[1]}"
        casework.arrest(got, OFFICER, key, [accused("A1", "Manoj P")], memo())
        (person,) = held.lockup_register(got.index)
        assert person.fir_number == key and person.awaiting_production
        day = records_pb2.DiaryDay(day=ist_date(person.arrested_at_ms).isoformat())
        casework.write_diary(got, OFFICER, key, day, "Arrested A1 at Edappally")
        casework.record_case_event(
            got, OFFICER, key, "final_report", report_type="charge_sheet",
            sections=[records_pb2.ActSection(act="BNS", section="303(2)")],
        )  # fmt: skip
        verify_log(got.ledger.store, got.ledger.public_key, got.config.origin)
        before = got.index.snapshot()
        got.rebuild_index()
        assert got.index.snapshot() == before
    finally:
        got.close()
    assert _size(sender_dir) == sender_size  # the unit's investigation is in its log only
    with RocksDBLogStore.open(sender_dir.ledger_path, audit=True) as store:
        verify_log(store, bytes(sender_dir.load_key().verify_key), sender_dir.load_config().origin)
    back = Station.open(sender_dir)
    try:
        sent = moved.transfer_out(back.index, fir)
        assert sent is not None and sent.accepted
        assert sent.takeover_index == status["takeover_index"]
        with pytest.raises(Exception, match="transferred to Edappally"):
            casework.record_case_event(back, OFFICER, fir, "case_diary", text="Scene visited")
    finally:
        back.close()


def _size(data_dir: DataDir) -> int:
    with RocksDBLogStore.open(data_dir.ledger_path, audit=True) as store:
        return store.size()
