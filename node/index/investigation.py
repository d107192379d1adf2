"""The investigation tables of the index: the lock-up register, the property register, the case
diary's days and the final report's clocks (the rules: `node.records.investigation`).

`InvestigationProjection` derives them from case events only (fed the same entries as the core
tables, in the same transactions), so a rebuilt index has the same rows:

    custody            one row per person arrested (or noticed to appear): since when, where
                       now (at the station awaiting production, remanded, out), the clocks
    case_clocks        per case: the final report's due day for bail by default (from the
                       first remand)
    property_register  one row per seized item, with where it is now
    property_movements every movement of an item, in order (its chain of custody)
    diary_days         the investigation days a case diary has, one entry each

The read functions below are all the queries there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from node.index.record_index import RecordIndex
from node.records import limits
from node.records.investigation import (
    AT_STATION,
    MOVEMENTS,
    OUT,
    REMANDS,
    STATION,
    item_ref,
    production_due,
)
from protos import ledger_pb2, records_pb2

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

custody_table = sa.Table(
    "custody",
    _metadata,
    sa.Column("arrest_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),
    sa.Column("accused_code", sa.String(8), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("arrested_at_ms", sa.BigInteger, nullable=False),
    sa.Column("production_due_ms", sa.BigInteger, nullable=False),  # 0 for a notice
    sa.Column("noticed", sa.Boolean, nullable=False),  # a notice to appear, not an arrest
    sa.Column("memo_complete", sa.Boolean, nullable=False),  # grounds, witness, informed
    sa.Column("status", sa.String(24), nullable=False),  # AT_STATION, a remand, an OUT order
    sa.Column("produced_at_ms", sa.BigInteger, nullable=False),  # 0 until produced
    sa.Column("remand_until_ms", sa.BigInteger, nullable=False),
    sa.Column("court", sa.Text, nullable=False),
    sa.Column("updated_index", sa.BigInteger, nullable=False),
    sa.Index("ix_custody_fir_code", "fir_number", "accused_code"),
    sa.Index("ix_custody_status", "status"),
)
case_clocks_table = sa.Table(
    "case_clocks",
    _metadata,
    sa.Column("fir_number", sa.String(limits.CASE_KEY), primary_key=True),
    sa.Column("first_remand_ms", sa.BigInteger, nullable=False),
    sa.Column("final_report_due_ms", sa.BigInteger, nullable=False),
)
property_register_table = sa.Table(
    "property_register",
    _metadata,
    sa.Column("item_ref", sa.String(40), primary_key=True),
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),
    sa.Column("seizure_index", sa.BigInteger, nullable=False),
    sa.Column("category", sa.String(80), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("identifiers", sa.Text, nullable=False),
    sa.Column("value_inr", sa.BigInteger, nullable=False),
    sa.Column("seized_at_ms", sa.BigInteger, nullable=False),
    sa.Column("seized_place", sa.Text, nullable=False),
    sa.Column("witnesses", sa.Text, nullable=False),  # "; "-joined, from the mahazar
    sa.Column("video_reference", sa.Text, nullable=False),
    sa.Column("location", sa.String(24), nullable=False),  # STATION, COURT, ...
    sa.Column("counterpart", sa.Text, nullable=False),  # the court, the laboratory, the owner
    sa.Column("updated_index", sa.BigInteger, nullable=False),
    sa.Index("ix_property_register_fir", "fir_number"),
    sa.Index("ix_property_register_location", "location"),
)
property_movements_table = sa.Table(
    "property_movements",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("item_ref", sa.String(40), nullable=False),
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),
    sa.Column("movement", sa.String(24), nullable=False),
    sa.Column("from_location", sa.String(24), nullable=False),
    sa.Column("to_location", sa.String(24), nullable=False),
    sa.Column("counterpart", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Index("ix_property_movements_item", "item_ref"),
)
diary_days_table = sa.Table(
    "diary_days",
    _metadata,
    sa.Column("fir_number", sa.String(limits.CASE_KEY), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("ledger_index", sa.BigInteger, nullable=False),
)


def _memo_complete(memo: records_pb2.ArrestMemo) -> bool:
    return bool(
        memo.notice_to_appear or (memo.grounds and memo.attesting_witness and memo.informed_person)
    )


class InvestigationProjection:
    """The investigation tables of the index (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        if body.WhichOneof("record") != "case_event":
            return
        event = body.case_event
        at = event.at_ms or body.written_at_ms
        if event.kind == "arrest":
            self._arrest(conn, index, event, at)
        elif event.kind == "custody":
            self._custody(conn, index, event, at)
        elif event.kind == "seizure":
            self._seizure(conn, index, event, at)
        elif event.kind == "property_movement":
            self._movement(conn, index, body, at)
        elif event.kind == "case_diary" and event.HasField("diary"):
            conn.execute(
                diary_days_table.insert().values(
                    fir_number=event.fir_number, day=event.diary.day, ledger_index=index
                )
            )

    @staticmethod
    def _arrest(conn: Connection, index: int, event: records_pb2.CaseEvent, at: int) -> None:
        memo = event.arrest_memo
        noticed = memo.notice_to_appear
        for position, entry in enumerate(event.persons, 1):
            conn.execute(
                custody_table.insert().values(
                    arrest_index=index,
                    position=position,
                    fir_number=event.fir_number,
                    accused_code=entry.accused_code,
                    name=entry.person.name,
                    arrested_at_ms=at,
                    production_due_ms=0 if noticed else production_due(at),
                    noticed=noticed,
                    memo_complete=_memo_complete(memo),
                    status="noticed" if noticed else AT_STATION,
                    produced_at_ms=0,
                    remand_until_ms=0,
                    court="",
                    updated_index=index,
                )
            )

    @staticmethod
    def _custody(conn: Connection, index: int, event: records_pb2.CaseEvent, at: int) -> None:
        order = event.custody
        t = custody_table
        held = conn.execute(
            sa.select(t.c.arrest_index, t.c.position, t.c.produced_at_ms)
            .where(
                t.c.fir_number == event.fir_number,
                t.c.accused_code == order.accused_code,
                t.c.noticed.is_(False),
                t.c.status.not_in(OUT),
            )
            .order_by(t.c.arrest_index.desc())
            .limit(1)
        ).first()
        if held is None:  # the station refuses such an order; an imported one changes nothing
            return
        conn.execute(
            t.update()
            .where(t.c.arrest_index == held.arrest_index, t.c.position == held.position)
            .values(
                status=order.order,
                # Produced when a court made the order (a release from the station is none).
                produced_at_ms=held.produced_at_ms or (at if order.court else 0),
                remand_until_ms=order.until_ms if order.order in REMANDS else 0,
                court=order.court,
                updated_index=index,
            )
        )
        if order.final_report_due_ms:
            c = case_clocks_table
            known = conn.execute(
                sa.select(c.c.fir_number).where(c.c.fir_number == event.fir_number)
            ).first()
            if known is None:
                conn.execute(
                    c.insert().values(
                        fir_number=event.fir_number,
                        first_remand_ms=at,
                        final_report_due_ms=order.final_report_due_ms,
                    )
                )

    @staticmethod
    def _seizure(conn: Connection, index: int, event: records_pb2.CaseEvent, at: int) -> None:
        mahazar = event.mahazar
        for position, item in enumerate(event.property, 1):
            conn.execute(
                property_register_table.insert().values(
                    item_ref=item_ref(index, position),
                    fir_number=event.fir_number,
                    seizure_index=index,
                    category=item.category,
                    description=item.description,
                    identifiers=item.identifiers,
                    value_inr=item.value_inr,
                    seized_at_ms=at,
                    seized_place=mahazar.place,
                    witnesses="; ".join(mahazar.witnesses),
                    video_reference=mahazar.video_reference,
                    location=STATION,
                    counterpart="",
                    updated_index=index,
                )
            )

    @staticmethod
    def _movement(conn: Connection, index: int, body: ledger_pb2.EntryBody, at: int) -> None:
        event = body.case_event
        move = event.movement
        rule = MOVEMENTS.get(move.movement)
        t = property_register_table
        where = conn.execute(sa.select(t.c.location).where(t.c.item_ref == move.item)).scalar()
        if rule is None or where is None:  # refused by the station; imported: nothing moves
            return
        conn.execute(
            property_movements_table.insert().values(
                ledger_index=index,
                item_ref=move.item,
                fir_number=event.fir_number,
                movement=move.movement,
                from_location=where,
                to_location=rule[1],
                counterpart=move.counterpart,
                reference=move.reference,
                at_ms=at,
                officer_id=body.officer_id,
            )
        )
        conn.execute(
            t.update()
            .where(t.c.item_ref == move.item)
            .values(location=rule[1], counterpart=move.counterpart, updated_index=index)
        )


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustodyRow:
    """A person arrested (or noticed to appear) in a case of this station, and where they are."""

    arrest_index: int
    position: int
    fir_number: str
    accused_code: str
    name: str
    arrested_at_ms: int
    production_due_ms: int
    noticed: bool
    memo_complete: bool
    status: str
    produced_at_ms: int
    remand_until_ms: int
    court: str

    @property
    def awaiting_production(self) -> bool:
        return self.status == AT_STATION

    def production_overdue(self, now: int) -> bool:
        """Held at the station past the 24 hours without being produced."""
        return self.awaiting_production and now > self.production_due_ms


def _custody_rows(index: RecordIndex, *conditions: sa.ColumnElement[bool]) -> list[CustodyRow]:
    t = custody_table
    stmt = sa.select(t).where(*conditions).order_by(t.c.arrested_at_ms, t.c.arrest_index)
    with index.engine.connect() as conn:
        return [
            CustodyRow(
                arrest_index=int(r.arrest_index),
                position=int(r.position),
                fir_number=r.fir_number,
                accused_code=r.accused_code,
                name=r.name,
                arrested_at_ms=int(r.arrested_at_ms),
                production_due_ms=int(r.production_due_ms),
                noticed=bool(r.noticed),
                memo_complete=bool(r.memo_complete),
                status=r.status,
                produced_at_ms=int(r.produced_at_ms),
                remand_until_ms=int(r.remand_until_ms),
                court=r.court,
            )
            for r in conn.execute(stmt)
        ]


def lockup_register(index: RecordIndex) -> list[CustodyRow]:
    """Everyone held in the station's cases now: at the station awaiting production, or
    remanded (police or judicial custody); longest held first."""
    t = custody_table
    return _custody_rows(index, t.c.status.in_((AT_STATION, *REMANDS)))


def arrests(index: RecordIndex, fir_number: str | None = None) -> list[CustodyRow]:
    """Every arrest and notice to appear (of one case, or of the station), in order."""
    t = custody_table
    conditions = [] if fir_number is None else [t.c.fir_number == fir_number]
    return _custody_rows(index, *conditions)


def held_in_case(index: RecordIndex, fir_number: str, accused_code: str) -> CustodyRow | None:
    """The accused `accused_code` of the case if held now (arrested and not out), else None."""
    t = custody_table
    rows = _custody_rows(
        index,
        t.c.fir_number == fir_number,
        t.c.accused_code == accused_code,
        t.c.noticed.is_(False),
        t.c.status.not_in(OUT),
    )
    return rows[-1] if rows else None


def production_overdue(index: RecordIndex, now: int) -> list[CustodyRow]:
    """Persons held at the station past their 24 hours without production."""
    t = custody_table
    return _custody_rows(index, t.c.status == AT_STATION, t.c.production_due_ms < now)


@dataclass(frozen=True, slots=True)
class CaseClock:
    fir_number: str
    first_remand_ms: int
    final_report_due_ms: int


def case_clock(index: RecordIndex, fir_number: str) -> CaseClock | None:
    """The case's final-report clock for bail by default, once someone was remanded."""
    t = case_clocks_table
    with index.engine.connect() as conn:
        r = conn.execute(sa.select(t).where(t.c.fir_number == fir_number)).first()
    if r is None:
        return None
    return CaseClock(r.fir_number, int(r.first_remand_ms), int(r.final_report_due_ms))


def case_clocks(index: RecordIndex) -> list[CaseClock]:
    t = case_clocks_table
    with index.engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.final_report_due_ms)).all()
    return [
        CaseClock(r.fir_number, int(r.first_remand_ms), int(r.final_report_due_ms)) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class PropertyRow:
    """An item of the property register and where it is now."""

    item_ref: str
    fir_number: str
    category: str
    description: str
    identifiers: str
    value_inr: int
    seized_at_ms: int
    seized_place: str
    witnesses: str
    video_reference: str
    location: str
    counterpart: str


def _property(index: RecordIndex, *conditions: sa.ColumnElement[bool]) -> list[PropertyRow]:
    t = property_register_table
    stmt = sa.select(t).where(*conditions).order_by(t.c.seizure_index, t.c.item_ref)
    with index.engine.connect() as conn:
        return [
            PropertyRow(
                item_ref=r.item_ref,
                fir_number=r.fir_number,
                category=r.category,
                description=r.description,
                identifiers=r.identifiers,
                value_inr=int(r.value_inr),
                seized_at_ms=int(r.seized_at_ms),
                seized_place=r.seized_place,
                witnesses=r.witnesses,
                video_reference=r.video_reference,
                location=r.location,
                counterpart=r.counterpart,
            )
            for r in conn.execute(stmt)
        ]


def property_register(index: RecordIndex, fir_number: str | None = None) -> list[PropertyRow]:
    """The property register (of one case, or the station's), in order of seizure."""
    t = property_register_table
    return _property(index, *([] if fir_number is None else [t.c.fir_number == fir_number]))


def property_item(index: RecordIndex, ref: str) -> PropertyRow | None:
    found = _property(index, property_register_table.c.item_ref == ref)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Movement:
    ledger_index: int
    item_ref: str
    movement: str
    from_location: str
    to_location: str
    counterpart: str
    reference: str
    at_ms: int
    officer_id: str


def movements(index: RecordIndex, ref: str) -> list[Movement]:
    """An item's chain of custody after its seizure: every movement, in order."""
    t = property_movements_table
    stmt = sa.select(t).where(t.c.item_ref == ref).order_by(t.c.ledger_index)
    with index.engine.connect() as conn:
        return [_movement_of(r) for r in conn.execute(stmt)]


def _movement_of(r: Any) -> Movement:
    return Movement(
        ledger_index=int(r.ledger_index),
        item_ref=r.item_ref,
        movement=r.movement,
        from_location=r.from_location,
        to_location=r.to_location,
        counterpart=r.counterpart,
        reference=r.reference,
        at_ms=int(r.at_ms),
        officer_id=r.officer_id,
    )


def diary_days(index: RecordIndex, fir_number: str) -> dict[str, int]:
    """The investigation days the case diary holds: day -> the entry's ledger index."""
    t = diary_days_table
    stmt = sa.select(t.c.day, t.c.ledger_index).where(t.c.fir_number == fir_number)
    with index.engine.connect() as conn:
        return {r.day: int(r.ledger_index) for r in conn.execute(stmt)}
