"""One error mapping for both transports (federation/status.py): the same error raised by a
service reaches the caller as the same exception, with the same message, over real gRPC and
over the in-memory transport."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import trio

from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.memory import MemoryNetwork
from federation.service import PeerService
from federation.status import STATUSES, error_for, reply_for, status_for
from ledger.errors import (
    AuthenticationError,
    CctnsError,
    InputError,
    NotFound,
    NotPermitted,
    PeerError,
    PeerUnavailable,
    RateLimited,
    StoreError,
    UsageError,
    VerificationError,
)
from protos import federation_pb2

OWNER = PeerIdentity("kerala/ernakulam-city/ps-aluva", "station", "", bytes(32))
ASKER = PeerIdentity("kerala/ernakulam-city/dpo", "district", "", bytes(32))
TIMEOUT = 10.0


class FailingService(PeerService):
    """A Peer service, over no node, whose checkpoint call raises `error`."""

    def __init__(self) -> None:
        super().__init__(node=None)  # type: ignore[arg-type]
        self.error: Exception = RuntimeError("not set")

    def get_checkpoint(
        self, caller: PeerIdentity, request: federation_pb2.CheckpointRequest
    ) -> federation_pb2.CheckpointResponse:
        raise self.error


@pytest.fixture(scope="module")
def service() -> FailingService:
    return FailingService()


@pytest.fixture(scope="module")
def grpc_target(service: FailingService) -> Iterator[str]:
    servicer = PeerServicer(service, authenticate=lambda context: ASKER)
    server, port = start_server(servicer, "127.0.0.1:0", credentials=None, max_workers=2)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None).wait()


def over_grpc(target: str) -> BaseException:
    client = GrpcPeerClient(PeerAddress(OWNER.node_id, target), credentials=None)

    async def call() -> None:
        await client.get_checkpoint(timeout=TIMEOUT)

    try:
        with pytest.raises(CctnsError) as raised:
            trio.run(call)
    finally:
        client.close()
    return raised.value


def over_memory(service: FailingService) -> BaseException:
    network = MemoryNetwork()
    network.add(service, OWNER)
    network.add(FailingService(), ASKER)
    client = network.client(ASKER.node_id, OWNER.node_id)

    async def call() -> None:
        await client.get_checkpoint(timeout=TIMEOUT)

    with pytest.raises(CctnsError) as raised:
        trio.run(call)
    return raised.value


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AuthenticationError("certificate has been revoked"), AuthenticationError),
        (NotPermitted("a 'forensic-lab' node may not fetch records"), NotPermitted),
        (NotFound("no record 'FIR No. 99/2026' at this station"), NotFound),
        (InputError("the search query is empty"), InputError),
        (PeerUnavailable("the parent did not answer"), PeerUnavailable),
        (StoreError("the disk is full"), PeerUnavailable),
        (RateLimited("over the quota of 60 audited calls per minute"), PeerError),
        (VerificationError("bad signature"), PeerError),
        (PeerError("no replica of x is held here"), PeerError),
        (UsageError("the node is not initialised"), PeerError),
        (RuntimeError("a bug"), PeerError),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.__name__,
)
def test_status_same_error_through_grpc_and_memory(
    service: FailingService,
    grpc_target: str,
    error: Exception,
    expected: type[CctnsError],
) -> None:
    service.error = error
    by_grpc, by_memory = over_grpc(grpc_target), over_memory(service)
    assert type(by_grpc) is expected
    assert type(by_memory) is expected
    assert str(by_grpc) == str(by_memory)
    assert OWNER.node_id in str(by_grpc)
    if isinstance(error, RuntimeError):
        assert "a bug" not in str(by_grpc)  # nothing of an unexpected error leaves the node


@pytest.mark.parametrize(("error_class", "status"), STATUSES)
def test_status_table_rows_round_trip(
    error_class: type[CctnsError], status: grpc.StatusCode
) -> None:
    if error_class is PeerUnavailable and status == grpc.StatusCode.DEADLINE_EXCEEDED:
        assert type(error_for(status, "deadline", "n")) is PeerUnavailable
        return
    sent = status_for(error_class("m"))
    received = type(error_for(sent, "m", "n"))
    if issubclass(error_class, PeerError | InputError):
        assert received is error_class
    else:
        assert issubclass(received, PeerError)


def test_status_internal_errors_say_nothing() -> None:
    assert reply_for(KeyError("secret")) == (grpc.StatusCode.INTERNAL, "internal error")
    error = error_for(grpc.StatusCode.INTERNAL, "internal error", "n")
    assert type(error) is PeerError and str(error) == "n: INTERNAL: internal error"


def test_status_storage_failures_name_no_path() -> None:
    secret = "cannot read /srv/cctns/node/ledger/000123.sst"
    assert reply_for(StoreError(secret)) == (grpc.StatusCode.UNAVAILABLE, "storage unavailable")
    error = error_for(*reply_for(StoreError(secret)), "n")
    assert isinstance(error, PeerUnavailable) and "/srv" not in str(error)


def test_status_refused_tls_handshake_is_an_authentication_error() -> None:
    error = error_for(grpc.StatusCode.UNAVAILABLE, "SSL handshake failed", "n")
    assert isinstance(error, AuthenticationError)
    assert isinstance(error_for(grpc.StatusCode.UNAVAILABLE, "Socket closed", "n"), PeerUnavailable)
