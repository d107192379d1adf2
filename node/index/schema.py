"""The index's tables: a SQL projection of one node's log (see `node.index.record_index`).

Core tables only (records, FIRs, persons and their searchable names, property, vehicles, GD,
petitions, NCRs, amendments, Zero FIR transfers, and `index_meta`); casework and citizen
services bring their own tables (`node.index.casework`, `node.index.services`). Also the keys
rows are looked up by (`ref_key`, `serial_year`), shared by projection and lookups.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# SQLite only makes an INTEGER PRIMARY KEY the rowid (the fast clustered key); BIGINT is not.
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
metadata = sa.MetaData()


def _index_fk() -> sa.Column[Any]:
    return sa.Column(
        "ledger_index", _BigInt, sa.ForeignKey("records.ledger_index"), primary_key=True
    )


#: The shape of the tables. An index written by an older shape is dropped and projected again
#: from the ledger when it is opened (the ledger is the truth; see RecordIndex): 2 added
#: `records.imported` and the NCR occurrence columns; 3 moves an FIR's crime head when an
#: amendment alters its sections; 4 adds the place of occurrence's coordinates to `firs`; 5 adds
#: the "name x relative" pair keys to `name_keys` (`search.pair_key`) and the person's age and
#: role to `person_names`; 6 adds the investigation tables (`node.index.investigation`: lock-up
#: and property registers, case clocks, diary days), projected from the case events already
#: in every log; 7 adds the process register and the NCR forwardings (`node.index.processes`);
#: 8 adds the history sheets and MO entries (`node.index.history`), the beats, duties and
#: patrols (`node.index.duty`), the transfers (`node.index.transfers`); 9 widens the case
#: columns to hold a taken-over case's key ("FIR No. 12/2026 of <the sender's node id>"); 10
#: changes the name keys of contracted and joined Arabic name parts (`node.records.names`); 11
#: adds the officers' person-link decisions (`node.index.person_links`); 12 adds the similar-case
#: tables (`node.index.similar`: case profiles and their terms); 13 changes the name keys of
#: Malayalam-script names (transliterated by indic-transliteration) and of "zh" after a vowel;
#: 14 adds the fingerprint impressions (`node.index.fingerprints`).
SCHEMA_VERSION = 14

index_meta = sa.Table(
    "index_meta",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
records = sa.Table(
    "records",
    metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("ref", sa.String(80)),  # as written: "FIR No. 12/2026"
    sa.Column("ref_key", sa.String(80)),  # for lookup: "FIRNO12/2026"
    sa.Column("written_at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("year", sa.Integer),
    sa.Column("crime_head", sa.String(80)),
    # Imported from an earlier system (EntryBody.imported_from): its number and time are the
    # original register's; the live series run around them (node/station/registers.py).
    sa.Column("imported", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_records_ref_key", "ref_key"),
    sa.Index("ix_records_kind_year", "kind", "year"),
)
firs = sa.Table(
    "firs",
    metadata,
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
    # Where it happened, when the FIR says (0, 0: not given): the statistics' hotspot maps.
    sa.Column("occurrence_lat", sa.Float, nullable=False),
    sa.Column("occurrence_lon", sa.Float, nullable=False),
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
    metadata,
    _index_fk(),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("act", sa.String(20), nullable=False),
    sa.Column("section", sa.String(40), nullable=False),
    sa.Index("ix_record_sections_act_section", "act", "section"),
)
persons = sa.Table(
    "persons",
    metadata,
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
    metadata,
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
    # The person's age and role, as in `persons` (kept equal by amendments): a search filters
    # its candidate names by them without joining `persons`, which an aggregating node
    # partitions by state.
    sa.Column("age", sa.Integer, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Index("ix_person_names_person", "ledger_index", "person_seq"),
    sa.Index("ix_person_names_normalised", "normalised"),
)
# The lookup table: one row per (name form, main token, key kind). `key` is "v:<variant>" or
# "p:<phonetic>" for a person's own names and aliases, "rv:"/"rp:" for a relative's name (so a
# name search never wades through relatives' names), and "x:<phonetic>|<relative's phonetic>"
# pairing a token of a name or alias with one of the person's relative's name (`pair_key`);
# the primary key (key, name_id, pos) is the covering index searches use.
name_keys = sa.Table(
    "name_keys",
    metadata,
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
    metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("token", sa.String(200), primary_key=True),
    sa.Column("variant", sa.String(200), nullable=False),
    sqlite_with_rowid=False,
)
property_items = sa.Table(
    "property",
    metadata,
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
    metadata,
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
    metadata,
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
    metadata,
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
    metadata,
    _index_fk(),
    sa.Column("ncr_number", sa.String(40), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("reported_at_ms", sa.BigInteger, nullable=False),
    # When the offence began and ended (0: not given; the report's time then decides the law).
    sa.Column("occurrence_from_ms", sa.BigInteger, nullable=False, default=0),
    sa.Column("occurrence_to_ms", sa.BigInteger, nullable=False, default=0),
    sa.Column("brief_facts", sa.Text, nullable=False),
    sa.Column("gd_reference", sa.String(40), nullable=False),
    sa.Index("ix_ncrs_year_serial", "year", "serial"),
)
amendments = sa.Table(
    "amendments",
    metadata,
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
    metadata,
    _index_fk(),
    sa.Column("zero_fir_number", sa.String(40), nullable=False),
    sa.Column("zero_fir_index", sa.BigInteger, nullable=False),
    sa.Column("to_station", sa.String(200), nullable=False),
    sa.Column("direction", sa.String(10), nullable=False),
    sa.Column("assigned_fir_number", sa.String(40), nullable=False),
)

# Insert order: parents before children (foreign keys are enforced on SQLite too).
INSERT_ORDER: tuple[sa.Table, ...] = (
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

# The digits 0-9 only, no longer than a serial (`\d` takes any script's digits).
_SERIAL_YEAR_RE = re.compile(r"([0-9]{1,9})\s*/\s*([0-9]{4})\s*$")
_YEAR_SERIAL_RE = re.compile(r"([0-9]{4})\s*/\s*([0-9]{1,9})\s*$")
_REF_KEY_RE = re.compile(r"[^A-Z0-9/-]")


def ref_key(ref: str) -> str:
    """A record reference as looked up: "FIR No. 12/2026" -> "FIRNO12/2026"."""
    return _REF_KEY_RE.sub("", ref.upper())


def serial_year(text: str, *, year_first: bool) -> tuple[int, int]:
    """("FIR No. 12/2026" -> (12, 2026)); ("PET/2026/000123", year_first) -> (123, 2026)."""
    if year_first:
        match = _YEAR_SERIAL_RE.search(text)
        if match:
            return int(match.group(2)), int(match.group(1))
    match = _SERIAL_YEAR_RE.search(text)
    if match:
        return int(match.group(1)), int(match.group(2))
    return 0, 0


def year_of_ms(ms: int) -> int | None:
    if ms <= 0:
        return None
    # Asia/Kolkata is UTC+5:30, no daylight saving: the year as the station sees it.
    return (dt.datetime.fromtimestamp(ms / 1000, dt.UTC) + dt.timedelta(hours=5.5)).year


def read_meta(conn: Connection, key: str) -> int:
    value = conn.execute(sa.select(index_meta.c.value).where(index_meta.c.key == key)).scalar()
    return int(value or 0)


def set_meta(conn: Connection, key: str, value: int) -> None:
    conn.execute(index_meta.update().where(index_meta.c.key == key).values(value=value))
