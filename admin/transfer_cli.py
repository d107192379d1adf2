"""`cctns case ...` for transfers of investigation and altered sections (docs/investigation.md,
"Transfers and altered sections").

    cctns case transfer "FIR No. 12/2026" --to kerala/crime-branch/cb-ernakulam \\
        --unit "Crime Branch, Ernakulam" --ordered-by "State Police Chief" \\
        --order-reference "D3/4512/2026/PHQ" --order-date 2026-12-01 --reason "..."
    cctns case alter-sections "FIR No. 12/2026" --add "BNS 103(1)" --drop "BNS 109(1)" \\
        --reason "The injured died on 2026-12-01" --court "JFCM Kalamassery" \\
        --report-date 2026-12-02 [--report-reference "Alteration report 14/2026"]
    cctns case taken-over                        the cases other stations transferred here

`transfer` calls the receiving unit over the federation (TransferCase): it records the transfer
here, the unit verifies it and records its take-over, and the acceptance is recorded here; run it
while the node is not serving (the web UI does it live). Asked again for the same unit it
completes what an interrupted call left undone and writes nothing twice.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import trio

from admin.common import command, emit, open_station
from ledger.errors import InputError
from node.config import DataDir
from node.index import transfers as moved
from node.peers.clients import Peers, hand_over_case
from node.records.validation import format_time
from node.station import case_transfer
from node.station.core import Station
from node.web.forms import sections
from protos import records_pb2


def cmd_transfer(args: argparse.Namespace) -> int:
    order = records_pb2.CaseTransfer(
        to_node_id=args.to,
        to_unit=args.unit,
        ordered_by=args.ordered_by,
        order_reference=args.order_reference,
        order_date=args.order_date,
        reason=args.reason,
    )
    data_dir = DataDir(args.data_dir)
    peers = Peers.load(data_dir)
    peers.address(args.to)  # InputError for a node the federation does not know, before opening
    station = Station.open(data_dir)
    try:
        status = trio.run(
            lambda: hand_over_case(
                station, peers, args.ref, order, args.officer, timeout=args.deadline
            )
        )
    finally:
        station.close()
    emit(status)
    return 0


def _sections(text: list[str] | None, what: str) -> list[records_pb2.ActSection]:
    problems: list[str] = []
    cited = sections(", ".join(text or []), problems)
    if problems:
        raise InputError(f"{what}: " + "; ".join(problems), problems)
    return cited


def cmd_alter_sections(args: argparse.Namespace) -> int:
    change = records_pb2.SectionAlteration(
        added=_sections(args.add, "--add"),
        dropped=_sections(args.drop, "--drop"),
        reason=args.reason,
        court=args.court,
        report_date=args.report_date,
        report_reference=args.report_reference or "",
    )
    with open_station(args.data_dir) as station:
        receipt = case_transfer.alter_sections(station, args.officer, args.ref, change)
        now = moved.current_sections(station.index, receipt.ref)
    emit(
        {
            "ref": receipt.ref,
            "index": receipt.index,
            "sections_now": [f"{act} {section}" for act, section in now],
        }
    )
    return 0


def cmd_taken_over(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = moved.cases_taken_over(station.index)
    emit(
        [
            {
                "fir_number": r.fir_number,
                # How this unit's commands name the case (cctns case arrest "<case>" ...).
                "case": r.case_key,
                "from_origin": r.from_origin,
                "from_station": r.from_station,
                "sections": r.sections,
                "ordered_by": r.ordered_by,
                "order_reference": r.order_reference,
                "order_date": r.order_date,
                "reason": r.reason,
                "taken_over": format_time(r.taken_over_at_ms),
                "entry": r.ledger_index,
            }
            for r in rows
        ]
    )
    return 0


def register(case: Any) -> None:
    """Adds the transfer subcommands to the `case` group."""
    officer_default = os.environ.get("CCTNS_OFFICER")
    sub = command(case, "transfer", cmd_transfer, "transfer a case's investigation to a unit")
    sub.add_argument("ref", help='the case, e.g. "FIR No. 12/2026"')
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    sub.add_argument("--to", required=True, help="the receiving unit's node id")
    sub.add_argument("--unit", required=True, help='its name, e.g. "Crime Branch, Ernakulam"')
    sub.add_argument("--ordered-by", required=True, help="who ordered the transfer")
    sub.add_argument("--order-reference", required=True, help="the order's number")
    sub.add_argument("--order-date", required=True, help="the order's date (YYYY-MM-DD)")
    sub.add_argument("--reason", required=True)
    sub.add_argument("--deadline", type=float, default=15.0, help="seconds for the call")
    sub = command(case, "alter-sections", cmd_alter_sections, "sections altered, told to court")
    sub.add_argument("ref", help='the case, e.g. "FIR No. 12/2026"')
    sub.add_argument("--officer", default=officer_default, required=officer_default is None)
    sub.add_argument("--add", action="append", help='a section added, e.g. "BNS 103(1)"')
    sub.add_argument("--drop", action="append", help="a section dropped")
    sub.add_argument("--reason", required=True)
    sub.add_argument("--court", required=True, help="the court the report went to")
    sub.add_argument("--report-date", required=True, help="YYYY-MM-DD")
    sub.add_argument("--report-reference", help="the alteration report's number")
    command(case, "taken-over", cmd_taken_over, "the cases other stations transferred here")


__all__ = ["register"]
