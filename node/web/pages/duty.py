"""Beats, the duty roster and the beat book on the web (`node.station.duty`;
docs/investigation.md, "Beats, patrols and the duty roster").

  GET  /duty?day=&days=     the roster of a day (or up to a week; ?officer=: one officer's duties,
                            the latest first), with the assign and cancel
                            forms, and the workload panel: the beats by their incidents of the
                            last 30 days, the warrants, summonses and petitions waiting in each,
                            and whether a patrol covers it (a proposal: the SHO assigns) ("gd.read")
  GET  /duty.csv?day=&days= the roster as CSV                                         ("gd.read")
  POST /duty/assign         an officer on a duty                                  ("duty.assign")
  POST /duty/cancel         an assignment cancelled, with the reason              ("duty.assign")
  GET  /beats, /beats.csv   the beats with their localities                           ("gd.read")
  POST /beats/define        a beat defined or revised                             ("duty.assign")
  POST /beats/retire        a beat retired, with the reason                       ("duty.assign")
  GET  /beat-book?beat=     the beat book, the latest patrol first, and the new-entry form
  GET  /beat-book.csv?beat= the same as CSV                                           ("gd.read")
  POST /beat-book/new       a patrol written into the beat book                      ("gd.write")

Every POST is a form with its CSRF token; a refusal (InputError) is the station's message with
every problem, nothing written; a saved form answers 303 back to its page.

The new-entry form takes the points visited one a line, "HH:MM place" (a time before the
patrol's start is the next day's), and the persons checked one a line, "name; place; remarks".
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ledger.errors import InputError
from node.index import duty as duty_index
from node.records import limits
from node.records.duty import DUTIES, DUTY_LABELS, WORKLOAD_DAYS, duty_ref, patrol_ref
from node.records.validation import DAY_MS, IST, format_time, utc_ms
from node.station import duty
from node.web import csvout
from node.web.deps import no_store, redirect, render, station, station_officer
from node.web.forms import local_ms
from node.web.rules import Officer, allowed
from node.web.security import csrf_protected
from protos import records_pb2

router = APIRouter(tags=["duty"])
AsReader = Annotated[Officer, Depends(station_officer("gd.read"))]
AsSho = Annotated[Officer, Depends(station_officer("duty.assign"))]
AsWriter = Annotated[Officer, Depends(station_officer("gd.write"))]
_POINT = re.compile(r"^\s*([0-2]?[0-9])[:.]([0-5][0-9])\s+(.+?)\s*$")
MAX_DAYS = 7


def _day(text: str | None) -> datetime.date:
    """The day asked (YYYY-MM-DD), today in India when absent or malformed."""
    try:
        return datetime.date.fromisoformat((text or "")[:10])
    except ValueError:
        return datetime.datetime.now(IST).date()


def _days(text: str | None) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) <= 1 else 1


def _span(request: Request) -> tuple[datetime.date, int, int, int]:
    day = _day(request.query_params.get("day"))
    days = min(max(_days(request.query_params.get("days")), 1), MAX_DAYS)
    start, _ = duty_index.day_bounds(day)
    return day, days, start, start + days * DAY_MS


@router.get("/duty", response_class=HTMLResponse, include_in_schema=False)
def duty_page(request: Request, officer: AsReader) -> Response:
    """The roster of a day (or up to a week) and the workload panel."""
    node = station(request)
    day, days, start, end = _span(request)
    load = duty_index.workload(node.index, day)
    who = (request.query_params.get("officer") or "").strip()[: limits.OFFICER_ID]
    return no_store(
        render(
            request,
            "duty.html",
            day=day,
            days=days,
            prev_day=(day - datetime.timedelta(days=1)).isoformat(),
            next_day=(day + datetime.timedelta(days=1)).isoformat(),
            rows=(
                duty_index.officer_duties(node.index, who)
                if who
                else duty_index.roster(node.index, start, end)
            ),
            who=who,
            suggestions=duty_index.suggestions(load),
            unplaced=load.unplaced,
            workload_days=WORKLOAD_DAYS,
            beats=duty_index.beats(node.index, in_force_only=True),
            duties=DUTIES,
            now=node.now(),
            may_assign=allowed(officer, "duty.assign"),
            duty_ref=duty_ref,
            default_from=f"{day.isoformat()}T08:00",
            default_to=f"{day.isoformat()}T16:00",
            message=request.query_params.get("saved", ""),
        )
    )


@router.get("/duty.csv", include_in_schema=False)
def duty_csv(request: Request, officer: AsReader) -> Response:
    node = station(request)
    day, days, start, end = _span(request)
    header = ["ref", "officer", "duty", "beat", "place", "from", "to", "note", "assigned_by",
              "status", "cancel_reason"]  # fmt: skip
    body = [
        [
            duty_ref(r.ledger_index),
            r.officer_id,
            DUTY_LABELS.get(r.duty, r.duty),
            r.beat_code,
            r.place,
            format_time(r.from_ms),
            format_time(r.to_ms),
            r.note,
            r.assigned_by,
            "cancelled" if r.cancelled else "assigned",
            r.cancel_reason,
        ]
        for r in duty_index.roster(node.index, start, end)
    ]
    return csvout.attachment([header, *body], f"duty-roster-{day.isoformat()}-{days}d.csv")


@router.post("/duty/assign", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def duty_assign(
    request: Request,
    officer: AsSho,
    officer_id: Annotated[str, Form()] = "",
    duty_kind: Annotated[str, Form()] = "",
    beat_code: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    from_time: Annotated[str, Form()] = "",
    to_time: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    problems: list[str] = []
    from_ms = local_ms(from_time, "from", problems)
    to_ms = local_ms(to_time, "to", problems)
    if problems:
        raise InputError("; ".join(problems), problems)
    assignment = records_pb2.DutyAssignment(
        officer_id=officer_id.strip(), duty=duty_kind.strip(), beat_code=beat_code.strip(),
        place=place, from_ms=from_ms, to_ms=to_ms, note=note,
    )  # fmt: skip
    done = duty.assign_duty(station(request), officer.officer_id, assignment)
    day = datetime.datetime.fromtimestamp(from_ms / 1000, IST).date().isoformat()
    return redirect("/duty", day=day, saved=done.ref)


@router.post("/duty/cancel", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def duty_cancel(
    request: Request,
    officer: AsSho,
    ref: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
) -> Response:
    done = duty.cancel_duty(station(request), officer.officer_id, ref, reason)
    return redirect("/duty", day=_day(day).isoformat(), saved=done.ref)


@router.get("/beats", response_class=HTMLResponse, include_in_schema=False)
def beats_page(request: Request, officer: AsReader) -> Response:
    node = station(request)
    return no_store(
        render(
            request,
            "beats.html",
            rows=duty_index.beats(node.index),
            may_assign=allowed(officer, "duty.assign"),
            message=request.query_params.get("saved", ""),
        )
    )


@router.get("/beats.csv", include_in_schema=False)
def beats_csv(request: Request, officer: AsReader) -> Response:
    node = station(request)
    header = ["code", "name", "localities", "status", "defined", "retired", "note"]
    body = [
        [
            b.code,
            b.name,
            "; ".join(b.localities),
            b.status,
            format_time(b.defined_at_ms),
            format_time(b.retired_at_ms) if b.retired_at_ms else "",
            b.note,
        ]
        for b in duty_index.beats(node.index)
    ]
    return csvout.attachment([header, *body], "beats.csv")


@router.post("/beats/define", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def beats_define(
    request: Request,
    officer: AsSho,
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    localities: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    lines = [line for line in re.split(r"[\r\n;]+", localities) if line.strip()]
    if len(lines) > limits.count("Beat.localities"):
        raise InputError(f"at most {limits.count('Beat.localities')} localities a beat")
    done = duty.define_beat(station(request), officer.officer_id, code, name, lines, note)
    return redirect("/beats", saved=done.ref)


@router.post("/beats/retire", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def beats_retire(
    request: Request,
    officer: AsSho,
    code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    done = duty.retire_beat(station(request), officer.officer_id, code, reason)
    return redirect("/beats", saved=done.ref)


def _beat_filter(request: Request) -> str | None:
    code = (request.query_params.get("beat") or "").strip()[:12]
    return code or None


@router.get("/beat-book", response_class=HTMLResponse, include_in_schema=False)
def beat_book_page(request: Request, officer: AsReader) -> Response:
    node = station(request)
    beat = _beat_filter(request)
    today = datetime.datetime.now(IST).date().isoformat()
    return no_store(
        render(
            request,
            "beat_book.html",
            rows=duty_index.beat_book(node.index, beat_code=beat, limit=200),
            beat=beat or "",
            beats=duty_index.beats(node.index),
            may_write=allowed(officer, "gd.write"),
            patrol_ref=patrol_ref,
            duty_ref=duty_ref,
            default_from=f"{today}T06:00",
            default_to=f"{today}T08:00",
            message=request.query_params.get("saved", ""),
        )
    )


@router.get("/beat-book.csv", include_in_schema=False)
def beat_book_csv(request: Request, officer: AsReader) -> Response:
    node = station(request)
    beat = _beat_filter(request)
    header = ["ref", "officer", "beat", "from", "to", "points", "persons_checked",
              "observations", "duty", "written_by"]  # fmt: skip
    body = [
        [
            patrol_ref(r.ledger_index),
            r.officer_id,
            r.beat_code,
            format_time(r.from_ms),
            format_time(r.to_ms),
            "; ".join(f"{format_time(p['at_ms'])[11:16]} {p['place']}" for p in r.points),
            "; ".join(f"{c['name']} ({c['place']}): {c['remarks']}" for c in r.checks),
            r.observations,
            duty_ref(r.duty_index) if r.duty_index else "",
            r.written_by,
        ]
        for r in duty_index.beat_book(node.index, beat_code=beat, limit=5000)
    ]
    return csvout.attachment([header, *body], f"beat-book-{beat or 'all'}.csv")


def _points(text: str, from_ms: int, problems: list[str]) -> list[records_pb2.PatrolPoint]:
    """ "HH:MM place" a line, on the patrol's day (before its start: the next day)."""
    out: list[records_pb2.PatrolPoint] = []
    start = datetime.datetime.fromtimestamp(from_ms / 1000, IST) if from_ms else None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > limits.count("PatrolEntry.points"):
        problems.append(f"at most {limits.count('PatrolEntry.points')} points a patrol")
        return out
    for n, line in enumerate(lines, 1):
        match = _POINT.match(line)
        if match is None or int(match[1]) > 23:
            problems.append(f"point {n}: write it as HH:MM and the place (06:30 HMT Colony gate)")
            continue
        if start is None:
            continue
        moment = start.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        if moment < start.replace(second=0, microsecond=0):
            moment += datetime.timedelta(days=1)
        out.append(records_pb2.PatrolPoint(place=match[3], at_ms=utc_ms(moment)))
    return out


def _checks(text: str, problems: list[str]) -> list[records_pb2.PatrolCheck]:
    """ "name; place; remarks" a line."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > limits.count("PatrolEntry.checks"):
        problems.append(f"at most {limits.count('PatrolEntry.checks')} persons a patrol")
        return []
    out: list[records_pb2.PatrolCheck] = []
    for line in lines:
        name, _, rest = line.partition(";")
        place, _, remarks = rest.partition(";")
        out.append(
            records_pb2.PatrolCheck(
                person=records_pb2.Person(name=name.strip()),
                place=place.strip(),
                remarks=remarks.strip(),
            )
        )
    return out


@router.post("/beat-book/new", include_in_schema=False, dependencies=[Depends(csrf_protected)])
def beat_book_new(
    request: Request,
    officer: AsWriter,
    officer_id: Annotated[str, Form()] = "",
    beat_code: Annotated[str, Form()] = "",
    from_time: Annotated[str, Form()] = "",
    to_time: Annotated[str, Form()] = "",
    points: Annotated[str, Form()] = "",
    observations: Annotated[str, Form()] = "",
    checks: Annotated[str, Form()] = "",
) -> Response:
    problems: list[str] = []
    from_ms = local_ms(from_time, "from", problems)
    to_ms = local_ms(to_time, "to", problems)
    entry = records_pb2.PatrolEntry(
        officer_id=officer_id.strip() or officer.officer_id,
        beat_code=beat_code.strip(),
        from_ms=from_ms,
        to_ms=to_ms,
        points=_points(points, from_ms, problems),
        observations=observations,
        checks=_checks(checks, problems),
    )
    if problems:
        raise InputError("patrol not written: " + "; ".join(problems), problems)
    done = duty.write_patrol(station(request), officer.officer_id, entry)
    return redirect("/beat-book", beat=entry.beat_code, saved=done.ref)
