"""The station's commands over a real RocksDB ledger and a real SQLite index."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ledger.errors import InputError
from ledger.log import verify_log
from node.config import DataDir
from node.records.validation import IST, normalise_registration, utc_ms
from node.station import registers, views
from node.station.core import Station
from protos import ledger_pb2, records_pb2
from tests.node.support import station_clock_at, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"


def test_station_fir_numbers_are_consecutive_per_year(station: Station) -> None:
    first = registers.register_fir(station, OFFICER, theft_fir())
    second = registers.register_fir(station, OFFICER, theft_fir())
    year = datetime.now(IST).year
    assert first.ref == f"FIR No. 1/{year}"
    assert second.ref == f"FIR No. 2/{year}"
    assert second.index > first.index


def test_station_fir_cites_the_gd_entry_written_with_it(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, theft_fir())
    (gd_ref,) = receipt.related
    fir = station.ledger.body(receipt.index).fir
    assert gd_ref == "GD " + fir.gd_reference
    gd = station.ledger.body(receipt.index - 1).general_diary
    assert f"{gd.gd_date}/{gd.gd_number}" == fir.gd_reference
    assert receipt.ref in gd.summary


def test_station_fir_normalises_vehicle_and_codes_accused(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, theft_fir())
    fir = station.ledger.body(receipt.index).fir
    assert fir.property[0].vehicle.registration == "KL-07-BQ-4521"
    accused = [p for p in fir.persons if p.role == records_pb2.ACCUSED]
    assert accused[0].accused_code == "A1"
    assert fir.crime_head  # derived from the sections
    assert all(p.person.person_id.startswith("P-") for p in fir.persons)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"brief_facts": ""}, "brief facts is required"),
        ({"sections": [records_pb2.ActSection(act="BNS", section="999")]}, "999"),
        ({"sections": [records_pb2.ActSection(act="XYZ", section="1")]}, "XYZ"),
        ({"persons": []}, "complainant or informant is required"),
    ],
)
def test_station_fir_validation_writes_nothing(
    station: Station, change: dict[str, object], message: str
) -> None:
    fir = theft_fir()
    for name, value in change.items():
        fir.ClearField(name)  # type: ignore[arg-type]
        if isinstance(value, list):
            getattr(fir, name).extend(value)
        elif value:
            setattr(fir, name, value)
    size = station.ledger.size()
    with pytest.raises(InputError, match=message):
        registers.register_fir(station, OFFICER, fir)
    assert station.ledger.size() == size
    assert station.index.indexed_size() == size


def test_station_fir_occurrence_after_registration_is_refused(station: Station) -> None:
    fir = theft_fir()
    fir.occurrence_from_ms = utc_ms(datetime.now(IST) + timedelta(days=2))
    with pytest.raises(InputError, match="occurrence is after registration"):
        registers.register_fir(station, OFFICER, fir)


def test_station_ipc_section_refused_for_offence_after_bns(station: Station) -> None:
    fir = theft_fir()
    fir.ClearField("sections")
    fir.sections.add(act="IPC", section="379")
    with pytest.raises(InputError, match="IPC"):
        registers.register_fir(station, OFFICER, fir)


def test_station_ipc_section_kept_for_offence_before_bns(station: Station) -> None:
    fir = theft_fir()
    fir.occurrence_from_ms = utc_ms(datetime(2024, 6, 20, 22, 0, tzinfo=IST))
    fir.ClearField("sections")
    fir.sections.add(act="IPC", section="379")
    receipt = registers.register_fir(station, OFFICER, fir)
    assert receipt.ref.startswith("FIR No. ")


def test_station_fir_number_given_live_is_refused(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, theft_fir())
    again = theft_fir(fir_number=receipt.ref)
    with pytest.raises(InputError, match="FIR number is assigned by the station"):
        registers.register_fir(station, OFFICER, again)


def test_station_malformed_vehicle_number_is_refused(station: Station) -> None:
    fir = theft_fir()
    fir.property[0].vehicle.registration = "KL-07-4521-XYZQ"
    with pytest.raises(InputError, match="registration"):
        registers.register_fir(station, OFFICER, fir)


def test_station_zero_fir_is_kept_apart_from_the_fir_series(station: Station) -> None:
    zero = registers.register_fir(
        station, OFFICER, theft_fir(zero_fir=True, jurisdiction_station="Aluva East")
    )
    regular = registers.register_fir(station, OFFICER, theft_fir())
    year = datetime.now(IST).year
    assert zero.ref == f"ZERO FIR 1/{year}"
    assert regular.ref == f"FIR No. 1/{year}"
    with pytest.raises(InputError, match="jurisdiction"):
        registers.register_fir(station, OFFICER, theft_fir(zero_fir=True))


def test_station_gd_numbers_restart_each_day(station: Station) -> None:
    day1 = utc_ms(datetime(2026, 3, 1, 9, 0, tzinfo=IST))
    day2 = utc_ms(datetime(2026, 3, 2, 0, 30, tzinfo=IST))
    with station_clock_at(station, day1):
        a = registers.write_gd(station, OFFICER, "arrival", "SI reported for duty")
        b = registers.write_gd(station, OFFICER, "departure", "Patrol left")
    with station_clock_at(station, day2):
        c = registers.write_gd(station, OFFICER, "information", "Call about a fight")
    assert (a.ref, b.ref, c.ref) == ("GD 2026-03-01/1", "GD 2026-03-01/2", "GD 2026-03-02/1")


def test_station_petition_and_ncr_get_receipts(station: Station) -> None:
    petition = registers.receive_petition(
        station,
        OFFICER,
        records_pb2.Petition(
            petitioner=records_pb2.Person(name="Mini Joseph", mobile="9847000000"),
            subject="Neighbour blocks the pathway",
        ),
    )
    assert petition.ref.startswith("PET/")
    ncr = registers.register_ncr(
        station,
        OFFICER,
        records_pb2.NonCognizableReport(
            informant=records_pb2.Person(name="Anil Kumar"),
            sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
            brief_facts="Slapped during a quarrel over parking.",
        ),
    )
    assert ncr.ref.startswith("NCR 1/")


def test_station_ncr_refuses_a_cognizable_offence(station: Station) -> None:
    with pytest.raises(InputError, match="cognizable"):
        registers.register_ncr(
            station,
            OFFICER,
            records_pb2.NonCognizableReport(
                informant=records_pb2.Person(name="Anil Kumar"),
                sections=[records_pb2.ActSection(act="BNS", section="103(1)")],
                brief_facts="x",
            ),
        )


def test_station_amendment_appends_and_keeps_the_original(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, theft_fir())
    original = station.ledger.leaf(receipt.index)
    accused_id = station.ledger.body(receipt.index).fir.persons[0].person.person_id
    amended = registers.amend(
        station,
        "PEN100002",
        receipt.ref,
        "Complainant's name misspelt at registration",
        {f"persons.{accused_id}.name": "Rajesh Kumar K", "brief_facts": "Corrected facts."},
    )
    assert amended.index > receipt.index
    assert station.ledger.leaf(receipt.index) == original  # never edited
    history = views.history(station, receipt.ref)
    assert [item.index for item in history] == [receipt.index, amended.index]
    assert history[1].officer_id == "PEN100002"
    view = views.current_view(station, receipt.ref)
    assert view["brief_facts"] == "Corrected facts."
    assert view["persons"][0]["person"]["name"] == "Rajesh Kumar K"
    assert history[0].record["brief_facts"].startswith("The complainant")
    # The corrected name is found by search, and so is the original.
    assert any(h.record_ref == receipt.ref for h in station.index.search.persons("Rajesh Kumar"))


def test_station_amendment_validation(station: Station) -> None:
    receipt = registers.register_fir(station, OFFICER, theft_fir())
    with pytest.raises(InputError, match="reason"):
        registers.amend(station, OFFICER, receipt.ref, "", {"brief_facts": "x"})
    with pytest.raises(InputError, match="cannot be corrected"):
        registers.amend(station, OFFICER, receipt.ref, "r", {"fir_number": "FIR No. 9/2026"})
    with pytest.raises(InputError, match="no record"):
        registers.amend(station, OFFICER, "FIR No. 999/2026", "r", {"brief_facts": "x"})


def test_station_state_survives_reopen(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN)
    first = Station.open(data_dir)
    registers.register_fir(first, OFFICER, theft_fir())
    first.close()
    again = Station.open(data_dir)
    try:
        receipt = registers.register_fir(again, OFFICER, theft_fir())
        assert receipt.ref.startswith("FIR No. 2/")
        verify_log(again.ledger.store, again.ledger.public_key, ORIGIN)
    finally:
        again.close()


def test_station_index_catches_up_after_it_lags(tmp_path: Path) -> None:
    """A crash between the ledger commit and the index update loses nothing: on open the
    index is caught up from the ledger."""
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    registers.register_fir(station, OFFICER, theft_fir())
    # Append straight to the ledger, as if the process died before indexing.
    gd = records_pb2.GeneralDiaryEntry(
        gd_date="2026-01-01", gd_number=1, summary="late", category="other"
    )

    station.ledger.append(ledger_pb2.EntryBody(officer_id=OFFICER, general_diary=gd))
    size = station.ledger.size()
    station.close()
    reopened = Station.open(data_dir)
    try:
        assert reopened.index.indexed_size() == size
        assert reopened.index.lookups.record_index("GD 2026-01-01/1") == size - 1
    finally:
        reopened.close()


def test_registration_marks_normalise() -> None:
    assert normalise_registration("kl 7 ab 1234") == "KL-07-AB-1234"
    assert normalise_registration("KL-07-1234") == "KL-07-1234"
    assert normalise_registration("22 BH 1234 AA") == "22-BH-1234-AA"
    for bad in ("K7AB1234", "KL07AB12345", "KL-07-AB-0000", ""):
        with pytest.raises(InputError):
            normalise_registration(bad)


@pytest.mark.postgres
def test_station_on_postgresql_index_registers_searches_and_rebuilds(
    tmp_path: Path, pg_url: str
) -> None:
    """A state or national node's index on PostgreSQL: same commands, same answers."""
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, index_url=pg_url)
    station = Station.open(data_dir)
    try:
        receipt = registers.register_fir(station, OFFICER, theft_fir())
        hits = station.index.search.persons("Rajesh K S/o Krishnan")
        assert hits and hits[0].record_ref == receipt.ref
        before = station.index.snapshot()
        station.rebuild_index()
        assert station.index.snapshot() == before
        assert registers.register_fir(station, OFFICER, theft_fir()).ref.startswith("FIR No. 2/")
    finally:
        station.close()


def test_station_refuses_ante_dating_after_a_restart(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    now = datetime.now(IST)
    registers.register_fir(station, OFFICER, theft_fir(now, registered_at_ms=utc_ms(now)))
    station.close()
    reopened = Station.open(data_dir)
    try:
        earlier = now - timedelta(hours=2)
        with pytest.raises(InputError, match="ante-dated"):
            registers.register_fir(
                reopened, OFFICER, theft_fir(earlier, registered_at_ms=utc_ms(earlier))
            )
    finally:
        reopened.close()
