"""Similar-case search ("cases like this one", node/index/similar.py) over generated cases with
planted series (node/demo/mo_cases.py): in a station's index the other cases of a series come
first, in English and in Malayalam, asked by the case or by typed MO and words; a later MO entry
replaces the case's MO; an aggregating node's index over two offices' replicas finds the series
of both offices, each hit located in its own office; a rebuilt index holds the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.demo.mo_cases import PlantedCases, planted_cases
from node.index import similar
from node.index.aggregate.index import AggregateIndex
from node.index.record_index import IndexedEntry, RecordIndex
from node.station.core import station_projections
from protos import ledger_pb2, records_pb2

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OTHER = "cctns.in/kerala/ernakulam-city/ps-aluva"
CASES = 600


def _entries(planted: PlantedCases) -> list[IndexedEntry]:
    return [IndexedEntry(b.index, b) for b in planted.bodies]


@pytest.fixture(scope="module")
def planted() -> PlantedCases:
    return planted_cases(ORIGIN, CASES)


@pytest.fixture
def index(tmp_path: Path, planted: PlantedCases) -> Iterator[RecordIndex]:
    idx = RecordIndex(f"sqlite:///{tmp_path / 'index.sqlite3'}", station_projections())
    entries = _entries(planted)
    for begin in range(0, len(entries), 500):
        idx.apply(entries[begin : begin + 500])
    yield idx
    idx.close()


def test_similar_words_stem_english_and_malayalam_and_drop_names() -> None:
    found = similar.words("Raghavan removed the window grills; വീട്ടിൽ കയറി", drop=["Raghavan"])
    assert found == ["w:remov", "w:window", "w:grill", "w:വീട്ടിൽ", "p:വീട്", "w:കയറി"]
    assert similar.occurrence_time_of_day(0, 0) == ""


def test_similar_station_finds_the_planted_series_first(
    index: RecordIndex, planted: PlantedCases
) -> None:
    engine = index.engine
    assert {s.language for s in planted.series} == {"en", "ml"}
    for series in planted.series:
        key = similar.case_key(engine, series.target)
        assert key is not None
        found = similar.similar(engine, similar.query_case(engine, key), limit=10)
        top = [c.fir_number for c in found[: len(series.similar)]]
        assert set(top) == set(series.similar), (series.language, top)
        assert series.target not in [c.fir_number for c in found]
        best = found[0]
        assert best.mo["entry_method"] == "window_grill_removed"
        assert "mo:entry_method=window_grill_removed" in best.shared


def test_similar_typed_mo_and_words_find_the_series(
    index: RecordIndex, planted: PlantedCases
) -> None:
    (english,) = [s for s in planted.series if s.language == "en"]
    query = similar.query_text(
        "entry:window_grill_removed place:locked_house night almirah chisel sovereigns"
    )
    assert "mo:time_of_day=night" in query.terms and "w:chisel" in query.terms
    found = similar.similar(index.engine, query, limit=5)
    members = {english.target, *english.similar}
    assert {c.fir_number for c in found} <= members
    (malayalam,) = [s for s in planted.series if s.language == "ml"]
    query = similar.query_text("ജനൽ കമ്പി ഇളക്കി അലമാര കുത്തിത്തുറന്ന് പവൻ ബൈക്കിൽ")
    found = similar.similar(index.engine, query, limit=3)
    assert {c.fir_number for c in found} <= {malayalam.target, *malayalam.similar}


def test_similar_compact_query_fits_a_line_and_finds_the_series(
    index: RecordIndex, planted: PlantedCases
) -> None:
    series = planted.series[0]
    key = similar.case_key(index.engine, series.target)
    assert key is not None
    line = similar.compact(index.engine, key)
    assert len(line) <= 200 and "entry_method:window_grill_removed" in line
    found = similar.similar(index.engine, similar.query_text(line), limit=6)
    members = {series.target, *series.similar}
    assert len({c.fir_number for c in found[:5]} & members) >= 4


def test_similar_later_mo_entry_replaces_the_case_mo(
    index: RecordIndex, planted: PlantedCases
) -> None:
    series = planted.series[0]
    key = similar.case_key(index.engine, series.target)
    assert key is not None
    later = ledger_pb2.EntryBody(
        origin=ORIGIN,
        index=len(planted.bodies),
        officer_id="PEN100001",
        case_event=records_pb2.CaseEvent(
            fir_number=series.target,
            kind="modus_operandi",
            mo=records_pb2.ModusOperandi(
                accused_codes=["A1"], entry_method="duplicate_key", place_type="shop"
            ),
        ),
    )
    index.apply([IndexedEntry(later.index, later)])
    terms = similar.query_case(index.engine, key).terms
    assert "mo:entry_method=duplicate_key" in terms
    assert "mo:entry_method=window_grill_removed" not in terms
    # No time of day in the later entry: the occurrence's stays.
    assert "mo:time_of_day=night" in terms


def test_similar_rebuilt_index_holds_the_same_rows(
    index: RecordIndex, planted: PlantedCases, tmp_path: Path
) -> None:
    again = RecordIndex(f"sqlite:///{tmp_path / 'again.sqlite3'}", station_projections())
    try:
        again.apply(_entries(planted))
        names = {t.name for t in similar.metadata.sorted_tables}
        assert [s for s in again.snapshot() if s[0] in names] == [
            s for s in index.snapshot() if s[0] in names
        ]
    finally:
        again.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def aggregate_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aggregate.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


def test_similar_aggregate_finds_both_offices_series(
    aggregate_url: str, planted: PlantedCases
) -> None:
    other = planted_cases(OTHER, CASES // 2, seed=29)
    aggregate = AggregateIndex(aggregate_url)
    try:
        aggregate.apply({ORIGIN: _entries(planted), OTHER: _entries(other)})
        engine = aggregate.engine
        (english,) = [s for s in planted.series if s.language == "en"]
        (theirs,) = [s for s in other.series if s.language == "en"]
        base = aggregate.office(ORIGIN).base
        with engine.connect() as conn:
            key = similar._profile_key(conn, english.target, base)
        assert key is not None
        found = similar.similar(engine, similar.query_case(engine, key), limit=9)
        located = {(aggregate.locate(c.ledger_index).origin, c.fir_number) for c in found}
        wanted = {(ORIGIN, n) for n in english.similar} | {
            (OTHER, n) for n in (theirs.target, *theirs.similar)
        }
        assert located == wanted
    finally:
        aggregate.close()
