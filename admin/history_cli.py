"""`cctns history ...`, the register of history sheets (known offenders), and `cctns case mo`,
the modus operandi of accused (docs/investigation.md, "History sheets, known offenders and MO").

    cctns history open --name "Sudheesh Kumar" --relative "S/o Gopalan" --age 34 \\
        --address "..." --category known_depredator --grounds "..." \\
        --ordered-by PEN900001 --rank sp --order "No. 12/HS/2026" --order-date 2026-12-01 \\
        --case "FIR No. 12/2026" --case "ps-aluva:FIR No. 88/2025" \\
        [--alias "Kallan Sudhi"] [--mark "mole on the left cheek"] [--birth-year 1990] \\
        [--time night --place locked_house --entry window_grill_removed --taken gold_ornaments]
    cctns history review HS/2026/000001 --ordered-by PEN900002 --rank sdpo --order "No. 3" \\
        --order-date 2026-12-31 --findings "Still active"
    cctns history close HS/2026/000001 --ordered-by PEN900001 --rank sp --order "No. 9" \\
        --order-date 2027-03-01 --reason "Left the State"
    cctns history list [--open]
    cctns case mo "FIR No. 12/2026" --accused A1 [--accused A2] [--time night] [--place house]
        [--entry door_lock_broken] [--taken gold_ornaments] [--weapon knife]
        [--vehicle motorcycle] [--note TEXT]
    cctns case similar "FIR No. 12/2026" [--limit 10]     cases like it in this station's
    cctns case similar "entry:window_grill_removed night almirah chisel"   ... or like these
        (docs/mo-search.md; across the district or state: cctns peer search --kind similar)

Every command writes nothing when anything is wrong and lists every problem.
"""

from __future__ import annotations

import argparse
from typing import Any

from admin.common import command, emit, officer_option, open_station, subcommands
from ledger.errors import InputError
from node.index import history as register_index
from node.index import similar
from node.records import history as rules
from node.records.validation import format_time
from node.station import casework, history
from protos import records_pb2

_RELATIONS = ("S/o", "D/o", "W/o", "H/o", "M/o", "F/o", "G/o")
# The MO flags: option -> ModusOperandi field.
_MO_FLAGS = {
    "time": "time_of_day",
    "place": "place_type",
    "entry": "entry_method",
    "weapon": "weapon",
    "vehicle": "vehicle_used",
}


def _relative(text: str) -> tuple[str, str]:
    """ "S/o Gopalan" -> ("S/o", "Gopalan"); a name alone is taken as the relative's name."""
    head, _, rest = text.strip().partition(" ")
    for relation in _RELATIONS:
        if head.lower() == relation.lower():
            return relation, rest.strip()
    return "", text.strip()


def _case(text: str) -> records_pb2.SheetCase:
    """'FIR No. 12/2026' (this station) or 'ps-aluva:FIR No. 88/2025' (another's)."""
    office, sep, number = text.partition(":")
    if not sep:
        return records_pb2.SheetCase(fir_number=text.strip())
    return records_pb2.SheetCase(office=office.strip(), fir_number=number.strip())


def _mo(args: argparse.Namespace, codes: list[str]) -> records_pb2.ModusOperandi:
    return records_pb2.ModusOperandi(
        accused_codes=codes,
        property_taken=args.taken or [],
        note=args.note or "",
        **{field: getattr(args, flag) or "" for flag, field in _MO_FLAGS.items()},
    )


def cmd_open(args: argparse.Namespace) -> int:
    relation, relative = _relative(args.relative or "")
    sheet = records_pb2.HistorySheet(
        person=records_pb2.Person(
            name=args.name,
            relation=relation,
            relative_name=relative,
            age=args.age or 0,
            sex=args.sex or "",
            address=args.address,
            aliases=args.alias or [],
            identifying_marks=args.mark or [],
        ),
        birth_year=args.birth_year or 0,
        category=args.category,
        grounds=args.grounds,
        ordered_by=args.ordered_by,
        ordered_by_rank=args.rank,
        order_reference=args.order,
        order_date=args.order_date,
        cases=[_case(c) for c in args.case or []],
        mo=_mo(args, []),
    )
    with open_station(args.data_dir) as station:
        receipt = history.open_sheet(station, args.officer, sheet)
    emit({"ref": receipt.ref, "index": receipt.index})
    return 0


def _step(args: argparse.Namespace, close: bool) -> int:
    order = history.order(args.ordered_by, args.rank, args.order, args.order_date)
    with open_station(args.data_dir) as station:
        if close:
            receipt = history.close_sheet(station, args.officer, args.ref, order, args.reason)
        else:
            receipt = history.review_sheet(station, args.officer, args.ref, order, args.findings)
        row = register_index.find_sheet(station.index.engine, receipt.ref)
    emit({"ref": receipt.ref, "index": receipt.index, "status": row.status if row else ""})
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    return _step(args, close=False)


def cmd_close(args: argparse.Namespace) -> int:
    return _step(args, close=True)


def cmd_list(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        rows = register_index.sheets(station.index.engine, open_only=args.open)
        now = station.now()
    emit(
        [
            {
                "sheet_number": r.sheet_number,
                "status": r.status,
                "category": r.category,
                "name": r.name,
                "relative": r.relative,
                "age": r.age,
                "address": r.address,
                "aliases": r.aliases,
                "grounds": r.grounds,
                "cases": r.cases,
                "mo": register_index.mo_text(r.mo),
                "opened": format_time(r.opened_at_ms),
                "ordered_by": r.ordered_by,
                "rank": r.ordered_by_rank,
                "order_reference": r.order_reference,
                "review_due": format_time(r.review_due_ms) if r.review_due_ms else "",
                "review_overdue": r.review_overdue(now),
                "closed": format_time(r.closed_at_ms) if r.closed_at_ms else "",
                "closing_reason": r.closing_note,
            }
            for r in rows
        ]
    )
    return 0


def cmd_mo(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        receipt = casework.record_mo(station, args.officer, args.fir, _mo(args, args.accused))
        current = register_index.case_mo(station.index.engine, receipt.ref)
    emit(
        {
            "fir_number": receipt.ref,
            "index": receipt.index,
            "current": [
                {
                    "accused": r.accused_code,
                    "name": r.name,
                    "mo": register_index.mo_text(r.attributes),
                }
                for r in current
            ],
        }
    )
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    with open_station(args.data_dir) as station:
        engine = station.index.engine
        key = similar.case_key(engine, args.case.strip())
        query = (
            similar.query_case(engine, key) if key is not None else similar.query_text(args.case)
        )
        if not query.terms:
            raise InputError(
                f"{args.case!r} is no case of this station, nor MO attributes or words to match"
            )
        found = similar.similar(engine, query, limit=args.limit)
    emit(
        [
            {
                "fir_number": c.fir_number,
                "score": c.score,
                "crime_head": c.crime_head,
                "mo": register_index.mo_text(c.mo),
                "shared": [similar.mo_label(t) for t in c.shared],
            }
            for c in found
        ]
    )
    return 0


def _mo_options(sub: argparse.ArgumentParser) -> None:
    for flag, field in _MO_FLAGS.items():
        sub.add_argument(f"--{flag}", choices=list(rules.MO_SINGLE[field]))
    sub.add_argument("--taken", action="append", choices=list(rules.PROPERTY_TAKEN))
    sub.add_argument("--note", default="", help="the MO in words")


def _order_options(sub: argparse.ArgumentParser, ranks: frozenset[str]) -> None:
    # Every rank is taken: the station says which the rule asks (and lists every problem).
    allowed = ", ".join(sorted(ranks))
    sub.add_argument("--ordered-by", required=True, help="the officer id who ordered it")
    sub.add_argument("--rank", required=True, choices=list(rules.RANKS), help=f"({allowed})")
    sub.add_argument("--order", required=True, help="the order's reference")
    sub.add_argument("--order-date", required=True, help="the order's date (YYYY-MM-DD)")


def register_case(case: Any) -> None:
    """Adds `mo` to the `case` group (admin/investigation_cli.py)."""
    sub = command(case, "mo", cmd_mo, "the modus operandi of accused of a case")
    sub.add_argument("fir", help='e.g. "FIR No. 12/2026"')
    officer_option(sub, "who writes it")
    sub.add_argument("--accused", action="append", required=True, help="an accused code (A1)")
    _mo_options(sub)
    sub = command(case, "similar", cmd_similar, "cases like a case, or like an MO and words")
    sub.add_argument("case", help='"FIR No. 12/2026", or "entry:window_grill_removed night ..."')
    sub.add_argument("--limit", type=int, default=10)


def register(groups: Any) -> None:
    """Adds the `history` command group."""
    group = subcommands(groups, "history", "history sheets: the register of known offenders")
    sub = command(group, "open", cmd_open, "open a history sheet on a person")
    officer_option(sub, "who writes it")
    sub.add_argument("--name", required=True)
    sub.add_argument("--relative", help='e.g. "S/o Gopalan"')
    sub.add_argument("--age", type=int)
    sub.add_argument("--birth-year", type=int)
    sub.add_argument("--sex", choices=["M", "F", "T", "U"])
    sub.add_argument("--address", required=True)
    sub.add_argument("--alias", action="append")
    sub.add_argument("--mark", action="append", help="an identification mark")
    sub.add_argument("--category", required=True, choices=list(rules.CATEGORIES))
    sub.add_argument("--grounds", required=True)
    sub.add_argument(
        "--case", action="append", help='"FIR No. 12/2026", or "ps-aluva:FIR No. 88/2025"'
    )
    _order_options(sub, rules.OPEN_RANKS)
    _mo_options(sub)
    sub = command(group, "review", cmd_review, "retain a sheet on review (the SDPO's order)")
    sub.add_argument("ref", help="the sheet number, e.g. HS/2026/000001")
    officer_option(sub, "who writes it")
    _order_options(sub, rules.REVIEW_RANKS)
    sub.add_argument("--findings", required=True, help="why it is retained")
    sub = command(group, "close", cmd_close, "close a sheet (a gazetted officer's order)")
    sub.add_argument("ref", help="the sheet number, e.g. HS/2026/000001")
    officer_option(sub, "who writes it")
    _order_options(sub, rules.CLOSE_RANKS)
    sub.add_argument("--reason", required=True)
    sub = command(group, "list", cmd_list, "the register of history sheets")
    sub.add_argument("--open", action="store_true", help="open sheets only")


__all__ = ["register", "register_case"]
