"""The `cctns` command: one entry point, subcommands per concern.

Flags default from CCTNS_* environment variables (CCTNS_DATA_DIR). Machine-readable output is
JSON on stdout; progress goes to stderr. Errors print one line and exit non-zero:
2 bad input or usage, 3 verification failed, 4 storage failure. `-v` shows the traceback.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ledger.errors import CctnsError, UsageError
from node.station import registers, views

Handler = Callable[[argparse.Namespace], int]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _emit(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=None))


def _data_dir_arg(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("CCTNS_DATA_DIR")
    parser.add_argument(
        "--data-dir",
        default=default,
        required=default is None,
        help="the node's data directory (default: $CCTNS_DATA_DIR)",
    )


@contextmanager
def _progress(total: int, what: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on stderr; yields a callback taking the absolute count done."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what, unit=" entries", disable=not enabled, file=sys.stderr)

    def advance(done: int) -> None:
        bar.update(done - bar.n)

    try:
        yield advance
    finally:
        bar.close()


# -- node ------------------------------------------------------------------------------------


def cmd_node_init(args: argparse.Namespace) -> int:
    from node.config import DataDir
    from node.station.core import Station

    data_dir = DataDir(args.data_dir)
    config = data_dir.create(
        origin=args.origin,
        role=args.role,
        district=args.district or "",
        station=args.station or "",
        index_url=args.index_url,
    )
    station = Station.open(data_dir)
    station.close()
    print(f"created node {config.node_id} ({config.origin}) in {data_dir.path}", file=sys.stderr)
    return 0


def cmd_node_info(args: argparse.Namespace) -> int:
    from ledger.checkpoint import verifier_key_string
    from node.config import DataDir

    data_dir = DataDir(args.data_dir)
    config = data_dir.load_config()
    public = bytes(data_dir.load_key().verify_key)
    info = {"node_id": config.node_id, "origin": config.origin, "public_key": _b64(public)}
    if args.json:
        _emit(info)
    else:
        print(f"node id:    {config.node_id}")
        print(f"origin:     {config.origin}")
        print(f"role:       {config.role} ({config.district} / {config.station})")
        print(f"public key: {info['public_key']}")
        print(f"verifier:   {verifier_key_string(config.origin, public)}")
    return 0


def cmd_node_serve(args: argparse.Namespace) -> int:
    import logging

    from node.runtime import run

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run(
        Path(args.data_dir),
        poll_interval=args.poll,
        revocation_interval=args.revocation_interval,
        http=args.http,
    )


def cmd_node_web(args: argparse.Namespace) -> int:
    import logging

    import trio

    from node.config import DataDir
    from node.runtime import serve_web_only

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    trio.run(lambda: serve_web_only(DataDir(args.data_dir), args.http))
    return 0


def cmd_node_alerts(args: argparse.Namespace) -> int:
    """Equivocation alerts this node recorded: read-only, safe beside a running node."""
    from google.protobuf.json_format import MessageToDict

    from ledger.entry import parse_leaf
    from ledger.rocksdb_store import RocksDBLogStore
    from node.config import DataDir

    data_dir = DataDir(args.data_dir)
    data_dir.load_config()
    store = RocksDBLogStore.open(data_dir.ledger_path, audit=True)
    alerts = []
    try:
        for index, leaf in enumerate(store.entries(0, store.size())):
            body = parse_leaf(leaf).decode_body()
            if body.WhichOneof("record") == "replication_event":
                event = body.replication_event
                if event.kind == "equivocation":
                    alerts.append(
                        {
                            "index": index,
                            "written_at_ms": body.written_at_ms,
                            **MessageToDict(event, preserving_proto_field_name=True),
                        }
                    )
    finally:
        store.close()
    if args.json:
        _emit(alerts)
    else:
        for alert in alerts:
            print(
                f"entry {alert['index']}: {alert['origin']} EQUIVOCATED: {alert.get('detail', '')}"
            )
        if not alerts:
            print("no equivocation alerts")
    return 3 if alerts else 0


def cmd_node_seed(args: argparse.Namespace) -> int:
    from node.demo.seed import seed_station

    with _open_station(args.data_dir) as station:
        counts = seed_station(station, args.records, seed=args.seed, show_progress=not args.quiet)
    print(
        ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) + " written",
        file=sys.stderr,
    )
    return 0


@contextmanager
def _open_station(data_dir_path: str) -> Iterator[Any]:
    from node.config import DataDir
    from node.station.core import Station

    data_dir = DataDir(data_dir_path)
    station = Station.open(data_dir)
    try:
        yield station
    finally:
        station.close()


@contextmanager
def _open_ledger(data_dir_path: str) -> Iterator[Any]:
    """The ledger alone, for auditors: no index is opened or touched."""
    from ledger.log import Ledger
    from ledger.rocksdb_store import RocksDBLogStore
    from node.config import DataDir

    data_dir = DataDir(data_dir_path)
    config = data_dir.load_config()
    key = data_dir.load_key()
    if not data_dir.ledger_path.exists():
        raise UsageError(f"{data_dir.ledger_path} holds no ledger")
    store = RocksDBLogStore.open(data_dir.ledger_path, create=False)
    try:
        yield Ledger(store, key, config.origin)
    finally:
        store.close()


# -- ledger ----------------------------------------------------------------------------------


def cmd_ledger_checkpoint(args: argparse.Namespace) -> int:
    with _open_ledger(args.data_dir) as ledger:
        sys.stdout.write(ledger.checkpoint().decode("utf-8"))
    return 0


def cmd_ledger_entry(args: argparse.Namespace) -> int:
    from google.protobuf.json_format import MessageToDict

    from ledger import merkle
    from ledger.entry import parse_leaf

    with _open_ledger(args.data_dir) as ledger:
        raw = ledger.leaf(args.index)
    leaf = parse_leaf(raw)
    result = {"index": args.index, "leaf_hash": _b64(merkle.leaf_hash(raw)), "entry": _b64(raw)}
    if args.json:
        _emit(result)
    else:
        body = MessageToDict(leaf.decode_body(), preserving_proto_field_name=True)
        print(json.dumps({**result, "body": body}, ensure_ascii=False, indent=2))
    return 0


def cmd_ledger_prove_inclusion(args: argparse.Namespace) -> int:
    from ledger import merkle

    with _open_ledger(args.data_dir) as ledger:
        size = ledger.size() if args.size is None else args.size
        proof = ledger.inclusion_proof(args.index, size)
        result = {
            "leafIdx": args.index,
            "treeSize": size,
            "root": _b64(ledger.root(size)),
            "leafHash": _b64(merkle.leaf_hash(ledger.leaf(args.index))),
            "proof": [_b64(p) for p in proof],
        }
    _emit(result)
    return 0


def cmd_ledger_prove_consistency(args: argparse.Namespace) -> int:
    with _open_ledger(args.data_dir) as ledger:
        size2 = ledger.size() if args.size2 is None else args.size2
        proof = ledger.consistency_proof(args.size1, size2)
        result = {
            "size1": args.size1,
            "size2": size2,
            "root1": _b64(ledger.root(args.size1)),
            "root2": _b64(ledger.root(size2)),
            "proof": [_b64(p) for p in proof],
        }
    _emit(result)
    return 0


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    from ledger.entry import parse_leaf
    from ledger.errors import TamperError
    from ledger.log import verify_log
    from ledger.rocksdb_store import RocksDBLogStore
    from node.config import DataDir

    data_dir = DataDir(args.data_dir)
    config = data_dir.load_config()
    public = bytes(data_dir.load_key().verify_key)
    trusted = [Path(p).read_bytes() for p in args.checkpoint or []]
    store = RocksDBLogStore.open(data_dir.ledger_path, audit=True)
    try:
        size = store.size()
        with _progress(size, "verifying", enabled=not args.quiet) as progress:
            report = verify_log(
                store, public, config.origin, trusted_checkpoints=trusted, progress=progress
            )
        if size:
            genesis = parse_leaf(store.entry(0)).decode_body()
            if genesis.node_event.kind != "genesis" or genesis.node_event.public_key != public:
                raise TamperError("entry 0 is not this node's genesis entry", index=0)
    finally:
        store.close()
    print(f"ok: {report.size} entries, {report.checkpoints} checkpoints, root {_b64(report.root)}")
    return 0


# -- admin -----------------------------------------------------------------------------------


def cmd_admin_rebuild_index(args: argparse.Namespace) -> int:
    with _open_station(args.data_dir) as station:
        total = station.ledger.size()
        with _progress(total, "indexing", enabled=not args.quiet) as progress:
            count = station.rebuild_index(lambda done, _total: progress(done))
    print(f"index rebuilt from {count} ledger entries", file=sys.stderr)
    return 0


# -- records and search ----------------------------------------------------------------------


def cmd_record_add(args: argparse.Namespace) -> int:
    from google.protobuf.json_format import Parse, ParseError

    from ledger.errors import InputError
    from protos import records_pb2

    kinds = {
        "fir": records_pb2.Fir,
        "petition": records_pb2.Petition,
        "ncr": records_pb2.NonCognizableReport,
        "gd": records_pb2.GeneralDiaryEntry,
    }
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    try:
        record = Parse(text, kinds[args.kind]())
    except ParseError as exc:
        raise InputError(f"{args.file}: not a valid {args.kind} record: {exc}") from exc
    with _open_station(args.data_dir) as station:
        (receipt,) = registers.register_many(station, [(args.kind, args.officer, record)])
    _emit(
        {
            "kind": receipt.kind,
            "ref": receipt.ref,
            "index": receipt.index,
            "related": list(receipt.related),
        }
    )
    return 0


def cmd_record_amend(args: argparse.Namespace) -> int:
    from ledger.errors import InputError

    try:
        changes = json.loads(args.changes)
    except json.JSONDecodeError as exc:
        raise InputError(f"--changes is not JSON: {exc}") from exc
    if not isinstance(changes, dict):
        raise InputError("--changes must be a JSON object of field path to new value")
    with _open_station(args.data_dir) as station:
        receipt = registers.amend(station, args.officer, args.ref, args.reason, changes)
    _emit({"kind": receipt.kind, "ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_record_show(args: argparse.Namespace) -> int:
    with _open_station(args.data_dir) as station:
        history = views.history(station, args.ref)
        current = views.current_view(station, args.ref)
    _emit(
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
    from dataclasses import asdict

    with _open_station(args.data_dir) as station:
        hits = station.index.search.persons(
            args.name, age_min=args.age_min, age_max=args.age_max, limit=args.limit
        )
    if args.json:
        _emit([asdict(hit) for hit in hits])
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
    from dataclasses import asdict

    with _open_station(args.data_dir) as station:
        hits = station.index.search.vehicles(args.text)
    _emit([asdict(hit) for hit in hits])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    if args.station_only:
        from node.demo.station import run_demo

        return run_demo(Path(args.data_dir), records=args.records)
    from node.demo.federation import run_federation_demo

    return run_federation_demo(Path(args.data_dir), records=args.records, check=args.check)


# -- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cctns", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def command(group: Any, name: str, handler: Handler, help_text: str) -> Any:
        sub = group.add_parser(name, help=help_text, description=help_text)
        _data_dir_arg(sub)
        sub.set_defaults(handler=handler)
        return sub

    node = groups.add_parser("node", help="create and inspect a node").add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    sub = command(node, "init", cmd_node_init, "create a new node: key, configuration, ledger")
    sub.add_argument("--origin", help="the log's origin line (unique per node)")
    sub.add_argument("--role", default="station", help="office role (default: station)")
    sub.add_argument("--district", help="police district")
    sub.add_argument("--station", help="station name")
    sub.add_argument("--index-url", help="SQLAlchemy URL of the query index (default: SQLite)")
    sub = command(node, "info", cmd_node_info, "show the node's id, origin and public key")
    sub.add_argument("--json", action="store_true")
    sub = command(node, "serve", cmd_node_serve, "run the node: gRPC peer service, replication")
    sub.add_argument("--poll", type=float, default=2.0, help="replication poll interval (s)")
    sub.add_argument(
        "--revocation-interval", type=float, default=30.0, help="revocation exchange interval (s)"
    )
    sub.add_argument("--http", default="", help="also serve the web UI on HOST:PORT")
    sub = command(node, "web", cmd_node_web, "serve only the web UI (no federation)")
    sub.add_argument("--http", default="127.0.0.1:8080", help="HOST:PORT (default 127.0.0.1:8080)")
    sub = command(node, "alerts", cmd_node_alerts, "equivocation alerts (two histories seen)")
    sub.add_argument("--json", action="store_true")
    sub = command(node, "seed", cmd_node_seed, "fill the node with synthetic records")
    sub.add_argument("--records", type=int, required=True)
    sub.add_argument("--seed", type=int, default=1)
    sub.add_argument("--quiet", action="store_true")

    ledger = groups.add_parser("ledger", help="audit the signed log").add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    command(ledger, "checkpoint", cmd_ledger_checkpoint, "print the latest signed checkpoint")
    sub = command(ledger, "entry", cmd_ledger_entry, "print one entry's exact signed bytes")
    sub.add_argument("index", type=int)
    sub.add_argument("--json", action="store_true")
    sub = command(ledger, "prove-inclusion", cmd_ledger_prove_inclusion, "inclusion proof")
    sub.add_argument("index", type=int)
    sub.add_argument("--size", type=int)
    sub.add_argument("--json", action="store_true", help="(output is always JSON)")
    sub = command(ledger, "prove-consistency", cmd_ledger_prove_consistency, "consistency proof")
    sub.add_argument("size1", type=int)
    sub.add_argument("size2", type=int, nargs="?")
    sub.add_argument("--json", action="store_true", help="(output is always JSON)")
    sub = command(ledger, "verify", cmd_ledger_verify, "check every entry, hash and checkpoint")
    sub.add_argument(
        "--checkpoint", action="append", help="a checkpoint note held elsewhere to check against"
    )
    sub.add_argument("--quiet", action="store_true")

    admin = groups.add_parser("admin", help="operator tasks").add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    sub = command(admin, "rebuild-index", cmd_admin_rebuild_index, "drop and rebuild the index")
    sub.add_argument("--quiet", action="store_true")

    record = groups.add_parser("record", help="register and read records").add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    sub = command(record, "add", cmd_record_add, "register a record given as protobuf JSON")
    sub.add_argument("kind", choices=["fir", "petition", "ncr", "gd"])
    sub.add_argument("--file", default="-", help="JSON file ('-' for stdin)")
    sub.add_argument("--officer", required=True, help="id of the officer writing it")
    sub = command(record, "amend", cmd_record_amend, "append a correction to a record")
    sub.add_argument("ref", help='e.g. "FIR No. 12/2026"')
    sub.add_argument("--officer", required=True)
    sub.add_argument("--reason", required=True)
    sub.add_argument("--changes", required=True, help='JSON, e.g. {"brief_facts": "..."}')
    sub = command(record, "show", cmd_record_show, "a record as it reads now, and its history")
    sub.add_argument("ref")

    search = groups.add_parser("search", help="find persons and vehicles").add_subparsers(
        dest="command", required=True, metavar="SUBCOMMAND"
    )
    sub = command(search, "person", cmd_search_person, "find a person by (misspelt) name")
    sub.add_argument("name")
    sub.add_argument("--age-min", type=int)
    sub.add_argument("--age-max", type=int)
    sub.add_argument("--limit", type=int, default=20)
    sub.add_argument("--json", action="store_true")
    sub = command(search, "vehicle", cmd_search_vehicle, "registration, engine or chassis no.")
    sub.add_argument("text")

    demo = groups.add_parser("demo", help="a federation of 7 nodes on this machine (make run)")
    _data_dir_arg(demo)
    demo.add_argument("--records", type=int, default=400, help="records per station")
    demo.add_argument("--station-only", action="store_true", help="one station, no servers")
    demo.add_argument("--check", action="store_true", help="run one search, then stop")
    demo.set_defaults(handler=cmd_demo)

    from admin.peer_cli import register as register_peer
    from admin.pki_cli import register as register_ca
    from admin.user_cli import register as register_user

    register_ca(groups)
    register_peer(groups)
    register_user(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except CctnsError as exc:
        if args.verbose:
            traceback.print_exc()
        index = getattr(exc, "index", None)
        where = f"entry {index}: " if index is not None and f"entry {index}" not in str(exc) else ""
        print(f"error: {where}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
