"""The index's tables of transferred investigations and altered sections (the rules:
`node.records.case_transfer`).

`TransfersProjection` derives them from the log only (fed the same entries as the core tables,
in the same transactions), so a rebuilt index has the same rows:

    case_transfers_out   one row per case this station transferred: to whom, on whose order,
                         and the receiver's take-over once recorded back here
    cases_taken_over     one row per case another station transferred here (a CaseTakeover
                         entry): from whom, the FIR's number, sections and facts as the
                         sender's proven entries hold them, the order, and the key the unit's
                         own case events name it by ("FIR No. 12/2026 of kerala/.../ps-x":
                         `node.records.case_transfer.case_key`)
    section_alterations  every alteration of a case's sections, in order

A case's sections now are read, not stored: the FIR's sections (`record_sections`, as amended)
with the alterations applied in order (`current_sections`), so an amendment of the FIR's
sections and an alteration written in either order give the same answer as a rebuild.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from node.index.record_index import RecordIndex
from node.index.schema import firs, record_sections
from node.records import limits
from node.records.case_transfer import (
    SECTIONS_ALTERED,
    TRANSFER_ACCEPTED,
    TRANSFERRED,
    apply_alterations,
    case_key,
    key,
    parse_case_key,
)
from node.records.validation import ist_date
from protos import ledger_pb2, records_pb2

_metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

case_transfers_out_table = sa.Table(
    "case_transfers_out",
    _metadata,
    sa.Column("fir_number", sa.String(40), primary_key=True),
    sa.Column("ledger_index", sa.BigInteger, nullable=False),  # the "transferred" event
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("to_node_id", sa.String(200), nullable=False),
    sa.Column("to_unit", sa.Text, nullable=False),
    sa.Column("ordered_by", sa.Text, nullable=False),
    sa.Column("order_reference", sa.Text, nullable=False),
    sa.Column("order_date", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("accepted_index", sa.BigInteger, nullable=False),  # 0 until accepted
    sa.Column("receiver_origin", sa.String(200), nullable=False),
    sa.Column("takeover_index", sa.BigInteger, nullable=False),
)
cases_taken_over_table = sa.Table(
    "cases_taken_over",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("from_origin", sa.String(200), nullable=False),
    sa.Column("fir_number", sa.String(40), nullable=False),
    sa.Column("fir_index", sa.BigInteger, nullable=False),  # in the sender's log
    sa.Column("transfer_index", sa.BigInteger, nullable=False),  # in the sender's log
    sa.Column("from_station", sa.Text, nullable=False),
    sa.Column("district", sa.Text, nullable=False),
    sa.Column("registered_at_ms", sa.BigInteger, nullable=False),
    sa.Column("sections", sa.Text, nullable=False),  # "BNS 103(1), BNS 61(2)" as the FIR cites
    sa.Column("crime_head", sa.Text, nullable=False),
    sa.Column("to_unit", sa.Text, nullable=False),
    sa.Column("ordered_by", sa.Text, nullable=False),
    sa.Column("order_reference", sa.Text, nullable=False),
    sa.Column("order_date", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("transferred_at_ms", sa.BigInteger, nullable=False),
    sa.Column("taken_over_at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    # How the unit's case events name the case, and the FIR's sections as [[act, section], ...].
    sa.Column("case_key", sa.String(limits.CASE_KEY), nullable=False),
    sa.Column("section_keys", sa.Text, nullable=False),
    sa.Index("ix_cases_taken_over_origin", "from_origin", "fir_number", unique=True),
    sa.Index("ix_cases_taken_over_key", "case_key", unique=True),
)
section_alterations_table = sa.Table(
    "section_alterations",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),  # or a case key
    sa.Column("added", sa.Text, nullable=False),  # JSON [[act, section], ...]
    sa.Column("dropped", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("court", sa.Text, nullable=False),
    sa.Column("report_date", sa.String(10), nullable=False),
    sa.Column("report_reference", sa.Text, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Index("ix_section_alterations_fir", "fir_number"),
)


def _pairs(sections: Iterable[records_pb2.ActSection]) -> str:
    return json.dumps([list(key(s)) for s in sections])


def _inner(leaf: bytes) -> ledger_pb2.EntryBody:
    """The body of a leaf (a SignedEntry) another log signed: verified before it was written."""
    return ledger_pb2.EntryBody.FromString(ledger_pb2.SignedEntry.FromString(leaf).body)


class TransfersProjection:
    """The transfer and alteration tables (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return _metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        kind = body.WhichOneof("record")
        if kind == "case_takeover":
            self._taken_over(conn, index, body)
            return
        if kind != "case_event":
            return
        event = body.case_event
        at = event.at_ms or body.written_at_ms
        t = case_transfers_out_table
        if event.kind == TRANSFERRED:
            move = event.transfer
            conn.execute(t.delete().where(t.c.fir_number == event.fir_number))
            conn.execute(
                t.insert().values(
                    fir_number=event.fir_number,
                    ledger_index=index,
                    at_ms=at,
                    to_node_id=move.to_node_id,
                    to_unit=move.to_unit,
                    ordered_by=move.ordered_by,
                    order_reference=move.order_reference,
                    order_date=move.order_date,
                    reason=move.reason,
                    officer_id=body.officer_id,
                    accepted_index=0,
                    receiver_origin="",
                    takeover_index=0,
                )
            )
        elif event.kind == TRANSFER_ACCEPTED:
            conn.execute(
                t.update()
                .where(t.c.fir_number == event.fir_number)
                .values(
                    accepted_index=index,
                    receiver_origin=event.transfer.receiver_origin,
                    takeover_index=event.transfer.takeover_index,
                )
            )
        elif event.kind == SECTIONS_ALTERED:
            change = event.alteration
            conn.execute(
                section_alterations_table.insert().values(
                    ledger_index=index,
                    fir_number=event.fir_number,
                    added=_pairs(change.added),
                    dropped=_pairs(change.dropped),
                    reason=change.reason,
                    court=change.court,
                    report_date=change.report_date,
                    report_reference=change.report_reference,
                    at_ms=at,
                    officer_id=body.officer_id,
                )
            )

    @staticmethod
    def _taken_over(conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        took = body.case_takeover
        fir = _inner(took.fir.leaf).fir
        sent = _inner(took.transfer.leaf)
        move = sent.case_event.transfer
        conn.execute(
            cases_taken_over_table.insert().values(
                ledger_index=index,
                from_origin=took.from_origin,
                fir_number=took.fir_number,
                fir_index=took.fir.index,
                transfer_index=took.transfer.index,
                from_station=fir.police_station,
                district=fir.district,
                registered_at_ms=fir.registered_at_ms,
                sections=", ".join(f"{s.act} {s.section}" for s in fir.sections),
                crime_head=fir.crime_head,
                to_unit=move.to_unit,
                ordered_by=move.ordered_by,
                order_reference=move.order_reference,
                order_date=move.order_date,
                reason=move.reason,
                transferred_at_ms=sent.case_event.at_ms or sent.written_at_ms,
                taken_over_at_ms=body.written_at_ms,
                officer_id=body.officer_id,
                case_key=case_key(took.fir_number, took.from_origin),
                section_keys=_pairs(fir.sections),
            )
        )


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferOut:
    """A case of this station whose investigation was transferred to another unit."""

    fir_number: str
    ledger_index: int
    at_ms: int
    to_node_id: str
    to_unit: str
    ordered_by: str
    order_reference: str
    order_date: str
    reason: str
    officer_id: str
    accepted_index: int  # 0 until the receiver's take-over is recorded here
    receiver_origin: str
    takeover_index: int

    @property
    def accepted(self) -> bool:
        return bool(self.accepted_index)


def _out(r: Any) -> TransferOut:
    return TransferOut(
        fir_number=r.fir_number,
        ledger_index=int(r.ledger_index),
        at_ms=int(r.at_ms),
        to_node_id=r.to_node_id,
        to_unit=r.to_unit,
        ordered_by=r.ordered_by,
        order_reference=r.order_reference,
        order_date=r.order_date,
        reason=r.reason,
        officer_id=r.officer_id,
        accepted_index=int(r.accepted_index),
        receiver_origin=r.receiver_origin,
        takeover_index=int(r.takeover_index),
    )


def refusal(sent: TransferOut) -> str:
    """Why the sending station records no more investigation in a transferred case."""
    return (
        f"the investigation of {sent.fir_number} was transferred to {sent.to_unit} on "
        f"{ist_date(sent.at_ms).isoformat()} (order {sent.order_reference} of {sent.ordered_by}): "
        "it is recorded there now"
    )


def transfer_out(index: RecordIndex, fir_number: str) -> TransferOut | None:
    """The transfer of the case `fir_number`'s investigation, or None if it stays here."""
    t = case_transfers_out_table
    with index.engine.connect() as conn:
        r = conn.execute(sa.select(t).where(t.c.fir_number == fir_number)).first()
    return None if r is None else _out(r)


def transfers_out(index: RecordIndex) -> list[TransferOut]:
    """Every case this station transferred, newest first."""
    t = case_transfers_out_table
    with index.engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.ledger_index.desc())).all()
    return [_out(r) for r in rows]


def transferred_numbers(index: RecordIndex) -> set[str]:
    """The FIR numbers of the cases transferred out."""
    t = case_transfers_out_table
    with index.engine.connect() as conn:
        return set(conn.execute(sa.select(t.c.fir_number)).scalars())


@dataclass(frozen=True, slots=True)
class TakenOver:
    """A case another station transferred here."""

    ledger_index: int
    from_origin: str
    fir_number: str
    fir_index: int
    transfer_index: int
    from_station: str
    district: str
    registered_at_ms: int
    sections: str
    crime_head: str
    to_unit: str
    ordered_by: str
    order_reference: str
    order_date: str
    reason: str
    transferred_at_ms: int
    taken_over_at_ms: int
    officer_id: str
    case_key: str  # how the unit's case events name it
    section_keys: str  # JSON [[act, section], ...]

    @property
    def cited(self) -> list[tuple[str, str]]:
        """The FIR's sections as the sender's proven entry holds them."""
        return [(a, s) for a, s in json.loads(self.section_keys)]


def _taken(r: Any) -> TakenOver:
    return TakenOver(
        **{c: r._mapping[c] for c in cases_taken_over_table.c.keys()}  # noqa: SIM118
    )


def cases_taken_over(index: RecordIndex, *, limit: int = 500) -> list[TakenOver]:
    """The cases taken over by this unit, newest first."""
    t = cases_taken_over_table
    with index.engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.ledger_index.desc()).limit(limit)).all()
    return [_taken(r) for r in rows]


def _one_taken(index: RecordIndex, *conditions: sa.ColumnElement[bool]) -> TakenOver | None:
    t = cases_taken_over_table
    with index.engine.connect() as conn:
        r = conn.execute(sa.select(t).where(*conditions)).first()
    return None if r is None else _taken(r)


def taken_over(index: RecordIndex, from_origin: str, fir_number: str) -> TakenOver | None:
    """The take-over of `fir_number` of the log `from_origin`, if recorded here."""
    t = cases_taken_over_table
    return _one_taken(index, t.c.from_origin == from_origin, t.c.fir_number == fir_number)


def taken_over_case(index: RecordIndex, text: str) -> TakenOver | None:
    """The case taken over here that `text` names ("FIR No. 12/2026 of kerala/.../ps-x", as
    people type it: `node.records.case_transfer.parse_case_key`), or None."""
    parsed = parse_case_key(text)
    if parsed is None:
        return None
    return _one_taken(index, cases_taken_over_table.c.case_key == " of ".join(parsed))


def taken_over_at(index: RecordIndex, ledger_index: int) -> TakenOver | None:
    """The case taken over by the CaseTakeover entry `ledger_index`, or None."""
    return _one_taken(index, cases_taken_over_table.c.ledger_index == ledger_index)


@dataclass(frozen=True, slots=True)
class Alteration:
    """One alteration of a case's sections, as reported to the court."""

    ledger_index: int
    fir_number: str
    added: list[tuple[str, str]]
    dropped: list[tuple[str, str]]
    reason: str
    court: str
    report_date: str
    report_reference: str
    at_ms: int
    officer_id: str


def alterations(index: RecordIndex, fir_number: str) -> list[Alteration]:
    """The alterations of the case's sections, in order."""
    t = section_alterations_table
    stmt = sa.select(t).where(t.c.fir_number == fir_number).order_by(t.c.ledger_index)
    with index.engine.connect() as conn:
        return [
            Alteration(
                ledger_index=int(r.ledger_index),
                fir_number=r.fir_number,
                added=[(a, s) for a, s in json.loads(r.added)],
                dropped=[(a, s) for a, s in json.loads(r.dropped)],
                reason=r.reason,
                court=r.court,
                report_date=r.report_date,
                report_reference=r.report_reference,
                at_ms=int(r.at_ms),
                officer_id=r.officer_id,
            )
            for r in conn.execute(stmt)
        ]


def fir_sections(index: RecordIndex, fir_number: str) -> list[tuple[str, str]]:
    """The FIR's own sections (as registered, or as an amendment corrected them); of a case
    taken over (`fir_number` its key), as the sender's proven FIR entry holds them."""
    t = cases_taken_over_table
    with index.engine.connect() as conn:
        held = conn.execute(sa.select(t.c.section_keys).where(t.c.case_key == fir_number)).scalar()
    if held is not None:
        return [(a, s) for a, s in json.loads(held)]
    s = record_sections
    # The FIR's row first, by its year and serial (indexed), then its sections by their key:
    # joined in one statement with the numbers compared as text, SQLite walked every section of
    # the station, then every FIR (13 ms, then 10 ms at 200,000 records, on every case page).
    numbered = re.fullmatch(r"(ZERO FIR|FIR No\.) ([0-9]+)/([0-9]{4})", fir_number)
    serial, year = (int(numbered[2]), int(numbered[3])) if numbered else (0, 0)
    if numbered is None:  # not a number this station gives: compared as text
        where = sa.or_(
            firs.c.fir_number == fir_number,
            sa.and_(firs.c.fir_number == "", firs.c.zero_fir_number == fir_number),
        )
    elif numbered[1] == "FIR No.":
        where = sa.and_(
            firs.c.year == year, firs.c.serial == serial, firs.c.fir_number == fir_number
        )
    else:  # a Zero FIR sent on before it was numbered here
        where = sa.and_(
            firs.c.zero_year == year,
            firs.c.zero_serial == serial,
            firs.c.fir_number == "",
            firs.c.zero_fir_number == fir_number,
        )
    fir = sa.select(firs.c.ledger_index).where(where)
    with index.engine.connect() as conn:
        keys = [int(k) for k in conn.execute(fir).scalars()]
        stmt = (
            sa.select(s.c.act, s.c.section)
            .where(s.c.ledger_index.in_(keys))
            .order_by(s.c.ledger_index, s.c.seq)
        )
        return [(str(r.act).upper(), "".join(str(r.section).split())) for r in conn.execute(stmt)]


def current_sections(index: RecordIndex, fir_number: str) -> list[tuple[str, str]]:
    """The case's sections now: the FIR's, with every alteration applied in order."""
    return apply_alterations(
        fir_sections(index, fir_number),
        [(a.added, a.dropped) for a in alterations(index, fir_number)],
    )


def altered_cases(
    index: RecordIndex,
) -> dict[str, list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]]:
    """Every case with alterations: its (added, dropped) pairs in order, by FIR number."""
    t = section_alterations_table
    found: dict[str, list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]] = {}
    with index.engine.connect() as conn:
        for r in conn.execute(sa.select(t).order_by(t.c.ledger_index)):
            found.setdefault(r.fir_number, []).append(
                (
                    [(a, s) for a, s in json.loads(r.added)],
                    [(a, s) for a, s in json.loads(r.dropped)],
                )
            )
    return found
