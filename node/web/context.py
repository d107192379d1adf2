"""Building the web UI's context from a node's data directory: the officer accounts and the
session secret live under <data dir>/web/, the federation search goes through the node's own
certificate to the peers of its federation.toml."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from node.config import DataDir
from node.station import Station
from node.web.app import WebContext
from node.web.auth import Accounts, accounts_url


def web_dir(data_dir: DataDir) -> Path:
    path = data_dir.path / "web"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def session_secret(data_dir: DataDir) -> bytes:
    """The node's cookie-signing secret, made once and kept owner-only."""
    path = web_dir(data_dir) / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def accounts_for(data_dir: DataDir) -> Accounts:
    web_dir(data_dir)
    return Accounts(accounts_url(data_dir))


def federated_search_for(data_dir: DataDir) -> Any:
    """A `(kind, query, officer_id) -> FederatedSearchResult` coroutine function over this
    node's peers, or None when the node has not joined a federation."""
    if not (data_dir.path / "federation.toml").exists() or not (data_dir.path / "tls").exists():
        return None
    from federation import tls
    from federation.fanout import federated_search
    from federation.grpc_client import GrpcPeerClient
    from federation.trust.credentials import NodeCredentials
    from federation.verify import verify_receipt
    from node.federation_config import load_federation
    from protos import federation_pb2

    federation = load_federation(data_dir)
    credentials = NodeCredentials.load(data_dir.path)
    keys = {e.address.node_id: (e.address.origin, e.address.ledger_key) for e in federation.peers}

    def check(node_id: str, response: federation_pb2.SearchResponse) -> object:
        origin, public = keys[node_id]
        return verify_receipt(response.receipt, expected_origin=origin, owner_public_key=public)

    async def search(kind: str, query: str, officer_id: str) -> Any:
        clients = [
            GrpcPeerClient(
                entry.address,
                credentials=tls.channel_credentials(credentials),
                options=tls.channel_options(),
            )
            for entry in federation.peers
        ]
        request = federation_pb2.SearchRequest(
            kind=kind,
            query=query,
            limit=20,
            context=federation_pb2.QueryContext(
                officer_id=officer_id, purpose="investigation", case_ref="web search"
            ),
        )
        try:
            return await federated_search(clients, request, deadline=3.0, verify=check)
        finally:
            for client in clients:
                client.close()

    return search


def transfer_zero_fir_for(data_dir: DataDir, station: Station) -> Any:
    """A `(zero_ref, to_node_id, officer_id) -> message` coroutine function handing a Zero FIR
    over to the station with jurisdiction over mutual TLS, recorded in both logs; None when the
    node has not joined a federation."""
    if not (data_dir.path / "federation.toml").exists() or not (data_dir.path / "tls").exists():
        return None
    import trio

    from federation import tls
    from federation.grpc_client import GrpcPeerClient
    from federation.trust.credentials import NodeCredentials
    from node.federation_config import load_federation

    federation = load_federation(data_dir)
    credentials = NodeCredentials.load(data_dir.path)

    async def transfer(zero_ref: str, to_node_id: str, officer_id: str) -> str:
        receiver = federation.peer(to_node_id).address
        handover = await trio.to_thread.run_sync(
            station.prepare_zero_fir_transfer, officer_id, zero_ref, to_node_id
        )
        client = GrpcPeerClient(
            receiver,
            credentials=tls.channel_credentials(credentials),
            options=tls.channel_options(),
        )
        try:
            acceptance = await client.transfer_zero_fir(handover, timeout=15.0)
        finally:
            client.close()
        await trio.to_thread.run_sync(
            station.record_transfer_acceptance,
            officer_id,
            acceptance,
            receiver.ledger_key,
            receiver.origin,
        )
        status = await trio.to_thread.run_sync(station.zero_fir_status, zero_ref)
        return str(status.get("message", ""))

    return transfer


def web_context(data_dir: DataDir, station: Station) -> WebContext:
    return WebContext(
        station=station,
        accounts=accounts_for(data_dir),
        secret=session_secret(data_dir),
        federated_search=federated_search_for(data_dir),
        transfer_zero_fir=transfer_zero_fir_for(data_dir, station),
        data_dir=data_dir.path,
    )
