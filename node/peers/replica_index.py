"""The index of the verified replicas an aggregating node holds (district, state, nation).

One index for every replicated log (`node.index.aggregate.AggregateIndex`): a SQLite file beside
the replicas by default (`<replicas>/aggregate.sqlite3`), or the PostgreSQL database node.toml
names (`aggregate_url`), which a state or national node uses. It is fed by the replica set's
`on_verified` hook after every verified commit and caught up on open, so only verified entries
are ever indexed and a subtree answer never contains what a checkpoint does not cover.

(Before this index, each replica had its own SQLite index beside it, `<replica>/index.sqlite3`:
those files are derived data, no longer read, and an operator may delete them.)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from federation.logs import proven_entry
from federation.replicas import ReplicaSet
from federation.witness import own_cosignature_time
from ledger.entry import parse_leaf
from ledger.proof import verify_log_checkpoint, verify_proven
from node.config import AGGREGATE_NAME
from node.index.aggregate.index import AggregateIndex
from protos import ledger_pb2

CHUNK = 5000  # entries per transaction when a replica is caught up after a commit


@dataclass(frozen=True, slots=True)
class ProvedEntry:
    """An entry of a replica, checked by its inclusion proof against the replica's latest
    verified checkpoint (signed by the office, cosigned by this node when it verified it)."""

    origin: str
    index: int
    checkpoint_size: int
    root_hex: str
    proof_hashes: int
    cosigned_at: int | None  # this node's cosignature time of that checkpoint, seconds
    body: ledger_pb2.EntryBody


class ReplicaIndexes:
    """The aggregate index over a node's replicas, opened on first use; thread-safe."""

    def __init__(self, directory: Path | None, url: str = "") -> None:
        """`url` (SQLAlchemy) of the index; "" for the SQLite file in `directory` (in memory
        when `directory` is None)."""
        self._directory = directory
        self._url = url
        self._lock = threading.Lock()
        self._index: AggregateIndex | None = None
        self.replicas: ReplicaSet | None = None

    @property
    def aggregate(self) -> AggregateIndex:
        """The index, opened (and its tables created) on first use."""
        with self._lock:
            if self._index is None:
                url = self._url
                if not url:
                    if self._directory is None:
                        url = "sqlite://"
                    else:
                        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                        url = f"sqlite:///{self._directory / AGGREGATE_NAME}"
                self._index = AggregateIndex(url)
            return self._index

    def on_verified(self, origin: str, start: int, end: int) -> None:
        """Hook for ReplicaSet: index what was just verified (and anything missed before)."""
        self.catch_up(origin)

    def catch_up(self, origin: str) -> int:
        """Indexes the replica of `origin` up to its verified size; returns entries applied."""
        return self._catch_up([origin])

    def catch_up_all(self) -> int:
        assert self.replicas is not None, "attach the ReplicaSet first"
        return self._catch_up(self.replicas.origins())

    def _catch_up(self, origins: list[str]) -> int:
        assert self.replicas is not None, "attach the ReplicaSet first"
        replicas = self.replicas
        logs = []
        for origin in origins:
            replica = replicas.get(origin)
            logs.append((origin, replica.size(), replica.leaves))
        return self.aggregate.catch_up(logs, batch_entries=CHUNK)

    def prove(self, origin: str, index: int, *, cosigner: str = "") -> ProvedEntry:
        """Entry `index` of the replica of `origin`, with its inclusion proof checked against
        the replica's checkpoint: what a figure traced to its cases shows for each case
        (`cosigner`: this node's origin, whose cosignature time of the checkpoint is shown).
        VerificationError when the proof does not hold; PeerError for a log not held."""
        assert self.replicas is not None, "attach the ReplicaSet first"
        replica = self.replicas.get(origin)
        note = replica.checkpoint()
        keys = replica.follower.keys
        checkpoint = verify_log_checkpoint(note, keys=keys, origin=origin)
        proven = proven_entry(replica, index, checkpoint.size)
        verified = verify_proven(proven, checkpoint, keys=keys, origin=origin)
        return ProvedEntry(
            origin,
            verified.index,
            checkpoint.size,
            checkpoint.root.hex(),
            len(proven.inclusion_proof),
            own_cosignature_time(note, cosigner) if cosigner else None,
            parse_leaf(proven.leaf).decode_body(),
        )

    def held(self) -> bool:
        """Whether this node holds any replica (and so has figures beyond its own)."""
        return self.replicas is not None and bool(self.replicas.origins())

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
