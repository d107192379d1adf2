"""Mutual TLS over real gRPC on loopback: who gets in, who does not, and how they are told.

What gRPC does with each bad client (observed with grpcio 1.85, BoringSSL, TLS 1.3): the server
rejects the client's certificate during the handshake, so no handler runs and the client's call
fails with UNAVAILABLE (the connection closes); the server keeps serving. A revoked client passes
TLS, and the handler's `peer_identity` check turns it away with UNAUTHENTICATED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from federation.tls import (
    authenticate,
    channel_credentials,
    channel_options,
    server_credentials,
    server_options,
)
from federation.trust.authority import Authority, create_root, enrol_node, issue_state_authority
from federation.trust.credentials import NodeCredentials
from federation.trust.revocation import RevocationSet, sign_revocation

WHOAMI = "/cctns.test.Probe/WhoAmI"
TIMEOUT = 10.0


@dataclass
class Pki:
    root: Authority
    kerala: Authority
    server: NodeCredentials
    client: NodeCredentials


def enrol(issuer: Authority, node_id: str, **extra: object) -> NodeCredentials:
    return enrol_node(
        issuer,
        node_id=node_id,
        role="station",
        parent="kerala/ernakulam-city",
        ledger_key=bytes(32),
        address="127.0.0.1:7001",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = create_root()
    kerala = issue_state_authority(root, "kerala")
    return Pki(
        root,
        kerala,
        enrol(kerala, "kerala/ernakulam-city/ps-aluva"),
        enrol(kerala, "kerala/ernakulam-city/ps-kalamassery"),
    )


@dataclass
class Server:
    port: int
    revocations: RevocationSet

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def server(pki: Pki) -> Iterator[Server]:
    revocations = RevocationSet(pki.server.root_pem)

    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        return authenticate(context, revocations).node_id.encode()

    handler = grpc.method_handlers_generic_handler(
        "cctns.test.Probe", {"WhoAmI": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=server_options())
    grpc_server.add_generic_rpc_handlers((handler,))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), grpc_server)
    port = grpc_server.add_secure_port("127.0.0.1:0", server_credentials(pki.server))
    assert port
    grpc_server.start()
    try:
        yield Server(port, revocations)
    finally:
        grpc_server.stop(grace=None).wait()


def whoami(target: str, credentials: grpc.ChannelCredentials, **options: str) -> str:
    opts = channel_options(options.get("override"))
    with grpc.secure_channel(target, credentials, options=opts) as channel:
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(WHOAMI)
        answer = call(b"", timeout=TIMEOUT)
        return answer.decode()


def health_check(channel: grpc.Channel) -> health_pb2.HealthCheckResponse:
    check: grpc.UnaryUnaryMultiCallable[
        health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
    ] = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    return check(health_pb2.HealthCheckRequest(), timeout=TIMEOUT)


def failing_code(target: str, credentials: grpc.ChannelCredentials) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        whoami(target, credentials)
    return info.value.code()


def test_tls_valid_client_is_answered_with_its_identity(pki: Pki, server: Server) -> None:
    assert whoami(server.target, channel_credentials(pki.client)) == pki.client.identity.node_id


def test_tls_health_service_answers_valid_client(pki: Pki, server: Server) -> None:
    creds = channel_credentials(pki.client)
    with grpc.secure_channel(server.target, creds, options=channel_options()) as channel:
        reply = health_check(channel)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_tls_localhost_name_and_override(pki: Pki, server: Server) -> None:
    creds = channel_credentials(pki.client)
    assert whoami(f"localhost:{server.port}", creds)
    assert whoami(server.target, creds, override="localhost")
    # The client checks the server's certificate names the host it expects.
    with pytest.raises(grpc.RpcError) as info:
        whoami(server.target, creds, override="ps-elsewhere.kerala.cctns.in")
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "Hostname Verification" in str(info.value.details())


def test_tls_client_without_certificate_is_refused(pki: Pki, server: Server) -> None:
    anonymous = grpc.ssl_channel_credentials(root_certificates=pki.server.root_pem)
    assert failing_code(server.target, anonymous) == grpc.StatusCode.UNAVAILABLE
    assert whoami(server.target, channel_credentials(pki.client))


def test_tls_client_from_another_root_is_refused(pki: Pki, server: Server) -> None:
    stranger = enrol(issue_state_authority(create_root(), "kerala"), "kerala/ernakulam-city/x")
    # The stranger trusts our root (so only the server's check can stop it).
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.server.root_pem,
        private_key=stranger.key_pem,
        certificate_chain=stranger.chain_pem,
    )
    assert failing_code(server.target, credentials) == grpc.StatusCode.UNAVAILABLE
    assert whoami(server.target, channel_credentials(pki.client))


def test_tls_client_with_expired_certificate_is_refused(pki: Pki, server: Server) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = enrol(pki.kerala, "kerala/ernakulam-city/ps-old", not_before=past, valid_days=1)
    assert failing_code(server.target, channel_credentials(expired)) == grpc.StatusCode.UNAVAILABLE
    assert whoami(server.target, channel_credentials(pki.client))


def test_tls_server_from_another_root_is_refused_by_client(pki: Pki) -> None:
    # The other direction: our client does not talk to a server it cannot place.
    impostor_root = create_root()
    impostor = enrol(
        issue_state_authority(impostor_root, "kerala"), "kerala/ernakulam-city/ps-aluva"
    )
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), grpc_server)
    port = grpc_server.add_secure_port("127.0.0.1:0", server_credentials(impostor))
    grpc_server.start()
    try:
        creds = channel_credentials(pki.client)
        with (
            grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel,
            pytest.raises(grpc.RpcError) as info,
        ):
            health_check(channel)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        grpc_server.stop(grace=None).wait()


def test_tls_revoked_client_gets_unauthenticated(pki: Pki, server: Server) -> None:
    client = channel_credentials(pki.client)
    assert whoami(server.target, client)
    identity = pki.client.identity
    server.revocations.add(
        sign_revocation(pki.kerala, node_id=identity.node_id, serial=identity.serial, reason="x")
    )
    with pytest.raises(grpc.RpcError) as info:
        whoami(server.target, client)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in str(info.value.details())
    # Nothing else changed: a certificate that is not revoked still gets in.
    other = enrol(pki.kerala, "kerala/ernakulam-city/ps-edappally")
    assert whoami(server.target, channel_credentials(other)) == "kerala/ernakulam-city/ps-edappally"
