"""The standing watch list of wanted persons on an aggregating node's index, on SQLite and real
PostgreSQL, fed by two real stations' logs: an accused station A declares wanted is watched for
A; a record of station B naming him (same name and relative) becomes an alert for A; once A
records the arrest (or withdraws the notice) the watch is cancelled in the same ingest, and B's
next record naming him is no alert. The rows projected are those a rebuild projects again. The
watcher's node keeps the standing lists' alerts (no officer there holds those watches)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.errors import InputError
from node.index.aggregate.index import AggregateIndex
from node.records.validation import IST
from node.station import casework, registers
from node.station.core import Station
from node.station.watchlist import Received, WatchList
from protos import records_pb2
from tests.node.index.test_aggregate_statistics import utc_ms
from tests.node.index.watch.support import OFFICER, A, B, ingest
from tests.node.support import person, station_clock_at, theft_fir

WATCHER = A.split("/", 1)[1]


def accused(name: str, code: str, relative: str = "Gopalan") -> records_pb2.PersonInCase:
    kin = {"relation": "S/o", "relative_name": relative} if relative else {}
    found = person(name, records_pb2.ACCUSED, age=34, **kin)
    found.accused_code = code
    return found


def fir_naming(station: Station, days_ago: int, *persons: records_pb2.PersonInCase) -> str:
    when = datetime.now(IST) - timedelta(days=days_ago)
    fir = theft_fir(when)
    del fir.persons[1:], fir.property[:]  # no stolen vehicle: only the persons are watched
    fir.persons.extend(persons)
    with station_clock_at(station, utc_ms(when)):
        return registers.register_fir(station, OFFICER, fir).ref


def declare_wanted(station: Station, number: str, code: str) -> None:
    casework.record_case_event(
        station,
        OFFICER,
        number,
        "wanted",
        persons=[records_pb2.PersonInCase(accused_code=code)],
        report_type="proclamation",
        court="Proclamation dated 2026-11-20 in CC 412/2026, JFCM-I Kalamassery",
        text="absconding since the occurrence",
    )


def test_a_wanted_person_named_elsewhere_tells_the_office_until_his_arrest(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    case = fir_naming(stations[A], 10, accused("Suresh Kumar", "A1"), accused("Manoj", "A2", ""))
    declare_wanted(stations[A], case, "A1")
    declare_wanted(stations[A], case, "A2")  # no relative's name: not watched
    ingest(index, stations)
    assert index.watches.pending() == {}  # its own case is no news to the office
    # B's record: the same name spelt another way, the same father; and Manoj of no father.
    seen = fir_naming(stations[B], 5, accused("Suresh Kumaar", "A1"), accused("Manoj", "A2", ""))
    ingest(index, stations)
    (hit,) = index.watches.pending()[WATCHER]
    assert hit.watch_id.startswith("wanted:") and hit.kind == "person"
    assert (hit.origin, hit.ref) == (B, seen)
    assert hit.value == "Suresh Kumar S/o Gopalan"
    index.watches.delivered([hit])

    # A arrests him; B writes him again later: no alert.
    arrested = accused("Suresh Kumar", "A1")
    casework.record_case_event(stations[A], OFFICER, case, "arrest", persons=[arrested])
    ingest(index, stations)
    fir_naming(stations[B], 1, accused("Suresh Kumar", "A3"))
    ingest(index, stations)
    assert index.watches.pending() == {}
    before = index.snapshot()
    index.rebuild()
    ingest(index, stations)
    assert index.snapshot() == before  # the wanted rows too


def test_a_withdrawn_notice_ends_the_watch_and_another_case_keeps_it(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    first = fir_naming(stations[A], 10, accused("Suresh Kumar", "A1"))
    second = fir_naming(stations[A], 9, accused("Suresh Kumar", "A2"))
    declare_wanted(stations[A], first, "A1")
    declare_wanted(stations[A], second, "A2")  # the same person wanted in two cases: one watch
    ingest(index, stations)
    casework.record_case_event(
        stations[A],
        OFFICER,
        first,
        "wanted_withdrawn",
        persons=[records_pb2.PersonInCase(accused_code="A1")],
        text="the court recalled the proclamation",
    )
    seen = fir_naming(stations[B], 3, accused("Suresh Kumar", "A1"))
    ingest(index, stations)  # the withdrawal and B's record in one transaction
    (hit,) = index.watches.pending()[WATCHER]  # the second case still wants him
    assert hit.ref == seen
    index.watches.delivered([hit])
    casework.record_case_event(
        stations[A],
        OFFICER,
        second,
        "wanted_withdrawn",
        persons=[records_pb2.PersonInCase(accused_code="A2")],
        text="the warrant was cancelled",
    )
    fir_naming(stations[B], 1, accused("Suresh Kumar", "A1"))
    ingest(index, stations)
    assert index.watches.pending() == {}


def test_the_watchers_node_keeps_a_standing_lists_alert_for_every_officer(tmp_path: Path) -> None:
    watchlist = WatchList(f"sqlite:///{tmp_path / 'watchlist.sqlite3'}")
    try:
        mine = watchlist.add(OFFICER, "vehicle", "KL-07-CD-4321")
        standing = Received("wanted:7/0", B, 12, "FIR No. 3/2026", "person Suresh Kumaar", 5)
        officers = Received(mine.watch_id, B, 12, "FIR No. 3/2026", "vehicle KL-07-CD-4321", 5)
        # In one batch: the standing list's alert no longer blocks the officer's.
        assert watchlist.receive("kerala/thrissur-city/dpo", [standing, officers]) == 2
        shown = {(a.watch_id, a.kind, a.officer_id) for a in watchlist.alerts(OFFICER)}
        assert shown == {("wanted:7/0", "person", ""), (mine.watch_id, "vehicle", OFFICER)}
        (other,) = watchlist.alerts("PEN999999")  # another officer sees the station's list
        assert other.value == "person Suresh Kumaar"
        assert [w.watch_id for w in watchlist.unsent()] == [mine.watch_id]  # never handed up
        with pytest.raises(InputError, match="no watch"):
            watchlist.receive("kerala/scrb", [Received("w-none", B, 1, "", "", 0)])
    finally:
        watchlist.close()
