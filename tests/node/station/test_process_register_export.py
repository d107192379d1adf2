"""The process register among the printed and exported registers (node/station/register_export.py
`process`), over a real station (RocksDB ledger, SQLite index): the PDF holds the person to be
served, Malayalam names as shaped text that copies back out as written (pypdf reads it through
the fonts' ToUnicode maps), with the court, the returnable day and how the process ended; the
CSV has every process of the period; a protected victim named in a process prints as withheld."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader

from node.config import DataDir
from node.records.validation import IST
from node.station import processes, registers
from node.station.core import Station
from node.station.pdf_fonts import find_fonts, shaping_available
from node.station.register_export import (
    NOT_KEPT,
    csv_lines,
    open_register,
    parse_period,
    register_pdf,
)
from protos import records_pb2
from tests.node.support import VICTIM, sexual_offence_fir, theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
# A conjunct (ശ്രീ, ത്ത), chillus (ൻ, ർ) and a vowel sign drawn before its consonant (േ).
SUMMONED = "ശ്രീജിത്ത് മേനോൻ"
RELATIVE = "ജോർജ്"
ADDRESS = "കിഴക്കേതിൽ വീട്, എച്ച്.എം.ടി. കോളനി"
WARRANTED = "Suresh K"
MALAYALAM = pytest.mark.skipif(
    not (find_fonts().has_malayalam and shaping_available()),
    reason="no Malayalam font (apt-get install fonts-smc-manjari) or no uharfbuzz",
)


def today() -> date:
    return datetime.now(IST).date()


def court_process(
    kind: str, person: records_pb2.Person, **fields: object
) -> records_pb2.CourtProcess:
    return records_pb2.CourtProcess(
        process_type=kind,
        court="JFCM Court, Kalamassery",
        court_case_number="CC 231/2026",
        person=person,
        returnable_date=(today() + timedelta(days=20)).isoformat(),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    data_dir = DataDir(tmp_path_factory.mktemp("process-register") / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    opened = Station.open(data_dir)
    theft = registers.register_fir(opened, OFFICER, theft_fir()).ref
    processes.receive_process(
        opened,
        OFFICER,
        court_process(
            "summons",
            records_pb2.Person(
                name=SUMMONED, relation="S/o", relative_name=RELATIVE, address=ADDRESS
            ),
            fir_number=theft,
        ),
    )
    warrant = processes.receive_process(
        opened,
        OFFICER,
        court_process(
            "non_bailable_warrant",
            records_pb2.Person(name=WARRANTED, address="HMT Colony, Kalamassery"),
        ),
    ).ref
    processes.carry_out(opened, OFFICER, warrant, "Arrested at home; produced before the court")
    assault = registers.register_fir(opened, OFFICER, sexual_offence_fir()).ref
    processes.receive_process(
        opened,
        OFFICER,
        court_process(
            "summons",
            records_pb2.Person(name=VICTIM, address="Near the railway underpass"),
            fir_number=assault,
        ),
    )
    yield opened
    opened.close()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _pdf(station: Station, lang: str) -> bytes:
    register = open_register(
        station, "process", parse_period(today().isoformat(), today().isoformat()), lang
    )
    return register_pdf(
        register, register.rows(), station_name="Kalamassery", district="Ernakulam City"
    )


@MALAYALAM
@pytest.mark.parametrize("lang", ["en", "ml"])
def test_process_register_pdf_holds_the_names_as_written(station: Station, lang: str) -> None:
    text = pdf_text(_pdf(station, lang))
    assert "Process Register / പ്രോസസ് രജിസ്റ്റർ" in text
    # The Malayalam name, its relative and address come back out exactly as stored.
    assert SUMMONED in text and f"S/o {RELATIVE}" in text
    assert "കിഴക്കേതിൽ" in text
    assert WARRANTED in text and "Arrested at home" in text
    assert f"PRC/{today().year}/000001" in text and "JFCM Court, Kalamassery" in text
    assert ("Person" if lang == "en" else "വ്യക്തി") in text
    # The protected victim of the sexual offence case is never printed.
    assert VICTIM not in text and VICTIM.split()[0] not in text
    assert ("[identity withheld by law]" if lang == "en" else "നിയമപ്രകാരം") in text


def test_process_register_csv_has_every_process_of_the_period(station: Station) -> None:
    assert "process" not in NOT_KEPT
    period = parse_period(today().isoformat(), today().isoformat())
    register = open_register(station, "process", period)
    rows = list(csv.reader(io.StringIO("".join(csv_lines(register, register.rows())))))
    assert rows[0][:5] == ["Process No.", "Received", "Process", "Court and case", "Person"]
    assert register.count == len(rows) - 1 == 3
    by_number = {r[0]: r for r in rows[1:]}
    year = today().year
    summons = by_number[f"PRC/{year}/000001"]
    assert summons[4] == f"{SUMMONED} (S/o {RELATIVE})" and summons[5] == ADDRESS
    assert summons[8] == "pending" and summons[9] == ""
    warrant = by_number[f"PRC/{year}/000002"]
    assert warrant[2] == "non bailable warrant" and warrant[8] == "executed"
    assert "Arrested at home" in warrant[9]
    protected = by_number[f"PRC/{year}/000003"]
    assert protected[4] == "[identity withheld by law]" and VICTIM not in "".join(protected)
    earlier = open_register(station, "process", parse_period("2025-01-01", "2025-01-31"))
    assert earlier.count == 0
