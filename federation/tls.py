"""Mutual TLS for gRPC, from a node's credentials (federation/trust/credentials.py).

Both sides present a certificate chained to the national root; the server requires one
(`require_client_auth`), so a client with no certificate, an unknown root or an expired
certificate never completes the TLS handshake: gRPC reports that to the client as UNAVAILABLE
and no handler runs. A certificate TLS accepts may still be revoked: handlers call
`peer_identity` (or `authenticate`), and a revoked caller gets UNAUTHENTICATED and nothing else.

This module is the gRPC side of federation/trust/ (which never imports grpc): it builds
credentials and hands the caller's certificate to `trust.chain.verify_peer_certificate`; it holds
no server or channel of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import grpc

from federation.interfaces import PeerIdentity
from federation.trust.chain import verify_peer_certificate
from federation.trust.credentials import NodeCredentials
from federation.trust.identity import parse_address
from federation.trust.revocation import RevocationSet
from ledger.errors import AuthenticationError

# Large enough for a batch of entries or a search page; both sides set the same limits.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
_AUTH_CERT_KEY = "x509_pem_cert"


def server_credentials(creds: NodeCredentials) -> grpc.ServerCredentials:
    """Server side of mutual TLS: our chain, and every client must chain to the root."""
    return grpc.ssl_server_credentials(
        [(creds.key_pem, creds.chain_pem)],
        root_certificates=creds.root_pem,
        require_client_auth=True,
    )


def channel_credentials(creds: NodeCredentials) -> grpc.ChannelCredentials:
    """Client side of mutual TLS: trust only the national root, present our chain."""
    return grpc.ssl_channel_credentials(
        root_certificates=creds.root_pem,
        private_key=creds.key_pem,
        certificate_chain=creds.chain_pem,
    )


def channel_options(
    target_name: str | None = None, *, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> list[tuple[str, str | int]]:
    """Options for a channel to a peer. Certificates name their address's host (and
    "localhost" for 127.x), so dialling that address needs no override; pass `target_name`
    (a host, or a "host:port" address) only to check the server's certificate against another
    name than the one dialled."""
    options: list[tuple[str, str | int]] = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    if target_name:
        host = parse_address(target_name).host if ":" in target_name else target_name
        options.append(("grpc.ssl_target_name_override", host))
    return options


def server_options(*, max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    """Options for grpc.server(...), matching `channel_options`."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def peer_identity(context: grpc.ServicerContext, revocations: RevocationSet) -> PeerIdentity:
    """The calling node, from the certificate TLS verified; AuthenticationError when there is
    none, it carries no node identity, it is outside its authority's state, or it has been
    revoked."""
    # grpc returns {property name: [values]} (the stubs say bytes; the runtime gives lists).
    auth: Mapping[str, Any] = context.auth_context() or {}
    certs = auth.get(_AUTH_CERT_KEY) or []
    pem = certs if isinstance(certs, bytes) else next(iter(certs), b"")
    if not pem:
        raise AuthenticationError("caller presented no client certificate")
    return verify_peer_certificate(pem, revocations)


def abort_unauthenticated(context: grpc.ServicerContext, exc: AuthenticationError) -> NoReturn:
    """Ends the call with UNAUTHENTICATED and the reason; tells the caller nothing else."""
    context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))


def authenticate(context: grpc.ServicerContext, revocations: RevocationSet) -> PeerIdentity:
    """`peer_identity`, aborting the call with UNAUTHENTICATED when it fails (sync servers)."""
    try:
        return peer_identity(context, revocations)
    except AuthenticationError as exc:
        abort_unauthenticated(context, exc)
