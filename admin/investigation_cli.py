"""`cctns case ...` for the investigation forms (docs/investigation.md): arrests and the
lock-up register, courts' custody orders, seizures and the property register, the case diary,
and what the station owes the law by when.

    cctns case arrest "FIR No. 12/2026" --accused A1 --name "Manoj P" --grounds "..." \\
        --witness "Ramesh K, neighbour" --informed "Shyla, wife" [--place ...] [--at TIME] \\
        [--notice]
    cctns case custody "FIR No. 12/2026" --accused A1 --order judicial_custody \\
        --court "JFCM Aluva" --until 2026-12-14 [--reference "CMP 412/2026"] [--bond ...]
    cctns case seize "FIR No. 12/2026" --item "mobile phone|Redmi 9, black|IMEI 3567..." \\
        --place "..." --witness "Ramesh K" --witness "Abdul Salam" --video "VID/118"
    cctns case move "FIR No. 12/2026" PR-57-1 to_laboratory --to "RFSL" --reference "Letter 56"
    cctns case diary "FIR No. 12/2026" --day 2026-12-01 --text "..." [--place ...] \\
        [--statement "Name|what they said"] [--document ...]
    cctns case inform "FIR No. 12/2026" --text "Told by phone: ..."
    cctns case lockup | property [--fir REF] | due        the registers and the clocks
    cctns case process-receive | process-serve | process-return | processes | ncr-forward
                                                          (admin/process_cli.py)

Times (--at) are ISO ("2026-12-01T14:30", India time unless an offset is given); --until is a
date, the remand ending at the end of that day in India. Every command writes nothing when
anything is wrong and lists every problem.
"""

from __future__ import annotations

import argparse
import datetime
import os
from typing import Any

from admin import history_cli, process_cli, transfer_cli
from admin.common import command, emit, open_station
from ledger.errors import InputError
from node.index import investigation as held
from node.records.investigation import CUSTODY_ORDERS, MOVEMENTS
from node.records.validation import IST, format_time, utc_ms
from node.station import casework, investigation
from protos import records_pb2


def _time(text: str | None, what: str) -> int | None:
    if not text:
        return None
    try:
        return utc_ms(datetime.datetime.fromisoformat(text))
    except ValueError as exc:
        raise InputError(f"{what} {text[:40]!r} is not an ISO time (2026-12-01T14:30)") from exc


def _day_end(text: str) -> int:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--until {text[:20]!r} is not YYYY-MM-DD") from exc
    end = datetime.datetime.combine(day, datetime.time(23, 59, 59), IST)
    return utc_ms(end)


def cmd_arrest(args: argparse.Namespace) -> int:
    person = records_pb2.PersonInCase(
        person=records_pb2.Person(name=args.name, age=args.age or 0),
        accused_code=args.accused.upper(),
        role=records_pb2.ACCUSED,
    )
    memo = records_pb2.ArrestMemo(
        place=args.place or "",
        grounds=args.grounds or "",
        attesting_witness=args.witness or "",
        informed_person=args.informed or "",
        notice_to_appear=args.notice,
    )
    with open_station(args.data_dir) as station:
        receipt = casework.arrest(
            station,
            args.officer,
            args.ref,
            [person],
            memo,
            at_ms=_time(args.at, "--at"),
            text=args.text or "",
        )
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_custody(args: argparse.Namespace) -> int:
    order = records_pb2.CustodyOrder(
        accused_code=args.accused,
        order=args.order,
        court=args.court or "",
        order_reference=args.reference or "",
        until_ms=_day_end(args.until) if args.until else 0,
        bail_bond=args.bond or "",
        sureties=args.surety or [],
    )
    with open_station(args.data_dir) as station:
        receipt = casework.order_custody(
            station, args.officer, args.ref, order, at_ms=_time(args.at, "--at"), text=args.text
        )
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def _item(text: str) -> records_pb2.PropertyItem:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 4 or not parts[0]:
        raise InputError(f"--item {text[:60]!r}: 'category|description|identifiers|value'")
    parts += [""] * (4 - len(parts))
    category, description, identifiers, value = parts
    if value and not value.isdigit():
        raise InputError(f"--item {text[:60]!r}: the value is whole rupees")
    return records_pb2.PropertyItem(
        category=category.lower(),
        description=description,
        identifiers=identifiers,
        value_inr=int(value or 0),
        status=records_pb2.SEIZED,
    )


def cmd_seize(args: argparse.Namespace) -> int:
    mahazar = records_pb2.Mahazar(
        place=args.place or "", witnesses=args.witness or [], video_reference=args.video or ""
    )
    items = [_item(text) for text in args.item]
    with open_station(args.data_dir) as station:
        receipt = casework.seize(
            station, args.officer, args.ref, items, mahazar, at_ms=_time(args.at, "--at"),
            text=args.text,
        )  # fmt: skip
    refs = [f"PR-{receipt.index}-{n}" for n in range(1, len(items) + 1)]
    emit({"ref": receipt.ref, "index": receipt.index, "items": refs})
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    movement = records_pb2.PropertyMovement(
        item=args.item, movement=args.movement, counterpart=args.to or "",
        reference=args.reference or "",
    )  # fmt: skip
    with open_station(args.data_dir) as station:
        receipt = casework.move_property(
            station, args.officer, args.ref, movement, at_ms=_time(args.at, "--at"),
            text=args.text,
        )  # fmt: skip
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_diary(args: argparse.Namespace) -> int:
    statements = []
    for text in args.statement or []:
        name, _, said = text.partition("|")
        statements.append(
            records_pb2.DiaryStatement(
                witness=records_pb2.Person(name=name.strip()), summary=said.strip()
            )
        )
    day = records_pb2.DiaryDay(
        day=args.day or datetime.datetime.now(IST).date().isoformat(),
        places_visited=args.place or [],
        statements=statements,
        documents=args.document or [],
    )
    with open_station(args.data_dir) as station:
        receipt = casework.write_diary(station, args.officer, args.ref, day, args.text)
    emit({"ref": receipt.ref, "index": receipt.index, "day": day.day})
    return 0


def cmd_inform(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = casework.inform_progress(station, args.officer, args.ref, args.text)
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def _when(ms: int) -> str:
    return format_time(ms) if ms else ""


def cmd_lockup(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = held.lockup_register(station.index)
        now = station.now()
    emit(
        [
            {
                "fir_number": r.fir_number,
                "accused_code": r.accused_code,
                "name": r.name,
                "arrested": _when(r.arrested_at_ms),
                "status": r.status,
                "production_due": _when(r.production_due_ms) if r.awaiting_production else "",
                "production_overdue": r.production_overdue(now),
                "remand_until": _when(r.remand_until_ms),
                "court": r.court,
                "memo_complete": r.memo_complete,
            }
            for r in rows
        ]
    )
    return 0


def cmd_property(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = held.property_register(station.index, args.fir)
        chains = {r.item_ref: held.movements(station.index, r.item_ref) for r in rows}
    emit(
        [
            {
                "item": r.item_ref,
                "fir_number": r.fir_number,
                "category": r.category,
                "description": r.description,
                "identifiers": r.identifiers,
                "seized": _when(r.seized_at_ms),
                "place": r.seized_place,
                "witnesses": r.witnesses,
                "location": r.location,
                "with": r.counterpart,
                "movements": [
                    {
                        "movement": m.movement,
                        "at": _when(m.at_ms),
                        "to": m.counterpart,
                        "reference": m.reference,
                    }
                    for m in chains[r.item_ref]
                ],
            }
            for r in rows
        ]
    )
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        due = investigation.due_now(station)
    emit(
        [
            {
                "kind": d.kind,
                "fir_number": d.fir_number,
                "due": _when(d.due_ms),
                "overdue": d.overdue,
                "what": d.what,
                "ref": d.ref,
            }
            for d in due
        ]
    )
    return 0


def register(case: Any) -> None:
    """Adds the investigation subcommands to the `case` group."""
    officer_default = os.environ.get("CCTNS_OFFICER")

    def writer(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = command(case, name, handler, help_text)
        sub.add_argument("ref", help='the case, e.g. "FIR No. 12/2026"')
        sub.add_argument("--officer", default=officer_default, required=officer_default is None)
        sub.add_argument("--at", help="when it happened (ISO time; default now)")
        sub.add_argument("--text", default="", help="a note")
        return sub

    sub = writer("arrest", cmd_arrest, "an arrest with its memo (starts the 24-hour clock)")
    sub.add_argument("--accused", required=True, help="accused code, e.g. A1")
    sub.add_argument("--name", required=True)
    sub.add_argument("--age", type=int)
    sub.add_argument("--place")
    sub.add_argument("--grounds", help="the grounds of arrest told to the person")
    sub.add_argument("--witness", help="who attested the memo")
    sub.add_argument("--informed", help="the person informed of the arrest")
    sub.add_argument("--notice", action="store_true", help="a notice to appear, not an arrest")
    sub = writer("custody", cmd_custody, "a court's order: remand, bail, release")
    sub.add_argument("--accused", required=True)
    sub.add_argument("--order", required=True, choices=CUSTODY_ORDERS)
    sub.add_argument("--court")
    sub.add_argument("--reference", help="the order's reference")
    sub.add_argument("--until", help="a remand's last day (YYYY-MM-DD)")
    sub.add_argument("--bond", help="the bail bond")
    sub.add_argument("--surety", action="append")
    sub = writer("seize", cmd_seize, "a seizure with its mahazar (items to the property register)")
    sub.add_argument(
        "--item", action="append", required=True, help="category|description|identifiers|value"
    )
    sub.add_argument("--place")
    sub.add_argument("--witness", action="append")
    sub.add_argument("--video", help="the audio-video record's reference (BNSS s.105)")
    sub = writer("move", cmd_move, "a seized item's movement (chain of custody)")
    sub.add_argument("item", help="the property register's number, e.g. PR-57-1")
    sub.add_argument("movement", choices=list(MOVEMENTS))
    sub.add_argument("--to", help="the court, laboratory or owner")
    sub.add_argument("--reference", help="the forwarding letter or order")
    sub = command(case, "diary", cmd_diary, "the case diary of one investigation day")
    sub.add_argument("ref")
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    sub.add_argument("--day", help="YYYY-MM-DD (default today)")
    sub.add_argument("--text", required=True, help="what was done")
    sub.add_argument("--place", action="append", help="a place visited")
    sub.add_argument("--statement", action="append", help="'Name|what they said'")
    sub.add_argument("--document", action="append", help="a document collected")
    sub = command(case, "inform", cmd_inform, "the informant told of the progress")
    sub.add_argument("ref")
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    sub.add_argument("--text", required=True, help="how and what they were told")
    command(case, "lockup", cmd_lockup, "the lock-up register: who is held, the clocks")
    sub = command(case, "property", cmd_property, "the property register with movements")
    sub.add_argument("--fir", help="one case only")
    command(case, "due", cmd_due, "what is overdue or due within a week")
    process_cli.register(case)  # the process register, the NCRs' forwarding
    transfer_cli.register(case)  # transfers of investigation, altered sections
    history_cli.register_case(case)  # the MO of accused


__all__ = ["register"]
