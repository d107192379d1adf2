"""`cctns peer ...`: ask other nodes, as this node (its certificate), from the command line.

    cctns peer search "K. Raju" --data-dir D [--kind person] [--nodes ID,ID | all] [--json]
    cctns peer fetch "FIR No. 3/2026" --node ID --data-dir D [--json]
    cctns peer hit KL-07-AB-1234 --type vehicle_registration --data-dir D [--nodes ...]
    cctns peer transfer-zero-fir "ZERO FIR 1/2026" --to ID --data-dir D

Every answer is verified (signatures, inclusion proofs, receipts) before it is shown; nodes
that did not answer in time are named.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import trio
from google.protobuf.json_format import MessageToDict

from admin.common import Handler, command, subcommands
from federation.fanout import fan_out
from federation.verify import verify_record_response
from node.config import DataDir
from node.peers.clients import Peers, hand_over_zero_fir
from node.station.core import Station
from protos import federation_pb2


def _context(args: argparse.Namespace) -> federation_pb2.QueryContext:
    return federation_pb2.QueryContext(
        officer_id=args.officer, purpose=args.purpose, case_ref=args.case
    )


def cmd_search(args: argparse.Namespace) -> int:
    peers = Peers.load(DataDir(args.data_dir))
    request = federation_pb2.SearchRequest(
        kind=args.kind, query=args.query, limit=args.limit, context=_context(args)
    )
    result = trio.run(lambda: peers.search(request, names=args.nodes, deadline=args.deadline))
    if args.json:
        print(
            json.dumps(
                {
                    "hits": [
                        {"answered_by": by, **MessageToDict(hit, preserving_proto_field_name=True)}
                        for by, hit in result.hits
                    ],
                    "freshness": {
                        by: [MessageToDict(f, preserving_proto_field_name=True) for f in parts]
                        for by, parts in result.freshness.items()
                    },
                    "unanswered": result.unanswered,
                },
                ensure_ascii=False,
            )
        )
        return 0 if result.complete else 1
    for by, hit in result.hits:
        office = hit.origin.split("/", 1)[-1]
        print(f"{hit.title:28} {hit.detail:45.45} {hit.ref:18} {office}  (via {by})")
    if not result.hits:
        print("no match")
    print()
    for by, parts in sorted(result.freshness.items()):
        for part in parts:
            where = "replica" if part.from_replica else "own log"
            office = part.origin.split("/", 1)[-1]
            print(f"  {by}: as of checkpoint {part.checkpoint_size} of {office} ({where})")
    for node, reason in sorted(result.unanswered.items()):
        print(f"  NOT ANSWERED: {node} ({reason}: {result.details.get(node, '')})")
    return 0 if result.complete else 1


def cmd_fetch(args: argparse.Namespace) -> int:
    peers = Peers.load(DataDir(args.data_dir))
    (client,) = peers.clients([args.node])
    owner = peers.address(args.node)
    request = federation_pb2.RecordRequest(ref=args.ref, context=_context(args))
    try:
        response = trio.run(lambda: client.fetch_record(request, timeout=args.deadline))
    finally:
        client.close()
    record = verify_record_response(
        response,
        expected_origin=owner.origin,
        owner_public_key=owner.ledger_key,
        expected_ref=args.ref,
    )
    body = MessageToDict(record.record.body, preserving_proto_field_name=True)
    out: dict[str, Any] = {
        "origin": record.origin,
        "verified": f"entry {record.record.index} in checkpoint {record.checkpoint.size}",
        "record": body,
        "amendments": [
            MessageToDict(a.body, preserving_proto_field_name=True) for a in record.amendments
        ],
        "receipt": f"audit entry {record.receipt.index} of {record.origin}",
    }
    print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def cmd_hit(args: argparse.Namespace) -> int:
    clients = Peers.load(DataDir(args.data_dir)).clients(args.nodes)
    request = federation_pb2.HitRequest(
        identifier_type=args.type, value=args.value, context=_context(args)
    )
    try:
        result = trio.run(
            lambda: fan_out(
                clients,
                lambda c: c.hit_no_hit(request, timeout=args.deadline),
                deadline=args.deadline,
            )
        )
    finally:
        for client in clients:
            client.close()
    for node, answer in sorted(result.answers.items()):
        print(f"{node}: {'HIT ' + ', '.join(answer.refs) if answer.hit else 'no hit'}")
    for node, reason in sorted(result.unanswered.items()):
        print(f"{node}: NOT ANSWERED ({reason})")
    return 0


def cmd_transfer_zero_fir(args: argparse.Namespace) -> int:
    """Hands a Zero FIR over to the station with jurisdiction and records its answer. Opens
    this station's records, so run it while the node is not serving (the web UI does it live)."""
    data_dir = DataDir(args.data_dir)
    peers = Peers.load(data_dir)
    peers.address(args.to)  # InputError for a node not in federation.toml, before opening
    station = Station.open(data_dir)
    try:
        status = trio.run(
            lambda: hand_over_zero_fir(
                station, peers, args.ref, args.to, args.officer, timeout=args.deadline
            )
        )
    finally:
        station.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, default=str))
    else:
        print(status.get("message", status))
    return 0


def _query(group: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    """A `peer` subcommand with what every audited query carries: who asks, for which case."""
    sub = command(group, name, handler, help_text)
    sub.add_argument("--officer", default=os.environ.get("CCTNS_OFFICER", "PEN000000"))
    sub.add_argument("--case", default="enquiry", help="the case this query is for (audited)")
    sub.add_argument("--purpose", default="investigation")
    sub.add_argument("--deadline", type=float, default=3.0, help="seconds per node")
    sub.add_argument("--json", action="store_true")
    return sub


def register(groups: Any) -> None:
    """Adds the `peer` command group to the cctns parser."""
    peer = subcommands(groups, "peer", "ask other nodes")
    sub = _query(peer, "search", cmd_search, "search many nodes at once (fan-out)")
    sub.add_argument("query")
    sub.add_argument("--kind", default="person", choices=["person", "vehicle", "property", "case"])
    sub.add_argument("--nodes", default="all", help="comma-separated node ids, or 'all'")
    sub.add_argument("--limit", type=int, default=20)
    sub = _query(peer, "fetch", cmd_fetch, "one record from its owner, with proofs")
    sub.add_argument("ref")
    sub.add_argument("--node", required=True)
    sub = _query(peer, "hit", cmd_hit, "hit/no-hit: who holds this identifier?")
    sub.add_argument("value")
    sub.add_argument(
        "--type",
        default="vehicle_registration",
        choices=["vehicle_registration", "engine_number", "chassis_number", "person_name", "fir"],
    )
    sub.add_argument("--nodes", default="all")
    sub = _query(
        peer,
        "transfer-zero-fir",
        cmd_transfer_zero_fir,
        "hand a Zero FIR over to the station with jurisdiction",
    )
    sub.add_argument("ref", help='e.g. "ZERO FIR 1/2026"')
    sub.add_argument("--to", required=True, help="node id of the station with jurisdiction")


__all__ = ["register"]
