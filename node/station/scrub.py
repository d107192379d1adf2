"""The node's scrub: what is on its disk read back and checked, slowly, while it serves.

Without it a damaged table file, or a flipped bit in an old entry, is found only when someone
reads that record, perhaps years later in court. A `ScrubPass` opens a read-only RocksDB
snapshot of the node's own log beside the running node (RocksDB's read-only mode takes no lock,
and brings its own block cache, so the bytes come from the files, each block's checksum checked
by RocksDB as it is read) and re-verifies the log with `ledger.log.LogVerifier`: every entry's
canonical form and signature, every stored tree node, every stored checkpoint, and the
high-water mark. Then SQLite checks every store database of the data directory (`PRAGMA
quick_check`: the sealed identities, the officer accounts; the query indexes are derived and
rebuilt, not checked). A `BlobScrub` then re-reads every blob of the blob store and hashes it
against its name (`BlobCheck`, node/station/blobs.py): a damaged photo or fingerprint slip is
recorded as an alert of its own, naming its digest, and the node goes on (its log is sound).

The pace is the caller's: `step` checks one chunk, and the runtime (`node/runtime.py`) sleeps
between chunks so that a pass reads at most its rate of entries a second (and, for blobs, one
`CHECK_CHUNK` of bytes in the time of `SCRUB_CHUNK` entries).

What a pass finds is a `StorageAlert`, appended to `<data dir>/storage-alerts.jsonl` (JSON
lines, owner-only, synced), which `cctns node alerts` lists beside equivocations. The same file
takes what a failed start found (`alert_on_failure`).

Must never: write to a store it checks; put a file path in what it tells a user (the alerts
are the operator's: they name files).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.errors import StoreError, VerificationError
from ledger.log import LogVerifier, VerifyReport, first_key, now_ms
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.station.blobs import BLOBS_DIR, RECOVERY, BlobCheck, BlobStore, DamagedBlob

log = logging.getLogger(__name__)

ALERTS_NAME = "storage-alerts.jsonl"
# Entries per step: about 6 ms of checks. The step runs on a thread beside the web server's
# requests and holds the GIL for most of it, so a request that arrives during a step waits for
# it: at 500 entries (60 ms) the register benchmark's p95 rose by about 30 ms during a pass
# (docs/web.md); at 50 the pause is below a request's own time.
SCRUB_CHUNK = 50
# The store's name in a blob's storage alert.
BLOBS_STORE = "blobs"
# The default pace: one core verifies about 8,000 entries a second (measured), so a pass at
# 1,000 a second takes an eighth of a core, and a million-entry log about 17 minutes.
SCRUB_RATE = 1000.0  # entries a second, at most
SCRUB_INTERVAL = 3600.0  # seconds from the end of one pass to the start of the next


@dataclass(frozen=True, slots=True)
class StorageAlert:
    """Damage found in a node's own storage: when, in what (a store, by its path in the data
    directory), and what was wrong."""

    at_ms: int
    store: str
    detail: str


class StorageAlerts:
    """The data directory's storage alerts: appended and synced, read by `cctns node alerts`."""

    def __init__(self, data_dir: DataDir) -> None:
        self.path = data_dir.path / ALERTS_NAME

    def add(self, store: str, detail: str) -> StorageAlert:
        """Records an alert durably; returns it. StoreError when the disk takes no more."""
        alert = StorageAlert(now_ms(), store, detail)
        line = json.dumps(asdict(alert), ensure_ascii=False) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"cannot record a storage alert in {self.path}: {exc}") from exc
        return alert

    def all(self) -> list[StorageAlert]:
        """Every alert recorded, oldest first."""
        try:
            lines = self.path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [StorageAlert(**json.loads(line)) for line in lines if line.strip()]


@contextmanager
def alert_on_failure(data_dir: DataDir, store: str) -> Iterator[None]:
    """Records damage found while opening `store` (a verification or storage error) as an
    alert, then lets the error go on: the node refuses to start and says why."""
    try:
        yield
    except (VerificationError, StoreError) as exc:
        try:
            StorageAlerts(data_dir).add(store, str(exc))
        except StoreError as unrecorded:
            log.error("%s", unrecorded)  # the refusal itself still says what was found
        raise


def check_sqlite(path: Path) -> None:
    """SQLite's own check of a database file, read-only beside its writer; StoreError listing
    what it found."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute("PRAGMA quick_check").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is damaged or unreadable: {exc}") from exc
    problems = [str(row[0]) for row in rows]
    if problems != ["ok"]:
        raise StoreError(f"{path} is damaged: {'; '.join(problems[:5])}")


class ScrubPass:
    """One pass over the node's stores. Open it, `step` until it returns True, `finish`,
    `close`. Raises VerificationError (the log is not what the node signed) or StoreError (a
    store cannot be read back, or SQLite found damage), naming the store in `store`."""

    def __init__(self, data_dir: DataDir, *, chunk: int = SCRUB_CHUNK) -> None:
        self._data_dir = data_dir
        self._chunk = chunk
        self.store = "ledger"
        config = data_dir.load_config()
        public_key = bytes(data_dir.load_key().verify_key)
        # The mark first: the node writes it after a commit is durable, so the snapshot opened
        # next holds at least what it covers.
        mark = MarkFile(data_dir.mark_path).read()
        self._log = RocksDBLogStore.open(data_dir.ledger_path, audit=True)
        try:
            self._verifier = LogVerifier(
                self._log,
                first_key(self._log, public_key),
                config.origin,
                mark=mark.note if mark else None,
            )
        except BaseException:
            self._log.close()
            raise

    @property
    def size(self) -> int:
        """The entries this pass checks (the log's size when the snapshot was opened)."""
        return self._verifier.size

    def step(self) -> bool:
        """Checks the next chunk of entries; True once all are checked."""
        return self._verifier.step(self._chunk)

    def finish(self) -> VerifyReport:
        """The log's tail, then every store database of the data directory."""
        report = self._verifier.finish()
        for path in self._data_dir.sqlite_stores():
            self.store = str(path.relative_to(self._data_dir.path))
            check_sqlite(path)
        return report

    def close(self) -> None:
        """Releases the snapshot."""
        self._log.close()


class BlobScrub:
    """One pass over the blob store: `step` until it returns True, then `close`. Each damaged
    blob is logged and recorded as a storage alert at once (store "blobs", its digest and how
    to recover), unless the last pass reported it already (`reported`): a blob stays damaged
    until its operator replaces it, and one alert per blob per process is enough. Raises
    nothing for damage: the log is sound, and the node goes on serving it."""

    def __init__(self, data_dir: DataDir, *, reported: frozenset[str] = frozenset()) -> None:
        # Not BlobStore.open: that makes the directory, and a scrub writes nothing it checks.
        self._check = BlobCheck(BlobStore(data_dir.path / BLOBS_DIR))
        self._alerts = StorageAlerts(data_dir)
        self._reported = reported
        self._told = 0

    @property
    def damaged(self) -> frozenset[str]:
        """The digests of the blobs this pass found damaged so far."""
        return frozenset(found.digest for found in self._check.damaged)

    def step(self) -> bool:
        """Hashes the next chunk of blob bytes; True once every blob is checked."""
        try:
            done = self._check.step()
        except StoreError as exc:  # the listing failed: what is left waits for the next pass
            log.error("STORAGE FAULT in %s: %s", BLOBS_STORE, exc)
            self._record(str(exc))
            return True
        for found in self._check.damaged[self._told :]:
            self._alert(found)
        self._told = len(self._check.damaged)
        if done:
            log.info(
                "scrub: %d blobs (%d bytes) re-hashed, %d damaged",
                self._check.checked,
                self._check.read,
                len(self._check.damaged),
            )
        return done

    def close(self) -> None:
        """Releases the blob being read."""
        self._check.close()

    def _alert(self, found: DamagedBlob) -> None:
        log.error("STORAGE FAULT in %s: %s", BLOBS_STORE, found)
        if found.digest not in self._reported:
            self._record(
                f"{found}. The log is sound: only this blob is damaged. To recover, {RECOVERY}"
            )

    def _record(self, detail: str) -> None:
        try:
            self._alerts.add(BLOBS_STORE, detail)
        except StoreError as unrecorded:
            log.error("%s", unrecorded)


__all__ = [
    "ALERTS_NAME",
    "BLOBS_STORE",
    "SCRUB_CHUNK",
    "SCRUB_INTERVAL",
    "SCRUB_RATE",
    "BlobScrub",
    "ScrubPass",
    "StorageAlert",
    "StorageAlerts",
    "alert_on_failure",
    "check_sqlite",
]
