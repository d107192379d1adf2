"""The simulator's engine: offices, workload, replication, searches and faults in simulated time.

`run_scenario(scenario, options)` builds one SimNode per office (a real Ledger and real
replicas, simulations/sim/node.py), puts every office's real PeerService on a SimNetwork (the
in-memory transport, federation/memory.py, serving inline), and runs under trio's MockClock
with autojump: time moves only when every task waits, so a week passes in minutes.

Tasks (one nursery), and callbacks on the engine's timers (simulations/sim/timers.py):
- a writer per office: every `tick` it appends the entries its workload calls for (role rate,
  hour-of-day rhythm, Poisson counts from the seed) in one group commit, and starts the
  searches of that tick;
- a replication loop per (holder, origin), `_RouteLoop`: rounds of federation/replication.py
  (`follow_once`, or the pipelined `replication_loop.follow_round` for a catch-up longer than
  a chunk) against the child the origin is reached through, with replication_loop's back-off
  (capped) and Announce. An idle poll (the child holds nothing newer) changes nothing, so it is
  skipped: the loop waits until the child's log or replica grows, then polls at its next
  poll-grid time. Failures are met when there is something to fetch, as the real loop meets
  them. A round's calls are served at its start and its result dated at its end (the summed
  round trips: a deferred client, simulations/sim/network.py). Such a round never waits, so
  the loop is not a task but callbacks on the timers, the round's coroutine run to its end in
  one step (a round that may wait runs in a task of its own);
- searches: `federation.fanout.fan_out` of a person search to the district office and up to
  `fanout` stations of the district; every answer appends an audit entry where it is answered.
  An answer that carries no witnessed checkpoint makes the asker read the office's checkpoint
  and pass it up its parent chain (gossip) to the first office that follows that log, which
  checks it with its follower: that is how a fork shown only to other readers is caught;
- the fault schedule (simulations/sim/faults.py).

After `days`, writing stops, every fault still running is ended, and the network is given up to
`settle` simulated seconds to converge; then the invariants are checked
(simulations/sim/invariants.py) and the report assembled.

`SimOptions(jobs=N)` splits the run over N processes, by district or by state, and merges the
parts' reports (simulations/sim/parts.py); a part is a `Simulation` over `part_offices`.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import math
import random
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import nacl.signing
import trio
import trio.testing

from federation.fanout import fan_out
from federation.interfaces import PeerClient
from federation.replication import DEFAULT_CHUNK, Progress, ReplicaFollower, follow_once
from federation.replication_loop import MAX_BACKOFF, follow_round
from federation.service import PeerService
from ledger.checkpoint import parse_note
from ledger.errors import CctnsError, VerificationError
from ledger.log import Ledger
from protos import federation_pb2, ledger_pb2, records_pb2
from simulations.sim.directory import SimDirectory
from simulations.sim.network import SimNetwork, SimPeerClient
from simulations.sim.node import SIM_OFFICER, Office, SimLocalNode, SimNode
from simulations.sim.report import EquivocationResult, OutageResult, Report, Stats
from simulations.sim.shape import ScenarioLike
from simulations.sim.timers import Timers, sim_clock

__all__ = ["SimOptions", "Simulation", "run_scenario", "run_scenario_async"]

DAY = 86400.0
# 2026-12-01 00:00 IST in Unix ms: the simulated clock starts there (hour 0 of the rhythm).
EPOCH_MS = 1_764_527_400_000
HIERARCHY = (
    "station",
    "circle",
    "sub-division",
    "district",
    "state",
    "national",
)
NAMES = tuple(
    f"{first} {last}"
    for first in ("Anil", "Biju", "Deepa", "Faisal", "Jaya", "Latha", "Manoj", "Rekha")
    for last in ("Kumar", "Nair", "Menon", "Pillai", "Varghese", "Joseph", "Thomas", "Das")
)


@dataclass(frozen=True, slots=True)
class SimOptions:
    """How to run a scenario (see /work/notes/api-sim.md and docs/simulator.md)."""

    days: float = 1.0
    scale: float = 1.0
    seed: int = 0
    store: Literal["memory", "disk"] = "memory"
    data_dir: Path | None = None
    tick: float = 1800.0
    poll_interval: float = 60.0
    max_backoff: float = MAX_BACKOFF
    timeout: float = 30.0
    search_sample: float = 1.0
    search_deadline: float = 10.0
    fanout: int = 8
    latency: tuple[float, float] = (0.005, 0.040)
    faults: bool = True
    settle: float = 6 * 3600.0
    progress: Callable[[float, float], None] | None = None
    # Split over processes (simulations/sim/parts.py): `jobs` parts, each a whole run of its
    # own offices plus the offices above the split (`shared_offices`, in every part). A part's
    # run is given `part_offices` (its offices and the shared ones).
    jobs: int = 1
    part_offices: frozenset[str] | None = None
    shared_offices: frozenset[str] = frozenset()


def run_scenario(scenario: ScenarioLike, options: SimOptions | None = None) -> Report:
    """Runs `scenario` in simulated time and returns its report (blocking)."""
    chosen = options or SimOptions()
    if chosen.jobs > 1 and chosen.part_offices is None:
        from simulations.sim.parts import run_in_parts  # noqa: PLC0415 (parts imports us)

        return run_in_parts(scenario, chosen)
    if chosen.store == "disk" and chosen.data_dir is None:
        with tempfile.TemporaryDirectory(prefix="cctns-sim-") as tmp:
            return _run(scenario, _with_dir(chosen, Path(tmp)))
    return _run(scenario, chosen)


def _with_dir(options: SimOptions, directory: Path) -> SimOptions:
    return replace_options(options, data_dir=directory)


def replace_options(options: SimOptions, **changes: Any) -> SimOptions:
    """`options` with `changes` (dataclasses.replace, spelled out for the slots)."""
    values = {name: getattr(options, name) for name in SimOptions.__slots__}
    values.update(changes)
    return SimOptions(**values)


def _run(scenario: ScenarioLike, options: SimOptions) -> Report:
    return trio.run(run_scenario_async, scenario, options, clock=sim_clock())


async def run_scenario_async(scenario: ScenarioLike, options: SimOptions) -> Report:
    """`run_scenario` for a caller already in a trio run (under a MockClock, or a real clock
    for a real-time run)."""
    simulation = Simulation(scenario, options)
    try:
        with survivors_frozen():
            return await simulation.run()
    finally:
        simulation.close()


@contextlib.contextmanager
def survivors_frozen() -> Iterator[None]:
    """While it runs, what survives a full collection of the cyclic garbage collector is frozen
    (`gc.freeze`): later collections no longer walk it. A run's stores are lists and dicts of
    millions of leaves and tree nodes, and every full collection walked every one of them: a
    collection's cost grew with the logs (Kerala, 4 days at full scale: 12 % of the CPU, and
    9 of the 23 s by which day 4 cost more than day 1). Only what was alive after a full
    collection is frozen; an object frozen that later becomes cyclic garbage (a task in
    flight at that moment) is not collected before the run ends (a few per collection).
    Young collections run every 10,000 allocations rather than 700 (a run allocates millions
    of short-lived objects; GC time of a Kerala day at half scale 2.9 s -> 1.3 s).
    Everything is unfrozen and the thresholds put back at the end."""

    def freeze(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 10_000), *thresholds[1:])
    gc.callbacks.append(freeze)
    try:
        yield
    finally:
        gc.callbacks.remove(freeze)
        gc.set_threshold(*thresholds)
        gc.unfreeze()


# -- the offices ----------------------------------------------------------------------------


def _only(offices: dict[str, Office], keep: frozenset[str]) -> dict[str, Office]:
    """The offices in `keep` (a part of a split run), parents first, their children lists
    cut to those kept."""
    kept = {n: o for n, o in offices.items() if n in keep}
    for office in kept.values():
        office.children = [c for c in office.children if c in keep]
    return kept


def district_key(office: Any) -> str:
    """The office's district, named within its state ("bihar/d03"): India's files number the
    districts of each state from d01, so a bare "d03" is a district in every state. (Before
    2 December the engine took the bare name: a search fanned out to every state's d03, its
    district office and its stations, and a district cut cut them all.)"""
    district = str(office.district or "")
    state = str(getattr(office, "state", "") or "") or (
        office.id.split("/", 1)[0] if "/" in office.id else ""
    )
    if district and state and not district.startswith(f"{state}/"):
        return f"{state}/{district}"
    return district


def select_offices(scenario: ScenarioLike, scale: float, seed: int) -> dict[str, Office]:
    """The scenario's offices, stations sampled to `scale` (with every ancestor of a kept
    station; other leaf offices sampled alike), parents first."""
    offices = {
        o.id: Office(o.id, o.role, o.parent or "", district_key(o)) for o in scenario.offices
    }
    if scale < 1.0:
        rng = random.Random(f"{seed}:scale")
        has_child = {o.parent for o in offices.values() if o.parent}
        leaves = sorted(n for n in offices if n not in has_child)
        keep_leaves = {n for n in leaves if rng.random() < scale}
        if not keep_leaves and leaves:
            keep_leaves = {leaves[0]}
        kept: set[str] = set()
        for node_id in keep_leaves:
            current = node_id
            while current and current not in kept:
                kept.add(current)
                current = offices[current].parent
        roots = {n for n, o in offices.items() if not o.parent}
        kept |= roots
        offices = {n: o for n, o in offices.items() if n in kept}
    for office in offices.values():
        if office.parent and office.parent not in offices:
            office.parent = ""
    for office in offices.values():
        if office.parent:
            offices[office.parent].children.append(office.node_id)
    ordered: dict[str, Office] = {}

    def visit(node_id: str) -> None:
        ordered[node_id] = offices[node_id]
        for child in sorted(offices[node_id].children):
            visit(child)

    for root in sorted(n for n, o in offices.items() if not o.parent):
        visit(root)
    return ordered


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth for small means, a normal approximation for large)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


class _GossipClient:
    """A PeerClient that returns `note` as the checkpoint and asks `client` for the rest: a
    checkpoint a reader passed on, checked by the follower as if the child had shown it."""

    def __init__(self, note: bytes, client: PeerClient) -> None:
        self._note = note
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @property
    def node_id(self) -> str:
        return self._client.node_id

    async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes:
        return self._note


class _ServiceSlot:
    """An office's service on the network: faults swap it (an equivocating office's) by
    setting `service`, which puts the new one on the network in its place."""

    def __init__(self, network: SimNetwork, node_id: str, service: object) -> None:
        self._network = network
        self._node_id = node_id
        self._service = service

    @property
    def service(self) -> object:
        return self._service

    @service.setter
    def service(self, service: object) -> None:
        self._service = service
        self._network.replace_service(self._node_id, cast(PeerService, service))


@dataclass(slots=True)
class _Route:
    """One followed origin: `holder` keeps a replica of `origin` read from `source`."""

    holder: str
    source: str
    origin: str
    origin_node: str
    label: str


@dataclass(slots=True)
class _Outage:
    result: OutageResult
    offices: list[str]
    watch: dict[tuple[str, str], int]  # (holder, origin) -> size to reach
    shared_written: int = 0  # of `result.written_during`, by shared offices (a split run)


class Simulation:
    """One run: build with a scenario and options, `await run()`, then `close()`."""

    def __init__(self, scenario: ScenarioLike, options: SimOptions) -> None:
        self.scenario = scenario
        self.options = options
        # A scenario loaded at a scale is sampled already (simulations/sim/scenario.py).
        scale = options.scale if getattr(scenario, "scale", 1.0) >= 1.0 else 1.0
        self.offices = select_offices(scenario, scale, options.seed)
        # A part of a split run (simulations/sim/parts.py) keeps its own offices and the shared
        # ones above the split; `whole` is the run's whole selection (a fault on an office of
        # another part is that part's, not skipped), `shared` the offices in every part.
        self.whole = frozenset(self.offices)
        self.whole_districts = frozenset(o.district for o in self.offices.values() if o.district)
        self.shared = options.shared_offices if options.part_offices is not None else frozenset()
        if options.part_offices is not None:
            self.offices = _only(self.offices, options.part_offices)
        self.nodes: dict[str, SimNode] = {}
        self.network = SimNetwork(seed=options.seed, latency=options.latency, in_thread=False)
        self.network.set_groups({n: o.district or n for n, o in self.offices.items()})
        self.timers = Timers()  # the engine's sleeps (simulations/sim/timers.py)
        self.network.sleep = self.timers.sleep
        self.slots: dict[str, _ServiceSlot] = {}
        self.routes: list[_Route] = []
        self.routes_by_origin: defaultdict[str, list[_Route]] = defaultdict(list)
        self._route_of: dict[tuple[str, str], _Route] = {}
        # What the route loops wait for (callbacks on the timers, `_RouteLoop`): a log growing
        # at a source, (source, origin) -> waiters; a node announcing itself, node -> waiters.
        self._changed: defaultdict[tuple[str, str], list[_Wait]] = defaultdict(list)
        self._announced: defaultdict[str, list[_Wait]] = defaultdict(list)
        self._loops: defaultdict[str, list[_RouteLoop]] = defaultdict(list)  # by holder
        self._locks: dict[tuple[str, str], trio.Lock] = {}
        self._held_gossip: defaultdict[tuple[str, str], list[tuple[int, bytes]]] = defaultdict(list)
        self._scopes: defaultdict[str, set[trio.CancelScope]] = defaultdict(set)
        # origin -> sizes after each commit, and when
        self.commit_sizes: defaultdict[str, list[int]] = defaultdict(list)
        self.commit_times: defaultdict[str, list[float]] = defaultdict(list)
        self.lag: defaultdict[str, list[float]] = defaultdict(list)
        # Lag of the shared offices' own logs (a split run: the same in every part; merged once)
        self.lag_shared: defaultdict[str, list[float]] = defaultdict(list)
        # What the invariants found of the shared offices' logs (counted once in a merge).
        self.shared_checked = self.shared_verified = 0
        self.shared_lost = self.shared_duplicated = self.shared_lost_with_disk = 0
        self.shared_written_during: dict[int, int] = {}  # id(outage result) -> at its start
        self.written: defaultdict[str, int] = defaultdict(int)  # workload entries per office
        self.gd_numbers: defaultdict[str, int] = defaultdict(int)
        self.backlog: defaultdict[str, int] = defaultdict(int)  # entries owed after a crash
        self.search_latency: list[float] = []
        self.searches = 0
        self.fanout_asked = 0
        self.fanout_answered = 0
        self.writing = True
        self.outages: list[_Outage] = []
        self.lost_with_disk = 0
        self.equivocators: dict[str, EquivocationResult] = {}
        self.forks: dict[str, Ledger] = {}
        self.lost_numbers: defaultdict[str, set[int]] = defaultdict(set)
        self.active_faults = 0
        self.faults: list[Any] = []
        self.faults_over = trio.Event()
        self.excluded: set[str] = set()  # origins whose replicas are quarantined on purpose
        self.notes: list[str] = []
        self.nursery: trio.Nursery | None = None
        # A part of a split run: given the moment its own offices converged, returns when the
        # last part's did (simulations/sim/parts.py), so that every part ends where the whole
        # run would (a quiet log's cosignature is still renewed meanwhile).
        self.settled: Callable[[float], float] | None = None
        self._searchable: defaultdict[str, list[str]] | None = None  # district -> offices
        self.end_time = options.days * DAY

    # -- building ------------------------------------------------------------------------------

    def _key(self, node_id: str) -> nacl.signing.SigningKey:
        seed = hashlib.sha256(f"{self.options.seed}:key:{node_id}".encode()).digest()
        return nacl.signing.SigningKey(seed)

    def clock_ms(self) -> int:
        return EPOCH_MS + int(trio.current_time() * 1000)

    def _build(self) -> None:
        directory = self.options.data_dir if self.options.store == "disk" else None
        for node_id, office in self.offices.items():
            node = SimNode(office, self._key(node_id), clock_ms=self.clock_ms, directory=directory)
            node.on_commit = self._record_commit
            self.nodes[node_id] = node
            service = PeerService(SimLocalNode(node))
            self.slots[node_id] = _ServiceSlot(self.network, node_id, service)
            self.network.add(service, node.identity)
        # Every office follows its children's own logs and, through them, every log they hold.
        held: defaultdict[str, list[str]] = defaultdict(list)  # office -> origins it follows
        for node_id in reversed(list(self.offices)):
            office = self.offices[node_id]
            for child in office.children:
                child_node = self.nodes[child]
                origins = [child_node.origin] + held[child]
                held[node_id] += origins
                for origin in origins:
                    origin_node = origin.split("/", 1)[1]
                    direct = origin == child_node.origin
                    key = self.nodes[origin_node].public_key
                    self.nodes[node_id].follow(origin, key, witness=direct)
                    label = f"{self.offices[origin_node].role}->{office.role}"
                    route = _Route(node_id, child, origin, origin_node, label)
                    self.routes.append(route)
                    self.routes_by_origin[origin].append(route)
                    self._route_of[(node_id, origin)] = route
        for node_id in self.offices:
            self._record_commit(self.nodes[node_id])
        # Every office joins through its parent with a signed entry (simulations/sim/directory.py).
        self.directory = SimDirectory.joined(
            self.offices, self._key, epoch_ms=EPOCH_MS, now=trio.current_time
        )

    def close(self) -> None:
        """Closes every store."""
        for node in self.nodes.values():
            node.close()

    # -- notifications -------------------------------------------------------------------------

    def _notify(self, node_id: str, origin: str) -> None:
        """`origin`'s log grew at `node_id` (its own log, or its replica): the loops waiting
        for it run, at this instant, once the tasks running now wait."""
        waiters = self._changed.pop((node_id, origin), None)
        if waiters:
            now = trio.current_time()
            for wait in waiters:
                self.timers.call_at(now, wait.fire)

    def announce(self, node_id: str) -> None:
        """`node_id` is back (restarted, or its link returned) and tells its parent so: the
        parent's followers waiting out a back-off poll it now (federation Announce)."""
        waiters = self._announced.pop(node_id, None)
        if waiters:
            now = trio.current_time()
            for wait in waiters:
                self.timers.call_at(now, wait.fire)

    def _record_commit(self, node: SimNode) -> None:
        size = node.ledger.size()
        sizes = self.commit_sizes[node.origin]
        if sizes and sizes[-1] >= size:
            return
        sizes.append(size)
        self.commit_times[node.origin].append(trio.current_time())
        self._notify(node.node_id, node.origin)

    def source_size(self, node_id: str, origin: str) -> int:
        """How much of `origin` the office `node_id` can serve now (engine knowledge, used only
        to skip polls that would find nothing)."""
        node = self.nodes[node_id]
        if node.down:
            return 0
        if origin == node.origin:
            return node.ledger.size()
        return node.replicas[origin].size()

    def lock(self, holder: str, origin: str) -> trio.Lock:
        key = (holder, origin)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = trio.Lock()
        return lock

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> Report:
        started = time.perf_counter()
        cpu_started = time.process_time()
        self._build()
        from simulations.sim import faults as fault_module  # noqa: PLC0415 (cycle: faults uses Simulation)

        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self.timers.nursery = nursery
            nursery.start_soon(self.timers.drive)
            for route in self.routes:
                loop = _RouteLoop(self, route)
                self._loops[route.holder].append(loop)
                loop.start()
            for node_id in self.offices:
                # Per office (not one stream over the offices in order): an office writes at
                # the same moments in a part of a split run as in the whole run.
                rng = random.Random(f"{self.options.seed}:phase:{node_id}")
                phase = rng.uniform(0, self.options.tick)
                nursery.start_soon(self._write_loop, node_id, phase)
            if self.options.faults:
                for fault in fault_module.schedule(self):
                    nursery.start_soon(fault.run, self)
            if self.options.progress is not None:
                nursery.start_soon(self._progress_loop)
            await trio.sleep(self.end_time)
            self.writing = False
            await fault_module.end_all(self)
            await self._settle()
            nursery.cancel_scope.cancel()
        sim_seconds = trio.current_time()
        from simulations.sim import invariants  # noqa: PLC0415 (cycle: invariants reads Simulation)

        report = self._report(sim_seconds)
        invariants.check(self, report)
        report.wall_seconds = time.perf_counter() - started
        report.cpu_seconds = time.process_time() - cpu_started
        report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return report

    async def _progress_loop(self) -> None:
        assert self.options.progress is not None
        total = self.end_time
        while True:
            self.options.progress(min(trio.current_time(), total), total)
            await trio.sleep(3600.0)

    def converged(self) -> bool:
        """Whether every replica holds everything its source holds."""
        for route in self.routes:
            if route.origin in self.excluded or self.nodes[route.holder].down:
                continue
            follower = self.nodes[route.holder].follower(route.origin)
            if follower.quarantined:
                continue
            if self.source_size(route.source, route.origin) > follower.verified_size:
                return False
        return True

    async def _settle(self) -> None:
        deadline = trio.current_time() + self.options.settle
        # Convergence is a property of the whole network: looked at once a simulated minute.
        while trio.current_time() < deadline and not self.converged():  # noqa: ASYNC110
            await trio.sleep(60.0)
        if self.settled is not None:
            until = self.settled(trio.current_time())
            if until > trio.current_time():
                await trio.sleep(until - trio.current_time())

    def crash(self, node_id: str) -> None:
        """The office's process dies: its tasks are cancelled, its objects dropped."""
        node = self.nodes[node_id]
        if node.down:
            return
        self.network.down(node_id)
        for loop in self._loops[node_id]:
            loop.stop()
        for scope in list(self._scopes[node_id]):
            scope.cancel()
        node.crash()

    def restarted(self, node_id: str) -> None:
        """The office is back (its objects rebuilt by the caller): tasks run again."""
        self.network.up(node_id)
        for loop in self._loops[node_id]:
            loop.start()
        self._record_commit(self.nodes[node_id])
        for origin in self.nodes[node_id].replicas:
            self._notify(node_id, origin)
        self._notify(node_id, self.nodes[node_id].origin)
        self.announce(node_id)

    # -- replication ---------------------------------------------------------------------------

    def client(self, source: str, target: str) -> SimPeerClient:
        return self.network.client(source, target)

    async def _round(
        self, route: _Route, follower: ReplicaFollower, client: SimPeerClient
    ) -> Progress:
        """One replication round of `route`, under its lock (a gossip check takes it too). A
        free lock is taken without a pass through the scheduler: a deferred client's round
        runs at one instant, so there is nothing to wait for."""
        lock = self.lock(route.holder, route.origin)
        try:
            lock.acquire_nowait()
        except trio.WouldBlock:
            await lock.acquire()
        try:
            # The pipelined round pays off on a long catch-up; a round of a few entries is
            # cheaper sequential (the same checks and the same result).
            gap = self.source_size(route.source, route.origin) - follower.verified_size
            round_ = follow_round if gap > DEFAULT_CHUNK else follow_once
            return await round_(
                follower, client, timeout=self.options.timeout, max_entries=16 * DEFAULT_CHUNK
            )
        finally:
            lock.release()

    def progressed(self, route: _Route, progress: Progress, *, at: float | None = None) -> None:
        """Records lag and outage catch-up after a round that ended `at` (default: now); wakes
        the holder's own readers."""
        now = trio.current_time() if at is None else at
        if progress.alert is not None:
            self._equivocation_caught(route, now)
        if progress.after <= progress.before:
            return
        sizes = self.commit_sizes[route.origin]
        times = self.commit_times[route.origin]
        first = bisect.bisect_right(sizes, progress.before)
        last = bisect.bisect_right(sizes, progress.after)
        shared = route.origin_node in self.shared
        samples = (self.lag_shared if shared else self.lag)[route.label]
        samples.extend(now - times[i] for i in range(first, last))
        for outage in self.outages:
            needed = outage.watch.get((route.holder, route.origin))
            if needed is not None and progress.after >= needed:
                del outage.watch[(route.holder, route.origin)]
                if not outage.watch:
                    outage.result.caught_up_at = now
        held = self._held_gossip.get((route.holder, route.origin))
        if held:
            ready = [note for size, note in held if size <= progress.after]
            held[:] = [(size, note) for size, note in held if size > progress.after]
            assert self.nursery is not None
            for note in ready:
                self.nursery.start_soon(self._check_gossip, route, note)
        self._notify(route.holder, route.origin)

    def _equivocation_caught(self, route: _Route, now: float) -> None:
        result = self.equivocators.get(route.origin_node)
        if result is not None and result.detected_at is None:
            result.detected_at = now
            result.detected_by = route.holder
        self.excluded.add(route.origin)

    async def gossip(self, reader: str, origin_node: str, note: bytes) -> None:
        """`reader` saw `note` for `origin_node`'s log: it passes it up its parent chain to the
        first office that follows that log, which checks it against its replica."""
        origin = self.nodes[origin_node].origin
        holder = self.offices[reader].parent
        while holder and (holder, origin) not in self._route_of:
            holder = self.offices[holder].parent
        if not holder or self.nodes[holder].down:
            return
        route = self._route_of[(holder, origin)]
        follower = self.nodes[holder].follower(origin)
        if follower.quarantined:
            return
        try:
            checkpoint = parse_note(note)[0]
        except VerificationError:
            return
        replica = self.nodes[holder].replicas[origin]
        if checkpoint.size <= replica.size():
            stored = follower.store.checkpoint(checkpoint.size)
            if stored is not None and parse_note(stored)[0].root == checkpoint.root:
                return  # what the holder verified: nothing to check
        elif checkpoint.size > self.source_size(route.source, origin):
            # Beyond what the holder can be shown a proof for: held until its replica has
            # passed that size, then checked against the entries it verified (as gossip.py).
            held = self._held_gossip[(holder, origin)]
            if len(held) < 16:
                held.append((checkpoint.size, note))
            return
        await self._check_gossip(route, note)

    async def _check_gossip(self, route: _Route, note: bytes) -> None:
        """The holder checks a gossiped note with its follower (a round fed that note)."""
        holder, origin = route.holder, route.origin
        if self.nodes[holder].down:
            return
        follower = self.nodes[holder].follower(origin)
        if follower.quarantined:
            return
        client = _GossipClient(note, self.client(holder, route.source))
        try:
            async with self.lock(holder, origin):
                progress = await follow_once(
                    follower, cast(PeerClient, client), timeout=self.options.timeout
                )
        except CctnsError:
            return  # unreachable, or not decidable yet (the holder lacks that size): later
        self.progressed(route, progress)

    # -- the workload --------------------------------------------------------------------------

    async def _write_loop(self, node_id: str, phase: float) -> None:
        options = self.options
        office = self.offices[node_id]
        workload = self.scenario.workload
        per_day = workload.entries_per_day(office.role)
        searches_per_day = workload.searches_per_day(office.role) * options.search_sample
        rhythm = list(workload.rhythm) or [1.0]
        weight = sum(rhythm) or 1.0
        rng = random.Random(f"{options.seed}:write:{node_id}")
        targets = self._search_targets(node_id) if searches_per_day > 0 else []
        await self.timers.sleep(phase)
        while self.writing:
            now = trio.current_time()
            hour = int(now // 3600) % 24
            share = rhythm[hour * len(rhythm) // 24] / weight * 24 * options.tick / DAY
            count = _poisson(rng, per_day * share)
            searches = _poisson(rng, searches_per_day * share) if targets else 0
            node = self.nodes[node_id]
            if node.down:
                self.backlog[node_id] += count
            else:
                count += self.backlog.pop(node_id, 0)
                if count:
                    self.append(node_id, count, rng)
                assert self.nursery is not None
                for _ in range(searches):
                    self.nursery.start_soon(
                        self._search,
                        node_id,
                        targets,
                        rng.choice(NAMES),
                        random.Random(rng.random()),
                        rng.uniform(0, options.tick),
                    )
            await self.timers.sleep(options.tick)

    def append(self, node_id: str, count: int, rng: random.Random) -> None:
        """The office writes `count` GD entries in one group commit."""
        node = self.nodes[node_id]
        bodies, names = [], []
        stamp = self.clock_ms()
        for _ in range(count):
            self.gd_numbers[node_id] += 1
            number = self.gd_numbers[node_id]
            name = rng.choice(NAMES)
            summary = (
                f"sim:{number} {name} reported at the station; "
                + "details of the occurrence as entered by the duty officer. " * 3
            )
            gd = records_pb2.GeneralDiaryEntry(
                gd_date="sim",
                gd_number=number,
                entry_time_ms=stamp,
                category="information",
                summary=summary,
            )
            bodies.append(ledger_pb2.EntryBody(officer_id=SIM_OFFICER, general_diary=gd))
            names.append(name)
        node.append(bodies, names)
        self.written[node_id] += count
        fork = self.forks.get(node_id)
        if fork is not None:
            # The forked history grows too, with entries the true log never had.
            fork.append(
                ledger_pb2.EntryBody(
                    officer_id=SIM_OFFICER,
                    general_diary=records_pb2.GeneralDiaryEntry(
                        gd_date="sim", gd_number=0, category="other", summary="forged"
                    ),
                )
            )

    def _search_targets(self, node_id: str) -> list[str]:
        """The offices a search may go to: the district office (it holds every replica of the
        district) and the other offices of the district that register (stations)."""
        if self._searchable is None:
            # By district, once: a scan of every office per office is quadratic (India: 17,903).
            self._searchable = defaultdict(list)
            for n, o in sorted(self.offices.items()):
                if o.role in ("station", "district"):
                    self._searchable[o.district].append(n)
        return [n for n in self._searchable.get(self.offices[node_id].district, []) if n != node_id]

    async def _search(
        self, node_id: str, targets: list[str], name: str, rng: random.Random, delay: float
    ) -> None:
        """One fan-out search, `delay` into the tick: the district office and up to `fanout`
        stations of the district (the ones the officer chose), each under the deadline; then
        the reader's witness check of every answer, whose checkpoint it passes up its parent
        chain (gossip). (Two searches of one office at one instant would call the same offices
        at once, and which call drew which latency would be trio's scheduling order's choice.)"""
        await self.timers.sleep(delay)
        if self.nodes[node_id].down:
            return
        stations = [t for t in targets if self.offices[t].role != "district"]
        chosen = [t for t in targets if self.offices[t].role == "district"] + sorted(
            rng.sample(stations, min(self.options.fanout, len(stations)))
        )
        if not chosen:
            return
        deadline = self.options.search_deadline
        request = federation_pb2.SearchRequest(
            kind="person",
            query=name,
            limit=20,
            context=federation_pb2.QueryContext(
                officer_id=SIM_OFFICER, purpose="simulation", case_ref="SIM/1"
            ),
        )

        async def ask(client: PeerClient) -> federation_pb2.SearchResponse:
            return await client.search(request, timeout=deadline)

        started = trio.current_time()
        # Each office asked at the address the reader's directory holds (moved: not answered).
        reached = self.directory.reachable(node_id, chosen)
        result = await fan_out([self.client(node_id, t) for t in reached], ask, deadline=deadline)
        self.search_latency.append(trio.current_time() - started)
        self.searches += 1
        self.fanout_asked += len(chosen)
        self.fanout_answered += len(result.answers)
        for target, response in result.answers.items():
            if self.directory.check_answer(node_id, target, response).ok:
                # The reader's witness check passed (federation/witness.py: the parent's
                # cosignature, recent, tied to the answer): nothing to pass on.
                continue
            # Unwitnessed (or witnessed too long ago): the reader asks the office for its
            # checkpoint before it trusts the answer, and passes it up its parent chain.
            try:
                note = await self.client(node_id, target).get_checkpoint("", timeout=deadline)
            except CctnsError:
                continue
            await self.gossip(node_id, target, note)

    # -- the report ----------------------------------------------------------------------------

    def _report(self, sim_seconds: float) -> Report:
        options = self.options
        roles: dict[str, int] = defaultdict(int)
        for office in self.offices.values():
            roles[office.role] += 1
        level = label_order
        labels = set(self.lag) | set(self.lag_shared)
        lag = {
            label: Stats.of(self.lag.get(label, []) + self.lag_shared.get(label, []))
            for label in sorted(labels, key=level)
        }
        days = max(sim_seconds / DAY, 1e-9)
        per_kind: defaultdict[str, list[float]] = defaultdict(list)
        for (a, b), count in self.network.bytes.items():
            per_kind[link_label(self.offices, a, b)].append(count / days)
        bytes_per_link = {
            label: sum(values) / len(values)
            for label, values in sorted(per_kind.items(), key=lambda kv: level(kv[0]))
        }
        top = sorted(self.network.bytes.items(), key=lambda kv: -kv[1])[:10]
        report = Report(
            scenario=self.scenario.name,
            days=options.days,
            seed=options.seed,
            store=options.store,
            scale=options.scale,
            offices=dict(roles),
            entries_written=sum(self.written.values()),
            entries_total=sum(node.ledger.size() for node in self.nodes.values() if not node.down),
            lag=lag,
            fanout_latency=Stats.of(self.search_latency),
            searches=self.searches,
            fanout_asked=self.fanout_asked,
            fanout_answered=self.fanout_answered,
            bytes_per_link_day=bytes_per_link,
            top_links=[(f"{a} <-> {b}", count / days) for (a, b), count in top],
            messages=self.network.calls,
            lost_with_disk=self.lost_with_disk,
            outages=[outage.result for outage in self.outages],
            equivocations=list(self.equivocators.values()),
            notes=list(self.notes),
            sim_seconds=sim_seconds,
        )
        report.notes += standing_notes(options)
        report.notes += self.directory.notes()
        return report


def label_order(label: str) -> tuple[int, int, str]:
    """Sort key of a lag or link label ("station->circle"): by the levels, low first."""
    order = {role: i for i, role in enumerate(HIERARCHY)}
    low, _, high = label.partition("->")
    return (order.get(low, 99), order.get(high, 99), label)


def link_label(offices: dict[str, Office], a: str, b: str) -> str:
    """The kind of the link between offices `a` and `b`, as the report names it."""
    office_a, office_b = offices[a], offices[b]
    if office_a.parent == b:
        return f"{office_a.role}->{office_b.role}"
    if office_b.parent == a:
        return f"{office_b.role}->{office_a.role}"
    return f"{office_a.role}<->{office_b.role} (search)"


def standing_notes(options: SimOptions) -> list[str]:
    """The notes every report carries (what the run leaves out)."""
    notes = [
        "the SQL index is off: searches answer from the names each office wrote; "
        "idle replication polls are skipped (they change nothing)"
    ]
    if options.search_sample < 1.0:
        notes.append(f"searches sampled: {options.search_sample:g} of the workload's")
    return notes


# -- the replication loops -------------------------------------------------------------------


class _Wait:
    """One wait of a route loop: whichever of its wake-ups comes first (the log growing, the
    source announcing itself, a time) calls `then` once; the others are then no-ops."""

    __slots__ = ("_timer", "then")

    def __init__(self, then: Callable[[], None]) -> None:
        self.then: Callable[[], None] | None = then
        self._timer: list[Any] | None = None

    def fire(self) -> None:
        then = self.then
        if then is None:
            return
        self.cancel()
        then()

    def cancel(self) -> None:
        self.then = None
        if self._timer is not None:
            Timers.cancel(self._timer)
            self._timer = None


def _add_waiter(waiters: list[_Wait], wait: _Wait) -> None:
    """Adds `wait` to a list of waiters, dropping those already over whenever the list reaches
    a power of two from 64 (a loop that waited out its time again and again while the log or
    the link stayed quiet; a filter per doubling keeps the cost of an add constant)."""
    count = len(waiters)
    if count >= 64 and not count & (count - 1):
        waiters[:] = [waiting for waiting in waiters if waiting.then is not None]
    waiters.append(wait)


class _RouteLoop:
    """The replication loop of one route (`holder` following `origin` through `source`), as
    replication_loop.follow_forever runs it on a node (poll, back off up to the cap, wake at
    an Announce), with the simulator's idle polls skipped (docs/simulator.md).

    It runs as callbacks on the engine's timers, not as a task: the round itself is
    federation/replication.py's `follow_once` over a deferred client, which never waits (its
    calls are decided when sent and their time added up), so its coroutine is run to its end
    in one step, at the instant the round starts; its result is dated when the round ends
    (start + the summed round trips), and the loop waits until then. A task's two waits per
    round (for the log to grow, then for the poll grid) and the scheduler's passes were a fifth
    of a run's CPU. A round that could wait is run in a task of its own instead, as before: a
    long catch-up (the pipelined `follow_round`), or one whose replica a gossip check holds.

    A crash stops the loop (`stop`: its wait dropped, its round task cancelled); the restart
    starts it afresh over the rebuilt follower (`start`), as a new process would."""

    __slots__ = (
        "backoff",
        "client",
        "ends",
        "failing",
        "generation",
        "moved",
        "phase",
        "poll",
        "refreshes",
        "route",
        "sim",
        "wait",
    )

    def __init__(self, sim: Simulation, route: _Route) -> None:
        self.sim = sim
        self.route = route
        options = sim.options
        # A round's calls are served at once and their time added up (network.py, deferred):
        # the round ends at `ends`, when its report is dated; the next waits until then.
        self.client = sim.client(route.holder, route.source)
        self.client.deferred = True
        # A shared office's own log (split run): its traffic is the same in every part.
        self.client.shared = route.origin_node in sim.shared
        self.poll = options.poll_interval
        self.phase = random.Random(f"{options.seed}:{route.holder}:{route.origin}").uniform(
            0, self.poll
        )
        # The origin's parent, reading the origin itself, is the witness whose line readers'
        # default policy asks for: it cosigns a quiet log again (refresh_cosignature) once its
        # line is `refresh_seconds` old, so its idle poll at that time is a round (the others'
        # idle polls change nothing and are skipped; see docs/simulator.md).
        self.refreshes = (
            route.source == route.origin_node
            and sim.offices[route.origin_node].parent == route.holder
        )
        self.generation = 0
        self.wait: _Wait | None = None
        self.ends = 0.0
        self.backoff = self.poll
        self.failing = self.moved = False

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts the loop afresh (the run's start, a restart), at this instant."""
        self.stop()
        self.ends = 0.0
        self.backoff = self.poll
        self.failing = self.moved = False
        self._wait(self.top, until=trio.current_time())

    def stop(self) -> None:
        """The holder's process died: the loop's wait is dropped (its round task, if one runs,
        is cancelled by the crash and its result ignored)."""
        self.generation += 1
        if self.wait is not None:
            self.wait.cancel()
            self.wait = None

    def _wait(
        self,
        then: Callable[[], None],
        *,
        change: bool = False,
        announce: bool = False,
        until: float | None = None,
    ) -> None:
        sim, route = self.sim, self.route
        wait = self.wait = _Wait(then)
        if change:
            _add_waiter(sim._changed[(route.source, route.origin)], wait)
        if announce:
            _add_waiter(sim._announced[route.source], wait)
        if until is not None:
            wait._timer = sim.timers.call_at(until, wait.fire)

    # -- the loop ------------------------------------------------------------------------------

    def _follower(self) -> ReplicaFollower:
        return self.sim.nodes[self.route.holder].follower(self.route.origin)

    def top(self) -> None:
        """The top of the loop: wait for something to fetch (or a line to renew) unless the
        last round failed or moved the replica and more is there."""
        follower = self._follower()
        if follower.quarantined:
            return  # the loop ends
        route = self.route
        behind = self.sim.source_size(route.source, route.origin) > follower.verified_size
        # After a round that moved the replica the next starts at once (replication_loop).
        if not self.failing and not (self.moved and behind):
            self.idle()
        else:
            self.at_ends()

    def idle(self) -> None:
        """Waits until the source holds more than the replica (or the parent's line on the
        origin's checkpoint is due again), then for the poll grid."""
        sim, route = self.sim, self.route
        follower = self._follower()
        now = trio.current_time()
        if (
            sim.source_size(route.source, route.origin) <= follower.verified_size
            and follower.cosignature_to_send() is None
        ):
            due = follower.cosignature_refresh_at() if self.refreshes else None
            if due is None:
                self._wait(self.idle, change=True)
                return
            due_at = (due * 1000 - EPOCH_MS) / 1000  # the witness's clock, simulated
            if due_at > now:
                self._wait(self.idle, change=True, until=due_at)
                return
            # The line is due again: this poll cosigns.
        ends = max(self.ends, now)
        self.ends = self.phase + math.ceil((ends - self.phase) / self.poll) * self.poll
        self.at_ends()

    def at_ends(self) -> None:
        """The next round starts when the last one ended (or at the poll grid)."""
        if self.ends > trio.current_time():
            self._wait(self.round, until=self.ends)
        else:
            self.round()

    def round(self) -> None:
        sim, route = self.sim, self.route
        follower = self._follower()
        gap = sim.source_size(route.source, route.origin) - follower.verified_size
        lock = sim._locks.get((route.holder, route.origin))
        if gap > DEFAULT_CHUNK or (lock is not None and lock.locked()):
            assert sim.nursery is not None
            sim.nursery.start_soon(self.round_in_task, self.generation)
            return
        # A round of a few entries, sequential: it never waits (the client is deferred), so
        # its coroutine runs to its end here.
        coroutine = follow_once(
            follower, self.client, timeout=sim.options.timeout, max_entries=16 * DEFAULT_CHUNK
        )
        try:
            try:
                coroutine.send(None)
            finally:
                self.ends = trio.current_time() + self.client.take_owed()
        except StopIteration as finished:
            self.succeeded(finished.value)
            return
        except CctnsError:
            # PeerUnavailable, a wrong answer, or a refusal (InputError from the peer).
            self.failed()
            return
        coroutine.close()
        raise RuntimeError(f"the round of {route.holder} following {route.origin} waited")

    async def round_in_task(self, generation: int) -> None:
        """A round that may wait (a long catch-up, pipelined; a replica a gossip check holds),
        in a task the holder's crash cancels."""
        sim, route = self.sim, self.route
        holder = route.holder
        with trio.CancelScope() as scope:
            sim._scopes[holder].add(scope)
            try:
                try:
                    progress = await sim._round(route, self._follower(), self.client)
                finally:
                    owed = self.client.take_owed()
                    if generation == self.generation:
                        self.ends = trio.current_time() + owed
            except CctnsError:
                if generation == self.generation:
                    self.failed()
                return
            finally:
                sim._scopes[holder].discard(scope)
        if not scope.cancelled_caught and generation == self.generation:
            self.succeeded(progress)

    def failed(self) -> None:
        """The back-off (from the round's end) ends early when the source announces it is
        back (not before the round's end)."""
        self.failing = True
        until = self.ends + self.backoff
        self.backoff = min(self.backoff * 2, self.sim.options.max_backoff)
        self._wait(self.top, announce=True, until=until)

    def succeeded(self, progress: Progress) -> None:
        self.failing = False
        self.moved = progress.fetched > 0
        self.backoff = self.poll
        self.sim.progressed(self.route, progress, at=self.ends)
        self.top()
