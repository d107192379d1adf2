"""`cctns report` prints the station's periodic reports (node/station/periodic_reports.py,
docs/reports.md) as JSON, or as CSV or PDF with the registers' writers.

    cctns report daily --day 2026-11-30
    cctns report monthly --year 2026 --month 11 --format pdf --lang ml --out review.pdf
    cctns report adhoc --from 2026-01-01 --to 2026-11-30 --group-by io --crime-head Theft \\
        --status pending --format csv --out -

The daily report covers one day in India (default: today); the monthly review a month (default:
the last one); the ad hoc report the FIRs registered in a period (at most ten years) that match
the filters, counted per group. A file is written in full or not at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from admin.common import command, emit, open_station, subcommands
from admin.register_cli import _write_whole
from ledger.errors import InputError, UsageError
from node.index.register_periods import Period
from node.records.validation import IST
from node.station import periodic_reports as pr
from node.station.core import Station
from node.station.register_export import LANGUAGES, csv_lines, register_pdf


def _today() -> date:
    return datetime.now(IST).date()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InputError(f"day {text[:20]!r} is not a date (YYYY-MM-DD)") from None


def _output(
    args: argparse.Namespace,
    station: Station,
    kind: str,
    period: Period,
    table: Sequence[tuple[str, ...]],
    document: dict[str, Any],
) -> int:
    if args.format == "json":
        emit(document)
        return 0
    if args.out is None:
        raise UsageError("--format csv or pdf needs --out FILE ('-': CSV to stdout)")
    if args.out == "-" and args.format == "pdf":
        raise UsageError("a PDF is written to a file: give --out FILE")
    sheet, rows = pr.report_sheet(station, kind, period, table, args.lang)
    if args.format == "pdf":
        data = register_pdf(
            sheet, rows, station_name=station.config.station, district=station.config.district
        )
        _write_whole(Path(args.out), data)
    elif args.out == "-":
        for line in csv_lines(sheet, rows):
            sys.stdout.write(line)
        return 0
    else:
        _write_whole(Path(args.out), "".join(csv_lines(sheet, rows)).encode("utf-8"))
    emit({"report": kind, "rows": len(rows), "out": args.out})
    return 0


def cmd_daily(args: argparse.Namespace) -> int:
    day = _day(args.day) if args.day else _today()
    with open_station(args.data_dir) as station:
        report = pr.daily_situation(station, day)
        period = pr.adhoc_period(day.isoformat(), day.isoformat())
        return _output(args, station, "daily", period, report.table(), report.as_dict())


def cmd_monthly(args: argparse.Namespace) -> int:
    last_month = _today().replace(day=1) - timedelta(days=1)
    year = args.year if args.year is not None else last_month.year
    month = args.month if args.month is not None else last_month.month
    with open_station(args.data_dir) as station:
        review = pr.monthly_review(station, year, month)
        period = pr.month_period(year, month)
        return _output(args, station, "monthly", period, review.table(), review.as_dict())


def cmd_adhoc(args: argparse.Namespace) -> int:
    last = args.date_to or _today().isoformat()
    period = pr.adhoc_period(args.date_from or last, last)
    filters = pr.AdhocFilters(
        crime_head=args.crime_head, section=args.section, status=args.status, io=args.io
    )
    with open_station(args.data_dir) as station:
        result = pr.adhoc(station.index, filters, args.group_by, period)
        return _output(args, station, "adhoc", period, result.table(), result.as_dict())


def _printing(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--format", choices=("json", "csv", "pdf"), default="json")
    sub.add_argument("--lang", choices=LANGUAGES, default="en", help="the PDF's labels")
    sub.add_argument("--out", help="the file for CSV or PDF ('-': CSV to stdout)")


def register(groups: Any) -> None:
    """Adds the `report` command group."""
    group = subcommands(groups, "report", "the station's periodic reports", __doc__)
    sub = command(group, "daily", cmd_daily, "the daily situation report of one day")
    sub.add_argument("--day", help="the day, YYYY-MM-DD (default: today, India time)")
    _printing(sub)
    sub = command(group, "monthly", cmd_monthly, "the monthly crime review")
    sub.add_argument("--year", type=int, help="default: the last month's year")
    sub.add_argument("--month", type=int, help="1..12 (default: the last month)")
    _printing(sub)
    sub = command(group, "adhoc", cmd_adhoc, "FIRs of a period, filtered, counted per group")
    sub.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (default: --to)")
    sub.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default: today)")
    sub.add_argument("--group-by", choices=pr.GROUP_BY, default="crime_head")
    sub.add_argument("--crime-head", default="", help="only this crime head")
    sub.add_argument("--section", default="", help="only FIRs citing it: 'BNS 303(2)' or 'NDPS'")
    sub.add_argument("--status", choices=("", *pr.STATUSES), default="")
    sub.add_argument("--io", default="", help="only cases of this investigating officer")
    _printing(sub)


__all__ = ["register"]
