"""`cctns duty` for the beats, the duty roster and the beat book (docs/investigation.md, "Beats,
patrols and the duty roster").

    cctns duty beat-add B1 --name "HMT Colony" --locality "HMT Colony" --locality "Thevakkal"
    cctns duty beat-retire B1 --reason "Merged into B2 (order 12/2026)"
    cctns duty beats
    cctns duty assign --on PEN430017 --duty beat_patrol --beat B1 \\
        --from 2026-12-03T06:00 --until 2026-12-03T14:00 [--place TEXT] [--text NOTE]
    cctns duty cancel DUTY-1234 --reason "On leave"
    cctns duty roster [--day 2026-12-03] [--days 7] [--on PEN430017] [--suggest]
    cctns duty roster --on PEN430017
    cctns duty patrol --beat B1 --from 2026-12-03T06:00 --until 2026-12-03T08:00 \\
        --point "06:10 HMT Colony gate" --point "07:00 North Kalamassery ATM" \\
        --observations "..." [--check "Biju M; Bus shelter; loitering"] [--by PEN430017]
    cctns duty beat-book [--beat B1] [--by PEN430017]

Times are ISO, read as India time. `roster --suggest` prints the suggested roster of the day:
the beats by their incidents of the last thirty days, with the warrants, summonses and petitions
waiting in each (a proposal: nothing is written). Every command that writes writes nothing when
anything is wrong and lists every problem.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
from typing import Any

from admin.common import command, emit, open_station, subcommands
from ledger.errors import InputError
from node.index import duty as duty_index
from node.records.duty import DUTIES, duty_ref, patrol_ref
from node.records.validation import DAY_MS, IST, format_time, utc_ms
from node.station import duty
from protos import records_pb2

_POINT = re.compile(r"^\s*([0-2]?[0-9])[:.]([0-5][0-9])\s+(.+?)\s*$")


def _time(text: str, flag: str) -> int:
    try:
        return utc_ms(datetime.datetime.fromisoformat(text))
    except ValueError as exc:
        raise InputError(f"{flag} {text[:40]!r} is not an ISO time (2026-12-03T06:00)") from exc


def _day(text: str | None) -> datetime.date:
    if not text:
        return datetime.datetime.now(IST).date()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--day {text[:40]!r} is not YYYY-MM-DD") from exc


def cmd_beat_add(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = duty.define_beat(
            station, args.officer, args.code, args.name, args.locality or [], args.text or ""
        )
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_beat_retire(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = duty.retire_beat(station, args.officer, args.code, args.reason)
    emit({"ref": receipt.ref, "index": receipt.index, "status": "retired"})
    return 0


def cmd_beats(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = duty_index.beats(station.index)
    emit(
        [
            {
                "code": b.code,
                "name": b.name,
                "localities": list(b.localities),
                "status": b.status,
                "defined": format_time(b.defined_at_ms),
                "retired": format_time(b.retired_at_ms) if b.retired_at_ms else "",
                "note": b.note,
            }
            for b in rows
        ]
    )
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    assignment = records_pb2.DutyAssignment(
        officer_id=args.on,
        duty=args.duty,
        beat_code=args.beat or "",
        place=args.place or "",
        from_ms=_time(args.start, "--from"),
        to_ms=_time(args.until, "--until"),
        note=args.text or "",
    )
    with open_station(args.data_dir) as station:
        receipt = duty.assign_duty(station, args.officer, assignment)
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = duty.cancel_duty(station, args.officer, args.ref, args.reason)
    emit({"ref": receipt.ref, "index": receipt.index, "status": "cancelled"})
    return 0


def _duty_json(r: duty_index.DutyRow) -> dict[str, Any]:
    return {
        "ref": duty_ref(r.ledger_index),
        "officer": r.officer_id,
        "duty": r.duty,
        "beat": r.beat_code,
        "place": r.place,
        "from": format_time(r.from_ms),
        "to": format_time(r.to_ms),
        "note": r.note,
        "assigned_by": r.assigned_by,
        "cancelled": r.cancelled,
        "cancel_reason": r.cancel_reason,
    }


def cmd_roster(args: argparse.Namespace) -> int:
    day = _day(args.day)
    start, _ = duty_index.day_bounds(day)
    days = max(1, min(args.days, 31))
    with open_station(args.data_dir) as station:
        if args.suggest:
            suggestions = duty_index.suggested_roster(station.index, day)
            emit(
                [
                    {
                        "rank": s.rank,
                        "beat": s.beat.code,
                        "name": s.beat.name,
                        "incidents": len(s.beat.incidents),
                        "warrants": [p.process_number for p in s.beat.warrants],
                        "processes": [p.process_number for p in s.beat.processes],
                        "petitions": [p.receipt_number for p in s.beat.petitions],
                        "covered_by": [d.officer_id for d in s.beat.patrolled_by],
                        "reasons": list(s.reasons),
                    }
                    for s in suggestions
                ]
            )
            return 0
        if args.on and not args.day:
            rows = duty_index.officer_duties(station.index, args.on)
        else:
            rows = duty_index.roster(
                station.index, start, start + days * DAY_MS, officer_id=args.on or None
            )
    emit([_duty_json(r) for r in rows])
    return 0


def _points(lines: list[str], from_ms: int) -> list[records_pb2.PatrolPoint]:
    start = datetime.datetime.fromtimestamp(from_ms / 1000, IST)
    out: list[records_pb2.PatrolPoint] = []
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        match = _POINT.match(line)
        if match is None or int(match[1]) > 23:
            problems.append(f"--point {n}: write it as HH:MM and the place")
            continue
        moment = start.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
        if moment < start.replace(second=0, microsecond=0):
            moment += datetime.timedelta(days=1)
        out.append(records_pb2.PatrolPoint(place=match[3], at_ms=utc_ms(moment)))
    if problems:
        raise InputError("; ".join(problems), problems)
    return out


def cmd_patrol(args: argparse.Namespace) -> int:
    from_ms = _time(args.start, "--from")
    checks = []
    for line in args.check or []:
        name, _, rest = line.partition(";")
        place, _, remarks = rest.partition(";")
        checks.append(
            records_pb2.PatrolCheck(
                person=records_pb2.Person(name=name.strip()),
                place=place.strip(),
                remarks=remarks.strip(),
            )
        )
    entry = records_pb2.PatrolEntry(
        officer_id=args.by or "",
        beat_code=args.beat,
        from_ms=from_ms,
        to_ms=_time(args.until, "--until"),
        points=_points(args.point or [], from_ms),
        observations=args.observations,
        checks=checks,
    )
    with open_station(args.data_dir) as station:
        receipt = duty.write_patrol(station, args.officer, entry)
        row = duty_index.beat_book(station.index, beat_code=entry.beat_code, limit=1)
    emit(
        {
            "ref": receipt.ref,
            "index": receipt.index,
            "duty": duty_ref(row[0].duty_index) if row and row[0].duty_index else "",
        }
    )
    return 0


def cmd_beat_book(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = duty_index.beat_book(
            station.index, beat_code=args.beat or None, officer_id=args.by or None
        )
    emit(
        [
            {
                "ref": patrol_ref(r.ledger_index),
                "officer": r.officer_id,
                "beat": r.beat_code,
                "from": format_time(r.from_ms),
                "to": format_time(r.to_ms),
                "points": [{"place": p["place"], "at": format_time(p["at_ms"])} for p in r.points],
                "checks": list(r.checks),
                "observations": r.observations,
                "duty": duty_ref(r.duty_index) if r.duty_index else "",
                "written_by": r.written_by,
            }
            for r in rows
        ]
    )
    return 0


def register(groups: Any) -> None:
    """Adds the `duty` command group."""
    group = subcommands(groups, "duty", "beats, the duty roster and the beat book", __doc__)
    officer_default = os.environ.get("CCTNS_OFFICER")

    def officer(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--officer",
            default=officer_default,
            required=officer_default is None,
            help="who writes the entry (default: CCTNS_OFFICER)",
        )

    sub = command(group, "beat-add", cmd_beat_add, "a beat defined, or revised while in force")
    sub.add_argument("code", help="the beat's code, e.g. B1")
    officer(sub)
    sub.add_argument("--name", required=True)
    sub.add_argument("--locality", action="append", help="a locality it covers (repeat)")
    sub.add_argument("--text", default="", help="a note (the order)")
    sub = command(group, "beat-retire", cmd_beat_retire, "a beat retired (an entry; kept)")
    sub.add_argument("code")
    officer(sub)
    sub.add_argument("--reason", required=True)
    command(group, "beats", cmd_beats, "the station's beats")
    sub = command(group, "assign", cmd_assign, "an officer put on a duty")
    officer(sub)
    sub.add_argument("--on", required=True, help="the officer put on duty")
    sub.add_argument("--duty", required=True, choices=DUTIES)
    sub.add_argument("--beat")
    sub.add_argument("--place", help="the court, junction or venue")
    sub.add_argument("--from", dest="start", required=True, help="ISO time (India)")
    sub.add_argument("--until", required=True, help="ISO time (India)")
    sub.add_argument("--text", default="", help="a note (the briefing)")
    sub = command(group, "cancel", cmd_cancel, "an assignment cancelled (a later entry)")
    sub.add_argument("ref", help="the assignment, e.g. DUTY-1234")
    officer(sub)
    sub.add_argument("--reason", required=True)
    sub = command(group, "roster", cmd_roster, "the roster of a day or more, or its suggestion")
    sub.add_argument("--day", help="YYYY-MM-DD (default: today, India time)")
    sub.add_argument("--days", type=int, default=1, help="how many days (at most 31)")
    sub.add_argument("--on", help="one officer's duties (without --day: all, the latest first)")
    sub.add_argument(
        "--suggest", action="store_true", help="the beats by workload (writes nothing)"
    )
    sub = command(group, "patrol", cmd_patrol, "a patrol written into the beat book")
    officer(sub)
    sub.add_argument("--beat", required=True)
    sub.add_argument("--from", dest="start", required=True, help="ISO time (India)")
    sub.add_argument("--until", required=True, help="ISO time (India)")
    sub.add_argument("--point", action="append", help='"HH:MM place" (repeat)')
    sub.add_argument("--observations", required=True)
    sub.add_argument("--check", action="append", help='"name; place; remarks" (repeat)')
    sub.add_argument("--by", help="the officer who patrolled (default: --officer)")
    sub = command(group, "beat-book", cmd_beat_book, "the beat book, the latest first")
    sub.add_argument("--beat")
    sub.add_argument("--by", help="one officer's patrols")


__all__ = ["register"]
