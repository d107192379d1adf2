"""Rotating a station's ledger key (node/station/rotation.py) on a real node: RocksDB ledger,
SQLite index, key files; and a crash between any two steps, by an exception or a SIGKILL, leaves
a node that opens and verifies."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

import nacl.signing
import pytest

from admin.cli import main
from ledger.checkpoint import verify_checkpoint
from ledger.entry import parse_leaf
from ledger.errors import InputError
from ledger.keys import KEY_ROTATION
from ledger.log import Ledger, verify_log
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.seed import seed_station
from node.station import registers
from node.station.core import Station
from node.station.rotation import rotate_key
from node.web.proofs import verify_entries

OFFICER = "PEN100001"
REPO = Path(__file__).resolve().parents[3]


class Crash(Exception):
    """Stands for the process dying at that point (the files stay as they were)."""


def public(key: nacl.signing.SigningKey) -> bytes:
    return bytes(key.verify_key)


def genesis_key(data_dir: DataDir) -> bytes:
    with RocksDBLogStore.open(data_dir.ledger_path, audit=True) as store:
        return parse_leaf(store.entry(0)).decode_body().node_event.public_key


def verify(data_dir: DataDir) -> int:
    """`cctns ledger verify` on the node: its exit code (0: the log verifies)."""
    return main(["ledger", "verify", "--data-dir", str(data_dir.path), "--quiet"])


@pytest.fixture
def seeded(data_dir: DataDir) -> DataDir:
    station = Station.open(data_dir)
    try:
        seed_station(station, 30, seed=3, show_progress=False)
    finally:
        station.close()
    return data_dir


def test_rotation_on_a_node_then_appends_verify(
    seeded: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    old = public(seeded.load_key())
    station = Station.open(seeded)
    try:
        receipt = rotate_key(station, seeded, OFFICER, note="scheduled change")
        new = station.ledger.public_key
        registers.write_gd(station, OFFICER, "information", "Written after the rotation.")
        last = station.ledger.size() - 1
        # The case pages' "verified in ledger" marks hold on both sides of the hand-over.
        proofs = verify_entries(station, [1, receipt.index, last])
        assert proofs.ok and all(entry.ok for entry in proofs.entries.values())
        assert station.index.indexed_size() == station.ledger.size()
    finally:
        station.close()
    assert new != old and public(seeded.load_key()) == new
    assert not seeded.next_key_path.exists()  # the old key is gone, nothing left over
    assert stat.S_IMODE(seeded.key_path.stat().st_mode) == 0o600
    with RocksDBLogStore.open(seeded.ledger_path, audit=True) as store:
        body = parse_leaf(store.entry(receipt.index)).decode_body()
        assert body.node_event.kind == KEY_ROTATION and body.officer_id == OFFICER
        assert (body.node_event.previous_key, body.node_event.public_key) == (old, new)
        report = verify_log(store, genesis_key(seeded), station.config.origin)
        assert report.size == last + 1 and report.keys.handover_indexes() == [receipt.index]
        verify_checkpoint(store.latest_checkpoint()[1], new, station.config.origin)  # type: ignore[index]
    capsys.readouterr()
    assert verify(seeded) == 0
    assert "1 key hand-over" in capsys.readouterr().out


def test_rotation_refuses_a_bad_officer_and_writes_nothing(seeded: DataDir) -> None:
    station = Station.open(seeded)
    try:
        size = station.ledger.size()
        with pytest.raises(InputError):
            rotate_key(station, seeded, "")
        assert station.ledger.size() == size and not seeded.next_key_path.exists()
    finally:
        station.close()


def test_crash_before_the_handover_forgets_the_new_key(
    seeded: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = public(seeded.load_key())
    station = Station.open(seeded)

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(Ledger, "rotate_key", crash)
    try:
        with pytest.raises(Crash):
            rotate_key(station, seeded, OFFICER)
    finally:
        station.close()
    monkeypatch.undo()
    assert seeded.next_key_path.exists()  # step 1 done, nothing more
    assert verify(seeded) == 0
    reopened = Station.open(seeded)
    try:
        assert reopened.ledger.public_key == old and not seeded.next_key_path.exists()
        registers.write_gd(reopened, OFFICER, "information", "Still under the old key.")
    finally:
        reopened.close()
    assert verify(seeded) == 0


def test_crash_after_the_handover_finishes_the_rotation(
    seeded: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = public(seeded.load_key())
    station = Station.open(seeded)

    def crash(self: DataDir, public_key: bytes | None) -> nacl.signing.SigningKey:
        raise Crash

    monkeypatch.setattr(DataDir, "key_in_force", crash)
    try:
        with pytest.raises(Crash):
            rotate_key(station, seeded, OFFICER)
        new = station.ledger.public_key
    finally:
        station.close()
    monkeypatch.undo()
    assert public(seeded.load_key()) == old and seeded.next_key_path.exists()
    assert verify(seeded) == 0  # read-only: the pending key is the log's key in force
    reopened = Station.open(seeded)
    try:
        assert reopened.ledger.public_key == new == public(seeded.load_key())
        registers.write_gd(reopened, OFFICER, "information", "Under the new key.")
    finally:
        reopened.close()
    assert not seeded.next_key_path.exists()
    assert verify(seeded) == 0


@pytest.mark.slow  # a real process, killed
@pytest.mark.parametrize("step", ["after-new-key", "after-handover"])
def test_rotation_killed_mid_way_leaves_a_node_that_opens_and_verifies(
    seeded: DataDir, step: str
) -> None:
    old = public(seeded.load_key())
    with RocksDBLogStore.open(seeded.ledger_path) as store:
        size = store.size()
    result = subprocess.run(
        [sys.executable, "-m", "tests.node.station.rotation_crash", str(seeded.path), step],
        cwd=REPO,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert seeded.next_key_path.exists() and public(seeded.load_key()) == old
    with RocksDBLogStore.open(seeded.ledger_path, audit=True) as store:
        assert store.size() == (size if step == "after-new-key" else size + 1)
    assert verify(seeded) == 0
    station = Station.open(seeded)
    try:
        handed_over = station.ledger.public_key != old
        registers.write_gd(station, OFFICER, "information", "After the crash.")
    finally:
        station.close()
    assert handed_over == (step == "after-handover")
    assert not seeded.next_key_path.exists()
    assert verify(seeded) == 0
