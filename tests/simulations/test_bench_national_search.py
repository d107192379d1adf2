"""The national person-search benchmark, run tiny on real PostgreSQL: the rows it makes
set-based are the rows `AggregateIndex.apply` writes (name forms, keys, tokens, ids, the index's
own indexes), search finds the persons the queries were made from, and a run leaves nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from node.index import schema as core
from node.index.aggregate import keys
from node.index.aggregate.index import AggregateIndex
from node.index.projection import _name_form, pair_rows
from simulations import bench_national_search as bench

pytestmark = pytest.mark.postgres


def _index_shape(engine: sa.Engine) -> set[tuple[str, str]]:
    """(table, index definition) of every index in the engine's schema, schema name left out."""
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        rows = conn.exec_driver_sql(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        ).all()
    return {(str(t), str(d).replace(f"{schema}.", "")) for t, d in rows}


def test_bench_rows_are_the_rows_apply_writes(pg_url: str) -> None:
    index, built = bench.build(pg_url, 600)
    try:
        engine = index.engine
        assert built.persons == 600 and built.firs == 200
        assert len({s.state for s in built.stations}) == 36
        pn, nk = core.person_names, core.name_keys
        with engine.connect() as conn:
            names = conn.execute(sa.select(pn).order_by(pn.c.name_id)).all()
            key_rows = conn.execute(sa.select(nk)).all()
            tokens = {tuple(r) for r in conn.execute(sa.select(core.name_tokens))}
            next_id = core.read_meta(conn, "next_name_id")
            refs = conn.execute(sa.select(core.records.c.ref, core.records.c.ref_key)).all()
            persons = conn.execute(sa.select(core.persons)).all()
            sizes = {
                str(origin): int(size)
                for origin, size in conn.exec_driver_sql(
                    "SELECT origin, indexed_size FROM agg_origins"
                )
            }
        # Name ids are handed out from 1 without a gap, in ledger order (person, then form).
        assert (
            [r.name_id for r in names] == list(range(1, len(names) + 1)) == list(range(1, next_id))
        )
        assert [(r.ledger_index, r.person_seq) for r in names] == sorted(
            (r.ledger_index, r.person_seq) for r in names
        )
        by_id: dict[int, set[tuple[str, int]]] = {}
        for key, name_id, pos in key_rows:
            by_id.setdefault(name_id, set()).add((key, pos))
        expected_tokens: set[tuple[str, str, str]] = set()
        expected: dict[int, set[tuple[str, int]]] = {}
        people: dict[tuple[int, int], list[tuple[int, str, tuple[str, ...]]]] = {}
        for r in names:
            form = _name_form(r.kind, r.name)
            assert form is not None
            assert (r.normalised, r.initials, r.variants, r.phonetics) == form.columns
            assert not r.superseded and r.added_at == r.ledger_index
            expected[r.name_id] = {(k, pos) for pos, pair in enumerate(form.keys) for k in pair}
            people.setdefault((r.ledger_index, r.person_seq), []).append(
                (r.name_id, r.kind, form.phonetics)
            )
            expected_tokens.update(form.tokens)
        # Each person's names and aliases pair with their relative's name as apply pairs them.
        pairs = 0
        for forms in people.values():
            own = [(name_id, ph) for name_id, kind, ph in forms if kind != "relative"]
            relative = [p for _, kind, ph in forms if kind == "relative" for p in ph]
            for key, name_id, pos in pair_rows(own, relative):
                expected[name_id].add((key, pos))
                pairs += 1
        assert pairs > len(persons) // 2
        assert by_id == expected
        assert tokens == expected_tokens
        ages = {(p.ledger_index, p.seq): (p.age, p.role) for p in persons}
        assert all((r.age, r.role) == ages[(r.ledger_index, r.person_seq)] for r in names)
        # Every person's name (and relative's, when there is one) is searchable.
        kinds = {(r.ledger_index, r.person_seq, r.kind) for r in names}
        for p in persons:
            assert (p.ledger_index, p.seq, "name") in kinds
            assert bool(p.relative_name) == ((p.ledger_index, p.seq, "relative") in kinds)
            assert p.age >= 18 and not p.withheld
        assert all(core.ref_key(ref) == key for ref, key in refs)
        for station, origin_no in zip(built.stations, built.origin_numbers, strict=True):
            assert sizes[station.origin] == station.firs
            assert index.locate(keys.key(origin_no, 0)).origin == station.origin
        # The indexes dropped for the load are made again exactly as the index defines them.
        fresh_schema = f"t_{uuid.uuid4().hex[:16]}"
        base = pg_url.split("?", 1)[0]
        admin = sa.create_engine(base)
        try:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{fresh_schema}"')
            fresh = AggregateIndex(bench.with_search_path(base, fresh_schema))
            for station in built.stations:
                fresh.office(station.origin)
            assert _index_shape(engine) == _index_shape(fresh.engine)
            fresh.close()
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{fresh_schema}" CASCADE')
            admin.dispose()
    finally:
        index.close()


def test_bench_search_finds_the_planted_persons(pg_url: str) -> None:
    results = bench.measure(pg_url, 2000, 20, warmup=3, explain=1)
    assert results["persons"] == 2001 and results["offices"] == 36
    assert results["recall_top10"] >= 0.9
    assert 0 < results["search_p50_ms"] <= results["search_p99_ms"] <= results["search_max_ms"]
    assert 0 < results["pk_lookup_p50_ms"] <= results["pk_lookup_p99_ms"]
    assert results["db_bytes"] >= results["table_bytes"]["persons"] > 0
    assert results["slowest"] and results["slowest"][0]["statements_ms"]
    # The slowest search's slowest statement, explained as it ran (at this size any plan).
    assert "Execution Time" in results["explain"][0]["plan"]


def test_bench_run_reports_and_drops_its_schema(pg_url: str, tmp_path: Path) -> None:
    base = pg_url.split("?", 1)[0]
    out = tmp_path / "national.json"
    args = ["--persons", "300", "--queries", "5", "--warmup", "1", "--explain", "0"]
    assert bench.main([*args, "--url", base, "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert not results["kept"] and results["queries"] == 5
    assert out.with_suffix(".svg").read_text().startswith("<svg")
    engine = sa.create_engine(base)
    with engine.connect() as conn:
        left = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %(s)s", {"s": results["schema"]}
        ).scalar_one()
    engine.dispose()
    assert left == 0
