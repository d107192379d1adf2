"""Transfers of investigation and altered sections on the web (`node.station.case_transfer`;
docs/investigation.md, "Transfers and altered sections").

    POST /case/{ref}/transfer         the case's investigation to another unit, on an order
                                      ("fir.transfer_zero"): through the federation when the
                                      node has one (the unit takes it over, both logs record
                                      it), else the page shows `cctns case transfer`
    POST /case/{ref}/alter-sections   sections added and dropped, reported to the court
                                      ("case.chargesheet", against the case's IO)
    GET  /cases-taken-over            the cases other stations transferred here ("fir.read")
    GET  /cases-taken-over/{entry}    one of them: the case page (`node.web.pages.cases`) of
                                      its key ("FIR No. 12/2026 of kerala/.../ps-x"): the FIR
                                      as the sender's proven entry holds it, under the
                                      withholding policy, the unit's own investigation and
                                      the same forms, which post to /case/{key}/...
                                      ("fir.read")

The forms are on the case page (`templates/_case_transfer.html`); a refused form comes back on
a page of its own with every problem and what was typed (nothing written); a saved one answers
303 to the case page.
"""

from __future__ import annotations

import shlex
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import CctnsError, InputError
from node.index import casework as casework_index
from node.index import transfers as moved
from node.station import case_transfer
from node.web import forms, transfer_view
from node.web.deps import (
    blocking,
    context,
    form,
    no_store,
    not_found,
    redirect,
    render,
    station,
    station_facts,
    station_officer,
)
from node.web.errors import public_message
from node.web.pages.cases import case_page
from node.web.rules import Officer, require
from node.web.security import csrf_protected, officer_required
from node.web.transfer_view import ALTER_ACTION, TRANSFER_ACTION, TRANSFER_COMMAND, transfer_state
from node.web.urls import case_url, parse_ref
from protos import records_pb2

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
AsReader = Annotated[Officer, Depends(station_officer("fir.read"))]
AsTransfer = Annotated[Officer, Depends(station_officer(TRANSFER_ACTION))]
# Checked against the case's IO in the handler (the role only here).
AsAlter = Annotated[Officer, Depends(officer_required(ALTER_ACTION))]


def _number(request: Request, ref: str) -> str:
    view = station(request).index.lookups.fir(parse_ref(ref))
    if view is None:  # a case this unit took over, by its key
        took = transfer_view.taken_over(request, parse_ref(ref))
        return "" if took is None else took.case_key
    return view.fir_number


def _refused(
    request: Request,
    officer: Officer,
    number: str,
    which: str,
    problems: list[str],
    values: dict[str, str],
    *,
    command: str = "",
) -> Response:
    state = transfer_state(
        request, officer, number, form=which, problems=problems, values=values, command=command
    )
    status = 400 if problems else 200
    return render(request, "case_transfer.html", status_code=status, ref=number, ts=state)


@router.post(
    "/case/{ref:path}/transfer", response_class=HTMLResponse, dependencies=[Depends(csrf_protected)]
)
async def case_transfer_post(request: Request, ref: str, officer: AsTransfer) -> Response:
    """Transfers the case's investigation: through the federation when the node has one, else
    by showing the command line that makes the call (TransferCase)."""
    values = await form(request)
    number = await blocking(_number, request, ref)
    if not number:
        return not_found(request, f"no FIR {parse_ref(ref)!r} at this station")
    order = records_pb2.CaseTransfer(
        to_node_id=values.get("to_node_id", "").strip(),
        to_unit=values.get("to_unit", "").strip(),
        ordered_by=values.get("ordered_by", "").strip(),
        order_reference=values.get("order_reference", "").strip(),
        order_date=values.get("order_date", "").strip(),
        reason=values.get("reason", "").strip(),
    )
    hand_over = context(request).transfer_case
    if hand_over is None:
        command = " ".join(
            [
                TRANSFER_COMMAND,
                shlex.quote(number),
                f"--to {shlex.quote(order.to_node_id)}",
                f"--unit {shlex.quote(order.to_unit)}",
                f"--ordered-by {shlex.quote(order.ordered_by)}",
                f"--order-reference {shlex.quote(order.order_reference)}",
                f"--order-date {shlex.quote(order.order_date)}",
                f"--reason {shlex.quote(order.reason)}",
                f"--officer {shlex.quote(officer.officer_id)}",
            ]
        )
        return await blocking(
            _refused, request, officer, number, "transfer", [], values, command=command
        )
    try:
        await hand_over(number, order, officer.officer_id)
    except InputError as exc:
        return await blocking(
            _refused, request, officer, number, "transfer", exc.problems or [str(exc)], values
        )
    except CctnsError as exc:
        problems = [f"the transfer did not complete: {public_message(exc)}"]
        return await blocking(_refused, request, officer, number, "transfer", problems, values)
    return redirect(case_url(number), saved="transfer")


@router.post(
    "/case/{ref:path}/alter-sections",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_protected)],
)
async def case_alter_sections(request: Request, ref: str, officer: AsAlter) -> Response:
    values = await form(request)
    node = station(request)
    number = await blocking(_number, request, ref)
    if not number:
        return not_found(request, f"no FIR {parse_ref(ref)!r} at this station")
    io = await blocking(casework_index.current_io, node.index, number)
    require(officer, ALTER_ACTION, station_facts(request, io))
    problems: list[str] = []
    change = records_pb2.SectionAlteration(
        added=forms.sections(values.get("added", ""), problems),
        dropped=forms.sections(values.get("dropped", ""), problems),
        reason=values.get("reason", ""),
        court=values.get("court", ""),
        report_date=values.get("report_date", ""),
        report_reference=values.get("report_reference", ""),
    )
    try:
        if problems:
            raise InputError("; ".join(problems), problems)
        await blocking(case_transfer.alter_sections, node, officer.officer_id, number, change)
    except InputError as exc:
        return await blocking(
            _refused, request, officer, number, "alter", exc.problems or [str(exc)], values
        )
    return redirect(case_url(number), saved="sections_altered")


@router.get("/cases-taken-over", response_class=HTMLResponse)
def cases_taken_over_page(request: Request, officer: AsReader) -> Response:
    """The cases whose investigation other stations transferred here, newest first."""
    node = station(request)
    return no_store(
        render(
            request,
            "cases_taken_over.html",
            rows=moved.cases_taken_over(node.index),
            transferred_out=moved.transfers_out(node.index),
        )
    )


@router.get("/cases-taken-over/{entry}", response_class=HTMLResponse)
def case_taken_over_page(request: Request, entry: int, officer: AsReader) -> Response:
    """One case taken over: the case page of its key (the FIR as the sending station's proven
    entry holds it, the order, the unit's own investigation and its forms)."""
    row = moved.taken_over_at(station(request).index, entry)
    if row is None:
        return not_found(request, f"no case taken over as entry {entry}")
    return no_store(case_page(request, row.case_key, officer))
