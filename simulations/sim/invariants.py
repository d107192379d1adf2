"""The invariants checked at the end of a run; each failure is one line in `report.problems`.

- nothing lost: every entry an office's log holds is in every replica of that log up the chain
  (same size, same root), and every GD entry the workload had acknowledged is in the office's
  log (except those a restored old backup never had and the parent had not yet replicated:
  counted apart, as `lost_with_disk`);
- nothing duplicated: no GD number twice in an office's log;
- every replica verifies: the parent's replica of each log passes `ledger.log.verify_log`
  (every signature, every tree node, every checkpoint); every higher replica has the same root
  at its size as the office's own log, so it holds the same leaves; the office holds its
  parent's cosignature of its latest replicated checkpoint;
- every equivocation caught, and no replica quarantined for an office that did not equivocate;
- every outage caught up after it ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger import merkle
from ledger.checkpoint import parse_note
from ledger.cosignature import verify_cosignature
from ledger.entry import parse_leaf
from ledger.errors import CctnsError
from ledger.log import verify_log
from simulations.sim.report import Report

if TYPE_CHECKING:
    from simulations.sim.engine import Simulation


def check(sim: Simulation, report: Report) -> None:
    """Fills the report's invariant figures and `problems`."""
    problems = report.problems
    lost = 0
    for node_id, node in sim.nodes.items():
        if node.down:
            problems.append(f"{node_id} is still down at the end")
            continue
        if node.origin in sim.excluded:
            continue
        own_size = node.ledger.size()
        missing_here = 0
        # A shared office of a split run (simulations/sim/parts.py): its log and its replicas
        # are in every part; what is found of them is also counted apart, to count it once.
        shared = node_id in sim.shared
        checked, verified = report.replicas_checked, report.replicas_verified
        for route in sim.routes_by_origin[node.origin]:
            holder = sim.nodes[route.holder]
            if holder.down:
                continue
            replica = holder.replicas[node.origin]
            report.replicas_checked += 1
            if replica.quarantined:
                problems.append(f"{route.holder} quarantined the log of {node_id}, which is honest")
                continue
            size = replica.size()
            missing_here = max(missing_here, own_size - size)
            if size < own_size:
                problems.append(
                    f"{route.holder} holds {size} of the {own_size} entries of {node_id}"
                )
            if size:
                root = parse_note(replica.checkpoint())[0].root
                if merkle.MerkleTree(node.store).root(size) != root:
                    problems.append(f"{route.holder}'s replica of {node_id} is not its log")
                    continue
            if route.holder == sim.offices[node_id].parent:
                try:
                    verify_log(replica.follower.store, node.public_key, node.origin)
                except CctnsError as exc:
                    report.replicas_failed.append(f"{route.holder}: {node_id}")
                    problems.append(f"{route.holder}'s replica of {node_id} fails: {exc}")
                    continue
            report.replicas_verified += 1
        lost += max(0, missing_here)
        if shared:
            sim.shared_checked += report.replicas_checked - checked
            sim.shared_verified += report.replicas_verified - verified
            sim.shared_lost += max(0, missing_here)
        parent = sim.offices[node_id].parent
        if parent and own_size and node.latest_cosigned:
            try:
                verify_cosignature(
                    node.latest_cosigned, sim.nodes[parent].public_key, sim.nodes[parent].origin
                )
            except CctnsError as exc:
                problems.append(f"{node_id} holds a bad cosignature from {parent}: {exc}")
        elif parent and own_size and sim.routes_by_origin[node.origin]:
            problems.append(f"{node_id} holds no cosignature from its parent {parent}")
        # The workload's entries, by GD number.
        seen: set[int] = set()
        duplicated = 0
        for leaf in node.store.entries(0, own_size):
            body = parse_leaf(leaf).decode_body()
            if body.WhichOneof("record") != "general_diary":
                continue
            number = body.general_diary.gd_number
            if number in seen:
                duplicated += 1
            seen.add(number)
        written = set(range(1, sim.gd_numbers[node_id] + 1))
        never = written - seen - sim.lost_numbers[node_id]
        if duplicated:
            problems.append(f"{node_id}: {duplicated} entries written twice")
        if never:
            problems.append(f"{node_id}: {len(never)} acknowledged entries are not in its log")
        report.duplicated += duplicated
        lost += len(never)
        if shared:
            sim.shared_duplicated += duplicated
            sim.shared_lost += len(never)
    report.lost = lost
    for result in sim.equivocators.values():
        if result.detected_at is None:
            problems.append(f"the equivocation of {result.node} was not caught")
    for outage in report.outages:
        if outage.caught_up_at is None:
            problems.append(
                f"{outage.kind} of {outage.target}: the replicas behind it did not catch up"
            )
