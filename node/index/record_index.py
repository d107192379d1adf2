"""The query index: a SQL projection of one node's log, for searches and numbering.

The log is the truth. The index only ever derives rows from ledger entries, in ledger order, so
dropping the tables and applying the same entries again gives identical rows (`snapshot`). It
never writes to the ledger, and it never decides what is valid: entries reach it already
validated, signed and durable.

Any SQLAlchemy URL works: a SQLite file by default (WAL journal, synchronous=NORMAL), PostgreSQL
for district, state and national nodes. Each `apply` call is one transaction that also moves the
stored `indexed_size`, so a crash never leaves half an entry indexed.

The index's four jobs each have a module: `schema` (the tables), `projection` (entries to rows),
`search` (persons, vehicles, property: `RecordIndex.search`) and `lookups` (numbering and
records by reference: `RecordIndex.lookups`). Extensions (casework, services) bring their own
tables through `Projection`; the owner of the index says which (`Station.open`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.errors import StoreError
from node.index import projection as projecting
from node.index.lookups import Lookups
from node.index.projection import Batch, IndexedEntry, Projection
from node.index.schema import SCHEMA_VERSION, index_meta, metadata, read_meta, set_meta
from node.index.search import Search
from protos import ledger_pb2


class RecordIndex:
    """The SQL projection of one node's log. Single writer; readers may be concurrent."""

    def __init__(self, url: str, projections: Sequence[Projection] = ()) -> None:
        """Opens (creating its tables) the index at `url`, with the core tables and those of
        `projections`."""
        self.projections: tuple[Projection, ...] = tuple(projections)
        self._engine: Engine = sa.create_engine(url)
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", sqlite_pragmas)
        self.search = Search(self._engine)
        self.lookups = Lookups(self._engine)
        try:
            self._create()
        except sa.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open the index at {url!r}: {exc}") from exc

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for read-only queries of projections and reports."""
        return self._engine

    def _create(self) -> None:
        if self._older_shape():
            # Written by an older version: rows are derived data, so project the ledger again
            # (the owner's sync_index does, from indexed_size 0) rather than migrate them.
            self._drop_tables()
        metadata.create_all(self._engine)
        for projection in self.projections:
            projection.metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            present = {r[0] for r in conn.execute(sa.select(index_meta.c.key))}
            defaults = (
                ("indexed_size", 0),
                ("next_name_id", 1),
                ("schema", SCHEMA_VERSION),
                ("tail_fingerprint", 0),  # 0: not known (an index written before it was kept)
            )
            for key, value in defaults:
                if key not in present:
                    conn.execute(index_meta.insert().values(key=key, value=value))
            projecting.backfill_name_tokens(conn)

    def close(self) -> None:
        """Releases the database connections."""
        self._engine.dispose()

    def drop_all(self) -> None:
        """Drops every table and creates them again empty (indexed_size() becomes 0)."""
        self._drop_tables()
        self.search.reset()
        self._create()

    def _drop_tables(self) -> None:
        for projection in self.projections:
            projection.metadata.drop_all(self._engine)
        metadata.drop_all(self._engine)

    def _older_shape(self) -> bool:
        """Whether the database holds an index written with another SCHEMA_VERSION (an index
        from before versions were recorded has none)."""
        if not sa.inspect(self._engine).has_table(index_meta.name):
            return False
        with self._engine.connect() as conn:
            stored = conn.execute(
                sa.select(index_meta.c.value).where(index_meta.c.key == "schema")
            ).scalar()
        return stored != SCHEMA_VERSION

    # -- applying --------------------------------------------------------------------------------

    def indexed_size(self) -> int:
        """How many ledger entries (0..n-1) have been applied."""
        with self._engine.connect() as conn:
            return read_meta(conn, "indexed_size")

    def tail_fingerprint(self) -> int:
        """`entry_fingerprint` of the last entry applied (0 when none is, or the index was
        written before it was kept)."""
        with self._engine.connect() as conn:
            return read_meta(conn, "tail_fingerprint")

    def apply(self, entries: Sequence[IndexedEntry]) -> None:
        """Projects `entries`, which must continue the log from indexed_size(), in one
        transaction. Entries already applied are skipped; a gap raises StoreError."""
        try:
            with self._engine.begin() as conn:
                size = read_meta(conn, "indexed_size")
                batch = Batch(next_name_id=read_meta(conn, "next_name_id"))
                expected = size
                last: IndexedEntry | None = None
                for entry in entries:
                    if entry.index < expected:
                        continue
                    if entry.index != expected:
                        raise StoreError(
                            f"index gap: expected ledger entry {expected}, got {entry.index}"
                        )
                    projecting.project(conn, batch, entry.index, entry.body)
                    for projection in self.projections:
                        projection.project(conn, entry.index, entry.body)
                    expected += 1
                    last = entry
                if last is None:
                    return
                batch.flush(conn)
                batch.flush_tokens(conn)
                set_meta(conn, "indexed_size", expected)
                set_meta(conn, "tail_fingerprint", entry_fingerprint(last.body))
                set_meta(conn, "next_name_id", batch.next_name_id)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"index update failed: {exc}") from exc

    def snapshot(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Every table's rows in primary-key order, for comparing a rebuild with the original."""
        out: list[tuple[str, list[tuple[Any, ...]]]] = []
        tables = list(metadata.sorted_tables)
        for projection in self.projections:
            tables.extend(projection.metadata.sorted_tables)
        with self._engine.connect() as conn:
            for table in tables:
                stmt = sa.select(table).order_by(*table.primary_key.columns)
                out.append((table.name, [tuple(r) for r in conn.execute(stmt)]))
        return out


def entry_fingerprint(body: ledger_pb2.EntryBody) -> int:
    """56 bits of the SHA-256 of an entry's body, never 0: the index keeps the last applied
    entry's, and its owner compares it with the ledger's entry at that position on opening (an
    index of another log of the same length is refused, not read as this log's)."""
    digest = hashlib.sha256(body.SerializeToString(deterministic=True)).digest()
    return int.from_bytes(digest[:7], "big") | 1


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


__all__ = ["IndexedEntry", "Projection", "RecordIndex", "entry_fingerprint"]
