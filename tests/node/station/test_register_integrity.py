"""Registers that cannot be back-dated: the station's clock and counters decide every time and
number written live; past records with their own numbers come in only through an import, marked
as imported in the ledger, below the live series (real RocksDB ledger, real SQLite index)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from ledger.errors import InputError
from node.config import DataDir, Registers
from node.index.schema import records
from node.records.validation import IST, utc_ms
from node.station import registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import theft_fir

OFFICER = "PEN100001"
SOURCE = "CCTNS 1.0 export of Kalamassery, 2019-2025"
MINUTE_MS = 60_000


def _now_ms() -> int:
    return utc_ms(datetime.now(IST))


def _refused(station: Station, call: Callable[[], object], message: str) -> InputError:
    """Runs `call`, which must be refused with `message`, and checks nothing was written."""
    size = station.ledger.size()
    with pytest.raises(InputError, match=message) as refused:
        call()
    assert station.ledger.size() == size
    assert station.index.indexed_size() == size
    return refused.value


def _imported_flags(station: Station) -> dict[str, bool]:
    with station.index.engine.connect() as conn:
        rows = conn.execute(sa.select(records.c.ref, records.c.imported)).all()
    return {str(ref): bool(imported) for ref, imported in rows if ref}


def _past_fir(number: str, when: datetime) -> records_pb2.Fir:
    fir = theft_fir(when, registered_at_ms=utc_ms(when))
    fir.fir_number = number
    fir.sections[0].CopyFrom(records_pb2.ActSection(act="IPC", section="379"))
    return fir


# -- the General Diary ---------------------------------------------------------------------------


def test_gd_entry_dated_a_week_back_is_refused(station: Station) -> None:
    week_ago = _now_ms() - 7 * 24 * 60 * MINUTE_MS
    _refused(
        station,
        lambda: registers.write_gd(
            station, OFFICER, "information", "Call about a fight", entry_time_ms=week_ago
        ),
        "more than 30 minutes before the station's clock",
    )


def test_gd_entry_a_little_behind_the_clock_is_written_in_order(station: Station) -> None:
    earlier = _now_ms() - 10 * MINUTE_MS
    first = registers.write_gd(
        station, OFFICER, "arrival", "SI reported for duty", entry_time_ms=earlier
    )
    second = registers.write_gd(station, OFFICER, "departure", "Patrol left")
    assert station.ledger.body(first.index).general_diary.entry_time_ms == earlier
    assert int(second.ref.rpartition("/")[2]) == int(first.ref.rpartition("/")[2]) + 1


def test_gd_entry_timed_before_the_previous_entry_is_refused(station: Station) -> None:
    registers.write_gd(station, OFFICER, "arrival", "SI reported for duty")
    before = _now_ms() - 5 * MINUTE_MS
    _refused(
        station,
        lambda: registers.write_gd(
            station, OFFICER, "information", "Call about a fight", entry_time_ms=before
        ),
        "before the station's previous GD entry",
    )


def test_gd_number_cannot_be_given_live(station: Station) -> None:
    gd = records_pb2.GeneralDiaryEntry(category="arrival", summary="SI on duty", gd_number=40)
    _refused(
        station,
        lambda: registers.register_many(station, [("gd", OFFICER, gd)]),
        "GD number is assigned by the station",
    )


def test_the_allowance_is_the_stations_setting(data_dir: DataDir) -> None:
    strict = dataclasses.replace(data_dir.load_config(), registers=Registers(late_entry_minutes=0))
    data_dir.config_path.write_text(strict.to_toml(), encoding="utf-8")
    assert data_dir.load_config().registers.late_entry_minutes == 0
    station = Station.open(data_dir)
    try:
        _refused(
            station,
            lambda: registers.write_gd(
                station, OFFICER, "arrival", "SI on duty", entry_time_ms=_now_ms() - MINUTE_MS
            ),
            "more than 0 minutes before",
        )
    finally:
        station.close()


# -- FIR numbering --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"fir_year": 2019}, "FIR year 2019 given, but the FIR is registered in"),
        ({"fir_serial": 50}, "FIR number is assigned by the station"),
        ({"fir_number": "FIR No. 10/2026"}, "FIR number is assigned by the station|FIR year"),
    ],
)
def test_fir_numbers_come_from_the_station_only(
    station: Station, given: dict[str, object], message: str
) -> None:
    registers.register_fir(station, OFFICER, theft_fir())
    fir = theft_fir()
    for name, value in given.items():
        setattr(fir, name, value)
    _refused(station, lambda: registers.register_fir(station, OFFICER, fir), message)
    # The series goes on from the station's counter, with no gap.
    year = datetime.now(IST).year
    assert registers.register_fir(station, OFFICER, theft_fir()).ref == f"FIR No. 2/{year}"


def test_fir_registered_a_day_back_is_refused(station: Station) -> None:
    yesterday = datetime.now(IST) - timedelta(days=1)
    fir = theft_fir(yesterday, registered_at_ms=utc_ms(yesterday))
    _refused(
        station,
        lambda: registers.register_fir(station, OFFICER, fir),
        "registration time is more than 30 minutes before",
    )


def test_receipt_and_ncr_numbers_cannot_be_given_live(station: Station) -> None:
    year = datetime.now(IST).year
    petition = records_pb2.Petition(
        petitioner=records_pb2.Person(name="Anil Kumar", age=40, sex="M"),
        subject="Boundary dispute",
        receipt_number=f"PET/{year}/000007",
    )
    _refused(
        station,
        lambda: registers.receive_petition(station, OFFICER, petition),
        "receipt number is assigned by the station",
    )
    ncr = records_pb2.NonCognizableReport(
        informant=records_pb2.Person(name="Anil Kumar", age=40, sex="M"),
        sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
        brief_facts="Slapped during an argument at the bus stand.",
        ncr_number=f"NCR 3/{year}",
    )
    _refused(
        station,
        lambda: registers.register_ncr(station, OFFICER, ncr),
        "NCR number is assigned by the station",
    )


# -- imports ---------------------------------------------------------------------------------------


def test_import_keeps_original_numbers_and_marks_them_imported(station: Station) -> None:
    old = datetime(2019, 3, 14, 11, 0, tzinfo=IST)
    receipts = registers.import_records(
        station,
        [
            ("fir", OFFICER, _past_fir("FIR No. 17/2019", old)),
            ("fir", OFFICER, _past_fir("FIR No. 18/2019", old + timedelta(days=2))),
        ],
        source=SOURCE,
    )
    assert [r.ref for r in receipts] == ["FIR No. 17/2019", "FIR No. 18/2019"]
    body = station.ledger.body(receipts[0].index)
    assert body.imported_from == SOURCE
    assert body.fir.fir_number == "FIR No. 17/2019"
    assert body.fir.registered_at_ms == utc_ms(old)
    flags = _imported_flags(station)
    assert flags["FIR No. 17/2019"] is True
    # The GD entry written with an imported FIR is imported too, on the FIR's day.
    gd = station.ledger.body(receipts[0].index - 1)
    assert gd.imported_from == SOURCE and gd.general_diary.gd_date == "2019-03-14"
    # A live FIR is not marked.
    live = registers.register_fir(station, OFFICER, theft_fir())
    assert station.ledger.body(live.index).imported_from == ""
    assert _imported_flags(station)[live.ref] is False


def test_import_refuses_collisions_and_running_into_the_live_series(station: Station) -> None:
    now = datetime.now(IST)
    year = now.year
    start = now - timedelta(hours=12)
    if start.year != year:
        pytest.skip("the first hours of a year hold no past of this year to import")
    # The station went live this year after its legacy system had numbered FIRs 1-3: the
    # import comes first, and the live series continues after it.
    registers.import_records(
        station,
        [
            ("fir", OFFICER, _bns_fir(f"FIR No. {n}/{year}", start + timedelta(minutes=n)))
            for n in (1, 2, 3)
        ],
        source=SOURCE,
    )
    live = registers.register_fir(station, OFFICER, theft_fir())
    assert live.ref == f"FIR No. 4/{year}"
    _refused(
        station,
        lambda: registers.import_records(
            station,
            [("fir", OFFICER, _bns_fir(f"FIR No. 2/{year}", start + timedelta(hours=1)))],
            source=SOURCE,
        ),
        f"duplicate number: FIR No. 2/{year}",
    )
    for serial in (4, 9):
        _refused(
            station,
            lambda serial=serial: registers.import_records(  # type: ignore[misc]
                station,
                [("fir", OFFICER, _bns_fir(f"FIR No. {serial}/{year}", start))],
                source=SOURCE,
            ),
            "would run into the live series, which starts at 4",
        )
    _refused(
        station,
        lambda: registers.import_records(
            station, [("fir", OFFICER, _bns_fir("", start))], source=SOURCE
        ),
        "must carry its original number",
    )
    assert registers.register_fir(station, OFFICER, theft_fir()).ref == f"FIR No. 5/{year}"


def test_import_needs_a_source_and_no_future(station: Station) -> None:
    old = datetime(2019, 3, 14, 11, 0, tzinfo=IST)
    _refused(
        station,
        lambda: registers.import_records(
            station, [("fir", OFFICER, _past_fir("FIR No. 1/2019", old))], source=" "
        ),
        "an import needs its source",
    )
    later = datetime.now(IST) + timedelta(days=3)
    gd = records_pb2.GeneralDiaryEntry(
        category="arrival", summary="SI on duty", entry_time_ms=utc_ms(later)
    )
    _refused(
        station,
        lambda: registers.import_records(station, [("gd", OFFICER, gd)], source=SOURCE),
        "GD entry time is in the future",
    )


def test_imported_gd_keeps_its_day_and_number(station: Station) -> None:
    when = datetime(2023, 5, 2, 9, 30, tzinfo=IST)
    gd = records_pb2.GeneralDiaryEntry(
        category="arrival",
        summary="SI on duty",
        entry_time_ms=utc_ms(when),
        gd_date="2023-05-02",
        gd_number=12,
    )
    (receipt,) = registers.import_records(station, [("gd", OFFICER, gd)], source=SOURCE)
    assert receipt.ref == "GD 2023-05-02/12"
    wrong_day = records_pb2.GeneralDiaryEntry(
        category="arrival",
        summary="SI on duty",
        entry_time_ms=utc_ms(when),
        gd_date="2023-05-03",
        gd_number=1,
    )
    _refused(
        station,
        lambda: registers.import_records(station, [("gd", OFFICER, wrong_day)], source=SOURCE),
        "is not the day of its entry time",
    )


def _bns_fir(number: str, when: datetime) -> records_pb2.Fir:
    fir = theft_fir(when, registered_at_ms=utc_ms(when))
    fir.fir_number = number
    return fir
