"""`cctns ledger ...`: the auditor's interface to a node's signed log (JSON on stdout).

    cctns ledger checkpoint --data-dir D                  the signed note (C2SP tlog-checkpoint)
    cctns ledger entry N --data-dir D [--json]            one entry's exact signed bytes
    cctns ledger prove-inclusion N [--size S] --data-dir D
    cctns ledger prove-consistency M [N] --data-dir D
    cctns ledger verify --data-dir D [--checkpoint note]  exit 0, or 3 naming the first bad index
                        [--no-blobs]                      (from the genesis key through each
                                                          key hand-over to the node's key, and
                                                          the acknowledged entries missing below
                                                          the high-water mark); then every blob
                                                          (photos, fingerprint slips) re-hashed
                                                          against its name: 3 naming each
                                                          damaged one, 4 when one is unreadable

Read-only: these open the ledger alone (never the index), and `verify` opens it in audit mode,
so it runs beside a serving node.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from admin.common import b64, command, emit, open_ledger, progress, subcommands
from federation.blobs import named_blobs
from ledger import merkle
from ledger.entry import parse_leaf
from ledger.errors import StoreError, TamperError
from ledger.keys import GENESIS
from ledger.log import key_fingerprint, verify_log
from ledger.mark import MarkFile
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.station.blobs import BLOBS_DIR, RECOVERY, BlobCheck, BlobNotFound, BlobStore


def cmd_ledger_checkpoint(args: argparse.Namespace) -> int:
    with open_ledger(args.data_dir) as ledger:
        sys.stdout.write(ledger.checkpoint().decode("utf-8"))
    return 0


def cmd_ledger_entry(args: argparse.Namespace) -> int:
    with open_ledger(args.data_dir) as ledger:
        raw = ledger.leaf(args.index)
    leaf = parse_leaf(raw)
    result = {"index": args.index, "leaf_hash": b64(merkle.leaf_hash(raw)), "entry": b64(raw)}
    if args.json:
        emit(result)
    else:
        body = MessageToDict(leaf.decode_body(), preserving_proto_field_name=True)
        print(json.dumps({**result, "body": body}, ensure_ascii=False, indent=2))
    return 0


def cmd_ledger_prove_inclusion(args: argparse.Namespace) -> int:
    with open_ledger(args.data_dir) as ledger:
        size = ledger.size() if args.size is None else args.size
        proof = ledger.inclusion_proof(args.index, size)
        result = {
            "leafIdx": args.index,
            "treeSize": size,
            "root": b64(ledger.root(size)),
            "leafHash": b64(merkle.leaf_hash(ledger.leaf(args.index))),
            "proof": [b64(p) for p in proof],
        }
    emit(result)
    return 0


def cmd_ledger_prove_consistency(args: argparse.Namespace) -> int:
    with open_ledger(args.data_dir) as ledger:
        size2 = ledger.size() if args.size2 is None else args.size2
        proof = ledger.consistency_proof(args.size1, size2)
        result = {
            "size1": args.size1,
            "size2": size2,
            "root1": b64(ledger.root(args.size1)),
            "root2": b64(ledger.root(size2)),
            "proof": [b64(p) for p in proof],
        }
    emit(result)
    return 0


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    """Walks the log from its genesis key through each key hand-over; the key it ends with
    must be the node's (its key file, or the new key of a rotation a crash interrupted)."""
    data_dir = DataDir(args.data_dir)
    config = data_dir.load_config()
    node_keys = {bytes(data_dir.load_key().verify_key)}
    pending = data_dir.load_next_key()
    if pending is not None:
        node_keys.add(bytes(pending.verify_key))
    trusted = [Path(p).read_bytes() for p in args.checkpoint or []]
    # Read before the store is opened: a node beside us writes its mark only after a commit
    # is durable, so the store opened next holds at least what the mark covers.
    mark = MarkFile(data_dir.mark_path).read()
    store = RocksDBLogStore.open(data_dir.ledger_path, audit=True)
    try:
        size = store.size()
        first = min(node_keys)
        if size:
            genesis = parse_leaf(store.entry(0)).decode_body()
            if genesis.node_event.kind != GENESIS or len(genesis.node_event.public_key) != 32:
                raise TamperError("entry 0 is not a genesis entry", index=0)
            first = genesis.node_event.public_key
        with progress(size, "verifying", enabled=not args.quiet) as advance:
            report = verify_log(
                store,
                first,
                config.origin,
                trusted_checkpoints=trusted,
                mark=mark.note if mark is not None else None,
                progress=advance,
            )
        if report.keys.current not in node_keys:
            raise TamperError(
                f"the log ends signed by key {key_fingerprint(report.keys.current)}, which is "
                f"not this node's ({key_fingerprint(bytes(data_dir.load_key().verify_key))})",
                index=max(report.keys.eras[-1].start - 1, 0),
            )
        named = {} if args.no_blobs else _named_blobs(store, size, quiet=args.quiet)
    finally:
        store.close()
    rotations = len(report.keys.eras) - 1
    keys = f", {rotations} key hand-over{'s' if rotations != 1 else ''}" if rotations else ""
    marked = f"high-water mark {mark.size}" if mark is not None else "no high-water mark"
    summary = (
        f"{report.size} entries, {report.checkpoints} checkpoints{keys}, {marked}, "
        f"root {b64(report.root)}"
    )
    if not args.no_blobs:
        summary += ", " + _verify_blobs(data_dir, summary, named, quiet=args.quiet)
    print(f"ok: {summary}")
    return 0


def _size(store: BlobStore, digest: str) -> int:
    """A blob's size for the progress bar; 0 for one gone since it was listed."""
    try:
        return store.size(digest)
    except BlobNotFound:
        return 0


def _named_blobs(store: RocksDBLogStore, size: int, *, quiet: bool) -> dict[str, int]:
    """The blobs the log's entries name (a photo's image, a slip's images and templates): digest
    -> the first entry naming it. A station keeps a blob before the entry naming it is written
    (node/station/blobs.py), so each must be held."""
    with progress(size, "reading the blobs entries name", not quiet) as advance:
        named = named_blobs(_counted(store.entries(0, size), advance))
    return {digest: index for digest, (index, _) in named.items()}


def _counted(leaves: Iterator[bytes], advance: Callable[[int], None]) -> Iterator[bytes]:
    """`leaves`, telling `advance` every thousand and at the end."""
    count = 0
    for count, leaf in enumerate(leaves, 1):
        if count % 1000 == 0:
            advance(count)
        yield leaf
    advance(count)


def _verify_blobs(data_dir: DataDir, verified: str, named: dict[str, int], *, quiet: bool) -> str:
    """Re-hashes every blob of the node against its name (progress in bytes on a terminal) and
    checks that every blob an entry of the log names (`named`) is held; names each damaged or
    missing one on stderr, then raises: TamperError when one's bytes have changed or one is
    missing, StoreError when some could only not be read. What was checked, when all is well."""
    store = BlobStore(data_dir.path / BLOBS_DIR)  # not `open`: it would make the directory
    digests = list(store.digests())
    total = sum(_size(store, digest) for digest in digests)
    check = BlobCheck(store, digests)
    with progress(total, "re-hashing blobs", not quiet, unit="B") as advance:
        try:
            while not check.step():
                advance(check.read)
            advance(check.read)
        finally:
            check.close()
    for found in check.damaged:
        print(f"DAMAGED: {found}", file=sys.stderr)
    held = set(digests)
    missing = sorted((index, digest) for digest, index in named.items() if digest not in held)
    for index, digest in missing:
        print(f"MISSING: blob {digest}, named by entry {index}", file=sys.stderr)
    if missing:
        raise TamperError(
            f"{len(missing)} of the {len(named)} blobs the log names are not held (listed "
            f"above: evidence lost); the log itself verifies ({verified}). To recover a blob, "
            f"{RECOVERY}"
        )
    if check.damaged:
        what = f"{len(check.damaged)} of {check.checked} blobs damaged (listed above)"
        advice = f"the log itself verifies ({verified}). To recover a blob, {RECOVERY}"
        if all(found.unreadable for found in check.damaged):
            raise StoreError(f"{what}; {advice}")
        raise TamperError(f"{what}; {advice}")
    return (
        f"{check.checked} blobs ({total:,} bytes) hash to their names, "
        f"the {len(named)} the log names all held"
    )


def register(groups: Any) -> None:
    """Adds the `ledger` command group."""
    ledger = subcommands(groups, "ledger", "audit the signed log")
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
    sub.add_argument(
        "--no-blobs", action="store_true", help="skip re-hashing the photos and fingerprint slips"
    )
    sub.add_argument("--quiet", action="store_true")


__all__ = ["register"]
