"""Audit entries are durable before the read's answer leaves and indexed just after it
(`Station.commit(..., index_later=True)`): the index catches up by its own thread, by the next
commit, on close, or when the station is opened again. Real RocksDB and SQLite files."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from federation.audit import audit_entry
from ledger.errors import StoreError
from node.config import DataDir
from node.index.schema import records
from node.station import registers
from node.station.audit import append_audit
from node.station.core import Station
from protos import federation_pb2

OFFICER = "KL-1234"


def _audit(station: Station, ref: str) -> int:
    context = federation_pb2.QueryContext(officer_id="KL-9", purpose="investigation")
    entry = audit_entry("cctns.in/kerala/dpo", context, "fetch", ref, [ref], full_record=True)
    return append_audit(station, entry).index


def _audited_refs(station: Station) -> set[int]:
    with station.index._engine.connect() as conn:
        rows = conn.execute(sa.select(records.c.ledger_index).where(records.c.kind == "audit"))
        return {row[0] for row in rows}


def test_an_audit_entry_is_in_the_ledger_at_once_and_in_the_index_after_the_flush(
    station: Station,
) -> None:
    # Hold the lock so that the indexer thread cannot run between the append and the check.
    with station.writing():
        index = _audit(station, "FIR 1/2026")
        assert station.ledger.size() == index + 1
        assert station.index.indexed_size() == index  # not yet projected
    station.flush_index()
    assert station.index.indexed_size() == station.ledger.size()
    assert index in _audited_refs(station)


def test_the_indexer_thread_catches_up_without_any_other_call(station: Station) -> None:
    index = _audit(station, "FIR 2/2026")
    done = threading.Event()
    for _ in range(200):
        if station.index.indexed_size() == station.ledger.size():
            done.set()
            break
        done.wait(0.01)
    assert done.is_set() and index in _audited_refs(station)


def test_a_register_entry_after_pending_audits_indexes_them_in_order(station: Station) -> None:
    with station.writing():
        audits = [_audit(station, f"FIR {n}/2026") for n in range(3)]
        receipt = registers.write_gd(station, OFFICER, "information", "Patrol left at 22:00.")
        # The GD entry's commit projected the three pending audit entries before it.
        assert station.index.indexed_size() == receipt.index + 1
    assert set(audits) <= _audited_refs(station)


def test_pending_audits_are_indexed_on_close_and_caught_up_on_open(data_dir: DataDir) -> None:
    station = Station.open(data_dir)
    with station.writing():
        index = _audit(station, "FIR 5/2026")
    station.close()
    again = Station.open(data_dir)
    try:
        assert again.index.indexed_size() == again.ledger.size()
        assert index in _audited_refs(again)
    finally:
        again.close()


def test_a_failed_projection_keeps_the_audit_pending_and_a_later_one_applies_it(
    station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = station.index.apply

    def failing(entries: object) -> None:
        raise StoreError("index update failed: disk full (simulated)")

    with station.writing():
        monkeypatch.setattr(station.index, "apply", failing)
        index = _audit(station, "FIR 6/2026")
        with pytest.raises(StoreError):
            station.flush_index()
        monkeypatch.setattr(station.index, "apply", real_apply)
        station.flush_index()
    assert station.index.indexed_size() == station.ledger.size()
    assert index in _audited_refs(station)
