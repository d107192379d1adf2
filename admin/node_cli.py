"""`cctns node ...`, `cctns admin ...` and `cctns demo`: create, run and look after a node.

cctns node init --data-dir D [--origin O --role R --district X --station Y --index-url U]
cctns node info --data-dir D [--json]
cctns node serve --data-dir D [--http HOST:PORT]     the gRPC peer service, replication, web
                 [--metrics HOST:PORT]               and Prometheus metrics on their own
cctns node web --data-dir D [--http HOST:PORT]       the web UI alone
cctns node alerts --data-dir D [--json]              equivocations seen, storage faults found
                                                     (exit 3 when any)
cctns node standby --data-dir D [--primary HOST:PORT] follow the node's primary (the DR site)
cctns node takeover --data-dir D [--without-parent]  make the standby the primary
cctns node repair-blobs --data-dir D [--from NODE]   fetch the log's missing or damaged photos
                                                     and slips back from the parent (or NODE)
cctns node rotate-key --data-dir D [--officer ID]    hand the log over to a new signing key
cctns node seed --data-dir D --records N             synthetic records
cctns admin rebuild-index --data-dir D
cctns admin backup --data-dir D --out B              (admin/backup_cli.py)
cctns admin restore --from B --data-dir D2
cctns demo --data-dir D                              the 7-node federation of `make run`
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
from google.protobuf.json_format import MessageToDict

from admin import backup_cli
from admin.common import (
    b64,
    command,
    data_dir_option,
    emit,
    open_station,
    progress,
    subcommands,
)
from federation.blobs import named_blobs
from ledger.checkpoint import parse_note, verifier_key_string
from ledger.entry import parse_leaf
from ledger.errors import StoreError, UsageError, VerificationError
from ledger.log import key_fingerprint, now_ms
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.demo.seed import seed_station
from node.peers import blob_repair
from node.peers.clients import Peers
from node.peers.standby import take_over_as_primary
from node.station.blobs import BLOBS_DIR, BlobStore
from node.station.core import SYSTEM_OFFICER, Station
from node.station.rotation import rotate_key
from node.station.scrub import SCRUB_INTERVAL, SCRUB_RATE, StorageAlert, StorageAlerts

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Under systemd the journal stamps every line itself: no second timestamp.
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"


def log_format() -> str:
    """The log line format: without a time when stderr is the journal (systemd sets
    JOURNAL_STREAM to the device and inode of the stream it connects; docs/operators.md)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return LOG_FORMAT
    return JOURNAL_FORMAT if stream == f"{stat.st_dev}:{stat.st_ino}" else LOG_FORMAT


def cmd_node_init(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    config = data_dir.create(
        origin=args.origin,
        role=args.role,
        district=args.district or "",
        station=args.station or "",
        index_url=args.index_url,
    )
    Station.open(data_dir).close()
    print(f"created node {config.node_id} ({config.origin}) in {data_dir.path}", file=sys.stderr)
    return 0


def cmd_node_info(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    config = data_dir.load_config()
    public = bytes(data_dir.load_key().verify_key)
    standby = data_dir.standby()
    info: dict[str, object] = {
        "node_id": config.node_id,
        "origin": config.origin,
        "public_key": b64(public),
    }
    if standby is not None:
        info["standby"] = {"primary": standby.primary, "reason": standby.reason}
    if args.json:
        emit(info)
    else:
        print(f"node id:    {config.node_id}")
        print(f"origin:     {config.origin}")
        print(f"role:       {config.role} ({config.district} / {config.station})")
        print(f"public key: {info['public_key']}")
        print(f"verifier:   {verifier_key_string(config.origin, public)}")
        if standby is not None:
            why = f" ({standby.reason})" if standby.reason else ""
            print(f"standby:    follows the primary at {standby.primary}{why}")
    return 0


def cmd_node_serve(args: argparse.Namespace) -> int:
    # The runtime brings gRPC's server, FastAPI and hypercorn: a second and a half more start-up
    # that only `node serve` and `node web` need, so they alone import it.
    from node.runtime import ScrubPace, run  # noqa: PLC0415

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=log_format())
    return run(
        Path(args.data_dir),
        poll_interval=args.poll,
        revocation_interval=args.revocation_interval,
        http=args.http,
        metrics=args.metrics,
        scrub=ScrubPace(args.scrub_rate, args.scrub_interval),
    )


def cmd_node_web(args: argparse.Namespace) -> int:
    # See cmd_node_serve.
    from node.runtime import ScrubPace, run_web  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format=log_format())
    return run_web(
        Path(args.data_dir), args.http, scrub=ScrubPace(args.scrub_rate, args.scrub_interval)
    )


def cmd_node_standby(args: argparse.Namespace) -> int:
    # See cmd_node_serve.
    from node.runtime import run_standby  # noqa: PLC0415

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=log_format())
    return run_standby(Path(args.data_dir), primary=args.primary, poll_interval=args.poll)


def cmd_node_takeover(args: argparse.Namespace) -> int:
    """The standby becomes the primary; nothing is written when it may not (see the error)."""
    data_dir = DataDir(args.data_dir)
    done = trio.run(
        functools.partial(take_over_as_primary, data_dir, without_parent=args.without_parent)
    )
    # The index is brought up to the log now rather than when the node first serves.
    with progress(done.index + 1, "indexing", enabled=not args.quiet) as advance:
        Station.open(data_dir, progress=lambda count, _total: advance(count)).close()
    continued = parse_note(done.continued)[0]
    missing = _missing_blobs(data_dir)
    result = {
        "takeover_index": done.index,
        "continued_checkpoint_size": continued.size,
        "from_parent": done.from_parent,
        "parent": done.parent,
        "blobs_missing": missing,
    }
    if args.json:
        emit(result)
    else:
        print(
            f"took over {continued.origin}: the old primary's checkpoint for {continued.size} "
            f"entries continues with the takeover entry {done.index}"
            + (f" ({done.from_parent} entries from the parent)" if done.from_parent else "")
            + (" without asking the parent" if done.parent == "unreachable" else "")
            + ". Start it with `cctns node serve`",
            file=sys.stderr,
        )
        if missing:
            print(
                f"{len(missing)} photos or slips its entries name did not come across before "
                "the takeover: once it serves, `cctns node repair-blobs` fetches them from "
                "the parent",
                file=sys.stderr,
            )
    return 0


def _missing_blobs(data_dir: DataDir) -> list[str]:
    """The blobs the node's log names that its blob store does not hold."""
    store = RocksDBLogStore.open(data_dir.ledger_path, audit=True)
    try:
        named = named_blobs(store.entries(0, store.size()))
    finally:
        store.close()
    blobs = BlobStore.open(data_dir.path / BLOBS_DIR)
    return sorted(digest for digest in named if not blobs.has(digest))


def cmd_node_repair_blobs(args: argparse.Namespace) -> int:
    """Finds the blobs the node's own log names that are missing or no longer hash to their
    names, and fetches each back from the parent (or `--from`), checked against the digest the
    node's own entry names (node/peers/blob_repair.py). Runs beside a serving node (the log is
    read, not written). Exit 0 when nothing is left to repair, 3 when some could not be had."""
    data_dir = DataDir(args.data_dir)
    origin = data_dir.load_config().origin
    store = RocksDBLogStore.open(data_dir.ledger_path, audit=True)
    try:
        named = {d: ref for d, (_, ref) in named_blobs(store.entries(0, store.size())).items()}
    finally:
        store.close()
    blobs = BlobStore.open(data_dir.path / BLOBS_DIR)
    with progress(0, "re-hashing blobs", not args.quiet and args.rehash, unit="B") as advance:
        repair = blob_repair.find_faults(blobs, named, rehash=args.rehash, advance=advance)
    source = ""
    if repair.missing or repair.damaged:
        peers = Peers.load(data_dir)
        source = args.source or peers.federation.parent
        if not source:
            raise UsageError("this node has no parent: say which node holds its blobs (--from)")
        client = peers.client(peers.address(source))
        try:
            trio.run(
                functools.partial(blob_repair.fetch_back, repair, origin, named, blobs, client)
            )
        finally:
            client.close()
    result = {
        "named": repair.named,
        "missing": repair.missing,
        "damaged": repair.damaged,
        "restored": repair.restored,
        "moved_aside": repair.moved_aside,
        "failed": repair.failed,
        "from": source,
    }
    if args.json:
        emit(result)
    else:
        print(
            f"{repair.named} blobs named by the log: {len(repair.missing)} missing, "
            f"{len(repair.damaged)} damaged"
            + (f"; {len(repair.restored)} fetched back from {source}" if source else "")
        )
        for aside in repair.moved_aside:
            print(f"  kept aside: blobs/{aside}")
        for digest, why in sorted(repair.failed.items()):
            print(f"  NOT REPAIRED {digest}: {why}", file=sys.stderr)
    return 0 if repair.complete else 3


def cmd_node_alerts(args: argparse.Namespace) -> int:
    """Equivocation alerts this node recorded in its log, then the storage faults it found
    (docs/storage.md): read-only, safe beside a running node. A log that cannot be read to
    the end is itself listed as a storage fault."""
    data_dir = DataDir(args.data_dir)
    data_dir.load_config()
    storage = StorageAlerts(data_dir).all()
    alerts: list[dict[str, Any]] = []
    try:
        alerts = _equivocations(data_dir)
    except (StoreError, VerificationError) as exc:
        storage.append(StorageAlert(now_ms(), "ledger", f"the log cannot be read: {exc}"))
    if args.json:
        emit(alerts + [{"kind": "storage", **asdict(alert)} for alert in storage])
    else:
        for alert in alerts:
            print(
                f"entry {alert['index']}: {alert['origin']} EQUIVOCATED: {alert.get('detail', '')}"
            )
        for fault in storage:
            when = datetime.fromtimestamp(fault.at_ms / 1000, UTC).isoformat(timespec="seconds")
            print(f"{when}: STORAGE FAULT in {fault.store}: {fault.detail}")
        if not alerts and not storage:
            print("no equivocation or storage alerts")
    return 3 if alerts or storage else 0


def _equivocations(data_dir: DataDir) -> list[dict[str, Any]]:
    """The equivocation events in the node's log, read from a read-only snapshot."""
    alerts = []
    with RocksDBLogStore.open(data_dir.ledger_path, audit=True) as store:
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
    return alerts


def cmd_node_rotate_key(args: argparse.Namespace) -> int:
    """Hands the node's log over to a fresh signing key (run it while the node is stopped)."""
    data_dir = DataDir(args.data_dir)
    with open_station(args.data_dir) as station:
        old = station.ledger.public_key
        receipt = rotate_key(station, data_dir, args.officer, note=args.note)
        new = station.ledger.public_key
        origin = station.config.origin
    info = {
        "origin": origin,
        "handover_index": receipt.index,
        "previous_key": b64(old),
        "public_key": b64(new),
        "verifier": verifier_key_string(origin, new),
    }
    if args.json:
        emit(info)
    else:
        print(
            f"handed {origin} over at entry {receipt.index} from key {key_fingerprint(old)} "
            f"to {key_fingerprint(new)}"
        )
        print(f"public key: {info['public_key']}")
        print(f"verifier:   {info['verifier']}")
    print(
        "its certificate still names the old key: re-enrol it with `cctns ca enrol` "
        '(docs/federation-trust.md, "Rotating a node\'s keys")',
        file=sys.stderr,
    )
    return 0


def cmd_node_seed(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        counts = seed_station(station, args.records, seed=args.seed, show_progress=not args.quiet)
    print(
        ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) + " written",
        file=sys.stderr,
    )
    return 0


def cmd_admin_rebuild_index(args: argparse.Namespace) -> int:
    # Opened with the rebuild, not caught up first: an index of another log is what this
    # command is for, and catching it up refuses it.
    data_dir = DataDir(args.data_dir)
    with progress(0, "indexing", enabled=not args.quiet) as advance:
        station = Station.open(
            data_dir, rebuild_index=True, progress=lambda done, total: advance(done, total)
        )
    try:
        count = station.index.indexed_size()
    finally:
        station.close()
    print(f"index rebuilt from {count} ledger entries", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    # Each demo imports what it runs: the federation demo brings the gRPC stack (see above).
    if args.station_only:
        from node.demo.station import run_demo  # noqa: PLC0415

        return run_demo(Path(args.data_dir), records=args.records)
    from node.demo.federation import run_federation_demo  # noqa: PLC0415

    return run_federation_demo(Path(args.data_dir), records=args.records, check=args.check)


def scrub_options(parser: argparse.ArgumentParser) -> None:
    """The background scrub's pace (docs/storage.md)."""
    parser.add_argument(
        "--scrub-rate",
        type=float,
        default=SCRUB_RATE,
        help="entries a second the storage scrub re-verifies at most (0: no scrub; "
        f"default {SCRUB_RATE:g})",
    )
    parser.add_argument(
        "--scrub-interval",
        type=float,
        default=SCRUB_INTERVAL,
        help=f"seconds between scrub passes (default {SCRUB_INTERVAL:g})",
    )


def register(groups: Any) -> None:
    """Adds the `node`, `admin` and `demo` command groups."""
    node = subcommands(groups, "node", "create, run and inspect a node")
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
    sub.add_argument(
        "--metrics",
        default=os.environ.get("CCTNS_METRICS", ""),
        help="also serve Prometheus metrics (GET /metrics) alone on HOST:PORT "
        "(env CCTNS_METRICS; the web UI serves them too)",
    )
    scrub_options(sub)
    sub = command(node, "web", cmd_node_web, "serve only the web UI (no federation)")
    sub.add_argument("--http", default="127.0.0.1:8080", help="HOST:PORT (default 127.0.0.1:8080)")
    scrub_options(sub)
    sub = command(
        node, "standby", cmd_node_standby, "follow the node's primary as its standby (DR site)"
    )
    sub.add_argument(
        "--primary",
        default="",
        help="HOST:PORT of the primary (default: standby.toml's, else federation.toml's listen)",
    )
    sub.add_argument("--poll", type=float, default=2.0, help="replication poll interval (s)")
    sub = command(node, "takeover", cmd_node_takeover, "make this standby the node's primary")
    sub.add_argument(
        "--without-parent",
        action="store_true",
        help="take over even when the parent cannot be asked what it holds (may fork the log)",
    )
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--quiet", action="store_true")
    sub = command(
        node,
        "repair-blobs",
        cmd_node_repair_blobs,
        "fetch the log's missing or damaged photos and slips back from the parent",
    )
    sub.add_argument(
        "--from", dest="source", default="", help="the node to ask (default: the parent)"
    )
    sub.add_argument(
        "--no-rehash",
        dest="rehash",
        action="store_false",
        help="only fetch missing blobs (do not re-read every one)",
    )
    sub.add_argument("--json", action="store_true")
    sub.add_argument("--quiet", action="store_true")
    sub = command(
        node, "alerts", cmd_node_alerts, "equivocations seen (two histories) and storage faults"
    )
    sub.add_argument("--json", action="store_true")
    sub = command(
        node,
        "rotate-key",
        cmd_node_rotate_key,
        "hand the log over to a new signing key (with the node stopped)",
    )
    sub.add_argument("--officer", default=SYSTEM_OFFICER, help="who rotates (default: system)")
    sub.add_argument("--note", default="", help="why, for the record (e.g. a scheduled change)")
    sub.add_argument("--json", action="store_true")
    sub = command(node, "seed", cmd_node_seed, "fill the node with synthetic records")
    sub.add_argument("--records", type=int, required=True)
    sub.add_argument("--seed", type=int, default=1)
    sub.add_argument("--quiet", action="store_true")

    admin = subcommands(groups, "admin", "operator tasks")
    sub = command(admin, "rebuild-index", cmd_admin_rebuild_index, "drop and rebuild the index")
    sub.add_argument("--quiet", action="store_true")
    backup_cli.register(admin)

    demo = groups.add_parser("demo", help="a federation of 7 nodes on this machine (make run)")
    data_dir_option(demo)
    demo.add_argument("--records", type=int, default=400, help="records per station")
    demo.add_argument("--station-only", action="store_true", help="one station, no servers")
    demo.add_argument("--check", action="store_true", help="run one search, then stop")
    demo.set_defaults(handler=cmd_demo)


__all__ = ["register"]
