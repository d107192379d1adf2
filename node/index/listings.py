"""Read-only listings the staff pages need that `RecordIndex` does not offer.

Plain SQLAlchemy Core selects over the index's own tables (`node.index`), run on the index's
engine. Nothing here writes: the index is a projection of the ledger and only the station's
commands change it. Every value from a user is bound as a parameter, never pasted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from node.index import schema as ix
from node.index.record_index import RecordIndex

__all__ = [
    "FirRow",
    "GdRow",
    "PetitionRow",
    "fir_register",
    "fir_years",
    "gd_day",
    "latest_gd_date",
    "recent_petitions",
]


@dataclass(frozen=True, slots=True)
class GdRow:
    """One General Diary entry as the register shows it."""

    ledger_index: int
    gd_date: str
    gd_number: int
    entry_time_ms: int
    category: str
    summary: str
    officer_id: str


@dataclass(frozen=True, slots=True)
class PetitionRow:
    """One petition in the recent list."""

    ledger_index: int
    receipt_number: str
    received_at_ms: int
    petitioner: str
    subject: str
    channel: str
    status: str


@dataclass(frozen=True, slots=True)
class FirRow:
    """One FIR (or Zero FIR) in the register."""

    ledger_index: int
    ref: str  # "FIR No. 12/2026" or "ZERO FIR 3/2026"
    zero_fir: bool
    registered_at_ms: int
    crime_head: str
    sections: tuple[str, ...]  # "BNS 303(2)"
    place: str
    status: str
    officer_id: str


def _engine(index: RecordIndex) -> Engine:
    engine: Engine = index.engine
    return engine


def gd_day(index: RecordIndex, gd_date: str) -> list[GdRow]:
    """The day's General Diary, newest entry first."""
    g, r = ix.gd_entries, ix.records
    stmt = (
        sa.select(
            g.c.ledger_index,
            g.c.gd_date,
            g.c.gd_number,
            g.c.entry_time_ms,
            g.c.category,
            g.c.summary,
            r.c.officer_id,
        )
        .select_from(g.join(r, r.c.ledger_index == g.c.ledger_index))
        .where(g.c.gd_date == gd_date)
        .order_by(g.c.gd_number.desc())
    )
    with _engine(index).connect() as conn:
        return [
            GdRow(
                ledger_index=int(row.ledger_index),
                gd_date=row.gd_date,
                gd_number=int(row.gd_number),
                entry_time_ms=int(row.entry_time_ms),
                category=row.category,
                summary=row.summary,
                officer_id=row.officer_id,
            )
            for row in conn.execute(stmt)
        ]


def latest_gd_date(index: RecordIndex) -> str | None:
    """The most recent diary date with an entry (None for an empty diary)."""
    stmt = sa.select(sa.func.max(ix.gd_entries.c.gd_date))
    with _engine(index).connect() as conn:
        found = conn.execute(stmt).scalar()
    return None if found is None else str(found)


def recent_petitions(index: RecordIndex, limit: int = 100) -> list[PetitionRow]:
    """The latest petitions received, newest first, with the petitioner's name."""
    p, people = ix.petitions, ix.persons
    petitioner = (
        sa.select(people.c.name)
        .where(people.c.ledger_index == p.c.ledger_index, people.c.role == "petitioner")
        .order_by(people.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            p.c.ledger_index,
            p.c.receipt_number,
            p.c.received_at_ms,
            p.c.subject,
            p.c.channel,
            p.c.status,
            petitioner.label("petitioner"),
        )
        .order_by(p.c.ledger_index.desc())
        .limit(max(1, min(limit, 1000)))
    )
    with _engine(index).connect() as conn:
        return [
            PetitionRow(
                ledger_index=int(row.ledger_index),
                receipt_number=row.receipt_number,
                received_at_ms=int(row.received_at_ms),
                petitioner=row.petitioner or "",
                subject=row.subject,
                channel=row.channel,
                status=row.status,
            )
            for row in conn.execute(stmt)
        ]


def fir_years(index: RecordIndex) -> list[int]:
    """Years with FIRs (or Zero FIRs) registered here, newest first."""
    stmt = sa.select(ix.firs.c.year).distinct().order_by(ix.firs.c.year.desc())
    with _engine(index).connect() as conn:
        return [int(y) for y in conn.execute(stmt).scalars() if y]


def fir_register(index: RecordIndex, year: int, limit: int = 2000) -> list[FirRow]:
    """The FIR register of `year`, newest first: FIRs numbered here and Zero FIRs registered
    here, with their sections in written order."""
    f, r, s = ix.firs, ix.records, ix.record_sections
    stmt = (
        sa.select(
            f.c.ledger_index,
            f.c.fir_number,
            f.c.zero_fir,
            f.c.zero_fir_number,
            f.c.registered_at_ms,
            f.c.crime_head,
            f.c.place,
            f.c.status,
            r.c.officer_id,
        )
        .select_from(f.join(r, r.c.ledger_index == f.c.ledger_index))
        .where(f.c.year == year)
        .order_by(f.c.registered_at_ms.desc(), f.c.ledger_index.desc())
        .limit(max(1, min(limit, 10000)))
    )
    with _engine(index).connect() as conn:
        rows = list(conn.execute(stmt))
        indexes = [int(row.ledger_index) for row in rows]
        sections: dict[int, list[str]] = {}
        for start in range(0, len(indexes), 500):
            chunk = indexes[start : start + 500]
            for idx, act, section in conn.execute(
                sa.select(s.c.ledger_index, s.c.act, s.c.section)
                .where(s.c.ledger_index.in_(chunk))
                .order_by(s.c.ledger_index, s.c.seq)
            ):
                sections.setdefault(int(idx), []).append(f"{act} {section}")
    return [
        FirRow(
            ledger_index=int(row.ledger_index),
            ref=row.fir_number or row.zero_fir_number,
            zero_fir=bool(row.zero_fir),
            registered_at_ms=int(row.registered_at_ms),
            crime_head=row.crime_head,
            sections=tuple(sections.get(int(row.ledger_index), ())),
            place=row.place,
            status=row.status,
            officer_id=row.officer_id,
        )
        for row in rows
    ]
