"""The table of limits (`node.records.limits`): it names real fields, agrees with the index's
columns and the ledger's maximum, and its check names every field over its limit."""

from __future__ import annotations

import nacl.signing
import pytest
import sqlalchemy as sa

from ledger.errors import InputError
from ledger.log import MAX_ENTRY_BYTES, Ledger
from ledger.store import MemoryLogStore
from node.index import casework, schema, services
from node.records import limits
from node.records.validation import Problems
from protos import federation_pb2, ledger_pb2, records_pb2

MALAYALAM = "കേരളം"  # five characters, three bytes each in UTF-8


def _field(key: str) -> object:
    message, name = key.split(".")
    for module in (records_pb2, ledger_pb2, federation_pb2):
        if hasattr(module, message):
            return getattr(module, message).DESCRIPTOR.fields_by_name[name]
    raise AssertionError(f"no message {message}")


def test_limits_tables_name_real_fields_of_the_right_kind() -> None:
    names = limits._field_names()
    for table in (limits.TEXT, limits.BYTES, limits.COUNT):
        assert set(table) <= names, set(table) - names
    for key in limits.TEXT:
        assert _field(key).type == _field(key).TYPE_STRING, key  # type: ignore[attr-defined]
    for key in limits.BYTES:
        assert _field(key).type == _field(key).TYPE_BYTES, key  # type: ignore[attr-defined]
    for key in limits.COUNT:
        assert _field(key).is_repeated, key  # type: ignore[attr-defined]


def test_limits_problems_name_each_field_over_its_limit_without_its_value() -> None:
    secret = "Q" * (limits.FACTS + 1)
    fir = records_pb2.Fir(
        brief_facts=secret,
        place_of_occurrence=records_pb2.Place(latitude=91.0),
        occurrence_from_ms=-(10**15),  # the year -29719
        sections=[records_pb2.ActSection(act="BNS", section="303")] * 21,
    )
    fir.persons.add().person.name = "n" * (limits.NAME + 1)
    found = limits.problems(fir)
    assert found == [
        "occurrence from is not a time between the years 1900 and 2199",
        "place of occurrence latitude is out of range (-90 to 90)",
        "sections: 21 given, at most 20",
        "persons 1 person name is longer than 120 characters",
        "brief facts is longer than 20,000 characters",
    ]
    assert not any(secret[:50] in line for line in found)


def test_limits_allow_each_field_at_its_limit_in_malayalam() -> None:
    fir = records_pb2.Fir(brief_facts=(MALAYALAM * limits.FACTS)[: limits.FACTS])
    fir.persons.add().person.name = (MALAYALAM * limits.NAME)[: limits.NAME]
    assert limits.problems(fir) == []


def test_limits_default_for_fields_not_listed() -> None:
    assert "Revocation.reason" not in limits.TEXT
    revocation = ledger_pb2.Revocation(reason="r" * (limits.DEFAULT_TEXT + 1))
    assert limits.problems(revocation) == [
        f"reason is longer than {limits.DEFAULT_TEXT} characters"
    ]
    assert "SearchResponse.hits" not in limits.COUNT
    hits = federation_pb2.SearchResponse(
        hits=[federation_pb2.SearchHit()] * (limits.DEFAULT_COUNT + 1)
    )
    assert limits.problems(hits) == [
        f"hits: {limits.DEFAULT_COUNT + 1} given, at most {limits.DEFAULT_COUNT}"
    ]


def test_limits_record_larger_than_the_ledger_takes_is_refused_whole() -> None:
    # Every field within its limit, the whole over what an entry may hold.
    fir = records_pb2.Fir(brief_facts=(MALAYALAM * limits.FACTS)[: limits.FACTS])
    name = (MALAYALAM * limits.NAME)[: limits.NAME]
    for _ in range(limits.count("Fir.persons")):
        person = fir.persons.add().person
        person.name = person.relative_name = name
        person.aliases.extend([name] * limits.count("Person.aliases"))
        person.address = (MALAYALAM * limits.ADDRESS)[: limits.ADDRESS]
        person.identifying_marks.extend([MALAYALAM * 40] * limits.count("Person.identifying_marks"))
    assert limits.problems(fir) == []
    problems = Problems()
    limits.check(fir, problems)
    (line,) = problems.items
    assert line.startswith("the record is ") and f"at most {limits.MAX_RECORD_BYTES:,}" in line


def test_limits_record_at_its_largest_fits_in_a_ledger_entry() -> None:
    origin = "cctns.in/" + "k" * (limits.ORIGIN - len("cctns.in/"))
    ledger = Ledger(MemoryLogStore(), nacl.signing.SigningKey(bytes(32)), origin)
    body = ledger_pb2.EntryBody(officer_id="P" * limits.OFFICER_ID)
    # The summary's tag and its three-byte length take the other four bytes.
    body.general_diary.summary = "x" * (limits.MAX_RECORD_BYTES - 4)
    assert body.general_diary.ByteSize() == limits.MAX_RECORD_BYTES
    appended = ledger.append(body)
    assert len(appended.leaf) <= limits.LEAF_BYTES
    assert appended.body.ByteSize() <= MAX_ENTRY_BYTES


# The index's columns that take a record's field as it is written (node/index): each must hold
# every value the limits allow, or a record the station accepted would fail to be indexed (a
# PostgreSQL VARCHAR is strict).
_COLUMNS = [
    (schema.firs.c.fir_number, "Fir.fir_number"),
    (schema.firs.c.zero_fir_number, "Fir.zero_fir_number"),
    (schema.firs.c.district, "Fir.district"),
    (schema.firs.c.police_station, "Fir.police_station"),
    (schema.firs.c.jurisdiction_station, "Fir.jurisdiction_station"),
    (schema.firs.c.crime_head, "Fir.crime_head"),
    (schema.firs.c.gd_reference, "Fir.gd_reference"),
    (schema.firs.c.information_type, "Fir.information_type"),
    (schema.firs.c.petition_receipt, "Fir.petition_receipt"),
    (schema.record_sections.c.act, "ActSection.act"),
    (schema.record_sections.c.section, "ActSection.section"),
    (schema.persons.c.person_id, "Person.person_id"),
    (schema.persons.c.accused_code, "PersonInCase.accused_code"),
    (schema.persons.c.name, "Person.name"),
    (schema.persons.c.relative_name, "Person.relative_name"),
    (schema.persons.c.relation, "Person.relation"),
    (schema.persons.c.date_of_birth, "Person.date_of_birth"),
    (schema.persons.c.sex, "Person.sex"),
    (schema.persons.c.mobile, "Person.mobile"),
    (schema.person_names.c.name, "Person.aliases"),
    (schema.property_items.c.property_id, "PropertyItem.property_id"),
    (schema.property_items.c.category, "PropertyItem.category"),
    (schema.vehicles.c.registration, "Vehicle.registration"),
    (schema.vehicles.c.engine_number, "Vehicle.engine_number"),
    (schema.vehicles.c.chassis_number, "Vehicle.chassis_number"),
    (schema.vehicles.c.make, "Vehicle.make"),
    (schema.vehicles.c.model, "Vehicle.model"),
    (schema.vehicles.c.colour, "Vehicle.colour"),
    (schema.vehicles.c.vehicle_type, "Vehicle.vehicle_type"),
    (schema.gd_entries.c.gd_date, "GeneralDiaryEntry.gd_date"),
    (schema.gd_entries.c.category, "GeneralDiaryEntry.category"),
    (schema.petitions.c.receipt_number, "Petition.receipt_number"),
    (schema.petitions.c.channel, "Petition.channel"),
    (schema.petitions.c.gd_reference, "Petition.gd_reference"),
    (schema.ncrs.c.ncr_number, "NonCognizableReport.ncr_number"),
    (schema.ncrs.c.gd_reference, "NonCognizableReport.gd_reference"),
    (schema.amendments.c.record_ref, "Amendment.record_ref"),
    (schema.zero_fir_transfers.c.zero_fir_number, "ZeroFirTransfer.zero_fir_number"),
    (schema.zero_fir_transfers.c.to_station, "ZeroFirTransfer.to_station"),
    (schema.zero_fir_transfers.c.direction, "ZeroFirTransfer.direction"),
    (schema.zero_fir_transfers.c.assigned_fir_number, "ZeroFirTransfer.assigned_fir_number"),
    (schema.records.c.officer_id, "EntryBody.officer_id"),
    (casework.petition_status_table.c.category, "Petition.category"),
    (casework.petition_updates_table.c.action, "PetitionUpdate.action"),
    (casework.petition_updates_table.c.permitted_by, "PetitionUpdate.permitted_by"),
    (casework.case_events_table.c.kind, "CaseEvent.kind"),
    (casework.case_events_table.c.io_officer_id, "CaseEvent.io_officer_id"),
    (casework.case_events_table.c.report_type, "CaseEvent.report_type"),
    (services.service_requests.c.receipt, "ServiceRequest.receipt_number"),
    (services.service_requests.c.kind, "ServiceRequest.kind"),
    (services.service_requests.c.applicant, "Person.name"),
    (services.service_requests.c.status, "ServiceRequestUpdate.status"),
    (services.grievances.c.against_office, "Grievance.against_office"),
    (services.grievances.c.status, "GrievanceUpdate.status"),
    (services.missing_persons_table.c.category, "Petition.category"),
    (services.missing_persons_table.c.name, "Person.name"),
    (services.missing_persons_table.c.sex, "Person.sex"),
]


@pytest.mark.parametrize(("column", "field"), _COLUMNS, ids=lambda v: str(v))
def test_limits_fit_the_index_columns(column: sa.Column[str], field: str) -> None:
    length = column.type.length  # type: ignore[attr-defined]
    assert length is not None and limits.text(field) <= length


@pytest.mark.parametrize(
    ("text", "expected"), [("", 0), ("0", 0), (" 42 ", 42), ("150", 150)], ids=repr
)
def test_limits_whole_number_reads_digits(text: str, expected: int) -> None:
    assert limits.whole_number(text, "age", 150) == expected


@pytest.mark.parametrize(
    "text",
    ["١٢", "൧൨", "²", "-1", "+1", "1.5", "151", "9" * 5000, "1e3"],
    ids=["arabic-indic", "malayalam", "superscript", "negative", "plus", "decimal", "over",
         "5000 digits", "exponent"],
)  # fmt: skip
def test_limits_whole_number_refuses_anything_else(text: str) -> None:
    with pytest.raises(InputError, match=r"^age: "):
        limits.whole_number(text, "age", 150)


def test_limits_clip_marks_the_cut() -> None:
    assert limits.clip("abc", 3) == "abc"
    assert limits.clip("abcdef", 4) == "abc…"
    assert len(limits.clip("x" * 10**6, limits.PUBLIC_TEXT)) == limits.PUBLIC_TEXT
