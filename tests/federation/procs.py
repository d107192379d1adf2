"""A small federation of real node processes on 127.0.0.1, for the multi-process tests.

`build_federation` writes authorities, data directories, certificates and federation.toml files
(like node/demo/federation.py, smaller); `Federation` starts, stops (SIGTERM), kills (SIGKILL)
and waits for each node as its own `python -m admin.cli node serve` process, and gives test code
mutual-TLS clients that speak as any enrolled node. Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import grpc
import trio
from grpc_health.v1 import health_pb2

from federation import tls
from federation.grpc_client import GrpcPeerClient
from federation.interfaces import PeerAddress
from federation.trust.authority import Authority, create_root, enrol_node, issue_state_authority
from federation.trust.credentials import NodeCredentials
from ledger.checkpoint import Checkpoint, verify_checkpoint
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir, FederationConfig, PeerEntry, save_federation
from node.demo.federation import free_port
from node.demo.seed import seed_station
from node.station.core import Station
from protos import ledger_pb2
from tests.processes import launch_node, run_cctns, stop_node, wait_ready

T = TypeVar("T")

STATE = "kerala"
DISTRICT = "kerala/ernakulam-city"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def wait_for(
    what: str, probe: Callable[[], T | None], *, timeout: float = 60.0, every: float = 0.2
) -> T:
    """Calls `probe` until it returns something other than None or False; AssertionError
    naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def health_check(
    channel: grpc.Channel, service: str = "", *, timeout: float
) -> health_pb2.HealthCheckResponse:
    """The standard gRPC health check (grpc.health.v1) of `service` ("" for the server)."""
    check: grpc.UnaryUnaryMultiCallable[
        health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
    ] = channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    return check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)


@dataclass
class Node:
    """One node of the test federation (a process when started)."""

    name: str
    node_id: str
    role: str
    port: int
    path: Path
    ledger_key: bytes = b""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    parent_id: str = ""  # its parent's node id: the witness of its log

    @property
    def origin(self) -> str:
        return f"cctns.in/{self.node_id}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> DataDir:
        return DataDir(self.path)

    @property
    def log_path(self) -> Path:
        return self.path.parent / "logs" / f"{self.name}.log"

    def peer_address(self) -> PeerAddress:
        return PeerAddress(
            node_id=self.node_id,
            address=self.address,
            role=self.role,
            origin=self.origin,
            ledger_key=self.ledger_key,
            parent=self.parent_id,
        )

    def credentials(self) -> NodeCredentials:
        return NodeCredentials.load(self.path)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class Federation:
    """The nodes of one test federation under `base`, and their processes."""

    base: Path
    root: Authority
    state: Authority
    nodes: dict[str, Node]
    poll: float = 1.0

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    # -- processes -------------------------------------------------------------------------

    def start(self, name: str, *, wait: bool = True) -> Node:
        node = self.nodes[name]
        assert not node.running(), f"{name} is already running"
        node.log_path.parent.mkdir(exist_ok=True)
        node.process = launch_node(
            "node",
            "serve",
            "--data-dir",
            str(node.path),
            "--poll",
            str(self.poll),
            "--revocation-interval",
            "1",
            log_path=node.log_path,
        )
        if wait:
            self.wait_ready(name)
        return node

    def wait_ready(self, name: str) -> None:
        """Until the node prints its ready line (failing at once if it exits first); then it
        must answer the standard health check over mutual TLS."""
        node = self.nodes[name]
        assert node.process is not None, f"{name} was not started"
        ready = wait_ready(node.process, log_path=node.log_path, timeout=READY_TIMEOUT)
        assert ready["node"] == node.node_id and ready["peer"].endswith(f":{node.port}"), ready
        creds = tls.channel_credentials(node.credentials())
        with grpc.secure_channel(node.address, creds, options=tls.channel_options()) as ch:
            reply = health_check(ch, timeout=5.0)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def stop(self, name: str) -> None:
        """SIGTERM and wait (SIGKILL if it does not stop in time)."""
        node = self.nodes[name]
        process, node.process = node.process, None
        if process is None:
            return
        stop_node(process)

    def kill(self, name: str) -> None:
        """kill -9: no clean-up of any kind in the node."""
        node = self.nodes[name]
        process, node.process = node.process, None
        if process is None:
            return
        stop_node(process, kill=True)

    def stop_all(self) -> None:
        running = [node for node in self.nodes.values() if node.process is not None]
        for node in running:
            if node.running():
                assert node.process is not None
                node.process.send_signal(signal.SIGTERM)
        for node in running:
            self.stop(node.name)

    # -- talking to nodes ------------------------------------------------------------------

    def client(self, asker: str | NodeCredentials, target: str) -> GrpcPeerClient:
        """A mutual-TLS client to `target`, presenting `asker`'s certificate. Use inside trio."""
        creds = self.nodes[asker].credentials() if isinstance(asker, str) else asker
        return GrpcPeerClient(
            self.nodes[target].peer_address(),
            credentials=tls.channel_credentials(creds),
            options=tls.channel_options(),
            limiter=trio.CapacityLimiter(8),
        )

    def ask(
        self,
        asker: str | NodeCredentials,
        target: str,
        call: Callable[[GrpcPeerClient], Awaitable[T]],
    ) -> T:
        """Runs one async call with a fresh client (in its own trio run); returns its result."""

        async def run() -> T:
            client = self.client(asker, target)
            try:
                return await call(client)
            finally:
                client.close()

        return trio.run(run)

    def checkpoint_of(self, asker: str, target: str, origin: str = "") -> Checkpoint:
        """`target`'s signed checkpoint of `origin` (its own log by default), verified with
        the key of the log's owner."""
        note = self.ask(asker, target, lambda c: c.get_checkpoint(origin, timeout=10.0))
        owner = self.by_origin(origin) if origin else self.nodes[target]
        return verify_checkpoint(note, owner.ledger_key, owner.origin, owner.origin)

    def by_origin(self, origin: str) -> Node:
        for node in self.nodes.values():
            if node.origin == origin:
                return node
        raise KeyError(origin)

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """`cctns ARGS` as a separate process."""
        return run_cctns(*args, timeout=timeout)


@dataclass(frozen=True)
class Spec:
    """One node to build: name, role, parent name ("" for none), records to seed."""

    name: str
    role: str
    parent: str = ""
    records: int = 0
    origin_of: str = ""  # impersonate: use this other node's origin (with a key of its own)


def watch_alerts(federation: Federation, node: str) -> list[dict[str, object]]:
    """The watch-list alerts a node holds, as `cctns watch alerts` prints them."""
    done = federation.cli("watch", "alerts", "--data-dir", str(federation[node].path))
    assert done.returncode == 0, done.stderr
    found: list[dict[str, object]] = json.loads(done.stdout)["alerts"]
    return found


def await_alert(
    federation: Federation, node: str, watch_id: str, timeout: float
) -> dict[str, object]:
    """Waits until `node` holds exactly one alert for `watch_id`; returns it."""

    def told() -> bool:
        return any(a["watch_id"] == watch_id for a in watch_alerts(federation, node))

    wait_for(f"{node} told for watch {watch_id}", told, timeout=timeout, every=1.0)
    (alert,) = [a for a in watch_alerts(federation, node) if a["watch_id"] == watch_id]
    return alert


@contextmanager
def running_federation(base: Path, specs: list[Spec], *, poll: float = 1.0) -> Iterator[Federation]:
    """`build_federation`, every node started (all at once, then each waited for), stopped
    after."""
    federation = build_federation(base, specs, poll=poll)
    try:
        for spec in specs:
            federation.start(spec.name, wait=False)
        for spec in specs:
            federation.wait_ready(spec.name)
        yield federation
    finally:
        federation.stop_all()


def build_federation(base: Path, specs: list[Spec], *, poll: float = 1.0) -> Federation:
    """Authorities, data dirs, certificates and federation.toml files for `specs`.

    A parent follows its children. A spec with `origin_of` is an impostor: it claims that
    node's origin and node id, with a ledger key of its own (and a genuine certificate saying
    so), while the parent's federation.toml lists the impersonated node's real key.
    """
    root = create_root(common_name="cctns test national root")
    state = issue_state_authority(root, STATE)
    nodes: dict[str, Node] = {}
    for spec in specs:
        prefix = STATE if spec.role == "state" else DISTRICT
        node_id = f"{prefix}/{spec.origin_of or spec.name}"
        nodes[spec.name] = Node(spec.name, node_id, spec.role, free_port(), base / spec.name)
    for spec in specs:
        if spec.parent:
            nodes[spec.name].parent_id = nodes[spec.parent].node_id
    for spec in specs:
        node = nodes[spec.name]
        district = "Ernakulam City"
        config = node.data_dir.create(
            origin=node.origin, role=spec.role, district=district, station=spec.name
        )
        assert config.origin == node.origin
        node.ledger_key = bytes(node.data_dir.load_key().verify_key)
    for number, spec in enumerate(specs):
        node = nodes[spec.name]
        parent = nodes[spec.parent].node_id if spec.parent else ""
        creds = enrol_node(
            state,
            node_id=node.node_id,
            role=spec.role,
            parent=parent,
            ledger_key=node.ledger_key,
            address=node.address,
        )
        creds.save(node.path)
        peers = []
        for other in specs:
            if other.name == spec.name:
                continue
            entry = nodes[other.name].peer_address()
            if other.origin_of:
                # What this node was told about the impersonated office: its real key.
                real = nodes[other.origin_of]
                entry = PeerAddress(
                    node_id=real.node_id,
                    address=entry.address,
                    role=other.role,
                    origin=real.origin,
                    ledger_key=real.ledger_key,
                )
            elif any(s.origin_of == other.name for s in specs):
                continue  # the impersonated office is reached only through its impostor
            peers.append(PeerEntry(entry, follow=other.parent == spec.name))
        save_federation(
            node.data_dir,
            FederationConfig(listen=node.address, parent=parent, peers=tuple(peers)),
        )
        station = Station.open(node.data_dir)
        try:
            if spec.records:
                seed_station(station, spec.records, seed=100 + number, show_progress=False)
        finally:
            station.close()
    return Federation(base, root, state, nodes, poll=poll)


def append_entries(node: Node, count: int, *, note: str = "bulk") -> int:
    """Appends `count` small entries to a STOPPED node's own log; returns its new size."""
    assert not node.running(), f"{node.name} must be stopped to write to its ledger"
    station = Station.open(node.data_dir)
    try:
        batch = 1000
        for first in range(0, count, batch):
            bodies = [
                ledger_pb2.EntryBody(
                    officer_id="PEN000001",
                    audit=ledger_pb2.AuditEntry(
                        asker_node_id=node.node_id,
                        asker_officer_id="PEN000001",
                        purpose="load",
                        case_ref=f"{note} {first + i}",
                        query_kind="search:person",
                        query=f"{note} {first + i}",
                    ),
                )
                for i in range(min(batch, count - first))
            ]
            station.ledger.append_many(bodies)
        size: int = station.ledger.size()
        return size
    finally:
        station.close()


def make_standby(fed: Federation, name: str, standby: str, *, own_index: bool = True) -> Node:
    """What the operator does at the DR centre: the node's identity, certificate and
    federation.toml copied from the primary, and (unless not `own_index`: node.toml copied as
    it is) an index of its own; no ledger."""
    primary = fed[name]
    path = fed.base / standby
    path.mkdir()
    for folder in ("keys", "tls"):
        shutil.copytree(primary.path / folder, path / folder)
    shutil.copy2(primary.data_dir.federation_path, path / "federation.toml")
    config = primary.data_dir.load_config()
    if own_index:
        config = dataclasses.replace(config, index_url=DataDir(path).default_index_url())
    DataDir(path).config_path.write_text(config.to_toml(), "utf-8")
    node = Node(standby, primary.node_id, primary.role, primary.port, path, primary.ledger_key)
    fed.nodes[standby] = node
    return node


@contextmanager
def read_store(path: Path) -> Iterator[RocksDBLogStore]:
    """A read-only (audit) view of a RocksDB log store; works beside a running node."""
    store = RocksDBLogStore.open(path, audit=True)
    try:
        yield store
    finally:
        store.close()
