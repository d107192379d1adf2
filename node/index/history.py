"""The history sheets and the MO entries in the index (the rules: `node.records.history`).

Derived from the log only (`HistorySheet` entries, and `CaseEvent`s of kind "modus_operandi"),
so a rebuilt index has the same rows. The same projection runs in a station's index
(`HistoryProjection`, rows keyed by ledger index) and in an aggregating node's index over its
replicas (`project`, called by `node.index.aggregate.index` with the office's key base, rows
keyed by aggregate key), so a history search or an MO search reads the same columns in both:

    history_sheets       one row per sheet, keyed by its opening entry: the person, category,
                         grounds, order, cases, MO, and where it stands (open or closed, the
                         last order, when it is due for review)
    history_sheet_steps  every step of a sheet (opened, reviewed, closed), in order
    mo_entries           one row per accused per MO entry, with its attributes as columns (the
                         codes of `node.records.history`); `superseded_by` is the later entry
                         for the same accused of the same case (0 while current)

The person's name is searched through the core person tables (role "history_sheeted",
`node.index.projection`), never here. The read functions below are all the queries there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from node.index.aggregate import keys
from node.index.search import PersonHit, Search
from node.records import limits
from node.records.history import (
    CATEGORIES,
    CLOSED,
    CLOSED_STATUS,
    MO_SINGLE,
    MO_VOCABULARY,
    OPEN,
    OPENED,
    label,
    review_due_ms,
)
from node.records.sealing import WITHHELD_TEXT
from protos import ledger_pb2, records_pb2

metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

history_sheets_table = sa.Table(
    "history_sheets",
    metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("sheet_number", sa.String(40), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("category", sa.String(24), nullable=False),
    sa.Column("name", sa.Text, nullable=False),  # "" when the entry carries a commitment only
    sa.Column("relative", sa.Text, nullable=False),  # "S/o Raghavan"
    sa.Column("age", sa.Integer, nullable=False),
    sa.Column("birth_year", sa.Integer, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("aliases", sa.Text, nullable=False),  # "; "-joined
    sa.Column("marks", sa.Text, nullable=False),  # identification marks, "; "-joined
    sa.Column("grounds", sa.Text, nullable=False),
    sa.Column("cases", sa.Text, nullable=False),  # "FIR No. 3/2026; FIR No. 9/2025 (ps-aluva)"
    sa.Column("time_of_day", sa.String(24), nullable=False),
    sa.Column("place_type", sa.String(24), nullable=False),
    sa.Column("entry_method", sa.String(24), nullable=False),
    sa.Column("property_taken", sa.Text, nullable=False),  # " "-joined codes
    sa.Column("weapon", sa.String(24), nullable=False),
    sa.Column("vehicle_used", sa.String(24), nullable=False),
    sa.Column("mo_note", sa.Text, nullable=False),
    sa.Column("opened_at_ms", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # OPEN or CLOSED_STATUS
    sa.Column("ordered_by", sa.String(80), nullable=False),  # the last order's
    sa.Column("ordered_by_rank", sa.String(24), nullable=False),
    sa.Column("order_reference", sa.Text, nullable=False),
    sa.Column("last_order_ms", sa.BigInteger, nullable=False),  # opened or last retained
    sa.Column("review_due_ms", sa.BigInteger, nullable=False),  # 0 once closed
    sa.Column("closed_at_ms", sa.BigInteger, nullable=False),
    sa.Column("closing_note", sa.Text, nullable=False),
    sa.Column("updated_index", sa.BigInteger, nullable=False),
    sa.Index("ix_history_sheets_number", "sheet_number", "ledger_index"),
    sa.Index("ix_history_sheets_year_serial", "year", "serial"),
)
history_steps_table = sa.Table(
    "history_sheet_steps",
    metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("sheet_index", sa.BigInteger, nullable=False),  # the sheet's row
    sa.Column("sheet_number", sa.String(40), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("ordered_by", sa.String(80), nullable=False),
    sa.Column("ordered_by_rank", sa.String(24), nullable=False),
    sa.Column("order_reference", sa.Text, nullable=False),
    sa.Column("order_date", sa.String(10), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # the grounds, a review's findings, the reason
    sa.Index("ix_history_sheet_steps_sheet", "sheet_index"),
)
mo_entries_table = sa.Table(
    "mo_entries",
    metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # accused in the entry
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),  # or a case key
    sa.Column("accused_code", sa.String(8), nullable=False),
    sa.Column("name", sa.Text, nullable=False),  # "" when withheld or not known by name
    sa.Column("time_of_day", sa.String(24), nullable=False),
    sa.Column("place_type", sa.String(24), nullable=False),
    sa.Column("entry_method", sa.String(24), nullable=False),
    sa.Column("property_taken", sa.Text, nullable=False),  # " "-joined codes
    sa.Column("weapon", sa.String(24), nullable=False),
    sa.Column("vehicle_used", sa.String(24), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("superseded_by", sa.BigInteger, nullable=False),  # 0 while current
    sa.Index("ix_mo_entries_case", "fir_number", "accused_code"),
    sa.Index("ix_mo_entries_entry", "entry_method", "place_type"),
)
TABLES: tuple[sa.Table, ...] = (history_sheets_table, history_steps_table, mo_entries_table)
# The role a history-sheeted person is indexed with among persons (node/index/projection.py).
SHEETED_ROLE = "history_sheeted"


def _relative(person: records_pb2.Person) -> str:
    return f"{person.relation} {person.relative_name}".strip() if person.relative_name else ""


def _case_text(case: records_pb2.SheetCase) -> str:
    return case.fir_number + (f" ({case.office})" if case.office else "")


def _office_range(base: int) -> tuple[int, int]:
    """The row keys of one log: an office's range on an aggregating node, all of them (base 0)
    in a station's own index."""
    return base, base + keys.MAX_ENTRIES


def project(conn: Connection, key: int, body: ledger_pb2.EntryBody, *, base: int = 0) -> None:
    """Writes what entry `body` (row key `key`; `base`: its log's first key) adds to the
    history and MO tables."""
    kind = body.WhichOneof("record")
    if kind == "history_sheet":
        _sheet(conn, key, body, base)
    elif kind == "case_event" and body.case_event.kind == "modus_operandi":
        _mo(conn, key, body, base)


def _sheet(conn: Connection, key: int, body: ledger_pb2.EntryBody, base: int) -> None:
    sheet = body.history_sheet
    at = sheet.at_ms or body.written_at_ms
    t = history_sheets_table
    if sheet.action == OPENED:
        parts = sheet.sheet_number.split("/")
        year, serial = (int(parts[1]), int(parts[2])) if len(parts) == 3 else (0, 0)
        person, mo = sheet.person, sheet.mo
        withheld = bool(person.identity_commitment) and not person.name
        conn.execute(
            t.insert().values(
                ledger_index=key,
                sheet_number=sheet.sheet_number,
                serial=serial,
                year=year,
                category=sheet.category,
                name=WITHHELD_TEXT if withheld else person.name,
                relative="" if withheld else _relative(person),
                age=person.age,
                birth_year=sheet.birth_year,
                address="" if withheld else person.address,
                aliases="" if withheld else "; ".join(person.aliases),
                marks="" if withheld else "; ".join(person.identifying_marks),
                grounds=sheet.grounds,
                cases="; ".join(_case_text(c) for c in sheet.cases),
                time_of_day=mo.time_of_day,
                place_type=mo.place_type,
                entry_method=mo.entry_method,
                property_taken=" ".join(mo.property_taken),
                weapon=mo.weapon,
                vehicle_used=mo.vehicle_used,
                mo_note=mo.note,
                opened_at_ms=at,
                status=OPEN,
                ordered_by=sheet.ordered_by,
                ordered_by_rank=sheet.ordered_by_rank,
                order_reference=sheet.order_reference,
                last_order_ms=at,
                review_due_ms=review_due_ms(at),
                closed_at_ms=0,
                closing_note="",
                updated_index=key,
            )
        )
        sheet_index = key
    else:
        low, high = _office_range(base)
        found = conn.execute(
            sa.select(t.c.ledger_index).where(
                t.c.sheet_number == sheet.sheet_number,
                t.c.ledger_index >= low,
                t.c.ledger_index < high,
            )
        ).scalar()
        if found is None:  # a step of a sheet this log never opened: nothing to follow
            return
        sheet_index = int(found)
        values: dict[str, Any] = {
            "ordered_by": sheet.ordered_by,
            "ordered_by_rank": sheet.ordered_by_rank,
            "order_reference": sheet.order_reference,
            "updated_index": key,
        }
        if sheet.action == CLOSED:
            values.update(
                status=CLOSED_STATUS, review_due_ms=0, closed_at_ms=at, closing_note=sheet.note
            )
        else:
            values.update(last_order_ms=at, review_due_ms=review_due_ms(at))
        conn.execute(t.update().where(t.c.ledger_index == sheet_index).values(**values))
    conn.execute(
        history_steps_table.insert().values(
            ledger_index=key,
            sheet_index=sheet_index,
            sheet_number=sheet.sheet_number,
            action=sheet.action,
            at_ms=at,
            officer_id=body.officer_id,
            ordered_by=sheet.ordered_by,
            ordered_by_rank=sheet.ordered_by_rank,
            order_reference=sheet.order_reference,
            order_date=sheet.order_date,
            text=sheet.note if sheet.action == CLOSED else (sheet.grounds or sheet.note),
        )
    )


def _mo(conn: Connection, key: int, body: ledger_pb2.EntryBody, base: int) -> None:
    event = body.case_event
    mo = event.mo
    at = event.at_ms or body.written_at_ms
    names = {
        p.accused_code: ("" if p.person.identity_commitment else p.person.name)
        for p in event.persons
    }
    codes = list(dict.fromkeys(c for c in mo.accused_codes if c))
    if not codes:
        return
    t = mo_entries_table
    low, high = _office_range(base)
    conn.execute(
        t.update()
        .where(
            t.c.fir_number == event.fir_number,
            t.c.accused_code.in_(codes),
            t.c.superseded_by == 0,
            t.c.ledger_index >= low,
            t.c.ledger_index < high,
        )
        .values(superseded_by=key)
    )
    conn.execute(
        t.insert(),
        [
            {
                "ledger_index": key,
                "seq": seq,
                "fir_number": event.fir_number,
                "accused_code": code,
                "name": names.get(code, ""),
                "time_of_day": mo.time_of_day,
                "place_type": mo.place_type,
                "entry_method": mo.entry_method,
                "property_taken": " ".join(mo.property_taken),
                "weapon": mo.weapon,
                "vehicle_used": mo.vehicle_used,
                "note": mo.note,
                "at_ms": at,
                "superseded_by": 0,
            }
            for seq, code in enumerate(codes)
        ],
    )


class HistoryProjection:
    """The history and MO tables of a station's index (see
    `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        project(conn, index, body)


# -- reads ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One history sheet, as it stands."""

    ledger_index: int
    sheet_number: str
    category: str
    name: str
    relative: str
    age: int
    birth_year: int
    address: str
    aliases: str
    marks: str
    grounds: str
    cases: str
    mo: dict[str, str]
    opened_at_ms: int
    status: str
    ordered_by: str
    ordered_by_rank: str
    order_reference: str
    last_order_ms: int
    review_due_ms: int
    closed_at_ms: int
    closing_note: str

    @property
    def open(self) -> bool:
        return self.status == OPEN

    def review_overdue(self, now_ms: int) -> bool:
        return self.open and 0 < self.review_due_ms <= now_ms


def _sheet_row(r: Any) -> SheetRow:
    mo = {name: str(getattr(r, name)) for name in (*MO_SINGLE, "property_taken")}
    mo["note"] = r.mo_note
    return SheetRow(
        ledger_index=int(r.ledger_index),
        sheet_number=r.sheet_number,
        category=r.category,
        name=r.name,
        relative=r.relative,
        age=int(r.age),
        birth_year=int(r.birth_year),
        address=r.address,
        aliases=r.aliases,
        marks=r.marks,
        grounds=r.grounds,
        cases=r.cases,
        mo=mo,
        opened_at_ms=int(r.opened_at_ms),
        status=r.status,
        ordered_by=r.ordered_by,
        ordered_by_rank=r.ordered_by_rank,
        order_reference=r.order_reference,
        last_order_ms=int(r.last_order_ms),
        review_due_ms=int(r.review_due_ms),
        closed_at_ms=int(r.closed_at_ms),
        closing_note=r.closing_note,
    )


def sheets(engine: Engine, *, open_only: bool = False, limit: int = 500) -> list[SheetRow]:
    """The register: open sheets first (by number), then the closed ones, latest first."""
    t = history_sheets_table
    stmt = sa.select(t)
    if open_only:
        stmt = stmt.where(t.c.status == OPEN)
    stmt = stmt.order_by(
        sa.case((t.c.status == OPEN, 0), else_=1), t.c.year, t.c.serial, t.c.ledger_index
    ).limit(limit)
    with engine.connect() as conn:
        return [_sheet_row(r) for r in conn.execute(stmt)]


def find_sheet(engine: Engine, sheet_number: str) -> SheetRow | None:
    """A station's sheet by number (its own index: numbers are unique there)."""
    t = history_sheets_table
    with engine.connect() as conn:
        found = conn.execute(sa.select(t).where(t.c.sheet_number == sheet_number)).first()
    return None if found is None else _sheet_row(found)


def sheets_at(engine: Engine, row_keys: Iterable[int]) -> dict[int, SheetRow]:
    """The sheets whose opening entries are `row_keys` (for search hits)."""
    wanted = sorted(set(row_keys))
    if not wanted:
        return {}
    t = history_sheets_table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.ledger_index.in_(wanted))).all()
    return {int(r.ledger_index): _sheet_row(r) for r in rows}


def max_sheet_serial(engine: Engine, year: int) -> int:
    """The highest sheet number's serial of `year` (for the station's counter)."""
    t = history_sheets_table
    with engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(t.c.serial)).where(t.c.year == year)).scalar()
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class StepRow:
    ledger_index: int
    action: str
    at_ms: int
    officer_id: str
    ordered_by: str
    ordered_by_rank: str
    order_reference: str
    order_date: str
    text: str


def steps(engine: Engine, sheet_index: int) -> list[StepRow]:
    """Every step of the sheet opened at `sheet_index`, in order."""
    t = history_steps_table
    stmt = sa.select(t).where(t.c.sheet_index == sheet_index).order_by(t.c.ledger_index)
    with engine.connect() as conn:
        return [
            StepRow(
                int(r.ledger_index),
                r.action,
                int(r.at_ms),
                r.officer_id,
                r.ordered_by,
                r.ordered_by_rank,
                r.order_reference,
                r.order_date,
                r.text,
            )
            for r in conn.execute(stmt)
        ]


@dataclass(frozen=True, slots=True)
class MoRow:
    """The MO of one accused in one case, as one entry recorded it."""

    ledger_index: int
    fir_number: str
    accused_code: str
    name: str
    attributes: dict[str, str]  # attribute -> code(s), property_taken " "-joined
    note: str
    at_ms: int
    superseded_by: int

    @property
    def current(self) -> bool:
        return self.superseded_by == 0


def _mo_row(r: Any) -> MoRow:
    return MoRow(
        ledger_index=int(r.ledger_index),
        fir_number=r.fir_number,
        accused_code=r.accused_code,
        name=r.name,
        attributes={name: str(getattr(r, name)) for name in (*MO_SINGLE, "property_taken")},
        note=r.note,
        at_ms=int(r.at_ms),
        superseded_by=int(r.superseded_by),
    )


def case_mo(engine: Engine, fir_number: str, *, current_only: bool = True) -> list[MoRow]:
    """The MO entries of a case (a station's own index), by accused; the current ones only
    unless `current_only` is False (then the superseded ones too, in order)."""
    t = mo_entries_table
    stmt = sa.select(t).where(t.c.fir_number == fir_number)
    if current_only:
        stmt = stmt.where(t.c.superseded_by == 0)
    stmt = stmt.order_by(t.c.accused_code, t.c.ledger_index)
    with engine.connect() as conn:
        return [_mo_row(r) for r in conn.execute(stmt)]


def match_mo(
    engine: Engine, wanted: dict[str, set[str]], *, limit: int = 50
) -> list[tuple[MoRow, float]]:
    """The current MO entries matching any of `wanted` (attribute -> codes), each with its
    score: the share of the attributes asked that it matches; best first."""
    if not wanted:
        return []
    t = mo_entries_table
    conditions: list[sa.ColumnElement[bool]] = []
    for attribute, codes in wanted.items():
        column = t.c[attribute]
        if attribute == "property_taken":
            conditions.extend(
                sa.or_(column == c, column.like(f"{c} %"), column.like(f"% {c}"),
                       column.like(f"% {c} %"))
                for c in sorted(codes)
            )  # fmt: skip
        else:
            conditions.append(column.in_(sorted(codes)))
    stmt = sa.select(t).where(t.c.superseded_by == 0, sa.or_(*conditions))
    stmt = stmt.order_by(t.c.ledger_index.desc()).limit(20 * limit)
    with engine.connect() as conn:
        rows = [_mo_row(r) for r in conn.execute(stmt)]
    scored = []
    for row in rows:
        matched = sum(
            1
            for attribute, codes in wanted.items()
            if codes & set(row.attributes[attribute].split())
        )
        scored.append((row, round(matched / len(wanted), 4)))
    scored.sort(key=lambda pair: (-pair[1], -pair[0].ledger_index))
    return scored[:limit]


# -- search --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SheetHit:
    """A history-sheeted person found by name, with their sheet as it stands (None when the
    sheet's row is missing: an index being rebuilt)."""

    person: PersonHit
    sheet: SheetRow | None

    @property
    def detail(self) -> str:
        """'history sheet: known depredator, open; S/o Gopalan; age 34; matched 'x''."""
        parts = [describe_sheet(self.sheet) if self.sheet is not None else "history sheet"]
        h = self.person
        if h.relative_name:
            parts.append(f"{h.relation or 'relative'} {h.relative_name}".strip())
        if h.age:
            parts.append(f"age {h.age}")
        if self.sheet is not None and self.sheet.aliases:
            parts.append(f"alias {self.sheet.aliases}")
        if h.matched_name and h.matched_name != h.name:
            parts.append(f"matched {h.matched_name!r}")
        return "; ".join(parts)


def describe_sheet(sheet: SheetRow) -> str:
    """A sheet in a line: 'history sheet HS/2026/000001: known depredator, open'."""
    category = label(CATEGORIES, sheet.category)
    return f"history sheet {sheet.sheet_number}: {category}, {sheet.status}"


def search_sheets(search: Search, engine: Engine, query: str, *, limit: int = 50) -> list[SheetHit]:
    """History-sheeted persons by name (the misspellings person search allows), each with
    their sheet from `engine` (the same index: a station's own, or the aggregate)."""
    hits = search.persons(query, role=SHEETED_ROLE, limit=limit)
    rows = sheets_at(engine, [h.ledger_index for h in hits])
    return [SheetHit(h, rows.get(h.ledger_index)) for h in hits]


def sheeted_names(
    search: Search, engine: Engine, query: str, *, limit: int = 50
) -> dict[tuple[str, str], SheetRow]:
    """The sheets of the persons a person search for `query` may find, by (name, relative's
    name) in lower case: `sheet_note` tells a person hit from them."""
    out: dict[tuple[str, str], SheetRow] = {}
    for found in search_sheets(search, engine, query, limit=limit):
        if found.sheet is not None:
            key = (found.person.name.strip().lower(), found.person.relative_name.strip().lower())
            if key not in out or found.sheet.open:
                out[key] = found.sheet
    return out


def sheet_note(hit: PersonHit, sheeted: dict[tuple[str, str], SheetRow]) -> str:
    """'history-sheeted (HS/2026/000001, open)' for a person hit whose name (and relative's,
    when both are known) is that of a sheeted person; "" otherwise or for the sheet itself."""
    if hit.role == SHEETED_ROLE:
        return ""
    name, relative = hit.name.strip().lower(), hit.relative_name.strip().lower()
    found = sheeted.get((name, relative))
    if found is None and not relative:
        found = next((s for (n, _), s in sheeted.items() if n == name), None)
    if found is None:
        return ""
    return f"history-sheeted ({found.sheet_number}, {found.status})"


def mo_text(attributes: dict[str, str], language: str = "en") -> str:
    """The attributes of an MO, labelled: 'Night (22-4), Locked house, Window grill removed'."""
    parts = []
    for attribute, vocabulary in MO_VOCABULARY.items():
        for code in attributes.get(attribute, "").split():
            parts.append(label(vocabulary, code, language))
    return ", ".join(parts)
