"""The Peer service over gRPC: a thin adapter. Decode, authenticate, call PeerService, encode.

Requests arrive as raw bytes and are parsed here, so a malformed message is answered with
INVALID_ARGUMENT (grpc's own deserialiser would report INTERNAL). Errors become statuses in
federation/status.py, the one mapping both transports share; anything unexpected is INTERNAL
with no detail leaked. The standard health-checking and reflection services run beside it, so
standard gRPC tools (grpcurl, grpc_health_probe, clients in other languages) can discover and
call a node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from federation import metrics
from federation.interfaces import PeerIdentity
from federation.status import reply_for
from ledger.errors import AuthenticationError, StoreError
from protos import federation_pb2

log = logging.getLogger(__name__)

SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["Peer"].full_name
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
Authenticate = Callable[[grpc.ServicerContext], PeerIdentity]
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class _Method:
    name: str
    request: type[Message]
    response: type[Message]
    streaming: bool = False


_METHODS = (
    _Method("GetCheckpoint", federation_pb2.CheckpointRequest, federation_pb2.CheckpointResponse),
    _Method("GetEntries", federation_pb2.EntriesRequest, federation_pb2.EntryBatch, True),
    _Method("GetConsistencyProof", federation_pb2.ConsistencyRequest, federation_pb2.ProofResponse),
    _Method("GetKeyHistory", federation_pb2.KeyHistoryRequest, federation_pb2.KeyHistory),
    _Method(
        "PutCosignature", federation_pb2.CosignatureRequest, federation_pb2.CosignatureResponse
    ),
    _Method("FetchRecord", federation_pb2.RecordRequest, federation_pb2.RecordResponse),
    _Method("Search", federation_pb2.SearchRequest, federation_pb2.SearchResponse),
    _Method("HitNoHit", federation_pb2.HitRequest, federation_pb2.HitResponse),
    _Method("GetBlob", federation_pb2.BlobRequest, federation_pb2.BlobChunk, True),
    _Method("TransferZeroFir", federation_pb2.ZeroFirHandover, federation_pb2.ZeroFirAcceptance),
    _Method("TransferCase", federation_pb2.CaseHandover, federation_pb2.CaseAcceptance),
    _Method(
        "GetRevocations", federation_pb2.RevocationsRequest, federation_pb2.RevocationsResponse
    ),
    _Method("Announce", federation_pb2.AnnounceRequest, federation_pb2.AnnounceResponse),
    _Method("GetDirectory", federation_pb2.DirectoryRequest, federation_pb2.DirectoryPage),
    _Method("LookupOffice", federation_pb2.LookupRequest, federation_pb2.DirectoryPage),
    _Method("Gossip", federation_pb2.GossipRequest, federation_pb2.GossipResponse),
    _Method("Watch", federation_pb2.WatchRequest, federation_pb2.WatchResponse),
    _Method("Alert", federation_pb2.AlertRequest, federation_pb2.AlertResponse),
)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class PeerServicer:
    """Routes each Peer RPC to the same-named (snake_case) method of a PeerService."""

    def __init__(self, service: Any, authenticate: Authenticate) -> None:
        self._service = service
        self._authenticate = authenticate

    def _prepare(
        self, method: _Method, raw: bytes, context: grpc.ServicerContext
    ) -> tuple[PeerIdentity, Message]:
        try:
            caller = self._authenticate(context)
        except AuthenticationError as exc:
            context.abort(*reply_for(exc))
        request = method.request()
        try:
            request.ParseFromString(raw)
        except DecodeError:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"malformed {method.request.__name__} message"
            )
        return caller, request

    def _fail(self, method: _Method, context: grpc.ServicerContext, exc: Exception) -> None:
        status, details = reply_for(exc)
        if status == grpc.StatusCode.INTERNAL:
            log.exception("%s failed", method.name)
        elif details != str(exc):
            log.error("%s failed: %s", method.name, exc)  # what the caller was not told
        context.abort(status, details)

    def unary(self, method: _Method) -> Callable[[bytes, grpc.ServicerContext], Message]:
        call = getattr(self._service, _snake(method.name))

        def handle(raw: bytes, context: grpc.ServicerContext) -> Message:
            started = time.perf_counter()
            try:
                caller, request = self._prepare(method, raw, context)
                try:
                    response: Message = call(caller, request)
                except Exception as exc:
                    self._fail(method, context, exc)
                    raise  # not reached: abort raises
                return response
            finally:
                metrics.served(method.name, time.perf_counter() - started, _code(context))

        return handle

    def stream(self, method: _Method) -> Callable[[bytes, grpc.ServicerContext], Iterator[Message]]:
        call = getattr(self._service, _snake(method.name))

        def handle(raw: bytes, context: grpc.ServicerContext) -> Iterator[Message]:
            started = time.perf_counter()
            try:
                caller, request = self._prepare(method, raw, context)
                try:
                    yield from call(caller, request)
                except Exception as exc:
                    self._fail(method, context, exc)
            finally:
                metrics.served(method.name, time.perf_counter() - started, _code(context))

        return handle

    def generic_handler(self) -> grpc.GenericRpcHandler:
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for method in _METHODS:
            serialize = method.response.SerializeToString
            if method.streaming:
                handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                    self.stream(method), response_serializer=serialize
                )
            else:
                handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                    self.unary(method), response_serializer=serialize
                )
        return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)


def _code(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The status a handler aborted with (None: it answered)."""
    code = getattr(context, "code", None)
    return code() if callable(code) else None


def server_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]


def start_server(
    servicer: PeerServicer,
    address: str,
    *,
    credentials: grpc.ServerCredentials | None,
    max_workers: int = 16,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> tuple[grpc.Server, int]:
    """Starts a gRPC server with the Peer, health and reflection services; returns (server,
    bound port). `credentials=None` serves plaintext: for tests of the adapter alone."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="peer-rpc"),
        options=server_options(max_message_bytes),
    )
    server.add_generic_rpc_handlers((servicer.generic_handler(),))
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise StoreError(f"cannot listen on {address}")
    server.start()
    return server, port
