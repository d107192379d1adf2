"""The tables of an aggregating node's index: the station's tables over every origin, plus its
own bookkeeping and case outcomes.

Derived tables (rebuilt from the replicas at will):
  * the core tables of a station's index (`node.index.schema`), the same names and columns, so
    that person, vehicle and property search (`node.index.search`) runs on them unchanged; every
    `ledger_index` (and `amendments.target_index`) holds an aggregate key (`keys`), and
    `person_names.name_id` is numbered across all origins;
  * `case_outcomes`: the final reports and court progress of every case, for the statistics
    (which FIRs were charge-sheeted, closed, disposed of by a court);
  * `wanted_events`: each accused declared wanted in a case (a `wanted` case event, one row per
    accused) and each end of it (an arrest of that accused code in that case, or a
    `wanted_withdrawn` event: kind "ended"), for the standing watch list of wanted persons
    (node/index/aggregate/watch.py). Arrests that end no wanted status are not kept.
On PostgreSQL every derived table keyed by ledger index is partitioned by range of that key,
one partition per state (`state_partition`), so a state's rows are scanned or dropped alone.
`person_names` and `name_keys` are keyed by name id and stay whole; `name_tokens` is the shared
vocabulary of name tokens. On SQLite (tests, small district nodes) nothing is partitioned.

Bookkeeping (kept across rebuilds; its schema moves by Alembic migration, never by a drop:
node/index/migrations/aggregate; these Table objects only describe it for queries):
  * `agg_states`: the number each state was given;
  * `agg_origins`: each office's number, its state, how many of its entries are indexed and
    when they last were.
"""

from __future__ import annotations

import sqlalchemy as sa

from node.index import history, person_links, similar
from node.index import schema as core
from node.records import limits

_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

derived = sa.MetaData()
bookkeeping = sa.MetaData()

# Tables partitioned by range of their ledger_index (every core table keyed by it).
_UNPARTITIONED = {"index_meta", "name_tokens", "name_keys", "person_names"}

for _table in core.metadata.sorted_tables:
    _copy = _table.to_metadata(derived)
    # No foreign keys: rows are projected in ledger order from verified entries (a record's row
    # before its persons'), and a state's partitions must drop without cascading through
    # constraints; Citus, too, keeps foreign keys only between co-located tables.
    for _constraint in list(_copy.foreign_key_constraints):
        _copy.constraints.discard(_constraint)
    for _column in _copy.columns:
        _column.foreign_keys.clear()
    if _table.name not in _UNPARTITIONED:
        _copy.dialect_kwargs["postgresql_partition_by"] = "RANGE (ledger_index)"

records = derived.tables["records"]
firs = derived.tables["firs"]
# A case event names its FIR by number; among many offices' FIRs the number is found with
# the office's key range.
sa.Index("ix_agg_records_ref_key", records.c.ref_key, records.c.ledger_index)
sa.Index("ix_agg_firs_number", firs.c.fir_number, firs.c.ledger_index)

case_outcomes = sa.Table(
    "case_outcomes",
    derived,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("origin_no", sa.Integer, nullable=False),
    # An FIR of the office, or a case the office took over from another station, by its key
    # ("FIR No. 12/2026 of kerala/.../ps-x": node/records/case_transfer.py case_key).
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),  # "final_report" or "court_progress"
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("report_type", sa.String(24), nullable=False),  # "charge_sheet", "closure"
    sa.Column("outcome", sa.Text, nullable=False),  # court disposal, as written
    sa.Index("ix_case_outcomes_fir", "origin_no", "fir_number"),
    postgresql_partition_by="RANGE (ledger_index)",
)

wanted_events = sa.Table(
    "wanted_events",
    derived,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # person in the event
    sa.Column("origin_no", sa.Integer, nullable=False),
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),  # as case_outcomes
    sa.Column("accused_code", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "wanted" or "ended"
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("relation", sa.String(8), nullable=False),
    sa.Column("relative_name", sa.Text, nullable=False),
    sa.Index("ix_wanted_events_case", "origin_no", "fir_number", "accused_code"),
    postgresql_partition_by="RANGE (ledger_index)",
)

# The history sheets and MO entries (node/index/history.py) and the similar-case tables
# (node/index/similar.py), the same columns as a station's, for history, MO and similar-case
# search across the replicas; the stations' person-link decisions (node/index/person_links.py).
for _table in (*history.TABLES, *similar.TABLES, *person_links.TABLES):
    _table.to_metadata(derived).dialect_kwargs["postgresql_partition_by"] = "RANGE (ledger_index)"
# The similar-case words' counts over every office (keyed by word: whole, like `name_tokens`).
similar.term_counts.to_metadata(derived)

PARTITIONED: tuple[sa.Table, ...] = tuple(
    t for t in derived.sorted_tables if t.dialect_kwargs.get("postgresql_partition_by")
)

agg_states = sa.Table(
    "agg_states",
    bookkeeping,
    sa.Column("state", sa.String(64), primary_key=True),
    sa.Column("state_no", sa.Integer, nullable=False, unique=True),
)
agg_origins = sa.Table(
    "agg_origins",
    bookkeeping,
    sa.Column("origin", sa.String(200), primary_key=True),
    sa.Column("origin_no", sa.BigInteger, nullable=False, unique=True),
    sa.Column("state", sa.String(64), sa.ForeignKey("agg_states.state"), nullable=False),
    sa.Column("indexed_size", sa.BigInteger, nullable=False),
    sa.Column("registered_at_ms", sa.BigInteger, nullable=False),
    # When the last entries of this office were indexed (0: not since revision 0002).
    sa.Column("indexed_at_ms", sa.BigInteger, nullable=False, server_default="0"),
)


# Watch lists held for the offices below (node/index/aggregate/watch.py; migration 0003).
watches = sa.Table(
    "watches",
    bookkeeping,
    sa.Column("watcher", sa.String(200), primary_key=True),
    sa.Column("watch_id", sa.String(80), primary_key=True),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.String(400), nullable=False),
    sa.Column("match_key", sa.String(400), nullable=False),
    sa.Column("source_key", sa.BigInteger, nullable=False),
    sa.Column("cancelled", sa.Boolean, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)
watch_hits = sa.Table(
    "watch_hits",
    bookkeeping,
    sa.Column("watcher", sa.String(200), primary_key=True),
    sa.Column("watch_id", sa.String(80), primary_key=True),
    sa.Column("row_key", sa.BigInteger, primary_key=True),
    sa.Column("origin", sa.String(200), nullable=False),
    sa.Column("idx", sa.BigInteger, nullable=False),
    sa.Column("ref", sa.String(120), nullable=False),
    sa.Column("detail", sa.String(400), nullable=False),
    sa.Column("found_ms", sa.BigInteger, nullable=False),
    sa.Column("delivered_ms", sa.BigInteger, nullable=False),
)


def partition_name(table: sa.Table, state_no: int) -> str:
    return f"{table.name}_s{state_no}"


def state_partition_ddl(table: sa.Table, state_no: int, low: int, high: int) -> str:
    """PostgreSQL: the partition of `table` holding one state's rows."""
    return (
        f'CREATE TABLE IF NOT EXISTS "{partition_name(table, state_no)}" '
        f'PARTITION OF "{table.name}" FOR VALUES FROM ({low}) TO ({high})'
    )


def high_bits(column: sa.ColumnElement[int], bits: int) -> sa.ColumnElement[int]:
    """`column >> bits`: a key's office number (keys.OFFICE_SHIFT) or state number
    (keys.STATE_SHIFT). The shift is written into the SQL, not bound: PostgreSQL has no
    bigint >> bigint, and a GROUP BY must repeat the very expression."""
    return column.op(">>", return_type=sa.BigInteger)(sa.literal_column(str(int(bits))))
