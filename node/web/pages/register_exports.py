"""The station's registers for a period, as downloads (node/station/register_export.py,
docs/registers.md).

    GET /registers/{kind}.pdf?from=&to=&lang=   the register as a landscape A4 PDF  ("gd.read")
    GET /registers/{kind}.csv?from=&to=&lang=   the same rows as CSV, streamed      ("gd.read")

`kind` is one of gd, fir, ncr, petition, lockup, property, missing, wanted, process, history;
`from` and `to` are days (YYYY-MM-DD, India time, both included; `to` defaults to today and
`from` to `to`),
at most a year apart; `lang` (en or ml) defaults to the page language. A PDF of more than
`MOST_PDF_ROWS` entries is refused (400) with the way to get it. An unknown register or a bad
period answers 400 with
the reason. Both need a signed-in officer of this station allowed to read the General Diary, as
the GD register page does. The PDF is built in a worker thread; the CSV is sent a line at a time
as the index is read, a page of rows per query, and is never cached.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from ledger.errors import InputError
from node.station.register_export import (
    LANGUAGES,
    Register,
    csv_lines,
    open_register,
    parse_period,
    register_pdf,
)
from node.web import forms
from node.web.deps import blocking, language, station, station_officer
from node.web.rules import Officer

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# The same permission as the General Diary register page (node/web/pages/registers.py).
AsGdRead = Annotated[Officer, Depends(station_officer("gd.read"))]
# The most rows a PDF is built from while the browser waits (some 20 ms a row of mixed
# Malayalam and English on one core: under a minute); a longer register is exported as CSV,
# or as PDF with `cctns register export`, which shows its progress.
MOST_PDF_ROWS = 2500


def _register(request: Request, kind: str) -> Register:
    params = request.query_params
    last = params.get("to", "").strip() or forms.today()
    first = params.get("from", "").strip() or last
    lang = params.get("lang", "") if params.get("lang", "") in LANGUAGES else language(request)
    return open_register(station(request), kind, parse_period(first, last), lang)


def _filename(register: Register, suffix: str) -> str:
    period = register.period
    return f"{register.spec.kind}-register-{period.first_day}-{period.last_day}.{suffix}"


@router.get("/registers/{kind}.pdf")
async def register_pdf_download(request: Request, officer: AsGdRead, kind: str) -> Response:
    """The register for the period as PDF."""
    register = await blocking(_register, request, kind)
    if register.count > MOST_PDF_ROWS:
        raise InputError(
            f"{register.count} entries are more than a PDF here holds ({MOST_PDF_ROWS}): "
            "choose a shorter period, the CSV, or `cctns register export`"
        )
    node = station(request)
    data = await blocking(
        register_pdf,
        register,
        register.rows(),
        station_name=node.config.station,
        district=node.config.district,
    )
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{_filename(register, "pdf")}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/registers/{kind}.csv")
async def register_csv_download(request: Request, officer: AsGdRead, kind: str) -> Response:
    """The register for the period as CSV (a header row first), streamed."""
    register = await blocking(_register, request, kind)
    # A sync iterator: Starlette reads it in a worker thread, a line at a time.
    return StreamingResponse(
        csv_lines(register, register.rows()),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(register, "csv")}"',
            "Cache-Control": "no-store",
        },
    )
