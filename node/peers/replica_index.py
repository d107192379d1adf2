"""Query indexes over the verified replicas an aggregating node holds (district, state, nation).

One RecordIndex per replicated log, beside the replica (`<replicas>/<slug>/index.sqlite3`), with
the same tables as a station's own (casework and services included, so the dashboards' figures
read alike), fed by the replica set's `on_verified` hook after every verified commit, and caught
up on open. Only verified entries are ever indexed, so a subtree answer never contains what a
checkpoint does not cover. (At state and national scale the per-log SQLite files give way to
one PostgreSQL index partitioned by origin: a later issue.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from federation.replicas import ReplicaSet, origin_slug
from ledger.entry import parse_leaf
from node.config import INDEX_NAME
from node.index.record_index import IndexedEntry, RecordIndex
from node.station.core import station_projections

CHUNK = 2000


class ReplicaIndexes:
    """RecordIndex per replica origin; thread-safe."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._indexes: dict[str, RecordIndex] = {}
        self.replicas: ReplicaSet | None = None

    def index(self, origin: str) -> RecordIndex:
        """The index of `origin`'s replica, created on first use."""
        with self._lock:
            found = self._indexes.get(origin)
            if found is None:
                if self._directory is None:
                    url = "sqlite://"
                else:
                    folder = self._directory / origin_slug(origin)
                    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                    url = f"sqlite:///{folder / INDEX_NAME}"
                found = RecordIndex(url, station_projections())
                self._indexes[origin] = found
            return found

    def on_verified(self, origin: str, start: int, end: int) -> None:
        """Hook for ReplicaSet: index what was just verified (and anything missed before)."""
        self.catch_up(origin)

    def catch_up(self, origin: str) -> int:
        """Indexes the replica of `origin` up to its verified size; returns entries applied."""
        assert self.replicas is not None, "attach the ReplicaSet first"
        replica = self.replicas.get(origin)
        index = self.index(origin)
        with self._lock:
            start, end = index.indexed_size(), replica.size()
            done = start
            while done < end:
                stop = min(done + CHUNK, end)
                index.apply(
                    [
                        IndexedEntry(position, parse_leaf(leaf).decode_body())
                        for position, leaf in enumerate(replica.leaves(done, stop), done)
                    ]
                )
                done = stop
        return end - start

    def catch_up_all(self) -> None:
        assert self.replicas is not None
        for origin in self.replicas.origins():
            self.catch_up(origin)

    def items(self) -> Iterator[tuple[str, RecordIndex]]:
        with self._lock:
            return iter(list(self._indexes.items()))

    def close(self) -> None:
        with self._lock:
            for index in self._indexes.values():
                index.close()
            self._indexes.clear()
