"""`cctns peer ...`: ask other nodes, as this node (its certificate), from the command line.

    cctns peer search "K. Raju" --data-dir D [--kind person] [--nodes ID,ID | all] [--json]
    cctns peer fetch "FIR No. 3/2026" --node ID --data-dir D [--json]   (a retired office's
                     record comes from the replica its successor holds, and says so)
    cctns peer search --kind fingerprint --probe print.png --data-dir D [--nodes ...]
                     (--kind face --probe photo.jpg: by face; an audited read like any search)
    cctns peer hit KL-07-AB-1234 --type vehicle_registration --data-dir D [--nodes ...]
    cctns peer hit --type chance_print --probe print.png --data-dir D   (hit/no-hit only)
    cctns peer transfer-zero-fir "ZERO FIR 1/2026" --to ID --data-dir D
    cctns peer gossip --data-dir D     hand the newest checkpoints seen to the parent, now

Every answer is verified (signatures, inclusion proofs, receipts) before it is shown; nodes
that did not answer in time are named. Every answer is also held to the witness policy (the
answering log's parent cosigned it lately, node.toml [witness]) and to the checkpoints seen
before of that log: one that fails is shown with "NOT WITNESSED" or "INCONSISTENT" and why (and
the command exits 1 with --require-witness). Each part of a search answer says how fresh it is
in time (Indian time), and a replica older than `[witness] stale_after_minutes` is flagged STALE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import trio
from google.protobuf.json_format import MessageToDict

from admin.common import Handler, command, subcommands
from federation.service import HIT_IDENTIFIER_TYPES, PROBE_KINDS, SEARCH_KINDS
from federation.witness import AnswerCheck, freshness_age
from ledger.errors import UsageError
from ledger.log import now_ms
from node.config import DataDir
from node.peers.clients import Peers, hand_over_zero_fir
from node.records.validation import IST
from node.station.core import Station
from protos import federation_pb2


def _context(args: argparse.Namespace) -> federation_pb2.QueryContext:
    return federation_pb2.QueryContext(
        officer_id=args.officer, purpose=args.purpose, case_ref=args.case
    )


def _probe(args: argparse.Namespace, asked: str, needed: bool) -> bytes:
    """The image (or template) a face or fingerprint question carries (`--probe FILE`)."""
    if not args.probe:
        if needed:
            raise UsageError(f"a {asked} question needs --probe FILE (an image)")
        return b""
    if not needed:
        raise UsageError("--probe goes with --kind face or fingerprint (--type chance_print)")
    try:
        return Path(args.probe).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the probe {args.probe}: {exc.strerror}") from exc


def cmd_search(args: argparse.Namespace) -> int:
    peers = Peers.load(DataDir(args.data_dir))
    probe = _probe(args, args.kind, args.kind in PROBE_KINDS)
    if not args.query and not probe:
        raise UsageError("say what to search for")
    request = federation_pb2.SearchRequest(
        kind=args.kind, query=args.query, limit=args.limit, context=_context(args), probe=probe
    )
    result = trio.run(lambda: peers.search(request, names=args.nodes, deadline=args.deadline))
    stale_after = peers.witnessing.stale_after_minutes * 60
    now = now_ms()
    good = result.complete and not (args.require_witness and result.flagged)
    if args.json:
        print(
            json.dumps(
                {
                    "hits": [
                        {"answered_by": by, **MessageToDict(hit, preserving_proto_field_name=True)}
                        for by, hit in result.hits
                    ],
                    "freshness": {
                        by: [
                            {
                                **MessageToDict(f, preserving_proto_field_name=True),
                                "stale": freshness_age(
                                    f, now_ms=now, stale_after_s=stale_after
                                ).stale,
                            }
                            for f in parts
                        ]
                        for by, parts in result.freshness.items()
                    },
                    "unanswered": result.unanswered,
                    "witness": {
                        by: {"ok": c.ok, "consistency": c.consistency, "reason": c.reason}
                        for by, c in result.witness.items()
                    },
                },
                ensure_ascii=False,
            )
        )
        return 0 if good else 1
    for by, hit in result.hits:
        office = hit.origin.split("/", 1)[-1]
        print(f"{hit.title:28} {hit.detail:45.45} {hit.ref:18} {office}  (via {by})")
    if not result.hits:
        print("no match")
    print()
    for by, parts in sorted(result.freshness.items()):
        for part in parts:
            where = f"replica at {by}" if part.from_replica else f"answered by {by}"
            print(f"  {freshness_line(part, now, stale_after)} ({where})")
    for node, why in sorted(result.flagged.items()):
        print(f"  {_flag(result.witness[node])}: {node}: {why}")
    for node, reason in sorted(result.unanswered.items()):
        print(f"  NOT ANSWERED: {node} ({reason}: {result.details.get(node, '')})")
    return 0 if good else 1


def freshness_line(part: federation_pb2.Freshness, now: int, stale_after_s: int) -> str:
    """One part of an answer, for people: "ps-x: as of 10:42 IST, 3 min ago [STALE]"."""
    office = part.origin.split("/", 1)[-1]
    age = freshness_age(part, now_ms=now, stale_after_s=stale_after_s)
    if age.age_s is None:
        return f"{office}: time not known"
    at = datetime.fromtimestamp(age.as_of_ms / 1000, IST)
    line = f"{office}: as of {at:%H:%M} IST ({at:%d %b}), {_ago(age.age_s)}"
    return line + (f"  STALE (older than {stale_after_s // 60} min)" if age.stale else "")


def _ago(seconds: int) -> str:
    if seconds < 60:
        return "just now"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _flag(check: AnswerCheck) -> str:
    return "NOT WITNESSED" if not check.witness.ok else "INCONSISTENT"


def cmd_fetch(args: argparse.Namespace) -> int:
    peers = Peers.load(DataDir(args.data_dir))
    request = federation_pb2.RecordRequest(ref=args.ref, context=_context(args))
    record, check = trio.run(lambda: peers.fetch(args.node, request, deadline=args.deadline))
    body = MessageToDict(record.record.body, preserving_proto_field_name=True)
    receipt_log = record.receipt_origin or record.origin
    out: dict[str, Any] = {
        "origin": record.origin,
        "verified": f"entry {record.record.index} in checkpoint {record.checkpoint.size}",
        "record": body,
        "amendments": [
            MessageToDict(a.body, preserving_proto_field_name=True) for a in record.amendments
        ],
        "receipt": f"audit entry {record.receipt.index} of {receipt_log}",
        "witness": {
            "ok": check.ok,
            "consistency": check.consistency,
            "reason": check.reason or check.witness.reason,
        },
    }
    if record.answered_by:  # a retired office's record, from the replica its successor holds
        out["answered_by"] = record.answered_by
        out["from_replica"] = replica_line(record.answered_by, check.witness.cosigned_at_s)
    print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    if not check.ok:
        print(f"{_flag(check)}: {args.node}: {check.reason}", file=sys.stderr)
    return 0 if check.ok or not args.require_witness else 1


def replica_line(holder: str, cosigned_at_s: int | None) -> str:
    """The line saying where a retired office's record came from ("from the replica held by X,
    as of 10:42 IST (02 Dec 2026)"): when the holder cosigned the replica's checkpoint the
    record was proven to (its cosignature verified)."""
    if cosigned_at_s is None:
        return f"from the replica held by {holder}, as of a time it did not vouch for"
    at = datetime.fromtimestamp(cosigned_at_s, IST)
    return f"from the replica held by {holder}, as of {at:%H:%M} IST ({at:%d %b %Y})"


def cmd_hit(args: argparse.Namespace) -> int:
    peers = Peers.load(DataDir(args.data_dir))
    probe = _probe(args, args.type, args.type == "chance_print")
    if not args.value and not probe:
        raise UsageError("say which identifier to ask about")
    request = federation_pb2.HitRequest(
        identifier_type=args.type, value=args.value, context=_context(args), probe=probe
    )
    result = trio.run(lambda: peers.hit(request, names=args.nodes, deadline=args.deadline))
    flagged = False
    for node, (answer, check) in sorted(result.answers.items()):
        print(f"{node}: {'HIT ' + ', '.join(answer.refs) if answer.hit else 'no hit'}")
        if not check.ok:
            flagged = True
            print(f"  {_flag(check)}: {check.reason}")
    for node, reason in sorted(result.unanswered.items()):
        print(f"{node}: NOT ANSWERED ({reason}: {result.details.get(node, '')})")
    return 1 if flagged and args.require_witness else 0


def cmd_gossip(args: argparse.Namespace) -> int:
    """Hands the newest checkpoint seen of every log to the parent now (the running node does
    it every `[witness] gossip_minutes`); exit 1 when the parent holds evidence against one."""
    peers = Peers.load(DataDir(args.data_dir))
    answer = trio.run(lambda: peers.gossip(timeout=args.deadline))
    if answer is None:
        print("nothing to gossip (no parent, or no checkpoint of another log seen yet)")
        return 0
    equivocating = list(answer.equivocating)
    if args.json:
        print(json.dumps({"checked": answer.checked, "equivocating": equivocating}))
    else:
        print(f"the parent compared {answer.checked} checkpoint(s) with its replicas")
        for origin in equivocating:
            print(f"  EQUIVOCATION: the parent holds evidence against {origin}")
    return 1 if equivocating else 0


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
    sub.add_argument(
        "--require-witness",
        action="store_true",
        help="exit 1 when an answer fails the witness policy (it is shown, flagged, anyway)",
    )
    return sub


def register(groups: Any) -> None:
    """Adds the `peer` command group to the cctns parser."""
    peer = subcommands(groups, "peer", "ask other nodes")
    sub = _query(peer, "search", cmd_search, "search many nodes at once (fan-out)")
    sub.add_argument("query", nargs="?", default="")
    sub.add_argument("--kind", default="person", choices=list(SEARCH_KINDS))
    sub.add_argument(
        "--probe", help="the image searched for (--kind face: a photo; fingerprint: a print)"
    )
    sub.add_argument("--nodes", default="all", help="comma-separated node ids, or 'all'")
    sub.add_argument("--limit", type=int, default=20)
    sub = _query(peer, "fetch", cmd_fetch, "one record from its owner, with proofs")
    sub.add_argument("ref")
    sub.add_argument("--node", required=True)
    sub = _query(peer, "hit", cmd_hit, "hit/no-hit: who holds this identifier?")
    sub.add_argument("value", nargs="?", default="")
    sub.add_argument(
        "--type",
        default="vehicle_registration",
        choices=list(HIT_IDENTIFIER_TYPES),
    )
    sub.add_argument("--probe", help="the chance print's image (--type chance_print)")
    sub.add_argument("--nodes", default="all")
    sub = command(peer, "gossip", cmd_gossip, "hand the newest checkpoints seen to the parent")
    sub.add_argument("--deadline", type=float, default=10.0, help="seconds")
    sub.add_argument("--json", action="store_true")
    sub = _query(
        peer,
        "transfer-zero-fir",
        cmd_transfer_zero_fir,
        "hand a Zero FIR over to the station with jurisdiction",
    )
    sub.add_argument("ref", help='e.g. "ZERO FIR 1/2026"')
    sub.add_argument("--to", required=True, help="node id of the station with jurisdiction")


__all__ = ["register"]
