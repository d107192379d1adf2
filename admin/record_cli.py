"""`cctns record ...` and `cctns search ...`: register, correct and read records; find persons
and vehicles (JSON on stdout).

    cctns record add fir --officer PEN123456 --file fir.json --data-dir D   (protobuf JSON)
    cctns record amend "FIR No. 12/2026" --officer ID --reason "..." --changes '{...}' --data-dir D
    cctns record show "FIR No. 12/2026" --data-dir D
    cctns record import --source "CCTNS 1.0 export, 2019-2023" --file past.jsonl --data-dir D
    cctns search person "K. Raju" [--age-min 30 --age-max 45] --data-dir D
    cctns search vehicle "KL 07 AB 1234" --data-dir D

A record given to `record add` is held to the table of limits by the station, like one typed in
a form (`node.records.limits`); its file is read only up to `MAX_RECORD_FILE_BYTES`. It is written
now: the station gives its number and time (a time a few minutes back at most, never a number).
Past records with their original numbers and times come in through `record import`, one JSON
object a line ({"kind": "fir", "officer": "PEN123456", "record": {...}}), each marked in the
ledger as imported from the source named (`node.station.registers.import_records`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from google.protobuf.json_format import Parse, ParseDict, ParseError
from tqdm import tqdm

from admin.common import command, emit, open_station, read_text_file, subcommands
from ledger.errors import InputError, TooLarge
from node.records import limits
from node.station import registers, views
from protos import records_pb2

RECORD_TYPES = {
    "fir": records_pb2.Fir,
    "petition": records_pb2.Petition,
    "ncr": records_pb2.NonCognizableReport,
    "gd": records_pb2.GeneralDiaryEntry,
}
# The largest record file read: a record within its limits, as protobuf JSON with every
# character escaped (\uXXXX, six bytes for one to three), fits in it.
MAX_RECORD_FILE_BYTES = 4 * limits.MAX_RECORD_BYTES
MAX_SEARCH_HITS = 500
MAX_AGE = 150


def _whole_number(most: int) -> Callable[[str], int]:
    """An argparse type: a whole number, digits 0-9, at most `most`."""

    def parse(text: str) -> int:
        try:
            return limits.whole_number(text, "the number", most)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    return parse


def cmd_record_add(args: argparse.Namespace) -> int:
    text = read_text_file(args.file, MAX_RECORD_FILE_BYTES, "no record is")
    try:
        record = Parse(text, RECORD_TYPES[args.kind]())
    except ParseError as exc:
        raise InputError(f"{args.file}: not a valid {args.kind} record: {exc}") from exc
    with open_station(args.data_dir) as station:
        (receipt,) = registers.register_many(station, [(args.kind, args.officer, record)])
    emit(
        {
            "kind": receipt.kind,
            "ref": receipt.ref,
            "index": receipt.index,
            "related": list(receipt.related),
        }
    )
    return 0


def _import_lines(name: str, bar: Any) -> Iterator[tuple[str, str, Any]]:
    """(kind, officer, record) from a JSON Lines file ('-': stdin); InputError names the line."""
    stream = sys.stdin.buffer if name == "-" else Path(name).open("rb")  # noqa: SIM115
    try:
        for number, raw in enumerate(
            iter(lambda: stream.readline(MAX_RECORD_FILE_BYTES + 1), b""), 1
        ):
            if len(raw) > MAX_RECORD_FILE_BYTES:
                raise TooLarge(
                    f"{name}: line {number} is larger than {MAX_RECORD_FILE_BYTES:,} bytes"
                )
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                kind, officer = item["kind"], item["officer"]
                record = ParseDict(item["record"], RECORD_TYPES[kind]())
            except (ValueError, KeyError, TypeError, ParseError) as exc:
                raise InputError(
                    f"{name}: line {number}: not an import line "
                    '{"kind": "fir|gd|petition|ncr", "officer": ID, "record": {...}}: '
                    f"{exc}"
                ) from exc
            bar.update(1)
            yield kind, str(officer), record
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def cmd_record_import(args: argparse.Namespace) -> int:
    bar = tqdm(desc="importing", unit=" records", file=sys.stderr, disable=None)
    try:
        with open_station(args.data_dir) as station:
            receipts = registers.import_records(
                station, _import_lines(args.file, bar), source=args.source
            )
    finally:
        bar.close()
    counts = Counter(receipt.kind for receipt in receipts)
    emit(
        {
            "imported": len(receipts),
            "by_kind": dict(sorted(counts.items())),
            "source": args.source,
            "first": receipts[0].ref if receipts else None,
            "last": receipts[-1].ref if receipts else None,
        }
    )
    return 0


def cmd_record_amend(args: argparse.Namespace) -> int:
    try:
        changes = json.loads(args.changes)
    except json.JSONDecodeError as exc:
        raise InputError(f"--changes is not JSON: {exc}") from exc
    if not isinstance(changes, dict):
        raise InputError("--changes must be a JSON object of field path to new value")
    with open_station(args.data_dir) as station:
        receipt = registers.amend(station, args.officer, args.ref, args.reason, changes)
    emit({"kind": receipt.kind, "ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_record_show(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        history = views.history(station, args.ref)
        current = views.current_view(station, args.ref)
    emit(
        {
            "ref": args.ref,
            "current": current,
            "history": [
                {
                    "index": item.index,
                    "kind": item.kind,
                    "officer_id": item.officer_id,
                    "written_at_ms": item.written_at_ms,
                    "record": item.record,
                }
                for item in history
            ],
        }
    )
    return 0


def cmd_search_person(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        hits = station.index.search.persons(
            args.name, age_min=args.age_min, age_max=args.age_max, limit=args.limit
        )
    if args.json:
        emit([asdict(hit) for hit in hits])
    else:
        for hit in hits:
            print(
                f"{hit.name:30} {hit.relation or ''} {hit.relative_name or '':20} "
                f"age {hit.age or '?':>3}  {hit.role:11} {hit.record_ref}"
            )
        if not hits:
            print("no matching person")
    return 0


def cmd_search_vehicle(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        hits = station.index.search.vehicles(args.text)
    emit([asdict(hit) for hit in hits])
    return 0


def register(groups: Any) -> None:
    """Adds the `record` and `search` command groups."""
    record = subcommands(groups, "record", "register and read records")
    sub = command(record, "add", cmd_record_add, "register a record given as protobuf JSON")
    sub.add_argument("kind", choices=sorted(RECORD_TYPES))
    sub.add_argument("--file", default="-", help="JSON file ('-' for stdin)")
    sub.add_argument("--officer", required=True, help="id of the officer writing it")
    sub = command(
        record, "import", cmd_record_import, "import past records with their original numbers"
    )
    sub.add_argument("--file", default="-", help="JSON Lines file ('-' for stdin)")
    sub.add_argument(
        "--source", required=True, help="what the records come from (kept with each record)"
    )
    sub = command(record, "amend", cmd_record_amend, "append a correction to a record")
    sub.add_argument("ref", help='e.g. "FIR No. 12/2026"')
    sub.add_argument("--officer", required=True)
    sub.add_argument("--reason", required=True)
    sub.add_argument("--changes", required=True, help='JSON, e.g. {"brief_facts": "..."}')
    sub = command(record, "show", cmd_record_show, "a record as it reads now, and its history")
    sub.add_argument("ref")

    search = subcommands(groups, "search", "find persons and vehicles")
    sub = command(search, "person", cmd_search_person, "find a person by (misspelt) name")
    sub.add_argument("name")
    sub.add_argument("--age-min", type=_whole_number(MAX_AGE))
    sub.add_argument("--age-max", type=_whole_number(MAX_AGE))
    sub.add_argument("--limit", type=_whole_number(MAX_SEARCH_HITS), default=20)
    sub.add_argument("--json", action="store_true")
    sub = command(search, "vehicle", cmd_search_vehicle, "registration, engine or chassis no.")
    sub.add_argument("text")


__all__ = ["register"]
