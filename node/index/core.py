"""The query index: a SQL projection of one node's log, for searches and numbering.

The log is the truth. This module only ever derives rows from ledger entries, in ledger order,
so dropping the tables and applying the same entries again gives identical rows (`snapshot`).
It never writes to the ledger, and it never decides what is valid: entries reach it already
validated, signed and durable.

Any SQLAlchemy URL works: a SQLite file by default (WAL journal, synchronous=NORMAL), PostgreSQL
for district, state and national nodes. Each `apply` call is one transaction that also moves the
stored `indexed_size`, so a crash never leaves half an entry indexed.

Person search (see `RecordIndex.search_persons`) looks names up by exact key equality on an
indexed column (`name_keys.key`): variant keys and phonetic keys from `node.names`, never a
LIKE scan, so it stays fast with hundreds of thousands of persons.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import jellyfish
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from ledger.errors import StoreError
from node.records import names
from protos import ledger_pb2, records_pb2

__all__ = [
    "FirView",
    "IndexedEntry",
    "PersonHit",
    "PersonView",
    "PropertyHit",
    "RecordIndex",
    "VehicleHit",
    "ZeroFirTransferRow",
    "default_url",
    "registration_key",
]


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """One ledger entry to project: its position in the log and its decoded body."""

    index: int
    body: ledger_pb2.EntryBody


@dataclass(frozen=True, slots=True)
class PersonHit:
    """A person found by name, in one record. `score` orders hits; higher is better."""

    person_id: str
    name: str  # the person's current name
    matched_name: str  # the written name that matched: the name, an alias, a relative's
    relative_name: str
    relation: str
    age: int
    sex: str
    address: str
    role: str
    record_ref: str
    ledger_index: int
    score: float


@dataclass(frozen=True, slots=True)
class VehicleHit:
    """A vehicle in a record's property list."""

    ledger_index: int
    record_ref: str
    registration: str
    engine_number: str
    chassis_number: str
    make: str
    model: str
    colour: str
    vehicle_type: str
    property_status: str
    matched_on: str  # "registration", "engine" or "chassis"


@dataclass(frozen=True, slots=True)
class PropertyHit:
    """One property item of a record."""

    ledger_index: int
    record_ref: str
    property_id: str
    category: str
    description: str
    status: str
    value_inr: int
    identifiers: str


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


def default_url(data_dir: str | Path) -> str:
    """The default index: a SQLite file in the node's data directory."""
    return f"sqlite:///{(Path(data_dir) / 'index.sqlite3').resolve()}"


# --- schema ------------------------------------------------------------------------------------

# SQLite only makes an INTEGER PRIMARY KEY the rowid (the fast clustered key); BIGINT is not.
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_metadata = sa.MetaData()


def _index_fk() -> sa.Column[Any]:
    return sa.Column(
        "ledger_index", _BigInt, sa.ForeignKey("records.ledger_index"), primary_key=True
    )


index_meta = sa.Table(
    "index_meta",
    _metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
records = sa.Table(
    "records",
    _metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("ref", sa.String(80)),  # as written: "FIR No. 12/2026"
    sa.Column("ref_key", sa.String(80)),  # for lookup: "FIRNO12/2026"
    sa.Column("written_at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("year", sa.Integer),
    sa.Column("crime_head", sa.String(80)),
    sa.Index("ix_records_ref_key", "ref_key"),
    sa.Index("ix_records_kind_year", "kind", "year"),
)
firs = sa.Table(
    "firs",
    _metadata,
    _index_fk(),
    sa.Column("fir_number", sa.String(40), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),  # 0 for a Zero FIR not numbered here
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("zero_fir", sa.Boolean, nullable=False),
    sa.Column("zero_fir_number", sa.String(40), nullable=False),
    sa.Column("zero_serial", sa.Integer, nullable=False),
    sa.Column("zero_year", sa.Integer, nullable=False),
    sa.Column("district", sa.String(80), nullable=False),
    sa.Column("police_station", sa.String(120), nullable=False),
    sa.Column("jurisdiction_station", sa.String(120), nullable=False),
    sa.Column("registered_at_ms", sa.BigInteger, nullable=False),
    sa.Column("occurrence_from_ms", sa.BigInteger, nullable=False),
    sa.Column("occurrence_to_ms", sa.BigInteger, nullable=False),
    sa.Column("information_received_ms", sa.BigInteger, nullable=False),
    sa.Column("crime_head", sa.String(80), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("brief_facts", sa.Text, nullable=False),
    sa.Column("place", sa.Text, nullable=False),
    sa.Column("gd_reference", sa.String(40), nullable=False),
    sa.Column("information_type", sa.String(20), nullable=False),
    sa.Column("petition_receipt", sa.String(40), nullable=False),
    sa.Index("ix_firs_year_serial", "year", "serial"),
    sa.Index("ix_firs_zero", "zero_year", "zero_serial"),
    sa.Index("ix_firs_year_head", "year", "crime_head"),
)
# Sections of FIRs and NCRs (both carry `repeated ActSection`), in written order.
record_sections = sa.Table(
    "record_sections",
    _metadata,
    _index_fk(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("act", sa.String(20), nullable=False),
    sa.Column("section", sa.String(40), nullable=False),
    sa.Index("ix_record_sections_act_section", "act", "section"),
)
persons = sa.Table(
    "persons",
    _metadata,
    _index_fk(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("person_id", sa.String(80), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("accused_code", sa.String(8), nullable=False),
    sa.Column("unknown", sa.Boolean, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("relative_name", sa.String(200), nullable=False),
    sa.Column("relation", sa.String(8), nullable=False),
    sa.Column("age", sa.Integer, nullable=False),
    sa.Column("date_of_birth", sa.String(10), nullable=False),
    sa.Column("sex", sa.String(2), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("mobile", sa.String(20), nullable=False),
    sa.Column("juvenile", sa.Boolean, nullable=False),
    sa.Column("withheld", sa.Boolean, nullable=False),
    sa.Index("ix_persons_person_id", "person_id"),
)
# One row per searchable written name of a person: the name, each alias, the relative's name.
# Amendments add rows and flag replaced ones `superseded` (still searchable: officers search by
# the name they know). `name_id` is handed out in ledger order, so a rebuild gives equal ids.
person_names = sa.Table(
    "person_names",
    _metadata,
    sa.Column("name_id", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("ledger_index", _BigInt, sa.ForeignKey("records.ledger_index"), nullable=False),
    sa.Column("person_seq", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "name", "alias", "relative"
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("normalised", sa.String(200), nullable=False),  # tokens joined, initials included
    sa.Column("initials", sa.String(20), nullable=False),
    sa.Column("variants", sa.String(200), nullable=False),  # variant key per main token
    sa.Column("phonetics", sa.String(300), nullable=False),  # phonetic key per main token
    sa.Column("superseded", sa.Boolean, nullable=False),
    sa.Column("added_at", sa.BigInteger, nullable=False),  # ledger index that added it
    sa.Index("ix_person_names_person", "ledger_index", "person_seq"),
    sa.Index("ix_person_names_normalised", "normalised"),
)
# The lookup table: one row per (name form, main token, key kind). `key` is "v:<variant>" or
# "p:<phonetic>" for a person's own names and aliases, "rv:"/"rp:" for a relative's name (so a
# name search never wades through relatives' names); the primary key (key, name_id, pos) is
# the covering index searches use.
name_keys = sa.Table(
    "name_keys",
    _metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("name_id", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("pos", sa.Integer, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,  # the primary key is the table: one b-tree to write, not two
)
# The vocabulary of name tokens: each distinct main token (as normalised) of a searchable name
# or alias ("name") or relative's name ("relative"), with its variant key. A few thousand rows
# even for millions of persons; a query token that is no known spelling is compared with these
# by edit distance (see `_Vocabulary`). Withheld persons have no names here either.
name_tokens = sa.Table(
    "name_tokens",
    _metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("token", sa.String(200), primary_key=True),
    sa.Column("variant", sa.String(200), nullable=False),
    sqlite_with_rowid=False,
)
property_items = sa.Table(
    "property",
    _metadata,
    _index_fk(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("property_id", sa.String(80), nullable=False),
    sa.Column("category", sa.String(80), nullable=False),  # lowercase
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # "stolen", "recovered", ...
    sa.Column("value_inr", sa.BigInteger, nullable=False),
    sa.Column("identifiers", sa.Text, nullable=False),
    sa.Column("ident_key", sa.Text, nullable=False),  # identifiers, upper-case letters/digits
    sa.Index("ix_property_status", "status"),
    sa.Index("ix_property_category", "category"),
)
# Registration, engine and chassis numbers are stored as upper-case letters and digits, and
# reversed, so a suffix ("1234", "AB1234") is an indexed prefix search on the reversed column.
vehicles = sa.Table(
    "vehicles",
    _metadata,
    _index_fk(),
    sa.Column("property_seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("registration", sa.String(40), nullable=False),
    sa.Column("reg_key", sa.String(40), nullable=False),
    sa.Column("reg_rev", sa.String(40), nullable=False),
    sa.Column("engine_number", sa.String(60), nullable=False),
    sa.Column("engine_key", sa.String(60), nullable=False),
    sa.Column("engine_rev", sa.String(60), nullable=False),
    sa.Column("chassis_number", sa.String(60), nullable=False),
    sa.Column("chassis_key", sa.String(60), nullable=False),
    sa.Column("chassis_rev", sa.String(60), nullable=False),
    sa.Column("make", sa.String(60), nullable=False),
    sa.Column("model", sa.String(60), nullable=False),
    sa.Column("colour", sa.String(40), nullable=False),
    sa.Column("vehicle_type", sa.String(40), nullable=False),
    *(
        sa.Index(f"ix_vehicles_{col}", col, postgresql_ops={col: "varchar_pattern_ops"})
        for col in ("reg_key", "reg_rev", "engine_key", "engine_rev", "chassis_key", "chassis_rev")
    ),
)
gd_entries = sa.Table(
    "gd_entries",
    _metadata,
    _index_fk(),
    sa.Column("gd_date", sa.String(10), nullable=False),
    sa.Column("gd_number", sa.Integer, nullable=False),
    sa.Column("entry_time_ms", sa.BigInteger, nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Index("ix_gd_entries_date_number", "gd_date", "gd_number"),
)
petitions = sa.Table(
    "petitions",
    _metadata,
    _index_fk(),
    sa.Column("receipt_number", sa.String(40), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("received_at_ms", sa.BigInteger, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("gd_reference", sa.String(40), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Index("ix_petitions_year_serial", "year", "serial"),
)
ncrs = sa.Table(
    "ncrs",
    _metadata,
    _index_fk(),
    sa.Column("ncr_number", sa.String(40), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("reported_at_ms", sa.BigInteger, nullable=False),
    sa.Column("brief_facts", sa.Text, nullable=False),
    sa.Column("gd_reference", sa.String(40), nullable=False),
    sa.Index("ix_ncrs_year_serial", "year", "serial"),
)
amendments = sa.Table(
    "amendments",
    _metadata,
    _index_fk(),
    sa.Column("amends_index", sa.BigInteger, nullable=False),
    sa.Column("target_index", sa.BigInteger, nullable=False),  # the original record's index
    sa.Column("record_ref", sa.String(80), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("changes_json", sa.Text, nullable=False),
    sa.Index("ix_amendments_target", "target_index"),
)
zero_fir_transfers = sa.Table(
    "zero_fir_transfers",
    _metadata,
    _index_fk(),
    sa.Column("zero_fir_number", sa.String(40), nullable=False),
    sa.Column("zero_fir_index", sa.BigInteger, nullable=False),
    sa.Column("to_station", sa.String(200), nullable=False),
    sa.Column("direction", sa.String(10), nullable=False),
    sa.Column("assigned_fir_number", sa.String(40), nullable=False),
)

# Insert order: parents before children (foreign keys are enforced on SQLite too).
_INSERT_ORDER: tuple[sa.Table, ...] = (
    records,
    firs,
    record_sections,
    persons,
    person_names,
    name_keys,
    property_items,
    vehicles,
    gd_entries,
    petitions,
    ncrs,
    amendments,
    zero_fir_transfers,
)
_ROLE_NAMES = {v: k.lower() for k, v in records_pb2.PersonRole.items() if v}
_STATUS_NAMES = {v: k.lower() for k, v in records_pb2.PropertyStatus.items() if v}
_SERIAL_YEAR_RE = re.compile(r"(\d+)\s*/\s*(\d{4})\s*$")
_YEAR_SERIAL_RE = re.compile(r"(\d{4})\s*/\s*(\d+)\s*$")
_REF_KEY_RE = re.compile(r"[^A-Z0-9/-]")
_ALNUM_RE = re.compile(r"[^A-Z0-9]")
_REG_RE = re.compile(r"^([A-Z]{2})(\d{1,2})([A-Z]{0,3})(\d{1,4})$")
_PERSON_PATH_RE = re.compile(r"^persons\.(.+)\.([a-z_]+)$")
_NAME_KINDS = ("name", "alias")


def _key(form_kind: str, key_kind: str, value: str) -> str:
    return ("r" if form_kind == "relative" else "") + key_kind + ":" + value


def _ref_key(ref: str) -> str:
    return _REF_KEY_RE.sub("", ref.upper())


def _alnum(text: str) -> str:
    return _ALNUM_RE.sub("", text.upper())


def registration_key(registration: str) -> str:
    """ "KL-7-AB-123", "kl 07 ab 0123" -> "KL07AB0123": district and number zero-padded."""
    key = _alnum(registration)
    match = _REG_RE.match(key)
    if match is None:
        return key
    state, district, series, number = match.groups()
    return f"{state}{int(district):02d}{series}{int(number):04d}"


def _serial_year(text: str, *, year_first: bool) -> tuple[int, int]:
    """("FIR No. 12/2026" -> (12, 2026)); ("PET/2026/000123", year_first) -> (123, 2026)."""
    if year_first:
        match = _YEAR_SERIAL_RE.search(text)
        if match:
            return int(match.group(2)), int(match.group(1))
    match = _SERIAL_YEAR_RE.search(text)
    if match:
        return int(match.group(1)), int(match.group(2))
    return 0, 0


def _year_of_ms(ms: int) -> int | None:
    if ms <= 0:
        return None
    # Asia/Kolkata is UTC+5:30, no daylight saving: the year as the station sees it.
    return (dt.datetime.fromtimestamp(ms / 1000, dt.UTC) + dt.timedelta(hours=5.5)).year


# --- applying entries ---------------------------------------------------------------------------


# Column names per table, in table order: batches hold plain tuples in this order, so inserts
# skip SQLAlchemy's per-row parameter processing (most of apply's time before).
_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns) for t in _INSERT_ORDER
}
_ROW_OF: dict[str, operator.itemgetter[Any]] = {
    name: operator.itemgetter(*cols) for name, cols in _COLUMNS.items()
}


@dataclass(slots=True)
class _Batch:
    """Rows waiting to be inserted (tuples in column order, per table), plus the next name id
    to hand out and the `name_tokens` rows the names bring (inserted by `flush_tokens`)."""

    next_name_id: int
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    tokens: set[tuple[str, str, str]] = field(default_factory=set)  # name_tokens rows

    def add(self, table: sa.Table, row: dict[str, Any]) -> None:
        self.rows.setdefault(table.name, []).append(_ROW_OF[table.name](row))

    def add_tuple(self, table: sa.Table, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table.name, []).append(row)

    def flush(self, conn: Connection) -> None:
        for table in _INSERT_ORDER:
            rows = self.rows.pop(table.name, None)
            if rows:
                if table is name_keys:
                    rows.sort()  # in key order, the b-tree is written page by page
                _insert_rows(conn, table, rows)

    def flush_tokens(self, conn: Connection) -> None:
        if self.tokens:
            _insert_tokens(conn, sorted(self.tokens))
            self.tokens.clear()

    def add_name_form(
        self, ledger_index: int, person_seq: int, kind: str, name: str, added_at: int
    ) -> None:
        form = _name_form(kind, name)
        if form is None:
            return
        name_id = self.next_name_id
        self.next_name_id += 1
        self.rows.setdefault(person_names.name, []).append(
            (name_id, ledger_index, person_seq, kind, name, *form.columns, False, added_at)
        )
        key_rows = self.rows.setdefault(name_keys.name, [])
        for pos, (v_key, p_key) in enumerate(form.keys):
            key_rows.append((v_key, name_id, pos))
            key_rows.append((p_key, name_id, pos))
        self.tokens.update(form.tokens)


@dataclass(frozen=True, slots=True)
class _NameForm:
    """What one written name of one kind puts in `person_names`, `name_keys`, `name_tokens`."""

    columns: tuple[str, str, str, str]  # normalised, initials, variants, phonetics
    keys: tuple[tuple[str, str], ...]  # per main token: its variant and phonetic lookup keys
    tokens: tuple[tuple[str, str, str], ...]  # name_tokens rows


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
            (_key(kind, "v", v), _key(kind, "p", p))
            for v, p in zip(keys.variants, keys.phonetics, strict=True)
        ),
        tokens=tuple(
            (token_kind, main, variant)
            for main, variant in zip(keys.mains, keys.variants, strict=True)
        ),
    )


def _backfill_name_tokens(conn: Connection) -> None:
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


def _insert_rows(conn: Connection, table: sa.Table, rows: list[tuple[Any, ...]]) -> None:
    """Inserts `rows` (tuples in column order) with the driver's fastest bulk path: one
    executemany on SQLite, COPY on PostgreSQL with psycopg; SQLAlchemy's insert elsewhere."""
    cols = _COLUMNS[table.name]
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
            for row in rows:
                copy.write_row(row)
    else:
        conn.execute(table.insert(), [dict(zip(cols, row, strict=True)) for row in rows])


def _person_row(
    ledger_index: int,
    seq: int,
    person: records_pb2.Person,
    role: str,
    accused_code: str = "",
    unknown: bool = False,
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
        "withheld": _withheld(person),
    }


def _withheld(person: records_pb2.Person) -> bool:
    # The shared record carries only a commitment: the person must never be found by name.
    return bool(person.identity_commitment) and not person.name


def _add_person(
    batch: _Batch,
    ledger_index: int,
    seq: int,
    person: records_pb2.Person,
    role: str,
    accused_code: str = "",
    unknown: bool = False,
) -> None:
    batch.add(persons, _person_row(ledger_index, seq, person, role, accused_code, unknown))
    if _withheld(person):
        return
    batch.add_name_form(ledger_index, seq, "name", person.name, ledger_index)
    for alias in person.aliases:
        batch.add_name_form(ledger_index, seq, "alias", alias, ledger_index)
    if person.relative_name:
        batch.add_name_form(ledger_index, seq, "relative", person.relative_name, ledger_index)


def _add_sections(
    batch: _Batch, ledger_index: int, sections: Iterable[records_pb2.ActSection]
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


def _project_fir(batch: _Batch, idx: int, fir: records_pb2.Fir) -> None:
    zero_serial, zero_year = _serial_year(fir.zero_fir_number, year_first=False)
    batch.add(
        firs,
        {
            "ledger_index": idx,
            "fir_number": fir.fir_number,
            "serial": fir.fir_serial,
            "year": fir.fir_year or _year_of_ms(fir.registered_at_ms) or 0,
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
            "gd_reference": fir.gd_reference,
            "information_type": fir.information_type,
            "petition_receipt": fir.petition_receipt,
        },
    )
    _add_sections(batch, idx, fir.sections)
    for seq, pic in enumerate(fir.persons):
        _add_person(
            batch,
            idx,
            seq,
            pic.person,
            _ROLE_NAMES.get(pic.role, ""),
            pic.accused_code,
            pic.unknown,
        )
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
                "ident_key": _alnum(item.identifiers),
            },
        )
        if item.HasField("vehicle"):
            v = item.vehicle
            reg, engine, chassis = (
                registration_key(v.registration),
                _alnum(v.engine_number),
                _alnum(v.chassis_number),
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


# --- the typo vocabulary ------------------------------------------------------------------------

# A query token that is no known spelling is also looked up as the known tokens within this many
# edits (Damerau-Levenshtein: a letter dropped, added, changed, or two swapped): 1 for tokens
# of 3-6 letters ("Hri" for Hari), 2 from 7 letters. Two-letter tokens are never expanded.
_TYPO_MIN_LETTERS = 3
_TYPO_LONG_LETTERS = 7


def _typo_edits(token: str) -> int:
    if len(token) < _TYPO_MIN_LETTERS:
        return 0
    return 2 if len(token) >= _TYPO_LONG_LETTERS else 1


class _Vocabulary:
    """The `name_tokens` table in memory, for matching typing slips: per kind ("name" for
    names and aliases, "relative"), the known tokens by length, and the known variant keys.

    Kept per `RecordIndex` and not part of `snapshot()`. Before each search it is brought up
    to date from `index_meta.next_name_id`: name ids are handed out in ledger order, so the
    names added since the last look are a range of `person_names`, whoever applied them. A
    smaller `next_name_id` means the tables were rebuilt: it is loaded again. Guarded by a
    lock, as searches may run in several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._upto = 0  # names with ids below this are in; 0: not loaded
        self._variants: set[tuple[str, str]] = set()  # (kind, variant key)
        self._by_length: dict[tuple[str, int], dict[str, str]] = {}  # -> {token: variant}

    def reset(self) -> None:
        with self._lock:
            self._upto = 0
            self._variants = set()
            self._by_length = {}

    def refresh(self, conn: Connection) -> None:
        next_id = _meta(conn, "next_name_id")
        with self._lock:
            if next_id == self._upto:
                return
            if next_id < self._upto or self._upto == 0:
                self._variants, self._by_length = set(), {}
                stmt = sa.select(name_tokens.c.kind, name_tokens.c.token, name_tokens.c.variant)
                for kind, token, variant in conn.execute(stmt):
                    self._add(str(kind), str(token), str(variant))
            else:
                pn = person_names
                stmt = sa.select(pn.c.kind, pn.c.normalised, pn.c.variants).where(
                    pn.c.name_id >= self._upto, pn.c.name_id < next_id
                )
                for kind, normalised, variants in conn.execute(stmt):
                    token_kind = "relative" if kind == "relative" else "name"
                    mains = [t for t in str(normalised).split() if len(t) > 1]
                    for token, variant in zip(mains, str(variants).split(), strict=False):
                        self._add(token_kind, token, variant)
            self._upto = next_id

    def _add(self, kind: str, token: str, variant: str) -> None:
        self._variants.add((kind, variant))
        self._by_length.setdefault((kind, len(token)), {})[token] = variant

    def known(self, kind: str, variant: str) -> bool:
        """Whether some name of `kind` has a token with this variant key."""
        with self._lock:
            return (kind, variant) in self._variants

    def neighbours(self, kind: str, token: str, max_edits: int) -> list[str]:
        """The variant keys of known tokens 1..max_edits edits (Damerau-Levenshtein) from
        `token`, sorted."""
        out: set[str] = set()
        with self._lock:
            for length in range(len(token) - max_edits, len(token) + max_edits + 1):
                for other, variant in self._by_length.get((kind, length), {}).items():
                    if 0 < jellyfish.damerau_levenshtein_distance(token, other) <= max_edits:
                        out.add(variant)
        return sorted(out)


# --- the index ----------------------------------------------------------------------------------


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


def default_projections() -> list[Projection]:
    """The projections every node's index carries (see node/extensions.py)."""
    from node.extensions import projections

    return projections()


class RecordIndex:
    """The SQL projection of one node's log. Single writer; readers may be concurrent."""

    def __init__(self, url: str, projections: Sequence[Projection] | None = None) -> None:
        self.projections: tuple[Projection, ...] = tuple(
            default_projections() if projections is None else projections
        )
        self._engine: Engine = sa.create_engine(url)
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._vocabulary = _Vocabulary()
        if self._sqlite:
            sa.event.listen(self._engine, "connect", _sqlite_pragmas)
        try:
            self._create()
        except sa.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open the index at {url!r}: {exc}") from exc

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for read-only queries of projections and reports."""
        return self._engine

    def _create(self) -> None:
        _metadata.create_all(self._engine)
        for projection in self.projections:
            projection.metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            present = {r[0] for r in conn.execute(sa.select(index_meta.c.key))}
            for key, value in (("indexed_size", 0), ("next_name_id", 1)):
                if key not in present:
                    conn.execute(index_meta.insert().values(key=key, value=value))
            _backfill_name_tokens(conn)

    def close(self) -> None:
        """Releases the database connections."""
        self._engine.dispose()

    def drop_all(self) -> None:
        """Drops every table and creates them again empty (indexed_size() becomes 0)."""
        for projection in self.projections:
            projection.metadata.drop_all(self._engine)
        _metadata.drop_all(self._engine)
        self._vocabulary.reset()
        self._create()

    # -- applying --------------------------------------------------------------------------------

    def indexed_size(self) -> int:
        """How many ledger entries (0..n-1) have been applied."""
        with self._engine.connect() as conn:
            return _meta(conn, "indexed_size")

    def apply(self, entries: Sequence[IndexedEntry]) -> None:
        """Projects `entries`, which must continue the log from indexed_size(), in one
        transaction. Entries already applied are skipped; a gap raises StoreError."""
        try:
            with self._engine.begin() as conn:
                size = _meta(conn, "indexed_size")
                batch = _Batch(next_name_id=_meta(conn, "next_name_id"))
                expected = size
                for entry in entries:
                    if entry.index < expected:
                        continue
                    if entry.index != expected:
                        raise StoreError(
                            f"index gap: expected ledger entry {expected}, got {entry.index}"
                        )
                    self._project(conn, batch, entry.index, entry.body)
                    for projection in self.projections:
                        projection.project(conn, entry.index, entry.body)
                    expected += 1
                if expected == size:
                    return
                batch.flush(conn)
                batch.flush_tokens(conn)
                _set_meta(conn, "indexed_size", expected)
                _set_meta(conn, "next_name_id", batch.next_name_id)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"index update failed: {exc}") from exc

    def _project(
        self, conn: Connection, batch: _Batch, idx: int, body: ledger_pb2.EntryBody
    ) -> None:
        kind = body.WhichOneof("record") or "empty"
        ref: str | None = None
        year: int | None = None
        crime_head: str | None = None
        if kind == "fir":
            fir = body.fir
            ref = fir.fir_number or fir.zero_fir_number or None
            year = fir.fir_year or _year_of_ms(fir.registered_at_ms)
            crime_head = fir.crime_head or None
        elif kind == "general_diary":
            gd = body.general_diary
            ref = f"GD {gd.gd_date}/{gd.gd_number}"
            year = int(gd.gd_date[:4]) if gd.gd_date[:4].isdigit() else None
        elif kind == "petition":
            ref = body.petition.receipt_number or None
            year = _serial_year(body.petition.receipt_number, year_first=True)[1] or None
        elif kind == "ncr":
            ref = body.ncr.ncr_number or None
            year = _serial_year(body.ncr.ncr_number, year_first=False)[1] or None
        batch.add(
            records,
            {
                "ledger_index": idx,
                "kind": kind,
                "ref": ref,
                "ref_key": _ref_key(ref) if ref else None,
                "written_at_ms": body.written_at_ms,
                "officer_id": body.officer_id,
                "year": year,
                "crime_head": crime_head,
            },
        )
        if kind == "fir":
            _project_fir(batch, idx, body.fir)
        elif kind == "general_diary":
            gd = body.general_diary
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
        elif kind == "petition":
            pet = body.petition
            serial, pyear = _serial_year(pet.receipt_number, year_first=True)
            batch.add(
                petitions,
                {
                    "ledger_index": idx,
                    "receipt_number": pet.receipt_number,
                    "serial": serial,
                    "year": pyear,
                    "received_at_ms": pet.received_at_ms,
                    "subject": pet.subject,
                    "details": pet.details,
                    "channel": pet.channel,
                    "gd_reference": pet.gd_reference,
                    "status": "received",
                },
            )
            seq = 0
            if pet.HasField("petitioner"):
                _add_person(batch, idx, seq, pet.petitioner, "petitioner")
                seq += 1
            for pic in pet.respondents:
                role = _ROLE_NAMES.get(pic.role, "") or "respondent"
                _add_person(batch, idx, seq, pic.person, role, pic.accused_code, pic.unknown)
                seq += 1
        elif kind == "ncr":
            ncr = body.ncr
            serial, nyear = _serial_year(ncr.ncr_number, year_first=False)
            batch.add(
                ncrs,
                {
                    "ledger_index": idx,
                    "ncr_number": ncr.ncr_number,
                    "serial": serial,
                    "year": nyear,
                    "reported_at_ms": ncr.reported_at_ms,
                    "brief_facts": ncr.brief_facts,
                    "gd_reference": ncr.gd_reference,
                },
            )
            _add_sections(batch, idx, ncr.sections)
            if ncr.HasField("informant"):
                _add_person(batch, idx, 0, ncr.informant, "informant")
        elif kind == "amendment":
            # Amendments update rows: everything before them must be in the tables first.
            batch.flush(conn)
            self._project_amendment(conn, batch, idx, body.amendment)
        elif kind == "zero_fir_transfer":
            zt = body.zero_fir_transfer
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
                    .where(firs.c.ledger_index == zt.zero_fir_index)
                    .values(status="transferred")
                )

    def _project_amendment(
        self, conn: Connection, batch: _Batch, idx: int, amd: records_pb2.Amendment
    ) -> None:
        # An amendment of an amendment corrects the same original record.
        target = conn.execute(
            sa.select(amendments.c.target_index).where(
                amendments.c.ledger_index == amd.amends_index
            )
        ).scalar_one_or_none()
        target = amd.amends_index if target is None else int(target)
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
            self._project_change(conn, batch, idx, target, str(path), value)
        batch.flush(conn)

    def _project_change(
        self, conn: Connection, batch: _Batch, idx: int, target: int, path: str, value: Any
    ) -> None:
        """Applies one `field path -> new value` of an amendment; unknown paths are ignored
        here (the amendments table keeps them)."""
        match = _PERSON_PATH_RE.match(path)
        if match:
            self._project_person_change(
                conn, batch, idx, target, match.group(1), match.group(2), value
            )
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

    def _project_person_change(
        self,
        conn: Connection,
        batch: _Batch,
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
                    self._replace_forms(conn, batch, idx, target, seq, kind, [value])
            elif field_name == "age":
                if isinstance(value, str) and value.strip().isdigit():
                    value = int(value)
                if isinstance(value, int) and not isinstance(value, bool):
                    conn.execute(persons.update().where(where).values(age=value))
            elif field_name == "aliases" and isinstance(value, list) and not withheld:
                self._replace_forms(conn, batch, idx, target, seq, "alias", [str(v) for v in value])

    def _replace_forms(
        self,
        conn: Connection,
        batch: _Batch,
        idx: int,
        target: int,
        seq: int,
        kind: str,
        new_names: list[str],
    ) -> None:
        """Makes `new_names` the current forms of `kind`; other forms stay, superseded."""
        wanted = {names.analyse(n).normalised: n for n in new_names if names.analyse(n).mains}
        existing = conn.execute(
            sa.select(person_names.c.name_id, person_names.c.normalised).where(
                person_names.c.ledger_index == target,
                person_names.c.person_seq == seq,
                person_names.c.kind == kind,
            )
        ).all()
        present = set()
        for name_id, normalised in existing:
            present.add(normalised)
            conn.execute(
                person_names.update()
                .where(person_names.c.name_id == name_id)
                .values(superseded=normalised not in wanted)
            )
        for normalised, name in wanted.items():
            if normalised not in present:
                batch.add_name_form(target, seq, kind, name, idx)

    # -- numbering helpers -----------------------------------------------------------------------

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

    def person_count(self) -> int:
        """How many person rows (persons in records) the index holds."""
        return int(self._scalar(sa.select(sa.func.count()).select_from(persons)) or 0)

    def record_index(self, ref: str) -> int | None:
        """The ledger index of the record called `ref` ("FIR No. 12/2026", "GD 2026-11-28/14",
        "PET/2026/000123", "NCR 3/2026", "ZERO FIR 2/2026"); a bare "12/2026" means an FIR."""
        key = _ref_key(ref)
        if not key:
            return None
        stmt = (
            sa.select(records.c.ledger_index)
            .where(records.c.ref_key == key)
            .order_by(records.c.ledger_index)
            .limit(1)
        )
        found = self._scalar(stmt)
        if found is None and re.fullmatch(r"\s*\d+\s*/\s*\d{4}\s*", ref):
            serial, year = _serial_year(ref, year_first=False)
            found = self._scalar(
                sa.select(firs.c.ledger_index).where(
                    firs.c.year == year, firs.c.serial == serial, firs.c.serial > 0
                )
            )
        return None if found is None else int(found)

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

    def search_persons(
        self,
        query: str,
        *,
        relative: str | None = None,
        age_min: int | None = None,
        age_max: int | None = None,
        role: str | None = None,
        limit: int = 50,
    ) -> list[PersonHit]:
        """Finds persons the way officers type names; best first.

        `query` may be "K. Raju", "Raju K", "raju", "Muhamad Rasheed", "Raju @ Kuttan" (name
        or alias), "Raju S/o Gopalan" or just "S/o Gopalan" (by the relative's name), or in
        Malayalam script. See `_score_form` for the ranking. Age filters use the age recorded
        in the case; persons with unknown age (0) are left out when an age filter is given.
        Persons whose identity is withheld are never found by name.
        """
        split = names.split_relation(query)
        relative_text = relative if relative is not None else split.relative
        alternatives = [a for a in names.split_aliases(split.name) if names.analyse(a).mains]
        rel_query = _NameQuery.of(relative_text) if relative_text else None
        if rel_query is not None and not rel_query.mains:
            rel_query = None
        if not alternatives and rel_query is None:
            return []
        with self._engine.connect() as conn:
            self._vocabulary.refresh(conn)
            filters = _person_filters(age_min, age_max, role)
            best: dict[tuple[int, int], tuple[float, str]] = {}
            for alternative in alternatives:
                q = _NameQuery.of(alternative)
                for key, score, matched in self._matching_forms(conn, q, _NAME_KINDS, filters):
                    if key not in best or score > best[key][0]:
                        best[key] = (score, matched)
            if rel_query is not None:
                rel_best: dict[tuple[int, int], tuple[float, str]] = {}
                for key, score, matched in self._matching_forms(
                    conn, rel_query, ("relative",), filters
                ):
                    if key not in rel_best or score > rel_best[key][0]:
                        rel_best[key] = (score, matched)
                if alternatives:
                    best = {
                        k: (s + 0.5 * rel_best[k][0], m)
                        for k, (s, m) in best.items()
                        if k in rel_best
                    }
                else:
                    best = rel_best
            ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
            return self._person_hits(conn, ranked)

    def _matching_forms(
        self,
        conn: Connection,
        q: _NameQuery,
        kinds: tuple[str, ...],
        filters: list[sa.ColumnElement[bool]],
    ) -> list[tuple[tuple[int, int], float, str]]:
        """Scores the written names that share keys with the query.

        The database narrows first: a name must match every required query token by key
        (grouped by name, counting distinct tokens matched). Only when that finds nothing is
        a name matching any one token considered, so "Gopalan Raju" still finds "G. Raju".

        A required token whose variant key no name has ("Mnoj") is probably a typing slip: it
        also matches the known variant keys within a small edit distance ("manoj"), which
        `_score_form` scores below phonetic matches. A token that is a known spelling is taken
        as written, so "Rajesh" never finds "Ramesh".
        """
        token_kind = "relative" if kinds[0] == "relative" else "name"
        groups: list[tuple[str, ...]] = []
        typo = [0] * len(q.mains)
        for i in range(len(q.mains)):
            if q.optional[i]:
                continue
            group = [_key(kinds[0], "v", q.variants[i]), _key(kinds[0], "p", q.phonetics[i])]
            edits = _typo_edits(q.mains[i])
            if edits and not self._vocabulary.known(token_kind, q.variants[i]):
                near = self._vocabulary.neighbours(token_kind, q.mains[i], edits)
                if near:
                    typo[i] = edits
                    group.extend(_key(kinds[0], "v", v) for v in near)
            groups.append(tuple(group))
        if any(typo):
            q = replace(q, typo=tuple(typo))
        out = self._score_candidates(conn, q, kinds, filters, groups, len(groups))
        if not out and len(groups) > 1:
            out = self._score_candidates(conn, q, kinds, filters, groups, 1)
        return out

    def _score_candidates(
        self,
        conn: Connection,
        q: _NameQuery,
        kinds: tuple[str, ...],
        filters: list[sa.ColumnElement[bool]],
        groups: list[tuple[str, ...]],
        min_groups: int,
    ) -> list[tuple[tuple[int, int], float, str]]:
        keys = sorted({key for group in groups for key in group})
        nk = name_keys
        matching: sa.Select[Any] = sa.select(nk.c.name_id).where(nk.c.key.in_(keys))
        if min_groups > 1:
            group_of = sa.case(
                *((nk.c.key.in_(group), i) for i, group in enumerate(groups)), else_=-1
            )
            matching = matching.group_by(nk.c.name_id).having(
                sa.func.count(sa.distinct(group_of)) >= min_groups
            )
        else:
            matching = matching.distinct()
        pn = person_names
        stmt = sa.select(
            pn.c.ledger_index,
            pn.c.person_seq,
            pn.c.kind,
            pn.c.name,
            pn.c.normalised,
            pn.c.initials,
            pn.c.variants,
            pn.c.phonetics,
            pn.c.superseded,
        ).where(pn.c.name_id.in_(matching.scalar_subquery()), pn.c.kind.in_(kinds))
        if min_groups < len(groups):
            stmt = stmt.where(pn.c.initials != "")  # the rest must be matched by initials
        if filters:
            # Withheld persons have no searchable names; the persons join is only for filters.
            stmt = stmt.join(
                persons,
                (persons.c.ledger_index == pn.c.ledger_index) & (persons.c.seq == pn.c.person_seq),
            ).where(*filters)
        out: list[tuple[tuple[int, int], float, str]] = []
        for (
            ledger_index,
            seq,
            kind,
            name,
            normalised,
            initials,
            variants,
            phonetics,
            old,
        ) in conn.execute(stmt):
            score = _score_form(q, normalised, initials, variants, phonetics)
            if score is None:
                continue
            if kind == "alias":
                score -= 0.02
            if old:
                score -= 0.05
            out.append(((int(ledger_index), int(seq)), score, str(name)))
        return out

    def _person_hits(
        self, conn: Connection, ranked: list[tuple[tuple[int, int], tuple[float, str]]]
    ) -> list[PersonHit]:
        if not ranked:
            return []
        keys = [k for k, _ in ranked]
        stmt = (
            sa.select(persons, records.c.ref)
            .select_from(persons.join(records, records.c.ledger_index == persons.c.ledger_index))
            .where(persons.c.ledger_index.in_(sorted({k[0] for k in keys})))
        )
        wanted = set(keys)
        rows = {
            key: r
            for r in conn.execute(stmt)
            if (key := (int(r.ledger_index), int(r.seq))) in wanted
        }
        hits: list[PersonHit] = []
        for key, (score, matched) in ranked:
            r = rows.get(key)
            if r is None or r.withheld:
                continue
            hits.append(
                PersonHit(
                    person_id=r.person_id,
                    name=r.name,
                    matched_name=matched,
                    relative_name=r.relative_name,
                    relation=r.relation,
                    age=r.age,
                    sex=r.sex,
                    address=r.address,
                    role=r.role,
                    record_ref=r.ref or "",
                    ledger_index=key[0],
                    score=round(score, 4),
                )
            )
        return hits

    def search_vehicles(self, text: str, *, limit: int = 50) -> list[VehicleHit]:
        """Finds vehicles by registration (any spacing or dashes, or its last characters),
        engine or chassis number (whole, leading or trailing part). Needs 3+ characters."""
        key = _alnum(text)
        if len(key) < 3:
            return []
        reg = registration_key(text)
        v = vehicles
        candidates: list[tuple[int, str, sa.ColumnElement[bool]]] = [
            (0, "registration", v.c.reg_key == reg),
            (1, "registration", self._prefix(v.c.reg_key, key)),
            (2, "registration", self._prefix(v.c.reg_rev, key[::-1])),
            (3, "engine", self._prefix(v.c.engine_key, key)),
            (4, "engine", self._prefix(v.c.engine_rev, key[::-1])),
            (5, "chassis", self._prefix(v.c.chassis_key, key)),
            (6, "chassis", self._prefix(v.c.chassis_rev, key[::-1])),
        ]
        found: dict[tuple[int, int], tuple[int, str, Any]] = {}
        with self._engine.connect() as conn:
            for rank, matched_on, condition in candidates:
                stmt = (
                    sa.select(v, property_items.c.status, records.c.ref)
                    .select_from(
                        v.join(
                            property_items,
                            (property_items.c.ledger_index == v.c.ledger_index)
                            & (property_items.c.seq == v.c.property_seq),
                        ).join(records, records.c.ledger_index == v.c.ledger_index)
                    )
                    .where(condition)
                    .limit(limit)
                )
                for row in conn.execute(stmt):
                    k = (int(row.ledger_index), int(row.property_seq))
                    if k not in found:
                        found[k] = (rank, matched_on, row)
        ordered = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]))[:limit]
        return [
            VehicleHit(
                ledger_index=k[0],
                record_ref=row.ref or "",
                registration=row.registration,
                engine_number=row.engine_number,
                chassis_number=row.chassis_number,
                make=row.make,
                model=row.model,
                colour=row.colour,
                vehicle_type=row.vehicle_type,
                property_status=row.status,
                matched_on=matched_on,
            )
            for k, (_, matched_on, row) in ordered
        ]

    def _prefix(self, column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
        # SQLite's LIKE is case-insensitive and skips the index; keys are [A-Z0-9], so a range
        # is the same test and uses it. PostgreSQL uses its varchar_pattern_ops index for LIKE.
        if self._sqlite:
            return (column >= prefix) & (column < prefix + "\x7f")
        return column.like(prefix + "%")

    def search_property(
        self, text: str, *, status: str | None = None, limit: int = 50
    ) -> list[PropertyHit]:
        """Finds property by category ("mobile phone"), words of its description, or its
        identifiers (IMEI, serial numbers); optionally only with `status` ("stolen", ...)."""
        words = text.strip().lower()
        p = property_items
        conditions: list[sa.ColumnElement[bool]] = []
        if words:
            conditions.append(p.c.category == words)
            conditions.append(sa.func.lower(p.c.description).contains(words, autoescape=True))
        key = _alnum(text)
        if len(key) >= 3:
            conditions.append(p.c.ident_key.contains(key, autoescape=True))
        if not conditions:
            return []
        stmt = (
            sa.select(p, records.c.ref)
            .select_from(p.join(records, records.c.ledger_index == p.c.ledger_index))
            .where(sa.or_(*conditions))
            .order_by(p.c.ledger_index, p.c.seq)
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(p.c.status == status.strip().lower())
        with self._engine.connect() as conn:
            return [_property_hit(r) for r in conn.execute(stmt)]

    def fir(self, number: str) -> FirView | None:
        """The FIR "FIR No. 12/2026" (or "12/2026", or a Zero FIR's "ZERO FIR 2/2026")."""
        idx = self.record_index(number)
        with self._engine.connect() as conn:
            if idx is None:
                return None
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
                _property_hit(r)
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
        """FIRs numbered at this station per crime head ("unclassified" when none). A Zero FIR
        registered here for another station is counted there, as NCRB counts a case once."""
        stmt = (
            sa.select(firs.c.crime_head, sa.func.count())
            .where(firs.c.serial > 0)
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

    def snapshot(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Every table's rows in primary-key order, for comparing a rebuild with the original."""
        out: list[tuple[str, list[tuple[Any, ...]]]] = []
        tables = list(_metadata.sorted_tables)
        for projection in self.projections:
            tables.extend(projection.metadata.sorted_tables)
        with self._engine.connect() as conn:
            for table in tables:
                stmt = sa.select(table).order_by(*table.primary_key.columns)
                out.append((table.name, [tuple(r) for r in conn.execute(stmt)]))
        return out


# --- search scoring -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NameQuery:
    mains: tuple[str, ...]
    variants: tuple[str, ...]
    phonetics: tuple[str, ...]
    initials: str
    optional: tuple[bool, ...]  # "kumar" may be missing from the record ("Suresh"/"Suresh Kumar")
    typo: tuple[int, ...] = ()  # per token: edits a typo match may differ by (0 or absent: none)

    @classmethod
    def of(cls, text: str) -> _NameQuery:
        keys = names.analyse(text)
        optional = tuple(m in names.OPTIONAL_TOKENS for m in keys.mains)
        if all(optional):
            optional = tuple(False for _ in optional)  # a query of just "Kumar" means it
        return cls(keys.mains, keys.variants, keys.phonetics, keys.initials, optional)


_EXACT, _VARIANT, _INITIAL = 1.0, 0.8, 0.3
# A typo match scores below any phonetic one (at least 0.55): 0.5 at one edit, 0.4 at two.
_TYPO_ONE_EDIT, _TYPO_PER_EDIT = 0.5, 0.1
_PHONETIC_MIN_SIMILARITY = 0.75


def _score_form(
    q: _NameQuery, normalised: str, initials: str, variants: str, phonetics: str
) -> float | None:
    """How well one written name matches the query, or None if it does not.

    Every query main token must match a different token of the name: exactly (1.0), by
    variant key (0.8), or by phonetic key when the variant keys are also similar
    (0.55-0.6, by Jaro-Winkler); for a token that is no known spelling (`q.typo`), by a
    token a few edits away (0.5 at one edit, 0.4 at two); else by an initial of the
    name with its first letter (0.3,
    "Gopalan Raju" finds "G. Raju"). An optional token ("kumar") may stay unmatched only if the
    name has no other unmatched part. The mean token score ranks exact > variant > phonetic;
    then +0.1 x the share of the name's parts matched ("Raju" prefers "Raju" to "Raju
    Gopalan"), +0.15 when the query's initials are among the name's, -0.3 when both have
    initials and none agree ("K. Raju" is probably not "P. Raju").
    """
    f_mains = [t for t in normalised.split() if len(t) > 1]
    f_vars = variants.split()
    f_phons = phonetics.split()
    if len(f_vars) != len(f_mains) or len(f_phons) != len(f_mains):
        return None
    used: set[int] = set()
    free_initials = list(initials)
    levels: list[float] = []
    skipped_optional = False
    for i, token in enumerate(q.mains):
        best, best_j = 0.0, -1
        for j, f_token in enumerate(f_mains):
            if j in used:
                continue
            if f_token == token:
                score = _EXACT
            elif f_vars[j] == q.variants[i]:
                score = _VARIANT
            elif f_phons[j] == q.phonetics[i] and (
                (similarity := jellyfish.jaro_winkler_similarity(q.variants[i], f_vars[j]))
                >= _PHONETIC_MIN_SIMILARITY
            ):
                score = 0.4 + 0.2 * similarity
            elif i < len(q.typo) and q.typo[i]:
                edits = jellyfish.damerau_levenshtein_distance(token, f_token)
                if edits > q.typo[i]:
                    continue
                score = _TYPO_ONE_EDIT - _TYPO_PER_EDIT * (edits - 1)
            else:
                continue
            if score > best:
                best, best_j = score, j
        if best_j >= 0:
            used.add(best_j)
            levels.append(best)
        elif token[0] in free_initials:
            free_initials.remove(token[0])
            levels.append(_INITIAL)
        elif q.optional[i]:
            skipped_optional = True
        else:
            return None
    if not levels or max(levels) <= _INITIAL:
        return None
    unmatched = [t for j, t in enumerate(f_mains) if j not in used]
    if skipped_optional and any(t not in names.OPTIONAL_TOKENS for t in unmatched):
        return None
    score = sum(levels) / len(levels)
    if skipped_optional:
        score -= 0.05  # "Suresh Kumar" prefers "Suresh Kumar" to "Suresh"
    countable = [t for t in f_mains if t not in names.OPTIONAL_TOKENS] or f_mains
    matched = sum(1 for j, t in enumerate(f_mains) if j in used and t in countable)
    score += 0.1 * matched / len(countable)
    if q.initials:
        q_init, f_init = set(q.initials), set(initials)
        if f_init:
            if q_init == f_init:
                score += 0.2
            elif q_init <= f_init:
                score += 0.15
            elif q_init & f_init:
                score += 0.05
            else:
                score -= 0.3
        elif q_init & {t[0] for t in unmatched}:
            score += 0.05  # "K. Raju" and "Raju Kumar": K may stand for Kumar
    return score


def _person_filters(
    age_min: int | None, age_max: int | None, role: str | None
) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if age_min is not None or age_max is not None:
        out.append(persons.c.age > 0)
    if age_min is not None:
        out.append(persons.c.age >= age_min)
    if age_max is not None:
        out.append(persons.c.age <= age_max)
    if role:
        out.append(persons.c.role == role.strip().lower())
    return out


def _property_hit(r: Any) -> PropertyHit:
    return PropertyHit(
        ledger_index=int(r.ledger_index),
        record_ref=r.ref or "",
        property_id=r.property_id,
        category=r.category,
        description=r.description,
        status=r.status,
        value_inr=int(r.value_inr),
        identifiers=r.identifiers,
    )


def _meta(conn: Connection, key: str) -> int:
    value = conn.execute(sa.select(index_meta.c.value).where(index_meta.c.key == key)).scalar()
    return int(value or 0)


def _set_meta(conn: Connection, key: str, value: int) -> None:
    conn.execute(index_meta.update().where(index_meta.c.key == key).values(value=value))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
