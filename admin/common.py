"""What every `cctns` command group shares: the `--data-dir` option, JSON output, progress bars,
and opening a node's station or its ledger alone."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ledger.errors import InputError, TooLarge, UsageError
from ledger.log import Ledger
from ledger.rocksdb_store import RocksDBLogStore
from node.config import DataDir
from node.station.core import Station, node_ledger

Handler = Callable[[argparse.Namespace], int]
DATA_DIR_ENV = "CCTNS_DATA_DIR"


def data_dir_option(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """`--data-dir D`, defaulting to $CCTNS_DATA_DIR (required unless `required` is False)."""
    default = os.environ.get(DATA_DIR_ENV)
    parser.add_argument(
        "--data-dir",
        default=default if required else None,
        required=required and default is None,
        help="the node's data directory"
        + (f" (default: ${DATA_DIR_ENV})" if required else " (optional)"),
    )


def officer_option(parser: argparse.ArgumentParser, does: str) -> None:
    """--officer, the officer id a command acts as (default: $CCTNS_OFFICER; required when
    that is unset); `does` ends the help: "who decides"."""
    default = os.environ.get("CCTNS_OFFICER")
    parser.add_argument(
        "--officer",
        default=default,
        required=default is None,
        help=f"{does} (default: $CCTNS_OFFICER)",
    )


def subcommands(groups: Any, name: str, help_text: str, description: str | None = None) -> Any:
    """A command group (`cctns node ...`) whose subcommands are added with `command`."""
    # A description is a module docstring laid out by hand: argparse keeps its lines.
    parser = groups.add_parser(
        name,
        help=help_text,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")


def command(
    group: Any, name: str, handler: Handler, help_text: str, *, data_dir: bool = True
) -> argparse.ArgumentParser:
    """One subcommand of a group, taking `--data-dir` unless `data_dir` is False."""
    sub: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    if data_dir:
        data_dir_option(sub)
    sub.set_defaults(handler=handler)
    return sub


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def emit(value: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    print(json.dumps(value, ensure_ascii=False, indent=None))


@contextmanager
def progress(
    total: int, what: str, enabled: bool = True, *, unit: str = " entries"
) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr (silent when stderr is no terminal or `enabled` is False);
    yields a callback taking the absolute count done (and the total, where it is learnt only
    as the work goes: `total` 0). `unit` "B" counts bytes (shown as kB, MB, ...)."""
    bar = tqdm(
        total=total,
        desc=what,
        unit=unit,
        unit_scale=unit == "B",
        disable=None if enabled else True,  # None: silent when stderr is no terminal
        file=sys.stderr,
    )

    def advance(done: int, total: int | None = None) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield advance
    finally:
        bar.close()


@contextmanager
def open_station(data_dir_path: str) -> Iterator[Station]:
    """The node's station records (ledger, index, sealed store), closed after."""
    station = Station.open(DataDir(data_dir_path))
    try:
        yield station
    finally:
        station.close()


@contextmanager
def open_ledger(data_dir_path: str) -> Iterator[Ledger]:
    """The ledger alone, for auditors: no index is opened or touched."""
    data_dir = DataDir(data_dir_path)
    config = data_dir.load_config()
    if not data_dir.ledger_path.exists():
        raise UsageError(f"{data_dir.ledger_path} holds no ledger")
    store = RocksDBLogStore.open(data_dir.ledger_path, create=False)
    try:
        ledger = node_ledger(data_dir, store, config.origin)
    except BaseException:
        store.close()
        raise
    try:
        yield ledger
    finally:
        ledger.close()
        store.close()


def read_text_file(name: str, most: int, what: str = "") -> str:
    """The UTF-8 text of a file ('-': stdin), refused (TooLarge) beyond `most` bytes before more
    of it is read; `what` ends the refusal ("no record is")."""
    if name == "-":
        data = sys.stdin.buffer.read(most + 1)
    else:
        with Path(name).open("rb") as stream:
            data = stream.read(most + 1)
    if len(data) > most:
        raise TooLarge(f"{name}: larger than {most:,} bytes" + (f": {what}" if what else ""))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text: {exc}") from exc
