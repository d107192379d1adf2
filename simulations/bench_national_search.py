"""Person search on the national node's one index (node/index/aggregate) on PostgreSQL,
at national size: 5,000,000 persons in about 1.7 million FIRs of every state's stations.

The latency of `AggregateIndex.persons` (p50/p99 over misspelt names with the relative's name
and an age range, as officers search) is printed beside a baseline measured in the same run on
the same database: a primary-key lookup of one `persons` row (p50/p99). Target: p99 < 100 ms.
Recall is the share of queries that find the person they were made from in the top 10.

How the index is built in minutes rather than hours. Projecting millions of ledger entries
through Python would take hours, so the rows are made set-based in PostgreSQL, the way
`AggregateIndex.apply` would have written them:
- the schema is the index's own (`AggregateIndex(url)`), every office registered through
  `AggregateIndex.office` (which makes each state's partitions); offices are the stations of
  simulations/scenarios/india.toml, the FIRs spread over the states by their yearly cases;
- the names come from the demo generator (`SyntheticRecords.person`: Kerala names, styles,
  spellings, aliases): a pool of person templates, and for every distinct written name the very
  `person_names`/`name_keys`/`name_tokens` rows `projection._name_form` gives;
- case templates (heads, sections, facts, place) come from `SyntheticRecords.crime_fir`,
  only cases whose sections withhold no one (every person is searchable, as their rows say);
- `INSERT ... SELECT` over `generate_series` then makes each state's records, FIRs, sections,
  persons (three per FIR: complainant, accused, witness; template and age by hash of the
  person's number), names (ids handed out in ledger order, as apply does) and name keys;
- the big tables' indexes are dropped before the load and made again after it from their own
  definitions (a sort each, instead of millions of random b-tree inserts), then VACUUM ANALYZE,
  as autovacuum would have left a long-running node.

The run uses its own schema in the database at --url and drops it at the end unless --keep.
Results go to bench-out/national_search.json (and .svg).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from tqdm import tqdm

from node.demo.synthetic import SyntheticRecords
from node.index import schema as core
from node.index.aggregate import keys
from node.index.aggregate.index import AggregateIndex
from node.index.projection import _name_form, pair_rows
from node.records import withholding
from node.records.laws import Statutes
from node.records.validation import IST, utc_ms
from protos import records_pb2
from simulations.bench import misspell
from simulations.chart import bar_chart
from simulations.report import percentile, save_results
from simulations.sim.scenario import load_scenario

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PERSONS_PER_FIR = 3  # complainant, accused, witness
FIRS_PER_STATION = 100  # 1.7 million FIRs over India's ~17,000 stations
TEMPLATE_POOL = 1 << 18  # person templates at most (ages and positions differ per person)
CASE_POOL = 512
TARGET_P99_MS = 100.0
TOP = 10
FIRST_YEAR = 2024  # FIRs are registered over two years, numbered per year at each station

# The tables the load writes, whose indexes are made after it.
_LOADED = (
    core.records,
    core.firs,
    core.record_sections,
    core.persons,
    core.person_names,
    core.name_keys,
)


# -- the plan: offices, person and case templates ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Station:
    """A station's log in the index: its origin, where it is, and how many FIRs it holds."""

    origin: str
    state: str
    district: str
    name: str
    firs: int
    first_fir: int  # the national number of its first FIR (person numbers follow from it)


def plan_stations(firs: int) -> list[Station]:
    """India's stations (at most one per FIRS_PER_STATION FIRs, at least one per state) with
    `firs` FIRs spread over the states by their yearly cases, evenly over a state's stations."""
    scenario = load_scenario("india", faults=False)
    by_state: dict[str, list[Any]] = {}
    for office in scenario.by_role("station"):
        by_state.setdefault(office.state, []).append(office)
    all_stations = sum(len(v) for v in by_state.values())
    wanted = max(1, firs // FIRS_PER_STATION)
    cases = {s.id: s.cases_per_year for s in scenario.states}
    total_cases = sum(cases.values())
    districts = {(d.state, d.id): d.name for d in scenario.police_districts}
    shares = _apportion(firs, {s: cases[s] / total_cases for s in by_state})
    out: list[Station] = []
    number = 0
    for state, offices in by_state.items():
        count = max(1, min(len(offices), round(len(offices) * wanted / all_stations)))
        count = min(count, max(1, shares[state]))
        for office, share in zip(offices[:count], _even(shares[state], count), strict=True):
            district = districts.get((state, office.district), office.district)
            out.append(Station(office.origin(), state, district, office.name, share, number))
            number += share
    return out


def _apportion(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` split by `shares` (largest remainders), each part whole."""
    exact = {k: total * v for k, v in shares.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[
        : total - sum(out.values())
    ]:
        out[k] += 1
    return out


def _even(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@dataclass(slots=True)
class Vocabulary:
    """Person templates and every distinct written name among them, analysed once."""

    forms: dict[tuple[str, str], int]  # (kind, written name) -> form number
    templates: list[tuple[Any, ...]]  # (t, sex, relation, name, relative, address, mobile)
    template_forms: list[tuple[int, int, int]]  # (t, order, form): name, aliases, relative
    others: int  # templates 0..others-1 are complainants and witnesses; the rest accused


def person_templates(size: int, seed: int) -> Vocabulary:
    """`size` persons as the demo generator makes them (about a third of them accused)."""
    source = SyntheticRecords(seed, "Ernakulam City", "Kalamassery")
    accused = max(1, size // PERSONS_PER_FIR)
    others = max(1, size - accused)
    forms: dict[tuple[str, str], int] = {}
    templates: list[tuple[Any, ...]] = []
    template_forms: list[tuple[int, int, int]] = []

    def form(kind: str, written: str) -> int | None:
        if _name_form(kind, written) is None:
            return None  # apply writes no searchable name for it either
        return forms.setdefault((kind, written), len(forms))

    for t in range(others + accused):
        role = records_pb2.ACCUSED if t >= others else records_pb2.COMPLAINANT
        p = source.person(role).person
        templates.append((t, p.sex, p.relation, p.name, p.relative_name, p.address, p.mobile))
        written = [("name", p.name), *(("alias", a) for a in p.aliases)]
        if p.relative_name:
            written.append(("relative", p.relative_name))
        for order, (kind, text) in enumerate(written):
            number = form(kind, text)
            if number is not None:
                template_forms.append((t, order, number))
    return Vocabulary(forms, templates, template_forms, others)


def case_templates(count: int, seed: int) -> list[records_pb2.Fir]:
    """Crime FIRs of the demo generator whose sections withhold no one's identity."""
    source = SyntheticRecords(seed, "Ernakulam City", "Kalamassery")
    statutes = Statutes.default()
    at = dt.datetime(2025, 6, 1, 10, tzinfo=IST)
    out: list[records_pb2.Fir] = []
    while len(out) < count:
        fir = source.crime_fir(at)
        offence = withholding.offence_of(fir.sections, statutes, fir.occurrence_from_ms)
        if not offence.withheld and fir.crime_head:
            out.append(fir)
    return out


# -- building the index --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Built:
    stations: list[Station]
    origin_numbers: list[int]  # per station
    persons: int
    firs: int
    names: int
    seconds: float
    size_bytes: int
    table_bytes: dict[str, int]
    template_pool: int
    distinct_names: int


def _copy(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp,
    ):
        for row in rows:
            cp.write_row(row)


def _load_vocabulary(conn: Connection, vocab: Vocabulary, cases: list[records_pb2.Fir]) -> None:
    conn.exec_driver_sql(
        "CREATE TEMP TABLE bench_forms (fid int PRIMARY KEY, kind text, name text,"
        " normalised text, initials text, variants text, phonetics text)"
    )
    conn.exec_driver_sql("CREATE TEMP TABLE bench_form_keys (fid int, pos int, key text)")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE bench_form_tokens (fid int, kind text, token text, variant text)"
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE bench_people (t int PRIMARY KEY, sex text, relation text, name text,"
        " relative_name text, address text, mobile text)"
    )
    conn.exec_driver_sql("CREATE TEMP TABLE bench_people_forms (t int, ord int, fid int)")
    conn.exec_driver_sql("CREATE TEMP TABLE bench_people_pairs (t int, ord int, pos int, key text)")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE bench_cases (c int PRIMARY KEY, crime_head text, brief_facts text,"
        " place text, lat double precision, lon double precision, information_type text,"
        " occurred_before bigint, lasted bigint, received_before bigint)"
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE bench_case_sections (c int, seq int, act text, section text)"
    )
    form_rows, key_rows, token_rows = [], [], []
    for (kind, written), fid in vocab.forms.items():
        form = _name_form(kind, written)
        assert form is not None
        form_rows.append((fid, kind, written, *form.columns))
        for pos, (v_key, p_key) in enumerate(form.keys):
            key_rows += [(fid, pos, v_key), (fid, pos, p_key)]
        token_rows += [(fid, *token) for token in form.tokens]
    _copy(
        conn,
        "bench_forms",
        ("fid", "kind", "name", "normalised", "initials", "variants", "phonetics"),
        form_rows,
    )
    _copy(conn, "bench_form_keys", ("fid", "pos", "key"), key_rows)
    _copy(conn, "bench_form_tokens", ("fid", "kind", "token", "variant"), token_rows)
    _copy(
        conn,
        "bench_people",
        ("t", "sex", "relation", "name", "relative_name", "address", "mobile"),
        vocab.templates,
    )
    _copy(conn, "bench_people_forms", ("t", "ord", "fid"), vocab.template_forms)
    _copy(conn, "bench_people_pairs", ("t", "ord", "pos", "key"), _pairs(vocab))
    case_rows, section_rows = [], []
    for c, fir in enumerate(cases):
        registered = fir.registered_at_ms
        case_rows.append(
            (
                c,
                fir.crime_head,
                fir.brief_facts,
                fir.place_of_occurrence.description,
                fir.place_of_occurrence.latitude,
                fir.place_of_occurrence.longitude,
                fir.information_type,
                registered - fir.occurrence_from_ms,
                fir.occurrence_to_ms - fir.occurrence_from_ms,
                registered - fir.information_received_ms,
            )
        )
        section_rows += [(c, seq, s.act, s.section) for seq, s in enumerate(fir.sections)]
    _copy(
        conn,
        "bench_cases",
        (
            "c",
            "crime_head",
            "brief_facts",
            "place",
            "lat",
            "lon",
            "information_type",
            "occurred_before",
            "lasted",
            "received_before",
        ),
        case_rows,
    )
    _copy(conn, "bench_case_sections", ("c", "seq", "act", "section"), section_rows)
    conn.exec_driver_sql("CREATE INDEX ON bench_people_forms (t)")
    conn.exec_driver_sql("CREATE INDEX ON bench_people_pairs (t, ord)")
    conn.exec_driver_sql("CREATE INDEX ON bench_form_keys (fid)")
    conn.exec_driver_sql("CREATE INDEX ON bench_case_sections (c)")
    conn.exec_driver_sql("CREATE TEMP TABLE bench_used (fid int PRIMARY KEY)")
    conn.exec_driver_sql(
        "ANALYZE bench_forms, bench_form_keys, bench_people, bench_people_forms, bench_people_pairs"
    )


def _pairs(vocab: Vocabulary) -> list[tuple[int, int, int, str]]:
    """Each template's "name x relative" keys as `Batch.add_pair_keys` makes them, by the
    order of the name or alias form they belong to: (t, ord, pos, key)."""
    by_number = {number: written for written, number in vocab.forms.items()}
    people: dict[int, list[tuple[int, str, str]]] = {}
    for t, order, number in vocab.template_forms:
        kind, written = by_number[number]
        people.setdefault(t, []).append((order, kind, written))
    out: list[tuple[int, int, int, str]] = []
    for t, written_forms in people.items():
        own: list[tuple[int, tuple[str, ...]]] = []
        relative: list[str] = []
        for order, kind, written in written_forms:
            form = _name_form(kind, written)
            assert form is not None
            if kind == "relative":
                relative.extend(form.phonetics)
            else:
                own.append((order, form.phonetics))
        out += [(t, order, pos, key) for key, order, pos in pair_rows(own, relative)]
    return out


def _hash(expr: str, seed: int, modulus: int | str) -> str:
    """SQL: a deterministic pseudo-random number in [0, modulus) from a bigint expression."""
    return f"mod(hashint8extended(({expr})::bigint, {seed}) & 9223372036854775807, {modulus})"


# One state's rows. Parameters: the state's stations in `bench_stations` (origin_no, first, firs,
# district, station); FIR k of a station is its entry k, numbered k % half + 1 in year
# FIRST_YEAR + k / half, registered evenly over that year.
_YEAR_MS = 365 * 86_400_000


def _fir_source(seed: int, cases: int) -> str:
    return f"""
        SELECT (s.origin_no << {keys.OFFICE_SHIFT}) + k AS li,
               s.first_fir + k AS g,
               mod(k, s.half) + 1 AS serial,
               {FIRST_YEAR} + k / s.half AS year,
               s.year0_ms + (k / s.half) * {_YEAR_MS}::bigint
                   + mod(k, s.half) * ({_YEAR_MS}::bigint / s.half) AS at_ms,
               s.district, s.station,
               {_hash("s.first_fir + k", seed, cases)} AS c
        FROM bench_stations s, generate_series(0, s.firs - 1) AS k
    """


def _load_state(conn: Connection, seed: int, vocab: Vocabulary, cases: int, name_base: int) -> int:
    """Writes the rows of the stations in `bench_stations`; returns how many names it gave."""
    conn.exec_driver_sql(f"CREATE TEMP TABLE bench_fir AS {_fir_source(seed, cases)}")
    conn.exec_driver_sql(
        """INSERT INTO records (ledger_index, kind, ref, ref_key, written_at_ms, officer_id,
                                year, crime_head, imported)
           SELECT f.li, 'fir', 'FIR No. ' || f.serial || '/' || f.year,
                  'FIRNO' || f.serial || '/' || f.year, f.at_ms + 60000,
                  'PEN' || (100000 + mod(f.g, 900000)), f.year, c.crime_head, false
           FROM bench_fir f JOIN bench_cases c USING (c) ORDER BY f.li"""
    )
    conn.exec_driver_sql(
        """INSERT INTO firs (ledger_index, fir_number, serial, year, zero_fir, zero_fir_number,
                             zero_serial, zero_year, district, police_station,
                             jurisdiction_station, registered_at_ms, occurrence_from_ms,
                             occurrence_to_ms, occurrence_lat, occurrence_lon,
                             information_received_ms, crime_head, status,
                             brief_facts, place, gd_reference, information_type,
                             petition_receipt)
           SELECT f.li, 'FIR No. ' || f.serial || '/' || f.year, f.serial, f.year, false, '',
                  0, f.year, f.district, f.station, '', f.at_ms,
                  f.at_ms - c.occurred_before, f.at_ms - c.occurred_before + c.lasted, c.lat, c.lon,
                  f.at_ms - c.received_before, c.crime_head, 'registered', c.brief_facts,
                  c.place, '', c.information_type, ''
           FROM bench_fir f JOIN bench_cases c USING (c) ORDER BY f.li"""
    )
    conn.exec_driver_sql(
        """INSERT INTO record_sections (ledger_index, seq, act, section)
           SELECT f.li, s.seq, s.act, s.section
           FROM bench_fir f JOIN bench_case_sections s USING (c) ORDER BY f.li, s.seq"""
    )
    accused = len(vocab.templates) - vocab.others
    person_no = f"f.g * {PERSONS_PER_FIR} + q.seq"
    conn.exec_driver_sql(
        f"""CREATE TEMP TABLE bench_person AS
            SELECT f.li, q.seq, {person_no} AS pno,
                   CASE WHEN q.seq = 1 THEN {vocab.others} + {_hash(person_no, seed + 1, accused)}
                        ELSE {_hash(person_no, seed + 1, vocab.others)} END AS t
            FROM bench_fir f, (VALUES (0), (1), (2)) AS q(seq)"""
    )
    conn.exec_driver_sql(
        f"""ALTER TABLE bench_person
            ADD COLUMN age int, ADD COLUMN role text;
            UPDATE bench_person SET age = 18 + {_hash("pno", seed + 2, 58)},
                   role = (ARRAY['complainant', 'accused', 'witness'])[seq + 1]"""
    )
    conn.exec_driver_sql(
        """INSERT INTO persons (ledger_index, seq, person_id, role, accused_code, unknown, name,
                                relative_name, relation, age, date_of_birth, sex, address,
                                mobile, juvenile, withheld)
           SELECT p.li, p.seq, 'P-' || p.pno, p.role,
                  CASE WHEN p.seq = 1 THEN 'A1' ELSE '' END, false, t.name, t.relative_name,
                  t.relation, p.age, '', t.sex, t.address, t.mobile, false, false
           FROM bench_person p JOIN bench_people t USING (t) ORDER BY p.li, p.seq"""
    )
    conn.exec_driver_sql(
        f"""CREATE TEMP TABLE bench_names AS
            SELECT {name_base} + row_number() OVER (ORDER BY p.li, p.seq, pf.ord) AS name_id,
                   p.li, p.seq, pf.fid, p.t, pf.ord, p.age, p.role
            FROM bench_person p JOIN bench_people_forms pf USING (t)"""
    )
    conn.exec_driver_sql(
        """INSERT INTO person_names (name_id, ledger_index, person_seq, kind, name, normalised,
                                     initials, variants, phonetics, superseded, added_at, age,
                                     role)
           SELECT n.name_id, n.li, n.seq, f.kind, f.name, f.normalised, f.initials, f.variants,
                  f.phonetics, false, n.li, n.age, n.role
           FROM bench_names n JOIN bench_forms f USING (fid) ORDER BY n.name_id"""
    )
    conn.exec_driver_sql(
        """INSERT INTO name_keys (key, name_id, pos)
           SELECT k.key, n.name_id, k.pos FROM bench_names n JOIN bench_form_keys k USING (fid)"""
    )
    conn.exec_driver_sql(
        """INSERT INTO name_keys (key, name_id, pos)
           SELECT k.key, n.name_id, k.pos FROM bench_names n JOIN bench_people_pairs k
           USING (t, ord)"""
    )
    conn.exec_driver_sql(
        "INSERT INTO bench_used SELECT DISTINCT fid FROM bench_names ON CONFLICT DO NOTHING"
    )
    given = int(conn.exec_driver_sql("SELECT count(*) FROM bench_names").scalar_one())
    for temp in ("bench_fir", "bench_person", "bench_names"):
        conn.exec_driver_sql(f"DROP TABLE {temp}")
    return given


@dataclass(frozen=True, slots=True)
class _IndexDef:
    table: str
    name: str
    constraint: str | None  # "PRIMARY KEY (...)" when the index is a constraint's
    create: str


def _index_defs(conn: Connection, table: str) -> list[_IndexDef]:
    rows = conn.exec_driver_sql(
        """SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.conrelid = x.indrelid
           WHERE x.indrelid = %(t)s::regclass ORDER BY i.relname""",
        {"t": table},
    ).all()
    out = []
    for name, create, constraint, constraint_def in rows:
        # A partitioned table's index is defined "ON ONLY" the parent: made again on the
        # parent, it is made on every partition too.
        create = str(create).replace(" ON ONLY ", " ON ", 1)
        out.append(
            _IndexDef(
                table, str(constraint or name), constraint_def and str(constraint_def), create
            )
        )
    return out


@contextmanager
def _indexes_after(conn: Connection, tables: Sequence[sa.Table]) -> Iterator[None]:
    """Drops the tables' indexes (primary keys too) and makes them again, as defined, after."""
    defs = [d for t in tables for d in _index_defs(conn, t.name)]
    for d in defs:
        if d.constraint:
            conn.exec_driver_sql(f'ALTER TABLE "{d.table}" DROP CONSTRAINT "{d.name}"')
        else:
            conn.exec_driver_sql(f'DROP INDEX "{d.name}"')
    conn.commit()
    yield
    bar = tqdm(defs, desc="indexes", unit=" index", file=sys.stderr, disable=None, leave=False)
    for d in bar:
        if d.constraint:
            conn.exec_driver_sql(
                f'ALTER TABLE "{d.table}" ADD CONSTRAINT "{d.name}" {d.constraint}'
            )
        else:
            conn.exec_driver_sql(d.create)
        conn.commit()


def build(url: str, persons: int, seed: int = 7) -> tuple[AggregateIndex, Built]:
    """Makes the national index of `persons` persons at `url` (a PostgreSQL database whose
    search_path is an empty schema)."""
    started = time.perf_counter()
    firs = max(1, -(-persons // PERSONS_PER_FIR))
    stations = plan_stations(firs)
    index = AggregateIndex(url)
    if not index.postgres:
        index.close()
        raise SystemExit("bench_national_search needs PostgreSQL (--url)")
    bar = tqdm(stations, desc="offices", unit=" office", file=sys.stderr, disable=None, leave=False)
    origin_numbers = [index.office(s.origin).origin_no for s in bar]
    pool = min(TEMPLATE_POOL, max(2, firs * PERSONS_PER_FIR))
    print(f"  {pool:,} person templates ...", file=sys.stderr)
    vocab = person_templates(pool, seed)
    cases = case_templates(min(CASE_POOL, firs), seed)
    engine = index.engine
    with engine.connect() as conn:
        conn.exec_driver_sql("SET synchronous_commit = off")
        conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        conn.exec_driver_sql("SET work_mem = '256MB'")
        _load_vocabulary(conn, vocab, cases)
        conn.exec_driver_sql(
            "CREATE TEMP TABLE bench_stations (origin_no bigint, first_fir bigint, firs int,"
            " half int, year0_ms bigint, district text, station text)"
        )
        conn.commit()
        year0 = utc_ms(dt.datetime(FIRST_YEAR, 1, 1, tzinfo=IST))
        by_state: dict[str, list[tuple[Station, int]]] = {}
        for station, number in zip(stations, origin_numbers, strict=True):
            by_state.setdefault(station.state, []).append((station, number))
        names = 0
        with _indexes_after(conn, _LOADED):
            total = sum(s.firs for s in stations) * PERSONS_PER_FIR
            progress = tqdm(
                total=total,
                desc="persons",
                unit=" person",
                file=sys.stderr,
                disable=None,
                leave=False,
                unit_scale=True,
            )
            for part in by_state.values():
                conn.exec_driver_sql("TRUNCATE bench_stations")
                _copy(
                    conn,
                    "bench_stations",
                    ("origin_no", "first_fir", "firs", "half", "year0_ms", "district", "station"),
                    [
                        (n, s.first_fir, s.firs, max(1, -(-s.firs // 2)), year0, s.district, s.name)
                        for s, n in part
                        if s.firs
                    ],
                )
                names += _load_state(conn, seed, vocab, len(cases), names)
                conn.commit()
                progress.update(sum(s.firs for s, _ in part) * PERSONS_PER_FIR)
            progress.close()
            conn.exec_driver_sql(
                """INSERT INTO name_tokens (kind, token, variant)
                   SELECT DISTINCT t.kind, t.token, t.variant
                   FROM bench_form_tokens t JOIN bench_used USING (fid)
                   ON CONFLICT DO NOTHING"""
            )
            conn.execute(
                core.index_meta.update()
                .where(core.index_meta.c.key == "next_name_id")
                .values(value=names + 1)
            )
            o = sa.table("agg_origins", sa.column("origin"), sa.column("indexed_size"))
            for station in stations:
                conn.execute(
                    o.update().where(o.c.origin == station.origin).values(indexed_size=station.firs)
                )
            conn.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        print("  vacuum analyze ...", file=sys.stderr)
        # This schema's tables only: a bare VACUUM would walk every schema of the database.
        own = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).scalars()
        conn.exec_driver_sql("VACUUM ANALYZE " + ", ".join(f'"{t}"' for t in own))
        size, tables = _sizes(conn)
    seconds = time.perf_counter() - started
    firs_made = sum(s.firs for s in stations)
    built = Built(
        stations=stations,
        origin_numbers=origin_numbers,
        persons=firs_made * PERSONS_PER_FIR,
        firs=firs_made,
        names=names,
        seconds=seconds,
        size_bytes=size,
        table_bytes=tables,
        template_pool=pool,
        distinct_names=len(vocab.forms),
    )
    return index, built


def _sizes(conn: Connection) -> tuple[int, dict[str, int]]:
    """The schema's bytes (pg_total_relation_size: heap, indexes, TOAST), and per table (a
    partitioned table's partitions added up)."""
    rows = conn.exec_driver_sql(
        """SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid))
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
           LEFT JOIN pg_class p ON p.oid = i.inhparent
           WHERE n.nspname = current_schema() AND c.relkind = 'r'
           GROUP BY 1"""
    ).all()
    tables = {str(name): int(size) for name, size in rows}
    return sum(tables.values()), tables


# -- measuring ----------------------------------------------------------------------------------


class _StatementClock:
    """Times each SQL statement the engine runs while `on`: what a slow search spent its time on."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.statements: list[tuple[float, str, Any]] = []
        self._started = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *args: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if self.on:
            self.statements.append((time.perf_counter() - self._started, statement, parameters))


@dataclass(frozen=True, slots=True)
class Target:
    person_id: str
    query: str
    age_min: int
    age_max: int


def targets(engine: Engine, built: Built, count: int, seed: int) -> list[Target]:
    """`count` persons drawn at random across the index, each with the query an officer would
    type: the name misspelt, the relation and relative's name, an age range of +/- 3 years."""
    rng = random.Random(seed)
    out: list[Target] = []
    p = core.persons
    with engine.connect() as conn:
        while len(out) < count:
            station_no = rng.randrange(len(built.stations))
            station = built.stations[station_no]
            if not station.firs:
                continue
            k = rng.randrange(station.firs)
            key = keys.key(built.origin_numbers[station_no], k)
            seq = rng.randrange(PERSONS_PER_FIR)
            row = conn.execute(
                sa.select(p.c.person_id, p.c.name, p.c.relation, p.c.relative_name, p.c.age).where(
                    p.c.ledger_index == key, p.c.seq == seq
                )
            ).one()
            query = misspell(row.name, rng)
            if row.relative_name:
                query += f" {row.relation or 'S/o'} {row.relative_name}"
            out.append(Target(row.person_id, query, row.age - 3, row.age + 3))
    return out


def bench_search(
    index: AggregateIndex, built: Built, queries: int, warmup: int, seed: int, explain: int
) -> dict[str, Any]:
    engine = index.engine
    drawn = targets(engine, built, queries + warmup, seed)
    for t in drawn[:warmup]:
        index.persons(t.query, age_min=t.age_min, age_max=t.age_max, limit=TOP)
    clock = _StatementClock(engine)
    latencies: list[float] = []
    hits_seen: list[int] = []
    found = 0
    slow: list[tuple[float, Target, list[tuple[float, str, Any]]]] = []
    for t in tqdm(drawn[warmup:], desc="queries", file=sys.stderr, disable=None, leave=False):
        clock.statements = []
        clock.on = True
        start = time.perf_counter()
        hits = index.persons(t.query, age_min=t.age_min, age_max=t.age_max, limit=TOP)
        took = time.perf_counter() - start
        clock.on = False
        latencies.append(took)
        hits_seen.append(len(hits))
        if any(hit.person_id == t.person_id for _, hit in hits):
            found += 1
        slow.append((took, t, clock.statements))
        slow = sorted(slow, key=lambda s: -s[0])[: max(1, explain)]
    # Baseline: one persons row by its primary key, on the same engine and database.
    base: list[float] = []
    p = core.persons
    rng = random.Random(seed + 1)
    with engine.connect() as conn:
        for _ in range(queries + warmup):
            station_no = rng.randrange(len(built.stations))
            station = built.stations[station_no]
            key = keys.key(built.origin_numbers[station_no], rng.randrange(max(1, station.firs)))
            stmt = sa.select(p).where(p.c.ledger_index == key, p.c.seq == rng.randrange(3))
            start = time.perf_counter()
            conn.execute(stmt).all()
            base.append(time.perf_counter() - start)
    base = base[warmup:]
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    b50, b99 = percentile(base, 50), percentile(base, 99)
    results: dict[str, Any] = {
        "queries": queries,
        "search_p50_ms": p50 * 1000,
        "search_p99_ms": p99 * 1000,
        "search_max_ms": max(latencies) * 1000,
        "pk_lookup_p50_ms": b50 * 1000,
        "pk_lookup_p99_ms": b99 * 1000,
        "search_p99_over_pk_p99": p99 / b99,
        "search_p50_over_pk_p50": p50 / b50,
        "recall_top10": found / queries,
        "hits_mean": sum(hits_seen) / len(hits_seen),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": p99 * 1000 < TARGET_P99_MS,
    }
    results["slowest"] = [
        {
            "ms": took * 1000,
            "query": t.query,
            "age": [t.age_min, t.age_max],
            "statements_ms": [round(s * 1000, 2) for s, _, _ in statements],
        }
        for took, t, statements in slow
    ]
    if explain:
        results["explain"] = _explain(engine, slow)
    return results


def _explain(
    engine: Engine, slow: list[tuple[float, Target, list[tuple[float, str, Any]]]]
) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of each of the slowest searches."""
    out = []
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for took, t, timed in slow:
            # Only queries can be explained (not a SET or other statement, which a loaded
            # machine may make the slowest statement of a fast search).
            statements = [s for s in timed if s[1].lstrip().upper().startswith(("SELECT", "WITH"))]
            if not statements:
                continue
            seconds, statement, parameters = max(statements, key=lambda s: s[0])
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n".join(str(r[0]) for r in cursor.fetchall())
            out.append(
                {
                    "query": t.query,
                    "search_ms": took * 1000,
                    "statement_ms": seconds * 1000,
                    "plan": plan,
                }
            )
        raw.rollback()
    return out


# -- the run -------------------------------------------------------------------------------------


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def reopen(url: str) -> tuple[AggregateIndex, Built]:
    """The index a run kept (--keep) at `url`, to measure again without building it."""
    index = AggregateIndex(url)
    offices = index.offices()
    stations = [
        Station(o.origin, o.state, "", o.origin.split("/")[-1], o.indexed_size, 0) for o in offices
    ]
    with index.engine.connect() as conn:
        persons = int(
            conn.execute(sa.select(sa.func.count()).select_from(core.persons)).scalar_one()
        )
        names = core.read_meta(conn, "next_name_id") - 1
        size, tables = _sizes(conn)
    firs = sum(s.firs for s in stations)
    built = Built(
        stations, [o.origin_no for o in offices], persons, firs, names, 0.0, size, tables, 0, 0
    )
    return index, built


def measure(
    url: str,
    persons: int,
    queries: int,
    *,
    warmup: int = 50,
    seed: int = 7,
    explain: int = 0,
    reuse: bool = False,
) -> dict[str, Any]:
    """Builds the index at `url` (search_path: an empty schema), or `reuse`s the one there,
    and measures search on it."""
    if reuse:
        index, built = reopen(url)
    else:
        print(f"national index: {persons:,} persons ...", file=sys.stderr)
        index, built = build(url, persons, seed)
    try:
        print(f"search: {queries:,} misspelt queries ...", file=sys.stderr)
        results = bench_search(index, built, queries, warmup, seed, explain)
    finally:
        index.close()
    results.update(
        {
            "persons": built.persons,
            "firs": built.firs,
            "offices": len(built.stations),
            "states": len({s.state for s in built.stations}),
            "person_names": built.names,
            "person_templates": built.template_pool,
            "distinct_written_names": built.distinct_names,
            "build_seconds": built.seconds,
            "db_bytes": built.size_bytes,
            "table_bytes": built.table_bytes,
        }
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50, help="queries run before measuring")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help="PostgreSQL database (a schema is made in it)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema (its name is printed)")
    parser.add_argument(
        "--schema", help="measure the index a --keep run left in this schema (not built, kept)"
    )
    parser.add_argument("--explain", type=int, default=3, help="EXPLAIN ANALYZE this many slowest")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="bench-out/national_search.json")
    args = parser.parse_args(argv)
    schema = args.schema or f"bench_national_{uuid.uuid4().hex[:8]}"
    keep = args.keep or bool(args.schema)
    admin = sa.create_engine(args.url)
    try:
        if not args.schema:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        results = measure(
            with_search_path(args.url, schema),
            args.persons,
            args.queries,
            warmup=args.warmup,
            seed=args.seed,
            explain=args.explain,
            reuse=bool(args.schema),
        )
    finally:
        if keep:
            print(f"kept schema {schema}", file=sys.stderr)
        else:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    results["when"] = dt.datetime.now(IST).isoformat()
    results["schema"], results["kept"] = schema, keep
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _report(r: dict[str, Any]) -> None:
    mb = r["db_bytes"] / 2**20
    print("\n== national node: person search on the aggregate index (PostgreSQL) ==")
    print(
        f"index: {r['persons']:,} persons in {r['firs']:,} FIRs of {r['offices']:,} stations in "
        f"{r['states']} states; {r['person_names']:,} searchable names"
    )
    built = f"{r['build_seconds']:.0f} s" if r["build_seconds"] else "reused"
    print(f"build: {built}; size (pg_total_relation_size): {mb:,.0f} MiB")
    for table in ("persons", "person_names", "name_keys", "records", "firs"):
        if table in r["table_bytes"]:
            print(f"  {table:<14} {r['table_bytes'][table] / 2**20:10,.0f} MiB")
    ok = "meets" if r["meets_target"] else "MISSES"
    print(
        f"person search, {r['queries']} queries: p50 {r['search_p50_ms']:.1f} ms, "
        f"p99 {r['search_p99_ms']:.1f} ms ({ok} target p99 < {r['target_p99_ms']:.0f} ms)"
    )
    print(
        f"baseline pk lookup of a persons row: p50 {r['pk_lookup_p50_ms']:.3f} ms, "
        f"p99 {r['pk_lookup_p99_ms']:.3f} ms  (search/pk: p50 {r['search_p50_over_pk_p50']:.0f}x, "
        f"p99 {r['search_p99_over_pk_p99']:.0f}x)"
    )
    recall = r["recall_top10"]
    print(f"recall, misspelt name + relative + age range (person in top {TOP}): {recall:.1%}")
    for s in r["slowest"][:3]:
        statements = ", ".join(f"{ms:.0f}" for ms in s["statements_ms"])
        print(
            f"  slow: {s['ms']:.0f} ms  {s['query']!r} age {s['age']}  statements [{statements}] ms"
        )


def _chart(r: dict[str, Any]) -> str:
    bars = [
        ("search p50", r["search_p50_ms"], f"{r['search_p50_ms']:.1f} ms"),
        ("search p99", r["search_p99_ms"], f"{r['search_p99_ms']:.1f} ms"),
        ("pk lookup p99 (baseline)", r["pk_lookup_p99_ms"], f"{r['pk_lookup_p99_ms']:.2f} ms"),
    ]
    return bar_chart(
        f"Person search over {r['persons']:,} persons (national index, PostgreSQL)",
        bars,
        target=TARGET_P99_MS,
        target_label=f"target p99 {TARGET_P99_MS:.0f} ms",
    )


if __name__ == "__main__":
    sys.exit(main())
