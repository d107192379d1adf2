"""The law rules of the station's registers (`node.station.registers` over
`node.records.validation.check_register_sections` and `node.records.withholding`), on a real
station and the shipped law tables: which sections an FIR and an NCR may cite, the NCR's
occurrence date, who recorded the information, cases counted apart from crime. Every refusal
writes nothing and says why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.errors import InputError
from node.index import reports
from node.index.schema import ncrs
from node.records.laws import LEGACY_SOURCE, NON_CRIME, Statutes
from node.records.validation import IST, utc_ms
from node.station import registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import person, theft_fir

OFFICER = "PEN100001"
JUNE_2024 = utc_ms(datetime(2024, 6, 15, 20, 30, tzinfo=IST))


def refused(station: Station, why: str, command: Callable[..., Any], *args: Any) -> str:
    """The command raises InputError naming `why`, and the ledger does not grow."""
    size = station.ledger.size()
    with pytest.raises(InputError, match=why) as raised:
        command(station, OFFICER, *args)
    assert station.ledger.size() == size
    return str(raised.value)


def needs_format_2(statutes: Statutes, act: str, section: str, kind: str = "") -> None:
    """Skips (saying why) while the shipped row is still format 1 or missing."""
    if not statutes.is_known(act, section):
        pytest.skip(f"{act} {section} is not in the shipped law tables yet")
    row = statutes.section(act, section)
    if row.source == (LEGACY_SOURCE,) or (kind and row.kind != kind):
        pytest.skip(f"{act} {section} is not a format 2 {kind or 'row'} in the shipped tables yet")


def ncr(*sections: tuple[str, str], **fields: Any) -> records_pb2.NonCognizableReport:
    return records_pb2.NonCognizableReport(
        informant=records_pb2.Person(name="Anil Kumar", age=40, sex="M"),
        sections=[records_pb2.ActSection(act=a, section=s) for a, s in sections],
        brief_facts="Slapped during a quarrel over parking.",
        **fields,
    )


def fir_citing(*sections: tuple[str, str], **fields: Any) -> records_pb2.Fir:
    fir = theft_fir(**fields)
    fir.ClearField("sections")
    for act, section in sections:
        fir.sections.add(act=act, section=section)
    return fir


# -- NCRs: the occurrence date decides the law --------------------------------------------------


def test_registers_ncr_for_an_offence_before_the_bns_keeps_the_ipc(station: Station) -> None:
    receipt = registers.register_ncr(
        station, OFFICER, ncr(("IPC", "323"), occurrence_from_ms=JUNE_2024)
    )
    assert receipt.ref.startswith("NCR 1/")
    body = station.ledger.body(receipt.index)
    assert body.ncr.occurrence_from_ms == JUNE_2024
    with station.index.engine.connect() as conn:
        row = conn.execute(sa.select(ncrs).where(ncrs.c.ledger_index == receipt.index)).one()
    assert row.occurrence_from_ms == JUNE_2024 and row.occurrence_to_ms == 0
    # Without its occurrence, the report's own date (today) decides: the BNS.
    refused(
        station,
        "offences on or after 2024-07-01 are cited under the BNS",
        registers.register_ncr,
        ncr(("IPC", "323")),
    )
    refused(
        station,
        "offences before 2024-07-01 are cited under the IPC",
        registers.register_ncr,
        ncr(("BNS", "115(2)"), occurrence_from_ms=JUNE_2024),
    )


def test_registers_ncr_occurrence_after_the_report_is_refused(station: Station) -> None:
    later = station.now() + 2 * 60 * 60 * 1000
    refused(
        station,
        "occurrence is after the report",
        registers.register_ncr,
        ncr(("BNS", "115(2)"), occurrence_from_ms=later),
    )
    earlier = station.now() - 60 * 60 * 1000
    refused(
        station,
        "occurrence ends before it begins",
        registers.register_ncr,
        ncr(("BNS", "115(2)"), occurrence_from_ms=earlier, occurrence_to_ms=earlier - 1),
    )


def test_registers_ncr_for_hurt_by_two_persons(station: Station) -> None:
    needs_format_2(station.statutes, "BNS", "3(5)", "accessory")
    receipt = registers.register_ncr(station, OFFICER, ncr(("BNS", "115(2)"), ("BNS", "3(5)")))
    assert receipt.ref.startswith("NCR ")
    refused(
        station,
        r"BNS 3\(5\) has no class of its own",
        registers.register_ncr,
        ncr(("BNS", "3(5)")),
    )


def test_registers_ncr_refuses_cognizable_and_non_crime_sections(station: Station) -> None:
    refused(
        station,
        r"BNS 303\(2\) is cognizable: register an FIR, not an NCR",
        registers.register_ncr,
        ncr(("BNS", "115(2)"), ("BNS", "303(2)")),
    )
    needs_format_2(station.statutes, "KPA", "57", NON_CRIME)
    refused(
        station,
        "KPA 57 .*is registered as an FIR, not an NCR",
        registers.register_ncr,
        ncr(("KPA", "57")),
    )


# -- FIRs: a cognizable offence, or a case registered apart from crime --------------------------


def test_registers_fir_citing_only_accessory_sections_is_refused(station: Station) -> None:
    needs_format_2(station.statutes, "BNS", "3(5)", "accessory")
    why = refused(
        station,
        r"BNS 3\(5\) has no class of its own",
        registers.register_fir,
        fir_citing(("BNS", "3(5)")),
    )
    assert why.startswith("FIR not registered: ")
    refused(
        station,
        "no cognizable offence cited: record a non-cognizable report instead",
        registers.register_fir,
        fir_citing(("BNS", "115(2)"), ("BNS", "3(5)")),
    )
    receipt = registers.register_fir(
        station, OFFICER, fir_citing(("BNS", "303(2)"), ("BNS", "3(5)"))
    )
    assert station.ledger.body(receipt.index).fir.crime_head == "Theft"


def test_registers_fir_section_never_in_force_is_refused(station: Station) -> None:
    hit_and_run = station.statutes.section("BNS", "106(2)")
    if not hit_and_run.not_in_force:
        pytest.skip("BNS 106(2) is not marked not in force in the shipped tables yet")
    refused(
        station,
        r"BNS 106\(2\) was never brought into force",
        registers.register_fir,
        fir_citing(("BNS", "106(2)")),
    )


def missing_person_fir() -> records_pb2.Fir:
    fir = fir_citing(("KPA", "57"))
    fir.ClearField("property")
    del fir.persons[1:]
    fir.persons.append(person("Ravi Nair", records_pb2.MISSING, age=72, sex="M"))
    fir.brief_facts = "Ravi Nair, 72, left home for the temple and has not returned."
    return fir


def test_registers_missing_person_registers_and_is_counted_apart_from_crime(
    station: Station,
) -> None:
    needs_format_2(station.statutes, "KPA", "57", NON_CRIME)
    registers.register_fir(station, OFFICER, theft_fir())
    receipt = registers.register_fir(station, OFFICER, missing_person_fir())
    head = station.ledger.body(receipt.index).fir.crime_head
    assert head in station.statutes.non_crime_heads()
    assert station.index.lookups.counts_by_crime_head() == {"Theft": 1}
    assert station.index.lookups.counts_apart_from_crime() == {head: 1}
    assert dict(reports.crime_head_counts(station.index)) == {"Theft": 1}
    apart = dict(reports.apart_from_crime_counts(station.index))
    assert apart[head] == 1 and set(apart) == station.statutes.non_crime_heads()
    assert reports.charge_sheeting(station.index).firs == 1
    assert sum(n for _, n in reports.pending_by_age(station.index, station.now())) == 1
    assert sum(n for _, n in reports.monthly_trend(station.index, station.now())) == 1


def test_registers_unnatural_death_registers_under_the_bnss(station: Station) -> None:
    needs_format_2(station.statutes, "BNSS", "194", NON_CRIME)
    fir = fir_citing(("BNSS", "194"))
    fir.ClearField("property")
    fir.brief_facts = "A body was found in the canal behind the market."
    receipt = registers.register_fir(station, OFFICER, fir)
    assert station.ledger.body(receipt.index).fir.crime_head in station.statutes.non_crime_heads()


# -- who recorded the information (BNSS s.173(1) provisos) --------------------------------------


def woman_reports(
    section: tuple[str, str] = ("BNS", "64(1)"), *, when: datetime | None = None, **recording: Any
) -> records_pb2.Fir:
    """An offence against a woman, reported by herself (no victim row)."""
    fir = fir_citing(section, when=when)
    fir.ClearField("property")
    del fir.persons[:]
    fir.persons.append(person("Remya Raghavan", records_pb2.COMPLAINANT, sex="F", age=29))
    fir.persons.append(records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True))
    fir.brief_facts = "The complainant was assaulted by an unknown man near the canal."
    if recording:
        fir.recording.CopyFrom(records_pb2.InformationRecording(**recording))
    return fir


def test_registers_woman_officer_records_information_for_every_path(station: Station) -> None:
    refused(
        station,
        r"BNS 64\(1\) against a woman: the information is recorded by a woman officer",
        registers.register_fir,
        woman_reports(recorded_by_sex="M"),
    )
    refused(station, "say who recorded it", registers.register_fir, woman_reports())
    # Acid attack is listed though no identity is withheld.
    refused(
        station,
        r"BNS 124\(1\) against a woman",
        registers.register_fir,
        woman_reports(("BNS", "124(1)"), recorded_by_sex="M"),
    )
    receipt = registers.register_fir(station, OFFICER, woman_reports(recorded_by_sex="F"))
    assert station.ledger.body(receipt.index).fir.recording.recorded_by_sex == "F"


def test_registers_disability_proviso(station: Station) -> None:
    why = refused(
        station,
        "second proviso",
        registers.register_fir,
        woman_reports(recorded_by_sex="F", informant_disabled=True, place="station"),
    )
    assert "residence or a place of her choice" in why and "videographed" in why
    assert "interpreter or special educator" in why
    receipt = registers.register_fir(
        station,
        OFFICER,
        woman_reports(
            recorded_by_sex="F",
            informant_disabled=True,
            place="residence",
            videographed=True,
            interpreter="Smt. Latha, special educator",
        ),
    )
    recording = station.ledger.body(receipt.index).fir.recording
    assert recording.informant_disabled and recording.videographed


def test_registers_import_keeps_a_past_fir_recorded_before_the_field(station: Station) -> None:
    past = woman_reports(when=datetime.now(IST) - timedelta(days=400))
    past.registered_at_ms = past.occurrence_from_ms + 3 * 60 * 60 * 1000
    (receipt,) = registers.import_records(
        station, [("fir", OFFICER, past)], source="legacy register of the station"
    )
    assert not station.ledger.body(receipt.index).fir.HasField("recording")
