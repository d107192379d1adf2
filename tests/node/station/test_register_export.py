"""Registers printed and exported for a period (node/station/register_export.py), over a real
station (RocksDB ledger, SQLite index): the PDF holds the Malayalam names as shaped text that
copies back out exactly as written (pypdf reads it through the fonts' ToUnicode maps), the CSV
has every row, and the period decides the rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from ledger.errors import InputError
from node.config import DataDir
from node.demo.synthetic import SyntheticRecords
from node.records.validation import IST
from node.station import casework, registers
from node.station.core import Station
from node.station.pdf_fonts import FontSet, find_fonts, shaping_available
from node.station.register_export import (
    KINDS,
    csv_lines,
    open_register,
    parse_period,
    register_pdf,
)
from protos import records_pb2
from tests.node.support import person, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
# Conjuncts (ത്ത, ശ്രീ, സ്സ), chillus (ൽ, ർ), and vowel signs drawn before their consonant
# (െ, േ, ൈ, and ോ in two parts).
GD_NAMES = ("അനിൽ കുമാർ", "ജെസ്സി ജോസഫ്", "മേരി", "കൈലാസ്")
ARRESTED = "ശ്രീജിത്ത് മേനോൻ"
WANTED = "ഫാത്തിമ"
MALAYALAM = pytest.mark.skipif(
    not (find_fonts().has_malayalam and shaping_available()),
    reason="no Malayalam font (apt-get install fonts-smc-manjari) or no uharfbuzz",
)


def today() -> str:
    return datetime.now(IST).date().isoformat()


def days_ago(days: int) -> str:
    return (datetime.now(IST).date() - timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    data_dir = DataDir(tmp_path_factory.mktemp("registers") / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    opened = Station.open(data_dir)
    for name in GD_NAMES:
        registers.write_gd(opened, OFFICER, "information", f"{name} came to the station")
    fir = theft_fir()
    del fir.persons[1:]
    for code, name in (("A1", ARRESTED), ("A2", WANTED)):
        accused = person(name, records_pb2.ACCUSED, relation="D/o", relative_name="ജോർജ്")
        accused.accused_code = code
        fir.persons.append(accused)
    number = registers.register_fir(opened, OFFICER, fir).ref
    casework.arrest(
        opened,
        OFFICER,
        number,
        [
            records_pb2.PersonInCase(
                accused_code="A1",
                role=records_pb2.ACCUSED,
                person=records_pb2.Person(name=ARRESTED),
            )
        ],
        records_pb2.ArrestMemo(
            grounds="identified from CCTV", attesting_witness="Ramesh K", informed_person="wife"
        ),
    )
    casework.record_case_event(
        opened,
        OFFICER,
        number,
        "wanted",
        persons=[records_pb2.PersonInCase(accused_code="A2")],
        report_type="warrant",
        court="Warrant in CC 12/2026, JFCM-I Kalamassery",
        text="absconding",
    )
    registers.register_ncr(
        opened,
        OFFICER,
        records_pb2.NonCognizableReport(
            informant=records_pb2.Person(name="Anil Kumar", age=40, sex="M"),
            sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
            brief_facts="=Slapped during an argument at the bus stand.",
        ),
    )
    registers.receive_petition(
        opened,
        OFFICER,
        records_pb2.Petition(
            petitioner=records_pb2.Person(name="മേരി ജോസഫ്", address="Kalamassery"),
            subject="Boundary dispute with the neighbour",
            details="The neighbour moved the boundary stones.",
            channel="in person",
        ),
    )
    yield opened
    opened.close()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _pdf(station: Station, kind: str, lang: str = "en", fonts: FontSet | None = None) -> bytes:
    register = open_register(station, kind, parse_period(today(), today()), lang)
    return register_pdf(
        register,
        register.rows(),
        station_name="Kalamassery",
        district="Ernakulam City",
        fonts=fonts,
    )


@MALAYALAM
@pytest.mark.parametrize("lang", ["en", "ml"])
def test_gd_register_pdf_holds_the_malayalam_names_as_written(station: Station, lang: str) -> None:
    text = pdf_text(_pdf(station, "gd", lang))
    for name in GD_NAMES:
        assert name in text
    assert "General Diary / ജനറൽ ഡയറി" in text
    assert "Kalamassery" in text and f"{today()}" in text
    assert ("Page 1 of 1" if lang == "en" else "പേജ് 1 / 1") in text
    assert ("Entry" if lang == "en" else "രേഖപ്പെടുത്തൽ") in text


@MALAYALAM
def test_lockup_and_wanted_registers_hold_the_names_as_written(station: Station) -> None:
    lockup = pdf_text(_pdf(station, "lockup", "ml"))
    assert ARRESTED in lockup and "അറസ്റ്റ്, ലോക്കപ്പ് രജിസ്റ്റർ" in lockup
    wanted = pdf_text(_pdf(station, "wanted"))
    assert WANTED in wanted and "D/o ജോർജ്" in wanted
    assert ARRESTED not in wanted  # arrested, so no longer wanted


def test_without_a_malayalam_font_names_are_transliterated(station: Station) -> None:
    regular = find_fonts().regular
    fonts = FontSet(regular=regular) if regular is not None else FontSet.core()
    text = pdf_text(_pdf(station, "gd", "ml", fonts=fonts))
    assert "General Diary" in text and "Anil" in text
    assert "അ" not in text


def test_csv_has_every_row_and_the_period_decides(station: Station) -> None:
    period = parse_period(today(), today())
    register = open_register(station, "gd", period)
    lines = list(csv_lines(register, register.rows()))
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows[0] == ["GD No.", "Time", "Category", "Entry", "Officer"]
    assert register.count == len(rows) - 1 >= len(GD_NAMES) + 1  # the FIR's GD entry too
    summaries = [r[3] for r in rows[1:]]
    assert all(f"{name} came to the station" in summaries for name in GD_NAMES)
    assert all(r[0].startswith(today() + "/") and r[4] == OFFICER for r in rows[1:])
    earlier = open_register(station, "gd", parse_period(days_ago(30), days_ago(1)))
    assert earlier.count == 0 and list(earlier.rows()) == []
    ncr = open_register(station, "ncr", period)
    (row,) = list(csv.reader(io.StringIO("".join(csv_lines(ncr, ncr.rows())))))[1:]
    assert row[2] == "BNS 115(2)" and row[3].startswith("'=Slapped")  # no formula in a sheet
    (petition,) = list(open_register(station, "petition", period, "ml").rows())
    assert petition[2] == "മേരി ജോസഫ്" and petition[3].startswith("Boundary")
    for kind in ("fir", "lockup", "wanted"):
        assert open_register(station, kind, period).count == 1
        assert open_register(station, kind, parse_period(days_ago(30), days_ago(1))).count == 0


def test_every_register_exports_and_an_empty_one_says_so(station: Station) -> None:
    period = parse_period(today(), today())
    for kind in KINDS:
        register = open_register(station, kind, period, "ml")
        lines = list(csv_lines(register, register.rows()))
        assert len(lines) == register.count + 1
    empty = open_register(station, "missing", parse_period("2025-01-01", "2025-01-31"))
    data = register_pdf(empty, empty.rows(), station_name="Kalamassery", district="Ernakulam")
    assert "No entries in this period." in pdf_text(data)


def test_bad_periods_and_registers_not_kept_are_refused(station: Station) -> None:
    with pytest.raises(InputError, match="not a date"):
        parse_period("2026-13-01", "2026-12-01")
    with pytest.raises(InputError, match="ends"):
        parse_period("2026-12-02", "2026-12-01")
    with pytest.raises(InputError, match="at most"):
        parse_period("2025-01-01", "2026-12-01")
    period = parse_period(today(), today())
    with pytest.raises(InputError, match="no register"):
        open_register(station, "nonsense", period)


def test_unnatural_death_register_lists_the_inquests_only(tmp_path: Path) -> None:
    """The FIRs registering an inquest (BNSS s.194; CrPC s.174 before July 2024) with their
    deceased, informant and section; a crime FIR registered the same day is not among them."""
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    opened = Station.open(data_dir)
    try:
        death = SyntheticRecords(4, "Ernakulam City", "Kalamassery").unnatural_death_fir(
            datetime.now(IST) - timedelta(minutes=5)
        )
        deceased = next(p.person.name for p in death.persons if p.role == records_pb2.VICTIM)
        number = registers.register_fir(opened, OFFICER, death).ref
        registers.register_fir(opened, OFFICER, theft_fir())
        register = open_register(opened, "unnatural-deaths", parse_period(today(), today()))
        rows = list(csv.reader(io.StringIO("".join(csv_lines(register, register.rows())))))
        assert rows[0][:3] == ["UD case (FIR No.)", "Registered", "Deceased"]
        assert len(rows) == 2 and rows[1][0] == number and rows[1][2] == deceased
        assert rows[1][6] == "BNSS 194"
        again = open_register(opened, "unnatural-deaths", parse_period(today(), today()))
        pdf = register_pdf(again, again.rows(), station_name="Kalamassery", district="Ernakulam")
        assert deceased in pdf_text(pdf)
    finally:
        opened.close()
