"""Projecting entries into the index: in order, all or nothing, amendments, rebuild equality."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.errors import StoreError
from node.index.record_index import IndexedEntry, RecordIndex
from protos import ledger_pb2
from tests.node.index.support import (
    Log,
    amended_log,
    fir,
    genesis,
    person,
    recall_log,
    typo_log,
)


def test_apply_counts_and_skips_already_applied(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(fir=fir(1, people=[person("P-1-1", "Raju")]))
    log.add(fir=fir(2, people=[person("P-2-1", "Gopalan")]))
    assert index.indexed_size() == 0
    index.apply(log.entries[:2])
    assert index.indexed_size() == 2
    before = index.snapshot()
    index.apply(log.entries[:2])  # again: nothing changes
    assert index.snapshot() == before
    index.apply(log.entries)  # overlaps: 0 and 1 are skipped, 2 applied
    assert index.indexed_size() == 3
    assert index.lookups.person_count() == 2
    index.apply([])
    assert index.indexed_size() == 3


def test_apply_gap_raises_and_applies_nothing(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(fir=fir(1, people=[person("P-1-1", "Raju")]))
    log.add(fir=fir(2))
    log.add(fir=fir(3))
    with pytest.raises(StoreError, match="gap"):
        index.apply(log.entries[1:])
    # A gap inside one call: the whole call is rolled back.
    with pytest.raises(StoreError, match="gap"):
        index.apply([log.entries[0], log.entries[1], log.entries[3]])
    assert index.indexed_size() == 0
    assert index.lookups.person_count() == 0
    assert index.search.persons("Raju") == []
    index.apply(log.entries)
    assert index.indexed_size() == 4


def test_amendments_project_onto_current_view(index: RecordIndex) -> None:
    log = amended_log()
    index.apply(log.entries)
    view = index.lookups.fir("FIR No. 12/2026")
    assert view is not None
    assert view.brief_facts == "Theft of a scooter"
    assert view.sections == ("BNS:303(2)", "BNS:317(2)")
    assert view.status == "under investigation"
    raju, biju = view.persons
    assert (raju.name, raju.age, raju.relative_name, raju.address) == (
        "Rajendran",
        41,
        "Gopala Pillai",
        "Aluva",
    )
    assert raju.aliases == ("Raj",)
    assert biju.aliases == ("Kunju",)
    assert view.amendments == (2, 3, 4)
    assert index.lookups.history("FIR No. 12/2026") == [1, 2, 3, 4]
    assert index.lookups.fir("12/2026") == view


def test_name_tokens_are_backfilled_for_an_older_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    log, people = typo_log()
    index = RecordIndex(url)
    index.apply(log.entries)
    before = index.snapshot()
    index.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM name_tokens"))
    engine.dispose()
    index = RecordIndex(url)
    try:
        assert index.snapshot() == before
        pid, _, _, father = people[0]
        assert [h.person_id for h in index.search.persons(f"Arnu S/o {father}")] == [pid]
    finally:
        index.close()


def test_drop_all_and_reapply_gives_identical_snapshot(index: RecordIndex) -> None:
    log, _ = recall_log()
    extra = amended_log()
    offset = len(log.entries) - 1
    for entry in extra.entries[1:]:
        b = ledger_pb2.EntryBody()
        b.CopyFrom(entry.body)
        b.index = entry.index + offset
        if b.HasField("amendment"):
            b.amendment.amends_index += offset
        else:
            b.fir.fir_serial, b.fir.fir_number = 999, "FIR No. 999/2026"
        log.entries.append(IndexedEntry(b.index, b))
    index.apply(log.entries[:50])
    index.apply(log.entries[50:])
    first = index.snapshot()
    answers = [index.search.persons(q) for q in ("Raju", "Mohammed", "Rajendran", "Kunju")]
    assert any(rows for _, rows in first)
    index.drop_all()
    assert index.indexed_size() == 0
    assert all(not rows for name, rows in index.snapshot() if name != "index_meta")
    index.apply(log.entries)
    assert index.snapshot() == first
    assert [index.search.persons(q) for q in ("Raju", "Mohammed", "Rajendran", "Kunju")] == answers
