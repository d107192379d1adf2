"""The station's registers over a period, for printing and export (`node.station.register_export`).

Each register is one SQLAlchemy Core select over the index's own tables, in the order the
register is written (oldest first), restricted to the period's dates: the General Diary by its
diary date, the others by the time of their event (registered, reported, received, arrested,
seized, wanted since; a court's process by when the station received it) from 00:00 IST of
the first day to 24:00 IST of the last. Rows are read in pages (`pages`), each page on a
connection of its own, so that a long export holds no connection between pages (a web download
streams them from worker threads).

Nothing here writes, and every value is bound as a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from node.index import schema as ix
from node.index.casework import case_wanted_table
from node.index.history import history_sheets_table
from node.index.investigation import custody_table, property_register_table
from node.index.processes import process_register_table
from node.index.record_index import RecordIndex
from node.index.services import missing_persons_table

__all__ = [
    "PAGE_ROWS",
    "Period",
    "count",
    "pages",
    "register_select",
    "sections_of",
]

PAGE_ROWS = 500


@dataclass(frozen=True, slots=True)
class Period:
    """From the first day to the last, both whole days in India: `start_ms` inclusive,
    `end_ms` exclusive; `first_day`/`last_day` as YYYY-MM-DD (the diary's dates)."""

    first_day: str
    last_day: str
    start_ms: int
    end_ms: int


#: The sections under which an unnatural death is registered for an inquest.
INQUEST = (("BNSS", "194"), ("CRPC", "174"))


def _between(column: sa.ColumnElement[Any], period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(column >= period.start_ms, column < period.end_ms)


def _person_of(role: str, column: str) -> Any:
    """The first person of `role` in the record's persons, one column of them."""
    people = ix.persons
    return (
        sa.select(people.c[column])
        .where(people.c.ledger_index == ix.records.c.ledger_index, people.c.role == role)
        .order_by(people.c.seq)
        .limit(1)
        .scalar_subquery()
    )


def register_select(kind: str, period: Period) -> sa.Select[Any]:
    """The select of register `kind` (see `node.station.register_export.KINDS`) over `period`,
    ordered as the register is written."""
    r = ix.records
    if kind == "gd":
        g = ix.gd_entries
        return (
            sa.select(g, r.c.officer_id)
            .select_from(g.join(r, r.c.ledger_index == g.c.ledger_index))
            .where(g.c.gd_date >= period.first_day, g.c.gd_date <= period.last_day)
            .order_by(g.c.gd_date, g.c.gd_number, g.c.ledger_index)
        )
    if kind == "fir":
        f = ix.firs
        return (
            sa.select(f, r.c.officer_id)
            .select_from(f.join(r, r.c.ledger_index == f.c.ledger_index))
            .where(_between(f.c.registered_at_ms, period))
            .order_by(f.c.registered_at_ms, f.c.ledger_index)
        )
    if kind == "ncr":
        n = ix.ncrs
        return (
            sa.select(n, r.c.officer_id)
            .select_from(n.join(r, r.c.ledger_index == n.c.ledger_index))
            .where(_between(n.c.reported_at_ms, period))
            .order_by(n.c.reported_at_ms, n.c.ledger_index)
        )
    if kind == "petition":
        p = ix.petitions
        return (
            sa.select(
                p,
                r.c.officer_id,
                _person_of("petitioner", "name").label("petitioner"),
                _person_of("petitioner", "withheld").label("petitioner_withheld"),
            )
            .select_from(p.join(r, r.c.ledger_index == p.c.ledger_index))
            .where(_between(p.c.received_at_ms, period))
            .order_by(p.c.received_at_ms, p.c.ledger_index)
        )
    if kind == "lockup":
        c = custody_table
        return (
            sa.select(c)
            .where(_between(c.c.arrested_at_ms, period))
            .order_by(c.c.arrested_at_ms, c.c.arrest_index, c.c.position)
        )
    if kind == "property":
        t = property_register_table
        return (
            sa.select(t)
            .where(_between(t.c.seized_at_ms, period))
            .order_by(t.c.seized_at_ms, t.c.seizure_index, t.c.item_ref)
        )
    if kind == "unnatural-deaths":
        # The FIRs registering an inquest into an unnatural death (BNSS s.194, CrPC s.174
        # before 1 July 2024), the deceased being the case's victim.
        f, sec = ix.firs, ix.record_sections
        inquest = sa.exists().where(
            sec.c.ledger_index == f.c.ledger_index,
            sa.or_(
                *(sa.and_(sec.c.act == act, sec.c.section == section) for act, section in INQUEST)
            ),
        )
        return (
            sa.select(
                f,
                r.c.officer_id,
                _person_of("victim", "name").label("deceased"),
                _person_of("victim", "age").label("deceased_age"),
                _person_of("victim", "sex").label("deceased_sex"),
                _person_of("victim", "withheld").label("deceased_withheld"),
                _person_of("complainant", "name").label("informant"),
                _person_of("complainant", "withheld").label("informant_withheld"),
            )
            .select_from(f.join(r, r.c.ledger_index == f.c.ledger_index))
            .where(_between(f.c.registered_at_ms, period), inquest)
            .order_by(f.c.registered_at_ms, f.c.ledger_index)
        )
    if kind == "missing":
        m = missing_persons_table
        return (
            sa.select(m)
            .where(_between(m.c.reported, period))
            .order_by(m.c.reported, m.c.ledger_index)
        )
    if kind == "process":
        t = process_register_table
        return (
            sa.select(t)
            .where(_between(t.c.received_at_ms, period))
            .order_by(t.c.received_at_ms, t.c.ledger_index)
        )
    if kind == "history":
        # The sheets in force at any time of the period: opened before its end, not closed
        # before its start (a register of known offenders lists the standing sheets).
        h = history_sheets_table
        return (
            sa.select(h)
            .where(
                h.c.opened_at_ms < period.end_ms,
                sa.or_(h.c.closed_at_ms == 0, h.c.closed_at_ms >= period.start_ms),
            )
            .order_by(h.c.opened_at_ms, h.c.ledger_index)
        )
    if kind == "wanted":
        w = case_wanted_table
        return (
            sa.select(w)
            .where(_between(w.c.at_ms, period))
            .order_by(w.c.at_ms, w.c.fir_number, w.c.accused_code)
        )
    raise KeyError(kind)


def count(index: RecordIndex, stmt: sa.Select[Any]) -> int:
    """How many rows `stmt` gives."""
    counted = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    with index.engine.connect() as conn:
        return int(conn.execute(counted).scalar() or 0)


def pages(index: RecordIndex, stmt: sa.Select[Any], size: int = PAGE_ROWS) -> Iterator[list[Any]]:
    """The rows of `stmt` in pages of `size`, each page read on a connection of its own (the
    select's order is total: every register orders by a unique key last)."""
    offset = 0
    while True:
        with index.engine.connect() as conn:
            rows = list(conn.execute(stmt.limit(size).offset(offset)))
        if rows:
            yield rows
        if len(rows) < size:
            return
        offset += size


def sections_of(index: RecordIndex, ledger_indexes: Iterable[int]) -> dict[int, list[str]]:
    """The sections ("BNS 303(2)") of FIRs or NCRs, by ledger index, in written order."""
    s = ix.record_sections
    wanted: Sequence[int] = list(ledger_indexes)
    found: dict[int, list[str]] = {}
    with index.engine.connect() as conn:
        for start in range(0, len(wanted), PAGE_ROWS):
            chunk = wanted[start : start + PAGE_ROWS]
            for idx, act, section in conn.execute(
                sa.select(s.c.ledger_index, s.c.act, s.c.section)
                .where(s.c.ledger_index.in_(chunk))
                .order_by(s.c.ledger_index, s.c.seq)
            ):
                found.setdefault(int(idx), []).append(f"{act} {section}")
    return found
