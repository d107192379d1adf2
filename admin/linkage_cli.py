"""`cctns link ...`: one person across records and stations (docs/linkage.md). Record linkage
proposes pairs of person records that are probably one person; an officer confirms or rejects
each, and may reverse a decision later. Every decision is an entry of this node's log.

    cctns link propose [--threshold 0.9] [--limit 50]     pairs to decide, most probable first
    cctns link confirm PERSON PERSON --officer ID [--reason TEXT]
    cctns link reject PERSON PERSON --officer ID --reason TEXT
    cctns link reverse INDEX --officer ID --reason TEXT   (the decision's ledger index)
    cctns link show PERSON                                 the person across every record

A PERSON is a person id of this node's log ("P-1-12") or of a log it replicates, written
"ORIGIN:ID" ("cctns.in/kerala/ernakulam-city/ps-aluva:P-1-12"). On a district, state or
national node the persons of every replica are linked (its one index over them, which a running
node keeps up to date), and the stations' own decisions count beside the node's; on a station,
its own. The match probability of a proposed pair is written into the decision as the officer
was shown it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from admin.common import command, emit, officer_option, open_station, subcommands
from ledger.errors import NotFound
from node.config import DataDir
from node.index import linkage, person_links
from node.index.person_links import PersonKey
from node.peers.replica_index import ReplicaIndexes
from node.records.validation import format_time
from node.station import linkage as decide
from node.station.core import Station


@dataclass(frozen=True, slots=True)
class _Node:
    """The node's station, the persons it links and the decisions it goes by (its own; on an
    aggregating node, its replicas' too)."""

    station: Station
    persons: list[linkage.PersonRecord]
    decisions: list[person_links.LinkDecision]


@contextmanager
def _node(path: str) -> Iterator[_Node]:
    data_dir = DataDir(path)
    config = data_dir.load_config()
    indexes = None
    if config.aggregate_url or (data_dir.path / "replicas").is_dir():
        indexes = ReplicaIndexes(data_dir.path / "replicas", config.aggregate_url)
    try:
        with open_station(path) as station:
            own = station.index.engine
            aggregate = indexes.aggregate.engine if indexes is not None else None
            yield _Node(
                station,
                linkage.node_persons(own, station.config.origin, aggregate),
                linkage.node_decisions(own, aggregate),
            )
    finally:
        if indexes is not None:
            indexes.close()


def _key(station: Station, text: str) -> PersonKey:
    origin, sep, person_id = text.strip().rpartition(":")
    return PersonKey(origin if sep else station.config.origin, person_id)


def _find(persons: list[linkage.PersonRecord], key: PersonKey) -> linkage.PersonRecord:
    for person in persons:
        if person.key == key:
            return person
    raise NotFound(f"no person {key.person_id!r} of {key.origin} among the persons linked here")


def _person(person: linkage.PersonRecord) -> dict[str, Any]:
    return {
        "origin": person.key.origin,
        "person_id": person.key.person_id,
        "described": person.described(),
        "address": person.address,
        "record": person.record_ref,
    }


def cmd_propose(args: argparse.Namespace) -> int:
    with _node(args.data_dir) as node:
        if sys.stderr.isatty():  # one scoring pass, no steps to count: say what it is doing
            print(f"scoring pairs among {len(node.persons):,} person records...", file=sys.stderr)
        decided = person_links.standing(node.decisions).decided()
        proposals = linkage.propose(node.persons, decided=decided, threshold=args.threshold)
    emit(
        [
            {
                "probability": round(p.probability, 4),
                "first": _person(p.first),
                "second": _person(p.second),
            }
            for p in proposals[: args.limit]
        ]
    )
    return 0


def _decide(args: argparse.Namespace, decision: str) -> int:
    with _node(args.data_dir) as node:
        station = node.station
        a = _find(node.persons, _key(station, args.first))
        b = _find(node.persons, _key(station, args.second))
        probability = args.probability
        if probability is None:  # as the model scores the pair now
            # The prior and the names' frequencies are the node's, not those of two records.
            population = linkage.Population.of(node.persons)
            scored = linkage.propose([a, b], threshold=0.0, population=population)
            probability = scored[0].probability if scored else 0.0
        first = decide.linked_person(a.key.origin, a.key.person_id, a.record_ref, a.name)
        second = decide.linked_person(b.key.origin, b.key.person_id, b.record_ref, b.name)
        act = decide.confirm if decision == person_links.CONFIRM else decide.reject
        receipt = act(
            station, args.officer, first, second, match_probability=probability, reason=args.reason
        )
    emit({"decision": decision, "index": receipt.index, "probability": round(probability, 4)})
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    return _decide(args, person_links.CONFIRM)


def cmd_reject(args: argparse.Namespace) -> int:
    return _decide(args, person_links.REJECT)


def cmd_reverse(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = decide.reverse(station, args.officer, args.index, args.reason)
    emit({"decision": person_links.REVERSE, "index": receipt.index, "reverses": args.index})
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _node(args.data_dir) as node:
        key = _key(node.station, args.person)
        links = person_links.standing(node.decisions)
        shown = linkage.profile(node.persons, key, links.same_person(key), links.decided())
        if shown is None:
            raise NotFound(f"no person {key.person_id!r} of {key.origin} among the persons here")
        history = person_links.about(node.decisions, links.same_person(key) | {key})
        origin = node.station.config.origin
    emit(
        {
            "person": _person(shown.members[0]) if shown.members else {},
            "names": shown.names,
            "records": [_person(m) for m in shown.members],
            "cases": [
                {
                    "origin": k.origin,
                    "person_id": k.person_id,
                    "record": a.record_ref,
                    "role": a.role,
                    "written": format_time(a.written_at_ms),
                }
                for k, a in shown.cases
            ],
            "decisions": [
                {
                    "office": d.office or origin,
                    "index": d.ledger_index,
                    "decision": d.decision,
                    "reason": d.reason,
                    "first": str(d.first),
                    "second": str(d.second),
                    "reverses": d.reverses,
                    "reversed_by": d.reversed_by,
                }
                for d in history
            ],
            "proposals": [
                {
                    "probability": round(p.probability, 4),
                    "first": _person(p.first),
                    "second": _person(p.second),
                }
                for p in shown.proposals
            ],
        }
    )
    return 0


def register(groups: Any) -> None:
    """Adds the `link` command group."""
    group = subcommands(
        groups, "link", "one person across records and stations", description=__doc__
    )
    sub = command(group, "propose", cmd_propose, "pairs of person records to decide")
    sub.add_argument("--threshold", type=float, default=linkage.THRESHOLD)
    sub.add_argument("--limit", type=int, default=50)
    for name, handler, text in (
        ("confirm", cmd_confirm, "the two records are one person"),
        ("reject", cmd_reject, "the two records are two people"),
    ):
        sub = command(group, name, handler, text)
        sub.add_argument("first", help='a person id, or "ORIGIN:ID" of another log')
        sub.add_argument("second")
        officer_option(sub, "who decides")
        sub.add_argument("--reason", default="", required=name == "reject")
        sub.add_argument(
            "--probability", type=float, help="as shown to the officer (default: scored now)"
        )
    sub = command(group, "reverse", cmd_reverse, "a decision no longer holds (a later entry)")
    sub.add_argument("index", type=int, help="the decision's ledger index")
    officer_option(sub, "who decides")
    sub.add_argument("--reason", required=True)
    sub = command(group, "show", cmd_show, "one person across every record linked to them")
    sub.add_argument("person", help='a person id, or "ORIGIN:ID" of another log')


__all__ = ["register"]
