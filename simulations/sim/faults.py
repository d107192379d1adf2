"""The faults a scenario schedules, each applied to the simulated network and offices.

Every fault starts at `at` (simulated seconds), lasts `duration` (cut short at the end of the
written days), and is recorded as an outage whose catch-up the report measures: the time from
its end until every replica behind it holds what its source held when it ended.

- link-down: the link between an office and its parent (or `other`) carries nothing;
- district-cut: every link between the district's offices and the rest is cut;
- crash: the office's process dies (tasks cancelled, in-flight work lost, stores kept) and
  restarts; what its officers wrote meanwhile is entered after the restart;
- restore-backup: the office's disk is lost at `at` and restored from the backup taken
  `duration` seconds before; before it appends again it reconciles with its parent exactly as
  node/runtime.py does (`resync_own_log`, then `recover_from_parent`);
- equivocate: the office signs a forked log and shows it to every reader but its parent;
- slow-link / lossy-link: the link to the parent gets `latency` seconds one way / `loss`;
- move: the office is unreachable while it moves (its old address dead, its new one not yet
  known), then reachable again over a new link; it keeps registering meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import trio

from federation.memory import Link
from federation.replication import recover_from_parent, resync_own_log
from federation.service import PeerService
from ledger.entry import parse_leaf
from ledger.errors import PeerError, PeerUnavailable, UsageError
from ledger.log import Ledger
from ledger.store import LogStore
from protos import ledger_pb2, records_pb2
from simulations.sim.network import EquivocatingService
from simulations.sim.node import SIM_OFFICER, SimLocalNode
from simulations.sim.report import EquivocationResult, OutageResult
from simulations.sim.shape import FAULT_KINDS, FaultLike

if TYPE_CHECKING:
    from simulations.sim.engine import Simulation

RESTORE_DOWNTIME = 1800.0  # s between a disk lost and the node restored from its backup
RECONCILE_RETRY = 60.0


@dataclass(slots=True)
class Fault:
    """One scheduled fault, resolved against the offices kept in the run."""

    kind: str
    at: float
    duration: float
    target: str
    other: str = ""
    latency: float = 0.0
    loss: float = 0.0
    members: list[str] = field(default_factory=list)  # offices behind the cut
    _previous: Link | None = None
    _backup: LogStore | None = None
    _outage: object = None

    async def run(self, sim: Simulation) -> None:
        sim.active_faults += 1
        try:
            if self.at >= sim.end_time:
                return
            if self.kind == "restore-backup":
                await _sleep_until(max(0.0, self.at - self.duration))
                self._backup = sim.nodes[self.target].backup_store(f"{int(self.at)}")
                await _sleep_until(self.at)
                await self._restore(sim)
                return
            await _sleep_until(self.at)
            self._start(sim)
            if self.kind == "equivocate":
                return  # not an outage: what was signed stays signed
            outage = _begin(sim, self)
            await _sleep_until(min(self.at + self.duration, sim.end_time))
            await self._stop(sim)
            _end(sim, outage)
        finally:
            sim.active_faults -= 1
            if not sim.active_faults:
                sim.faults_over.set()

    def _link(self, sim: Simulation) -> tuple[str, str]:
        return self.target, self.other or sim.offices[self.target].parent

    def _start(self, sim: Simulation) -> None:
        network = sim.network
        if self.kind == "link-down":
            network.partition(*self._link(sim))
        elif self.kind == "district-cut":
            network.cut(sim.offices[self.members[0]].district or self.members[0])
        elif self.kind == "crash":
            sim.crash(self.target)
        elif self.kind == "move":
            network.isolate(self.target)
        elif self.kind in ("slow-link", "lossy-link"):
            a, b = self._link(sim)
            self._previous = network.link(a, b)
            if self.kind == "slow-link":
                network.set_link(a, b, latency=self.latency)
            else:
                network.set_link(a, b, loss=self.loss)
        elif self.kind == "equivocate":
            _equivocate(sim, self.target)

    async def _stop(self, sim: Simulation) -> None:
        network = sim.network
        if self.kind == "link-down":
            network.heal(*self._link(sim))
            for node_id in self._link(sim):
                sim.announce(node_id)
        elif self.kind == "district-cut":
            network.uncut(sim.offices[self.members[0]].district or self.members[0])
            for node_id in self.members:
                sim.announce(node_id)
        elif self.kind == "crash":
            sim.nodes[self.target].restart()
            sim.restarted(self.target)
        elif self.kind == "move":
            network.heal(self.target)
            sim.directory.move(self.target, sim.nursery)  # its new signed statement
            sim.announce(self.target)
            a, b = self._link(sim)
            if b:
                low, high = sim.options.latency
                network.set_link(a, b, latency=(low * 2, high * 2))
        elif self.kind in ("slow-link", "lossy-link") and self._previous is not None:
            a, b = self._link(sim)
            network.set_link(a, b, latency=self._previous.latency, loss=self._previous.loss)

    async def _restore(self, sim: Simulation) -> None:
        """The disk is lost; after RESTORE_DOWNTIME the backup is restored and reconciled."""
        node = sim.nodes[self.target]
        parent_id = sim.offices[self.target].parent
        outage = _begin(sim, self)
        before = node.store.size()
        parent_size = sim.nodes[parent_id].replicas[node.origin].size() if parent_id else 0
        backup = self._backup
        assert backup is not None
        keep = max(parent_size, backup.size())
        numbers = sim.lost_numbers[self.target]
        for leaf in node.store.entries(keep, before):
            body = parse_leaf(leaf).decode_body()
            if body.WhichOneof("record") == "general_diary":
                numbers.add(body.general_diary.gd_number)
        sim.lost_with_disk += len(numbers)
        if self.target in sim.shared:
            sim.shared_lost_with_disk += len(numbers)
        sim.crash(self.target)
        await trio.sleep(RESTORE_DOWNTIME)
        recovered = 0
        while parent_id:
            client = sim.client(self.target, parent_id)
            try:
                try:
                    await resync_own_log(
                        backup, node.origin, node.public_key, client, timeout=sim.options.timeout
                    )
                except UsageError:
                    recovered = await recover_from_parent(
                        backup, node.origin, node.public_key, client, timeout=sim.options.timeout
                    )
                break
            except (PeerUnavailable, PeerError):
                # No appending before the parent is heard: a restored log that appended would
                # sign a second history for indexes its parent already holds.
                await trio.sleep(RECONCILE_RETRY)
        sim.notes.append(
            f"{self.target} restored from a backup of {backup.size() - recovered} entries: "
            f"{recovered} recovered from its parent, {len(numbers)} lost with the disk"
        )
        sim.network.up(self.target)  # before restart: its followers may call at once
        node.restart(own_store=backup)
        sim.restarted(self.target)
        _end(sim, outage)


async def _sleep_until(when: float) -> None:
    delay = when - trio.current_time()
    if delay > 0:
        await trio.sleep(delay)


def _subtree(sim: Simulation, node_id: str) -> list[str]:
    found = [node_id]
    for child in sim.offices[node_id].children:
        found += _subtree(sim, child)
    return found


def _begin(sim: Simulation, fault: Fault) -> OutageResult:
    result = OutageResult(fault.kind, fault.target, trio.current_time(), trio.current_time())
    result.offices = len(fault.members)
    result.written_during = -sum(sim.written[m] for m in fault.members)
    sim.shared_written_during[id(result)] = sum(
        sim.written[m] for m in fault.members if m in sim.shared
    )
    return result


def _end(sim: Simulation, result: OutageResult) -> None:
    """The fault is over: what each replica behind it must reach to have caught up."""
    from simulations.sim.engine import _Outage  # noqa: PLC0415 (cycle: the engine imports us)

    members = set(_members_of(sim, result))
    result.end = trio.current_time()
    result.written_during += sum(sim.written[m] for m in members)
    shared_written = sum(
        sim.written[m] for m in members if m in sim.shared
    ) - sim.shared_written_during.pop(id(result), 0)
    watch: dict[tuple[str, str], int] = {}
    for route in sim.routes:
        if route.origin in sim.excluded:
            continue
        if (route.source in members) == (route.holder in members) and route.holder not in (
            result.target,
        ):
            continue
        needed = sim.source_size(route.source, route.origin)
        if needed > sim.nodes[route.holder].replicas[route.origin].size():
            watch[(route.holder, route.origin)] = needed
    if not watch:
        result.caught_up_at = result.end
    sim.outages.append(_Outage(result, sorted(members), watch, shared_written))


def _members_of(sim: Simulation, result: OutageResult) -> list[str]:
    for fault in sim.faults:
        if fault.kind == result.kind and fault.target == result.target:
            members: list[str] = fault.members
            return members
    return []


def _equivocate(sim: Simulation, node_id: str) -> None:
    """The office forks its log at its current size and shows the fork to all but its
    parent (which keeps seeing the true log)."""
    node = sim.nodes[node_id]
    forked = Ledger(node.backup_store("fork"), node.key, node.origin, clock=sim.clock_ms)
    forked.append(
        ledger_pb2.EntryBody(
            officer_id=SIM_OFFICER,
            general_diary=records_pb2.GeneralDiaryEntry(
                gd_date="sim", gd_number=0, category="other", summary="forged"
            ),
        )
    )
    sim.forks[node_id] = forked
    honest = sim.slots[node_id].service
    deceived = {n for n in sim.offices if n != sim.offices[node_id].parent}
    sim.slots[node_id].service = EquivocatingService(
        honest,  # type: ignore[arg-type]
        PeerService(SimLocalNode(node, forked)),
        deceived,
    )
    sim.equivocators[node_id] = EquivocationResult(node_id, trio.current_time())


def schedule(sim: Simulation) -> list[Fault]:
    """The scenario's faults that apply to the offices kept (the others are noted)."""
    faults: list[Fault] = []
    for spec in sim.scenario.faults:
        fault = _resolve(sim, spec)
        if fault is None and _elsewhere(sim, spec):
            continue  # a split run: the fault is another part's (simulations/sim/parts.py)
        if fault is None:
            sim.notes.append(f"fault {spec.kind} on {spec.target} skipped: office not simulated")
            continue
        faults.append(fault)
    sim.faults = faults
    return faults


def _elsewhere(sim: Simulation, spec: FaultLike) -> bool:
    """Whether a fault not resolved in this run names an office of another part of a split run
    (that part applies it; a fault on a shared office is applied in every part)."""
    if len(sim.whole) == len(sim.offices):
        return False
    named = [spec.target, getattr(spec, "other", "") or ""]
    if spec.kind == "district-cut" and spec.target in sim.whole_districts:
        return True
    return any(n in sim.whole and n not in sim.offices for n in named if n)


def _resolve(sim: Simulation, spec: FaultLike) -> Fault | None:
    if spec.kind not in FAULT_KINDS:
        sim.notes.append(f"unknown fault kind {spec.kind!r} skipped")
        return None
    fault = Fault(
        spec.kind,
        float(spec.at),
        float(spec.duration),
        spec.target,
        getattr(spec, "other", "") or "",
        float(getattr(spec, "latency", 0.0) or 0.0),
        float(getattr(spec, "loss", 0.0) or 0.0),
    )
    if spec.kind == "district-cut":
        district = next(
            (
                o.district
                for o in sim.offices.values()
                if spec.target in (o.district, o.node_id) and o.role == "district"
            ),
            "",
        ) or next((o.district for o in sim.offices.values() if o.district == spec.target), "")
        if not district:
            return None
        fault.members = [n for n, o in sim.offices.items() if o.district == district]
        fault.target = district
        return fault
    if spec.target not in sim.offices:
        return None
    if fault.other and fault.other not in sim.offices:
        return None
    needs_parent = ("link-down", "slow-link", "lossy-link", "move", "restore-backup", "crash")
    if spec.kind in needs_parent and not sim.offices[spec.target].parent and not fault.other:
        return None
    fault.members = _subtree(sim, spec.target)
    return fault


async def end_all(sim: Simulation) -> None:
    """Waits until every fault has ended (each ends by the last written day at the latest)."""
    if sim.active_faults:
        await sim.faults_over.wait()
