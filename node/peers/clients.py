"""Asking other nodes, as this node: the one place outbound peer clients are made.

Every outbound call (the web UI's federated search and Zero FIR hand-over, the `cctns peer`
commands, the runtime's replication and revocation exchange, a restored node's recovery from its
parent) goes through `Peers`: mutual TLS with this node's certificate, to the peers named in its
federation.toml, and every answer checked against the answering node's ledger key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Final

import trio

from federation import tls
from federation.fanout import FanOutResult, FederatedSearchResult, fan_out, federated_search
from federation.grpc_client import GrpcPeerClient
from federation.interfaces import PeerAddress, PeerClient
from federation.metrics import PeerCallMeter
from federation.seen import SeenCheckpoints, check_receipt_answer, check_record_answer
from federation.trust.credentials import NodeCredentials
from federation.verify import (
    VerifiedReceipt,
    VerifiedRecord,
    verify_receipt,
    verify_record_response,
    verify_replica_record_response,
)
from federation.witness import (
    AnswerCheck,
    CosignedBy,
    NoWitnessKnown,
    WitnessPolicy,
    parent_policy,
)
from ledger.errors import InputError, NotFound, UsageError
from ledger.keys import LogKeys
from ledger.log import now_ms
from node.config import FEDERATION_NAME, DataDir, FederationConfig, Witnessing, load_federation
from node.peers.directory import NodeDirectory, locate
from node.records.case_transfer import check_transfer
from node.records.validation import Problems, ist_date
from node.station import case_transfer, transfer
from node.station.core import Station
from protos import federation_pb2, records_pb2

log = logging.getLogger(__name__)

# How long a witness check may wait for a consistency proof from the answering node.
WITNESS_TIMEOUT: Final = 5.0


class Peers:
    """This node's peers (federation.toml) and its certificate."""

    def __init__(
        self,
        federation: FederationConfig,
        credentials: NodeCredentials,
        *,
        seen: SeenCheckpoints | None = None,
        witnessing: Witnessing | None = None,
        origin: str = "",
    ) -> None:
        """`seen`: the checkpoints of other logs this node saw (memory only when None);
        `witnessing`: node.toml's [witness] settings; `origin`: this node's own log (the
        witness name it cosigns its children's checkpoints under)."""
        self.federation = federation
        self.credentials = credentials
        self.seen = seen if seen is not None else SeenCheckpoints(None)
        self.witnessing = witnessing if witnessing is not None else Witnessing()
        self.origin = origin
        # The offices this node knows beyond federation.toml (node/peers/directory.py); set by
        # `load` once the node is enrolled.
        self.directory: NodeDirectory | None = None

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
        config = data_dir.load_config()
        peers = cls(
            federation,
            credentials,
            seen=SeenCheckpoints(data_dir.path / "witness"),
            witnessing=config.witness,
            origin=config.origin,
        )
        peers.directory = NodeDirectory.open(data_dir, credentials)
        return peers

    def client(
        self, peer: PeerAddress, *, limiter: trio.CapacityLimiter | None = None
    ) -> GrpcPeerClient:
        """A mutual-TLS client to `peer` with this node's certificate (the caller closes it).
        Every call on it is timed and its failures counted (`federation.metrics`)."""
        return GrpcPeerClient(
            peer,
            credentials=tls.channel_credentials(self.credentials),
            options=tls.channel_options(),
            limiter=limiter,
            interceptors=(PeerCallMeter(peer.node_id),),
        )

    def address(self, node_id: str) -> PeerAddress:
        """The address and ledger key of peer `node_id`: federation.toml's [[peers]] first
        (local overrides), then the node's directory (for a retired or merged office, its
        successor's, with a note in the log), then the parent's `parent_address` before its
        entry is known. InputError for a node known nowhere here (`locate` asks up the chain)."""
        try:
            return self.federation.peer(node_id).address
        except InputError:
            pass
        if self.directory is not None:
            found = self.directory.peer_address(node_id)
            if found is not None:
                peer, note = found
                if note:
                    log.info("%s", note)
                return peer
        if node_id == self.federation.parent and self.federation.parent_address:
            return PeerAddress(node_id=node_id, address=self.federation.parent_address)
        raise InputError(f"no peer {node_id!r} in {FEDERATION_NAME} or the node's directory")

    def known(self) -> list[str]:
        """Every office this node may ask: federation.toml's peers, then the directory's
        offices at work (not this node, nor retired or merged ones)."""
        known = [entry.address.node_id for entry in self.federation.peers]
        if self.directory is not None:
            me = self.credentials.identity.node_id
            known += [
                v.node_id
                for v in self.directory.directory.entries()
                if v.status in ("active", "moved") and v.node_id != me and v.node_id not in known
            ]
        return known

    async def locate(self, node_id: str, *, timeout: float = 5.0) -> PeerAddress:
        """`address`, or else asks the parent, then its parent, ... which office answers for
        `node_id` (node/peers/directory.py `locate`); NotFound when nobody knows it."""
        try:
            return self.address(node_id)
        except InputError:
            if self.directory is None:
                raise
        peer, note = await locate(
            self.directory,
            node_id,
            self.client,
            timeout=timeout,
            close=lambda client: client.close(),  # type: ignore[attr-defined]
        )
        if note:
            log.info("%s", note)
        return peer

    def clients(self, names: str | Sequence[str] = "all") -> list[GrpcPeerClient]:
        """Clients to the peers named (node ids, comma-separated or a list), or to all of them
        with "all"; InputError naming every unknown node."""
        known = self.known()
        if isinstance(names, str):
            wanted = known if names == "all" else [n.strip() for n in names.split(",") if n]
        else:
            wanted = list(names)
        unknown = [name for name in wanted if name not in known and not self._resolves(name)]
        if unknown:
            raise InputError(
                f"unknown node(s): {', '.join(unknown)} (see {FEDERATION_NAME} and "
                "`cctns federation directory`)"
            )
        return [self.client(self.address(name)) for name in wanted]

    def _resolves(self, node_id: str) -> bool:
        try:
            self.address(node_id)
        except InputError:
            return False
        return True

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

    def witness_policy(self, node_id: str) -> WitnessPolicy:
        """What answers of peer `node_id` are held to: its parent's cosignature, at most
        node.toml's `[witness] max_age_minutes` old. A peer whose parent is not known here
        gets a policy that always fails, saying so: its answers are flagged, not trusted."""
        parent_id = self.address(node_id).parent
        if not parent_id and self.directory is not None:
            # federation.toml's entry may predate parents: the directory's certificate says.
            found = self.directory.peer_address(node_id)
            parent_id = found[0].parent if found is not None else ""
        max_age = self.witnessing.max_age_minutes * 60
        if not parent_id:
            return NoWitnessKnown(f"no witness (parent) is known for {node_id}")
        if parent_id == self.credentials.identity.node_id and self.origin:
            return parent_policy(self.origin, self.credentials.identity.ledger_key, max_age)
        try:
            parent = self.address(parent_id)
        except InputError:
            return NoWitnessKnown(f"{node_id}'s witness {parent_id} is not a known peer")
        if not parent.origin or len(parent.ledger_key) != 32:
            return NoWitnessKnown(f"{node_id}'s witness {parent_id}: its ledger key is not known")
        return parent_policy(parent.origin, parent.ledger_key, max_age)

    async def check_search_witness(
        self,
        client: PeerClient,
        response: federation_pb2.SearchResponse | federation_pb2.HitResponse,
        receipt: object,
        *,
        timeout: float = WITNESS_TIMEOUT,
    ) -> AnswerCheck:
        """The witness verdict and consistency of a search (or hit/no-hit) answer whose
        receipt verified."""
        assert isinstance(receipt, VerifiedReceipt)
        peer = self.address(client.node_id)
        return await check_receipt_answer(
            client,
            self.seen,
            self.witness_policy(client.node_id),
            response,
            receipt,
            origin=peer.origin,
            pinned_key=peer.ledger_key,
            now_s=int(time.time()),
            timeout=timeout,
        )

    async def search(
        self,
        request: federation_pb2.SearchRequest,
        *,
        names: str | Sequence[str] = "all",
        deadline: float,
    ) -> FederatedSearchResult:
        """Fans `request` out to the peers named, each with its own deadline; every receipt is
        verified, every answer held to the witness policy and to the checkpoints seen before
        (flagged in `witness` when it fails), and peers that did not answer are named."""
        if not isinstance(names, str) or names != "all":
            wanted = [n.strip() for n in names.split(",") if n] if isinstance(names, str) else names
            for name in wanted:
                if name not in self.known():
                    await self.locate(name)  # through the parent chain's directories
        clients = self.clients(names)

        def check(node_id: str, response: federation_pb2.SearchResponse) -> object:
            return self.check_receipt(node_id, response)

        try:
            return await federated_search(
                clients,
                request,
                deadline=deadline,
                verify=check,
                witness=self.check_search_witness,
            )
        finally:
            for client in clients:
                client.close()

    async def hit(
        self,
        request: federation_pb2.HitRequest,
        *,
        names: str | Sequence[str] = "all",
        deadline: float,
    ) -> FanOutResult[tuple[federation_pb2.HitResponse, AnswerCheck]]:
        """Asks the peers named a hit/no-hit question at once; every receipt is verified (an
        answer that does not is named unanswered, "error") and every answer held to the witness
        policy and the checkpoints seen before (its AnswerCheck beside it)."""
        clients = self.clients(names)

        async def ask(client: PeerClient) -> tuple[federation_pb2.HitResponse, AnswerCheck]:
            response = await client.hit_no_hit(request, timeout=deadline)
            receipt = self.check_receipt(client.node_id, response)
            check = await self.check_search_witness(client, response, receipt, timeout=deadline)
            return response, check

        try:
            return await fan_out(clients, ask, deadline=deadline)
        finally:
            for client in clients:
                client.close()

    async def fetch(
        self, node_id: str, request: federation_pb2.RecordRequest, *, deadline: float
    ) -> tuple[VerifiedRecord, AnswerCheck]:
        """One record from its owner `node_id`, verified (VerificationError otherwise), with its
        witness verdict and consistency with the checkpoints of that log seen before. For a
        retired or merged office, from the office holding its log (`fetch_from_holder`)."""
        owner = self.address(node_id)
        if owner.node_id != node_id:
            return await self.fetch_from_holder(node_id, owner, request, deadline=deadline)
        client = self.client(owner)
        try:
            response = await client.fetch_record(request, timeout=deadline)
            record = verify_record_response(
                response,
                expected_origin=owner.origin,
                owner_public_key=owner.ledger_key,
                expected_ref=request.ref,
            )
            check = await check_record_answer(
                client,
                self.seen,
                self.witness_policy(node_id),
                response,
                record,
                pinned_key=owner.ledger_key,
                now_s=int(time.time()),
                timeout=deadline,
            )
        finally:
            client.close()
        return record, check

    async def fetch_from_holder(
        self,
        node_id: str,
        holder: PeerAddress,
        request: federation_pb2.RecordRequest,
        *,
        deadline: float,
    ) -> tuple[VerifiedRecord, AnswerCheck]:
        """A record of the retired or merged office `node_id`, from `holder` (its successor in
        the directory), which answers from its verified replica of the office's log: the
        record verified against the office's own ledger key (its directory entry's
        certificate) and log, the receipt against the holder's key and log. Its witness is the
        holder, whose cosignature of the replica's checkpoint says as of when (the office's
        log is closed: no age is held against it). NotFound when the directory does not hold
        the office's entry, or the holder holds no replica of its log."""
        entry = self.directory.directory.get(node_id) if self.directory is not None else None
        if entry is None:
            raise NotFound(f"{node_id} is not in this node's directory: its log is not known")
        office = entry.peer_address()
        asked = federation_pb2.RecordRequest()
        asked.CopyFrom(request)
        asked.origin = office.origin
        client = self.client(holder)
        try:
            response = await client.fetch_record(asked, timeout=deadline)
            record = verify_replica_record_response(
                response,
                expected_origin=office.origin,
                owner_public_key=office.ledger_key,
                holder_node_id=holder.node_id,
                holder_origin=holder.origin,
                holder_public_key=holder.ledger_key,
                expected_ref=request.ref,
            )
            policy = CosignedBy(holder.origin, LogKeys.single(holder.ledger_key))
            check = await check_record_answer(
                client,
                self.seen,
                policy,
                response,
                record,
                pinned_key=office.ledger_key,
                now_s=int(time.time()),
                timeout=deadline,
            )
        finally:
            client.close()
        return record, check

    async def gossip(self, *, timeout: float) -> federation_pb2.GossipResponse | None:
        """Hands the newest checkpoint seen of every log to this node's parent, which compares
        them with its replicas and other readers' (federation/gossip.py); None without a parent
        or anything to tell."""
        notes = self.seen.notes()
        if not self.federation.parent or not notes:
            return None
        client = self.client(self.address(self.federation.parent))
        try:
            return await client.gossip(notes, timeout=timeout)
        finally:
            client.close()

    async def hand_up_watches(
        self, items: list[federation_pb2.WatchItem], *, timeout: float
    ) -> federation_pb2.WatchResponse | None:
        """Hands watches to this node's parent (docs/watch.md); None without a parent."""
        if not self.federation.parent or not items:
            return None
        client = self.client(self.address(self.federation.parent))
        try:
            return await client.watch(federation_pb2.WatchRequest(watches=items), timeout=timeout)
        finally:
            client.close()

    async def send_alerts(
        self, watcher: str, alerts: list[federation_pb2.WatchAlert], *, timeout: float
    ) -> federation_pb2.AlertResponse:
        """Tells the watcher's node of records matching its watches (found through the
        directory, or up the chain of parents)."""
        client = self.client(await self.locate(watcher, timeout=timeout))
        try:
            return await client.alert(federation_pb2.AlertRequest(alerts=alerts), timeout=timeout)
        finally:
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


async def hand_over_case(
    station: Station,
    peers: Peers,
    fir_number: str,
    order: records_pb2.CaseTransfer,
    officer_id: str,
    *,
    timeout: float = 15.0,
) -> dict[str, object]:
    """Transfers a case's investigation to the unit `order.to_node_id` and records its
    acceptance, both logs recording it (`node.station.case_transfer`); returns where the
    transfer stands (`message`, `receiver_origin`, `takeover_index`). The order is checked
    before the unit is looked up, so that a wrong order is told as such."""
    problems = Problems()
    check_transfer(order, ist_date(now_ms()), problems)
    problems.raise_if_any("investigation not transferred")
    receiver = peers.address(order.to_node_id)
    handover = await trio.to_thread.run_sync(
        case_transfer.transfer_case, station, officer_id, fir_number, order
    )
    client = peers.client(receiver)
    try:
        acceptance = await client.transfer_case(handover, timeout=timeout)
    finally:
        client.close()
    receipt = await trio.to_thread.run_sync(
        case_transfer.record_case_acceptance,
        station,
        officer_id,
        acceptance,
        receiver.ledger_key,
        receiver.origin,
    )
    return {
        "fir_number": receipt.ref,
        "accepted_index": receipt.index,
        "receiver_origin": receiver.origin,
        "takeover_index": acceptance.taken_over.index,
        "message": f"the investigation of {receipt.ref} was transferred to {order.to_unit} "
        f"({receiver.origin}), taken over there as entry {acceptance.taken_over.index}",
    }


__all__ = ["Peers", "hand_over_case", "hand_over_zero_fir"]
