"""`cctns ledger verify` re-hashes the node's blobs after its log: real files in a real station's
data directory, damaged on disk. A damaged blob is named by its digest (exit 3), an unreadable
one too (exit 4), a sound store passes; a blob an entry names that the store lost is named with
the entry (exit 3); no progress is drawn when stderr is no terminal."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from node.config import DataDir
from node.station import registers
from node.station.blobs import BLOBS_DIR
from node.station.core import Station
from tests.admin.support import run
from tests.node.support import accused_fir, arrest_photo, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-blob-verify"
SCAN = os.urandom(2 * 1024 * 1024 + 99)


@pytest.fixture
def station_dir(tmp_path: Path) -> tuple[str, list[str]]:
    data_dir = DataDir(tmp_path / "station")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    try:
        registers.register_fir(station, "PEN100200", theft_fir())
        digests = [station.blobs.put(SCAN, "image/png")]
        digests += [station.blobs.put(os.urandom(600), "application/x-mcc1") for _ in range(3)]
    finally:
        station.close()
    return str(data_dir.path), digests


def _file(data_dir: str, digest: str) -> Path:
    return Path(data_dir) / BLOBS_DIR / digest[:2] / digest[2:4] / digest


def test_verify_passes_sound_blobs_quietly(
    station_dir: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, _ = station_dir
    code, out, err = run(capsys, "ledger", "verify", "--data-dir", data_dir)
    assert code == 0, err
    assert out.startswith("ok: ") and f"4 blobs ({len(SCAN) + 1800:,} bytes)" in out
    assert err == ""  # no progress bar: stderr is no terminal
    code, out, _ = run(capsys, "ledger", "verify", "--no-blobs", "--data-dir", data_dir)
    assert code == 0 and "blobs" not in out


def test_verify_names_a_damaged_blob_by_its_digest(
    station_dir: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, (scan, *_) = station_dir
    path = _file(data_dir, scan)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    code, out, err = run(capsys, "ledger", "verify", "--data-dir", data_dir)
    assert code == 3 and out == ""
    (damaged,) = [line for line in err.splitlines() if line.startswith("DAMAGED:")]
    assert scan in damaged and "bytes have changed" in damaged
    assert "1 of 4 blobs damaged" in err and "the log itself verifies" in err
    assert "backup" in err and "parent" in err


def test_verify_names_an_unreadable_blob(
    station_dir: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, digests = station_dir
    path = _file(data_dir, digests[2])
    path.unlink()
    path.mkdir()  # where the file was, something no read gets bytes from
    try:
        code, _, err = run(capsys, "ledger", "verify", "--data-dir", data_dir)
    finally:
        shutil.rmtree(path)
    assert code == 4
    (unreadable,) = [line for line in err.splitlines() if line.startswith("DAMAGED:")]
    assert digests[2] in unreadable and "cannot be read" in unreadable


def test_verify_names_a_blob_the_log_names_but_the_store_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = DataDir(tmp_path / "station")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    try:
        written = accused_fir("Anil Kumar", "Raghavan", 34, "Puthenveedu, Aluva")
        fir = registers.register_fir(station, "PEN100200", written)
        accused = station.index.lookups.fir(fir.ref)
        assert accused is not None
        kept = arrest_photo(station, "PEN100200", fir.ref, accused.persons[-1].person_id)
    finally:
        station.close()
    code, out, _ = run(capsys, "ledger", "verify", "--data-dir", str(data_dir.path))
    assert code == 0 and "the 1 the log names all held" in out
    _file(str(data_dir.path), kept.sha256).unlink()  # evidence lost from the disk
    code, out, err = run(capsys, "ledger", "verify", "--data-dir", str(data_dir.path))
    assert code == 3 and out == ""
    (missing,) = [line for line in err.splitlines() if line.startswith("MISSING:")]
    assert kept.sha256 in missing and f"named by entry {kept.receipt.index}" in missing
    assert "1 of the 1 blobs the log names are not held" in err
