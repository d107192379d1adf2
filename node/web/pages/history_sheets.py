"""The register of history sheets (known offenders) on the web (`node.station.history`;
docs/investigation.md, "History sheets, known offenders and MO").

  GET  /history-sheets          the register: open sheets first, a review past due marked,
                                closed sheets kept and shown closed; each sheet's steps
                                ("fir.read")
  GET  /history-sheets.csv      the same register as CSV                          ("fir.read")
  POST /history-sheets/open     a sheet opened on a person, on an order       ("case.chargesheet")
  POST /history-sheets/review   a sheet retained on review, by an order       ("case.chargesheet")
  POST /history-sheets/close    a sheet closed by a gazetted officer's order  ("case.chargesheet")

Writing is the SHO's and supervisors' act, checked as the final report is ("case.chargesheet":
the station's own rules have no action of its own for it yet). Every POST is a form with its
CSRF token; a refusal (InputError) is the station's message with every problem, nothing
written; a saved form answers 303 back to the register.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from node.index import history as register
from node.records import history as rules
from node.records.validation import RELATIONS, format_time
from node.station import history
from node.web.csvout import attachment
from node.web.deps import form, language, no_store, redirect, render, station, station_officer
from node.web.rules import Officer
from node.web.security import csrf_protected
from protos import records_pb2

router = APIRouter(tags=["history-sheets"])
AsReader = Annotated[Officer, Depends(station_officer("fir.read"))]
AsWriter = Annotated[Officer, Depends(station_officer("case.chargesheet"))]
MAX_CASES = 20  # case rows the form offers (a sheet may cite more through the CLI)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(";", "\n").splitlines() if line.strip()]


@router.get("/history-sheets", response_class=HTMLResponse, include_in_schema=False)
def history_sheets_page(request: Request, officer: AsReader) -> Response:
    """The register, with the forms open to the officer."""
    node = station(request)
    rows = register.sheets(node.index.engine)
    return no_store(
        render(
            request,
            "history_sheets.html",
            rows=rows,
            steps={r.ledger_index: register.steps(node.index.engine, r.ledger_index) for r in rows},
            now=node.now(),
            categories=rules.CATEGORIES,
            ranks=rules.RANKS,
            # In the order of `RANKS` (the SDPO first: the usual order).
            open_ranks=[r for r in rules.RANKS if r in rules.OPEN_RANKS],
            close_ranks=[r for r in rules.RANKS if r in rules.CLOSE_RANKS],
            mo_vocabulary=rules.MO_VOCABULARY,
            relations=("", *RELATIONS),
            message=request.query_params.get("saved", ""),
        )
    )


@router.get("/history-sheets.csv", include_in_schema=False)
def history_sheets_csv(request: Request, officer: AsReader) -> Response:
    """The register as CSV, a row a sheet, labels in the page's language."""
    lang = language(request)
    rows: list[list[object]] = [
        [
            "sheet_number", "status", "category", "name", "relative", "age", "birth_year",
            "address", "aliases", "identification_marks", "grounds", "cases", "mo",
            "opened_at", "ordered_by", "rank", "order_reference", "review_due", "closed_at",
            "closing_reason",
        ]
    ]  # fmt: skip
    for r in register.sheets(station(request).index.engine, limit=100_000):
        rows.append(
            [
                r.sheet_number, r.status, rules.label(rules.CATEGORIES, r.category, lang),
                r.name, r.relative, r.age or "", r.birth_year or "", r.address, r.aliases,
                r.marks, r.grounds, r.cases, register.mo_text(r.mo, lang),
                format_time(r.opened_at_ms), r.ordered_by,
                rules.label(rules.RANKS, r.ordered_by_rank, lang), r.order_reference,
                format_time(r.review_due_ms) if r.review_due_ms else "",
                format_time(r.closed_at_ms) if r.closed_at_ms else "", r.closing_note,
            ]
        )  # fmt: skip
    return attachment(rows, "history-sheets.csv")


@router.post(
    "/history-sheets/open", include_in_schema=False, dependencies=[Depends(csrf_protected)]
)
async def history_sheets_open(request: Request, officer: AsWriter) -> Response:
    values = await form(request)
    relation = values.get("relation", "").strip()
    age = values.get("age", "").strip()
    birth_year = values.get("birth_year", "").strip()
    sheet = records_pb2.HistorySheet(
        person=records_pb2.Person(
            name=values.get("name", ""),
            relation=relation if relation in RELATIONS else "",
            relative_name=values.get("relative_name", ""),
            age=int(age) if age.isdecimal() and len(age) < 4 else 0,
            sex=values.get("sex", ""),
            address=values.get("address", ""),
            aliases=_lines(values.get("aliases", "")),
            identifying_marks=_lines(values.get("marks", "")),
        ),
        birth_year=int(birth_year) if birth_year.isdecimal() and len(birth_year) == 4 else 0,
        category=values.get("category", ""),
        grounds=values.get("grounds", ""),
        ordered_by=values.get("ordered_by", ""),
        ordered_by_rank=values.get("ordered_by_rank", ""),
        order_reference=values.get("order_reference", ""),
        order_date=values.get("order_date", ""),
        cases=[
            records_pb2.SheetCase(
                fir_number=values.get(f"case_{n}", ""), office=values.get(f"office_{n}", "")
            )
            for n in range(MAX_CASES)
            if values.get(f"case_{n}", "").strip()
        ],
        mo=records_pb2.ModusOperandi(
            property_taken=[c for c in rules.PROPERTY_TAKEN if values.get(f"taken_{c}")],
            note=values.get("mo_note", ""),
            **{name: values.get(name, "") for name in rules.MO_SINGLE},
        ),
    )
    done = history.open_sheet(station(request), officer.officer_id, sheet)
    return redirect("/history-sheets", saved=done.ref)


def _order(
    ordered_by: str, ordered_by_rank: str, order_reference: str, order_date: str
) -> records_pb2.HistorySheet:
    return history.order(ordered_by, ordered_by_rank, order_reference, order_date)


@router.post(
    "/history-sheets/review", include_in_schema=False, dependencies=[Depends(csrf_protected)]
)
def history_sheets_review(
    request: Request,
    officer: AsWriter,
    sheet_number: Annotated[str, Form()] = "",
    ordered_by: Annotated[str, Form()] = "",
    ordered_by_rank: Annotated[str, Form()] = "",
    order_reference: Annotated[str, Form()] = "",
    order_date: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "review",
) -> Response:
    """A review's retention (`action` "review") or the closing (`action` "close") of a sheet."""
    node = station(request)
    order = _order(ordered_by, ordered_by_rank, order_reference, order_date)
    if action == "close":
        done = history.close_sheet(node, officer.officer_id, sheet_number, order, text)
    else:
        done = history.review_sheet(node, officer.officer_id, sheet_number, order, text)
    return redirect("/history-sheets", saved=done.ref)


@router.post(
    "/history-sheets/close", include_in_schema=False, dependencies=[Depends(csrf_protected)]
)
def history_sheets_close(
    request: Request,
    officer: AsWriter,
    sheet_number: Annotated[str, Form()] = "",
    ordered_by: Annotated[str, Form()] = "",
    ordered_by_rank: Annotated[str, Form()] = "",
    order_reference: Annotated[str, Form()] = "",
    order_date: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    order = _order(ordered_by, ordered_by_rank, order_reference, order_date)
    done = history.close_sheet(station(request), officer.officer_id, sheet_number, order, text)
    return redirect("/history-sheets", saved=done.ref)
