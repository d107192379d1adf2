"""The node's Prometheus metrics (`node.metrics`, `federation.metrics`): figures read at scrape
time from a real station and a real replica, peer calls timed over real gRPC on loopback, rate
limit refusals counted, node.toml's [metrics] allow list, and a real `cctns node serve` scraped
over HTTP, its log growing under the gauge, then stopped with SIGTERM."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from federation import metrics as fm
from federation.grpc_client import GrpcPeerClient
from federation.grpc_server import PeerServicer, start_server
from federation.interfaces import PeerAddress, PeerIdentity
from federation.quota import Quota
from federation.replicas import ReplicaSet
from federation.status import reply_for
from ledger.errors import InputError, RateLimited
from node.config import DataDir, parse_config
from node.metrics import NodeFigures, node_registry
from node.station import registers
from node.station.core import Station
from node.station.scrub import StorageAlerts
from protos import federation_pb2
from tests.federation.procs import Federation, Spec, build_federation, wait_for
from tests.federation.test_replication import (
    CHILD_PUBLIC,
    ORIGIN,
    PARENT_NAME,
    WITNESS,
    append,
    child,
    follow,
    serving,
)
from tests.processes import launch_node, stop_node, wait_ready

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape, by name and sorted labels (parsed by prometheus_client)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(registry: CollectorRegistry) -> Samples:
    return samples(generate_latest(registry).decode())


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    made = DataDir(tmp_path / "node")
    # The node's origin is the name its witness cosigns with (WITNESS, the replicas' parent).
    made.create(origin=PARENT_NAME, role="district",
                district="Ernakulam City", station="DPO")  # fmt: skip
    return made


@pytest.fixture
def station(data_dir: DataDir) -> Iterator[Station]:
    opened = Station.open(data_dir)
    yield opened
    opened.close()


def test_metrics_node_figures_read_at_scrape_time(data_dir: DataDir, station: Station) -> None:
    replicas = ReplicaSet(None, witness=WITNESS)
    ledger = child()
    append(ledger, 30)
    follow(replicas.follow(ORIGIN, CHILD_PUBLIC), serving(ledger))
    contact = fm.ReplicaContact(clock=lambda: 1_700_000_100)
    figures = NodeFigures(data_dir, station, replicas, contact, {ORIGIN: "kerala/ekm/ps-aluva"},
                          started=1_700_000_000, clock=lambda: 1_700_000_500)  # fmt: skip
    registry = node_registry(figures)
    found = scrape(registry)
    assert value(found, "cctns_ledger_entries") == station.ledger.size()
    assert value(found, "cctns_ledger_halted") == 0
    assert value(found, "cctns_node_uptime_seconds") == 500
    child_labels = {"child": "kerala/ekm/ps-aluva", "origin": ORIGIN}
    assert value(found, "cctns_replicas_held") == 1
    assert value(found, "cctns_replica_entries", **child_labels) == 30
    assert value(found, "cctns_replica_entries_behind", **child_labels) == 0
    assert value(found, "cctns_replica_quarantined", **child_labels) == 0
    # The witness cosigned the checkpoint at 1_700_000_000: 500 s before the scrape.
    assert value(found, "cctns_replica_checkpoint_age_seconds", **child_labels) == 500
    assert ("cctns_replica_last_contact_age_seconds", ()) not in found
    assert value(found, "cctns_data_dir_bytes") > 0
    assert value(found, "cctns_storage_alerts") == 0
    (info,) = [k for k in found if k[0] == "cctns_node_info"]
    assert dict(info[1])["node"] == station.config.node_id
    # Read at scrape time: the next scrape sees what changed since.
    before = station.ledger.size()
    registers.write_gd(station, "PEN1", "information", "a GD entry")
    append(ledger, 5)
    contact.on_progress(follow(replicas.follow(ORIGIN, CHILD_PUBLIC), serving(ledger)))
    StorageAlerts(data_dir).add("index.sqlite3", "page checksum mismatch")
    found = scrape(registry)
    assert value(found, "cctns_ledger_entries") == before + 1 == station.ledger.size()
    assert value(found, "cctns_replica_entries", **child_labels) == 35
    assert value(found, "cctns_replica_last_contact_age_seconds", **child_labels) == 400
    assert value(found, "cctns_storage_alerts") == 1


class _Service:
    """Answers GetCheckpoint; refuses every other call (a failure to count)."""

    def get_checkpoint(self, caller: PeerIdentity, request: object) -> object:
        return federation_pb2.CheckpointResponse(note=b"note")

    def __getattr__(self, name: str) -> Callable[[PeerIdentity, object], object]:
        def refuse(caller: PeerIdentity, request: object) -> object:
            raise InputError(f"{name}: no such log here")

        return refuse


def test_metrics_peer_calls_timed_both_ways_over_grpc() -> None:
    caller = PeerIdentity("kerala/ekm/dpo", "district", "kerala/scrb", b"k" * 32)
    server, port = start_server(
        PeerServicer(_Service(), lambda context: caller), "127.0.0.1:0", credentials=None
    )
    meter = fm.PeerCallMeter("kerala/ekm/ps-x")
    address = PeerAddress("kerala/ekm/ps-x", f"127.0.0.1:{port}")
    client = GrpcPeerClient(address, credentials=None, interceptors=(meter,))
    registry = CollectorRegistry()
    fm.register(registry)
    before = scrape(registry)
    refused = reply_for(InputError("x"))[0].name

    async def calls() -> None:
        assert await client.get_checkpoint("o", timeout=5) == b"note"
        with pytest.raises(InputError):
            await client.get_key_history("o", 1, timeout=5)

    try:
        trio.run(calls)
    finally:
        client.close()
        server.stop(None)
    after = scrape(registry)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    peer = {"peer": "kerala/ekm/ps-x"}
    assert moved("cctns_peer_call_seconds_count", rpc="GetCheckpoint", **peer) == 1
    assert moved("cctns_peer_call_seconds_count", rpc="GetKeyHistory", **peer) == 1
    assert moved("cctns_peer_call_failures_total", rpc="GetKeyHistory", code=refused, **peer) == 1
    assert moved("cctns_peer_call_seconds_count", rpc="GetCheckpoint", **peer) == 1
    assert moved("cctns_peer_served_seconds_count", rpc="GetCheckpoint") == 1
    assert moved("cctns_peer_served_failures_total", rpc="GetKeyHistory", code=refused) == 1
    assert grpc.StatusCode[refused] != grpc.StatusCode.OK


def test_metrics_rate_limit_refusals_counted_per_quota() -> None:
    registry = CollectorRegistry()
    fm.register(registry)
    quota = Quota("1/minute", "test.metrics", "too many")
    quota.spend("client")
    key = ("cctns_rate_limit_refusals_total", (("quota", "test.metrics"),))
    for _ in range(2):
        with pytest.raises(RateLimited):
            quota.spend("client")
    assert scrape(registry)[key] == 2


def test_metrics_allow_list_from_node_toml() -> None:
    base = 'node_id = "a/b"\norigin = "cctns.in/a/b"\nrole = "district"\ndistrict = "D"\n'
    base += 'station = "S"\nindex_url = "sqlite://"\n'
    config = parse_config(base + '[metrics]\nallow = ["10.20.0.0/24", "192.0.2.7"]\n')
    allowed = config.metrics
    assert allowed.allows("127.0.0.1") and allowed.allows("::1")
    assert allowed.allows("10.20.0.99") and allowed.allows("192.0.2.7")
    assert not allowed.allows("10.20.1.1") and not allowed.allows("nonsense")
    assert not parse_config(base).metrics.allows("10.20.0.99")
    assert parse_config(config.to_toml()).metrics == allowed
    with pytest.raises(InputError, match=r"'10\.300\.0\.0/8' is not an IP address"):
        parse_config(base + '[metrics]\nallow = ["10.300.0.0/8"]\n')
    with pytest.raises(InputError, match=r"metrics\.deny: unknown setting"):
        parse_config(base + "[metrics]\ndeny = []\n")


# -- a real node -------------------------------------------------------------------------------


def http_scrape(url: str) -> Samples:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return samples(response.read().decode())


def serve_with_metrics(fed: Federation, name: str) -> str:
    """`cctns node serve --metrics 127.0.0.1:0` for node `name`; the metrics URL it prints."""
    node = fed[name]
    node.log_path.parent.mkdir(exist_ok=True)
    node.process = launch_node("node", "serve", "--data-dir", str(node.path), "--poll", "0.5",
                               "--metrics", "127.0.0.1:0", log_path=node.log_path)  # fmt: skip
    return wait_ready(node.process, log_path=node.log_path)["metrics"]


@pytest.mark.slow
def test_metrics_real_nodes_scraped_over_http_then_sigterm(tmp_path: Path) -> None:
    fed = build_federation(tmp_path, [Spec("dpo", "district"), Spec("ps", "station", "dpo", 5)])
    ps, child = fed["ps"], {"child": fed["ps"].node_id, "origin": fed["ps"].origin}
    try:
        url = serve_with_metrics(fed, "ps")
        size = fed.checkpoint_of("dpo", "ps").size
        assert value(http_scrape(url), "cctns_ledger_entries") == size
        # An audited search of the station appends an entry to its log: the gauge follows.
        request = federation_pb2.SearchRequest(
            kind="person", query="Raju", context=federation_pb2.QueryContext(
                officer_id="PEN100001", purpose="test", case_ref="metrics"))  # fmt: skip
        fed.ask("dpo", "ps", lambda c: c.search(request, timeout=10))
        found = http_scrape(url)
        grown = fed.checkpoint_of("dpo", "ps").size
        assert grown > size and value(found, "cctns_ledger_entries") == grown
        assert value(found, "cctns_peer_served_seconds_count", rpc="Search") >= 1
        # The district replicates the station over mutual TLS: its lag gauges and its timed
        # outbound calls (GetEntries streams) say so.
        district = serve_with_metrics(fed, "dpo")

        def replicated() -> Samples | None:
            # The round's end (which records the contact) follows the commit of its entries:
            # wait for both, or a scrape between the two finds no contact yet.
            found = http_scrape(district)
            labels = tuple(sorted(child.items()))
            done = found.get(("cctns_replica_entries", labels)) == grown
            contact = ("cctns_replica_last_contact_age_seconds", labels) in found
            return found if done and contact else None

        found = wait_for("the district's replica of the station", replicated)
        assert value(found, "cctns_replica_entries_behind", **child) == 0
        assert value(found, "cctns_replica_quarantined", **child) == 0
        assert value(found, "cctns_replica_last_contact_age_seconds", **child) < 60
        peer = {"peer": ps.node_id}
        assert value(found, "cctns_peer_call_seconds_count", rpc="GetEntries", **peer) >= 1
        assert value(found, "cctns_peer_call_seconds_count", rpc="GetCheckpoint", **peer) >= 1
        process, ps.process = ps.process, None
        assert process is not None
        stop_node(process)
        assert process.returncode == 0
    finally:
        fed.stop_all()
    text = ps.log_path.read_text()
    assert "Traceback" not in text, text[-2000:]
    again = Station.open(ps.data_dir)  # the log, intact after SIGTERM
    try:
        assert again.ledger.size() == grown
    finally:
        again.close()
