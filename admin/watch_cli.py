"""`cctns watch ...`: an officer's watch lists (docs/watch.md).

    cctns watch add vehicle "KL-07-AB-1234" --officer PEN123456 --data-dir D
    cctns watch add person "Muhammed Shafi" --officer PEN123456 --data-dir D
    cctns watch list [--officer PEN123456] --data-dir D
    cctns watch cancel WATCH_ID --officer PEN123456 --data-dir D
    cctns watch alerts [--officer PEN123456] --data-dir D

A watch is handed to the office above by the running node within seconds, and passed further
up; every office that indexes the offices below it matches each record it indexes, and the
watcher's node is told of each match (`alerts`). Works beside a running node (the watch list
is its own SQLite file).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from admin.common import command, emit, subcommands
from node.config import DataDir
from node.index.aggregate.watch import KINDS
from node.station.watchlist import WatchList


@contextmanager
def _watchlist(path: str) -> Iterator[WatchList]:
    data_dir = DataDir(path)
    data_dir.load_config()  # a node's data directory, not any folder
    found = WatchList.open(data_dir.path)
    try:
        yield found
    finally:
        found.close()


def cmd_watch_add(args: argparse.Namespace) -> int:
    with _watchlist(args.data_dir) as watchlist:
        watch = watchlist.add(args.officer, args.kind, args.value)
    emit({"watch_id": watch.watch_id, "kind": watch.kind, "value": watch.value})
    return 0


def cmd_watch_list(args: argparse.Namespace) -> int:
    with _watchlist(args.data_dir) as watchlist:
        found = watchlist.watches(args.officer)
    emit({"watches": [dataclasses.asdict(w) for w in found]})
    return 0


def cmd_watch_cancel(args: argparse.Namespace) -> int:
    with _watchlist(args.data_dir) as watchlist:
        watchlist.cancel(args.watch_id, args.officer)
    emit({"watch_id": args.watch_id, "cancelled": True})
    return 0


def cmd_watch_alerts(args: argparse.Namespace) -> int:
    with _watchlist(args.data_dir) as watchlist:
        found = watchlist.alerts(args.officer)
    emit({"alerts": [dataclasses.asdict(a) for a in found]})
    return 0


def register(groups: Any) -> None:
    """Adds the `watch` command group."""
    group = subcommands(groups, "watch", "watch lists: be told when a record names it", __doc__)
    officer_default = os.environ.get("CCTNS_OFFICER")
    sub = command(group, "add", cmd_watch_add, "watch a person, vehicle, property item or phone")
    sub.add_argument("kind", choices=KINDS)
    sub.add_argument("value")
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    sub = command(group, "list", cmd_watch_list, "the watches kept here")
    sub.add_argument("--officer", help="one officer's only")
    sub = command(group, "cancel", cmd_watch_cancel, "withdraw a watch")
    sub.add_argument("watch_id")
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    sub = command(group, "alerts", cmd_watch_alerts, "records found for the watches kept here")
    sub.add_argument("--officer", help="one officer's only")


__all__ = ["register"]
