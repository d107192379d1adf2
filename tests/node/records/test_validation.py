"""The register rules on sections (`node.records.validation.check_register_sections`): which
sections an FIR and an NCR may cite, on small format 2 tables (tests/node/records/law_tables.py)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from node.records.laws import Statutes
from node.records.validation import (
    FIR_REGISTER,
    NCR_REGISTER,
    Problems,
    check_register_sections,
    check_sections,
)
from protos import records_pb2
from tests.node.records import law_tables

TODAY = date(2026, 3, 10)


@pytest.fixture(scope="module")
def laws() -> Statutes:
    return law_tables.statutes()


def problems_of(
    laws: Statutes, register: str, cited: list[tuple[str, str]], occurred: date | None = TODAY
) -> list[str]:
    sections = [records_pb2.ActSection(act=a, section=s) for a, s in cited]
    found = Problems()
    check_register_sections(register, sections, occurred, laws, found)
    return found.items


@pytest.mark.parametrize(
    ("cited", "occurred"),
    [
        ([("BNS", "303(2)")], TODAY),
        ([("BNS", "303(2)"), ("BNS", "3(5)"), ("BNS", "115(2)")], TODAY),
        ([("BNS", "303(2)"), ("BNS", "2(8)")], TODAY),  # a definition beside the offence
        ([("KPA", "57")], TODAY),  # a missing person
        ([("BNSS", "194")], TODAY),  # an unnatural death
        ([("BNSS", "194"), ("BNS", "115(2)")], TODAY),
        ([("IPC", "379"), ("IPC", "34")], date(2024, 6, 30)),
        ([("IPC", "498A")], date(1990, 1, 1)),
    ],
)
def test_validation_fir_registers(
    laws: Statutes, cited: list[tuple[str, str]], occurred: date
) -> None:
    assert problems_of(laws, FIR_REGISTER, cited, occurred) == []


@pytest.mark.parametrize(
    ("cited", "occurred", "why"),
    [
        ([("BNS", "3(5)")], TODAY, r"BNS 3\(5\) has no class of its own"),
        ([("BNS", "3(5)"), ("BNS", "49")], TODAY, r"BNS 3\(5\), BNS 49 has no class of its own"),
        ([("KPA", "57"), ("BNS", "3(5)")], TODAY, "has no class of its own"),
        ([("BNS", "2(8)")], TODAY, r"BNS 2\(8\) punishes nothing of its own"),
        ([("KPA", "57"), ("BNS", "2(8)")], TODAY, "punishes nothing of its own"),
        ([("BNS", "115(2)"), ("BNS", "3(5)")], TODAY, "no cognizable offence cited"),
        ([("BNS", "106(2)")], TODAY, r"BNS 106\(2\) was never brought into force: left out"),
        ([("IPC", "498A")], date(1983, 1, 1), "before it came into force"),
        ([("IPC", "379")], TODAY, "offences on or after 2024-07-01 are cited under the BNS"),
        ([("BNSS", "194")], date(2024, 6, 1), "before the act came into force"),
        ([("BNS", "999")], TODAY, "unknown section 999 of BNS"),
        ([], TODAY, "at least one act and section is required"),
    ],
)
def test_validation_fir_refused_with_the_reason(
    laws: Statutes, cited: list[tuple[str, str]], occurred: date, why: str
) -> None:
    found = problems_of(laws, FIR_REGISTER, cited, occurred)
    assert any(re.search(why, p) for p in found), found


@pytest.mark.parametrize(
    ("cited", "occurred"),
    [
        ([("BNS", "115(2)")], TODAY),
        # Simple hurt by two persons: BNS 115(2) read with 3(5) is an NCR.
        ([("BNS", "115(2)"), ("BNS", "3(5)")], TODAY),
        ([("BNS", "115(2)"), ("BNS", "2(8)")], TODAY),
        ([("IPC", "323"), ("IPC", "34")], date(2024, 6, 15)),
    ],
)
def test_validation_ncr_registers(
    laws: Statutes, cited: list[tuple[str, str]], occurred: date
) -> None:
    assert problems_of(laws, NCR_REGISTER, cited, occurred) == []


@pytest.mark.parametrize(
    ("cited", "why"),
    [
        ([("BNS", "303(2)")], r"BNS 303\(2\) is cognizable: register an FIR, not an NCR"),
        ([("BNS", "115(2)"), ("BNS", "303(2)")], "is cognizable: register an FIR"),
        ([("KPA", "57")], r"KPA 57 \(Missing persons\) is registered as an FIR, not an NCR"),
        ([("BNS", "115(2)"), ("BNSS", "194")], "BNSS 194 .* is registered as an FIR"),
        ([("BNS", "3(5)")], "has no class of its own"),
        ([("BNS", "2(8)")], "punishes nothing of its own"),
        ([("IPC", "323")], "offences on or after 2024-07-01 are cited under the BNS"),
    ],
)
def test_validation_ncr_refused_with_the_reason(
    laws: Statutes, cited: list[tuple[str, str]], why: str
) -> None:
    found = problems_of(laws, NCR_REGISTER, cited)
    assert any(re.search(why, p) for p in found), found


def test_validation_sections_without_a_date_still_refuse_a_section_never_in_force(
    laws: Statutes,
) -> None:
    found = Problems()
    cited = [records_pb2.ActSection(act="BNS", section="106(2)")]
    check_sections(cited, None, laws, found)
    assert len(found.items) == 1 and "never brought into force" in found.items[0]


def test_validation_unknown_sections_are_said_once(laws: Statutes) -> None:
    assert problems_of(laws, NCR_REGISTER, [("BNS", "999")]) == ["unknown section 999 of BNS"]
