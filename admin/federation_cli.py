"""`cctns federation ...`: joining the network, and the directory of offices (docs/directory.md).

    cctns federation join      --data-dir D [--parent-address HOST:PORT] [--listen HOST:PORT]
    cctns federation directory --data-dir D [--json]
    cctns federation move      --data-dir D --address HOST:PORT [--listen HOST:PORT]
    cctns federation retire    --data-dir PARENT --node-id CHILD [--successor ID] [--merged]
                               [--without-replica]

`join` comes after `cctns ca enrol`: it writes the node's local federation.toml (where it
listens, its parent), announces the node to its parent, reads the parent's directory and
prints what it learned. Nobody writes peer lists: offices are found through the directory.
An office enrolled again under another parent (a station whose circle office closed: `cctns ca
enrol --parent SDPO`) joins its new parent the same way; its statement then takes the next
sequence, so every directory replaces the old entry in order (docs/directory.md "Retiring an
office kind").
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

import trio

from admin.common import command, emit, subcommands
from federation.directory import VerifiedEntry
from federation.replicas import origin_slug
from federation.trust.chain import stamp
from federation.trust.credentials import NodeCredentials
from federation.trust.identity import address_from_certificate, parse_address
from federation.trust.revocation import RevocationSet
from ledger.checkpoint import verify_checkpoint
from ledger.errors import (
    AuthenticationError,
    NotPermitted,
    PeerError,
    PeerUnavailable,
    StoreError,
    UsageError,
    VerificationError,
)
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir, FederationConfig, load_federation, save_federation
from node.peers.clients import Peers
from node.peers.directory import (
    NodeDirectory,
    announce_to_parent,
    refresh_from_parent,
    write_pending,
)

TIMEOUT = 10.0


def _credentials(data_dir: DataDir) -> NodeCredentials:
    """The node's certificate, checked against its root; UsageError before `cctns ca enrol`."""
    data_dir.load_config()
    try:
        creds = NodeCredentials.load(data_dir.path)
    except UsageError:
        raise UsageError(
            f"{data_dir.path} is not enrolled: get its certificate with `cctns ca enrol` first"
        ) from None
    creds.verify()
    return creds


def _open(data_dir: DataDir, creds: NodeCredentials) -> NodeDirectory:
    revocations = RevocationSet.load(data_dir.path, creds.root_pem)
    return NodeDirectory.open(data_dir, creds, revocations)


async def _announce_and_read(data_dir: DataDir, node: NodeDirectory, parent_id: str) -> str:
    """Announces the node to its parent and reads its directory; the line to print."""
    peers = Peers.load(data_dir)
    peers.directory = node
    address = peers.address(parent_id)
    client = peers.client(address)
    try:
        try:
            version = await announce_to_parent(node, client, timeout=TIMEOUT)
            got = await refresh_from_parent(node, client, timeout=TIMEOUT)
        except PeerUnavailable as exc:
            raise PeerUnavailable(
                f"the parent {parent_id} at {address.address} cannot be reached: {exc}", parent_id
            ) from exc
        except (NotPermitted, AuthenticationError) as exc:
            raise PeerError(f"the parent {parent_id} refused: {exc}", parent_id) from exc
    finally:
        client.close()
    node.save()
    refused = f", {len(got.refused)} entries refused" if got.refused else ""
    return (
        f"announced to {parent_id} at {address.address} (its directory at version {version}); "
        f"learned {len(got.accepted)} offices{refused}"
    )


def cmd_join(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    creds = _credentials(data_dir)
    identity = creds.identity
    if identity.parent and not args.parent_address:
        raise UsageError(f"{identity.node_id}'s parent is {identity.parent}: give --parent-address")
    if args.parent_address:
        parse_address(args.parent_address)
    listen = args.listen or address_from_certificate(creds.chain_pem)
    parse_address(listen)
    before = load_federation(data_dir) if data_dir.federation_path.exists() else None
    overrides = before.peers if before is not None else ()
    save_federation(
        data_dir,
        FederationConfig(
            listen=listen,
            parent=identity.parent,
            peers=overrides,
            parent_address=args.parent_address if identity.parent else "",
        ),
    )
    print(f"wrote {data_dir.federation_path}", file=sys.stderr)
    node = _open(data_dir, creds)
    own = node.own()
    if before is not None and before.parent != identity.parent and own is not None:
        # Enrolled again under another parent: a new statement (the next sequence) goes with
        # the new certificate, so every directory replaces the old entry in sequence order.
        node.state(at_least=own.statement.sequence + 1)
        print(
            f"{identity.node_id} re-parented: {before.parent or '(none)'} -> "
            f"{identity.parent or '(none)'}",
            file=sys.stderr,
        )
    else:
        node.state()
    if not identity.parent:
        node.save()
        print(f"{identity.node_id} has no parent: it heads its own directory", file=sys.stderr)
        return 0
    line = trio.run(_announce_and_read, data_dir, node, identity.parent)
    print(f"{identity.node_id} joined: {line}", file=sys.stderr)
    _show(node.directory.entries(), node.directory, as_json=False)
    return 0


def _row(entry: VerifiedEntry, last_seen: float | None) -> dict[str, Any]:
    return {
        "node_id": entry.node_id,
        "role": entry.identity.role,
        "parent": entry.parent,
        "address": entry.address,
        "status": entry.status,
        "successor": entry.successor,
        "sequence": entry.statement.sequence,
        "software_version": entry.software_version,
        "stated_at": stamp(entry.statement.time),
        "last_seen": stamp(dt.datetime.fromtimestamp(last_seen, dt.UTC)) if last_seen else None,
    }


def _show(entries: list[VerifiedEntry], directory: Any, *, as_json: bool) -> None:
    rows = [_row(e, directory.last_seen(e.node_id)) for e in entries]
    if as_json:
        emit({"version": directory.version, "offices": rows})
        return
    for row in rows:
        status = row["status"] + (f" -> {row['successor']}" if row["successor"] else "")
        seen = f"  last seen {row['last_seen']}" if row["last_seen"] else ""
        print(f"{row['node_id']:48} {row['role']:12} {row['address']:22} {status}{seen}")


def cmd_directory(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    node = _open(data_dir, _credentials(data_dir))
    _show(node.directory.entries(), node.directory, as_json=args.json)
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    creds = _credentials(data_dir)
    parse_address(args.address)
    federation = load_federation(data_dir)
    node = _open(data_dir, creds)
    entry = node.state(address=args.address, status="moved")
    if args.listen:
        parse_address(args.listen)
        save_federation(
            data_dir,
            FederationConfig(
                listen=args.listen,
                parent=federation.parent,
                peers=federation.peers,
                parent_address=federation.parent_address,
            ),
        )
    node.save()
    print(
        f"{entry.node_id} now answers at {entry.address} (statement {entry.statement.sequence})",
        file=sys.stderr,
    )
    if federation.parent:
        try:
            line = trio.run(_announce_and_read, data_dir, node, federation.parent)
            print(line, file=sys.stderr)
        except PeerError as exc:
            print(
                f"not announced yet ({exc}): the node announces it when it starts", file=sys.stderr
            )
    return 0


def replica_size(data_dir: DataDir, origin: str) -> int | None:
    """Entries of `origin`'s log the node in `data_dir` holds verified (its latest checkpoint's
    size in the replica; read-only, beside a running node); None when it holds no replica."""
    path = data_dir.path / "replicas" / origin_slug(origin) / "log"
    if not path.is_dir():
        return None
    try:
        store = RocksDBLogStore.open(path, audit=True)
    except StoreError:
        return None
    try:
        latest = store.latest_checkpoint()
        return latest[0] if latest is not None else 0
    finally:
        store.close()


async def _own_size(data_dir: DataDir, office: VerifiedEntry) -> int | None:
    """The size of `office`'s log by its own signed checkpoint, or None when it does not
    answer (closed already) or its answer does not verify."""
    peers = Peers.load(data_dir)
    client = peers.client(office.peer_address())
    try:
        note = await client.get_checkpoint(timeout=TIMEOUT)
        return verify_checkpoint(
            note, office.identity.ledger_key, office.origin, office.origin
        ).size
    except (PeerError, VerificationError):
        return None
    finally:
        client.close()


def cmd_retire(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    node = _open(data_dir, _credentials(data_dir))
    status = "merged" if args.merged else "retired"
    held = node.directory.get(args.node_id)
    if held is not None:
        # The office's records stay in the federation through the replicas of its log: its
        # parent (this node) holds one, and readers are sent to the successor for it.
        size = replica_size(data_dir, held.origin)
        if not size and not args.without_replica:
            raise UsageError(
                f"{node.node_id} holds no verified replica of {args.node_id}'s log: its records "
                "would be found nowhere once it closes; let the node follow it first (or give "
                "--without-replica)"
            )
        if size:
            print(f"{node.node_id} holds {size} entries of {held.origin}", file=sys.stderr)
        own = trio.run(_own_size, data_dir, held)
        if own is None:
            print(
                f"{args.node_id} does not answer (or its checkpoint does not verify with the "
                "key its certificate names): retiring it as held",
                file=sys.stderr,
            )
        elif own > (size or 0) and not args.without_replica:
            raise UsageError(
                f"{args.node_id}'s log has {own} entries, {node.node_id}'s replica {size or 0}: "
                "let the running node catch up before retiring it (or give --without-replica)"
            )
    entry = node.sign_for_child(args.node_id, status=status, successor=args.successor or "")
    verified = node.directory.check(entry)
    path = write_pending(data_dir, entry, args.node_id)
    print(
        f"{verified.node_id} {status}"
        + (f" into {verified.successor}" if verified.successor else "")
        + f": signed by {node.node_id}, left in {path} for the node to take in (next round)",
        file=sys.stderr,
    )
    return 0


def register(groups: Any) -> None:
    """Adds the `federation` command group to the `cctns` parser."""
    group = subcommands(groups, "federation", "join the network; the directory of offices", __doc__)
    sub = command(group, "join", cmd_join, "announce this enrolled node to its parent")
    sub.add_argument(
        "--parent-address", help="host:port of the parent office (the certificate names it)"
    )
    sub.add_argument("--listen", help="host:port to serve on (default: the certificate's)")
    sub = command(group, "directory", cmd_directory, "the offices this node knows")
    sub.add_argument("--json", action="store_true")
    sub = command(group, "move", cmd_move, "this office answers at a new address")
    sub.add_argument("--address", required=True, help="the new host:port")
    sub.add_argument("--listen", help="host:port to serve on from now (default: unchanged)")
    sub = command(group, "retire", cmd_retire, "retire or merge a child office (on its parent)")
    sub.add_argument("--node-id", required=True, help="the child office")
    sub.add_argument("--successor", help="the office that answers for it from now")
    sub.add_argument("--merged", action="store_true", help="merged into --successor")
    sub.add_argument(
        "--without-replica",
        action="store_true",
        help="retire it even though this node holds no replica of its log",
    )
