"""Asking other nodes, as this node: the one place outbound peer clients are made.

Every outbound call (the web UI's federated search and Zero FIR hand-over, the `cctns peer`
commands, the runtime's replication and revocation exchange, a restored node's recovery from its
parent) goes through `Peers`: mutual TLS with this node's certificate, to the peers named in its
federation.toml, and every answer checked against the answering node's ledger key.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from federation import tls
from federation.fanout import FederatedSearchResult, federated_search
from federation.grpc_client import GrpcPeerClient
from federation.interfaces import PeerAddress
from federation.trust.credentials import NodeCredentials
from federation.verify import VerifiedReceipt, verify_receipt
from ledger.errors import InputError, UsageError
from node.config import FEDERATION_NAME, DataDir, FederationConfig, load_federation
from node.station import transfer
from node.station.core import Station
from protos import federation_pb2


class Peers:
    """This node's peers (federation.toml) and its certificate."""

    def __init__(self, federation: FederationConfig, credentials: NodeCredentials) -> None:
        self.federation = federation
        self.credentials = credentials

    @classmethod
    def load(cls, data_dir: DataDir) -> Peers:
        """The peers of the node in `data_dir`; UsageError before it is enrolled, InputError
        before it has joined a federation."""
        federation = load_federation(data_dir)
        try:
            credentials = NodeCredentials.load(data_dir.path)
        except FileNotFoundError as exc:
            raise UsageError(
                f"{data_dir.path} has no TLS credentials: enrol it with `cctns ca enrol`"
            ) from exc
        return cls(federation, credentials)

    def client(
        self, peer: PeerAddress, *, limiter: trio.CapacityLimiter | None = None
    ) -> GrpcPeerClient:
        """A mutual-TLS client to `peer` with this node's certificate (the caller closes it)."""
        return GrpcPeerClient(
            peer,
            credentials=tls.channel_credentials(self.credentials),
            options=tls.channel_options(),
            limiter=limiter,
        )

    def address(self, node_id: str) -> PeerAddress:
        """The address and ledger key of peer `node_id`; InputError for an unknown node."""
        return self.federation.peer(node_id).address

    def clients(self, names: str | Sequence[str] = "all") -> list[GrpcPeerClient]:
        """Clients to the peers named (node ids, comma-separated or a list), or to all of them
        with "all"; InputError naming every unknown node."""
        known = [entry.address.node_id for entry in self.federation.peers]
        if isinstance(names, str):
            wanted = known if names == "all" else [n.strip() for n in names.split(",") if n]
        else:
            wanted = list(names)
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise InputError(f"unknown node(s): {', '.join(unknown)} (see {FEDERATION_NAME})")
        return [self.client(self.address(name)) for name in wanted]

    def check_receipt(
        self, node_id: str, response: federation_pb2.SearchResponse | federation_pb2.HitResponse
    ) -> VerifiedReceipt:
        """The audit receipt of peer `node_id`'s answer, verified against its ledger key (the
        one federation.toml pins, followed through the key hand-overs the answer carries)."""
        peer = self.address(node_id)
        return verify_receipt(
            response.receipt,
            expected_origin=peer.origin,
            owner_public_key=peer.ledger_key,
            key_handovers=response.key_handovers,
        )

    async def search(
        self,
        request: federation_pb2.SearchRequest,
        *,
        names: str | Sequence[str] = "all",
        deadline: float,
    ) -> FederatedSearchResult:
        """Fans `request` out to the peers named, each with its own deadline; every receipt is
        verified, and peers that did not answer are named in the result."""
        clients = self.clients(names)

        def check(node_id: str, response: federation_pb2.SearchResponse) -> object:
            return self.check_receipt(node_id, response)

        try:
            return await federated_search(clients, request, deadline=deadline, verify=check)
        finally:
            for client in clients:
                client.close()


async def hand_over_zero_fir(
    station: Station,
    peers: Peers,
    zero_ref: str,
    to_node_id: str,
    officer_id: str,
    *,
    timeout: float = 15.0,
) -> dict[str, object]:
    """Hands a Zero FIR over to the station with jurisdiction and records its acceptance, both
    logs recording it (`node.station.transfer`); returns where the Zero FIR now stands."""
    receiver = peers.address(to_node_id)
    handover = await trio.to_thread.run_sync(
        transfer.prepare_zero_fir_transfer, station, officer_id, zero_ref, to_node_id
    )
    client = peers.client(receiver)
    try:
        acceptance = await client.transfer_zero_fir(handover, timeout=timeout)
    finally:
        client.close()
    await trio.to_thread.run_sync(
        transfer.record_transfer_acceptance,
        station,
        officer_id,
        acceptance,
        receiver.ledger_key,
        receiver.origin,
    )
    return await trio.to_thread.run_sync(transfer.zero_fir_status, station, zero_ref)


__all__ = ["Peers", "hand_over_zero_fir"]
