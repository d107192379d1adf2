"""`cctns case ...`: exchange a case with courts, prisons, prosecution and forensic laboratories
(docs/exchange.md).

    cctns case export "FIR No. 12/2026" [--out case.json] --data-dir D
    cctns case check case.json [--public-key KEY]         a receiver's check of a document
    cctns case import message.json --officer PEN123456 --data-dir D
    cctns case add-system court.cjm-ernakulam --kind court --name "CJM Court, Ernakulam" \\
        --public-key BASE64 --officer PEN123456 --data-dir D
    cctns case list-systems --data-dir D
    cctns case remove-system court.cjm-ernakulam --reason "..." --officer PEN123456 --data-dir D

`import` appends the message as an event on its case once it is valid (every problem listed),
from a trusted system, signed by it, and about a case here; the same message imported again
appends nothing. Each message accepted is kept as received in the data directory
(exchange/received/<digest>.json), so its signature can be checked again later.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from admin import investigation_cli
from admin.common import command, emit, open_station, read_text_file, subcommands
from ledger.errors import InputError
from node.records.exchange.inbound import SENDER_KINDS
from node.station import exchange

MAX_MESSAGE_BYTES = 256 * 1024  # an inbound message is a few kilobytes
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024  # a case with thousands of events


def _read_json(name: str, most: int) -> Any:
    """The JSON value of a file ('-': stdin), refused (TooLarge) beyond `most` bytes."""
    text = read_text_file(name, most)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{name}: not JSON text: {exc}") from exc


def cmd_case_export(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        document = exchange.export_case(station, args.ref, exported_by=args.officer or "")
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, "utf-8")
        emit({"ref": document["case"]["fir_ref"], "out": args.out})
    else:
        sys.stdout.write(text)
    return 0


def cmd_case_check(args: argparse.Namespace) -> int:
    document = _read_json(args.file, MAX_DOCUMENT_BYTES)
    key = exchange.parse_public_key(args.public_key) if args.public_key else None
    exchange.check_document(document, key)
    emit(
        {
            "ok": True,
            "ref": document["case"]["fir_ref"],
            "origin": document["origin"]["origin"],
            "checkpoint_size": document["checkpoint"]["size"],
            "entries": len(document["entries"]),
            "key": "given" if key is not None else "the document's own (check it)",
        }
    )
    return 0


def cmd_case_import(args: argparse.Namespace) -> int:
    message = _read_json(args.file, MAX_MESSAGE_BYTES)
    with open_station(args.data_dir) as station:
        done = exchange.import_message(station, args.officer, message)
    emit(
        {
            "fir_number": done.fir_number,
            "index": done.ledger_index,
            "appended": done.appended,
            "digest": done.digest,
        }
    )
    return 0


def cmd_case_add_system(args: argparse.Namespace) -> int:
    key = exchange.parse_public_key(args.public_key)
    with open_station(args.data_dir) as station:
        receipt = exchange.add_system(
            station, args.officer, args.system_id, args.kind, args.name, key
        )
    emit({"system_id": args.system_id, "index": receipt.index})
    return 0


def cmd_case_list_systems(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        systems = exchange.trusted_systems(station)
    emit(
        [
            {
                "system_id": s.system_id,
                "kind": s.kind,
                "name": s.name,
                "public_key": base64.b64encode(s.public_key).decode(),
                "added_index": s.added_index,
                "added_by": s.added_by,
            }
            for s in sorted(systems.values(), key=lambda s: s.system_id)
        ]
    )
    return 0


def cmd_case_remove_system(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = exchange.remove_system(station, args.officer, args.system_id, args.reason)
    emit({"system_id": args.system_id, "index": receipt.index})
    return 0


def register(groups: Any) -> None:
    """Adds the `case` command group."""
    case = subcommands(
        groups, "case", "investigation forms and registers; exchange with courts and laboratories"
    )
    officer_default = os.environ.get("CCTNS_OFFICER")
    sub = command(case, "export", cmd_case_export, "a case as an exchange document (JSON)")
    sub.add_argument("ref", help='e.g. "FIR No. 12/2026"')
    sub.add_argument("--out", help="file to write (default: stdout)")
    sub.add_argument("--officer", default=officer_default, help="who the export is made for")
    sub = command(
        case,
        "check",
        cmd_case_check,
        "check a case document: schema, checkpoint, proofs",
        data_dir=False,
    )
    sub.add_argument("file", help="the document ('-' for stdin)")
    sub.add_argument("--public-key", help="the origin's log key (base64 or hex) from the directory")
    sub = command(case, "import", cmd_case_import, "append a signed inbound message to its case")
    sub.add_argument("file", help="the message ('-' for stdin)")
    sub.add_argument(
        "--officer",
        default=officer_default,
        required=officer_default is None,
        help="the officer importing it (default: $CCTNS_OFFICER)",
    )
    sub = command(case, "add-system", cmd_case_add_system, "trust a court, prison or lab's key")
    sub.add_argument("system_id", help="e.g. court.cjm-ernakulam")
    sub.add_argument("--kind", required=True, choices=sorted(SENDER_KINDS))
    sub.add_argument("--name", required=True)
    sub.add_argument("--public-key", required=True, help="Ed25519, base64 or hex")
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    command(case, "list-systems", cmd_case_list_systems, "the trusted external systems")
    sub = command(case, "remove-system", cmd_case_remove_system, "stop trusting a system")
    sub.add_argument("system_id")
    sub.add_argument("--reason", required=True)
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    investigation_cli.register(case)


__all__ = ["register"]
