"""`cctns ca ...`: the certificate hierarchy from the command line.

    cctns ca init-root    --dir ROOT                      the national root (once)
    cctns ca issue-state  --root ROOT --state S --dir STATE
    cctns ca enrol        --authority STATE --data-dir D --parent P --address HOST:PORT
    cctns ca revoke       --authority STATE --node-id X --reason R --out FILE [--data-dir D]
    cctns ca show         --data-dir D [--json]

Authorities live in their own directories (ca.crt, ca.key, chain.pem), never inside a node's
data directory; a node gets only its own key, its chain and the root certificate (D/tls/).
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Any

from admin.common import command, data_dir_option, emit, subcommands
from federation.trust.authority import (
    DEFAULT_NODE_DAYS,
    DEFAULT_ROOT_DAYS,
    DEFAULT_STATE_DAYS,
    ROOT_COMMON_NAME,
    Authority,
    create_root,
    enrol_node,
    issue_state_authority,
)
from federation.trust.credentials import NodeCredentials
from federation.trust.identity import ROLES, address_from_certificate
from federation.trust.revocation import RevocationSet, sign_revocation, verify_revocation
from ledger.errors import InputError, UsageError
from node.config import DataDir


def cmd_ca_init_root(args: argparse.Namespace) -> int:
    root = create_root(args.common_name, args.valid_days)
    root.save(args.dir)
    print(f"created national root {root.name!r} in {args.dir}", file=sys.stderr)
    return 0


def cmd_ca_issue_state(args: argparse.Namespace) -> int:
    root = Authority.load(args.root)
    state = issue_state_authority(root, args.state, args.valid_days)
    state.save(args.dir)
    print(f"created state authority {state.name!r} in {args.dir}", file=sys.stderr)
    return 0


def cmd_ca_enrol(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    config = data_dir.load_config()
    role = args.role or config.role
    if role != config.role:
        raise InputError(
            f"--role {role!r} differs from the role in {data_dir.config_path} ({config.role!r})"
        )
    authority = Authority.load(args.authority)
    creds = enrol_node(
        authority,
        node_id=config.node_id,
        role=role,
        parent=args.parent,
        ledger_key=bytes(data_dir.load_key().verify_key),
        address=args.address,
        valid_days=args.valid_days,
    )
    tls = creds.save(data_dir.path)
    identity = creds.identity
    print(
        f"enrolled {identity.node_id} ({identity.role}, serial {identity.serial}) in {tls}",
        file=sys.stderr,
    )
    return 0


def cmd_ca_revoke(args: argparse.Namespace) -> int:
    authority = Authority.load(args.authority)
    signed = sign_revocation(
        authority, node_id=args.node_id, serial=args.serial or "", reason=args.reason
    )
    record = verify_revocation(signed, authority.root_pem)
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"{out} already exists; refusing to overwrite it")
    out.write_bytes(signed)
    if args.data_dir:
        root_path = Path(args.data_dir) / "tls" / "root.crt"
        if not root_path.exists():
            raise UsageError(f"{root_path} is missing: enrol that node first")
        RevocationSet.load(args.data_dir, root_path.read_bytes()).add(signed)
    what = f"serial {record.serial}" if record.serial else "every certificate"
    print(f"revoked {what} of {record.node_id}: {out}", file=sys.stderr)
    return 0


def cmd_ca_show(args: argparse.Namespace) -> int:
    creds = NodeCredentials.load(args.data_dir)
    identity = creds.verify()
    cert = creds.certificate
    info = {
        "node_id": identity.node_id,
        "role": identity.role,
        "parent": identity.parent,
        "address": address_from_certificate(creds.chain_pem),
        "ledger_key": base64.b64encode(identity.ledger_key).decode("ascii"),
        "serial": identity.serial,
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if args.json:
        emit(info)
    else:
        for name, value in info.items():
            print(f"{name + ':':12}{value}")
    return 0


def register(groups: Any) -> None:
    """Adds the `ca` command group to the `cctns` parser's top-level subparsers."""
    ca = subcommands(groups, "ca", "certificate authorities: enrol and revoke nodes", __doc__)

    sub = command(
        ca, "init-root", cmd_ca_init_root, "create the national root authority", data_dir=False
    )
    sub.add_argument("--dir", required=True, help="directory for ca.crt and ca.key")
    sub.add_argument("--common-name", default=ROOT_COMMON_NAME)
    sub.add_argument("--valid-days", type=int, default=DEFAULT_ROOT_DAYS)

    sub = command(
        ca,
        "issue-state",
        cmd_ca_issue_state,
        "certify a state authority with the root",
        data_dir=False,
    )
    sub.add_argument("--root", required=True, help="the national root's directory")
    sub.add_argument("--state", required=True, help="e.g. kerala")
    sub.add_argument("--dir", required=True, help="directory for the state authority")
    sub.add_argument("--valid-days", type=int, default=DEFAULT_STATE_DAYS)

    sub = command(ca, "enrol", cmd_ca_enrol, "certify a node (writes DATA_DIR/tls/)")
    sub.add_argument("--authority", required=True, help="the issuing authority's directory")
    sub.add_argument("--role", choices=ROLES, help="(default: the role in node.toml)")
    sub.add_argument("--parent", required=True, help="node id of the parent office")
    sub.add_argument("--address", required=True, help="host:port the node serves gRPC on")
    sub.add_argument("--valid-days", type=int, default=DEFAULT_NODE_DAYS)

    sub = command(ca, "revoke", cmd_ca_revoke, "sign a revocation record", data_dir=False)
    sub.add_argument("--authority", required=True, help="the revoking authority's directory")
    sub.add_argument("--node-id", required=True)
    sub.add_argument("--serial", help="one certificate (hex); default: every certificate")
    sub.add_argument("--reason", required=True)
    sub.add_argument("--out", required=True, help="file to write the signed record to")
    data_dir_option(sub, required=False)

    sub = command(ca, "show", cmd_ca_show, "the node's identity, from its certificate")
    sub.add_argument("--json", action="store_true")
