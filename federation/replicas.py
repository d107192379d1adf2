"""The replicas a node holds: one verified copy of each followed child's log.

Each replica is a LogStore of its own (a RocksDB directory `<dir>/<slug of origin>/log`, or
memory for simulations) holding the child's leaves, tree nodes and signed notes, plus the
follower's meta (catch-up target, quarantine, evidence, cosignature delivery). Everything the
follower needs after a restart is in that store, so reopening a ReplicaSet resumes every
replica where it stopped.

`Replica` is the LogReader the rest of the node (the Peer service, the index) reads a replica
through: it serves only what a stored checkpoint covers, never leaves of an unfinished catch-up.
Whether a replica may be updated is decided in federation/replication.py, not here.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from federation.replication import Alert, ReplicaFollower, Witness
from ledger import merkle
from ledger.errors import InputError, PeerError, StoreError, UsageError
from ledger.log import key_fingerprint
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import CommitBatch, LogStore, MemoryLogStore

META_ORIGIN: Final = "replication/origin"
META_PUBLIC_KEY: Final = "replication/public_key"

_SLUG_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def origin_slug(origin: str) -> str:
    """A directory name for an origin: readable, and unique through a short hash."""
    readable = _SLUG_UNSAFE.sub("_", origin).strip("._")[:80] or "log"
    return f"{readable}-{hashlib.sha256(origin.encode('utf-8')).hexdigest()[:10]}"


class Replica:
    """A LogReader over one replica's verified data (what its latest checkpoint covers)."""

    def __init__(self, follower: ReplicaFollower) -> None:
        self._follower = follower
        self._store = follower.store

    @property
    def origin(self) -> str:
        return self._follower.origin

    @property
    def follower(self) -> ReplicaFollower:
        return self._follower

    @property
    def quarantined(self) -> bool:
        return self._follower.quarantined

    def size(self) -> int:
        latest = self._store.latest_checkpoint()
        return latest[0] if latest is not None else 0

    def checkpoint(self) -> bytes:
        latest = self._store.latest_checkpoint()
        if latest is None:
            raise PeerError(f"no verified checkpoint of {self.origin} held yet")
        return latest[1]

    def leaves(self, start: int, end: int) -> list[bytes]:
        size = self.size()
        if not 0 <= start <= end <= size:
            raise InputError(f"entries {start}..{end} are outside the verified {size}")
        return list(self._store.entries(start, end))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        if not 0 <= index < size:
            raise InputError(f"entry {index} is not in a tree of size {size}")
        return merkle.MerkleTree(self._store).inclusion_proof(index, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        self._check_size(size2)
        if not 0 < size1 <= size2:
            raise InputError(f"no consistency proof from size {size1} to {size2}")
        return merkle.MerkleTree(self._store).consistency_proof(size1, size2)

    def key_handovers(self) -> list[int]:
        """The child's key hand-overs within what the latest checkpoint covers."""
        return self._follower.keys.up_to(self.size()).handover_indexes()

    def _check_size(self, size: int) -> None:
        verified = self.size()
        if not 0 <= size <= verified:
            raise InputError(f"tree size {size} is outside the verified 0..{verified}")


class ReplicaSet:
    """The replicas a node holds, keyed by origin. Thread-safe for lookups.

    `directory` None keeps every replica in memory (simulations, tests). `on_verified(origin,
    start, end)` runs after every verified commit of leaves start..end-1 (the indexer's hook);
    `on_alert` after every equivocation recorded.
    """

    def __init__(
        self,
        directory: Path | None,
        *,
        witness: Witness | None = None,
        on_verified: Callable[[str, int, int], None] | None = None,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self._directory = directory
        self._witness = witness
        self._on_verified = on_verified
        self._on_alert = on_alert
        self._lock = threading.Lock()
        self._replicas: dict[str, Replica] = {}
        if directory is not None:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            for path in sorted(directory.glob("*/log")):
                self._reopen(path)

    def _reopen(self, path: Path) -> None:
        store = RocksDBLogStore.open(path, create=False)
        try:
            origin = (store.meta(META_ORIGIN) or b"").decode("utf-8")
            public_key = store.meta(META_PUBLIC_KEY) or b""
            if not origin or len(public_key) != 32:
                raise StoreError(f"replica store at {path} does not say whose log it holds")
            self._replicas[origin] = Replica(self._follower(store, origin, public_key))
        except BaseException:
            store.close()
            raise

    def _follower(self, store: LogStore, origin: str, public_key: bytes) -> ReplicaFollower:
        return ReplicaFollower(
            store,
            origin,
            public_key,
            witness=self._witness,
            on_verified=self._on_verified,
            on_alert=self._on_alert,
        )

    def follow(self, origin: str, public_key: bytes) -> ReplicaFollower:
        """The follower of `origin`'s log, creating an empty replica the first time.

        `public_key` is the key trusted for the child (federation.toml). For a replica already
        held it must be one of the keys the replica's verified entries (or the key history of
        its catch-up) hand over between: the replica learns new keys from the child's log only,
        and a pinned key its log never handed over to is refused as an operator's mistake.
        """
        if not origin or "\n" in origin:
            raise InputError("a log origin is one non-empty line")
        if len(public_key) != 32:
            raise InputError(f"Ed25519 public key has {len(public_key)} bytes, want 32")
        with self._lock:
            held = self._replicas.get(origin)
            if held is not None:
                if public_key not in held.follower.keys:
                    raise UsageError(
                        f"the replica of {origin} was never handed over to the key "
                        f"{key_fingerprint(public_key)} given for it: keep the key it follows "
                        "until it has replicated the child's key hand-over"
                    )
                return held.follower
            store = self._open_store(origin)
            try:
                if store.meta(META_ORIGIN) is None:
                    store.commit(
                        CommitBatch(
                            store.size(),
                            [],
                            [],
                            meta={META_ORIGIN: origin.encode("utf-8"), META_PUBLIC_KEY: public_key},
                        )
                    )
                follower = self._follower(store, origin, public_key)
            except BaseException:
                store.close()
                raise
            self._replicas[origin] = Replica(follower)
            return follower

    def _open_store(self, origin: str) -> LogStore:
        if self._directory is None:
            return MemoryLogStore()
        path = self._directory / origin_slug(origin) / "log"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return RocksDBLogStore.open(path)

    def get(self, origin: str) -> Replica:
        """The replica of `origin`; PeerError when none is held (as LocalNode.log promises)."""
        with self._lock:
            replica = self._replicas.get(origin)
        if replica is None:
            raise PeerError(f"no replica of {origin} is held here")
        return replica

    def __contains__(self, origin: object) -> bool:
        with self._lock:
            return origin in self._replicas

    def __iter__(self) -> Iterator[Replica]:
        with self._lock:
            replicas = list(self._replicas.values())
        return iter(replicas)

    def origins(self) -> list[str]:
        """The origins held, sorted."""
        with self._lock:
            return sorted(self._replicas)

    def alerts(self) -> list[Alert]:
        """Evidence against every quarantined replica, for operators (oldest first per log)."""
        return [
            alert
            for replica in self
            if replica.quarantined
            for alert in replica.follower.evidence()
        ]

    def close(self) -> None:
        """Closes every replica store."""
        with self._lock:
            replicas, self._replicas = list(self._replicas.values()), {}
        for replica in replicas:
            replica.follower.store.close()
