"""Tests for node.laws: lookup, normalisation, IPC<->BNS mapping, law in force, data integrity."""

from __future__ import annotations

import datetime
import json
from importlib import resources

import pytest

from ledger.errors import InputError
from node.records.laws import Citation, Section, Statutes, normalise_section, statutes
from protos import records_pb2


@pytest.fixture(scope="module")
def laws() -> Statutes:
    return statutes()


def test_statutes_loaded_once() -> None:
    assert statutes() is statutes()


def test_section_lookup_returns_attributes(laws: Statutes) -> None:
    murder = laws.section("BNS", "103(1)")
    assert murder.death and murder.life and murder.cognizable and not murder.bailable
    assert murder.crime_head == "Murder"
    theft = laws.section("IPC", "379")
    assert theft.max_punishment_years == 3 and theft.crime_head == "Theft"


@pytest.mark.parametrize(
    ("act", "cited", "canonical"),
    [
        ("BNS", "303 (2)", "303(2)"),
        ("bns", " 303(2) ", "303(2)"),
        ("IPC", "498a", "498A"),
        ("IPC", "Sec. 420", "420"),
        ("ABKARI", "55 (A)", "55(a)"),
        ("NDPS", "20(b)(ii)(a)", "20(b)(ii)(A)"),
        ("BNS", "303", "303(2)"),
        ("BNS", "115", "115(2)"),
    ],
)
def test_section_normalisation(laws: Statutes, act: str, cited: str, canonical: str) -> None:
    assert laws.section(act, cited).section == canonical
    assert laws.is_known(act, cited)


def test_normalise_section_key() -> None:
    assert normalise_section("303 (2)") == normalise_section("303(2)")
    assert normalise_section("498a") == normalise_section("498A")


def test_unknown_section_raises_input_error(laws: Statutes) -> None:
    with pytest.raises(InputError, match=r"unknown section 999 of BNS"):
        laws.section("BNS", "999")
    assert not laws.is_known("BNS", "999")
    assert not laws.is_known("BNS", "303(9)")


def test_unknown_act_raises_input_error(laws: Statutes) -> None:
    with pytest.raises(InputError, match=r"unknown act XYZ"):
        laws.section("XYZ", "1")
    with pytest.raises(InputError, match=r"unknown act XYZ"):
        laws.act("XYZ")
    assert not laws.is_known("XYZ", "1")


@pytest.mark.parametrize(
    ("ipc", "bns"),
    [
        ("302", ["103(1)"]),
        ("379", ["303(2)"]),
        ("420", ["318(4)"]),
        ("498A", ["85"]),
        ("354", ["74"]),
        ("307", ["109(1)"]),
        ("392", ["309(4)"]),
        ("406", ["316(2)"]),
        ("506", ["351(2)", "351(3)"]),
        ("279", ["281"]),
        ("304A", ["106(1)"]),
        ("323", ["115(2)"]),
        ("324", ["118(1)"]),
        ("147", ["191(2)"]),
        ("34", ["3(5)"]),
        ("304B", ["80(2)"]),
        ("457", ["331(4)"]),
        ("309", []),
    ],
)
def test_ipc_to_bns(laws: Statutes, ipc: str, bns: list[str]) -> None:
    assert laws.ipc_to_bns(ipc) == bns


def test_bns_to_ipc(laws: Statutes) -> None:
    assert laws.bns_to_ipc("303(2)") == ["379"]
    assert laws.bns_to_ipc("303") == ["379"]
    assert laws.bns_to_ipc("85") == ["498A"]
    assert "506" in laws.bns_to_ipc("351(3)")
    assert laws.bns_to_ipc("304(2)") == []  # snatching is a new offence
    with pytest.raises(InputError):
        laws.bns_to_ipc("999")


def test_mapping_round_trips(laws: Statutes) -> None:
    for section in laws.sections("IPC"):
        for target in laws.ipc_to_bns(section.section):
            assert section.section in laws.bns_to_ipc(target)


@pytest.mark.parametrize(
    ("act", "day", "allowed"),
    [
        ("BNS", datetime.date(2024, 6, 30), False),
        ("BNS", datetime.date(2024, 7, 1), True),
        ("IPC", datetime.date(2024, 6, 30), True),
        ("IPC", datetime.date(2024, 7, 1), False),
        ("NDPS", datetime.date(2024, 6, 30), True),
        ("KPA", datetime.date(2010, 1, 1), False),
    ],
)
def test_law_in_force_boundary(laws: Statutes, act: str, day: datetime.date, allowed: bool) -> None:
    if allowed:
        laws.check_law_in_force(act, day)
    else:
        with pytest.raises(InputError):
            laws.check_law_in_force(act, day)


def test_most_serious_orders_death_life_years(laws: Statutes) -> None:
    assert laws.most_serious([("BNS", "115(2)"), ("BNS", "118(1)")]).section == "118(1)"
    assert laws.most_serious([("IPC", "34"), ("IPC", "323")]).section == "323"
    assert laws.most_serious([("IPC", "326"), ("IPC", "302")]).section == "302"  # death > life
    assert laws.most_serious([("IPC", "420"), ("IPC", "326")]).section == "326"  # life > 7 years
    assert laws.most_serious([("IPC", "457"), ("IPC", "380")]).section == "457"  # 14 > 7 years
    cited: list[Citation] = [
        records_pb2.ActSection(act="BNS", section="85"),
        laws.section("DPA", "4"),
    ]
    assert laws.crime_head(cited) == "Cruelty by husband or relatives"
    with pytest.raises(InputError):
        laws.most_serious([])


def test_search_by_number_and_words(laws: Statutes) -> None:
    by_number = [s.citation for s in laws.search("BNS 331")]
    assert by_number == ["BNS 331(1)", "BNS 331(2)", "BNS 331(3)", "BNS 331(4)"]
    assert "IPC 498A" in [s.citation for s in laws.search("498a")]
    by_words = laws.search("theft dwelling")
    assert {s.citation for s in by_words} >= {"BNS 305(a)", "IPC 380"}
    assert laws.search("   ") == []


def test_identity_withheld_for_sexual_offences(laws: Statutes) -> None:
    for section in ("64(1)", "65(1)", "70(1)", "74", "75(2)", "76", "77", "78(2)", "79"):
        assert laws.section("BNS", section).identity_withheld, section
    for section in ("4", "6", "8", "10", "12"):
        assert laws.section("POCSO", section).identity_withheld, section
    assert not laws.section("BNS", "303(2)").identity_withheld


def test_data_integrity() -> None:
    folder = resources.files("node.records.laws").joinpath("data")
    acts = json.loads(folder.joinpath("acts.json").read_text(encoding="utf-8"))["acts"]
    codes = [a["code"] for a in acts]
    assert len(codes) == len(set(codes))
    laws = Statutes()  # a fresh load validates duplicates and mappings itself
    for act in laws.acts():
        sections = laws.sections(act.code)
        assert sections, act.code
        keys = [normalise_section(s.section) for s in sections]
        assert len(keys) == len(set(keys)), act.code
        for section in sections:
            assert isinstance(section, Section)
            assert section.crime_head and section.title
            assert not (section.death and not section.life), section.citation
    mapping = json.loads(folder.joinpath("ipc_bns.json").read_text(encoding="utf-8"))["map"]
    for pair in mapping:
        assert laws.is_known("IPC", pair["ipc"]), pair
        for target in pair["bns"]:
            assert laws.is_known("BNS", target), pair
    assert len(laws.sections("BNS")) >= 120
    assert len(laws.sections("IPC")) >= 120
    assert (folder / "SOURCES.md").is_file()
