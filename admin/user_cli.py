"""`cctns user ...`: officer accounts of a node's web UI.

    cctns user add --data-dir D --officer-id PEN123456 --name "Anitha K" --sex F --role sho \
        [--station-node-id ID] [--jurisdiction kerala/ernakulam-city/] --password-file F
    cctns user list --data-dir D [--json]
    cctns user disable --data-dir D --officer-id PEN123456
    cctns user set-password --data-dir D --officer-id PEN123456 --password-file F

`add` prints the TOTP setup (otpauth URI and secret) once; the officer adds it to an
authenticator app and confirms one code at the first login. Passwords are read from a file
('-' for stdin), never from the command line, where other users could see them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from admin.common import command, emit, subcommands
from ledger.errors import InputError
from node.config import DataDir
from node.web.auth import accounts_for
from node.web.rules import ROLES


def _read_password(path: str) -> str:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the password file {path}: {exc.strerror}") from exc
    return text.rstrip("\r\n")


def _accounts(args: argparse.Namespace) -> Any:
    data_dir = DataDir(args.data_dir)
    data_dir.load_config()  # UsageError when the directory holds no node
    return accounts_for(data_dir)


def cmd_user_add(args: argparse.Namespace) -> int:
    password = _read_password(args.password_file)
    station_node_id = args.station_node_id or DataDir(args.data_dir).load_config().node_id
    store = _accounts(args)
    try:
        officer, secret = store.create_officer(
            args.officer_id,
            args.name,
            args.sex,
            args.role,
            station_node_id,
            args.jurisdiction or "",
            password,
            actor="cli",
        )
        uri = store.provisioning_uri(officer.officer_id)
    finally:
        store.close()
    print(f"created {officer.officer_id} ({officer.role}, {officer.station_node_id})")
    print("add to an authenticator app, then confirm one code at the first login:")
    print(f"  secret: {secret}")
    print(f"  uri:    {uri}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    store = _accounts(args)
    try:
        officers = store.list_officers()
    finally:
        store.close()
    rows = [
        {
            "officer_id": o.officer_id,
            "name": o.name,
            "sex": o.sex,
            "role": o.role,
            "station_node_id": o.station_node_id,
            "jurisdiction": o.jurisdiction,
            "totp_confirmed": o.totp_confirmed,
            "disabled": o.disabled,
        }
        for o in officers
    ]
    if args.json:
        emit(rows)
        return 0
    for row in rows:
        state = "disabled" if row["disabled"] else ("active" if row["totp_confirmed"] else "new")
        where = row["jurisdiction"] or row["station_node_id"]
        print(f"{row['officer_id']:<14} {row['role']:<22} {state:<8} {where}  {row['name']}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    store = _accounts(args)
    try:
        store.disable(args.officer_id, actor="cli")
    finally:
        store.close()
    print(f"disabled {args.officer_id}", file=sys.stderr)
    return 0


def cmd_user_set_password(args: argparse.Namespace) -> int:
    password = _read_password(args.password_file)
    store = _accounts(args)
    try:
        store.set_password(args.officer_id, password, actor="cli")
    finally:
        store.close()
    print(f"password changed for {args.officer_id}; their sessions ended", file=sys.stderr)
    return 0


def register(groups: Any) -> None:
    """Adds the `user` command group to the `cctns` parser's top-level subparsers."""
    user = subcommands(groups, "user", "officer accounts of the web UI", __doc__)

    sub = command(user, "add", cmd_user_add, "create an officer account (prints the TOTP setup)")
    sub.add_argument("--officer-id", required=True, help="e.g. PEN123456")
    sub.add_argument("--name", required=True)
    sub.add_argument("--sex", required=True, choices=["M", "F", "T"])
    sub.add_argument("--role", required=True, choices=ROLES)
    sub.add_argument("--station-node-id", help="(default: this node's id)")
    sub.add_argument(
        "--jurisdiction", help="for supervisors and analysts, e.g. kerala/ernakulam-city/"
    )
    sub.add_argument(
        "--password-file", required=True, help="file holding the password ('-': stdin)"
    )

    sub = command(user, "list", cmd_user_list, "list the accounts")
    sub.add_argument("--json", action="store_true")

    sub = command(user, "disable", cmd_user_disable, "disable an account and end its sessions")
    sub.add_argument("--officer-id", required=True)

    sub = command(user, "set-password", cmd_user_set_password, "replace an account's password")
    sub.add_argument("--officer-id", required=True)
    sub.add_argument(
        "--password-file", required=True, help="file holding the password ('-': stdin)"
    )
