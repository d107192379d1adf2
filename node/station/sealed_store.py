"""The station's sealed store: the clear identities behind the commitments in its entries.

Never replicated, never sent to another node except by a logged disclosure
(`node.station.disclosure`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import sqlalchemy as sa

from ledger.errors import StoreError
from node.index import migrations
from node.records.sealing import SealedIdentity
from protos import records_pb2

STORE_NAME = "identities.sqlite3"


class SealedStore:
    """The station's local store of sealed identities, keyed by commitment. Never replicated.

    A SQLite file (`<data dir>/sealed/identities.sqlite3`, owner-only) written with a full sync
    before the entry that carries the commitment is appended: an acknowledged entry's identity
    is never lost. Rows of entries whose append then failed are harmless (random salt, no entry
    refers to them). `SealedStore.memory()` is for tests and tools.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path | None = None) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS sealed ("
                " commitment BLOB PRIMARY KEY,"
                " salt BLOB NOT NULL,"
                " identity BLOB NOT NULL,"
                " record_ref TEXT NOT NULL,"
                " person_id TEXT NOT NULL)"
            )

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> SealedStore:
        """Opens (creating) the store in `directory`."""
        folder = Path(directory)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
            path = folder / STORE_NAME
            _migrate(path)
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.isolation_level = "DEFERRED"
            os.chmod(path, 0o600)
        except (OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
            raise StoreError(f"cannot open the sealed identity store in {folder}: {exc}") from exc
        return cls(connection, path)

    @classmethod
    def memory(cls) -> SealedStore:
        """A store that lives only as long as the process (tests, tools)."""
        return cls(sqlite3.connect(":memory:", check_same_thread=False))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put_many(self, items: Sequence[SealedIdentity]) -> None:
        """Keeps identities durably (one synced transaction)."""
        if not items:
            return
        rows = [
            (
                item.commitment,
                item.salt,
                item.identity.SerializeToString(deterministic=True),
                item.record_ref,
                item.person_id,
            )
            for item in items
        ]
        try:
            with self._lock, self._db:
                self._db.executemany("INSERT OR REPLACE INTO sealed VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise StoreError(f"sealed identities not stored: {exc}") from exc

    def get(self, commitment: bytes) -> SealedIdentity | None:
        """The sealed identity behind `commitment`, or None when this station does not hold it."""
        with self._lock:
            row = self._db.execute(
                "SELECT commitment, salt, identity, record_ref, person_id FROM sealed"
                " WHERE commitment = ?",
                (bytes(commitment),),
            ).fetchone()
        if row is None:
            return None
        identity = records_pb2.Person()
        identity.ParseFromString(row[2])
        return SealedIdentity(bytes(row[0]), bytes(row[1]), identity, str(row[3]), str(row[4]))

    def get_many(self, commitments: Iterable[bytes]) -> list[SealedIdentity]:
        """The identities this station holds among `commitments`, in the order given."""
        found = (self.get(c) for c in commitments)
        return [item for item in found if item is not None]

    def by_prefix(self, prefix: bytes) -> list[SealedIdentity]:
        """The identities whose commitment starts with `prefix`: what a placeholder in text or
        an audit entry names (`[withheld:1a2b3c4d]`: its first 4 bytes), to find the commitment
        a disclosure needs."""
        with self._lock:
            rows = self._db.execute(
                "SELECT commitment FROM sealed WHERE substr(commitment, 1, ?) = ?",
                (len(prefix), bytes(prefix)),
            ).fetchall()
        return self.get_many(bytes(row[0]) for row in rows)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM sealed").fetchone()[0])


def _migrate(path: Path) -> None:
    """Brings the store's schema to the newest revision (node/index/migrations): the identities
    cannot be made again, so a change of shape is a migration, never a new file."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn, "sealed", legacy_tables=("sealed",))
    finally:
        engine.dispose()
