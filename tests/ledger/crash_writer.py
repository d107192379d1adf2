"""A ledger writer for the crash tests, run as a subprocess and killed with SIGKILL.

    python -m tests.ledger.crash_writer DB_DIR KEY_FILE ORIGIN SEED

Opens a RocksDBLogStore and a Ledger over it, with its high-water mark in DB_DIR.mark as a node
keeps one (`mark_path`), prints "ready <size>", then appends forever from a
few threads (single appends and group-committed append_many batches) and prints one line per
entry only AFTER the append that wrote it returned:

    <index> <leaf hash hex> <note>

Each line is written with one flushed write, so a line on stdout is a promise the ledger made:
that entry is durable. The test kills this process at random moments and checks every promise.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

import nacl.signing

from ledger.log import Ledger
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from protos import ledger_pb2

WRITER_THREADS = 3


def body(note: str) -> ledger_pb2.EntryBody:
    """An entry body whose note identifies it."""
    return ledger_pb2.EntryBody(
        officer_id="crash-writer", node_event=ledger_pb2.NodeEvent(kind="crash-test", note=note)
    )


def mark_path(db_dir: str | Path) -> Path:
    """Where the writer keeps the high-water mark of the log in `db_dir`."""
    return Path(f"{db_dir}.mark")


def main(argv: list[str]) -> int:
    db_dir, key_file, origin, seed = argv
    signing_key = nacl.signing.SigningKey(bytes.fromhex(Path(key_file).read_text().strip()))
    store = RocksDBLogStore.open(db_dir)
    ledger = Ledger(store, signing_key, origin, mark=MarkFile(mark_path(db_dir)))
    out_lock = threading.Lock()

    def acknowledge(lines: list[str]) -> None:
        with out_lock:
            sys.stdout.write("".join(lines))
            sys.stdout.flush()

    acknowledge([f"ready {ledger.size()}\n"])

    def writer(thread: int) -> None:
        rng = random.Random(f"{seed}/{thread}")
        count = 0
        while True:
            size = 1 if rng.random() < 0.5 else rng.randint(2, 40)
            notes = [f"{seed}/{thread}/{count + k}" for k in range(size)]
            count += size
            if size == 1:
                done = [ledger.append(body(notes[0]))]
            else:
                done = ledger.append_many([body(note) for note in notes])
            acknowledge(
                [
                    f"{a.index} {a.leaf_hash.hex()} {note}\n"
                    for a, note in zip(done, notes, strict=True)
                ]
            )
            time.sleep(rng.random() * 0.004)

    threads = [
        threading.Thread(target=writer, args=(n,), daemon=True) for n in range(WRITER_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # never returns: the test kills the process
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
