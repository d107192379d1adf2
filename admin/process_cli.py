"""`cctns case ...` for the process register and the NCRs' fortnightly forwarding
(docs/investigation.md, "The process register").

    cctns case process-receive --type summons --court "JFCM Kalamassery" --case "CC 231/2026" \\
        --name "Suresh K" --relative "S/o Kumaran" --address "..." --returnable 2026-12-20 \\
        [--fir "FIR No. 12/2026"] [--text NOTE]
    cctns case process-serve PRC/2026/000012 --how "Served in person; signed" [--at TIME]
    cctns case process-return PRC/2026/000012 --reason "Left the address in March" [--at TIME]
    cctns case processes [--pending]
    cctns case ncr-forward --magistrate "JFCM Kalamassery" [--text NOTE]

`process-serve` records the step the process's kind asks for: a summons served, a warrant
executed, a proclamation published. Every command writes nothing when anything is wrong and
lists every problem.
"""

from __future__ import annotations

import argparse
import datetime
import os
from typing import Any

from admin.common import command, emit, open_station
from ledger.errors import InputError
from node.index import processes as register_index
from node.records.processes import PROCESS_TYPES
from node.records.validation import format_time, utc_ms
from node.station import processes
from protos import records_pb2

_RELATIONS = ("S/o", "D/o", "W/o", "H/o", "M/o", "F/o", "G/o")


def _time(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return utc_ms(datetime.datetime.fromisoformat(text))
    except ValueError as exc:
        raise InputError(f"--at {text[:40]!r} is not an ISO time (2026-12-01T14:30)") from exc


def _relative(text: str) -> tuple[str, str]:
    """ "S/o Kumaran" -> ("S/o", "Kumaran"); a name alone is taken as the relative's name."""
    head, _, rest = text.strip().partition(" ")
    for relation in _RELATIONS:
        if head.lower() == relation.lower():
            return relation, rest.strip()
    return "", text.strip()


def cmd_receive(args: argparse.Namespace) -> int:
    relation, relative = _relative(args.relative or "")
    process = records_pb2.CourtProcess(
        process_type=args.type,
        court=args.court,
        court_case_number=args.case,
        person=records_pb2.Person(
            name=args.name, relation=relation, relative_name=relative, address=args.address or ""
        ),
        returnable_date=args.returnable,
        fir_number=args.fir or "",
        note=args.text or "",
    )
    with open_station(args.data_dir) as station:
        receipt = processes.receive_process(station, args.officer, process)
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = processes.carry_out(
            station, args.officer, args.ref, args.how, at_ms=_time(args.at)
        )
        row = register_index.find_process(station.index, receipt.ref)
    emit({"ref": receipt.ref, "index": receipt.index, "status": row.status if row else ""})
    return 0


def cmd_return(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = processes.return_unserved(
            station, args.officer, args.ref, args.reason, at_ms=_time(args.at)
        )
    emit({"ref": receipt.ref, "index": receipt.index, "status": "returned"})
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = register_index.process_register(station.index, pending_only=args.pending)
        now = station.now()
    emit(
        [
            {
                "process_number": r.process_number,
                "type": r.process_type,
                "court": r.court,
                "case": r.court_case_number,
                "name": r.name,
                "relative": r.relative,
                "address": r.address,
                "returnable": r.returnable_date,
                "overdue": r.pending and now >= r.returnable_ms,
                "fir_number": r.fir_number,
                "received": format_time(r.received_at_ms),
                "status": r.status,
                "step_at": format_time(r.step_at_ms) if r.step_at_ms else "",
                "step_note": r.step_note,
            }
            for r in rows
        ]
    )
    return 0


def cmd_forward(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = processes.forward_ncrs(station, args.officer, args.magistrate, args.text or "")
        sent = station.ledger.body(receipt.index).ncr_forwarding
    emit({"index": receipt.index, "magistrate": sent.magistrate, "ncrs": list(sent.ncr_numbers)})
    return 0


def register(case: Any) -> None:
    """Adds the process register's subcommands to the `case` group."""
    officer_default = os.environ.get("CCTNS_OFFICER")

    def officer(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--officer", default=officer_default, required=officer_default is None)

    sub = command(case, "process-receive", cmd_receive, "a court's process into the register")
    officer(sub)
    sub.add_argument("--type", required=True, choices=PROCESS_TYPES)
    sub.add_argument("--court", required=True, help="the court that issued it")
    sub.add_argument("--case", required=True, help="the court's case number, e.g. CC 231/2026")
    sub.add_argument("--name", required=True, help="the person to be served or arrested")
    sub.add_argument("--relative", help='e.g. "S/o Kumaran"')
    sub.add_argument("--address", required=True)
    sub.add_argument("--returnable", required=True, help="the returnable date (YYYY-MM-DD)")
    sub.add_argument("--fir", help="the FIR of this station it relates to, if any")
    sub.add_argument("--text", default="", help="a note")
    for name, handler, what, flag, flag_help in (
        ("process-serve", cmd_serve, "a process served, executed or published", "--how",
         "how it was served or executed"),
        ("process-return", cmd_return, "a process returned unserved", "--reason",
         "why it was not served"),
    ):  # fmt: skip
        sub = command(case, name, handler, what)
        sub.add_argument("ref", help="the process number, e.g. PRC/2026/000012")
        officer(sub)
        sub.add_argument(flag, required=True, help=flag_help)
        sub.add_argument("--at", help="when (ISO time; default now)")
    sub = command(case, "processes", cmd_list, "the process register")
    sub.add_argument("--pending", action="store_true", help="pending processes only")
    sub = command(case, "ncr-forward", cmd_forward, "the NCRs since the last, to the magistrate")
    officer(sub)
    sub.add_argument("--magistrate", required=True)
    sub.add_argument("--text", default="", help="a note")


__all__ = ["register"]
