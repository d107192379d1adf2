"""A station restored from an old backup learns, before appending, that its parent holds more
of its log, and recovers those entries from the parent's replica (real processes, real gRPC)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from ledger.checkpoint import parse_note
from ledger.errors import PeerError
from ledger.log import verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.federation import build
from node.demo.seed import seed_station
from node.peers.clients import Peers
from node.runtime import reconcile_with_parent
from node.station.core import Station
from tests.processes import serve_federated, stop_node

pytestmark = pytest.mark.slow  # real node processes

STATION = "kalamassery"
DISTRICT = "ekm-dpo"


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Path]:
    build(tmp_path, records=40)
    yield tmp_path


async def _replica_size(base: Path, origin: str) -> int:
    """The size of the district's verified replica of `origin`, asked as the station (0 while
    it holds no verified checkpoint of it yet)."""
    peers = Peers.load(DataDir(base / STATION))
    client = peers.client(peers.address(peers.federation.parent))
    try:
        note = await client.get_checkpoint(origin, timeout=5.0)
    except PeerError:
        return 0
    finally:
        client.close()
    return parse_note(note)[0].size


def test_restore_recovers_entries_the_parent_holds(federation: Path) -> None:
    base = federation
    station_dir = DataDir(base / STATION)
    origin = station_dir.load_config().origin
    backup = base / "backup"
    shutil.copytree(station_dir.ledger_path, backup)  # the old backup
    station = Station.open(station_dir)
    seed_station(station, 30, seed=9, show_progress=False)
    full = station.ledger.size()
    station.close()

    district = serve_federated(base, DISTRICT)
    child = serve_federated(base, STATION)
    try:
        deadline = time.monotonic() + 60
        size = 0
        while size < full:
            size = trio.run(_replica_size, base, origin)
            if size < full:
                assert time.monotonic() < deadline, f"district replicated {size} of {full}"
                time.sleep(0.5)
        stop_node(child)
        shutil.rmtree(station_dir.ledger_path)
        shutil.copytree(backup, station_dir.ledger_path)  # restore the old backup
        with RocksDBLogStore.open(station_dir.ledger_path) as store:
            restored = store.size()
        assert restored < full

        recovered = trio.run(reconcile_with_parent, station_dir)
    finally:
        stop_node(child)
        stop_node(district)

    assert recovered == full - restored
    with RocksDBLogStore.open(station_dir.ledger_path) as store:
        assert store.size() == full
        key = bytes(station_dir.load_key().verify_key)
        verify_log(store, key, origin)
    # And the station works on from there: the next FIR continues the series.
    reopened = Station.open(station_dir)
    try:
        assert reopened.ledger.size() == full
    finally:
        reopened.close()
