"""CSV downloads of the pages' figures: one writer for every page, so every cell is guarded the
same way (a spreadsheet must not run a cell as a formula: CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response

from node.station.register_export import csv_cell as cell


def attachment(rows: Iterable[Sequence[Any]], filename: str) -> Response:
    """`rows` (a header first) as a CSV download named `filename`, never cached."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
