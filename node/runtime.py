"""A node at work: the one composition root, and the trio loop that runs everything a node does.

`serve` opens the station's records, the replicas it holds and their indexes, starts the gRPC
server (mutual TLS, health, reflection) on grpc's own threads, and runs one replication loop per
followed child, a revocation exchange with every peer, the storage scrub and (with `http`) the
web UI, all in one trio nursery (structured concurrency: nothing outlives `serve`). gRPC
handlers reach the node through the thread-safe `StationPeerNode`; trio code reaches peers
through `Peers`.

Only this module wires the layers together: the web UI gets the federation as two callables in
its `WebContext`, so `node.web` never imports `node.peers`.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
from prometheus_client import CollectorRegistry

from federation import tls
from federation.blobs import BlobFollower, NamedBlob, follow_blobs_forever
from federation.fanout import FederatedSearchResult
from federation.gossip import GossipBook
from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerClient, PeerIdentity
from federation.metrics import OfficeStatus, ReplicaContact, office_statuses, replica_figures
from federation.replicas import Replica, ReplicaSet
from federation.replication import (
    Alert,
    Progress,
    ReplicaFollower,
    Witness,
    recover_from_parent,
    resync_own_log,
)
from federation.replication_loop import FollowerWakeups, follow_forever
from federation.service import PeerService, audited_call_quota
from federation.standby import find_takeover
from federation.trust.revocation import RevocationSet
from ledger.errors import (
    CctnsError,
    InputError,
    PeerError,
    PeerUnavailable,
    StoreError,
    UsageError,
    VerificationError,
)
from ledger.log import now_ms
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir, StandbyConfig
from node.metrics import NodeFigures, node_registry
from node.peers.clients import Peers, hand_over_case, hand_over_zero_fir
from node.peers.directory import NodeDirectory, announce_to_parent, refresh_from_parent
from node.peers.faces import on_blob_held
from node.peers.fingerprints import on_slip_held
from node.peers.peer_node import StationPeerNode
from node.peers.replica_index import ReplicaIndexes
from node.peers.standby import Standby
from node.station import audit as station_audit
from node.station import photos
from node.station.core import SYSTEM_OFFICER, Station
from node.station.scrub import (
    SCRUB_CHUNK,
    SCRUB_INTERVAL,
    SCRUB_RATE,
    BlobScrub,
    ScrubPass,
    StorageAlerts,
    alert_on_failure,
)
from node.web.app import create_app, create_metrics_app
from node.web.auth import accounts_for, session_secret
from node.web.deps import WebContext
from node.web.server import serve_http
from protos import federation_pb2, ledger_pb2, records_pb2

log = logging.getLogger(__name__)

REVOCATION_INTERVAL = 30.0
PEER_TIMEOUT = 5.0
# Watch lists (docs/watch.md): how often watches go up and alerts down, how often every watch is
# handed up again (a parent restored from an old backup), and how many go in one call.
WATCH_INTERVAL = 5.0
WATCH_REFRESH = 30 * 60.0
WATCH_BATCH = 2000
ALERT_BATCH = 500
SCRUB_OPEN_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ScrubPace:
    """How hard the background scrub works: at most `rate` entries a second (0: no scrub),
    a pass every `interval` seconds after the last one ended."""

    rate: float = SCRUB_RATE
    interval: float = SCRUB_INTERVAL


@dataclass
class NodeParts:
    """Everything a running node holds open."""

    data_dir: DataDir
    station: Station
    peers: Peers
    revocations: RevocationSet
    replicas: ReplicaSet
    replica_indexes: ReplicaIndexes
    local: StationPeerNode

    def authenticate(self, context: object) -> PeerIdentity:
        return tls.peer_identity(context, self.revocations)  # type: ignore[arg-type]

    def close(self) -> None:
        self.replica_indexes.close()
        self.replicas.close()
        self.station.close()


@contextmanager
def open_node(data_dir: DataDir) -> Iterator[NodeParts]:
    """Opens a federated node's parts (records, replicas, indexes, keys); closes them after."""
    peers = Peers.load(data_dir)
    revocations = RevocationSet.load(data_dir.path, peers.credentials.root_pem)
    # The directory checks entries against the revocations this node knows (and learns).
    peers.directory = NodeDirectory.open(data_dir, peers.credentials, revocations)
    with alert_on_failure(data_dir, "ledger"):
        station = Station.open(data_dir)
    indexes = ReplicaIndexes(data_dir.path / "replicas", station.config.aggregate_url)

    def on_alert(alert: Alert) -> None:
        log.error("EQUIVOCATION by %s: %s", alert.origin, alert.detail)
        event = alert.event()
        station.ledger.append(
            ledger_pb2.EntryBody(officer_id=SYSTEM_OFFICER, replication_event=event)
        )

    try:
        witness = Witness(
            key=data_dir.load_key(),
            name=station.config.origin,
            clock=lambda: int(time.time()),
            # Readers accept a cosignature up to max_age_minutes old: renew it well within that.
            refresh_seconds=max(60, station.config.witness.max_age_minutes * 15),
        )
        replicas = ReplicaSet(
            data_dir.path / "replicas",
            witness=witness,
            on_verified=indexes.on_verified,
            on_alert=on_alert,
        )
    except BaseException:
        station.close()
        raise
    indexes.replicas = replicas
    for entry in peers.federation.peers:
        if entry.follow:
            replicas.follow(entry.address.origin, entry.address.ledger_key)
    for child in _directory_children(peers):
        replicas.follow(child.origin, child.ledger_key)
    indexes.catch_up_all()
    local = StationPeerNode(
        station,
        cosignature_dir=data_dir.path / "cosignatures",
        replicas=replicas,
        replica_indexes=indexes,
        revocations=revocations,
        directory=peers.directory,
    )
    parts = NodeParts(data_dir, station, peers, revocations, replicas, indexes, local)
    try:
        yield parts
    finally:
        parts.close()


def _directory_children(peers: Peers) -> list[PeerAddress]:
    """The offices of this node's subtree the directory names (children, their children, ...,
    at work) that federation.toml does not already list: a higher office holds a verified
    replica of every log below it, each followed from the office itself (as the `follow = true`
    peers of a hand-written list were), so that a district that is down does not stop the
    state node's copy of its stations."""
    listed = {entry.address.node_id for entry in peers.federation.peers}
    if peers.directory is None:
        return []
    return [
        office.peer_address()
        for office in peers.directory.descendants()
        if office.node_id not in listed
    ]


async def _keep_directory(
    parts: NodeParts,
    interval: float,
    follow_child: Callable[[PeerAddress], Awaitable[None]],
    revocation_clients: list[GrpcPeerClient],
) -> None:
    """The node's directory at work, forever (docs/directory.md): takes in entries left for it,
    drops revoked ones, states its own entry, announces itself to its parent (on start: how a
    returning child says it is back; then every round, which the parent notes as last seen)
    and reads the parent's changes; starts following children that joined; saves it all.
    The parent is also asked for revocations (a federation.toml with no [[peers]])."""
    node = parts.peers.directory
    assert node is not None
    parent_id = parts.peers.federation.parent
    asks_parent = parent_id and parent_id not in {c.node_id for c in revocation_clients}
    rounds = 0
    while True:
        try:
            await trio.to_thread.run_sync(node.take_pending)
            removed = node.directory.prune_revoked()
            if removed:
                log.warning("revoked offices left the directory: %s", ", ".join(removed))
            if parent_id:
                await _talk_to_parent(parts, parent_id, first=rounds == 0)
            else:
                node.state()
        except UsageError as exc:
            log.error("directory: %s", exc)
        if asks_parent and rounds == 0:
            try:
                revocation_clients.append(parts.peers.client(parts.peers.address(parent_id)))
            except InputError as exc:
                log.warning("revocations from the parent: %s", exc)
        for child in _directory_children(parts.peers):
            await follow_child(child)
        await trio.to_thread.run_sync(node.save if rounds % 10 == 0 else node.save_if_changed)
        rounds += 1
        await trio.sleep(interval)


async def _talk_to_parent(parts: NodeParts, parent_id: str, *, first: bool) -> None:
    """One round with the parent: announce, then read its directory's changes."""
    node = parts.peers.directory
    assert node is not None
    try:
        address = parts.peers.address(parent_id)
    except InputError as exc:
        log.warning("directory: the parent %s cannot be reached: %s", parent_id, exc)
        return
    client = parts.peers.client(address)
    try:
        version = await announce_to_parent(node, client, timeout=PEER_TIMEOUT)
        if first:
            log.info("announced to the parent %s (its directory at version %d)", parent_id, version)
        if version != node.parent_version or first:
            got = await refresh_from_parent(node, client, timeout=PEER_TIMEOUT)
            if got.accepted or got.removed:
                log.info(
                    "directory: %d offices new or changed, %d removed, from %s",
                    len(got.accepted),
                    len(got.removed),
                    parent_id,
                )
    except (PeerUnavailable, PeerError, VerificationError) as exc:
        log.warning("directory: parent %s: %s", parent_id, exc)
    finally:
        client.close()


async def _follow_blobs(
    parts: NodeParts, follower: ReplicaFollower, client: PeerClient, poll_interval: float
) -> None:
    """Fetches the photos (and other blobs) the replica's verified entries name, checked against
    their digests, into the node's blob store; their faces into its face gallery, their
    ten-prints into its fingerprint gallery (federation/blobs.py, docs/photos.md,
    docs/fingerprints.md)."""
    blobs = parts.station.blobs
    station = parts.station
    faces = on_blob_held(lambda: photos.gallery(station), blobs)
    slips = on_slip_held(station)

    def held(named: NamedBlob) -> None:
        faces(named)  # a photo's face into the face gallery
        slips(named)  # a ten-print's finger into the fingerprint gallery

    keeper = BlobFollower(Replica(follower), blobs, on_stored=held)
    await follow_blobs_forever(keeper, client, poll_interval=poll_interval)


async def _gossip_forever(peers: Peers, interval: float) -> None:
    """Hands the newest checkpoints this node saw of other logs to its parent, forever, so a
    node showing different logs to different readers is caught (federation/gossip.py)."""
    while True:
        await trio.sleep(interval)
        try:
            answer = await peers.gossip(timeout=PEER_TIMEOUT)
        except (PeerUnavailable, PeerError) as exc:
            log.debug("gossip to the parent: %s", exc)
            continue
        if answer is not None and answer.equivocating:
            log.error("the parent holds evidence against %s", ", ".join(answer.equivocating))


async def _watch_lists(parts: NodeParts, interval: float) -> None:
    """Watch lists (docs/watch.md), forever: hands this node's own watches (and, on an office
    with offices below it, those they handed up) to the parent when they change, and all of them
    again every WATCH_REFRESH; tells each watcher's node of the records found for its watches,
    each told read audited in this node's log like an answered search."""
    own = parts.station.config.node_id
    sent_at = 0
    full_at = 0.0
    while True:
        await trio.sleep(interval)
        now = now_ms()
        full = trio.current_time() - full_at > WATCH_REFRESH or not full_at
        try:
            await _hand_up(parts, own, since=0 if full else sent_at)
            sent_at = now
            if full:
                full_at = trio.current_time()
        except (PeerUnavailable, PeerError, InputError) as exc:
            log.debug("watches to the parent: %s", exc)
        if parts.station.config.role != "station":
            await _deliver_alerts(parts)


async def _hand_up(parts: NodeParts, own: str, *, since: int) -> None:
    watchlist = parts.station.watchlist
    mine = watchlist.watches() if since == 0 else watchlist.unsent()
    items = [
        federation_pb2.WatchItem(
            watcher_node_id=own, watch_id=w.watch_id, officer_id=w.officer_id, kind=w.kind,
            value=w.value, cancelled=bool(w.cancelled_ms),
        )
        for w in mine
    ]  # fmt: skip
    if parts.station.config.role != "station":
        items += [
            federation_pb2.WatchItem(
                watcher_node_id=watcher, watch_id=watch_id, officer_id=officer, kind=kind,
                value=value, cancelled=cancelled,
            )
            for watcher, watch_id, officer, kind, value, cancelled in (
                parts.replica_indexes.aggregate.watches.held(updated_since=since)
            )
            if watcher != own
        ]  # fmt: skip
    for start in range(0, len(items), WATCH_BATCH):
        stamp = now_ms()
        if await parts.peers.hand_up_watches(
            items[start : start + WATCH_BATCH], timeout=PEER_TIMEOUT
        ):
            watchlist.sent(mine, stamp)


async def _deliver_alerts(parts: NodeParts) -> None:
    book = parts.replica_indexes.aggregate.watches
    for watcher, hits in book.pending(limit=ALERT_BATCH).items():
        alerts = [
            federation_pb2.WatchAlert(
                watcher_node_id=watcher, watch_id=h.watch_id, origin=h.origin, index=h.index,
                ref=h.ref, detail=h.detail, found_at_ms=h.found_ms,
            )
            for h in hits
        ]  # fmt: skip
        try:
            await parts.peers.send_alerts(watcher, alerts, timeout=PEER_TIMEOUT)
        except (PeerUnavailable, PeerError, InputError) as exc:
            log.info("alerts for %s not delivered yet: %s", watcher, exc)
            continue
        for hit in hits:
            office = hit.origin.split("/", 1)[-1]
            station_audit.append_audit(
                parts.station,
                ledger_pb2.AuditEntry(
                    asker_node_id=watcher, asker_officer_id=hit.officer_id,
                    purpose="watch list", case_ref=hit.watch_id,
                    query_kind=f"watch:{hit.kind}", query=hit.value,
                    returned_refs=[f"{hit.ref} @ {office}"], full_record=False,
                ),
            )  # fmt: skip
        book.delivered(hits)


async def _exchange_revocations(
    parts: NodeParts, clients: list[GrpcPeerClient], interval: float
) -> None:
    """Learns revocations from every peer, forever: a revocation reaches every node."""
    while True:
        for client in clients:
            try:
                records = await client.get_revocations(timeout=PEER_TIMEOUT)
            except (PeerUnavailable, PeerError) as exc:
                log.debug("revocations from %s: %s", client.node_id, exc)
                continue
            for record in records:
                try:
                    if parts.revocations.add(record):
                        log.warning("learned a revocation from %s", client.node_id)
                except VerificationError as exc:
                    log.warning("bad revocation record from %s: %s", client.node_id, exc)
        await trio.sleep(interval)


async def reconcile_with_parent(data_dir: DataDir, *, timeout: float = PEER_TIMEOUT) -> int:
    """Before the node appends again: does its parent hold more of this node's log than the
    local store (a node restored from an old backup, or a store that lost acknowledged
    entries, which its high-water mark shows)? Then those entries are fetched back and verified
    against the parent-held checkpoint first, so the node never forks its own log.
    Returns how many entries were recovered. An unreachable parent does not stop a station
    from working (it must work offline for days), unless the mark shows entries are missing:
    then `Station.open` refuses (EntriesLost) until they are back.

    When the entries recovered hold a takeover (federation/standby.py), this directory is an
    old primary that its standby replaced: it is marked a standby of the new primary (where
    this node's address now leads) and UsageError says so; it never appends again."""
    data_dir.require_primary()
    peers = Peers.load(data_dir)
    parent_id = peers.federation.parent
    config = data_dir.load_config()
    public = bytes(data_dir.load_key().verify_key)
    federation = peers.federation
    with RocksDBLogStore.open(data_dir.ledger_path) as store:
        mark = MarkFile(data_dir.mark_path).read()
        lost = mark is not None and mark.size > store.size()
        if mark is not None and lost:
            log.error(
                "the log has lost %d acknowledged entries: the store holds %d, its high-water "
                "mark covers %d; %s",
                mark.size - store.size(),
                store.size(),
                mark.size,
                f"recovering them from the parent {parent_id}" if parent_id else "no parent",
            )
        if not parent_id:
            return 0
        parent = peers.client(peers.address(parent_id))
        try:
            await resync_own_log(store, config.origin, public, parent, timeout=timeout)
            return 0
        except UsageError as behind:
            log.warning("%s", behind)
            held = store.size()
            recovered = await recover_from_parent(
                store, config.origin, public, parent, timeout=timeout
            )
            log.warning("recovered %d entries of the own log from the parent", recovered)
            _refuse_if_taken_over(data_dir, store, held, federation.listen)
            return recovered
        except (PeerUnavailable, PeerError) as exc:
            then = "the missing entries stay missing" if lost else "starting from the local log"
            log.warning("parent %s not reachable (%s): %s", parent_id, exc, then)
            return 0
        finally:
            parent.close()


def _refuse_if_taken_over(
    data_dir: DataDir, store: RocksDBLogStore, held: int, address: str
) -> None:
    """UsageError, and standby.toml, when the own log's entries from `held` on (recovered from
    the parent) hold a takeover: another holder of this node's key continued the log."""
    found = find_takeover(store, held)
    if found is None:
        return
    index, event = found
    reason = f"replaced: the log was taken over at entry {index}, {event.detail}"
    data_dir.mark_standby(StandbyConfig(address, reason))
    raise UsageError(
        f"this node was replaced by its standby: the log continued elsewhere from entry {index} "
        f"({event.detail}). {data_dir.path} now holds the log up to the parent's checkpoint "
        "and is marked a standby; it will not append"
    )


# Young collections of the cyclic garbage collector every this many allocations, not 700.
YOUNG_COLLECTION_EVERY = 10_000


def settle_heap() -> None:
    """Once a serving process has started: what start-up left alive (modules, protobuf
    descriptors, the opened stores' caches, the web app) is frozen out of the cyclic garbage
    collector's walks, and its young collections run less often.

    Each full collection otherwise walks that whole start-up heap again, and a replica's
    catch-up or a stream of entries allocates millions of short-lived objects (a batch, its
    leaves, the protobuf messages) that set collections off: in the federation bench the
    serving child spent about a fifth of its CPU in the collector. Frozen once, at start-up
    only: objects made later stay collectable as before (a process that froze after every full
    collection would keep whatever cyclic garbage was in flight at each one), and refcounting
    frees everything non-cyclic as always.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_EVERY), middle, old)


async def serve(
    data_dir: DataDir,
    *,
    poll_interval: float = 2.0,
    revocation_interval: float = REVOCATION_INTERVAL,
    http: str = "",
    metrics: str = "",
    scrub: ScrubPace = ScrubPace(),
    task_status: trio.TaskStatus[Ready] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Runs the node until cancelled (or SIGTERM/SIGINT); reports where it serves when ready.
    `metrics`: also serve GET /metrics alone on HOST:PORT (the web UI serves it too)."""
    started = time.time()
    _secure(data_dir)
    await reconcile_with_parent(data_dir)
    with open_node(data_dir) as parts:
        limits = parts.station.config.limits
        service = PeerService(
            parts.local,
            quota=audited_call_quota(limits.peer_audited_calls),
            gossip=GossipBook(parts.replicas),
        )
        federation = parts.peers.federation
        server, port = start_server(
            PeerServicer(service, parts.authenticate),
            federation.listen,
            credentials=tls.server_credentials(parts.peers.credentials),
        )
        clients = [parts.peers.client(entry.address) for entry in federation.peers]
        # A child that announces itself (Announce rpc, in a gRPC thread) ends its follower's
        # back-off at once.
        wakeups = FollowerWakeups()
        parts.local.on_child_announced = wakeups.wake
        retry_cap = max(federation.retry_cap, poll_interval)  # federation.toml retry_cap_seconds
        followed = {entry.address.node_id for entry in federation.peers if entry.follow}
        contact = ReplicaContact()
        registry, offices = _monitoring(data_dir, parts, contact, started)
        try:
            async with trio.open_nursery() as nursery:
                for client, entry in zip(clients, federation.peers, strict=True):
                    if entry.follow:
                        follower = parts.replicas.follow(
                            entry.address.origin, entry.address.ledger_key
                        )
                        await nursery.start(
                            functools.partial(
                                follow_forever,
                                follower,
                                client,
                                poll_interval=poll_interval,
                                max_backoff=retry_cap,
                                wakeup=wakeups.for_child(entry.address.node_id),
                                on_progress=contact.on_progress,
                            )
                        )
                        nursery.start_soon(_follow_blobs, parts, follower, client, poll_interval)
                nursery.start_soon(_exchange_revocations, parts, clients, revocation_interval)

                async def follow_child(child: PeerAddress) -> None:
                    """Follows an office of the subtree the directory names (it joined, or
                    joined before)."""
                    if child.node_id in followed:
                        return
                    followed.add(child.node_id)
                    client = parts.peers.client(child)
                    clients.append(client)
                    log.info("following %s (from the directory)", child.node_id)
                    child_follower = parts.replicas.follow(child.origin, child.ledger_key)
                    await nursery.start(
                        functools.partial(
                            follow_forever,
                            child_follower,
                            client,
                            poll_interval=poll_interval,
                            max_backoff=retry_cap,
                            wakeup=wakeups.for_child(child.node_id),
                            on_progress=contact.on_progress,
                        )
                    )
                    nursery.start_soon(_follow_blobs, parts, child_follower, client, poll_interval)

                nursery.start_soon(
                    _keep_directory, parts, revocation_interval, follow_child, clients
                )
                gossip_minutes = parts.station.config.witness.gossip_minutes
                if gossip_minutes and federation.parent:
                    nursery.start_soon(_gossip_forever, parts.peers, gossip_minutes * 60.0)
                nursery.start_soon(_watch_lists, parts, WATCH_INTERVAL)
                nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
                if scrub.rate:
                    nursery.start_soon(scrub_forever, data_dir, parts.station, scrub)
                if http:
                    context = web_context(
                        data_dir, parts.station, parts.peers, parts.replica_indexes
                    )
                    context.metrics, context.offices = registry, offices
                    await nursery.start(serve_http, create_app(context), http)
                    log.info("web UI on http://%s/", http)
                scraped = ""
                if metrics:
                    allow = parts.station.config.metrics
                    binds = await nursery.start(
                        serve_http, create_metrics_app(registry, allow), metrics
                    )
                    scraped = " ".join(binds)
                    log.info("metrics on %s/metrics", scraped)
                log.info("%s serving on port %d", parts.station.config.node_id, port)
                settle_heap()
                peer = f"{_host(federation.listen)}:{port}"
                task_status.started(
                    Ready(parts.station.config.node_id, peer, http, metrics=scraped)
                )
                await trio.sleep_forever()
        finally:
            server.stop(grace=1.0).wait()
            for client in clients:
                client.close()


async def serve_web_only(
    data_dir: DataDir,
    http: str,
    *,
    scrub: ScrubPace = ScrubPace(),
    task_status: trio.TaskStatus[Ready] = trio.TASK_STATUS_IGNORED,
) -> None:
    """A station's web UI on its own: the node's peers when it has joined a federation, none
    before (a node not yet enrolled, tests, benches)."""
    _secure(data_dir)
    with alert_on_failure(data_dir, "ledger"):
        station = Station.open(data_dir)
    try:
        peers = Peers.load(data_dir) if data_dir.federated() else None
        context = web_context(data_dir, station, peers)
        context.metrics = node_registry(NodeFigures(data_dir, station, started=time.time()))
        app = create_app(context)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            if scrub.rate:
                nursery.start_soon(scrub_forever, data_dir, station, scrub)
            binds = await nursery.start(serve_http, app, http)
            log.info("web UI on %s", binds)
            settle_heap()
            task_status.started(Ready(station.config.node_id, "", " ".join(binds)))
    finally:
        station.close()


async def serve_standby(
    data_dir: DataDir,
    *,
    primary: str = "",
    poll_interval: float = 2.0,
    task_status: trio.TaskStatus[Ready] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Follows the node's primary as its standby until cancelled (or SIGTERM/SIGINT); serves
    nothing. Reports, once following, the primary it follows."""
    standby = Standby.open(data_dir, primary)
    log.info("standby of %s at %s: %s", standby.config.origin, standby.primary,
             standby.state().describe())  # fmt: skip

    def report(progress: Progress) -> None:
        if progress.fetched:
            log.info("standby %s", standby.state().describe())

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_on_signal, nursery.cancel_scope)
            await nursery.start(
                functools.partial(
                    follow_forever,
                    standby.follower,
                    standby.client,
                    poll_interval=poll_interval,
                    on_progress=report,
                )
            )
            # The photos and slips the log names come across too: a takeover must not leave
            # the node's entries naming images it does not hold (docs/disaster-recovery.md).
            nursery.start_soon(
                functools.partial(
                    follow_blobs_forever,
                    standby.blob_follower,
                    standby.client,
                    poll_interval=poll_interval,
                )
            )
            settle_heap()
            task_status.started(Ready(standby.config.node_id, "", "", following=standby.primary))
    finally:
        standby.close()


# A face search's deadline: each office answering embeds the probe (about a quarter of a second
# on a loaded two-core node, a few seconds when the slower detector is needed) before it looks.
FACE_SEARCH_DEADLINE = 10.0


def web_context(
    data_dir: DataDir,
    station: Station,
    peers: Peers | None,
    replica_indexes: ReplicaIndexes | None = None,
) -> WebContext:
    """What the web UI needs from the node: accounts, session secret, and the federation as a
    search and a Zero FIR hand-over (None on a node with no federation)."""
    search = hand_over = transfer_case = face_search = None
    if peers is not None:
        federation = peers

        async def face_search(
            probe: bytes, officer_id: str, case_ref: str, purpose: str
        ) -> FederatedSearchResult:
            """A search by photo asked of the offices this node knows (docs/photos.md): each
            embeds the probe and ranks its photos, audited there like every search."""
            request = federation_pb2.SearchRequest(
                kind="face",
                probe=probe,
                limit=20,
                context=federation_pb2.QueryContext(
                    officer_id=officer_id, purpose=purpose, case_ref=case_ref
                ),
            )
            return await federation.search(request, deadline=FACE_SEARCH_DEADLINE)

        async def search(kind: str, query: str, officer_id: str) -> FederatedSearchResult:
            request = federation_pb2.SearchRequest(
                kind=kind,
                query=query,
                limit=20,
                context=federation_pb2.QueryContext(
                    officer_id=officer_id, purpose="investigation", case_ref="web search"
                ),
            )
            return await federation.search(request, deadline=3.0)

        async def hand_over(zero_ref: str, to_node_id: str, officer_id: str) -> str:
            status = await hand_over_zero_fir(station, federation, zero_ref, to_node_id, officer_id)
            return str(status.get("message", ""))

        async def transfer_case(
            fir_number: str, order: records_pb2.CaseTransfer, officer_id: str
        ) -> str:
            status = await hand_over_case(station, federation, fir_number, order, officer_id)
            return str(status.get("message", ""))

    return WebContext(
        station=station,
        accounts=accounts_for(data_dir),
        secret=session_secret(data_dir),
        federated_search=search,
        federated_face_search=face_search,
        transfer_zero_fir=hand_over,
        transfer_case=transfer_case,
        data_dir=data_dir.path,
        replica_indexes=replica_indexes,
        limits=station.config.limits,
        offices_above=(
            peers.directory.offices_above
            if peers is not None and peers.directory is not None
            else None
        ),
    )


def _monitoring(
    data_dir: DataDir, parts: NodeParts, contact: ReplicaContact, started: float
) -> tuple[CollectorRegistry, Callable[[], list[OfficeStatus]]]:
    """The node's metrics registry (GET /metrics) and the rows of its staff page /network:
    the replicas held, federation.toml's children and, when the node keeps one, its directory
    (docs/operators.md)."""
    followed = [entry.address for entry in parts.peers.federation.peers if entry.follow]
    children = {peer.origin: peer.node_id for peer in followed}
    figures = NodeFigures(data_dir, parts.station, parts.replicas, contact, children, started)
    witness = parts.station.config.origin

    def offices() -> list[OfficeStatus]:
        # The node's directory of offices (federation/directory.py), when it keeps one.
        directory = parts.local.directory
        listed = []
        if directory is not None:
            listed = [entry.node_id for entry in directory.subtree(parts.station.config.node_id)]
        return office_statuses(
            [(peer.node_id, peer.origin) for peer in followed],
            replica_figures(parts.replicas, witness, contact),
            now=time.time(),
            storage_alerts=[alert.store for alert in StorageAlerts(data_dir).all()],
            directory=directory,
            listed=listed,
            started=started,
        )

    return node_registry(figures), offices


async def scrub_forever(data_dir: DataDir, station: Station, pace: ScrubPace) -> None:
    """Re-verifies the node's stores from the disk, pass after pass, at `pace`. What a pass
    finds is logged and recorded as a storage alert (`cctns node alerts`); a log that failed
    takes no more entries (`Ledger.halt`). The scrub then stops: the node needs its operator.
    A damaged blob (an image) is recorded and the scrub goes on: the log is sound."""
    damaged: frozenset[str] = frozenset()
    while True:
        found = await _scrub_pass(data_dir, pace.rate)
        if found is not None:
            store, error = found
            log.error("STORAGE FAULT in %s: %s", store, error)
            try:
                StorageAlerts(data_dir).add(store, f"{type(error).__name__}: {error}")
            except StoreError as unrecorded:
                log.error("%s", unrecorded)
            if store == "ledger":
                station.ledger.halt("the scrub found its log damaged (`cctns node alerts`)")
                log.error("the node takes no more entries until its log is repaired")
            return
        damaged = await _scrub_blobs(data_dir, pace.rate, damaged)
        await trio.sleep(pace.interval)


async def _scrub_blobs(data_dir: DataDir, rate: float, reported: frozenset[str]) -> frozenset[str]:
    """Re-hashes every blob, paced like the log (one `CHECK_CHUNK` of bytes per pause); each
    damaged blob is recorded as it is found, but not again when the last pass did (`reported`).
    Returns the digests found damaged."""
    checking = BlobScrub(data_dir, reported=reported)
    try:
        # Not abandoned on cancel: a step ends within its chunk.
        done = False
        while not done:
            done = await trio.to_thread.run_sync(checking.step)
            await trio.sleep(0 if done else SCRUB_CHUNK / rate)
    finally:
        checking.close()
    return checking.damaged


async def _scrub_pass(data_dir: DataDir, rate: float) -> tuple[str, CctnsError] | None:
    """One pass, paced; (store, error) for what it found, None when all was well."""
    failure: StoreError | None = None
    for _ in range(SCRUB_OPEN_ATTEMPTS):
        try:
            checking = await trio.to_thread.run_sync(ScrubPass, data_dir)
            break
        except StoreError as exc:
            # The snapshot may have raced the node replacing its files: try again, then report.
            failure = exc
            await trio.sleep(1.0)
        except VerificationError as exc:
            return "ledger", exc
    else:
        assert failure is not None
        return "ledger", failure
    try:
        # Not abandoned on cancel: a step ends within its chunk, before the snapshot closes.
        done = False
        while not done:
            done = await trio.to_thread.run_sync(checking.step)
            await trio.sleep(0 if done else SCRUB_CHUNK / rate)
        report = await trio.to_thread.run_sync(checking.finish)
    except (VerificationError, StoreError) as exc:
        return checking.store, exc
    finally:
        checking.close()
    log.info("scrub: %d entries and %d checkpoints verified", report.size, report.checkpoints)
    return None


def _secure(data_dir: DataDir) -> None:
    """The data directory, its owner's only before the node opens anything in it."""
    tightened = data_dir.secure()
    if tightened:
        log.warning(
            "%d paths in %s were readable by others: now owner-only", len(tightened), data_dir.path
        )


async def _stop_on_signal(scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for received in signals:
            log.info("%s: stopping", signal.Signals(received).name)
            notify_systemd("STOPPING=1")
            scope.cancel()
            return


@dataclass(frozen=True, slots=True)
class Ready:
    """Where a node serves, once it does: what the ready line says."""

    node_id: str
    peer: str  # host:port of the gRPC peer service ("" for the web UI alone)
    web: str  # the web UI's address(es) ("" without one)
    following: str = ""  # a standby: the primary's host:port
    metrics: str = ""  # `--metrics`: where GET /metrics is served on its own

    def line(self) -> str:
        """One line on stdout for supervisors and tests: `cctns ready node=ID peer=H:P web=U`,
        for a standby ` following=H:P`, with `--metrics` ` metrics=URL`."""
        line = f"cctns ready node={self.node_id} peer={self.peer or '-'} web={self.web or '-'}"
        if self.following:
            line += f" following={self.following}"
        return f"{line} metrics={self.metrics}" if self.metrics else line


def _host(listen: str) -> str:
    return listen.rsplit(":", 1)[0]


async def _run_reporting_ready(service: Callable[..., Awaitable[None]], **kwargs: Any) -> None:
    """Runs `service` and prints its ready line on stdout once it serves (flushed: a supervisor
    or a test reads it from a pipe). Nothing else is written to stdout; logs go to stderr.
    (`_run` takes a project error out of trio's group around it.)"""
    async with trio.open_nursery() as nursery:
        ready: Ready = await nursery.start(functools.partial(service, **kwargs))
        print(ready.line(), flush=True)
        notify_systemd(f"READY=1\nSTATUS={ready.line()}")


def notify_systemd(state: str) -> bool:
    """Tells systemd how the service stands (`Type=notify`, admin/systemd/cctns-node@.service):
    the sd_notify datagram to $NOTIFY_SOCKET. False, and nothing sent, when not run by systemd;
    a socket that refuses is logged, never fatal."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", address, exc)
        return False
    return True


def _run(service: Callable[..., Awaitable[None]], **kwargs: Any) -> int:
    """Runs `service` reporting its ready line; a project error it stopped on (a standby
    refused, a replaced node refused) comes out as itself, not inside trio's ExceptionGroup,
    so the command line gives its one-line message and exit code."""
    try:
        trio.run(functools.partial(_run_reporting_ready, service, **kwargs))
    except BaseExceptionGroup as group:
        errors = _leaves(group)
        if len(errors) == 1 and isinstance(errors[0], CctnsError):
            raise errors[0] from group
        raise
    return 0


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for error in group.exceptions:
        found.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return found


def run_web(data_dir: Path, http: str, *, scrub: ScrubPace = ScrubPace()) -> int:
    """Blocking entry point for `cctns node web`."""
    return _run(serve_web_only, data_dir=DataDir(data_dir), http=http, scrub=scrub)


def run_standby(data_dir: Path, *, primary: str = "", poll_interval: float = 2.0) -> int:
    """Blocking entry point for `cctns node standby`."""
    return _run(
        serve_standby, data_dir=DataDir(data_dir), primary=primary, poll_interval=poll_interval
    )


def run(
    data_dir: Path,
    *,
    poll_interval: float = 2.0,
    revocation_interval: float = REVOCATION_INTERVAL,
    http: str = "",
    metrics: str = "",
    scrub: ScrubPace = ScrubPace(),
) -> int:
    """Blocking entry point for `cctns node serve`."""
    return _run(
        serve,
        data_dir=DataDir(data_dir),
        poll_interval=poll_interval,
        revocation_interval=revocation_interval,
        http=http,
        metrics=metrics,
        scrub=scrub,
    )
