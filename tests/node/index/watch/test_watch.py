"""Watch lists on an aggregating node's index (node/index/aggregate/watch.py), on SQLite and real
PostgreSQL, fed by real stations' logs: officers' watches of a vehicle, a person (spelt another
way), a phone and a property identifier are matched once when the record is indexed, withdrawn
watches stop, and standing watches (a vehicle reported stolen, a person reported missing) tell
the reporting office when another office's record names them; the watcher's node keeps each
alert once (node/station/watchlist.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.errors import InputError, NotFound
from node.index.aggregate.index import AggregateIndex
from node.index.aggregate.watch import match_key
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from node.station.watchlist import Received, WatchList
from protos import records_pb2
from tests.node.index.test_aggregate_statistics import utc_ms
from tests.node.index.watch.support import OFFICER, A, B, ingest
from tests.node.support import (
    VICTIM,
    VICTIM_MOBILE,
    person,
    sexual_offence_fir,
    station_clock_at,
    theft_fir,
)

REG = "KL-07-CD-4321"


def _fir(station: Station, days_ago: int, **changes: object) -> str:
    when = datetime.now(IST) - timedelta(days=days_ago)
    fir = theft_fir(when)
    for name, value in changes.items():
        if name == "vehicle":
            del fir.property[:]
            status, registration = value  # type: ignore[misc]
            fir.property.add(
                category="vehicle",
                status=status,
                vehicle=records_pb2.Vehicle(registration=registration, vehicle_type="car"),
            )
        elif name == "accused":
            fir.persons.append(person(str(value), records_pb2.ACCUSED, mobile="+91 94470 55555"))
        elif name == "phone_item":
            fir.property.add(
                category="mobile phone",
                description="Samsung phone",
                status=records_pb2.SEIZED,
                identifiers=str(value),
            )
    with station_clock_at(station, utc_ms(when)):
        return registers.register_fir(station, OFFICER, fir).ref


def test_officers_watches_match_new_records_once(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    watcher = A.split("/", 1)[1]
    index.watches.hold(
        [
            (watcher, "w-vehicle", OFFICER, "vehicle", "kl 7 cd 4321", False),
            (watcher, "w-person", OFFICER, "person", "Mohammed Shafi", False),
            (watcher, "w-phone", OFFICER, "phone", "9447055555", False),
            (watcher, "w-imei", OFFICER, "property", "IMEI 35-678901-234567-8", False),
            (watcher, "w-gone", OFFICER, "vehicle", "KL-01-ZZ-0001", True),  # withdrawn
        ]
    )
    ingest(index, stations)  # nothing written yet but the genesis entries
    assert index.watches.pending() == {}
    ref = _fir(
        stations[B],
        2,
        vehicle=(records_pb2.SEIZED, REG),
        accused="Muhammed Shafi",
        phone_item="356789012345678",
    )
    _fir(stations[B], 1, vehicle=(records_pb2.STOLEN, "KL-01-ZZ-0001"))
    ingest(index, stations)
    ingest(index, stations)  # nothing new: nothing matched twice
    hits = index.watches.pending()[watcher]
    assert sorted(h.watch_id for h in hits) == ["w-imei", "w-person", "w-phone", "w-vehicle"]
    assert {(h.origin, h.ref) for h in hits} == {(B, ref)}
    vehicle = next(h for h in hits if h.watch_id == "w-vehicle")
    assert "registration" in vehicle.detail and vehicle.officer_id == OFFICER
    index.watches.delivered(hits)
    assert index.watches.pending() == {}


def test_a_stolen_vehicle_turning_up_elsewhere_tells_the_office_that_reported_it(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    _fir(stations[A], 5, vehicle=(records_pb2.STOLEN, REG))
    ingest(index, stations)
    assert index.watches.pending() == {}  # its own report is no news to the office
    _fir(stations[A], 4, vehicle=(records_pb2.STOLEN, REG))  # the same office again: no news
    seen = _fir(stations[B], 3, vehicle=(records_pb2.SEIZED, "KL 7 CD 4321"))
    ingest(index, stations)
    (hit,) = index.watches.pending()[A.split("/", 1)[1]]
    assert hit.watch_id.startswith("stolen:") and hit.kind == "vehicle"
    assert (hit.origin, hit.ref) == (B, seen)  # Ollur's record, not Kalamassery's own


def test_the_watchers_node_keeps_each_alert_once(tmp_path: Path) -> None:
    clock = [1_000]
    watchlist = WatchList(f"sqlite:///{tmp_path / 'watchlist.sqlite3'}", clock=lambda: clock[0])
    try:
        watch = watchlist.add(OFFICER, "vehicle", REG)
        alert = Received(watch.watch_id, B, 12, "FIR No. 3/2026", "vehicle KL-07-CD-4321", 5)
        assert watchlist.receive("kerala/thrissur-city/dpo", [alert]) == 1
        # The same record from the state node (the watch is held there too): not again.
        assert watchlist.receive("kerala/scrb", [alert]) == 0
        (kept,) = watchlist.alerts(OFFICER)
        assert (kept.origin, kept.index, kept.from_node) == (B, 12, "kerala/thrissur-city/dpo")
        with pytest.raises(InputError, match="no watch"):
            watchlist.receive("kerala/scrb", [Received("w-none", B, 1, "", "", 0)])
        assert [w.watch_id for w in watchlist.unsent()] == [watch.watch_id]
        watchlist.sent(watchlist.unsent(), 2_000)  # acknowledged by the parent
        assert watchlist.unsent() == []
        clock[0] = 3_000
        with pytest.raises(NotFound):
            watchlist.cancel(watch.watch_id, "PEN999999")  # another officer's
        watchlist.cancel(watch.watch_id, OFFICER)
        assert [w.watch_id for w in watchlist.unsent()] == [watch.watch_id]
    finally:
        watchlist.close()


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("person", "A", "no name"),
        ("phone", "12345", "no phone"),
        ("property", "X1", "6 characters"),
        ("weapon", "AK-47", "not one of"),
    ],
)
def test_what_cannot_be_matched_is_refused(kind: str, value: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        match_key(kind, value)


def test_a_person_the_law_withholds_is_never_found_by_a_watch(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    watcher = A.split("/", 1)[1]
    index.watches.hold(
        [
            (watcher, "w-victim", OFFICER, "person", VICTIM, False),
            (watcher, "w-victim-phone", OFFICER, "phone", VICTIM_MOBILE, False),
            (watcher, "w-accused", OFFICER, "person", "Biju Mathew", False),
        ]
    )
    registers.register_fir(stations[B], OFFICER, sexual_offence_fir())
    ingest(index, stations)
    hits = index.watches.pending()[watcher]
    assert [h.watch_id for h in hits] == ["w-accused"]  # the accused is found, the victim never


def test_a_missing_person_named_elsewhere_with_the_same_relative_tells_the_reporting_office(
    index: AggregateIndex, stations: dict[str, Station]
) -> None:
    when = datetime.now(IST) - timedelta(days=6)
    report = theft_fir(when)
    del report.sections[:], report.property[:]
    report.sections.add(act="KPA", section="57")
    report.brief_facts = "The informant's daughter has been missing since the evening."
    report.persons.append(
        person("Anu Mol", records_pb2.MISSING, relation="D/o", relative_name="Ravindran", age=19)
    )
    with station_clock_at(stations[A], utc_ms(when)):
        registers.register_fir(stations[A], OFFICER, report)
    ingest(index, stations)
    # Another office's records: a girl of the same name and father, and one of another father.
    seen = _fir(stations[B], 3, accused="Anu Mol")
    assert index.watches.pending() == {} or all(
        h.ref != seen for h in index.watches.pending().get(A.split("/", 1)[1], [])
    )
    ingest(index, stations)
    assert A.split("/", 1)[1] not in index.watches.pending()  # the name alone is not enough
    when = datetime.now(IST) - timedelta(days=2)
    found = theft_fir(when)
    found.persons.append(
        person("Anu Mol", records_pb2.WITNESS, relation="D/o", relative_name="Raveendran", age=19)
    )
    with station_clock_at(stations[B], utc_ms(when)):
        ref = registers.register_fir(stations[B], OFFICER, found).ref
    ingest(index, stations)
    (hit,) = index.watches.pending()[A.split("/", 1)[1]]
    assert hit.watch_id.startswith("missing:") and hit.ref == ref and hit.origin == B
