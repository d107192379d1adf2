"""What the federation layer counts for monitoring (Prometheus), and the replicas' figures.

Counted as they happen, at module level (one process is one node): every outbound peer call,
timed per rpc and peer, by the gRPC client interceptor `PeerCallMeter` that `node.peers.clients`
puts on every channel it makes; every inbound call, timed per rpc, by `served` in
federation/grpc_server.py; every rate-limit refusal, per quota (`federation.quota`, which the
peer service and the web UI's throttle both use). A node's registry takes them with
`register(registry)`.

Read when asked, never counted: the replicas a node holds (`replica_figures`): entries verified,
entries behind the child's newest checkpoint known here, when the held checkpoint was verified
(the node's own witness cosignature on it carries the time) and when the last replication round
with the child succeeded (`ReplicaContact`, fed by the replication loop's `on_progress`).
`office_statuses` turns those, federation.toml's children and (when the node keeps one) the
directory's last_seen and software version into the rows of the staff page /network, the offices
that need attention first.

Must never: block or fail a call it measures (a metric is never a reason for a call to fail);
label by anything unbounded: `peer` is a node of federation.toml, inbound calls are labelled by
rpc and status only (a state node hears from hundreds of offices), `quota` is a quota's name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from federation.replicas import origin_slug
from ledger.checkpoint import split_note

if TYPE_CHECKING:
    from federation.replicas import ReplicaSet
    from federation.replication import Progress

__all__ = [
    "PEER_CALLS",
    "PEER_CALL_FAILURES",
    "PEER_SERVED",
    "PEER_SERVED_FAILURES",
    "RATE_LIMIT_REFUSALS",
    "STALE_AFTER",
    "OfficeDirectory",
    "OfficeStatus",
    "PeerCallMeter",
    "ReplicaContact",
    "ReplicaFigures",
    "checkpoint_time",
    "office_statuses",
    "register",
    "replica_figures",
    "served",
]

# Peer calls run from a millisecond on loopback to the 30-second replication deadline on a WAN.
CALL_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A child not heard from for this long is a stale replica (the loop polls every few seconds and
# backs off to at most 5 minutes while a child is unreachable).
STALE_AFTER: Final = 3600.0

PEER_CALLS = Histogram(
    "cctns_peer_call_seconds",
    "Outbound peer calls: seconds from the call to its answer (failures included)",
    ("rpc", "peer"),
    buckets=CALL_BUCKETS,
    registry=None,
)
PEER_CALL_FAILURES = Counter(
    "cctns_peer_call_failures",
    "Outbound peer calls that failed, by gRPC status",
    ("rpc", "peer", "code"),
    registry=None,
)
PEER_SERVED = Histogram(
    "cctns_peer_served_seconds",
    "Inbound peer calls: seconds this node took to answer (failures included)",
    ("rpc",),
    buckets=CALL_BUCKETS,
    registry=None,
)
PEER_SERVED_FAILURES = Counter(
    "cctns_peer_served_failures",
    "Inbound peer calls answered with an error, by gRPC status",
    ("rpc", "code"),
    registry=None,
)
RATE_LIMIT_REFUSALS = Counter(
    "cctns_rate_limit_refusals",
    "Requests refused by a rate limit or quota (federation.quota), by quota",
    ("quota",),
    registry=None,
)
_COLLECTORS: Final = (
    PEER_CALLS,
    PEER_CALL_FAILURES,
    PEER_SERVED,
    PEER_SERVED_FAILURES,
    RATE_LIMIT_REFUSALS,
)


def register(registry: CollectorRegistry) -> None:
    """Adds the federation's counters to a node's registry."""
    for collector in _COLLECTORS:
        registry.register(collector)


def _rpc(method: str | bytes) -> str:
    name = method.decode() if isinstance(method, bytes) else method
    return name.rsplit("/", 1)[-1]


def _record_call(rpc: str, peer: str, seconds: float, code: grpc.StatusCode | None) -> None:
    PEER_CALLS.labels(rpc, peer).observe(seconds)
    if code is not None and code != grpc.StatusCode.OK:
        PEER_CALL_FAILURES.labels(rpc, peer, code.name).inc()


class PeerCallMeter(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Times every call on one peer's channel. The project calls peers with grpc's blocking
    stubs (in worker threads), so a unary continuation returns once the answer is in; a stream
    is timed until it ends, or fails, as the caller reads it."""

    def __init__(self, peer: str) -> None:
        self.peer = peer

    def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        started = time.perf_counter()
        outcome = continuation(client_call_details, request)
        code = outcome.code() if hasattr(outcome, "code") else None
        seconds = time.perf_counter() - started
        _record_call(_rpc(client_call_details.method), self.peer, seconds, code)
        return outcome

    def intercept_unary_stream(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        return _MeteredStream(
            continuation(client_call_details, request),
            _rpc(client_call_details.method),
            self.peer,
            time.perf_counter(),
        )


class _MeteredStream:
    """A streaming call as its caller sees it (iterator and grpc.Call), timed until it ends."""

    def __init__(self, call: Any, rpc: str, peer: str, started: float) -> None:
        self._call = call
        self._rpc = rpc
        self._peer = peer
        self._started = started
        self._done = False

    def __iter__(self) -> _MeteredStream:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except StopIteration:
            self._finish(grpc.StatusCode.OK)
            raise
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
            self._finish(code)
            raise

    def _finish(self, code: grpc.StatusCode) -> None:
        if not self._done:
            self._done = True
            _record_call(self._rpc, self._peer, time.perf_counter() - self._started, code)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


def served(rpc: str, seconds: float, code: grpc.StatusCode | None) -> None:
    """Counts one inbound call of `rpc` that took `seconds`, answered with `code` (None: OK)."""
    PEER_SERVED.labels(rpc).observe(seconds)
    if code is not None and code != grpc.StatusCode.OK:
        PEER_SERVED_FAILURES.labels(rpc, code.name).inc()


# -- the replicas held, read when asked ------------------------------------------------------


class ReplicaContact:
    """When each followed child last answered a whole replication round (Unix seconds), fed by
    the replication loop's `on_progress`. Thread-safe: the loop writes, scrapes read."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def on_progress(self, progress: Progress) -> None:
        """The replication loop's hook: a round with `progress.origin` succeeded just now."""
        with self._lock:
            self._last[progress.origin] = self._clock()

    def last(self, origin: str) -> float | None:
        with self._lock:
            return self._last.get(origin)


def checkpoint_time(note: bytes, witness_name: str) -> float | None:
    """When this node verified the checkpoint `note` (the time its own witness cosignature
    carries, Unix seconds), or None when it holds no such line. Read, not verified: the note
    is the node's own store's, and the figure decides nothing."""
    if not note or not witness_name:
        return None
    try:
        _, _, signatures = split_note(note)
    except Exception:  # a figure must never fail a scrape
        return None
    times = [
        int.from_bytes(line.signature[:8], "big")
        for line in signatures
        if line.key_name == witness_name and len(line.signature) == 8 + 64
    ]
    return float(max(times)) if times else None


@dataclass(frozen=True, slots=True)
class ReplicaFigures:
    """One replica held, as monitoring sees it."""

    origin: str
    verified: int  # entries the latest verified checkpoint covers
    behind: int  # entries of the newest child checkpoint known here, not yet verified
    state: str  # idle | keying | checking | fetching | quarantined
    quarantined: bool
    verified_at: float | None  # Unix seconds this node verified its latest checkpoint
    last_contact: float | None  # Unix seconds of the last successful round (this process)


def replica_figures(
    replicas: ReplicaSet, witness_name: str, contact: ReplicaContact | None = None
) -> list[ReplicaFigures]:
    """The figures of every replica held, by origin."""
    out = []
    for replica in replicas:
        follower = replica.follower
        verified = follower.verified_size
        out.append(
            ReplicaFigures(
                origin=replica.origin,
                verified=verified,
                behind=max(0, follower.target_size - verified),
                state=follower.state,
                quarantined=follower.quarantined,
                verified_at=checkpoint_time(follower.verified_note, witness_name),
                last_contact=contact.last(replica.origin) if contact is not None else None,
            )
        )
    return sorted(out, key=lambda figures: figures.origin)


# -- the offices under a node, for its staff page ----------------------------------------------


class _Listed(Protocol):
    @property
    def software_version(self) -> str: ...


class OfficeDirectory(Protocol):
    """What the page reads of the node's directory (federation/directory.py `Directory`)."""

    def get(self, node_id: str) -> _Listed | None: ...

    def last_seen(self, node_id: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class OfficeStatus:
    """One office under this node, as its staff page shows it."""

    node_id: str
    origin: str
    last_seen: float | None  # Unix seconds: the later of the last round and the directory's
    verified: int
    behind: int
    verified_at: float | None
    software_version: str  # "" when the directory does not say
    alerts: tuple[str, ...]  # "quarantined", "scrub", "stale", "behind", "never-seen"
    held: bool  # whether this node holds a replica of the office's log

    @property
    def attention(self) -> int:
        """How urgently the office needs an operator: 0 most."""
        for rank, alert in enumerate(("quarantined", "scrub", "stale", "never-seen", "behind")):
            if alert in self.alerts:
                return rank
        return 5


def office_statuses(
    children: Sequence[tuple[str, str]],
    figures: Iterable[ReplicaFigures],
    *,
    now: float,
    storage_alerts: Iterable[str] = (),
    directory: OfficeDirectory | None = None,
    listed: Iterable[str] = (),
    started: float | None = None,
) -> list[OfficeStatus]:
    """Every office under this node (`children`: (node id, origin) from federation.toml, and any
    replica held), the ones needing attention first. `storage_alerts` are the stores the scrub
    found damaged (paths in the data directory: a replica's index is under its origin's slug);
    `started`: when the node started (a child not heard from since is "never-seen" only after
    STALE_AFTER); `listed`: node ids of the directory's offices under this node, held or not."""
    by_origin = {f.origin: f for f in figures}
    origins = {origin: node_id for node_id, origin in children}
    for origin in by_origin:
        origins.setdefault(origin, origin.split("/", 1)[-1])
    known = set(origins.values())
    unheld = [node_id for node_id in dict.fromkeys(listed) if node_id not in known]
    damaged = tuple(storage_alerts)
    rows = []
    for origin, node_id in [*origins.items(), *(("", node_id) for node_id in unheld)]:
        held = by_origin.get(origin)
        entry = directory.get(node_id) if directory is not None else None
        seen = [held.last_contact] if held is not None and held.last_contact is not None else []
        if directory is not None and (at := directory.last_seen(node_id)) is not None:
            seen.append(at)
        last_seen = max(seen) if seen else None
        alerts = []
        if held is not None and held.quarantined:
            alerts.append("quarantined")
        if origin and any(store.startswith(f"replicas/{origin_slug(origin)}") for store in damaged):
            alerts.append("scrub")
        if last_seen is not None and now - last_seen > STALE_AFTER:
            alerts.append("stale")
        elif last_seen is None and (started is None or now - started > STALE_AFTER):
            alerts.append("never-seen")
        if held is not None and held.behind > 0:
            alerts.append("behind")
        rows.append(
            OfficeStatus(
                node_id=node_id,
                origin=origin,
                last_seen=last_seen,
                verified=held.verified if held else 0,
                behind=held.behind if held else 0,
                verified_at=held.verified_at if held else None,
                software_version=entry.software_version if entry is not None else "",
                alerts=tuple(alerts),
                held=held is not None,
            )
        )
    return sorted(rows, key=lambda row: (row.attention, -row.behind, row.node_id))
