"""The real-process mode: a scenario run small as real node processes, set beside the simulator.

The state's part of a scenario (Kerala: SCRB and, under it, up to `offices` offices chosen by
`load_scenario(offices=...)`, so the hierarchy is whole) is built by the demo's builder
(node/demo/federation.py: one authority, a certificate, a RocksDB ledger and a federation.toml
per office) and started as `cctns node serve` processes speaking gRPC over mutual TLS on
127.0.0.1, each with its web UI. Then, for `seconds`:

- every station's officer signs in to the station's web UI (password, then the authenticator
  code) and writes General Diary entries through its form (POST /gd/new), at Poisson times;
- a sampler asks every ancestor of every station (as the state node, over mutual TLS) for its
  replica's checkpoint of that station's log: an entry's replication lag at a level is the time
  from its write being acknowledged to the first sample that shows the ancestor holding it
  (so measured lags are late by up to one sample interval, `sample`);
- a station searches the other stations and the district office of its district at Poisson
  times (`federation.fanout.federated_search` with the station's own certificate, as the
  simulator's stations do): fan-out latency and how many offices answered.

After the span it waits (at most `settle`) until every ancestor holds every acknowledged entry:
an entry no ancestor holds by then is counted lost; a replica longer than its log, duplicated.
The simulator (simulations/sim/engine.py) then runs the same offices with the same rates, poll
interval and span in simulated time, and `Comparison` sets the two side by side: metric,
simulated, measured, ratio.

Nothing here is a benchmark's baseline: the figures are a calibration of the simulator, on a
machine shared with everything else it runs.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import trio

from federation import tls
from federation.fanout import federated_search
from federation.grpc_client import GrpcPeerClient
from federation.interfaces import PeerAddress
from federation.trust.credentials import NodeCredentials
from ledger.checkpoint import parse_note
from ledger.errors import CctnsError, UsageError
from node.config import DataDir, load_federation
from node.demo.federation import DEMO_PASSWORD, DemoNode, build, start, stop
from protos import federation_pb2
from simulations.report import percentile
from simulations.sim.scenario import Office, Scenario, load_scenario

READY_TIMEOUT = 120.0
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_ROLE_OF_STATION = "station"
SEARCH_NAMES = ("Raju", "Muhammed", "Lakshmi", "Joseph", "Anil", "Fathima")


@dataclass(frozen=True)
class RealOptions:
    """What to run: the scenario's state part, small, for a short span."""

    scenario: str = "kerala"
    offices: int = 20  # node processes (the state node included)
    seconds: float = 60.0  # the workload's span
    rate: float = 0.2  # GD entries per station per second
    searches_per_minute: float = 6.0  # fan-out searches across the network
    poll: float = 1.0  # every node's replication poll (`cctns node serve --poll`)
    sample: float = 0.25  # the sampler's interval
    settle: float = 60.0  # longest wait for every entry to reach every ancestor
    seed: int = 10
    base: Path | None = None  # where the nodes live (a temporary folder by default)
    simulate: bool = True  # also run the simulator on the same offices
    sim_latency: tuple[float, float] = (0.0005, 0.003)  # the simulator's link latency, s


@dataclass
class Write:
    at: float  # monotonic time the write was acknowledged
    size: int  # the station's log size just after it


@dataclass
class Measured:
    """What the real processes did."""

    processes: int
    stations: int
    seconds: float
    writes: int = 0
    refused: int = 0
    lag: dict[str, list[float]] = field(default_factory=dict)  # "station->circle": seconds
    fanout: list[float] = field(default_factory=list)  # seconds per search
    asked: int = 0
    answered: int = 0
    lost: int = 0  # acknowledged entries an ancestor did not hold after settling
    duplicated: int = 0  # entries a replica holds beyond its log
    settled_in: float = 0.0
    wall_seconds: float = 0.0


@dataclass
class Comparison:
    """Simulated and measured, metric by metric."""

    scenario: str
    offices: tuple[str, ...]
    measured: Measured
    simulated: dict[str, Any] | None  # the simulator's report (`Report.to_json()`)
    rows: list[tuple[str, float | None, float | None]]  # metric, simulated, measured

    @staticmethod
    def ratio(simulated: float | None, measured: float | None) -> float | None:
        if simulated is None or measured is None or measured == 0:
            return None
        return simulated / measured

    def table(self) -> str:
        """The comparison as a text table."""
        lines = [
            f"{'metric':36} {'simulated':>12} {'measured':>12} {'ratio':>8}",
            f"{'-' * 36} {'-' * 12} {'-' * 12} {'-' * 8}",
        ]

        def cell(value: float | None, width: int) -> str:
            if value is None:
                return f"{'-':>{width}}"
            return f"{value:>{width}.3f}" if value % 1 else f"{value:>{width},.0f}"

        for metric, sim, real in self.rows:
            lines.append(
                f"{metric:36} {cell(sim, 12)} {cell(real, 12)} {cell(self.ratio(sim, real), 8)}"
            )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        m = self.measured
        return {
            "scenario": self.scenario,
            "offices": list(self.offices),
            "rows": [
                {
                    "metric": metric,
                    "simulated": sim,
                    "measured": real,
                    "ratio": self.ratio(sim, real),
                }
                for metric, sim, real in self.rows
            ],
            "measured": {
                "processes": m.processes,
                "stations": m.stations,
                "seconds": m.seconds,
                "writes": m.writes,
                "refused": m.refused,
                "lost": m.lost,
                "duplicated": m.duplicated,
                "searches": len(m.fanout),
                "asked": m.asked,
                "answered": m.answered,
                "settled_in": m.settled_in,
                "wall_seconds": m.wall_seconds,
            },
            "simulated": self.simulated,
        }


# -- the scenario, small ---------------------------------------------------------------------


def real_scenario(options: RealOptions) -> Scenario:
    """The state's part of the scenario with at most `options.offices` offices, whole."""
    full = load_scenario(options.scenario, offices=options.offices + 1, faults=False)
    state = full.by_role("state")[0]
    part = full.subtree_scenario(state.node_id)
    if len(part.offices) > options.offices:  # a scenario with no national node above it
        full = load_scenario(options.scenario, offices=options.offices, faults=False)
        part = full.subtree_scenario(full.by_role("state")[0].node_id)
    if not part.by_role(_ROLE_OF_STATION):
        raise UsageError(f"{options.offices} offices hold no station of {options.scenario}")
    return part


def _slug(node_id: str) -> str:
    return node_id.replace("/", "--")


def demo_nodes(scenario: Scenario) -> list[DemoNode]:
    """The offices as the demo's builder takes them (one state; parents first)."""
    districts = {d.id: d.name for d in scenario.districts}
    return [
        DemoNode(
            name=_slug(o.node_id),
            origin=o.origin(scenario.host),
            role=o.role,
            district=districts.get(o.district, "State"),
            station=o.name,
            parent=_slug(o.parent) if o.parent else "",
        )
        for o in scenario.offices
    ]


# -- the processes -----------------------------------------------------------------------------


def _wait_ready(base: Path, nodes: Sequence[DemoNode], processes: Sequence[Any]) -> None:
    """Until every node has printed its ready line into its log (failing with the log's tail
    when one exits first or none comes in time)."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = {node.name for node in nodes}
    while waiting:
        for node, process in zip(nodes, processes, strict=True):
            if node.name not in waiting:
                continue
            log = (base / "logs" / f"{node.name}.log").read_text("utf-8", errors="replace")
            if "cctns ready node=" in log:
                waiting.discard(node.name)
            elif process.poll() is not None:
                raise UsageError(f"{node.node_id} exited before it was ready:\n{log[-2000:]}")
        if waiting and time.monotonic() > deadline:
            raise UsageError(f"not ready after {READY_TIMEOUT:.0f} s: {sorted(waiting)}")
        if waiting:
            time.sleep(0.2)


@contextmanager
def _folder(base: Path | None) -> Iterator[Path]:
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
        if any(base.iterdir()):
            raise UsageError(f"{base} is not empty: the real-process mode builds its nodes there")
        yield base
        return
    with tempfile.TemporaryDirectory(prefix="cctns-real-") as tmp:
        yield Path(tmp)


class _Station:
    """A station's officer signed in to its web UI."""

    def __init__(self, base: Path, node: DemoNode, port: int) -> None:
        self.node = node
        officer, secret = (base / node.name / "web" / "demo-officer.txt").read_text().split()
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=30.0, follow_redirects=True
        )
        page = self.http.get("/login")
        reply = self.http.post(
            "/login",
            data={"officer_id": officer, "password": DEMO_PASSWORD, "csrf_token": _csrf(page)},
        )
        # First sign-in: the authenticator is set up with its first code.
        code = pyotp.TOTP(secret).now()
        reply = self.http.post(reply.url.path, data={"code": code, "csrf_token": _csrf(reply)})
        if reply.status_code != 200 or "/login" in str(reply.url):
            raise UsageError(f"{node.node_id}: the officer could not sign in ({reply.status_code})")
        self.token = _csrf(reply)

    def write_gd(self, number: int) -> bool:
        """One GD entry through the form; True when the station took it."""
        reply = self.http.post(
            "/gd/new",
            data={
                "category": "information",
                "summary": f"Simulated information {number} received at the station.",
                "csrf_token": self.token,
            },
            follow_redirects=False,
        )
        return reply.status_code == 303

    def close(self) -> None:
        self.http.close()


def _csrf(reply: httpx.Response) -> str:
    match = _CSRF.search(reply.text)
    if match is None:
        raise UsageError(f"{reply.url}: the page has no CSRF token ({reply.status_code})")
    return match[1]


# -- driving and measuring ------------------------------------------------------------------


class _Drive:
    def __init__(self, base: Path, scenario: Scenario, options: RealOptions) -> None:
        self.base = base
        self.scenario = scenario
        self.options = options
        self.rng = random.Random(options.seed)
        self.nodes = {o.node_id: o for o in scenario.offices}
        self.address = {
            o.node_id: load_federation(DataDir(base / _slug(o.node_id))).listen
            for o in scenario.offices
        }
        self.stations = [o for o in scenario.offices if o.role == _ROLE_OF_STATION]
        self.writes: dict[str, list[Write]] = {s.node_id: [] for s in self.stations}
        self.seen: dict[tuple[str, str], int] = {}  # (holder, station) -> writes seen
        self.replica: dict[tuple[str, str], int] = {}  # (holder, station) -> replica size
        self.measured = Measured(
            processes=len(scenario.offices), stations=len(self.stations), seconds=options.seconds
        )
        self.asker = NodeCredentials.load(base / _slug(scenario.root.node_id))
        self.limiter = trio.CapacityLimiter(8)
        self.clients: dict[str, GrpcPeerClient] = {}
        self.writing = len(self.stations)

    def client(self, node_id: str) -> GrpcPeerClient:
        """A client to `node_id` speaking as the state node."""
        if node_id not in self.clients:
            self.clients[node_id] = GrpcPeerClient(
                PeerAddress(node_id=node_id, address=self.address[node_id]),
                credentials=tls.channel_credentials(self.asker),
                options=tls.channel_options(),
                limiter=self.limiter,
            )
        return self.clients[node_id]

    async def size(self, holder: str, origin: str = "") -> int:
        try:
            note = await self.client(holder).get_checkpoint(origin, timeout=10.0)
        except CctnsError:
            return 0  # not held yet (or the node is busy): the next sample asks again
        checkpoint, _ = parse_note(note)
        return checkpoint.size

    async def run(self) -> Measured:
        started = time.monotonic()
        http = dict(
            line.split() for line in (self.base / "http-ports.txt").read_text().splitlines() if line
        )
        signed_in = [
            await trio.to_thread.run_sync(
                _Station, self.base, _demo(self.scenario, s), int(http[_slug(s.node_id)])
            )
            for s in self.stations
        ]
        try:
            end = time.monotonic() + self.options.seconds
            async with trio.open_nursery() as nursery:
                for station, office in zip(signed_in, self.stations, strict=True):
                    nursery.start_soon(self.writer, station, office, end)
                nursery.start_soon(self.searcher, end)
                nursery.start_soon(self.sampler, end + self.options.settle)
        finally:
            for station in signed_in:
                station.close()
            for client in self.clients.values():
                client.close()
        self.measured.wall_seconds = time.monotonic() - started
        return self.measured

    async def writer(self, station: _Station, office: Office, end: float) -> None:
        number = 0
        due = time.monotonic()
        try:
            while True:
                # Poisson arrival times, kept to however long each write takes.
                due += self.rng.expovariate(self.options.rate)
                if due >= end:
                    return
                await trio.sleep(max(0.0, due - time.monotonic()))
                number += 1
                if not await trio.to_thread.run_sync(station.write_gd, number):
                    self.measured.refused += 1
                    continue
                acknowledged = time.monotonic()
                size = await self.size(office.node_id)
                self.writes[office.node_id].append(Write(acknowledged, size))
                self.measured.writes += 1
        finally:
            # The sampler settles only once no write is left in flight.
            self.writing -= 1

    async def searcher(self, end: float) -> None:
        if self.options.searches_per_minute <= 0:
            return
        while True:
            await trio.sleep(self.rng.expovariate(self.options.searches_per_minute / 60.0))
            if time.monotonic() >= end:
                return
            asker = self.rng.choice(self.stations)
            await self.search(asker)

    async def search(self, asker: Office) -> None:
        """The station asks the other stations and the district office of its district."""
        targets = [
            o.node_id
            for o in self.scenario.offices
            if o.node_id != asker.node_id
            and o.district == asker.district
            and o.role in (_ROLE_OF_STATION, "district")
        ]
        if not targets:
            return
        creds = tls.channel_credentials(NodeCredentials.load(self.base / _slug(asker.node_id)))
        clients = [
            GrpcPeerClient(
                PeerAddress(node_id=t, address=self.address[t]),
                credentials=creds,
                options=tls.channel_options(),
                limiter=self.limiter,
            )
            for t in targets
        ]
        request = federation_pb2.SearchRequest(
            kind="person",
            query=self.rng.choice(SEARCH_NAMES),
            limit=20,
            context=federation_pb2.QueryContext(
                officer_id="PEN100001", purpose="simulation", case_ref="SIM/1"
            ),
        )
        try:
            began = time.monotonic()
            result = await federated_search(clients, request, deadline=10.0)
            self.measured.fanout.append(time.monotonic() - began)
        finally:
            for client in clients:
                client.close()
        self.measured.asked += len(targets)
        self.measured.answered += sum(1 for t in targets if t not in result.unanswered)

    async def sampler(self, deadline: float) -> None:
        pairs = [
            (a.node_id, s.node_id)
            for s in self.stations
            for a in self.scenario.ancestors(s.node_id)
        ]
        writing_until = deadline - self.options.settle
        while True:
            async with trio.open_nursery() as nursery:
                for holder, station in pairs:
                    nursery.start_soon(self.sample_pair, holder, station)
            now = time.monotonic()
            if now >= writing_until and not self.writing and self._all_seen(pairs):
                self.measured.settled_in = max(0.0, now - writing_until)
                break
            if now >= deadline:
                self.measured.settled_in = self.options.settle
                break
            await trio.sleep(self.options.sample)
        # What no ancestor came to hold is lost; what a replica holds beyond its log, extra.
        for holder, station in pairs:
            missing = len(self.writes[station]) - self.seen.get((holder, station), 0)
            self.measured.lost += max(0, missing)
        for station in self.writes:
            own = await self.size(station)
            for holder, other in pairs:
                if other == station:
                    self.measured.duplicated += max(0, self.replica.get((holder, other), 0) - own)

    def _all_seen(self, pairs: list[tuple[str, str]]) -> bool:
        return all(self.seen.get(p, 0) >= len(self.writes[p[1]]) for p in pairs)

    async def sample_pair(self, holder: str, station: str) -> None:
        origin = self.nodes[station].origin(self.scenario.host)
        size = await self.size(holder, origin)
        now = time.monotonic()
        self.replica[(holder, station)] = size
        writes = self.writes[station]
        seen = self.seen.get((holder, station), 0)
        label = f"{_ROLE_OF_STATION}->{self.nodes[holder].role}"
        while seen < len(writes) and writes[seen].size <= size:
            self.measured.lag.setdefault(label, []).append(now - writes[seen].at)
            seen += 1
        self.seen[(holder, station)] = seen


def _demo(scenario: Scenario, office: Office) -> DemoNode:
    return next(n for n in demo_nodes(scenario) if n.name == _slug(office.node_id))


# -- the simulator on the same offices -------------------------------------------------------


@dataclass(frozen=True)
class _SameWorkload:
    """The real run's workload as the simulator reads one (stations only, flat rhythm)."""

    entries: float  # per station per day
    searches: float  # per station per day
    rhythm: tuple[float, ...] = (1.0,) * 24

    def entries_per_day(self, role: str) -> float:
        return self.entries if role == _ROLE_OF_STATION else 0.0

    def searches_per_day(self, role: str) -> float:
        return self.searches if role == _ROLE_OF_STATION else 0.0


@dataclass(frozen=True)
class _SameScenario:
    name: str
    offices: tuple[Office, ...]
    workload: _SameWorkload
    faults: tuple[()] = ()


def simulate(scenario: Scenario, options: RealOptions) -> dict[str, Any]:
    """The simulator's report (as JSON) for the real run's offices, rates and span."""
    # E1's engine is imported here, not at the top: the real-process mode works (and its
    # measured column is filled) when the engine is absent or broken (`--no-simulate`).
    from simulations.sim.engine import SimOptions, run_scenario  # noqa: PLC0415

    stations = len(scenario.by_role(_ROLE_OF_STATION))
    workload = _SameWorkload(
        entries=options.rate * 86400.0,
        searches=options.searches_per_minute * 60 * 24 / stations,
    )
    report = run_scenario(
        _SameScenario(scenario.name, scenario.offices, workload),
        SimOptions(
            days=options.seconds / 86400.0,
            seed=options.seed,
            tick=min(1.0, 1.0 / options.rate),
            poll_interval=options.poll,
            max_backoff=max(options.poll, 5.0),
            search_deadline=10.0,
            latency=options.sim_latency,
            faults=False,
            settle=options.settle,
        ),
    )
    result: dict[str, Any] = report.to_json()
    return result


# -- the comparison --------------------------------------------------------------------------


def _stat(values: list[float], pct: float) -> float | None:
    return percentile(values, pct) if values else None


def _sim_stat(simulated: dict[str, Any] | None, *path: str) -> float | None:
    value: Any = simulated
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def compare(scenario: Scenario, measured: Measured, simulated: dict[str, Any] | None) -> Comparison:
    rows: list[tuple[str, float | None, float | None]] = []
    levels = [f"{_ROLE_OF_STATION}->{role}" for role in reversed(scenario.levels[:-1])]
    for label in levels:
        values = measured.lag.get(label, [])
        for pct, name in ((50, "p50"), (95, "p95")):
            rows.append(
                (
                    f"lag {label} {name} (s)",
                    _sim_stat(simulated, "lag", label, name),
                    _stat(values, pct),
                )
            )
    rows.append(
        (
            "fan-out latency p50 (s)",
            _sim_stat(simulated, "fanout_latency", "p50"),
            _stat(measured.fanout, 50),
        )
    )
    rows.append(
        (
            "fan-out latency p95 (s)",
            _sim_stat(simulated, "fanout_latency", "p95"),
            _stat(measured.fanout, 95),
        )
    )
    sim_asked = _sim_stat(simulated, "fanout_asked")
    sim_answered = _sim_stat(simulated, "fanout_answered")
    rows.append(
        (
            "offices answered (share)",
            sim_answered / sim_asked if sim_asked and sim_answered is not None else None,
            measured.answered / measured.asked if measured.asked else None,
        )
    )
    rows.append(("searches", _sim_stat(simulated, "searches"), float(len(measured.fanout))))
    rows.append(
        ("entries written", _sim_stat(simulated, "entries_written"), float(measured.writes))
    )
    rows.append(("records lost", _sim_stat(simulated, "lost"), float(measured.lost)))
    rows.append(
        ("records duplicated", _sim_stat(simulated, "duplicated"), float(measured.duplicated))
    )
    return Comparison(
        scenario=scenario.name,
        offices=tuple(o.node_id for o in scenario.offices),
        measured=measured,
        simulated=simulated,
        rows=rows,
    )


def run_real(options: RealOptions, *, say: Callable[[str], None] = lambda text: None) -> Comparison:
    """Builds and starts the processes, drives and measures them, stops them, runs the
    simulator on the same offices, and returns the comparison."""
    scenario = real_scenario(options)
    nodes = demo_nodes(scenario)
    with _folder(options.base) as base:
        say(f"building {len(nodes)} nodes in {base} ...")
        build(base, records=0, nodes=nodes, peer_lists=True)
        processes = start(base, nodes=nodes, poll=options.poll)
        try:
            _wait_ready(base, nodes, processes)
            say(f"{len(nodes)} node processes serving; driving for {options.seconds:.0f} s ...")
            measured = trio.run(_Drive(base, scenario, options).run)
        finally:
            stop(processes)
    simulated = None
    if options.simulate:
        say("running the simulator on the same offices ...")
        simulated = simulate(scenario, options)
    return compare(scenario, measured, simulated)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulations.sim.realproc",
        description="Run a scenario small as real node processes and compare with the simulator.",
    )
    parser.add_argument("scenario", nargs="?", default="kerala")
    parser.add_argument("--offices", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=0.2, help="GD entries/station/second")
    parser.add_argument("--searches-per-minute", type=float, default=6.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--no-simulate", action="store_true")
    parser.add_argument("--out", default="", help="write the comparison as JSON here")
    args = parser.parse_args(argv)
    options = RealOptions(
        scenario=args.scenario,
        offices=args.offices,
        seconds=args.seconds,
        rate=args.rate,
        searches_per_minute=args.searches_per_minute,
        poll=args.poll,
        seed=args.seed,
        simulate=not args.no_simulate,
    )
    comparison = run_real(options, say=lambda text: print(text, file=sys.stderr))
    print(comparison.table())
    if args.out:
        Path(args.out).write_text(json.dumps(comparison.to_json(), indent=2))
        print(f"\ncomparison: {args.out}")
    return 0 if comparison.measured.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
