"""Crash safety: SIGKILL a writer mid-append, again and again; nothing acknowledged is lost.

`crash_writer.py` prints each entry only after the append that wrote it returned. After every
kill the log is reopened and must hold every printed entry, byte for byte (by leaf hash), pass
the full verification, and take new appends at the right indexes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nacl.signing
import pytest

from ledger import merkle
from ledger.log import Ledger, verify_log
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from protos import ledger_pb2
from tests.ledger.crash_writer import mark_path

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "cctns.in/test/crash/ps-1"
SEED = bytes(range(32))
LIVES = 5  # fresh directories
# SIGKILLs of the writer in all (the suite's drill; `make soak` sets 100): spread over the lives.
KILLS = int(os.environ.get("CCTNS_DRILL_WRITER_KILLS", "25"))
ROUNDS_PER_LIFE = max(1, KILLS // LIVES)  # kill and recover this many times in each


@dataclass(frozen=True)
class Ack:
    index: int
    leaf_hash: bytes
    note: str


def _run_writer(db: Path, key_file: Path, out: Path, rng: random.Random, tag: str) -> list[Ack]:
    """Starts the writer, SIGKILLs it at a random moment, returns what it acknowledged."""
    with out.open("wb") as stdout, (out.with_suffix(".err")).open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ledger.crash_writer",
                str(db),
                str(key_file),
                ORIGIN,
                tag,
            ],
            cwd=REPO,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        if rng.random() < 0.2:
            time.sleep(rng.random() * 0.4)  # anywhere, even while it is still opening
        else:
            deadline = time.monotonic() + 30
            while not out.read_bytes().startswith(b"ready"):
                assert proc.poll() is None, out.with_suffix(".err").read_text()
                assert time.monotonic() < deadline, "writer never became ready"
                time.sleep(0.005)
            time.sleep(rng.random() * 0.25)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, out.with_suffix(".err").read_text()
    errors = out.with_suffix(".err").read_text()
    assert "Traceback" not in errors, errors

    acks = []
    for line in out.read_text().splitlines(keepends=True):
        if not line.endswith("\n") or line.startswith("ready"):
            continue  # a torn last line promised nothing
        index, leaf_hash, note = line.split()
        acks.append(Ack(int(index), bytes.fromhex(leaf_hash), note))
    return acks


def _check_recovered(db: Path, signing_key: nacl.signing.SigningKey, acks: list[Ack]) -> int:
    """Reopens after a kill; checks every acknowledgement, the high-water mark (covering every
    acknowledged entry, never ahead of the store), verification and further appends."""
    mark = MarkFile(mark_path(db)).read()
    if acks:
        assert mark is not None and mark.size > max(ack.index for ack in acks), mark
    with RocksDBLogStore.open(db) as store:  # create: the kill may have come before it existed
        # Refuses a log its checkpoints do not cover, and a store behind its mark.
        ledger = Ledger(store, signing_key, ORIGIN, mark=MarkFile(mark_path(db)))
        size = ledger.size()
        for ack in acks:
            assert ack.index < size, f"acknowledged entry {ack.index} lost (size {size})"
            assert merkle.leaf_hash(store.entry(ack.index)) == ack.leaf_hash, ack
            assert ledger.body(ack.index).node_event.note == ack.note, ack
        assert len({ack.index for ack in acks}) == len(acks), "an index was acknowledged twice"

        more = ledger.append_many(
            [
                ledger_pb2.EntryBody(node_event=ledger_pb2.NodeEvent(kind="after", note=str(k)))
                for k in range(3)
            ]
        )
        assert [a.index for a in more] == [size, size + 1, size + 2]
        ledger.close()
        marked = MarkFile(mark_path(db)).read()
        report = verify_log(store, ledger.public_key, ORIGIN, mark=marked.note if marked else None)
        assert report.size == size + 3
        return report.size


@pytest.mark.slow  # real writer processes, killed
def test_crash_sigkill_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    signing_key = nacl.signing.SigningKey(SEED)
    key_file = tmp_path / "key.hex"
    key_file.write_text(SEED.hex())
    rng = random.Random(os.environ.get("CCTNS_CRASH_SEED", "crash"))
    killed_with_acks = 0
    for life in range(LIVES):
        db = tmp_path / f"life{life}"
        every_ack: list[Ack] = []
        for round_ in range(ROUNDS_PER_LIFE):
            tag = f"L{life}R{round_}"
            acks = _run_writer(db, key_file, tmp_path / f"{tag}.out", rng, tag)
            killed_with_acks += bool(acks)
            every_ack.extend(acks)
            _check_recovered(db, signing_key, every_ack)
    # the kills must mostly land mid-appends, or this test proves little
    assert killed_with_acks >= LIVES * ROUNDS_PER_LIFE // 2
