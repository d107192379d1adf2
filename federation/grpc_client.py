"""A PeerClient over gRPC, for trio code.

grpcio's blocking stubs run in worker threads through `trio.to_thread.run_sync` with
`abandon_on_cancel=True` and a shared CapacityLimiter, each call carrying its own gRPC deadline
(so an abandoned thread ends by itself) and a trio deadline a little later (so trio never waits
for a thread that hangs). gRPC failures become the project's errors in federation/status.py, the
one mapping both transports share.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc
import trio

from federation.blobs import join_blob_chunks
from federation.grpc_server import MAX_MESSAGE_BYTES
from federation.interfaces import DEFAULT_BATCH_SIZE, PeerAddress
from federation.status import error_for
from ledger.errors import CctnsError, PeerError, PeerUnavailable
from protos import federation_pb2, federation_pb2_grpc

T = TypeVar("T")
# Extra time trio allows beyond the gRPC deadline before abandoning the worker thread.
GRACE_SECONDS = 0.5
DEFAULT_LIMITER = trio.CapacityLimiter(64)


def _translate(node_id: str, error: grpc.RpcError) -> CctnsError:
    # The errors grpc raises are also grpc.Call objects carrying the status.
    code: grpc.StatusCode = getattr(error, "code", lambda: grpc.StatusCode.UNKNOWN)()
    details: str = getattr(error, "details", lambda: "")() or code.name
    return error_for(code, details, node_id)


class GrpcPeerClient:
    """One remote node over a gRPC channel (mutual TLS in production)."""

    def __init__(
        self,
        peer: PeerAddress,
        *,
        credentials: grpc.ChannelCredentials | None,
        options: Sequence[tuple[str, Any]] = (),
        limiter: trio.CapacityLimiter | None = None,
        interceptors: Sequence[
            grpc.UnaryUnaryClientInterceptor | grpc.UnaryStreamClientInterceptor
        ] = (),
    ) -> None:
        """`interceptors` see every call on the channel (`federation.metrics.PeerCallMeter`)."""
        self._peer = peer
        channel_options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            *options,
        ]
        if credentials is None:
            self._channel = grpc.insecure_channel(peer.address, options=channel_options)
        else:
            self._channel = grpc.secure_channel(peer.address, credentials, options=channel_options)
        if interceptors:
            self._channel = grpc.intercept_channel(self._channel, *interceptors)
        self._stub = federation_pb2_grpc.PeerStub(self._channel)
        self._limiter = limiter or DEFAULT_LIMITER

    @property
    def node_id(self) -> str:
        return self._peer.node_id

    def close(self) -> None:
        self._channel.close()

    async def _run(self, blocking: Callable[[float], T], timeout: float) -> T:
        def call() -> T:
            try:
                return blocking(timeout)
            except grpc.RpcError as exc:
                raise _translate(self.node_id, exc) from exc

        with trio.move_on_after(timeout + GRACE_SECONDS) as scope:
            return await trio.to_thread.run_sync(
                call, abandon_on_cancel=True, limiter=self._limiter
            )
        assert scope.cancelled_caught
        raise PeerUnavailable(f"no answer within {timeout:.1f} s", self.node_id)

    async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes:
        request = federation_pb2.CheckpointRequest(origin=origin)
        response = await self._run(
            functools.partial(self._unary, self._stub.GetCheckpoint, request), timeout
        )
        return bytes(response.note)

    async def get_entries(
        self,
        origin: str,
        start: int,
        end: int,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float,
    ) -> list[bytes]:
        request = federation_pb2.EntriesRequest(
            origin=origin, start=start, end=end, batch_size=batch_size
        )

        def collect(deadline: float) -> list[bytes]:
            leaves: list[bytes] = []
            for batch in self._stub.GetEntries(request, timeout=deadline):
                if batch.start != start + len(leaves):
                    raise PeerError(
                        f"entries batch at {batch.start}, expected {start + len(leaves)}",
                        self.node_id,
                    )
                leaves.extend(batch.leaves)
            if len(leaves) != end - start:
                raise PeerError(f"asked for {end - start} entries, got {len(leaves)}", self.node_id)
            return leaves

        return await self._run(collect, timeout)

    async def get_consistency_proof(
        self, origin: str, size1: int, size2: int, *, timeout: float
    ) -> list[bytes]:
        request = federation_pb2.ConsistencyRequest(origin=origin, size1=size1, size2=size2)
        response = await self._run(
            functools.partial(self._unary, self._stub.GetConsistencyProof, request), timeout
        )
        return list(response.hashes)

    async def get_key_history(
        self, origin: str, size: int, *, timeout: float
    ) -> list[federation_pb2.ProvenEntry]:
        request = federation_pb2.KeyHistoryRequest(origin=origin, size=size)
        response = await self._run(
            functools.partial(self._unary, self._stub.GetKeyHistory, request), timeout
        )
        return list(response.handovers)

    async def put_cosignature(self, cosigned_note: bytes, *, timeout: float) -> None:
        request = federation_pb2.CosignatureRequest(cosigned_note=cosigned_note)
        await self._run(functools.partial(self._unary, self._stub.PutCosignature, request), timeout)

    async def fetch_record(
        self, request: federation_pb2.RecordRequest, *, timeout: float
    ) -> federation_pb2.RecordResponse:
        return await self._run(
            functools.partial(self._unary, self._stub.FetchRecord, request), timeout
        )

    async def search(
        self, request: federation_pb2.SearchRequest, *, timeout: float
    ) -> federation_pb2.SearchResponse:
        return await self._run(functools.partial(self._unary, self._stub.Search, request), timeout)

    async def hit_no_hit(
        self, request: federation_pb2.HitRequest, *, timeout: float
    ) -> federation_pb2.HitResponse:
        return await self._run(
            functools.partial(self._unary, self._stub.HitNoHit, request), timeout
        )

    async def get_blob(self, origin: str, digest: str, *, timeout: float) -> bytes:
        request = federation_pb2.BlobRequest(origin=origin, digest=digest)

        def collect(deadline: float) -> bytes:
            return join_blob_chunks(
                list(self._stub.GetBlob(request, timeout=deadline)), self.node_id
            )

        return await self._run(collect, timeout)

    async def transfer_zero_fir(
        self, handover: federation_pb2.ZeroFirHandover, *, timeout: float
    ) -> federation_pb2.ZeroFirAcceptance:
        return await self._run(
            functools.partial(self._unary, self._stub.TransferZeroFir, handover), timeout
        )

    async def transfer_case(
        self, handover: federation_pb2.CaseHandover, *, timeout: float
    ) -> federation_pb2.CaseAcceptance:
        return await self._run(
            functools.partial(self._unary, self._stub.TransferCase, handover), timeout
        )

    async def get_revocations(self, *, timeout: float) -> list[bytes]:
        request = federation_pb2.RevocationsRequest()
        response = await self._run(
            functools.partial(self._unary, self._stub.GetRevocations, request), timeout
        )
        return list(response.signed_revocations)

    async def gossip(
        self, notes: Sequence[bytes], *, timeout: float
    ) -> federation_pb2.GossipResponse:
        request = federation_pb2.GossipRequest(notes=notes)
        return await self._run(functools.partial(self._unary, self._stub.Gossip, request), timeout)

    async def announce(
        self, request: federation_pb2.AnnounceRequest, *, timeout: float
    ) -> federation_pb2.AnnounceResponse:
        return await self._run(
            functools.partial(self._unary, self._stub.Announce, request), timeout
        )

    async def get_directory(
        self, request: federation_pb2.DirectoryRequest, *, timeout: float
    ) -> federation_pb2.DirectoryPage:
        return await self._run(
            functools.partial(self._unary, self._stub.GetDirectory, request), timeout
        )

    async def lookup_office(self, node_id: str, *, timeout: float) -> federation_pb2.DirectoryPage:
        request = federation_pb2.LookupRequest(node_id=node_id)
        return await self._run(
            functools.partial(self._unary, self._stub.LookupOffice, request), timeout
        )

    async def watch(
        self, request: federation_pb2.WatchRequest, *, timeout: float
    ) -> federation_pb2.WatchResponse:
        return await self._run(functools.partial(self._unary, self._stub.Watch, request), timeout)

    async def alert(
        self, request: federation_pb2.AlertRequest, *, timeout: float
    ) -> federation_pb2.AlertResponse:
        return await self._run(functools.partial(self._unary, self._stub.Alert, request), timeout)

    @staticmethod
    def _unary(method: Callable[..., T], request: Any, deadline: float) -> T:
        return method(request, timeout=deadline)
