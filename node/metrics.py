"""A node's health and figures for monitoring: one Prometheus registry per running node.

`node_registry` gathers what Prometheus scrapes at GET /metrics: the process's own collector
(CPU, memory, open files, start time), the federation's counters (peer calls out and in, rate
limit refusals: `federation.metrics`), and `NodeCollector`, which reads the node's live state at
scrape time rather than counting as things happen: the log's size and whether it still takes
entries, the replicas held and each child's lag, the storage alerts the scrub recorded, the data
directory's disk use, the software's version and the node's up-time. Metric names and what each
means: docs/operators.md.

Must never: write anything, hold a lock across a scrape, or fail a scrape for one figure it
cannot read (a figure it cannot read is left out and logged).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from federation import metrics as federation_metrics
from federation.metrics import ReplicaContact, ReplicaFigures, replica_figures
from federation.replicas import ReplicaSet
from node.config import DataDir
from node.station.core import Station
from node.station.scrub import StorageAlerts

log = logging.getLogger(__name__)

__all__ = ["NodeCollector", "NodeFigures", "node_registry", "software_version"]

PACKAGE: Final = "cctns"


def software_version() -> str:
    """The installed cctns package's version ("unknown" when it is not installed)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"


def directory_bytes(path: Path) -> int:
    """The bytes of every file under `path` (what the data directory takes on its disk)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue  # RocksDB replaced the file while it was walked
    return total


@dataclass
class NodeFigures:
    """Where the collector reads a running node's state (the runtime fills it)."""

    data_dir: DataDir
    station: Station
    replicas: ReplicaSet | None = None
    contact: ReplicaContact | None = None
    # origin -> node id of each followed child (federation.toml), for the `child` label.
    children: dict[str, str] | None = None
    started: float = 0.0
    clock: Callable[[], float] = time.time


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class NodeCollector(Collector):
    """Reads a node's figures at scrape time (`NodeFigures`)."""

    def __init__(self, figures: NodeFigures) -> None:
        self.figures = figures
        self.version = software_version()

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        now = f.clock()
        config = f.station.config
        info = GaugeMetricFamily(
            "cctns_node_info",
            "The node: its id, role and software version (always 1)",
            labels=("node", "role", "version"),
        )
        info.add_metric((config.node_id, config.role, self.version), 1)
        yield info
        yield _gauge("cctns_node_start_time_seconds", "When the node started (Unix)", f.started)
        yield _gauge("cctns_node_uptime_seconds", "Seconds since the node started", now - f.started)
        yield _gauge(
            "cctns_ledger_entries", "Entries in the node's own log", f.station.ledger.size()
        )
        yield _gauge(
            "cctns_ledger_halted",
            "1 when the log takes no more entries (a scrub found damage: `cctns node alerts`)",
            1.0 if f.station.ledger.halted is not None else 0.0,
        )
        yield from self._storage(now)
        if f.replicas is not None:
            yield from self._replicas(replica_figures(f.replicas, config.origin, f.contact), now)

    def _storage(self, now: float) -> Iterator[Metric]:
        path = self.figures.data_dir.path
        try:
            alerts = StorageAlerts(self.figures.data_dir).all()
        except (OSError, ValueError) as exc:
            log.warning("metrics: storage alerts unreadable: %s", exc)
        else:
            yield _gauge(
                "cctns_storage_alerts",
                "Storage alerts the scrub or a start-up recorded (`cctns node alerts`)",
                len(alerts),
            )
            latest = max((alert.at_ms for alert in alerts), default=0) / 1000
            yield _gauge(
                "cctns_storage_alert_last_time_seconds",
                "When the latest storage alert was recorded (Unix; 0: never)",
                latest,
            )
        try:
            used = directory_bytes(path)
            disk = shutil.disk_usage(path)
        except OSError as exc:
            log.warning("metrics: disk use of %s unreadable: %s", path, exc)
            return
        yield _gauge("cctns_data_dir_bytes", "Bytes the data directory's files take", used)
        yield _gauge(
            "cctns_data_dir_filesystem_free_bytes",
            "Bytes free for the node on the data directory's filesystem",
            disk.free,
        )
        yield _gauge(
            "cctns_data_dir_filesystem_size_bytes",
            "Size of the data directory's filesystem",
            disk.total,
        )

    def _replicas(self, figures: Iterable[ReplicaFigures], now: float) -> Iterator[Metric]:
        names = self.figures.children or {}
        rows = list(figures)
        yield _gauge(
            "cctns_replicas_held", "Replicas of children's logs this node holds", len(rows)
        )
        labels = ("child", "origin")
        entries = GaugeMetricFamily(
            "cctns_replica_entries", "Entries of a child's log verified here", labels=labels
        )
        behind = GaugeMetricFamily(
            "cctns_replica_entries_behind",
            "Entries of the child's newest checkpoint known here not yet verified",
            labels=labels,
        )
        quarantined = GaugeMetricFamily(
            "cctns_replica_quarantined",
            "1 when the replica is quarantined (the child equivocated: `cctns node alerts`)",
            labels=labels,
        )
        age = GaugeMetricFamily(
            "cctns_replica_checkpoint_age_seconds",
            "Seconds since this node verified the child's latest checkpoint it holds",
            labels=labels,
        )
        contact = GaugeMetricFamily(
            "cctns_replica_last_contact_age_seconds",
            "Seconds since the last replication round with the child succeeded",
            labels=labels,
        )
        for row in rows:
            key = (names.get(row.origin, row.origin.split("/", 1)[-1]), row.origin)
            entries.add_metric(key, row.verified)
            behind.add_metric(key, row.behind)
            quarantined.add_metric(key, 1.0 if row.quarantined else 0.0)
            if row.verified_at is not None:
                age.add_metric(key, max(0.0, now - row.verified_at))
            if row.last_contact is not None:
                contact.add_metric(key, max(0.0, now - row.last_contact))
        yield from (entries, behind, quarantined, age, contact)


def node_registry(figures: NodeFigures) -> CollectorRegistry:
    """A registry of everything a node exposes: the process, the federation's counters and the
    node's own figures."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    federation_metrics.register(registry)
    registry.register(NodeCollector(figures))
    return registry
