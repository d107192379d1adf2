"""The process register on the web (`node.station.processes`; docs/investigation.md).

  GET  /processes               the register, pending first by returnable day, overdue marked;
                                the NCRs awaiting forwarding to the magistrate ("fir.read")
  POST /processes/receive       a court's process into the register ("case.court")
  POST /processes/step          served / executed / published (`carry_out`) or returned
                                unserved with the reason ("case.court")
  POST /processes/ncr-forward   the NCRs since the last forwarding, to the magistrate
                                ("case.court")

Every POST is a form with its CSRF token; a refusal (InputError) is the station's message with
every problem, nothing written; a saved form answers 303 back to the register.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from node.index import processes as register
from node.records.processes import PROCESS_TYPES, RETURNED
from node.station import processes
from node.web.deps import no_store, redirect, render, station, station_officer
from node.web.rules import Officer
from node.web.security import csrf_protected
from protos import records_pb2

router = APIRouter(tags=["processes"])
AsReader = Annotated[Officer, Depends(station_officer("fir.read"))]
AsCourtClerk = Annotated[Officer, Depends(station_officer("case.court"))]
_RELATIONS = ("", "S/o", "D/o", "W/o", "H/o", "M/o", "F/o", "G/o")


@router.get("/processes", response_class=HTMLResponse, include_in_schema=False)
def processes_page(request: Request, officer: AsReader) -> Response:
    """The register and the NCRs awaiting forwarding."""
    node = station(request)
    return no_store(
        render(
            request,
            "processes.html",
            rows=register.process_register(node.index),
            now=node.now(),
            waiting=register.ncrs_not_forwarded(node.index),
            last=register.last_forwarding(node.index),
            types=PROCESS_TYPES,
            relations=_RELATIONS,
            message=request.query_params.get("saved", ""),
        )
    )


@router.post("/processes/receive", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def processes_receive(
    request: Request,
    officer: AsCourtClerk,
    process_type: Annotated[str, Form()] = "",
    court: Annotated[str, Form()] = "",
    court_case_number: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    relation: Annotated[str, Form()] = "",
    relative_name: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    returnable_date: Annotated[str, Form()] = "",
    fir_number: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    process = records_pb2.CourtProcess(
        process_type=process_type,
        court=court,
        court_case_number=court_case_number,
        person=records_pb2.Person(
            name=name.strip(),
            relation=relation.strip() if relation.strip() in _RELATIONS else "",
            relative_name=relative_name.strip(),
            address=address.strip(),
        ),
        returnable_date=returnable_date,
        fir_number=fir_number,
        note=note,
    )
    done = processes.receive_process(station(request), officer.officer_id, process)
    return redirect("/processes", saved=done.ref)


@router.post("/processes/step", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def processes_step(
    request: Request,
    officer: AsCourtClerk,
    process_number: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    node = station(request)
    if outcome == RETURNED:
        done = processes.return_unserved(node, officer.officer_id, process_number, note)
    else:
        done = processes.carry_out(node, officer.officer_id, process_number, note)
    return redirect("/processes", saved=done.ref)


@router.post(
    "/processes/ncr-forward", include_in_schema=False, dependencies=[Depends(csrf_protected)]
)
def processes_ncr_forward(
    request: Request,
    officer: AsCourtClerk,
    magistrate: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    done = processes.forward_ncrs(station(request), officer.officer_id, magistrate, note)
    return redirect("/processes", saved=done.ref)
