"""`cctns register export` prints a station register for a period as PDF or CSV
(node/station/register_export.py, docs/registers.md).

    cctns register export gd --from 2026-11-01 --to 2026-11-30 --format pdf --lang ml \\
        --out gd-november.pdf
    cctns register export lockup --from 2026-11-01 --to 2026-11-30 --format csv --out -

Registers: gd, fir, ncr, petition, lockup, property, missing, wanted. The process register,
history sheets and unnatural deaths are not recorded yet (the command says so). The period is
whole days in India, both included, at most a year. Progress goes to stderr; `--out -` writes
the CSV to stdout (a PDF needs a file). The file is written in full or not at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from admin.common import command, emit, open_station, subcommands
from ledger.errors import UsageError
from node.station.register_export import (
    KINDS,
    LANGUAGES,
    NOT_KEPT,
    csv_lines,
    open_register,
    parse_period,
    register_pdf,
)


def cmd_export(args: argparse.Namespace) -> int:
    period = parse_period(args.date_from, args.date_to)
    if args.out == "-" and args.format == "pdf":
        raise UsageError("a PDF is written to a file: give --out FILE")
    with open_station(args.data_dir) as station:
        register = open_register(station, args.kind, period, args.lang)
        rows = tqdm(
            register.rows(),
            total=register.count,
            desc=f"{args.kind} register",
            unit=" rows",
            disable=None,  # silent when stderr is no terminal
            file=sys.stderr,
        )
        try:
            if args.format == "pdf":
                data = register_pdf(
                    register,
                    rows,
                    station_name=station.config.station,
                    district=station.config.district,
                )
                _write_whole(Path(args.out), data)
            elif args.out == "-":
                for line in csv_lines(register, rows):
                    sys.stdout.write(line)
            else:
                _write_whole(Path(args.out), "".join(csv_lines(register, rows)).encode("utf-8"))
        finally:
            rows.close()
    if args.out != "-":
        emit({"register": args.kind, "rows": register.count, "out": args.out})
    return 0


def _write_whole(path: Path, data: bytes) -> None:
    """`data` to `path` through a temporary file beside it, so a failure leaves no half file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def register(groups: Any) -> None:
    """Adds the `register` command group."""
    group = subcommands(groups, "register", "station registers printed as PDF or CSV", __doc__)
    sub = command(group, "export", cmd_export, "a register for a period, as PDF or CSV")
    sub.add_argument(
        "kind",
        choices=[*KINDS, *NOT_KEPT],
        metavar="KIND",
        help="the register (" + ", ".join(KINDS) + ")",
    )
    sub.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    sub.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
    sub.add_argument("--format", choices=("pdf", "csv"), default="pdf")
    sub.add_argument("--lang", choices=LANGUAGES, default="en", help="the labels' language")
    sub.add_argument("--out", required=True, help="the file to write ('-': CSV to stdout)")


__all__ = ["register"]
