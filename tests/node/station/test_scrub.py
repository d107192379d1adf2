"""The storage scrub: damage in a node's data files found by reading them back, not when a record
happens to be read. Real RocksDB and SQLite files, damaged on disk; the node at work in a real
process for the runtime's scrub (its alert, and the log taking no more entries)."""

from __future__ import annotations

import html
import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from ledger.errors import StoreError, TamperError
from ledger.rocksdb_store import RocksDBLogStore, node_key
from node.config import DataDir
from node.demo.seed import seed_station
from node.station.core import Station
from node.station.scrub import ScrubPass, StorageAlerts, alert_on_failure
from tests.ledger.store_conformance import raw_column_families
from tests.processes import run_cctns
from tests.web.browser import create_station, csrf_from, serve

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-scrub"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A station with 300 seeded records, closed (its log flushed into table files)."""
    data_dir = DataDir(tmp_path_factory.mktemp("scrub") / "station")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    try:
        seed_station(station, 300, seed=3, show_progress=False)
    finally:
        station.close()
    return data_dir.path


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> DataDir:
    copy = tmp_path / "station"
    # A plain copy keeps the index's absolute path pointing at the template: fine for reads.
    _copy_tree(template, copy)
    return DataDir(copy)


def _copy_tree(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(path.read_bytes())


def _run(scrub: ScrubPass) -> int:
    try:
        while not scrub.step():
            pass
        return scrub.finish().size
    finally:
        scrub.close()


def damage_largest_table(ledger: Path) -> Path:
    """Flips one bit a third of the way into the ledger's largest table file (`*.sst`)."""
    table = max(ledger.glob("*.sst"), key=lambda path: path.stat().st_size)
    data = bytearray(table.read_bytes())
    data[len(data) // 3] ^= 0x10
    table.write_bytes(bytes(data))
    return table


def test_scrub_passes_a_sound_store_beside_the_running_station(data_dir: DataDir) -> None:
    station = Station.open(data_dir)  # holds RocksDB's lock: the scrub reads beside it
    try:
        size = station.ledger.size()
        assert _run(ScrubPass(data_dir, chunk=64)) == size
    finally:
        station.close()


def test_scrub_finds_a_damaged_table_file_the_station_opens_with(data_dir: DataDir) -> None:
    damage_largest_table(data_dir.ledger_path)
    station = Station.open(data_dir)  # nothing at open reads the damaged block
    try:
        scrub = ScrubPass(data_dir)
        with pytest.raises(TamperError, match="checksum mismatch") as caught:
            _run(scrub)
        assert scrub.store == "ledger"
        assert caught.value.index is not None and caught.value.index < station.ledger.size()
    finally:
        station.close()


def test_scrub_finds_a_damaged_sealed_identity_store(data_dir: DataDir) -> None:
    sealed = data_dir.path / "sealed" / "identities.sqlite3"
    data = bytearray(sealed.read_bytes())
    data[4096:8192] = b"\x5a" * 4096  # page 2: the table's root
    sealed.write_bytes(bytes(data))
    scrub = ScrubPass(data_dir)
    with pytest.raises(StoreError, match="damaged"):
        _run(scrub)
    assert scrub.store == "sealed/identities.sqlite3"


def test_scrub_alerts_are_kept_owner_only_and_listed(data_dir: DataDir) -> None:
    alerts = StorageAlerts(data_dir)
    assert alerts.all() == []
    with pytest.raises(StoreError), alert_on_failure(data_dir, "ledger"):
        raise StoreError("store at /srv/x is corrupted")
    first = alerts.add("sealed/identities.sqlite3", "damaged")
    assert [a.store for a in alerts.all()] == ["ledger", "sealed/identities.sqlite3"]
    assert alerts.all()[1] == first
    assert "corrupted" in alerts.all()[0].detail
    assert stat.S_IMODE(alerts.path.stat().st_mode) == 0o600


# -- the node at work ----------------------------------------------------------------------------


def _post_gd(client: httpx.Client, summary: str) -> httpx.Response:
    form = client.get("/gd/new")
    return client.post(
        "/gd/new",
        data={"category": "arrival", "summary": summary, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )


@pytest.mark.slow  # a real node process
def test_scrub_at_work_reports_damage_and_stops_writes(tmp_path: Path) -> None:
    path = create_station(tmp_path / "station", records=200)
    data_dir = DataDir(path)
    alerts = StorageAlerts(data_dir)
    pace = ("--scrub-rate", "100000", "--scrub-interval", "0.2")
    with serve(path, command="web", extra=pace) as node, node.client() as client:
        node.login(client)
        assert _post_gd(client, "before the damage").status_code == 303
        damage_largest_table(data_dir.ledger_path)
        deadline = time.monotonic() + 60
        while not alerts.all():
            assert node.process.poll() is None, node.log.read_text()
            assert time.monotonic() < deadline, "the scrub found nothing"
            time.sleep(0.2)
        refused = _post_gd(client, "after the damage")
        assert refused.status_code == 503
        page = html.unescape(refused.text)
        assert "storage unavailable" in page
        assert str(tmp_path) not in page
        assert client.get("/gd").status_code == 200
    (alert,) = alerts.all()
    assert alert.store == "ledger" and "checksum mismatch" in alert.detail
    log = node.log.read_text()
    assert "STORAGE FAULT in ledger" in log and "takes no more entries" in log

    listed = run_cctns("node", "alerts", "--data-dir", str(path), "--json")
    assert listed.returncode == 3, listed.stderr
    found, unreadable = json.loads(listed.stdout)  # what the scrub found; the log, read now
    assert found["kind"] == "storage" and found["store"] == "ledger"
    assert unreadable["store"] == "ledger" and "cannot be read" in unreadable["detail"]
    with RocksDBLogStore.open(data_dir.ledger_path, audit=True) as store:
        assert b"before the damage" in store.entry(store.size() - 1)  # nothing written after


@pytest.mark.slow  # a real node process
def test_scrub_damage_found_at_start_is_refused_and_alerted(tmp_path: Path) -> None:
    path = create_station(tmp_path / "station", records=50)
    data_dir = DataDir(path)
    with RocksDBLogStore.open(data_dir.ledger_path) as store:
        level = store.size().bit_length() - 1
    with raw_column_families(data_dir.ledger_path) as families:
        families["tree"][node_key(level, 0)] = bytes(32)  # the root's largest subtree, damaged
    started = run_cctns("node", "web", "--data-dir", str(path), "--http", "127.0.0.1:0")
    assert started.returncode == 3, started.stderr
    assert started.stdout == ""  # never ready
    (line,) = [text for text in started.stderr.splitlines() if text.startswith("error:")]
    assert "does not match the stored tree" in line and "Traceback" not in started.stderr
    (alert,) = StorageAlerts(data_dir).all()
    assert alert.store == "ledger" and "does not match the stored tree" in alert.detail
