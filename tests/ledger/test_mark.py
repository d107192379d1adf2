"""The high-water mark: a store that lost acknowledged entries is caught on open and by
`verify_log`, on real RocksDB files, including the finding itself (one byte flipped in the
write-ahead log of a writer killed with SIGKILL)."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nacl.signing
import pytest

from ledger.errors import EntriesLost, EquivocationError, StoreError, TamperError
from ledger.log import Ledger, verify_log
from ledger.mark import MARK_BYTES, HighWaterMark, MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import MemoryLogStore
from protos import ledger_pb2
from tests.ledger.crash_writer import mark_path
from tests.processes import REPO

ORIGIN = "cctns.in/test/mark/ps-1"
SEED = bytes(range(7, 39))
KEY = nacl.signing.SigningKey(SEED)
PUBLIC = bytes(KEY.verify_key)


def _bodies(count: int, tag: str = "e") -> list[ledger_pb2.EntryBody]:
    return [
        ledger_pb2.EntryBody(
            officer_id="PEN1", node_event=ledger_pb2.NodeEvent(kind="mark-test", note=f"{tag}{n}")
        )
        for n in range(count)
    ]


def _write(db: Path, batches: list[int], *, key: nacl.signing.SigningKey = KEY) -> int:
    """Appends `batches` (group commits of these sizes) to the store in `db` with its mark."""
    with RocksDBLogStore.open(db) as store:
        ledger = Ledger(store, key, ORIGIN, mark=MarkFile(mark_path(db)))
        for count in batches:
            ledger.append_many(_bodies(count))
        ledger.close()
        return store.size()


def test_mark_file_round_trip_fixed_length_owner_only(tmp_path: Path) -> None:
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN)
    ledger.append_many(_bodies(12))
    note = ledger.checkpoint()
    marks = MarkFile(tmp_path / "log.mark")
    assert marks.read() is None
    marks.write(HighWaterMark.of(note))
    marks.close()
    path = tmp_path / "log.mark"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == MARK_BYTES
    assert MarkFile(path).read() == HighWaterMark(12, note)
    # A shorter note later (a mark for a smaller size) leaves nothing of the longer one.
    short = Ledger(MemoryLogStore(), KEY, ORIGIN)
    short.append(_bodies(1)[0])
    again = MarkFile(path)
    again.write(HighWaterMark.of(short.checkpoint()))
    again.close()
    assert MarkFile(path).read() == HighWaterMark(1, short.checkpoint())
    assert path.stat().st_size == MARK_BYTES


def test_mark_file_damaged_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "log.mark"
    path.write_bytes(b"not a note\n")
    with pytest.raises(StoreError, match=r"high-water mark .* is damaged"):
        MarkFile(path).read()


def test_mark_follows_every_commit(tmp_path: Path) -> None:
    store = MemoryLogStore()
    marks = MarkFile(tmp_path / "log.mark")
    ledger = Ledger(store, KEY, ORIGIN, mark=marks)
    for count in (1, 5, 70):
        ledger.append_many(_bodies(count))
        latest = store.latest_checkpoint()
        assert latest is not None
        assert MarkFile(tmp_path / "log.mark").read() == HighWaterMark(*latest)


def test_mark_older_copy_of_the_store_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _write(db, [1, 10])
    old = tmp_path / "old-copy"
    shutil.copytree(db, old)
    size = _write(db, [3, 40, 2])
    shutil.rmtree(db)
    shutil.copytree(old, db)  # an older copy put back, beside the current mark
    with RocksDBLogStore.open(db) as store:
        assert store.size() == 11  # it agrees with itself: nothing inside the store notices
        verify_log(store, PUBLIC, ORIGIN)
        with pytest.raises(EntriesLost) as caught:
            Ledger(store, KEY, ORIGIN, mark=MarkFile(mark_path(db)))
        note = MarkFile(mark_path(db)).read()
        assert note is not None
        with pytest.raises(EntriesLost) as verified:
            verify_log(store, PUBLIC, ORIGIN, mark=note.note)
    assert (caught.value.held, caught.value.acknowledged, caught.value.missing) == (11, size, 45)
    assert caught.value.index == 11
    assert "45 acknowledged entries are missing" in str(caught.value)
    assert "cctns node serve" in str(caught.value)
    assert verified.value.missing == 45


def test_mark_behind_the_store_is_brought_up(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _write(db, [1, 4])
    early = mark_path(db).read_bytes()
    _write(db, [6])
    mark_path(db).write_bytes(early)  # a mark that lags (power cut before writeback)
    with RocksDBLogStore.open(db) as store:
        ledger = Ledger(store, KEY, ORIGIN, mark=MarkFile(mark_path(db)))
        ledger.close()
        latest = store.latest_checkpoint()
    assert MarkFile(mark_path(db)).read() == HighWaterMark(11, latest[1] if latest else b"")


def test_mark_across_a_key_rotation(tmp_path: Path) -> None:
    """The mark follows a rotation (its note signed by the new key); a mark left behind by a
    crash right after the rotation's commit (signed by the old key) is still this log's, and
    is brought up; `verify_log` checks the mark with the key in force at its size."""
    db = tmp_path / "db"
    new = nacl.signing.SigningKey(bytes(range(40, 72)))
    _write(db, [3])
    before_rotation = mark_path(db).read_bytes()
    with RocksDBLogStore.open(db) as store:
        ledger = Ledger(store, KEY, ORIGIN, mark=MarkFile(mark_path(db)))
        ledger.rotate_key(new, officer_id="system")
        ledger.append_many(_bodies(2))
        ledger.close()
        latest = store.latest_checkpoint()
        assert latest is not None
        assert MarkFile(mark_path(db)).read() == HighWaterMark(*latest)
        mark_path(db).write_bytes(before_rotation)  # the crash: the mark never moved on
        reopened = Ledger(store, new, ORIGIN, mark=MarkFile(mark_path(db)))
        reopened.close()
        assert MarkFile(mark_path(db)).read() == HighWaterMark(*latest)
        held = MarkFile(mark_path(db)).read()
        assert held is not None
        report = verify_log(store, PUBLIC, ORIGIN, mark=held.note)
    assert report.size == latest[0] and len(report.keys.eras) == 2


@pytest.mark.parametrize(
    ("signer", "error", "match"),
    [
        (KEY, EquivocationError, "first 6 entries"),  # this key, signing other entries
        (nacl.signing.SigningKey(bytes(32)), TamperError, "mark is not signed by this log's key"),
    ],
    ids=["another history", "another key"],
)
def test_mark_not_this_logs_is_refused(
    tmp_path: Path, signer: nacl.signing.SigningKey, error: type[Exception], match: str
) -> None:
    _write(tmp_path / "real", [1, 9])
    other = Ledger(MemoryLogStore(), signer, ORIGIN)
    other.append_many(_bodies(6, tag="forged"))
    mark_path(tmp_path / "real").write_bytes(other.checkpoint())
    with (
        RocksDBLogStore.open(tmp_path / "real") as store,
        pytest.raises(error, match=match),
    ):
        Ledger(store, KEY, ORIGIN, mark=MarkFile(mark_path(tmp_path / "real")))


def test_mark_unwritable_acknowledges_then_halts(tmp_path: Path) -> None:
    # No mark yet, in a folder that is not there: reading finds none, every write fails.
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN, mark=MarkFile(tmp_path / "gone" / "log.mark"))
    written = ledger.append(_bodies(1)[0])  # durable in the store: acknowledged
    assert written.index == 0 and ledger.size() == 1
    assert ledger.halted is not None and "high-water mark" in ledger.halted
    with pytest.raises(StoreError, match="takes no more entries"):
        ledger.append(_bodies(1)[0])
    assert ledger.size() == 1


def test_mark_halt_stops_appends(tmp_path: Path) -> None:
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN)
    ledger.append(_bodies(1)[0])
    ledger.halt("the scrub found entry 0 damaged")
    with pytest.raises(StoreError, match="takes no more entries: the scrub found entry 0"):
        ledger.append_many(_bodies(3))
    assert ledger.size() == 1


# -- the finding: one flipped byte in the write-ahead log --------------------------------------


def _killed_writer(db: Path, key_file: Path, out: Path, entries: int) -> int:
    """Runs the crash writer until it acknowledged at least `entries`, then SIGKILLs it (no
    flush: everything since its open is in RocksDB's write-ahead log). Returns the count."""
    command = [sys.executable, "-m", "tests.ledger.crash_writer", str(db), str(key_file)]
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [*command, ORIGIN, "w"],
            cwd=REPO,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while len(out.read_bytes().splitlines()) <= entries:
            assert process.poll() is None, "the writer exited"
            assert time.monotonic() < deadline, "the writer acknowledged too little"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    acknowledged = [line for line in out.read_text().splitlines()[1:] if len(line.split()) == 3]
    return len(acknowledged)


def flip_wal_byte(ledger_dir: Path, fraction: float = 0.5) -> Path:
    """Flips one bit in the middle of RocksDB's largest write-ahead log file (`*.log`)."""
    wal = max(ledger_dir.glob("*.log"), key=lambda path: path.stat().st_size)
    data = bytearray(wal.read_bytes())
    data[int(len(data) * fraction)] ^= 0x01
    wal.write_bytes(bytes(data))
    return wal


@pytest.mark.slow  # a real writer process, killed
def test_mark_catches_a_flipped_wal_byte(tmp_path: Path) -> None:
    db = tmp_path / "db"
    key_file = tmp_path / "key.hex"
    key_file.write_text(SEED.hex())
    _write(db, [1])  # the genesis-like first entry, flushed to a table file on close
    acknowledged = 1 + _killed_writer(db, key_file, tmp_path / "writer.out", 300)
    flip_wal_byte(db)

    with RocksDBLogStore.open(db) as store:
        held = store.size()
        assert held < acknowledged  # RocksDB replayed the log only up to the damage
        # The finding: what is left agrees with itself, so verification alone says "ok".
        verify_log(store, PUBLIC, ORIGIN)
        with pytest.raises(EntriesLost) as caught:
            Ledger(store, KEY, ORIGIN, mark=MarkFile(mark_path(db)))
        mark = MarkFile(mark_path(db)).read()
        assert mark is not None and mark.size >= acknowledged
        with pytest.raises(EntriesLost):
            verify_log(store, PUBLIC, ORIGIN, mark=mark.note)
    assert caught.value.held == held
    assert caught.value.missing == mark.size - held
