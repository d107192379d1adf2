"""`cctns admin backup` and `cctns admin restore`: a consistent copy of a node while it serves,
and a node again from one (docs/storage.md).

    cctns admin backup --data-dir D --out B       B must not exist; D may be serving
    cctns admin restore --from B --data-dir D2    D2 new or empty: never over a node
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from admin.common import command
from node.config import DataDir
from node.station.backup import backup, restore


def cmd_admin_backup(args: argparse.Namespace) -> int:
    summary = backup(DataDir(args.data_dir), Path(args.out))
    print(
        f"backed up {summary.ledger_size} ledger entries, {summary.replicas} replicas and "
        f"{summary.sqlite_stores} SQLite stores ({summary.files} files) to {summary.path}; "
        "the query index is not copied: a restore rebuilds it",
        file=sys.stderr,
    )
    for name in summary.damaged_blobs:
        print(f"DAMAGED (copied as it is): {name}", file=sys.stderr)
    if summary.damaged_blobs:
        print(
            f"{len(summary.damaged_blobs)} blobs no longer hash to their names on the node's "
            "disk: `cctns node repair-blobs` fetches good copies from the parent; then back up "
            "again",
            file=sys.stderr,
        )
        return 3
    return 0


def cmd_admin_restore(args: argparse.Namespace) -> int:
    summary = restore(Path(args.source), DataDir(args.data_dir))
    print(
        f"restored {summary.ledger_size} ledger entries (verified), {summary.replicas} replicas "
        f"and {summary.sqlite_stores} SQLite stores into {summary.path}; start it with `cctns "
        "node serve`: it first fetches from its parent what the backup lacks",
        file=sys.stderr,
    )
    return 0


def register(admin: Any) -> None:
    """Adds `backup` and `restore` to the `admin` command group."""
    sub = command(admin, "backup", cmd_admin_backup, "a consistent copy of the node, even serving")
    sub.add_argument("--out", required=True, help="a new directory for the backup")
    sub = command(admin, "restore", cmd_admin_restore, "a node again, from a backup")
    sub.add_argument("--from", dest="source", required=True, help="the backup's directory")


__all__ = ["register"]
