"""Projecting ledger entries into the index's tables, in ledger order.

The log is the truth: rows are only ever derived from entries, so dropping the tables and
applying the same entries again gives identical rows. Each record kind has its projector
(`_PROJECTORS`: its row in `records` and its own rows); extensions bring more tables through
the `Projection` protocol. Rows are gathered in a `Batch` and inserted with the driver's fastest
bulk path (executemany on SQLite, COPY on PostgreSQL).
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from ledger.errors import InputError
from node.index.schema import (
    INSERT_ORDER,
    amendments,
    firs,
    gd_entries,
    name_keys,
    name_tokens,
    ncrs,
    person_names,
    persons,
    petitions,
    property_items,
    record_sections,
    records,
    ref_key,
    serial_year,
    vehicles,
    year_of_ms,
    zero_fir_transfers,
)
from node.index.search import PAIR_KEY_MAX, name_key, pair_key
from node.records import names, withholding
from node.records.laws import Statutes
from node.records.validation import identifier_key, registration_key
from protos import ledger_pb2, records_pb2


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """One ledger entry to project: its position in the log and its decoded body."""

    index: int
    body: ledger_pb2.EntryBody


class Projection(Protocol):
    """An extension of the index: more tables, fed the same entries in the same transaction.

    Areas that add record kinds (casework, citizen services, ...) project them here instead of
    growing this module; they take part in drop-and-rebuild and in `snapshot()` like the rest.
    """

    @property
    def metadata(self) -> sa.MetaData: ...

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        """Writes whatever `body` (ledger entry `index`) adds to this projection's tables."""
        ...


_ROLE_NAMES = {v: k.lower() for k, v in records_pb2.PersonRole.items() if v}
_STATUS_NAMES = {v: k.lower() for k, v in records_pb2.PropertyStatus.items() if v}
_PERSON_PATH_RE = re.compile(r"^persons\.(.+)\.([a-z_]+)$")

# --- applying entries ---------------------------------------------------------------------------


# Column names per table, in table order: batches hold plain tuples in this order, so inserts
# skip SQLAlchemy's per-row parameter processing (most of apply's time before).
_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns) for t in INSERT_ORDER
}
_ROW_OF: dict[str, operator.itemgetter[Any]] = {
    name: operator.itemgetter(*cols) for name, cols in _COLUMNS.items()
}


@dataclass(slots=True)
class Batch:
    """Rows waiting to be inserted (tuples in column order, per table), plus the next name id
    to hand out and the `name_tokens` rows the names bring (inserted by `flush_tokens`).

    `base` is added to every ledger index an entry cites (the FIR a Zero FIR transfer sends,
    the entry an amendment corrects): 0 in a node's own index, where rows are keyed by ledger
    index; an aggregating node's index keys each origin's rows from the origin's own base
    (`node.aggregate.keys`), and an entry's citations stay within its own log."""

    next_name_id: int
    base: int = 0
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    tokens: set[tuple[str, str, str]] = field(default_factory=set)  # name_tokens rows

    def add(self, table: sa.Table, row: dict[str, Any]) -> None:
        self.rows.setdefault(table.name, []).append(_ROW_OF[table.name](row))

    def add_tuple(self, table: sa.Table, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table.name, []).append(row)

    def flush(self, conn: Connection) -> None:
        for table in INSERT_ORDER:
            rows = self.rows.pop(table.name, None)
            if rows:
                if table is name_keys:
                    rows.sort()  # in key order, the b-tree is written page by page
                insert_rows(conn, table, rows)

    def flush_tokens(self, conn: Connection) -> None:
        if self.tokens:
            _insert_tokens(conn, sorted(self.tokens))
            self.tokens.clear()

    def add_name_form(
        self,
        ledger_index: int,
        person_seq: int,
        kind: str,
        name: str,
        added_at: int,
        person: tuple[int, str],
    ) -> tuple[int, _NameForm] | None:
        """Adds one written name of a person (`person`: their age and role); returns its name
        id and analysis (None: nothing to search)."""
        form = _name_form(kind, name)
        if form is None:
            return None
        name_id = self.next_name_id
        self.next_name_id += 1
        self.rows.setdefault(person_names.name, []).append(
            (name_id, ledger_index, person_seq, kind, name, *form.columns, False, added_at,
             *person)
        )  # fmt: skip
        key_rows = self.rows.setdefault(name_keys.name, [])
        for pos, (v_key, p_key) in enumerate(form.keys):
            key_rows.append((v_key, name_id, pos))
            key_rows.append((p_key, name_id, pos))
        self.tokens.update(form.tokens)
        return name_id, form

    def add_pair_keys(
        self, own: Iterable[tuple[int, Sequence[str]]], relative_phonetics: Iterable[str]
    ) -> None:
        """Adds one person's `pair_rows`."""
        rows = pair_rows(own, relative_phonetics)
        if rows:
            self.rows.setdefault(name_keys.name, []).extend(rows)


def pair_rows(
    own: Iterable[tuple[int, Sequence[str]]], relative_phonetics: Iterable[str]
) -> list[tuple[str, int, int]]:
    """The `name_keys` rows (key, name id, pos) of one person's "name x relative" keys
    (`search.pair_key`): the phonetic key of each main token of each of `own` names and
    aliases (name id, phonetic keys) with each of `relative_phonetics` (of the relative's
    names), so that a search by name and relative starts from the few persons whose relative
    also matches."""
    relatives = sorted(set(relative_phonetics))
    out: list[tuple[str, int, int]] = []
    if not relatives:
        return out
    for name_id, phonetics in own:
        seen: set[tuple[str, int]] = set()
        for pos, phonetic in enumerate(phonetics):
            for relative in relatives:
                key = pair_key(phonetic, relative)
                if len(key) <= PAIR_KEY_MAX and (key, pos) not in seen:
                    seen.add((key, pos))
                    out.append((key, name_id, pos))
    return out


@dataclass(frozen=True, slots=True)
class _NameForm:
    """What one written name of one kind puts in `person_names`, `name_keys`, `name_tokens`."""

    columns: tuple[str, str, str, str]  # normalised, initials, variants, phonetics
    keys: tuple[tuple[str, str], ...]  # per main token: its variant and phonetic lookup keys
    tokens: tuple[tuple[str, str, str], ...]  # name_tokens rows
    phonetics: tuple[str, ...]  # per main token: its phonetic key (for the pair keys)


@functools.lru_cache(maxsize=65536)
def _name_form(kind: str, name: str) -> _NameForm | None:
    # Names repeat a lot across records; the analysis is pure, so it is done once per name.
    keys = names.analyse(name)
    if not keys.mains:
        return None
    token_kind = "relative" if kind == "relative" else "name"
    return _NameForm(
        columns=(
            keys.normalised,
            keys.initials,
            " ".join(keys.variants),
            " ".join(keys.phonetics),
        ),
        keys=tuple(
            (name_key(kind, "v", v), name_key(kind, "p", p))
            for v, p in zip(keys.variants, keys.phonetics, strict=True)
        ),
        tokens=tuple(
            (token_kind, main, variant)
            for main, variant in zip(keys.mains, keys.variants, strict=True)
        ),
        phonetics=keys.phonetics,
    )


def backfill_name_tokens(conn: Connection) -> None:
    """Fills `name_tokens` for an index written before the table existed (once: an empty
    table beside indexed names), with the rows applying the same entries would have given."""
    if conn.execute(sa.select(name_tokens.c.kind).limit(1)).first() is not None:
        return
    if conn.execute(sa.select(person_names.c.name_id).limit(1)).first() is None:
        return
    found: set[tuple[str, str, str]] = set()
    stmt = sa.select(person_names.c.kind, person_names.c.normalised, person_names.c.variants)
    for kind, normalised, variants in conn.execute(stmt):
        token_kind = "relative" if kind == "relative" else "name"
        mains = [t for t in str(normalised).split() if len(t) > 1]
        found.update((token_kind, t, v) for t, v in zip(mains, str(variants).split(), strict=False))
    _insert_tokens(conn, sorted(found))


def _insert_tokens(conn: Connection, rows: list[tuple[str, str, str]]) -> None:
    """Adds `name_tokens` rows that are not there yet."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (
            sqlite_dialect.insert(name_tokens)
            if dialect == "sqlite"
            else postgresql_dialect.insert(name_tokens)
        )
        conn.execute(
            insert.on_conflict_do_nothing(),
            [{"kind": k, "token": t, "variant": v} for k, t, v in rows],
        )
        return
    existing = {
        (str(k), str(t))
        for k, t in conn.execute(
            sa.select(name_tokens.c.kind, name_tokens.c.token).where(
                name_tokens.c.token.in_(sorted({t for _, t, _ in rows}))
            )
        )
    }
    new = [{"kind": k, "token": t, "variant": v} for k, t, v in rows if (k, t) not in existing]
    if new:
        conn.execute(name_tokens.insert(), new)


def insert_rows(conn: Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Inserts `rows` (tuples in column order) with the driver's fastest bulk path: one
    executemany on SQLite, COPY on PostgreSQL with psycopg; SQLAlchemy's insert elsewhere."""
    cols = _COLUMNS.get(table.name) or tuple(c.name for c in table.columns)
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    column_list = ", ".join(quote(c) for c in cols)
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        marks = ", ".join("?" * len(cols))
        sql = f"INSERT INTO {quote(table.name)} ({column_list}) VALUES ({marks})"
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
    elif dialect.name == "postgresql" and dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {quote(table.name)} ({column_list}) FROM STDIN") as copy,
        ):
            # Declared types spare psycopg a dumper lookup per value (a quarter of the time).
            copy.set_types([_pg_type(table.c[name].type) for name in cols])
            write = copy.write_row
            for row in rows:
                write(row)
    else:
        conn.execute(table.insert(), [dict(zip(cols, row, strict=True)) for row in rows])


def _pg_type(kind: sa.types.TypeEngine[Any]) -> str:
    """The PostgreSQL type a column's values are sent as in a COPY."""
    if isinstance(kind, sa.BigInteger):
        return "int8"
    if isinstance(kind, sa.Integer):
        return "int4"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Float):
        return "float8"
    return "text"


def _person_row(
    ledger_index: int,
    seq: int,
    person: records_pb2.Person,
    role: str,
    accused_code: str = "",
    unknown: bool = False,
    protected: bool = False,
) -> dict[str, Any]:
    return {
        "ledger_index": ledger_index,
        "seq": seq,
        "person_id": person.person_id,
        "role": role,
        "accused_code": accused_code,
        "unknown": unknown,
        "name": person.name,
        "relative_name": person.relative_name,
        "relation": person.relation,
        "age": person.age,
        "date_of_birth": person.date_of_birth,
        "sex": person.sex,
        "address": person.address,
        "mobile": person.mobile,
        "juvenile": person.juvenile,
        "withheld": protected or bool(person.identity_commitment),
    }


def _add_person(
    batch: Batch,
    ledger_index: int,
    seq: int,
    person: records_pb2.Person,
    role: str,
    accused_code: str = "",
    unknown: bool = False,
    protected: bool = False,
) -> None:
    """A person's row, and their names to search by unless the withholding policy protects them
    (`protected`) or the entry carries only a commitment: such a person is never found by name."""
    row = _person_row(ledger_index, seq, person, role, accused_code, unknown, protected)
    batch.add(persons, row)
    if row["withheld"]:
        return
    who = (int(row["age"]), str(row["role"]))
    own = [batch.add_name_form(ledger_index, seq, "name", person.name, ledger_index, who)]
    for alias in person.aliases:
        own.append(batch.add_name_form(ledger_index, seq, "alias", alias, ledger_index, who))
    if person.relative_name:
        relative = batch.add_name_form(
            ledger_index, seq, "relative", person.relative_name, ledger_index, who
        )
        if relative is not None:
            batch.add_pair_keys(
                ((f[0], f[1].phonetics) for f in own if f is not None), relative[1].phonetics
            )


def _add_persons(
    batch: Batch,
    ledger_index: int,
    entries: Sequence[records_pb2.PersonInCase],
    offence: withholding.Offence,
    roles: Sequence[str],
) -> None:
    """The persons of one record, in order from seq 0, asking the withholding policy who is
    protected (entries written before it may hold a protected person in clear)."""
    assessment = withholding.assess_persons(entries, offence)
    for seq, (entry, role) in enumerate(zip(entries, roles, strict=True)):
        _add_person(
            batch,
            ledger_index,
            seq,
            entry.person,
            role,
            entry.accused_code,
            entry.unknown,
            assessment.protected(seq),
        )


def _add_sections(
    batch: Batch, ledger_index: int, sections: Iterable[records_pb2.ActSection]
) -> None:
    for seq, section in enumerate(sections):
        batch.add(
            record_sections,
            {
                "ledger_index": ledger_index,
                "seq": seq,
                "act": section.act,
                "section": section.section,
            },
        )


def _project_fir(conn: Connection, batch: Batch, idx: int, fir: records_pb2.Fir) -> None:
    zero_serial, zero_year = serial_year(fir.zero_fir_number, year_first=False)
    batch.add(
        firs,
        {
            "ledger_index": idx,
            "fir_number": fir.fir_number,
            "serial": fir.fir_serial,
            "year": fir.fir_year or year_of_ms(fir.registered_at_ms) or 0,
            "zero_fir": fir.zero_fir,
            "zero_fir_number": fir.zero_fir_number,
            "zero_serial": zero_serial,
            "zero_year": zero_year or fir.fir_year,
            "district": fir.district,
            "police_station": fir.police_station,
            "jurisdiction_station": fir.jurisdiction_station,
            "registered_at_ms": fir.registered_at_ms,
            "occurrence_from_ms": fir.occurrence_from_ms,
            "occurrence_to_ms": fir.occurrence_to_ms,
            "information_received_ms": fir.information_received_ms,
            "crime_head": fir.crime_head,
            "status": "registered",
            "brief_facts": fir.brief_facts,
            "place": fir.place_of_occurrence.description,
            "occurrence_lat": fir.place_of_occurrence.latitude,
            "occurrence_lon": fir.place_of_occurrence.longitude,
            "gd_reference": fir.gd_reference,
            "information_type": fir.information_type,
            "petition_receipt": fir.petition_receipt,
        },
    )
    _add_sections(batch, idx, fir.sections)
    offence = withholding.offence_of(fir.sections, Statutes.default(), fir.occurrence_from_ms)
    roles = [_ROLE_NAMES.get(pic.role, "") for pic in fir.persons]
    _add_persons(batch, idx, fir.persons, offence, roles)
    for seq, item in enumerate(fir.property):
        batch.add(
            property_items,
            {
                "ledger_index": idx,
                "seq": seq,
                "property_id": item.property_id,
                "category": item.category.strip().lower(),
                "description": item.description,
                "status": _STATUS_NAMES.get(item.status, ""),
                "value_inr": item.value_inr,
                "identifiers": item.identifiers,
                "ident_key": identifier_key(item.identifiers),
            },
        )
        if item.HasField("vehicle"):
            v = item.vehicle
            reg, engine, chassis = (
                registration_key(v.registration),
                identifier_key(v.engine_number),
                identifier_key(v.chassis_number),
            )
            batch.add(
                vehicles,
                {
                    "ledger_index": idx,
                    "property_seq": seq,
                    "registration": v.registration,
                    "reg_key": reg,
                    "reg_rev": reg[::-1],
                    "engine_number": v.engine_number,
                    "engine_key": engine,
                    "engine_rev": engine[::-1],
                    "chassis_number": v.chassis_number,
                    "chassis_key": chassis,
                    "chassis_rev": chassis[::-1],
                    "make": v.make,
                    "model": v.model,
                    "colour": v.colour,
                    "vehicle_type": v.vehicle_type,
                },
            )


# --- projecting one entry ------------------------------------------------------------------------


def _gd_heading(gd: records_pb2.GeneralDiaryEntry) -> _Heading:
    year = int(gd.gd_date[:4]) if gd.gd_date[:4].isdigit() else None
    return f"GD {gd.gd_date}/{gd.gd_number}", year, None


def _project_gd(
    conn: Connection, batch: Batch, idx: int, gd: records_pb2.GeneralDiaryEntry
) -> None:
    batch.add(
        gd_entries,
        {
            "ledger_index": idx,
            "gd_date": gd.gd_date,
            "gd_number": gd.gd_number,
            "entry_time_ms": gd.entry_time_ms,
            "category": gd.category,
            "summary": gd.summary,
        },
    )


def _petition_heading(pet: records_pb2.Petition) -> _Heading:
    return (
        pet.receipt_number or None,
        serial_year(pet.receipt_number, year_first=True)[1] or None,
        None,
    )


def _project_petition(conn: Connection, batch: Batch, idx: int, pet: records_pb2.Petition) -> None:
    serial, year = serial_year(pet.receipt_number, year_first=True)
    batch.add(
        petitions,
        {
            "ledger_index": idx,
            "receipt_number": pet.receipt_number,
            "serial": serial,
            "year": year,
            "received_at_ms": pet.received_at_ms,
            "subject": pet.subject,
            "details": pet.details,
            "channel": pet.channel,
            "gd_reference": pet.gd_reference,
            "status": "received",
        },
    )
    entries = list(pet.respondents)
    roles = [_ROLE_NAMES.get(pic.role, "") or "respondent" for pic in entries]
    if pet.HasField("petitioner"):
        petitioner = records_pb2.PersonInCase(person=pet.petitioner, role=records_pb2.COMPLAINANT)
        entries, roles = [petitioner, *entries], ["petitioner", *roles]
    _add_persons(batch, idx, entries, withholding.Offence(occurred_ms=pet.received_at_ms), roles)


def _ncr_heading(ncr: records_pb2.NonCognizableReport) -> _Heading:
    return ncr.ncr_number or None, serial_year(ncr.ncr_number, year_first=False)[1] or None, None


def _project_ncr(
    conn: Connection, batch: Batch, idx: int, ncr: records_pb2.NonCognizableReport
) -> None:
    serial, year = serial_year(ncr.ncr_number, year_first=False)
    batch.add(
        ncrs,
        {
            "ledger_index": idx,
            "ncr_number": ncr.ncr_number,
            "serial": serial,
            "year": year,
            "reported_at_ms": ncr.reported_at_ms,
            "occurrence_from_ms": ncr.occurrence_from_ms,
            "occurrence_to_ms": ncr.occurrence_to_ms,
            "brief_facts": ncr.brief_facts,
            "gd_reference": ncr.gd_reference,
        },
    )
    _add_sections(batch, idx, ncr.sections)
    if ncr.HasField("informant"):
        informant = records_pb2.PersonInCase(person=ncr.informant, role=records_pb2.INFORMANT)
        occurred = ncr.occurrence_from_ms or ncr.reported_at_ms
        offence = withholding.offence_of(ncr.sections, Statutes.default(), occurred)
        _add_persons(batch, idx, [informant], offence, ["informant"])


def _fir_heading(fir: records_pb2.Fir) -> _Heading:
    ref = fir.fir_number or fir.zero_fir_number or None
    return ref, fir.fir_year or year_of_ms(fir.registered_at_ms), fir.crime_head or None


def _project_zero_fir_transfer(
    conn: Connection, batch: Batch, idx: int, zt: records_pb2.ZeroFirTransfer
) -> None:
    batch.add(
        zero_fir_transfers,
        {
            "ledger_index": idx,
            "zero_fir_number": zt.zero_fir_number,
            "zero_fir_index": zt.zero_fir_index,
            "to_station": zt.to_station,
            "direction": zt.direction,
            "assigned_fir_number": zt.assigned_fir_number,
        },
    )
    if zt.direction == "sent":
        batch.flush(conn)
        conn.execute(
            firs.update()
            .where(firs.c.ledger_index == batch.base + zt.zero_fir_index)
            .values(status="transferred")
        )


def _project_amendment(
    conn: Connection, batch: Batch, idx: int, amd: records_pb2.Amendment
) -> None:
    # Amendments update rows: everything before them must be in the tables first.
    batch.flush(conn)
    # An amendment of an amendment corrects the same original record.
    amended = batch.base + amd.amends_index
    target = conn.execute(
        sa.select(amendments.c.target_index).where(amendments.c.ledger_index == amended)
    ).scalar_one_or_none()
    target = amended if target is None else int(target)
    batch.add(
        amendments,
        {
            "ledger_index": idx,
            "amends_index": amd.amends_index,
            "target_index": target,
            "record_ref": amd.record_ref,
            "reason": amd.reason,
            "changes_json": amd.changes_json,
        },
    )
    try:
        changes = json.loads(amd.changes_json) if amd.changes_json else {}
    except ValueError:
        changes = {}
    if not isinstance(changes, dict):
        return
    for path, value in changes.items():
        _project_change(conn, batch, idx, target, str(path), value)
    batch.flush(conn)


def _project_change(
    conn: Connection, batch: Batch, idx: int, target: int, path: str, value: Any
) -> None:
    """Applies one `field path -> new value` of an amendment; unknown paths are ignored
    here (the amendments table keeps them)."""
    match = _PERSON_PATH_RE.match(path)
    if match:
        _project_person_change(conn, batch, idx, target, match.group(1), match.group(2), value)
        return
    text_columns: dict[str, list[tuple[sa.Table, str]]] = {
        "brief_facts": [(firs, "brief_facts"), (ncrs, "brief_facts")],
        "status": [(firs, "status"), (petitions, "status")],
        "place_of_occurrence.description": [(firs, "place")],
        "summary": [(gd_entries, "summary")],
        "subject": [(petitions, "subject")],
        "details": [(petitions, "details")],
    }
    if path in text_columns and isinstance(value, str):
        for table, column in text_columns[path]:
            conn.execute(
                table.update().where(table.c.ledger_index == target).values({column: value})
            )
    elif path in ("occurrence_from_ms", "occurrence_to_ms") and isinstance(value, int):
        conn.execute(firs.update().where(firs.c.ledger_index == target).values({path: value}))
    elif path == "sections" and isinstance(value, list):
        conn.execute(record_sections.delete().where(record_sections.c.ledger_index == target))
        for seq, item in enumerate(value):
            act, _, section = str(item).partition(":")
            conn.execute(
                record_sections.insert().values(
                    ledger_index=target, seq=seq, act=act.strip(), section=section.strip()
                )
            )
        _rehead(conn, target, [str(item).partition(":")[::2] for item in value])
        _reassess(conn, target)


def _rehead(conn: Connection, target: int, cited: list[tuple[str, str]]) -> None:
    """After an alteration of an FIR's sections: the crime head the statistics count it under
    is the new most serious section's (the principal offence rule). Sections the law tables do
    not know leave the head as it was."""
    if not cited:
        return
    try:
        head = Statutes.default().crime_head([(a.strip(), s.strip()) for a, s in cited])
    except InputError:
        return
    for table in (firs, records):
        conn.execute(table.update().where(table.c.ledger_index == target).values(crime_head=head))


def _reassess(conn: Connection, target: int) -> None:
    """After a correction of an FIR's sections or of a person's age, asks the withholding policy
    again: a person it now protects is no longer found by name (the entries keep what they hold;
    a later entry cannot seal an earlier one)."""
    f = conn.execute(
        sa.select(firs.c.occurrence_from_ms).where(firs.c.ledger_index == target)
    ).one_or_none()
    if f is None:
        return
    sections = conn.execute(
        sa.select(record_sections.c.act, record_sections.c.section).where(
            record_sections.c.ledger_index == target
        )
    ).all()
    offence = withholding.offence_of(sections, Statutes.default(), int(f.occurrence_from_ms))
    rows = conn.execute(
        sa.select(persons).where(persons.c.ledger_index == target).order_by(persons.c.seq)
    ).all()
    assessment = withholding.assess(offence, [party_of_row(row) for row in rows])
    for position, row in enumerate(rows):
        if row.withheld or not assessment.protected(position):
            continue
        conn.execute(
            persons.update()
            .where((persons.c.ledger_index == target) & (persons.c.seq == row.seq))
            .values(withheld=True)
        )
        forms = sa.select(person_names.c.name_id).where(
            person_names.c.ledger_index == target, person_names.c.person_seq == row.seq
        )
        conn.execute(name_keys.delete().where(name_keys.c.name_id.in_(forms)))
        conn.execute(
            person_names.delete().where(
                person_names.c.ledger_index == target, person_names.c.person_seq == row.seq
            )
        )


def party_of_row(row: Any) -> withholding.Party:
    """A `persons` row as the withholding policy sees the person (a row that is `withheld`
    without a name carries only a commitment)."""
    return withholding.Party(
        role=str(row.role).upper(),
        sex=str(row.sex),
        age=int(row.age),
        date_of_birth=str(row.date_of_birth),
        juvenile=bool(row.juvenile),
        sealed=bool(row.withheld) and not row.name,
        key=withholding.name_key(str(row.name)),
        code=str(row.accused_code),
    )


def _project_person_change(
    conn: Connection,
    batch: Batch,
    idx: int,
    target: int,
    person_id: str,
    field_name: str,
    value: Any,
) -> None:
    rows = conn.execute(
        sa.select(persons.c.seq, persons.c.withheld).where(
            persons.c.ledger_index == target, persons.c.person_id == person_id
        )
    ).all()
    for seq, withheld in rows:
        where = (persons.c.ledger_index == target) & (persons.c.seq == seq)
        if field_name in ("name", "relative_name", "address", "relation", "sex"):
            if not isinstance(value, str):
                continue
            conn.execute(persons.update().where(where).values({field_name: value}))
            if field_name in ("name", "relative_name") and not withheld:
                kind = "name" if field_name == "name" else "relative"
                _replace_forms(conn, batch, idx, target, seq, kind, [value])
        elif field_name == "age":
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                conn.execute(persons.update().where(where).values(age=value))
                batch.flush(conn)  # names an earlier change of the amendment added, too
                conn.execute(
                    person_names.update()
                    .where(person_names.c.ledger_index == target, person_names.c.person_seq == seq)
                    .values(age=value)
                )
                _reassess(conn, target)
        elif field_name == "aliases" and isinstance(value, list) and not withheld:
            _replace_forms(conn, batch, idx, target, seq, "alias", [str(v) for v in value])


def _replace_forms(
    conn: Connection,
    batch: Batch,
    idx: int,
    target: int,
    seq: int,
    kind: str,
    new_names: list[str],
) -> None:
    """Makes `new_names` the current forms of `kind`; other forms stay, superseded. The
    person's pair keys grow by the new forms' pairs (a form is never taken away, so no pair
    is either)."""
    batch.flush(conn)  # an earlier change of the same amendment added forms: they count
    wanted = {names.analyse(n).normalised: n for n in new_names if names.analyse(n).mains}
    forms = conn.execute(
        sa.select(
            person_names.c.name_id,
            person_names.c.kind,
            person_names.c.normalised,
            person_names.c.phonetics,
        ).where(person_names.c.ledger_index == target, person_names.c.person_seq == seq)
    ).all()
    who = conn.execute(
        sa.select(persons.c.age, persons.c.role).where(
            persons.c.ledger_index == target, persons.c.seq == seq
        )
    ).one()
    person = (int(who.age), str(who.role))
    present = set()
    for name_id, form_kind, normalised, _ in forms:
        if form_kind != kind:
            continue
        present.add(normalised)
        conn.execute(
            person_names.update()
            .where(person_names.c.name_id == name_id)
            .values(superseded=normalised not in wanted)
        )
    added = [
        form
        for normalised, name in wanted.items()
        if normalised not in present
        and (form := batch.add_name_form(target, seq, kind, name, idx, person)) is not None
    ]
    own = [(int(f.name_id), f.phonetics.split()) for f in forms if f.kind != "relative"]
    relative_phonetics = {p for f in forms if f.kind == "relative" for p in f.phonetics.split()}
    if kind == "relative":
        new = {p for _, form in added for p in form.phonetics} - relative_phonetics
        batch.add_pair_keys(own, new)
    else:
        batch.add_pair_keys(((i, form.phonetics) for i, form in added), relative_phonetics)


# -- numbering helpers -----------------------------------------------------------------------


# A record kind's heading: its reference, year and crime head in the `records` table.
_Heading = tuple[str | None, int | None, str | None]


@dataclass(frozen=True, slots=True)
class _Projector:
    """How one record kind is projected: its heading in `records`, then its own rows."""

    heading: Callable[[Any], _Heading]
    rows: Callable[[Connection, Batch, int, Any], None]


def _no_heading(record: Any) -> _Heading:
    return None, None, None


def _history_heading(sheet: records_pb2.HistorySheet) -> _Heading:
    # Only the opening is the sheet's record: its reviews and its closing are steps of it (the
    # register, node/index/history.py, follows them), as a process's steps are.
    if sheet.action != "opened":
        return None, None, None
    year = serial_year(sheet.sheet_number, year_first=True)[1]
    return sheet.sheet_number or None, year or None, None


def _project_history(
    conn: Connection, batch: Batch, idx: int, sheet: records_pb2.HistorySheet
) -> None:
    """The history-sheeted person, searchable by name like every person (role
    "history_sheeted"), unless the entry carries only a commitment."""
    if sheet.action == "opened" and sheet.HasField("person"):
        _add_person(batch, idx, 0, sheet.person, "history_sheeted")


# Record kinds with rows of their own; any other entry (audit, node event, ...) gets only its
# `records` row. Extensions' kinds (casework, services) are in their `Projection`s.
_PROJECTORS: dict[str, _Projector] = {
    "general_diary": _Projector(_gd_heading, _project_gd),
    "petition": _Projector(_petition_heading, _project_petition),
    "ncr": _Projector(_ncr_heading, _project_ncr),
    "fir": _Projector(_fir_heading, _project_fir),
    "amendment": _Projector(_no_heading, _project_amendment),
    "zero_fir_transfer": _Projector(_no_heading, _project_zero_fir_transfer),
    "history_sheet": _Projector(_history_heading, _project_history),
}


def project(conn: Connection, batch: Batch, idx: int, body: ledger_pb2.EntryBody) -> None:
    """Adds ledger entry `idx` to the core tables: its `records` row, then its kind's rows."""
    kind = body.WhichOneof("record") or "empty"
    projector = _PROJECTORS.get(kind)
    record = getattr(body, kind) if projector is not None else None
    ref, year, crime_head = (
        projector.heading(record) if projector is not None else (None, None, None)
    )
    batch.add(
        records,
        {
            "ledger_index": idx,
            "kind": kind,
            "ref": ref,
            "ref_key": ref_key(ref) if ref else None,
            "written_at_ms": body.written_at_ms,
            "officer_id": body.officer_id,
            "year": year,
            "crime_head": crime_head,
            "imported": bool(body.imported_from),
        },
    )
    if projector is not None:
        projector.rows(conn, batch, idx, record)
