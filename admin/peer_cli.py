"""`cctns peer ...`: ask other nodes, as this node (its certificate), from the command line.

    cctns peer search "K. Raju" --data-dir D [--kind person] [--nodes ID,ID | all] [--json]
    cctns peer fetch "FIR No. 3/2026" --node ID --data-dir D [--json]
    cctns peer hit KL-07-AB-1234 --type vehicle_registration --data-dir D [--nodes ...]

Every answer is verified (signatures, inclusion proofs, receipts) before it is shown; nodes
that did not answer in time are named.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

import trio
from google.protobuf.json_format import MessageToDict

from federation import tls
from federation.fanout import fan_out, federated_search
from federation.grpc_client import GrpcPeerClient
from federation.trust.credentials import NodeCredentials
from federation.verify import verify_receipt, verify_record_response
from ledger.errors import InputError, UsageError
from node.config import DataDir
from node.federation_config import FederationConfig, PeerEntry, load_federation
from protos import federation_pb2


def _context(args: argparse.Namespace) -> federation_pb2.QueryContext:
    return federation_pb2.QueryContext(
        officer_id=args.officer, purpose=args.purpose, case_ref=args.case
    )


def _clients(
    data_dir: DataDir, federation: FederationConfig, names: str
) -> tuple[list[GrpcPeerClient], dict[str, PeerEntry]]:
    try:
        creds = NodeCredentials.load(data_dir.path)
    except FileNotFoundError as exc:
        raise UsageError(f"{data_dir.path} has no TLS credentials: `cctns ca enrol` it") from exc
    entries = {entry.address.node_id: entry for entry in federation.peers}
    wanted = list(entries) if names == "all" else [n.strip() for n in names.split(",") if n]
    unknown = [n for n in wanted if n not in entries]
    if unknown:
        raise InputError(f"unknown node(s): {', '.join(unknown)} (see federation.toml)")
    clients = [
        GrpcPeerClient(
            entries[name].address,
            credentials=tls.channel_credentials(creds),
            options=tls.channel_options(),
        )
        for name in wanted
    ]
    return clients, entries


def _key_of(entries: dict[str, PeerEntry]) -> Callable[[str], tuple[str, bytes]]:
    def key(node_id: str) -> tuple[str, bytes]:
        address = entries[node_id].address
        return address.origin, address.ledger_key

    return key


def cmd_search(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    federation = load_federation(data_dir)
    clients, entries = _clients(data_dir, federation, args.nodes)
    key = _key_of(entries)
    request = federation_pb2.SearchRequest(
        kind=args.kind, query=args.query, limit=args.limit, context=_context(args)
    )

    def check(node_id: str, response: federation_pb2.SearchResponse) -> object:
        origin, public = key(node_id)
        return verify_receipt(response.receipt, expected_origin=origin, owner_public_key=public)

    try:
        result = trio.run(
            lambda: federated_search(clients, request, deadline=args.deadline, verify=check)
        )
    finally:
        for client in clients:
            client.close()
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
    data_dir = DataDir(args.data_dir)
    federation = load_federation(data_dir)
    clients, entries = _clients(data_dir, federation, args.node)
    (client,) = clients
    origin, public = _key_of(entries)(args.node)
    request = federation_pb2.RecordRequest(ref=args.ref, context=_context(args))
    try:
        response = trio.run(lambda: client.fetch_record(request, timeout=args.deadline))
    finally:
        client.close()
    record = verify_record_response(
        response, expected_origin=origin, owner_public_key=public, expected_ref=args.ref
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
    data_dir = DataDir(args.data_dir)
    federation = load_federation(data_dir)
    clients, _ = _clients(data_dir, federation, args.nodes)
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
    from node.station import Station

    data_dir = DataDir(args.data_dir)
    federation = load_federation(data_dir)
    clients, entries = _clients(data_dir, federation, args.to)
    (client,) = clients
    receiver = entries[args.to].address
    station = Station.open(data_dir)
    try:
        handover = station.prepare_zero_fir_transfer(args.officer, args.ref, args.to)
        acceptance = trio.run(lambda: client.transfer_zero_fir(handover, timeout=args.deadline))
        station.record_transfer_acceptance(
            args.officer, acceptance, receiver.ledger_key, receiver.origin
        )
        status = station.zero_fir_status(args.ref)
    finally:
        client.close()
        station.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, default=str))
    else:
        print(status.get("message", status))
    return 0


def _common(sub: argparse.ArgumentParser) -> None:
    default = os.environ.get("CCTNS_DATA_DIR")
    sub.add_argument("--data-dir", default=default, required=default is None)
    sub.add_argument("--officer", default=os.environ.get("CCTNS_OFFICER", "PEN000000"))
    sub.add_argument("--case", default="enquiry", help="the case this query is for (audited)")
    sub.add_argument("--purpose", default="investigation")
    sub.add_argument("--deadline", type=float, default=3.0, help="seconds per node")
    sub.add_argument("--json", action="store_true")


def register(groups: Any) -> None:
    """Adds the `peer` command group to the cctns parser."""
    peer = groups.add_parser("peer", help="ask other nodes").add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    sub = peer.add_parser("search", help="search many nodes at once (fan-out)")
    sub.add_argument("query")
    sub.add_argument("--kind", default="person", choices=["person", "vehicle", "property", "case"])
    sub.add_argument("--nodes", default="all", help="comma-separated node ids, or 'all'")
    sub.add_argument("--limit", type=int, default=20)
    _common(sub)
    sub.set_defaults(handler=cmd_search)
    sub = peer.add_parser("fetch", help="one record from its owner, with proofs")
    sub.add_argument("ref")
    sub.add_argument("--node", required=True)
    _common(sub)
    sub.set_defaults(handler=cmd_fetch)
    sub = peer.add_parser("hit", help="hit/no-hit: who holds this identifier?")
    sub.add_argument("value")
    sub.add_argument(
        "--type",
        default="vehicle_registration",
        choices=["vehicle_registration", "engine_number", "chassis_number", "person_name", "fir"],
    )
    sub.add_argument("--nodes", default="all")
    _common(sub)
    sub.set_defaults(handler=cmd_hit)
    sub = peer.add_parser(
        "transfer-zero-fir", help="hand a Zero FIR over to the station with jurisdiction"
    )
    sub.add_argument("ref", help='e.g. "ZERO FIR 1/2026"')
    sub.add_argument("--to", required=True, help="node id of the station with jurisdiction")
    _common(sub)
    sub.set_defaults(handler=cmd_transfer_zero_fir)


__all__ = ["register"]
