"""Lookups and numbering over the index: the highest number of each register, a record by
its reference, a record's amendments, an FIR as it reads now, Zero FIR transfers, counts.

Read-only; the station numbers its registers from these under its lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from node.index.schema import (
    amendments,
    firs,
    gd_entries,
    ncrs,
    person_names,
    persons,
    petitions,
    property_items,
    record_sections,
    records,
    ref_key,
    serial_year,
    zero_fir_transfers,
)
from node.index.search import PropertyHit, property_hit
from node.records.laws import Statutes


@dataclass(frozen=True, slots=True)
class PersonView:
    """A person as currently recorded in a case (amendments applied)."""

    person_id: str
    role: str
    accused_code: str
    name: str
    aliases: tuple[str, ...]
    relative_name: str
    relation: str
    age: int
    sex: str
    address: str
    juvenile: bool
    withheld: bool


@dataclass(frozen=True, slots=True)
class FirView:
    """An FIR as currently indexed (amendments applied)."""

    ledger_index: int
    fir_number: str
    serial: int
    year: int
    zero_fir: bool
    zero_fir_number: str
    district: str
    police_station: str
    jurisdiction_station: str
    registered_at_ms: int
    occurrence_from_ms: int
    occurrence_to_ms: int
    crime_head: str
    status: str
    brief_facts: str
    gd_reference: str
    sections: tuple[str, ...]  # "BNS:303(2)"
    persons: tuple[PersonView, ...]
    property: tuple[PropertyHit, ...]
    amendments: tuple[int, ...]  # ledger indexes of amendments, in order


@dataclass(frozen=True, slots=True)
class ZeroFirTransferRow:
    """One Zero FIR transfer entry as indexed."""

    ledger_index: int
    zero_fir_number: str
    zero_fir_index: int
    to_station: str
    direction: str
    assigned_fir_number: str


# Each numbered register: its table, its number column, and the rows of one period.
_SERIES: dict[str, tuple[sa.Table, sa.ColumnElement[int], Any]] = {
    "fir": (firs, firs.c.serial, lambda period: firs.c.year == int(period)),
    "zero": (
        firs,
        firs.c.zero_serial,
        lambda period: sa.and_(firs.c.zero_year == int(period), firs.c.zero_fir.is_(True)),
    ),
    "gd": (gd_entries, gd_entries.c.gd_number, lambda period: gd_entries.c.gd_date == period),
    "petition": (petitions, petitions.c.serial, lambda period: petitions.c.year == int(period)),
    "ncr": (ncrs, ncrs.c.serial, lambda period: ncrs.c.year == int(period)),
}


class Lookups:
    """Numbering and record lookups of one index (`RecordIndex.lookups`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _scalar(self, stmt: sa.Select[Any]) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(stmt).scalar()

    def max_fir_serial(self, year: int) -> int:
        """The highest FIR serial numbered at this station in `year` (0 if none)."""
        return int(
            self._scalar(sa.select(sa.func.max(firs.c.serial)).where(firs.c.year == year)) or 0
        )

    def fir_exists(self, year: int, serial: int) -> bool:
        """Whether FIR serial/year is already registered here."""
        stmt = sa.select(firs.c.ledger_index).where(
            firs.c.year == year, firs.c.serial == serial, firs.c.serial > 0
        )
        return self._scalar(stmt.limit(1)) is not None

    def max_gd_number(self, gd_date: str) -> int:
        """The last General Diary number of the day (0 if none)."""
        stmt = sa.select(sa.func.max(gd_entries.c.gd_number)).where(gd_entries.c.gd_date == gd_date)
        return int(self._scalar(stmt) or 0)

    def max_petition_serial(self, year: int) -> int:
        """The last petition receipt serial of `year`."""
        stmt = sa.select(sa.func.max(petitions.c.serial)).where(petitions.c.year == year)
        return int(self._scalar(stmt) or 0)

    def max_ncr_serial(self, year: int) -> int:
        """The last NCR serial of `year`."""
        return int(
            self._scalar(sa.select(sa.func.max(ncrs.c.serial)).where(ncrs.c.year == year)) or 0
        )

    def max_zero_fir_serial(self, year: int) -> int:
        """The last Zero FIR serial of `year`."""
        stmt = sa.select(sa.func.max(firs.c.zero_serial)).where(
            firs.c.zero_year == year, firs.c.zero_fir.is_(True)
        )
        return int(self._scalar(stmt) or 0)

    def first_live_number(self, series: str, period: str) -> int | None:
        """The lowest number of `series` ("fir", "zero", "gd", "petition", "ncr") in `period`
        (a year, or a day for "gd") written live, not imported; None when there is none. An
        import may fill numbers below it, never at or above it."""
        table, number, where = _SERIES[series]
        stmt = (
            sa.select(sa.func.min(number))
            .select_from(table.join(records, records.c.ledger_index == table.c.ledger_index))
            .where(where(period), records.c.imported.is_(False), number > 0)
        )
        found = self._scalar(stmt)
        return None if found is None else int(found)

    def first_live_register_ms(self) -> int | None:
        """When the first register record (GD entry, petition, NCR, FIR) was written live, not
        imported (the ledger's clock); None when every one was imported or there is none."""
        stmt = sa.select(sa.func.min(records.c.written_at_ms)).where(
            records.c.kind.in_(("general_diary", "petition", "ncr", "fir")),
            records.c.imported.is_(False),
        )
        found = self._scalar(stmt)
        return None if found is None else int(found)

    def latest_gd_time(self) -> int | None:
        """The latest General Diary entry time of the station (Unix ms), None when empty."""
        found = self._scalar(sa.select(sa.func.max(gd_entries.c.entry_time_ms)))
        return None if found is None else int(found)

    def person_count(self) -> int:
        """How many person rows (persons in records) the index holds."""
        return int(self._scalar(sa.select(sa.func.count()).select_from(persons)) or 0)

    def record_index(self, ref: str) -> int | None:
        """The ledger index of the record called `ref` ("FIR No. 12/2026", "GD 2026-11-28/14",
        "PET/2026/000123", "NCR 3/2026", "ZERO FIR 2/2026"); a bare "12/2026" means an FIR."""
        key = ref_key(ref)
        if not key:
            return None
        stmt = (
            sa.select(records.c.ledger_index)
            .where(records.c.ref_key == key)
            .order_by(records.c.ledger_index)
            .limit(1)
        )
        found = self._scalar(stmt)
        if found is None and re.fullmatch(r"\s*[0-9]{1,9}\s*/\s*[0-9]{4}\s*", ref):
            serial, year = serial_year(ref, year_first=False)
            found = self._scalar(
                sa.select(firs.c.ledger_index).where(
                    firs.c.year == year, firs.c.serial == serial, firs.c.serial > 0
                )
            )
        return None if found is None else int(found)

    def firs_citing_gd(self, gd_ref: str) -> list[int]:
        """Ledger indexes of the FIRs that cite GD entry `gd_ref` ("2026-11-28/14") as the entry
        in which their information was first recorded."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(firs.c.ledger_index)
                .where(firs.c.gd_reference == gd_ref.removeprefix("GD ").strip())
                .order_by(firs.c.ledger_index)
            ).scalars()
            return [int(r) for r in rows]

    def history(self, ref: str) -> list[int]:
        """The original record's ledger index, then each amendment's, in ledger order."""
        original = self.record_index(ref)
        if original is None:
            return []
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(amendments.c.ledger_index)
                .where(amendments.c.target_index == original)
                .order_by(amendments.c.ledger_index)
            ).scalars()
            return [original, *(int(r) for r in rows)]

    # -- queries ---------------------------------------------------------------------------------

    def fir(self, number: str) -> FirView | None:
        """The FIR "FIR No. 12/2026" (or "12/2026", or a Zero FIR's "ZERO FIR 2/2026")."""
        idx = self.record_index(number)
        return None if idx is None else self.fir_at(idx)

    def fir_at(self, idx: int) -> FirView | None:
        """The FIR whose rows are keyed `idx` (its ledger index; on an aggregating node, its
        aggregate key), or None when that is no FIR."""
        with self._engine.connect() as conn:
            f = conn.execute(sa.select(firs).where(firs.c.ledger_index == idx)).one_or_none()
            if f is None:
                return None
            sections = conn.execute(
                sa.select(record_sections.c.act, record_sections.c.section)
                .where(record_sections.c.ledger_index == idx)
                .order_by(record_sections.c.seq)
            ).all()
            aliases: dict[int, list[str]] = {}
            for seq, alias in conn.execute(
                sa.select(person_names.c.person_seq, person_names.c.name)
                .where(
                    person_names.c.ledger_index == idx,
                    person_names.c.kind == "alias",
                    person_names.c.superseded.is_(False),
                )
                .order_by(person_names.c.name_id)
            ):
                aliases.setdefault(int(seq), []).append(str(alias))
            people = tuple(
                PersonView(
                    person_id=p.person_id,
                    role=p.role,
                    accused_code=p.accused_code,
                    name=p.name,
                    aliases=tuple(aliases.get(int(p.seq), ())),
                    relative_name=p.relative_name,
                    relation=p.relation,
                    age=p.age,
                    sex=p.sex,
                    address=p.address,
                    juvenile=p.juvenile,
                    withheld=p.withheld,
                )
                for p in conn.execute(
                    sa.select(persons).where(persons.c.ledger_index == idx).order_by(persons.c.seq)
                )
            )
            prop = tuple(
                property_hit(r)
                for r in conn.execute(
                    sa.select(property_items, records.c.ref)
                    .select_from(
                        property_items.join(
                            records, records.c.ledger_index == property_items.c.ledger_index
                        )
                    )
                    .where(property_items.c.ledger_index == idx)
                    .order_by(property_items.c.seq)
                )
            )
            amendment_indexes = tuple(
                int(i)
                for i in conn.execute(
                    sa.select(amendments.c.ledger_index)
                    .where(amendments.c.target_index == idx)
                    .order_by(amendments.c.ledger_index)
                ).scalars()
            )
        return FirView(
            ledger_index=idx,
            fir_number=f.fir_number,
            serial=f.serial,
            year=f.year,
            zero_fir=f.zero_fir,
            zero_fir_number=f.zero_fir_number,
            district=f.district,
            police_station=f.police_station,
            jurisdiction_station=f.jurisdiction_station,
            registered_at_ms=f.registered_at_ms,
            occurrence_from_ms=f.occurrence_from_ms,
            occurrence_to_ms=f.occurrence_to_ms,
            crime_head=f.crime_head,
            status=f.status,
            brief_facts=f.brief_facts,
            gd_reference=f.gd_reference,
            sections=tuple(f"{act}:{section}" for act, section in sections),
            persons=people,
            property=prop,
            amendments=amendment_indexes,
        )

    def zero_fir_transfers(self, zero_fir_number: str) -> list[ZeroFirTransferRow]:
        """Transfer entries naming a Zero FIR number ("sent", "received", "accepted"), in ledger
        order. Received rows name Zero FIRs of other stations: their `to_station` is the sender."""
        stmt = (
            sa.select(zero_fir_transfers)
            .where(zero_fir_transfers.c.zero_fir_number == zero_fir_number)
            .order_by(zero_fir_transfers.c.ledger_index)
        )
        with self._engine.connect() as conn:
            return [
                ZeroFirTransferRow(
                    ledger_index=int(r.ledger_index),
                    zero_fir_number=r.zero_fir_number,
                    zero_fir_index=int(r.zero_fir_index),
                    to_station=r.to_station,
                    direction=r.direction,
                    assigned_fir_number=r.assigned_fir_number,
                )
                for r in conn.execute(stmt)
            ]

    def counts_by_crime_head(self, year: int | None = None) -> dict[str, int]:
        """Crime FIRs numbered at this station per crime head ("unclassified" when none). A Zero
        FIR registered here for another station is counted there, as NCRB counts a case once.
        Missing persons and unnatural deaths are no crime: `counts_apart_from_crime` has them."""
        return self._counts_by_head(year, crime=True)

    def counts_apart_from_crime(self, year: int | None = None) -> dict[str, int]:
        """FIRs numbered here that register no crime, per head: missing persons (Kerala Police
        Act s.57), unnatural deaths (BNSS s.194, CrPC s.174), the heads of the law tables'
        non-crime rows (`Statutes.non_crime_heads`)."""
        return self._counts_by_head(year, crime=False)

    def _counts_by_head(self, year: int | None, *, crime: bool) -> dict[str, int]:
        heads = sorted(Statutes.default().non_crime_heads())
        apart = firs.c.crime_head.in_(heads)
        stmt = (
            sa.select(firs.c.crime_head, sa.func.count())
            .where(firs.c.serial > 0)
            .where(sa.or_(firs.c.crime_head.is_(None), sa.not_(apart)) if crime else apart)
            .group_by(firs.c.crime_head)
        )
        if year is not None:
            stmt = stmt.where(firs.c.year == year)
        out: dict[str, int] = {}
        with self._engine.connect() as conn:
            for head, count in conn.execute(stmt):
                name = head or "unclassified"
                out[name] = out.get(name, 0) + int(count)
        return dict(sorted(out.items()))
