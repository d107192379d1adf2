"""`cctns import`: past cases from an earlier system, with their original numbers and dates
(the export format: docs/legacy-import.md; the import: `node.station.legacy`).

    cctns import EXPORT --source "CCTNS 1.0 export, 2016-2025" --officer PEN100001 --data-dir D
    cctns import EXPORT ... --check          validate only: every problem listed, nothing written

EXPORT is a JSON file (a list of cases, or one case a line) or a directory of CSV files
(cases.csv, persons.csv, sections.csv, property.csv, outcomes.csv); `--format` overrides the
guess. The whole export is validated before anything is written; a run interrupted and run
again skips the cases already imported. Progress on stderr (when it is a terminal); the result
as JSON on stdout: cases, imported, skipped, entries, problems.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from admin.common import data_dir_option, emit, open_station
from ledger.errors import InputError
from node.station import legacy


def cmd_import(args: argparse.Namespace) -> int:
    export = legacy.read_export(Path(args.export), args.officer, args.format)
    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total, desc=stage, unit=" cases", file=sys.stderr, disable=None
            )
        bar.update(done - bar.n)

    try:
        with open_station(args.data_dir) as station:
            result = legacy.import_cases(
                station, export, source=args.source, check_only=args.check, progress=progress
            )
    except InputError as exc:
        emit({"cases": len(export.cases), "imported": 0, "problems": exc.problems})
        raise InputError(f"{exc}: the problems are listed on stdout") from exc
    finally:
        for bar in bars.values():
            bar.close()
    emit(
        {
            "cases": result.cases,
            "imported": result.imported,
            "skipped": result.skipped,
            "entries": result.entries,
            "checked_only": result.checked_only,
            "source": args.source,
            "first": result.first,
            "last": result.last,
            "problems": [],
        }
    )
    return 0


def register(groups: Any) -> None:
    """Adds the top-level `import` command."""
    parser = groups.add_parser(
        "import",
        help="import past cases (FIRs with their persons, outcomes) from a legacy export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("export", help="a JSON file, or a directory of CSV files")
    parser.add_argument(
        "--source", required=True, help="what the cases come from (kept with each entry)"
    )
    parser.add_argument(
        "--officer",
        required=True,
        help="id of the officer importing (writes the cases whose row names no officer)",
    )
    parser.add_argument("--format", choices=("json", "csv"), help="default: guessed from EXPORT")
    parser.add_argument("--check", action="store_true", help="validate only; write nothing")
    data_dir_option(parser)
    parser.set_defaults(handler=cmd_import)


__all__ = ["register"]
