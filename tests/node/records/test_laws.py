"""Tests for node.laws: lookup, normalisation, IPC<->BNS mapping, law in force, data integrity."""

from __future__ import annotations

import datetime
import json
import re
from importlib import resources

import pytest

from ledger.errors import InputError, UsageError
from node.records.laws import (
    ACCESSORY,
    GENERAL,
    LEGACY_SOURCE,
    NON_CRIME,
    OFFENCE,
    Citation,
    Section,
    Statutes,
    normalise_section,
    statutes,
)
from protos import records_pb2
from tests.node.records import law_tables

FORMAT_1_FIELDS = {
    "section",
    "title",
    "max_punishment_years",
    "life",
    "death",
    "cognizable",
    "bailable",
    "crime_head",
    "identity_withheld",
}
# Tables with one BNS row have no IPC -> BNS pairs to check.
NO_MAP = {"ipc_bns.json": {"map": []}}


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
    # Every sub-section of 331 (the complete table has 331(1)-(8)), in numeric order.
    assert by_number[:4] == ["BNS 331(1)", "BNS 331(2)", "BNS 331(3)", "BNS 331(4)"]
    assert all(c.startswith("BNS 331(") for c in by_number)
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
            assert section.title, section.citation
            # Every row but a general one (a definition) counts under a crime head.
            assert section.crime_head or section.kind == GENERAL, section.citation
            # Only an offence punishes (death alone is possible: IPC 303, NDPS 31A).
            if section.death or section.life:
                assert section.kind == OFFENCE, section.citation
    mapping = json.loads(folder.joinpath("ipc_bns.json").read_text(encoding="utf-8"))["map"]
    for pair in mapping:
        assert laws.is_known("IPC", pair["ipc"]), pair
        for target in pair["bns"]:
            assert laws.is_known("BNS", target), pair
    assert len(laws.sections("BNS")) >= 120
    assert len(laws.sections("IPC")) >= 120
    assert (folder / "SOURCES.md").is_file()


# -- format 2: kinds, sources, dates in force (small tables: tests/node/records/law_tables.py) --


def test_laws_format_2_row_fields() -> None:
    laws = law_tables.statutes()
    murder = laws.section("BNS", "103(1)")
    assert murder.kind == OFFENCE and murder.triable_by == "Court of Session"
    assert murder.source == ("test-gazette",) and murder.checked
    common = laws.section("BNS", "3(5)")
    assert common.kind == ACCESSORY and common.cognizable is None and common.bailable is None
    assert laws.section("KPA", "57").kind == NON_CRIME
    assert (
        laws.section("BNS", "2(8)").kind == GENERAL and laws.section("BNS", "2(8)").crime_head == ""
    )
    assert laws.section("IPC", "498A").in_force_from == datetime.date(1983, 12, 25)
    assert laws.section("IPC", "497").in_force_until == datetime.date(2018, 9, 27)


def test_laws_format_1_rows_read_as_unchecked_legacy_offences() -> None:
    old = {k: v for k, v in law_tables.row("115(2)").items() if k in FORMAT_1_FIELDS}
    laws = law_tables.statutes(**{"bns.json": {"format": 1, "sections": [old]}}, **NO_MAP)
    hurt = laws.section("BNS", "115(2)")
    assert (hurt.kind, hurt.triable_by, hurt.source, hurt.checked) == (
        OFFENCE,
        None,
        (LEGACY_SOURCE,),
        False,
    )
    assert laws.sources()[LEGACY_SOURCE].kind == "unverified"


def test_laws_sources_are_exposed_and_an_unknown_key_refused_at_load() -> None:
    laws = law_tables.statutes()
    assert laws.source("test-gazette").kind == "official"
    assert {"test-gazette", "test-team", LEGACY_SOURCE} <= set(laws.sources())
    with pytest.raises(InputError):
        laws.source("nowhere")
    rows = [law_tables.row("115(2)", source=["test-gazette", "nowhere"])]
    with pytest.raises(UsageError, match=r"BNS 115\(2\) names unknown source 'nowhere'"):
        law_tables.statutes(**{"bns.json": {"format": 2, "sections": rows}}, **NO_MAP)
    twice = {"sources/other.json": law_tables.SOURCES}
    with pytest.raises(UsageError, match="source test-gazette defined twice"):
        law_tables.statutes(**twice)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (law_tables.row("115(2)", cognizable=None), "an offence is cognizable or not"),
        (law_tables.row("115(2)", kind="crime"), "kind 'crime' is not one of"),
        (law_tables.row("115(2)", source=[]), r"BNS 115\(2\) has no source"),
        (law_tables.row("115(2)", in_force_from="1 July"), "not YYYY-MM-DD"),
        (law_tables.row("115(2)", crime_head=None), "has no crime head"),
    ],
)
def test_laws_inconsistent_rows_refused_at_load(bad: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        law_tables.statutes(**{"bns.json": {"format": 2, "sections": [bad]}}, **NO_MAP)


def test_laws_a_non_crime_head_is_no_offence_head() -> None:
    sll = {"KPA": [law_tables.row("57", "non-crime", crime_head="Hurt")]}
    with pytest.raises(UsageError, match="KPA 57 is a non-crime row but its crime head 'Hurt'"):
        law_tables.statutes(**{"sll.json": {"format": 2, "acts": sll}})
    laws = law_tables.statutes()
    assert laws.non_crime_heads() == {"Missing persons", "Unnatural deaths"}


def test_laws_section_in_force_by_the_offence_date() -> None:
    laws = law_tables.statutes()
    day = datetime.date
    hit_and_run = laws.section_not_in_force(("BNS", "106(2)"), day(2025, 1, 1))
    assert hit_and_run is not None and "never brought into force" in hit_and_run
    assert "S.O. 850(E)" in hit_and_run
    # Never in force whatever the date, even without one.
    assert laws.section_not_in_force(("BNS", "106(2)"), None) is not None
    assert laws.section_not_in_force(("BNS", "106(1)"), day(2025, 1, 1)) is None
    cruelty = laws.section_not_in_force(("IPC", "498A"), day(1983, 12, 24))
    assert cruelty is not None and "before it came into force on 1983-12-25" in cruelty
    assert laws.section_not_in_force(("IPC", "498A"), day(1983, 12, 25)) is None
    adultery = laws.section_not_in_force(("IPC", "497"), day(2018, 9, 28))
    assert adultery is not None and "after it ceased to be in force (2018-09-27)" in adultery
    assert laws.section_not_in_force(("IPC", "497"), day(2018, 9, 27)) is None
    assert laws.section_not_in_force(("IPC", "497"), None) is None


def test_laws_most_serious_ranks_every_offence_above_other_rows() -> None:
    laws = law_tables.statutes()
    # Simple hurt (one year) over common intention, abetment, a definition, a missing person.
    for other in (("BNS", "3(5)"), ("BNS", "49"), ("BNS", "2(8)"), ("KPA", "57")):
        assert laws.most_serious([other, ("BNS", "115(2)")]).citation == "BNS 115(2)"
        assert laws.most_serious([("BNS", "115(2)"), other]).citation == "BNS 115(2)"
    # With no offence the non-crime row names the case.
    assert laws.crime_head([("BNS", "3(5)"), ("KPA", "57")]) == "Missing persons"


@pytest.mark.parametrize(
    ("cited", "allowed", "why"),
    [
        ([("BNS", "316(2)")], True, ""),
        ([("BNS", "303(2)"), ("BNS", "3(5)")], True, ""),
        ([("BNS", "318(4)")], False, r"BNS 318\(4\) is punishable with 7 years"),
        ([("BNS", "103(1)")], False, "punishable with death"),
        ([("BNS", "316(2)"), ("BNS", "103(1)")], False, r"BNS 103\(1\) is punishable with death"),
        ([("BNS", "115(2)")], False, "not cognizable"),
        ([("KPA", "118(a)")], True, ""),
        ([("BNS", "3(5)"), ("KPA", "57")], False, "no offence cited"),
    ],
)
def test_laws_preliminary_enquiry_three_to_seven_years(
    cited: list[tuple[str, str]], allowed: bool, why: str
) -> None:
    laws = law_tables.statutes()
    assert laws.preliminary_enquiry(cited) is allowed
    refusal = laws.preliminary_enquiry_refusal(cited)
    if allowed:
        assert refusal is None
    else:
        assert refusal is not None and "BNSS s.173(3)" in refusal
        assert re.search(why, refusal), refusal


def test_laws_mapping_format_2_says_where_the_class_differs() -> None:
    laws = law_tables.statutes()
    assert laws.class_differs("379") and not laws.class_differs("323")
    theft = laws.correspondence("379")
    assert theft.bns == ("303(2)",) and theft.note and theft.source == ("test-gazette",)
    assert laws.correspondence("34").source == (LEGACY_SOURCE,)  # a format 1 pair
    assert laws.correspondence("498A").bns == ()  # not in the table
    with pytest.raises(UsageError, match="mapping of IPC 323 names unknown source"):
        pairs = [{"ipc": "323", "bns": ["115(2)"], "source": ["nowhere"]}]
        law_tables.statutes(**{"ipc_bns.json": {"format": 2, "map": pairs}})


# -- the shipped tables (format 2 as the data lands; format 1 rows read as legacy) --------------


def test_laws_every_row_has_a_known_source_and_unverified_rows_are_unchecked(
    laws: Statutes,
) -> None:
    sources = laws.sources()
    for act in laws.acts():
        for section in laws.sections(act.code):
            assert section.source, section.citation
            kinds = {sources[key].kind for key in section.source}
            if kinds == {"unverified"}:
                assert not section.checked, f"{section.citation}: checked on no text"


def test_laws_issue_rows_in_the_shipped_tables(laws: Statutes) -> None:
    """The rows issue 9 names."""
    for accessory in ("3(5)", "49", "61(2)", "62", "190"):
        assert laws.section("BNS", accessory).kind == ACCESSORY, accessory
    for accessory in ("34", "109", "120B", "149", "511"):
        assert laws.section("IPC", accessory).kind == ACCESSORY, accessory
    assert "never brought into force" in (
        laws.section_not_in_force(("BNS", "106(2)"), datetime.date(2025, 1, 1)) or ""
    )
    assert laws.section("BNS", "308(5)").title != laws.section("BNS", "308(4)").title
    # The longest term counts aggravated limbs: a second theft, robbery on a highway at night.
    assert laws.section("BNS", "303(2)").max_punishment_years == 5
    assert laws.section("BNS", "309(4)").max_punishment_years == 14
    # Every section of both codes has a row.
    for act, last in (("BNS", 358), ("IPC", 511)):
        numbers = {int(re.match(r"\d+", s.section)[0]) for s in laws.sections(act)}  # type: ignore[index]
        assert numbers == set(range(1, last + 1)), act


def test_laws_mapping_covers_every_ipc_offence(laws: Statutes) -> None:
    folder = resources.files("node.records.laws").joinpath("data")
    mapped = {
        normalise_section(pair["ipc"])
        for pair in json.loads(folder.joinpath("ipc_bns.json").read_text("utf-8"))["map"]
    }
    unmapped = [
        s.section
        for s in laws.sections("IPC")
        if s.kind != "general" and normalise_section(s.section) not in mapped
    ]
    assert unmapped == []


def test_laws_classification_agrees_across_the_mapping_unless_the_source_says(
    laws: Statutes,
) -> None:
    differs: list[str] = []
    for ipc in laws.sections("IPC"):
        mapped = laws.correspondence(ipc.section)
        if mapped.class_differs or ipc.kind != OFFENCE:
            continue
        for target in mapped.bns:
            bns = laws.section("BNS", target)
            if bns.kind == OFFENCE and (bns.cognizable, bns.bailable) != (
                ipc.cognizable,
                ipc.bailable,
            ):
                differs.append(f"IPC {ipc.section} -> BNS {target}")
    assert differs == []
