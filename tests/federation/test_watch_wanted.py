"""A wanted person between two stations through their district node, with real node processes
and gRPC over mutual TLS on loopback (docs/watch.md): station A declares an accused of its FIR
wanted; the district, replicating A, keeps a standing watch on him for A; station B registers an
FIR naming him; A's node is told (`cctns watch alerts`). A then records his arrest: the
district cancels the watch as it indexes the arrest, and B's next FIR naming him is no hit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import AGGREGATE_NAME
from node.station import casework, registers
from node.station.core import Station
from protos import records_pb2
from tests.federation.procs import (
    Federation,
    Spec,
    await_alert,
    running_federation,
    wait_for,
)
from tests.node.support import person, theft_fir

SPECS = [
    Spec("dpo", "district"),
    Spec("sta", "station", parent="dpo"),
    Spec("stb", "station", parent="dpo"),
]
OFFICER = "PEN100410"
WAIT = 90.0  # a loaded machine: replication, the watch loop (5 s) and delivery


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with running_federation(tmp_path, SPECS, poll=0.5) as federation:
        yield federation


def _district(fed: Federation, sql: str, *args: object) -> list[tuple[object, ...]]:
    path = fed["dpo"].path / "replicas" / AGGREGATE_NAME
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.execute(sql, args))
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def _wanted_watches(fed: Federation, cancelled: int) -> list[str]:
    rows = _district(
        fed,
        "SELECT watch_id FROM watches WHERE watch_id LIKE 'wanted:%' AND cancelled = ?",
        cancelled,
    )
    return [str(r[0]) for r in rows]


def _accused(code: str) -> records_pb2.PersonInCase:
    found = person(
        "Suresh Kumar", records_pb2.ACCUSED, relation="S/o", relative_name="Gopalan", age=34
    )
    found.accused_code = code
    return found


def _fir_naming_him(station: Station, code: str) -> tuple[str, int]:
    fir = theft_fir()
    del fir.persons[1:], fir.property[:]
    fir.persons.append(_accused(code))
    return registers.register_fir(station, OFFICER, fir).ref, station.ledger.size()


def _writing(fed: Federation, name: str) -> Station:
    """The station's node stopped to write to its ledger (as procs do); restart it after."""
    fed.stop(name)
    return Station.open(fed[name].data_dir)


def test_a_wanted_person_in_another_stations_record_tells_his_station(fed: Federation) -> None:
    station = _writing(fed, "sta")
    try:
        case, _ = _fir_naming_him(station, "A1")
        casework.record_case_event(
            station,
            OFFICER,
            case,
            "wanted",
            persons=[records_pb2.PersonInCase(accused_code="A1")],
            report_type="warrant",
            court="NBW dated 2026-11-20 in CC 412/2026, JFCM-I Kalamassery",
            text="absconding since the occurrence",
        )
    finally:
        station.close()
    fed.start("sta")
    wait_for("the district watches him", lambda: bool(_wanted_watches(fed, 0)), timeout=WAIT)
    (watch_id,) = _wanted_watches(fed, 0)

    station = _writing(fed, "stb")
    try:
        seen, _ = _fir_naming_him(station, "A2")
    finally:
        station.close()
    fed.start("stb")

    alert = await_alert(fed, "sta", watch_id, WAIT)  # station A told of B's record
    assert alert["origin"] == fed["stb"].origin and alert["ref"] == seen
    assert alert["kind"] == "person" and "Suresh Kumar" in str(alert["detail"])

    # A arrests him: the district cancels the watch as it indexes the arrest.
    station = _writing(fed, "sta")
    try:
        casework.record_case_event(station, OFFICER, case, "arrest", persons=[_accused("A1")])
    finally:
        station.close()
    fed.start("sta")
    wait_for("the watch cancelled", lambda: _wanted_watches(fed, 1) == [watch_id], timeout=WAIT)
    station = _writing(fed, "stb")
    try:
        _, size = _fir_naming_him(station, "A1")
    finally:
        station.close()
    fed.start("stb")

    def indexed() -> bool:
        rows = _district(
            fed, "SELECT indexed_size FROM agg_origins WHERE origin = ?", fed["stb"].origin
        )
        return bool(rows) and int(str(rows[0][0])) >= size

    wait_for("the district indexed B's new FIR", indexed, timeout=WAIT)
    # Hits are kept in the transaction that indexes the record: none for the new FIR.
    hits = _district(fed, "SELECT idx FROM watch_hits WHERE watch_id = ?", watch_id)
    assert [int(str(r[0])) for r in hits] == [int(str(alert["index"]))]
