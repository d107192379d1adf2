"""The complainant's FIR copy as PDF, with the persons the law withholds printed as withheld."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from node.config import DataDir
from node.records import limits
from node.records.laws import Statutes
from node.records.validation import IST, utc_ms
from node.records.withholding import assess_view
from node.station import registers, views
from node.station.core import Station
from node.station.pdf_fonts import shaping_available
from node.web.pdf import (
    PIECE_CHARS,
    FontSet,
    _pieces,
    find_fonts,
    fir_copy_pdf,
    visual_order_malayalam,
)
from protos import records_pb2

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
OFFICER = "PEN100001"
VERIFIED = "Ledger entry 3, checkpoint 5 of " + ORIGIN


# -- reading the text back from an uncompressed PDF -------------------------------------------

_OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.DOTALL)
# Font selection, shown strings, and q/Q (which save and restore the font with the graphics state).
_SHOW = re.compile(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj|(?<=\s)([qQ])(?=\s)", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i : i + 1]
        if byte != b"\\":
            out += byte
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        if nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
            assert digits is not None
            out.append(int(digits[0], 8))
            i += 1 + len(digits[0])
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)


_STREAM = re.compile(rb"/Filter /FlateDecode(.*?)stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def inflate(data: bytes) -> bytes:
    """A compressed PDF (as the portal serves it) with its streams inflated, for `pdf_text`."""
    return _STREAM.sub(lambda m: m[1] + b"stream\n" + zlib.decompress(m[2]) + b"\nendstream", data)


def pdf_text(data: bytes) -> str:
    """The text shown on the pages, via each font's ToUnicode map (Latin-1 for core fonts)."""
    objects = {int(m[1]): m[2] for m in _OBJ.finditer(data)}
    fonts: dict[str, dict[int, str] | None] = {}
    for body in objects.values():
        resources = re.search(rb"/Font <<(.*?)>>", body, re.DOTALL)
        if resources is None:
            continue
        for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", resources[1]):
            font = objects[int(number)]
            to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", font)
            mapping: dict[int, str] | None = None
            if to_unicode is not None:
                cmap = objects[int(to_unicode[1])]
                mapping = {
                    int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
                    for code, text in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]*)>", cmap)
                }
            fonts[name.decode()] = mapping
    shown: list[str] = []
    current: dict[int, str] | None = None
    saved: list[dict[int, str] | None] = []
    for body in objects.values():
        if b"stream" not in body or b" Tj" not in body:
            continue
        for match in _SHOW.finditer(body):
            if match[3] == b"q":
                saved.append(current)
                continue
            if match[3] == b"Q":
                current = saved.pop() if saved else None
                continue
            if match[1] is not None:
                current = fonts.get(match[1].decode())
                continue
            raw = _unescape(match[2])
            if current is None:
                shown.append(raw.decode("latin-1"))
            else:
                codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
                shown.append("".join(current.get(code, "?") for code in codes))
    return "".join(shown)


# -- a station with real FIRs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    data_dir = DataDir(tmp_path_factory.mktemp("pdf") / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    opened = Station.open(data_dir)
    yield opened
    opened.close()


def _fir(sections: list[tuple[str, str]], brief: str) -> records_pb2.Fir:
    occurred = datetime.now(IST) - timedelta(hours=6)
    return records_pb2.Fir(
        occurrence_from_ms=utc_ms(occurred),
        occurrence_to_ms=utc_ms(occurred + timedelta(minutes=30)),
        place_of_occurrence=records_pb2.Place(
            description="HMT junction, കളമശ്ശേരി",
            distance_from_station_km=1.5,
            direction_from_station="north",
        ),
        sections=[records_pb2.ActSection(act=a, section=s) for a, s in sections],
        brief_facts=brief,
        information_type="oral",
    )


@pytest.fixture(scope="module")
def theft(station: Station) -> dict[str, Any]:
    fir = _fir([("BNS", "303(2)")], "The complainant's scooter was stolen from the parking.")
    fir.persons.add(
        person=records_pb2.Person(
            name="രാജു", relative_name="ഗോപാലൻ", relation="S/o", age=41, sex="M"
        ),
        role=records_pb2.COMPLAINANT,
    )
    fir.persons.add(
        person=records_pb2.Person(name="Rajesh Menon", age=38, sex="M", address="Edappally"),
        role=records_pb2.INFORMANT,
    )
    fir.persons.add(person=records_pb2.Person(), role=records_pb2.ACCUSED, unknown=True)
    fir.property.add(
        category="vehicle",
        description="Honda Activa scooter",
        status=records_pb2.STOLEN,
        value_inr=7_500_000,
        vehicle=records_pb2.Vehicle(registration="KL-07-AB-1234", engine_number="JF50E123"),
    )
    receipt = registers.register_fir(station, OFFICER, fir)
    return views.current_view(station, receipt.ref)


@pytest.fixture(scope="module")
def sexual_offence(station: Station) -> dict[str, Any]:
    fir = _fir([("BNS", "64(1)")], "The victim Sreelakshmi R was assaulted by the accused.")
    fir.recording.recorded_by_sex = "F"  # BNSS s.173(1): a woman officer took it down
    victim = records_pb2.Person(name="Sreelakshmi R", age=24, sex="F", address="Edappally")
    fir.persons.add(person=victim, role=records_pb2.COMPLAINANT)
    fir.persons.add(person=victim, role=records_pb2.VICTIM)
    fir.persons.add(
        person=records_pb2.Person(name="Biju Mathew", relative_name="Mathew", relation="S/o"),
        role=records_pb2.ACCUSED,
    )
    receipt = registers.register_fir(station, OFFICER, fir)
    return views.current_view(station, receipt.ref)


@pytest.fixture(scope="module")
def juvenile(station: Station) -> dict[str, Any]:
    fir = _fir([("BNS", "303(2)")], "A bicycle was stolen.")
    fir.persons.add(person=records_pb2.Person(name="Anil Kumar"), role=records_pb2.COMPLAINANT)
    fir.persons.add(
        person=records_pb2.Person(name="Child X", age=15, juvenile=True),
        role=records_pb2.ACCUSED,
    )
    receipt = registers.register_fir(station, OFFICER, fir)
    return views.current_view(station, receipt.ref)


def _copy(view: dict[str, Any], **kwargs: Any) -> bytes:
    return fir_copy_pdf(
        view,
        station_name="Kalamassery",
        district="Ernakulam City",
        verified=VERIFIED,
        compress=False,
        **kwargs,
    )


# -- the copy --------------------------------------------------------------------------------


def test_copy_has_the_iif1_items(theft: dict[str, Any]) -> None:
    data = _copy(theft)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert theft["fir_number"] in text
    assert "FIRST INFORMATION REPORT" in text and "173 BNSS" in text
    assert "Rajesh Menon" in text
    assert "BNS 303(2)" in text and "theft" in text.lower()
    assert "Ernakulam City" in text and "Kalamassery" in text
    assert "KL-07-AB-1234" in text and "75,00,000" in text
    assert "Free copy given to the complainant (BNSS 173(2))" in text
    assert VERIFIED in text


@pytest.mark.skipif(not find_fonts().has_malayalam, reason="no Malayalam font installed")
def test_malayalam_names_and_labels_with_a_malayalam_font(theft: dict[str, Any]) -> None:
    # Shaped (uharfbuzz), the text copies out as written; without a shaping engine the
    # pre-base vowel signs are stored in drawing order.
    stored = (lambda text: text) if shaping_available() else visual_order_malayalam
    text = pdf_text(_copy(theft))
    assert "രാജു" in text and stored("ഗോപാലൻ") in text
    ml = pdf_text(_copy(theft, lang="ml"))
    assert stored("പ്രഥമ വിവര റിപ്പോർട്ട്") in ml
    assert theft["fir_number"] in ml


def test_core_font_transliterates_malayalam(theft: dict[str, Any]) -> None:
    data = _copy(theft, fonts=FontSet.core(), lang="ml")
    text = pdf_text(data)
    assert "Raju" in text and "Gopalan" in text
    assert theft["fir_number"] in text and "FIRST INFORMATION REPORT" in text  # English labels


def test_latin_font_only_transliterates_malayalam(theft: dict[str, Any]) -> None:
    regular = find_fonts().regular
    if regular is None:
        pytest.skip("no DejaVu/Liberation font installed")
    text = pdf_text(_copy(theft, fonts=FontSet(regular=regular)))
    assert "Raju" in text and "Rajesh Menon" in text


def test_sealed_identities_print_withheld(sexual_offence: dict[str, Any]) -> None:
    text = pdf_text(_copy(sexual_offence))
    assert "[identity withheld by law]" in text
    assert "Sreelakshmi" not in text
    assert "Biju Mathew" in text  # the accused is not sealed
    assert "BNS 64(1)" in text


def test_odd_input_never_fails() -> None:
    view: dict[str, Any] = {
        "fir_number": "FIR No. 9/2026",
        "registered_at_ms": "not a time",
        "sections": [{"act": "XYZ", "section": "1"}, "junk"],
        "persons": [{"person": {"name": "ஸ்ரீ 李 രാജു\u200d"}, "role": "COMPLAINANT"}, None],
        "property": [{"value_inr": "x", "vehicle": {"registration": "KL-01-A-1"}}],
        "place_of_occurrence": "junk",
        "brief_facts": "₹ 5,000 — “taken”",
    }
    for fonts in (None, FontSet.core()):
        text = pdf_text(_copy(view, fonts=fonts))
        assert "FIR No. 9/2026" in text and "XYZ 1" in text


@pytest.mark.parametrize(
    "facts",
    [
        ("കേരളം " * limits.FACTS)[: limits.FACTS],
        ("word " * limits.FACTS)[: limits.FACTS],
        "x" * limits.FACTS,
    ],
    ids=["malayalam", "words", "one long word"],
)
def test_copy_of_an_fir_at_its_limits_runs_over_pages(facts: str) -> None:
    """Brief facts of 20,000 characters are pages long; a table row never breaks across a page
    (fpdf2 refuses it), so the copy carries them on in rows of their own."""
    view: dict[str, Any] = {
        "fir_number": "FIR No. 10/2026",
        "brief_facts": facts,
        "place_of_occurrence": {"description": "x" * limits.DESCRIPTION},
    }
    for fonts in (None, FontSet.core()):
        data = _copy(view, fonts=fonts)
        assert data.count(b"/Type /Page\n") >= 5
        assert "FIR No. 10/2026" in pdf_text(data)
    pieces = _pieces(facts, PIECE_CHARS)
    assert "".join(pieces).replace(" ", "") == facts.replace(" ", "")
    assert all(len(piece) <= PIECE_CHARS for piece in pieces)


def test_visual_order_moves_pre_base_vowel_signs() -> None:
    assert visual_order_malayalam("രാജു") == "രാജു"
    assert visual_order_malayalam("കേരളം") == "േകരളം"
    assert visual_order_malayalam("ഗോപാലൻ") == "േഗാപാലൻ"
    assert visual_order_malayalam("ക്ഷേത്രം") == "േക്ഷത്രം"


# -- persons the withholding policy protects -------------------------------------------------


def test_juvenile_accused_prints_withheld_and_the_copy_may_be_given(
    juvenile: dict[str, Any],
) -> None:
    # Sealed at registration (JJ Act 74): the complainant's copy names no child.
    text = pdf_text(_copy(juvenile))
    assert "Child X" not in text
    assert "A1: [identity withheld by law]" in text
    assert "Anil Kumar" in text
    assert assess_view(juvenile, Statutes.default()).public_withholding is None


def test_protected_person_in_clear_prints_withheld() -> None:
    # A view of an entry written before the policy: a 15-year-old accused stands in clear.
    view: dict[str, Any] = {
        "fir_number": "FIR No. 8/2026",
        "sections": [{"act": "BNS", "section": "303(2)"}],
        "persons": [
            {"person": {"name": "Anil Kumar"}, "role": "COMPLAINANT"},
            {"person": {"name": "Child Y", "age": 15}, "role": "ACCUSED", "accused_code": "A1"},
        ],
    }
    text = pdf_text(_copy(view))
    assert "Child Y" not in text and "A1: [identity withheld by law]" in text
    assert "Anil Kumar" in text
