"""The aggregating node's one index over every replica (node/index/aggregate), on SQLite and on
real PostgreSQL: rows equal to each station's own index, ingest idempotent and resumable after a
failure mid-transaction, a rebuild giving the same rows, search across offices traced back to the
entry, and (PostgreSQL) one partition per state that can be dropped alone."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.entry import parse_leaf
from ledger.errors import StoreError
from node.config import DataDir
from node.demo.seed import seed_station
from node.index import schema as core
from node.index.aggregate import keys
from node.index.aggregate import statistics as stats
from node.index.aggregate.index import AggregateIndex
from node.index.projection import IndexedEntry
from node.station import registers
from node.station.core import Station
from tests.node.support import theft_fir

OFFICES = (
    ("cctns.in/kerala/ernakulam-city/ps-kalamassery", "Ernakulam City", "Kalamassery", 11),
    ("cctns.in/kerala/thrissur-city/ps-ollur", "Thrissur City", "Ollur", 12),
    ("cctns.in/tamil-nadu/chennai/ps-egmore", "Chennai", "Egmore", 13),
)
RECORDS = 700  # about 20 FIRs and their persons per station

Logs = list[tuple[str, int, Callable[[int, int], Iterable[bytes]]]]


@pytest.fixture(scope="module")
def stations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Station]]:
    base = tmp_path_factory.mktemp("aggregate")
    opened = []
    for origin, district, name, seed in OFFICES:
        data_dir = DataDir(base / name)
        data_dir.create(origin=origin, district=district, station=name)
        station = Station.open(data_dir)
        seed_station(station, RECORDS, seed=seed, show_progress=False)
        # One FIR with a stolen vehicle in each: the synthetic draws depend on the date they
        # are made, and some days leave a station of 700 records without a vehicle row.
        registers.register_fir(station, "PEN100001", theft_fir())
        opened.append(station)
    yield opened
    for station in opened:
        station.close()


def logs_of(stations: list[Station]) -> Logs:
    return [(s.config.origin, s.ledger.size(), s.ledger.store.entries) for s in stations]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aggregate.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def index(url: str) -> Iterator[AggregateIndex]:
    opened = AggregateIndex(url)
    yield opened
    opened.close()


def _rows(engine: sa.Engine, table: str, low: int, high: int) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        t = sa.Table(table, sa.MetaData(), autoload_with=conn)
        stmt = (
            sa.select(t)
            .where(t.c.ledger_index >= low, t.c.ledger_index < high)
            .order_by(*t.primary_key.columns)
        )
        return [tuple(r) for r in conn.execute(stmt)]


def test_rows_are_each_stations_own_rows_under_aggregate_keys(
    index: AggregateIndex, stations: list[Station]
) -> None:
    applied = index.catch_up(logs_of(stations), batch_entries=250)
    assert applied == sum(s.ledger.size() for s in stations)
    for station in stations:
        office = index.office(station.config.origin)
        assert office.indexed_size == station.ledger.size()
        low, high = keys.office_range(office.origin_no)
        for table in ("records", "firs", "persons", "record_sections", "property", "vehicles"):
            own = _rows(station.index.engine, table, 0, keys.MAX_ENTRIES)
            theirs = _rows(index.engine, table, low, high)
            # The same rows, each keyed by the office's base plus the entry's ledger index.
            assert [(r[0] - office.base, *r[1:]) for r in theirs] == own, table
            assert own, f"the seeded station has no {table} rows: the check would be empty"
    # Offices of one state share its number; another state has its own.
    numbers = [index.office(s.config.origin).origin_no for s in stations]
    states = [n >> (keys.STATE_SHIFT - keys.OFFICE_SHIFT) for n in numbers]
    assert states[0] == states[1] != states[2]
    assert len(set(numbers)) == 3


def test_applying_again_changes_nothing(index: AggregateIndex, stations: list[Station]) -> None:
    index.catch_up(logs_of(stations))
    before = index.snapshot()
    assert index.catch_up(logs_of(stations)) == 0
    # The same entries handed to apply again are skipped, every one of them.
    station = stations[0]
    entries = [
        IndexedEntry(i, parse_leaf(leaf).decode_body())
        for i, leaf in enumerate(station.ledger.store.entries(0, 50))
    ]
    assert index.apply({station.config.origin: entries}) == 0
    assert index.snapshot() == before


def test_a_gap_is_refused(index: AggregateIndex, stations: list[Station]) -> None:
    station = stations[0]
    leaves = list(station.ledger.store.entries(5, 10))
    entries = [IndexedEntry(i, parse_leaf(leaf).decode_body()) for i, leaf in enumerate(leaves, 5)]
    with pytest.raises(StoreError, match="index gap: expected entry 0, got 5"):
        index.apply({station.config.origin: entries})
    assert index.indexed_size(station.config.origin) == 0


def test_failure_mid_ingest_leaves_nothing_and_resumes(
    index: AggregateIndex, url: str, stations: list[Station], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside a transaction (after some origins' rows were written in it) leaves no
    row and no size behind; the next catch-up ends with the rows a clean ingest gives."""
    calls = 0
    real = keys.key

    def failing(origin_no: int, position: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 1500:  # the second transaction, past its first origin's rows
            raise RuntimeError("power cut")
        return real(origin_no, position)

    monkeypatch.setattr(keys, "key", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        index.catch_up(logs_of(stations), batch_entries=1000)
    sizes = {o.origin: o.indexed_size for o in index.offices()}
    assert sum(sizes.values()) == 1000  # the first transaction only
    monkeypatch.setattr(keys, "key", real)
    index.catch_up(logs_of(stations), batch_entries=1000)

    clean_url = url.replace("aggregate.sqlite3", "clean.sqlite3")
    if clean_url == url:  # PostgreSQL: rebuild in place and compare
        resumed = index.snapshot()
        index.rebuild()
        index.catch_up(logs_of(stations), batch_entries=100_000)
        assert index.snapshot() == resumed
        return
    clean = AggregateIndex(clean_url)
    try:
        for station in stations:  # the same office numbers, in the same order
            clean.office(station.config.origin)
        clean.catch_up(logs_of(stations), batch_entries=100_000)
        assert clean.snapshot() == index.snapshot()
    finally:
        clean.close()


def test_rebuild_gives_the_same_rows(index: AggregateIndex, stations: list[Station]) -> None:
    index.catch_up(logs_of(stations), batch_entries=400)
    before = index.snapshot()
    assert sum(len(rows) for _, rows in before) > 1000
    index.rebuild()
    assert all(not rows for name, rows in index.snapshot() if name != "index_meta")
    assert all(o.indexed_size == 0 for o in index.offices())
    index.catch_up(logs_of(stations), batch_entries=5000)
    assert index.snapshot() == before


def test_rows_of_an_older_shape_are_projected_again(url: str, stations: list[Station]) -> None:
    """An index whose rows an older shape of the station's tables wrote (core.SCHEMA_VERSION:
    shape 5 added the pair keys) is emptied on open and caught up again to the same rows."""
    index = AggregateIndex(url)
    index.catch_up(logs_of(stations), batch_entries=5000)
    before = index.snapshot()
    with index.engine.begin() as conn:
        conn.execute(
            core.index_meta.update().where(core.index_meta.c.key == "schema").values(value=4)
        )
    index.close()
    index = AggregateIndex(url)
    try:
        assert all(o.indexed_size == 0 for o in index.offices())
        assert all(not rows for name, rows in index.snapshot() if name != "index_meta")
        index.catch_up(logs_of(stations), batch_entries=5000)
        assert index.snapshot() == before
        index.close()
        index = AggregateIndex(url)  # the same shape: nothing to do again
        assert index.snapshot() == before
    finally:
        index.close()


def test_search_finds_a_person_in_any_office(
    index: AggregateIndex, stations: list[Station]
) -> None:
    index.catch_up(logs_of(stations))
    target = stations[2]  # another state's station
    with target.index.engine.connect() as conn:
        name, position = conn.execute(
            sa.text(
                "SELECT p.name, p.ledger_index FROM persons p JOIN firs f "
                "ON f.ledger_index = p.ledger_index WHERE p.withheld = false "
                "AND p.name != '' ORDER BY p.ledger_index LIMIT 1"
            )
        ).one()
    hits = index.persons(str(name), limit=200)
    found = [(located, hit) for located, hit in hits if located.origin == target.config.origin]
    assert any(located.index == position for located, _ in found), (name, hits[:5])
    located = next(located for located, _ in found if located.index == position)
    body = parse_leaf(target.ledger.store.entry(located.index)).decode_body()
    assert name in [p.person.name for p in body.fir.persons]


@pytest.mark.postgres
def test_a_state_is_a_partition_dropped_alone(pg_url: str, stations: list[Station]) -> None:
    index = AggregateIndex(pg_url)
    try:
        index.catch_up(logs_of(stations))
        with index.engine.connect() as conn:
            partitions = (
                conn.execute(
                    sa.text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'records' "
                        "AND p.relnamespace = current_schema()::regnamespace ORDER BY 1"
                    )
                )
                .scalars()
                .all()
            )
        assert partitions == ["records_s1", "records_s2"]
        kerala = [index.office(s.config.origin) for s in stations[:2]]
        tamil_nadu = index.office(stations[2].config.origin)
        before = _rows(index.engine, "persons", *keys.office_range(tamil_nadu.origin_no))
        low, high = keys.state_range(1)
        with index.engine.connect() as conn:
            plan = "\n".join(
                conn.execute(
                    sa.text(
                        "EXPLAIN SELECT count(*) FROM records "
                        f"WHERE ledger_index >= {low} AND ledger_index < {high}"
                    )
                ).scalars()
            )
        assert "records_s1" in plan and "records_s2" not in plan, plan

        assert index.drop_state("kerala") == 2
        for office in kerala:
            assert index.indexed_size(office.origin) == 0
            assert not _rows(index.engine, "records", *keys.office_range(office.origin_no))
        assert _rows(index.engine, "persons", *keys.office_range(tamil_nadu.origin_no)) == before
        # Indexed again, Kerala's offices keep their numbers.
        index.catch_up(logs_of(stations))
        assert [index.office(s.config.origin) for s in stations[:2]] == [
            type(o)(o.origin, o.origin_no, o.state, s.ledger.size())
            for o, s in zip(kerala, stations[:2], strict=True)
        ]
    finally:
        index.close()


def test_hotspots_are_the_squares_with_most_cases(
    index: AggregateIndex, stations: list[Station]
) -> None:
    index.catch_up(logs_of(stations))
    with stations[0].index.engine.connect() as conn:
        year, count = conn.execute(
            sa.text(
                "SELECT year, count(*) FROM firs WHERE serial > 0 AND occurrence_lat != 0 "
                "AND crime_head NOT IN ('Missing persons', 'Unnatural deaths') "
                "GROUP BY year ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
    spots = stats.hotspots(index, year=int(year), state="kerala", district="Ernakulam City",
                           cell=0.5, limit=100)  # fmt: skip
    # Squares half a degree wide hold every FIR of the station's year (the generator puts
    # occurrences within 0.08 degrees of the district's centre), counted once each, most first.
    assert sum(s.cases for s in spots) == int(count) > 0
    assert [s.cases for s in spots] == sorted((s.cases for s in spots), reverse=True)
    fine = stats.hotspots(index, year=int(year), state="kerala", cell=0.01, limit=3)
    assert len(fine) == 3 and fine[0].cases >= fine[-1].cases
    assert all(9.0 < s.lat < 11.0 and 75.5 < s.lon < 77.5 for s in fine)


_KILLED_INGEST = """
import sys, time
from pathlib import Path
from ledger.rocksdb_store import RocksDBLogStore
from node.index import schema as core
from node.index.aggregate.index import AggregateIndex

url, *pairs = sys.argv[1:]
logs = []
for origin, path in zip(pairs[::2], pairs[1::2]):
    store = RocksDBLogStore.open(Path(path), audit=True)  # beside the test's open stations
    logs.append((origin, store.size(), store.entries))
index = AggregateIndex(url)
print("ingesting", flush=True)
index.catch_up(logs, batch_entries=40, progress=lambda done: time.sleep(0.05))
print("finished", flush=True)
"""


def test_ingest_killed_mid_way_resumes_to_the_same_rows(
    url: str, stations: list[Station], tmp_path: Path
) -> None:
    """SIGKILL of a process in the middle of an ingest (a real crash: no exception handler
    runs), then the ingest resumed by another process: the rows of a clean ingest."""
    pairs = [str(x) for s in stations for x in (s.config.origin, s.ledger.store.path)]
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_INGEST, url, *pairs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ingesting"
    watcher = AggregateIndex(url)
    try:
        deadline = time.monotonic() + 60
        while sum(o.indexed_size for o in watcher.offices()) < 200:
            assert time.monotonic() < deadline, "the ingest made no progress"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        total = sum(s.ledger.size() for s in stations)
        part = sum(o.indexed_size for o in watcher.offices())
        assert 0 < part < total  # killed mid-way
        watcher.catch_up(logs_of(stations))
        resumed = watcher.snapshot()
        watcher.rebuild()
        watcher.catch_up(logs_of(stations), batch_entries=100_000)
        assert watcher.snapshot() == resumed
        assert sum(o.indexed_size for o in watcher.offices()) == total
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        watcher.close()
