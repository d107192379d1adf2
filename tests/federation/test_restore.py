"""A station restored from an old backup learns, before appending, that its parent holds more
of its log, and recovers those entries from the parent's replica (real processes, real gRPC)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from federation import tls
from federation.grpc_client import GrpcPeerClient
from federation.trust.credentials import NodeCredentials
from ledger.checkpoint import parse_note
from ledger.errors import PeerError
from ledger.log import verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.federation_config import load_federation
from node.federation_demo import build
from node.runtime import reconcile_with_parent
from node.seed import seed_station
from node.station import Station

STATION = "kalamassery"
DISTRICT = "ekm-dpo"


def _serve(base: Path, name: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "admin.cli", "node", "serve", "--data-dir", str(base / name)]
    with (base / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen([*command, "--poll", "0.5"], stdout=log, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Path]:
    build(tmp_path, records=40)
    yield tmp_path


async def _replica_size(base: Path, origin: str, deadline: float) -> int:
    """The size of the district's verified replica of `origin`, asked as the station."""
    station_dir = DataDir(base / STATION)
    creds = NodeCredentials.load(station_dir.path)
    district = load_federation(station_dir).peer(load_federation(station_dir).parent).address
    client = GrpcPeerClient(
        district, credentials=tls.channel_credentials(creds), options=tls.channel_options()
    )
    try:
        while True:
            try:
                note = await client.get_checkpoint(origin, timeout=2.0)
                return parse_note(note)[0].size
            except PeerError:
                if time.monotonic() > deadline:
                    raise
                await trio.sleep(0.3)
    finally:
        client.close()


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

    district = _serve(base, DISTRICT)
    child = _serve(base, STATION)
    try:
        deadline = time.monotonic() + 60
        size = 0
        while size < full:
            size = trio.run(_replica_size, base, origin, deadline)
            if size < full:
                assert time.monotonic() < deadline, f"district replicated {size} of {full}"
                time.sleep(0.5)
        _stop(child)
        shutil.rmtree(station_dir.ledger_path)
        shutil.copytree(backup, station_dir.ledger_path)  # restore the old backup
        with RocksDBLogStore.open(station_dir.ledger_path) as store:
            restored = store.size()
        assert restored < full

        recovered = trio.run(reconcile_with_parent, station_dir)
    finally:
        _stop(child)
        _stop(district)

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
