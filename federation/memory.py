"""The in-memory transport: many nodes' PeerServices in one process, over a simulated network.

A `MemoryNetwork` holds node id -> (PeerService, PeerIdentity) and the state of every link:
one-way latency (fixed, or uniform in a range drawn from a seeded RNG), loss probability, and
faults (`partition(a, b)`, `down(node)`). `client(a, b)` is a PeerClient for node a calling
node b that carries exactly what gRPC would: requests and responses are serialised to bytes and
parsed again on the other side, and errors cross as a gRPC status and a message, mapped both
ways by federation/status.py as over gRPC, so a test or a simulation cannot pass an object by
reference that a real node could never receive, nor see an error a real node would not.

One call: the request travels (latency), the target's PeerService runs in a worker thread
(`trio.to_thread.run_sync(..., abandon_on_cancel=True, limiter=...)`), the response travels
back (latency); the whole call is under its deadline, and no answer by then raises
PeerUnavailable. A lost message, or a partitioned link, is silence until the deadline; a node
that is down refuses at once (as a host with no process behind the port does).

Under trio's MockClock with autojump, a task waiting for a worker thread looks idle and the
clock would jump to the next deadline while the service is still computing. So when the clock is
a MockClock, the waiting task keeps the run loop busy until the thread is done: simulated time
stands still while a service computes, and latencies alone move the clock. Tests are then
deterministic. `in_thread=False` calls the service inline (simulations of thousands of nodes).

Random draws are made per link and per call number from the seed, not from one shared stream,
so trio's scheduling order cannot change which call was lost or how long it took.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import grpc
import trio
import trio.testing
from google.protobuf.message import DecodeError, Message

from federation.blobs import join_blob_chunks
from federation.interfaces import DEFAULT_BATCH_SIZE, PeerIdentity
from federation.service import MAX_ENTRIES_PER_REQUEST, PeerService
from federation.status import error_for, reply_for
from ledger.errors import CctnsError, InputError, PeerError, PeerUnavailable
from protos import federation_pb2

__all__ = ["Link", "MemoryNetwork", "MemoryPeerClient"]

log = logging.getLogger(__name__)

Latency = float | tuple[float, float]
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Link:
    """How messages travel from one node to another."""

    latency: Latency = 0.0  # seconds one way: fixed, or (low, high) drawn uniformly
    loss: float = 0.0  # probability that a message (request or response) is lost

    def __post_init__(self) -> None:
        low, high = (
            self.latency if isinstance(self.latency, tuple) else (self.latency, self.latency)
        )
        if not 0 <= low <= high:
            raise InputError(f"latency {self.latency!r} must be >= 0 (and low <= high)")
        if not 0 <= self.loss <= 1:
            raise InputError(f"loss probability {self.loss!r} must be between 0 and 1")

    def delay(self, rng: random.Random) -> float:
        """One message's travel time."""
        if isinstance(self.latency, tuple):
            return rng.uniform(*self.latency)
        return self.latency


@dataclass(frozen=True, slots=True)
class _Node:
    service: PeerService
    identity: PeerIdentity


class _WireError(Exception):
    """A server-side error as it crosses the wire: a status and a message."""

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status.name}: {message}")


class MemoryNetwork:
    """Nodes and the simulated links between them. Use from one trio run."""

    def __init__(
        self,
        *,
        seed: int = 0,
        latency: Latency = 0.0,
        loss: float = 0.0,
        workers: int = 8,
        in_thread: bool = True,
    ) -> None:
        self._seed = seed
        self.default_link = Link(latency, loss)
        self._links: dict[tuple[str, str], Link] = {}
        self._nodes: dict[str, _Node] = {}
        self._partitions: set[frozenset[str]] = set()
        self._down: set[str] = set()
        self._calls: dict[tuple[str, str], int] = {}
        self._workers = workers
        self._limiter: trio.CapacityLimiter | None = None
        self.in_thread = in_thread

    # -- membership and faults -------------------------------------------------------------

    def add(self, service: PeerService, identity: PeerIdentity) -> None:
        """Puts a node on the network under `identity.node_id`."""
        if identity.node_id in self._nodes:
            raise InputError(f"node {identity.node_id!r} is already on the network")
        self._nodes[identity.node_id] = _Node(service, identity)

    def identity(self, node_id: str) -> PeerIdentity:
        """The identity a node presents to the nodes it calls."""
        return self._node(node_id).identity

    def set_link(
        self,
        a: str,
        b: str,
        *,
        latency: Latency | None = None,
        loss: float | None = None,
        both_ways: bool = True,
    ) -> None:
        """Sets the latency and/or loss of the link a -> b (and b -> a)."""
        for pair in [(a, b), (b, a)] if both_ways else [(a, b)]:
            current = self.link(*pair)
            self._links[pair] = Link(
                current.latency if latency is None else latency,
                current.loss if loss is None else loss,
            )

    def link(self, a: str, b: str) -> Link:
        """The conditions of the link a -> b."""
        return self._links.get((a, b), self.default_link)

    def partition(self, a: str, b: str) -> None:
        """Cuts the link between a and b both ways: messages vanish until `heal`."""
        self._partitions.add(frozenset((a, b)))

    def isolate(self, node_id: str) -> None:
        """Partitions one node from every other node on the network."""
        for other in self._nodes:
            if other != node_id:
                self.partition(node_id, other)

    def heal(self, a: str | None = None, b: str | None = None) -> None:
        """Heals the partition between a and b; every partition involving a if b is None; every
        partition if both are None."""
        if a is None:
            self._partitions.clear()
        elif b is None:
            self._partitions = {p for p in self._partitions if a not in p}
        else:
            self._partitions.discard(frozenset((a, b)))

    def down(self, node_id: str) -> None:
        """Stops a node: calls to it are refused at once."""
        self._node(node_id)
        self._down.add(node_id)

    def up(self, node_id: str) -> None:
        """Starts a stopped node again."""
        self._down.discard(node_id)

    def is_partitioned(self, a: str, b: str) -> bool:
        """Whether the link between a and b is cut."""
        return frozenset((a, b)) in self._partitions

    def client(self, from_node_id: str, to_node_id: str) -> MemoryPeerClient:
        """A PeerClient for `from_node_id` calling `to_node_id`."""
        self._node(from_node_id)
        self._node(to_node_id)
        return MemoryPeerClient(self, from_node_id, to_node_id)

    def clients(self, from_node_id: str, to_node_ids: Iterable[str]) -> list[MemoryPeerClient]:
        """One client per target, in the order given."""
        return [self.client(from_node_id, target) for target in to_node_ids]

    # -- delivery ------------------------------------------------------------------------------

    def _node(self, node_id: str) -> _Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise InputError(f"no node {node_id!r} on the network") from None

    def _rng(self, source: str, target: str) -> random.Random:
        number = self._calls.get((source, target), 0)
        self._calls[(source, target)] = number + 1
        return random.Random(f"{self._seed}:{source}>{target}:{number}")

    async def _travel(self, source: str, target: str, rng: random.Random) -> None:
        """One message from source to target: its latency, then silence if it is lost."""
        link = self.link(source, target)
        delay = link.delay(rng)
        lost = link.loss > 0 and rng.random() < link.loss
        if delay:
            await trio.sleep(delay)
        if lost or self.is_partitioned(source, target):
            await trio.sleep_forever()  # the caller's deadline ends the wait

    async def deliver(
        self, source: str, target: str, method: str, request: bytes
    ) -> bytes | list[bytes]:
        """Carries one serialised request to the target's service and its answer back."""
        node = self._node(target)
        caller = self._node(source).identity
        rng = self._rng(source, target)
        await self._travel(source, target, rng)
        if target in self._down:
            raise PeerUnavailable("connection refused: the node is down", node_id=target)
        try:
            answer = await self._serve(lambda: _serve(node.service, caller, method, request))
        except _WireError as exc:
            await self._travel(target, source, rng)
            raise error_for(exc.status, exc.message, target) from None
        await self._travel(target, source, rng)
        return answer

    def serve_now(
        self, source: str, target: str, method: str, request: bytes
    ) -> bytes | list[bytes] | CctnsError:
        """Runs one serialised call on the target's service at once, in this thread: its
        serialised answer, or the error its caller raises (mapped as over gRPC). For a
        transport that decides the timing itself (simulations/sim/network.py)."""
        node = self._node(target)
        caller = self._node(source).identity
        try:
            return _serve(node.service, caller, method, request)
        except _WireError as exc:
            return error_for(exc.status, exc.message, target)

    async def _serve(self, work: Callable[[], bytes | list[bytes]]) -> bytes | list[bytes]:
        if not self.in_thread:
            await trio.lowlevel.checkpoint()
            return work()
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(self._workers)
        if not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
            return await trio.to_thread.run_sync(
                work, abandon_on_cancel=True, limiter=self._limiter
            )
        done = trio.Event()
        answer: bytes | list[bytes] = b""

        async def keep_clock_still() -> None:
            # A runnable task stops the MockClock from autojumping while the thread computes.
            while not done.is_set():
                await trio.lowlevel.checkpoint()

        async def work_in_thread() -> None:
            nonlocal answer
            try:
                answer = await trio.to_thread.run_sync(
                    work, abandon_on_cancel=True, limiter=self._limiter
                )
            finally:
                done.set()

        # The service's error leaves the nursery wrapped in an ExceptionGroup; unwrap the one
        # error so callers see what the service raised.
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(keep_clock_still)
                nursery.start_soon(work_in_thread)
        except ExceptionGroup as group:
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], _WireError):
                raise group.exceptions[0] from None
            raise
        return answer


def _serve(
    service: PeerService, caller: PeerIdentity, method: str, raw: bytes
) -> bytes | list[bytes]:
    """Runs on the server side (a worker thread): parse, call, serialise; errors to the wire."""
    request_type, _ = _METHODS[method]
    request = request_type()
    try:
        request.ParseFromString(raw)
    except DecodeError:
        raise _WireError(
            grpc.StatusCode.INVALID_ARGUMENT, f"malformed {request_type.__name__} message"
        ) from None
    try:
        answer = getattr(service, method)(caller, request)
        if method in ("get_entries", "get_blob"):
            return [batch.SerializeToString() for batch in answer]
        assert isinstance(answer, Message)
        return answer.SerializeToString()
    except Exception as exc:
        status, details = reply_for(exc)
        if status == grpc.StatusCode.INTERNAL:
            log.exception("%s failed", method)
        elif details != str(exc):
            log.error("%s failed: %s", method, exc)  # what the caller was not told
        raise _WireError(status, details) from None


_METHODS: Final[dict[str, tuple[type[Message], type[Message]]]] = {
    "get_checkpoint": (federation_pb2.CheckpointRequest, federation_pb2.CheckpointResponse),
    "get_entries": (federation_pb2.EntriesRequest, federation_pb2.EntryBatch),
    "get_consistency_proof": (federation_pb2.ConsistencyRequest, federation_pb2.ProofResponse),
    "get_key_history": (federation_pb2.KeyHistoryRequest, federation_pb2.KeyHistory),
    "put_cosignature": (federation_pb2.CosignatureRequest, federation_pb2.CosignatureResponse),
    "fetch_record": (federation_pb2.RecordRequest, federation_pb2.RecordResponse),
    "search": (federation_pb2.SearchRequest, federation_pb2.SearchResponse),
    "hit_no_hit": (federation_pb2.HitRequest, federation_pb2.HitResponse),
    "get_blob": (federation_pb2.BlobRequest, federation_pb2.BlobChunk),
    "transfer_zero_fir": (federation_pb2.ZeroFirHandover, federation_pb2.ZeroFirAcceptance),
    "transfer_case": (federation_pb2.CaseHandover, federation_pb2.CaseAcceptance),
    "get_revocations": (federation_pb2.RevocationsRequest, federation_pb2.RevocationsResponse),
    "announce": (federation_pb2.AnnounceRequest, federation_pb2.AnnounceResponse),
    "get_directory": (federation_pb2.DirectoryRequest, federation_pb2.DirectoryPage),
    "lookup_office": (federation_pb2.LookupRequest, federation_pb2.DirectoryPage),
    "gossip": (federation_pb2.GossipRequest, federation_pb2.GossipResponse),
    "watch": (federation_pb2.WatchRequest, federation_pb2.WatchResponse),
    "alert": (federation_pb2.AlertRequest, federation_pb2.AlertResponse),
}


class MemoryPeerClient:
    """A PeerClient over a MemoryNetwork: `source` calling `node_id`."""

    def __init__(self, network: MemoryNetwork, source: str, target: str) -> None:
        self._network = network
        self.source = source
        self._target = target

    @property
    def node_id(self) -> str:
        return self._target

    async def _call(self, method: str, request: Message, timeout: float) -> bytes | list[bytes]:
        if not timeout > 0:
            raise InputError(f"a call's timeout must be positive, not {timeout!r}")
        raw = request.SerializeToString()
        with trio.move_on_after(timeout):
            return await self._network.deliver(self.source, self._target, method, raw)
        raise PeerUnavailable(f"no answer to {method} within {timeout:g} s", node_id=self._target)

    async def _unary(
        self, method: str, request: Message, response_type: type[M], timeout: float
    ) -> M:
        raw = await self._call(method, request, timeout)
        assert isinstance(raw, bytes)
        return _parse(response_type, raw, self._target)

    async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes:
        request = federation_pb2.CheckpointRequest(origin=origin)
        response = await self._unary(
            "get_checkpoint", request, federation_pb2.CheckpointResponse, timeout
        )
        return response.note

    async def get_entries(
        self,
        origin: str,
        start: int,
        end: int,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float,
    ) -> list[bytes]:
        """Leaves start..end-1, asked for in parts the server accepts, all within one deadline."""
        if end - start <= MAX_ENTRIES_PER_REQUEST:
            # One part: the call's own deadline is the whole deadline.
            return await self._entries(origin, start, end, batch_size, timeout)
        leaves: list[bytes] = []
        with trio.move_on_after(timeout):
            while start + len(leaves) < end:
                position = start + len(leaves)
                stop = min(end, position + MAX_ENTRIES_PER_REQUEST)
                leaves.extend(await self._entries(origin, position, stop, batch_size, timeout))
            return leaves
        raise PeerUnavailable(f"no answer to get_entries within {timeout:g} s", self._target)

    async def _entries(
        self, origin: str, start: int, end: int, batch_size: int, timeout: float
    ) -> list[bytes]:
        """One EntriesRequest for start..end-1: the leaves of its batches, checked to follow
        on from each other and to reach `end`."""
        request = federation_pb2.EntriesRequest(
            origin=origin, start=start, end=end, batch_size=batch_size
        )
        raws = await self._call("get_entries", request, timeout)
        assert isinstance(raws, list)
        leaves: list[bytes] = []
        for raw in raws:
            batch = _parse(federation_pb2.EntryBatch, raw, self._target)
            if batch.start != start + len(leaves):
                raise PeerError(
                    f"entries batch at {batch.start}, expected {start + len(leaves)}", self._target
                )
            leaves.extend(batch.leaves)
        if len(leaves) != end - start:
            raise PeerError(
                f"asked for entries {start}..{end}, got up to {start + len(leaves)}", self._target
            )
        return leaves

    async def get_consistency_proof(
        self, origin: str, size1: int, size2: int, *, timeout: float
    ) -> list[bytes]:
        request = federation_pb2.ConsistencyRequest(origin=origin, size1=size1, size2=size2)
        response = await self._unary(
            "get_consistency_proof", request, federation_pb2.ProofResponse, timeout
        )
        return list(response.hashes)

    async def get_key_history(
        self, origin: str, size: int, *, timeout: float
    ) -> list[federation_pb2.ProvenEntry]:
        request = federation_pb2.KeyHistoryRequest(origin=origin, size=size)
        response = await self._unary("get_key_history", request, federation_pb2.KeyHistory, timeout)
        return list(response.handovers)

    async def put_cosignature(self, cosigned_note: bytes, *, timeout: float) -> None:
        request = federation_pb2.CosignatureRequest(cosigned_note=cosigned_note)
        response = await self._unary(
            "put_cosignature", request, federation_pb2.CosignatureResponse, timeout
        )
        if not response.stored:
            raise PeerError("the cosignature was not stored", node_id=self._target)

    async def fetch_record(
        self, request: federation_pb2.RecordRequest, *, timeout: float
    ) -> federation_pb2.RecordResponse:
        return await self._unary("fetch_record", request, federation_pb2.RecordResponse, timeout)

    async def search(
        self, request: federation_pb2.SearchRequest, *, timeout: float
    ) -> federation_pb2.SearchResponse:
        return await self._unary("search", request, federation_pb2.SearchResponse, timeout)

    async def hit_no_hit(
        self, request: federation_pb2.HitRequest, *, timeout: float
    ) -> federation_pb2.HitResponse:
        return await self._unary("hit_no_hit", request, federation_pb2.HitResponse, timeout)

    async def get_blob(self, origin: str, digest: str, *, timeout: float) -> bytes:
        request = federation_pb2.BlobRequest(origin=origin, digest=digest)
        raws = await self._call("get_blob", request, timeout)
        assert isinstance(raws, list)
        return join_blob_chunks(
            [_parse(federation_pb2.BlobChunk, raw, self._target) for raw in raws], self._target
        )

    async def transfer_zero_fir(
        self, handover: federation_pb2.ZeroFirHandover, *, timeout: float
    ) -> federation_pb2.ZeroFirAcceptance:
        return await self._unary(
            "transfer_zero_fir", handover, federation_pb2.ZeroFirAcceptance, timeout
        )

    async def transfer_case(
        self, handover: federation_pb2.CaseHandover, *, timeout: float
    ) -> federation_pb2.CaseAcceptance:
        return await self._unary("transfer_case", handover, federation_pb2.CaseAcceptance, timeout)

    async def get_revocations(self, *, timeout: float) -> list[bytes]:
        response = await self._unary(
            "get_revocations",
            federation_pb2.RevocationsRequest(),
            federation_pb2.RevocationsResponse,
            timeout,
        )
        return list(response.signed_revocations)

    async def gossip(
        self, notes: Sequence[bytes], *, timeout: float
    ) -> federation_pb2.GossipResponse:
        request = federation_pb2.GossipRequest(notes=notes)
        return await self._unary("gossip", request, federation_pb2.GossipResponse, timeout)

    async def announce(
        self, request: federation_pb2.AnnounceRequest, *, timeout: float
    ) -> federation_pb2.AnnounceResponse:
        return await self._unary("announce", request, federation_pb2.AnnounceResponse, timeout)

    async def get_directory(
        self, request: federation_pb2.DirectoryRequest, *, timeout: float
    ) -> federation_pb2.DirectoryPage:
        return await self._unary("get_directory", request, federation_pb2.DirectoryPage, timeout)

    async def lookup_office(self, node_id: str, *, timeout: float) -> federation_pb2.DirectoryPage:
        request = federation_pb2.LookupRequest(node_id=node_id)
        return await self._unary("lookup_office", request, federation_pb2.DirectoryPage, timeout)

    async def watch(
        self, request: federation_pb2.WatchRequest, *, timeout: float
    ) -> federation_pb2.WatchResponse:
        return await self._unary("watch", request, federation_pb2.WatchResponse, timeout)

    async def alert(
        self, request: federation_pb2.AlertRequest, *, timeout: float
    ) -> federation_pb2.AlertResponse:
        return await self._unary("alert", request, federation_pb2.AlertResponse, timeout)


def _parse(message_type: type[M], raw: bytes, node_id: str) -> M:
    message = message_type()
    try:
        message.ParseFromString(raw)
    except DecodeError:
        raise PeerError(f"malformed {message_type.__name__} answer", node_id=node_id) from None
    return message
