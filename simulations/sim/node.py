"""One simulated office: a real Ledger, real replicas, and a light LocalNode over them.

What is real here: the office's own log (`ledger.log.Ledger`: signed entries, Merkle tree, a
signed checkpoint per commit) over a memory or RocksDB store, its replicas (one
`federation.replication.ReplicaFollower` per followed origin, read through
`federation.replicas.Replica`), the audit entry every answered search appends, and the
cosignatures its parent returns. What is light: the search answers come from a small in-memory
map of the names the workload wrote (the SQL projection is off in the simulator), and records
are not fetched by reference.

A crash is modelled by `crash()` then `restart()`: every Python object (Ledger, followers) is
dropped and rebuilt from the stores, which is exactly what a restarted process does; in-flight
work (a replication round half done, entries not yet committed) is lost, the stores are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nacl.signing
from google.protobuf.message import Message

from federation.directory import Directory
from federation.interfaces import LogReader, PeerIdentity
from federation.logs import LedgerLogReader
from federation.replicas import Replica, origin_slug
from federation.replication import ReplicaFollower, Witness
from ledger import merkle
from ledger.errors import NotFound, NotPermitted, PeerError
from ledger.log import Ledger
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import CommitBatch, LogStore, MemoryLogStore
from protos import federation_pb2, ledger_pb2

ORIGIN_PREFIX = "cctns.in/"
SIM_OFFICER = "sim-officer"


def origin_of(node_id: str) -> str:
    """The log origin of an office in the simulation."""
    return ORIGIN_PREFIX + node_id


@dataclass(slots=True)
class Office:
    """The scenario's view of one office, as the engine keeps it."""

    node_id: str
    role: str
    parent: str
    district: str
    children: list[str] = field(default_factory=list)


def open_store(directory: Path | None, name: str) -> LogStore:
    """A memory store, or a RocksDB store at `directory/name`."""
    if directory is None:
        return MemoryLogStore()
    path = directory / name
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return RocksDBLogStore.open(path)


def copy_store(source: LogStore, size: int, target: LogStore) -> None:
    """Copies the first `size` entries of `source` into the empty `target` with their tree
    nodes and the checkpoint stored for `size` (a backup taken at that size)."""
    leaves = list(source.entries(0, size))
    nodes = merkle.new_nodes(0, [merkle.leaf_hash(leaf) for leaf in leaves], target)
    note = source.checkpoint(size)
    meta = {}
    keys = source.meta("ledger/keys")
    if keys:
        meta["ledger/keys"] = keys
    target.commit(CommitBatch(0, leaves, nodes, checkpoint=note, meta=meta))


class SimNode:
    """One office: identity, key, own Ledger, replicas, and the names its entries carry."""

    def __init__(
        self,
        office: Office,
        key: nacl.signing.SigningKey,
        *,
        clock_ms: Callable[[], int],
        directory: Path | None,
    ) -> None:
        self.office = office
        self.node_id = office.node_id
        self.origin = origin_of(office.node_id)
        self.key = key
        self.public_key = bytes(key.verify_key)
        self.identity = PeerIdentity(
            node_id=office.node_id,
            role=office.role,
            parent=office.parent,
            ledger_key=self.public_key,
        )
        self._clock_ms = clock_ms
        self._directory = directory
        self.store: LogStore = open_store(self._dir("own"), "log")
        self.ledger = Ledger(self.store, key, self.origin, clock=clock_ms)
        # origin -> (store, public key); the followers are rebuilt from these on restart.
        self._replica_stores: dict[str, tuple[LogStore, bytes, bool]] = {}
        self.replicas: dict[str, Replica] = {}
        self.names: dict[str, list[tuple[int, str]]] = {}  # name -> [(index, ref)]
        self.cosignatures = 0
        self.latest_cosigned = b""
        self._lock = threading.Lock()
        self.down = False
        self.on_commit: Callable[[SimNode], None] | None = None

    def _dir(self, name: str) -> Path | None:
        if self._directory is None:
            return None
        return self._directory / origin_slug(self.origin) / name

    # -- replicas --------------------------------------------------------------------------

    def follow(self, origin: str, public_key: bytes, *, witness: bool) -> ReplicaFollower:
        """The follower of `origin` held here (created empty the first time). Only a direct
        parent witnesses (cosigns) a log: a grandparent reads it through the parent."""
        if origin not in self._replica_stores:
            directory = self._dir("replicas")
            store = open_store(directory, f"{origin_slug(origin)}/log")
            self._replica_stores[origin] = (store, public_key, witness)
        return self._follower(origin)

    def _follower(self, origin: str) -> ReplicaFollower:
        store, public_key, witness = self._replica_stores[origin]
        follower = ReplicaFollower(
            store,
            origin,
            public_key,
            witness=Witness(self.key, self.origin, lambda: self._clock_ms() // 1000)
            if witness
            else None,
        )
        self.replicas[origin] = Replica(follower)
        return follower

    def follower(self, origin: str) -> ReplicaFollower:
        """The live follower of `origin` (after a restart, the rebuilt one)."""
        return self.replicas[origin].follower

    # -- crash and restore ------------------------------------------------------------------

    def crash(self) -> None:
        """The process dies: every object is dropped; disk stores are closed (memory stores are
        kept as the 'disk')."""
        self.down = True
        self.ledger.close()
        if self._directory is not None:
            self.store.close()
            for store, _, _ in self._replica_stores.values():
                store.close()

    def restart(self, own_store: LogStore | None = None) -> None:
        """A new process over the same stores (or over `own_store`, a restored backup)."""
        if own_store is not None:
            self.store = own_store
        elif self._directory is not None:
            self.store = open_store(self._dir("own"), "log")
        if self._directory is not None:
            for origin, (_, key, witness) in list(self._replica_stores.items()):
                store = open_store(self._dir("replicas"), f"{origin_slug(origin)}/log")
                self._replica_stores[origin] = (store, key, witness)
        self.ledger = Ledger(self.store, self.key, self.origin, clock=self._clock_ms)
        for origin in list(self._replica_stores):
            self._follower(origin)
        self.down = False

    def backup_store(self, name: str) -> LogStore:
        """A copy of the own log as it is now: what a nightly backup holds."""
        size = self.store.size()
        copy = open_store(self._dir(f"backup-{name}"), "log")
        if size:
            copy_store(self.store, size, copy)
        return copy

    def close(self) -> None:
        """Closes every store (the end of the run)."""
        if self.down:
            return
        self.ledger.close()
        self.store.close()
        for store, _, _ in self._replica_stores.values():
            store.close()

    # -- writing -----------------------------------------------------------------------------

    def append(self, bodies: list[ledger_pb2.EntryBody], names: list[str]) -> int:
        """Appends a batch in one group commit; returns the new size."""
        appended = self.ledger.append_many(bodies)
        for item, name in zip(appended, names, strict=True):
            if name:
                ref = f"GD {item.index}"
                self.names.setdefault(name, []).append((item.index, ref))
        self.committed()
        return self.ledger.size()

    def committed(self) -> None:
        """Tells the engine the own log grew (lag is measured from here)."""
        if self.on_commit is not None:
            self.on_commit(self)


class SimLocalNode:
    """`federation.interfaces.LocalNode` over a SimNode (or, for an equivocating office, over
    a forked Ledger that shares the office's replicas)."""

    def __init__(self, node: SimNode, ledger: Ledger | None = None) -> None:
        self._node = node
        self._ledger = ledger

    @property
    def ledger(self) -> Ledger:
        return self._ledger if self._ledger is not None else self._node.ledger

    @property
    def node_id(self) -> str:
        return self._node.node_id

    @property
    def origin(self) -> str:
        return self._node.origin

    def log(self, origin: str = "") -> LogReader:
        if origin in ("", self._node.origin):
            return LedgerLogReader(self.ledger)
        replica = self._node.replicas.get(origin)
        if replica is None:
            raise PeerError(f"no replica of {origin!r} here", node_id=self.node_id)
        return replica

    def check_request(self, request: Message) -> None:
        # The simulator's requests are well formed by construction; the limits table is the
        # node's (node/records/limits.py) and is exercised by the node's own tests.
        return None

    def find_record(self, ref: str, origin: str = "") -> tuple[int, list[int]] | None:
        return None

    def search(
        self, request: federation_pb2.SearchRequest
    ) -> tuple[list[federation_pb2.SearchHit], list[federation_pb2.Freshness]]:
        hits = [
            federation_pb2.SearchHit(
                origin=self._node.origin, ref=ref, index=index, title=request.query, score=1.0
            )
            for index, ref in self._node.names.get(request.query, [])[: request.limit or 50]
        ]
        freshness = [
            federation_pb2.Freshness(origin=self._node.origin, checkpoint_size=self.ledger.size())
        ]
        for origin, replica in self._node.replicas.items():
            freshness.append(
                federation_pb2.Freshness(
                    origin=origin, checkpoint_size=replica.size(), from_replica=True
                )
            )
        return hits, freshness

    def hits(self, identifier_type: str, value: str, *, probe: bytes = b"") -> list[str]:
        return []

    def blob(self, origin: str, digest: str) -> bytes:
        raise NotFound("the simulated nodes keep no blobs")

    def append_audit(self, audit: ledger_pb2.AuditEntry) -> tuple[int, bytes]:
        appended = self.ledger.append(ledger_pb2.EntryBody(officer_id=SIM_OFFICER, audit=audit))
        if self._ledger is None:
            self._node.committed()
        return appended.index, appended.leaf

    def accept_zero_fir(
        self, caller: PeerIdentity, handover: federation_pb2.ZeroFirHandover
    ) -> federation_pb2.ZeroFirAcceptance:
        raise NotPermitted("the simulator does not hand Zero FIRs over")

    def accept_case(
        self, caller: PeerIdentity, handover: federation_pb2.CaseHandover
    ) -> federation_pb2.CaseAcceptance:
        raise NotPermitted("the simulator does not transfer cases")

    def store_cosignature(self, cosigned_note: bytes) -> None:
        with self._node._lock:
            self._node.cosignatures += 1
            self._node.latest_cosigned = cosigned_note

    def witnessed_checkpoint(self) -> bytes:
        return self._node.latest_cosigned if self._ledger is None else b""

    def revocations(self) -> list[bytes]:
        return []

    # The directory (federation/directory.py) is not simulated: offices know each other from
    # the scenario, and a move is modelled on the network (simulations/sim/faults.py).
    @property
    def directory(self) -> Directory | None:
        return None

    def sign_directory_page(
        self, listing: federation_pb2.DirectoryListing
    ) -> federation_pb2.DirectoryPage:
        raise NotPermitted("the simulated offices keep no directory")

    def child_announced(self, caller: PeerIdentity) -> None:
        return None

    def hold_watches(self, caller: PeerIdentity, items: Sequence[federation_pb2.WatchItem]) -> int:
        raise NotPermitted("the simulated offices keep no watch lists")

    def accept_alerts(
        self, caller: PeerIdentity, alerts: Sequence[federation_pb2.WatchAlert]
    ) -> int:
        raise NotPermitted("the simulated offices keep no watch lists")
