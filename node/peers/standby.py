"""This node's standby at another site (the DR centre): following the primary, and taking over.

What a standby may do and when a takeover is safe is decided in federation/standby.py; this
module finds the parts in the data directory (the node's identity and certificate, copied
from the primary; the primary's address; the parent) and hands them over. A standby's
directory carries standby.toml (`DataDir.standby`), and nothing appends to its log while it
does: `Station.open` refuses it (docs/disaster-recovery.md).
"""

from __future__ import annotations

import socket

from federation.blobs import BlobFollower
from federation.grpc_client import GrpcPeerClient
from federation.interfaces import PeerAddress
from federation.replicas import Replica
from federation.replication import ReplicaFollower
from federation.standby import StandbyState, Takeover, take_over
from federation.trust.identity import parse_address
from ledger.errors import UsageError
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir, NodeConfig, StandbyConfig
from node.peers.clients import Peers
from node.station.blobs import BLOBS_DIR, BlobStore
from node.station.core import SYSTEM_OFFICER

__all__ = ["Standby", "take_over_as_primary"]


class Standby:
    """An open standby: the node's ledger store, its follower, and a client to the primary."""

    def __init__(
        self,
        config: NodeConfig,
        primary: str,
        store: RocksDBLogStore,
        follower: ReplicaFollower,
        client: GrpcPeerClient,
        blobs: BlobStore | None = None,
    ) -> None:
        self.config = config
        self.primary = primary
        self.store = store
        self.follower = follower
        self.client = client
        # The photos and slips the followed entries name, fetched from the primary into the
        # node's own blob store (federation/blobs.py): after a takeover they are the node's.
        self.blobs = blobs if blobs is not None else BlobStore.memory()
        self.blob_follower = BlobFollower(Replica(follower), self.blobs)

    @classmethod
    def open(cls, data_dir: DataDir, primary: str = "") -> Standby:
        """Opens `data_dir` as a standby of the primary at `primary` (host:port; by default
        the one standby.toml names, else federation.toml's listen address: the primary's, as
        the operator copied it). The first time, the directory is marked a standby; a
        directory whose log holds entries and is no standby is refused (it is a primary)."""
        config = data_dir.load_config()
        public_key = bytes(data_dir.load_key().verify_key)
        peers = Peers.load(data_dir)
        data_dir.check_own_index(config)
        marked = data_dir.standby()
        address = primary or (marked.primary if marked else peers.federation.listen)
        parse_address(address)
        store = RocksDBLogStore.open(data_dir.ledger_path)
        try:
            if marked is None and store.size():
                raise UsageError(
                    f"{data_dir.path} holds a log of {store.size()} entries and is no standby: "
                    "it is a primary. A standby starts from an empty ledger"
                )
            if marked is None or marked.primary != address:
                reason = marked.reason if marked else ""
                data_dir.mark_standby(StandbyConfig(address, reason))
            follower = ReplicaFollower(store, config.origin, public_key)
        except BaseException:
            store.close()
            raise
        target = PeerAddress(config.node_id, address, config.role, config.origin, public_key)
        blobs = BlobStore.open(data_dir.path / BLOBS_DIR)
        return cls(config, address, store, follower, peers.client(target), blobs)

    def state(self) -> StandbyState:
        """What the standby holds of the primary's log."""
        return StandbyState.of(self.follower)

    def close(self) -> None:
        self.client.close()
        self.store.close()


async def take_over_as_primary(data_dir: DataDir, *, without_parent: bool = False) -> Takeover:
    """Makes the standby in `data_dir` the node's primary: the checks and the takeover entry
    (federation/standby.py), then standby.toml goes. Run it with the standby stopped; then
    `cctns node serve` (which first brings the index up to the log)."""
    marked = data_dir.standby()
    if marked is None:
        raise UsageError(f"{data_dir.path} is no standby: there is nothing to take over")
    config = data_dir.load_config()
    key = data_dir.load_key()
    peers = Peers.load(data_dir)
    data_dir.check_own_index(config)
    public_key = bytes(key.verify_key)
    primary = peers.client(
        PeerAddress(config.node_id, marked.primary, config.role, config.origin, public_key)
    )
    parent_id = peers.federation.parent
    parent = peers.client(peers.address(parent_id)) if parent_id else None
    store = RocksDBLogStore.open(data_dir.ledger_path)
    try:
        done = await take_over(
            store,
            key,
            config.origin,
            primary=primary,
            parent=parent,
            without_parent=without_parent,
            officer_id=SYSTEM_OFFICER,
            detail=(
                f"the standby on {socket.gethostname()} took over from the primary at "
                f"{marked.primary}"
            ),
        )
    finally:
        store.close()
        primary.close()
        if parent is not None:
            parent.close()
    data_dir.clear_standby()
    return done
