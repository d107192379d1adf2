"""The scrub of the blob store: every photo and fingerprint slip read back from its file and
hashed against its name, in bounded steps. Real files in a real station's data directory,
damaged on disk; the runtime's scrub beside an open station, whose log goes on taking entries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from node.config import DataDir
from node.runtime import ScrubPace, scrub_forever
from node.station import registers
from node.station.blobs import BLOBS_DIR, CHECK_CHUNK, BlobCheck, BlobStore
from node.station.core import Station
from node.station.scrub import BLOBS_STORE, BlobScrub, StorageAlerts
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-blob-scrub"
OFFICER = "PEN100200"
SLIP = os.urandom(3 * CHECK_CHUNK + 12_345)  # a ten-print scan: read over several steps
TEMPLATES = [os.urandom(700 + n) for n in range(40)]  # MCC1 templates: a few hundred bytes


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    """A station with a scan and forty templates in its blob store (closed)."""
    data_dir = DataDir(tmp_path / "station")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    try:
        registers.register_fir(station, OFFICER, theft_fir())
        station.blobs.put(SLIP, "image/png")
        for template in TEMPLATES:
            station.blobs.put(template, "application/x-mcc1")
    finally:
        station.close()
    return data_dir


def _file(data_dir: DataDir, digest: str) -> Path:
    return data_dir.path / BLOBS_DIR / digest[:2] / digest[2:4] / digest


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_blob_check_passes_a_sound_store_in_bounded_steps(data_dir: DataDir) -> None:
    check = BlobCheck(BlobStore(data_dir.path / BLOBS_DIR), chunk=256 * 1024)
    steps, before = 0, 0
    while not check.step():
        steps += 1
        assert check.read - before <= 256 * 1024 + 16 * 1024  # a step ends within its chunk
        before = check.read
    assert check.damaged == []
    assert check.checked == 1 + len(TEMPLATES)
    assert check.read == len(SLIP) + sum(map(len, TEMPLATES))
    assert steps >= len(SLIP) // (256 * 1024)


def test_blob_scrub_alerts_each_damaged_blob_by_its_digest(data_dir: DataDir) -> None:
    slip = BlobStore.open(data_dir.path / BLOBS_DIR).put(SLIP, "image/png")
    template = BlobStore.open(data_dir.path / BLOBS_DIR).put(TEMPLATES[7], "application/x-mcc1")
    _flip(_file(data_dir, slip), 2 * CHECK_CHUNK + 5)  # one bit, deep in the scan
    _file(data_dir, template).write_bytes(TEMPLATES[7][:100])  # a template cut short
    scrub = BlobScrub(data_dir)
    try:
        while not scrub.step():
            pass
    finally:
        scrub.close()
    assert scrub.damaged == {slip, template}
    alerts = StorageAlerts(data_dir).all()
    assert {alert.store for alert in alerts} == {BLOBS_STORE}
    by_digest = {d: a.detail for a in alerts for d in (slip, template) if d in a.detail}
    assert set(by_digest) == {slip, template} and len(alerts) == 2
    assert "100 bytes hashing to" in by_digest[template]
    assert f"blobs/{slip[:2]}/{slip[2:4]}/{slip}" in by_digest[slip]
    assert "backup" in by_digest[slip] and "parent" in by_digest[slip]

    # The next pass finds them again but does not alert twice; a repaired blob is sound.
    _file(data_dir, template).write_bytes(TEMPLATES[7])
    again = BlobScrub(data_dir, reported=scrub.damaged)
    while not again.step():
        pass
    assert again.damaged == {slip}
    assert len(StorageAlerts(data_dir).all()) == 2


def test_blob_scrub_at_work_alerts_and_the_log_goes_on(data_dir: DataDir) -> None:
    digest = BlobStore.open(data_dir.path / BLOBS_DIR).put(SLIP, "image/png")
    _flip(_file(data_dir, digest), 10)
    station = Station.open(data_dir)
    alerts = StorageAlerts(data_dir)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(scrub_forever, data_dir, station, ScrubPace(1e6, 0.05))
            for _ in range(600):  # a file another thread writes: looked at, 30 s at most
                if alerts.all():
                    break
                await trio.sleep(0.05)
            await trio.sleep(0.5)  # several more passes
            nursery.cancel_scope.cancel()

    try:
        trio.run(main)
        (alert,) = alerts.all()  # once, not once a pass
        assert alert.store == BLOBS_STORE and digest in alert.detail
        assert station.ledger.halted is None
        registers.register_fir(station, OFFICER, theft_fir())  # the log takes entries
    finally:
        station.close()
