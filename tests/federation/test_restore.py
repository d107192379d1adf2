"""A station restored from an old backup, or whose store lost acknowledged entries (one byte
flipped in RocksDB's write-ahead log), learns before appending that its parent holds more of its
log, and recovers those entries from the parent's replica (real processes, real gRPC)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from ledger.checkpoint import parse_note
from ledger.errors import PeerError
from ledger.log import verify_log
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.federation import build
from node.demo.seed import seed_station
from node.peers.clients import Peers
from node.runtime import reconcile_with_parent
from node.station import registers
from node.station.core import Station
from node.station.sealed_store import SealedStore
from protos import federation_pb2
from tests.ledger.test_mark import flip_wal_byte
from tests.node.support import sexual_offence_fir
from tests.processes import (
    launch_node,
    run_cctns,
    serve_federated,
    set_limits,
    start_node,
    stop_node,
)

pytestmark = pytest.mark.slow  # real node processes

STATION = "kalamassery"
DISTRICT = "ekm-dpo"


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Path]:
    build(tmp_path, records=40, peer_lists=True)
    # A case whose victim is sealed: the backup must carry the sealed store too.
    station = Station.open(DataDir(tmp_path / STATION))
    try:
        registers.register_fir(station, "PEN100001", sexual_offence_fir())
        assert station.sealed.count() > 0
    finally:
        station.close()
    # The district's searches below are many more than a district's minute's quota of them.
    set_limits(tmp_path / STATION, peer_audited_calls="10000/minute")
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


def _wait_replicated(base: Path, origin: str, size: int) -> None:
    """Until the district's verified replica of `origin` holds `size` entries (bounded)."""
    deadline = time.monotonic() + 60
    while (held := trio.run(_replica_size, base, origin)) < size:
        assert time.monotonic() < deadline, f"district replicated {held} of {size}"
        time.sleep(0.5)


async def _searches_by_the_district(base: Path, station_id: str, count: int) -> None:
    """`count` searches of the station by its district office: each one an audit entry the
    serving station appends and acknowledges (vehicle searches: a person search also seals the
    name asked for, node/station/audit.py, which would change the sealed store's count)."""
    peers = Peers.load(DataDir(base / DISTRICT))
    client = peers.client(peers.address(station_id))
    try:
        for number in range(count):
            request = federation_pb2.SearchRequest(
                kind="vehicle",
                query="KL-07-AB",
                limit=5,
                context=federation_pb2.QueryContext(
                    officer_id="PEN100002", purpose="investigation", case_ref=f"check {number}"
                ),
            )
            await client.search(request, timeout=10.0)
    finally:
        client.close()


def test_restore_flipped_wal_byte_is_detected_then_recovered(federation: Path) -> None:
    base = federation
    station_dir = DataDir(base / STATION)
    config = station_dir.load_config()
    district = serve_federated(base, DISTRICT)
    child = serve_federated(base, STATION)
    try:
        trio.run(_searches_by_the_district, base, config.node_id, 150)
        mark = MarkFile(station_dir.mark_path).read()
        assert mark is not None
        acknowledged = mark.size
        _wait_replicated(base, config.origin, acknowledged)
        stop_node(child, kill=True)  # no flush: the audit entries are in the write-ahead log
        flip_wal_byte(station_dir.ledger_path)

        verify = run_cctns("ledger", "verify", "--data-dir", str(station_dir.path), "--quiet")
        assert verify.returncode == 3, verify
        assert "acknowledged entries are missing" in verify.stderr

        # Without its parent the station refuses to start, and says why.
        stop_node(district)
        log_path = base / "refused.log"
        refused = launch_node(
            "node", "serve", "--data-dir", str(station_dir.path), log_path=log_path
        )
        assert refused.wait(timeout=120) == 3
        stop_node(refused)
        refusal = log_path.read_text()
        assert "acknowledged entries are missing" in refusal
        assert "no entries" not in refusal and "rebuild-index" not in refusal

        # With its parent up, it fetches its own entries back and serves.
        district = serve_federated(base, DISTRICT)
        child = serve_federated(base, STATION)
        node_log = (base / f"{STATION}.log").read_text()
        assert "the log has lost" in node_log and "recovering them from the parent" in node_log
        assert "recovered" in node_log
    finally:
        stop_node(child)
        stop_node(district)

    verify = run_cctns("ledger", "verify", "--data-dir", str(station_dir.path), "--quiet")
    assert verify.returncode == 0, verify
    assert verify.stdout.startswith(f"ok: {acknowledged} entries")
    with RocksDBLogStore.open(station_dir.ledger_path) as store:
        assert store.size() == acknowledged
        last = store.entry(acknowledged - 1)
    assert b"check 149" in last  # the last acknowledged search's audit entry is back


def test_restore_a_backup_taken_while_the_node_serves_and_writes(federation: Path) -> None:
    base = federation
    station_dir = DataDir(base / STATION)
    config = station_dir.load_config()
    out = base / "backup"
    stop = threading.Event()

    def write_until_stopped() -> None:
        async def searches() -> None:
            while not stop.is_set():
                await _searches_by_the_district(base, config.node_id, 5)

        trio.run(searches)

    district = serve_federated(base, DISTRICT)
    child = serve_federated(base, STATION)
    writer = threading.Thread(target=write_until_stopped)
    try:
        trio.run(_searches_by_the_district, base, config.node_id, 10)
        writer.start()
        started = _marked(station_dir)
        backed_up = run_cctns(
            "admin", "backup", "--data-dir", str(station_dir.path), "--out", str(out)
        )
        ended = _marked(station_dir)
        assert backed_up.returncode == 0, backed_up.stderr
        trio.run(_searches_by_the_district, base, config.node_id, 30)  # after the backup
        stop.set()
        writer.join(timeout=60)
        final = _marked(station_dir)
        _wait_replicated(base, config.origin, final)
        stop_node(child)  # the station's disk is lost: only the backup and the parent remain
    finally:
        stop.set()
        stop_node(child)
        stop_node(district)
    assert started < ended, "the node wrote nothing while the backup ran"
    manifest = json.loads((out / "manifest.json").read_text())
    assert started <= manifest["ledger"]["size"] <= ended < final
    assert {"index.sqlite3", "ledger.mark"}.isdisjoint(manifest["files"])
    assert {"keys/node.ed25519", "tls/node.key", "node.toml", "federation.toml"} <= set(
        manifest["files"]
    )

    refused = run_cctns("admin", "restore", "--from", str(out), "--data-dir", str(station_dir.path))
    assert refused.returncode == 2 and "holds a node" in refused.stderr
    restored = DataDir(base / "restored")
    done = run_cctns("admin", "restore", "--from", str(out), "--data-dir", str(restored.path))
    assert done.returncode == 0, done.stderr
    assert MarkFile(restored.mark_path).read() is not None

    district = serve_federated(base, DISTRICT)
    try:
        node, _ = start_node(
            "node", "serve", "--data-dir", str(restored.path), "--poll", "0.5",
            log_path=base / "restored.log",
        )  # fmt: skip
        stop_node(node)
    finally:
        stop_node(district)
    log = (base / "restored.log").read_text()
    assert f"recovered {final - manifest['ledger']['size']} entries" in log

    verify = run_cctns("ledger", "verify", "--data-dir", str(restored.path), "--quiet")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith(f"ok: {final} entries")
    with (
        RocksDBLogStore.open(station_dir.ledger_path) as original,
        RocksDBLogStore.open(restored.ledger_path) as copy,
    ):
        assert copy.size() == original.size() == final
        assert list(copy.entries(0, final)) == list(original.entries(0, final))
    sealed = [SealedStore.open(path / "sealed") for path in (station_dir.path, restored.path)]
    try:
        assert sealed[0].count() == sealed[1].count() > 0
    finally:
        for store in sealed:
            store.close()


def _marked(data_dir: DataDir) -> int:
    """The size the node's high-water mark covers: every entry it acknowledged."""
    mark = MarkFile(data_dir.mark_path).read()
    assert mark is not None
    return mark.size


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
