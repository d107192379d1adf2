"""Tests for node.synthetic: determinism, valid laws, time order, Kerala formats, mix."""

from __future__ import annotations

import collections
import datetime
import re

import pytest

from ledger.errors import InputError
from node.demo.synthetic import IST, SyntheticRecords
from node.records.laws import statutes
from protos import records_pb2

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC)
REGISTRATION = re.compile(r"^KL-(0[1-9]|[1-7][0-9]|8[0-6])-[A-Z]{1,2}-\d{4}$")


@pytest.fixture(scope="module")
def records() -> list[tuple[str, object]]:
    generator = SyntheticRecords(2026, "Ernakulam City", "Kalamassery")
    return list(generator.stream(2000, START, END))


def _firs(records: list[tuple[str, object]]) -> list[records_pb2.Fir]:
    return [m for k, m in records if isinstance(m, records_pb2.Fir)]


def test_synthetic_deterministic_by_seed() -> None:
    def run(seed: int) -> list[bytes]:
        generator = SyntheticRecords(seed, "Kannur Rural", "Taliparamba")
        return [m.SerializeToString() for _, m in generator.stream(200, START, END)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_synthetic_rejects_unknown_place() -> None:
    with pytest.raises(InputError):
        SyntheticRecords(1, "Gotham", "Kalamassery")
    with pytest.raises(InputError):
        SyntheticRecords(1, "Ernakulam City", "Taliparamba")


def test_synthetic_sections_known_and_in_force(records: list[tuple[str, object]]) -> None:
    laws = statutes()
    firs = _firs(records)
    assert firs
    for fir in firs:
        occurred = datetime.datetime.fromtimestamp(fir.occurrence_from_ms / 1000, IST).date()
        ended = datetime.datetime.fromtimestamp(fir.occurrence_to_ms / 1000, IST).date()
        assert fir.sections
        for cited in fir.sections:
            assert laws.is_known(cited.act, cited.section), cited
            laws.check_law_in_force(cited.act, occurred)
            laws.check_law_in_force(cited.act, ended)
        assert fir.crime_head == laws.crime_head(fir.sections)
        # An FIR is for a cognizable offence; the station refuses one without.
        assert any(laws.section(c.act, c.section).cognizable for c in fir.sections), fir.sections
    for _kind, message in records:
        if isinstance(message, records_pb2.NonCognizableReport):
            for cited in message.sections:
                assert not laws.section(cited.act, cited.section).cognizable


def test_synthetic_occurrence_before_registration(records: list[tuple[str, object]]) -> None:
    for fir in _firs(records):
        assert fir.occurrence_from_ms <= fir.occurrence_to_ms
        assert fir.occurrence_to_ms <= fir.information_received_ms <= fir.registered_at_ms
        assert not fir.fir_number and fir.fir_serial == 0 and fir.fir_year == 0
        assert not fir.gd_reference
        roles = {p.role for p in fir.persons}
        assert records_pb2.COMPLAINANT in roles and records_pb2.ACCUSED in roles
        assert fir.brief_facts and fir.information_type and fir.place_of_occurrence.village


def test_synthetic_both_penal_codes_used(records: list[tuple[str, object]]) -> None:
    acts = {s.act for fir in _firs(records) for s in fir.sections}
    assert {"IPC", "BNS"} <= acts


def test_synthetic_stream_in_time_order(records: list[tuple[str, object]]) -> None:
    def moment(message: object) -> int:
        if isinstance(message, records_pb2.Fir):
            return message.registered_at_ms
        if isinstance(message, records_pb2.GeneralDiaryEntry):
            assert message.gd_number == 0
            return message.entry_time_ms
        if isinstance(message, records_pb2.Petition):
            assert not message.receipt_number
            return message.received_at_ms
        assert isinstance(message, records_pb2.NonCognizableReport)
        assert not message.ncr_number
        return message.reported_at_ms

    times = [moment(m) for _, m in records]
    assert times == sorted(times)


def test_synthetic_registration_numbers_match_kerala_pattern(
    records: list[tuple[str, object]],
) -> None:
    vehicles = [
        item.vehicle
        for fir in _firs(records)
        for item in fir.property
        if item.category == "vehicle"
    ]
    assert len(vehicles) > 20
    for vehicle in vehicles:
        assert REGISTRATION.match(vehicle.registration), vehicle.registration
        assert vehicle.engine_number and len(vehicle.chassis_number) == 17


def test_synthetic_mix_proportions(records: list[tuple[str, object]]) -> None:
    counts = collections.Counter(kind for kind, _ in records)
    expected = {"gd": 0.50, "fir": 0.25, "petition": 0.15, "ncr": 0.10}
    for kind, share in expected.items():
        assert abs(counts[kind] / len(records) - share) < 0.04, (kind, counts)


def test_synthetic_names_include_spelling_variants(records: list[tuple[str, object]]) -> None:
    names = " ".join(p.person.name for fir in _firs(records) for p in fir.persons if p.person.name)
    variant_pairs = [("Mohammed", "Muhammed"), ("Sreekumar", "Srikumar"), ("Joseph", "Jose")]
    found = [pair for pair in variant_pairs if pair[0] in names and pair[1] in names]
    assert found, "expected at least one name spelled two ways"


def test_synthetic_repeat_offenders(records: list[tuple[str, object]]) -> None:
    cases: dict[str, int] = collections.Counter()
    for fir in _firs(records):
        for p in {p.person.person_id for p in fir.persons if p.role == records_pb2.ACCUSED}:
            if p:
                cases[p] += 1
    assert any(n >= 2 for n in cases.values())


def test_synthetic_sensitive_victims_marked(records: list[tuple[str, object]]) -> None:
    laws = statutes()
    sensitive = [
        fir
        for fir in _firs(records)
        if any(laws.section(s.act, s.section).identity_withheld for s in fir.sections)
    ]
    assert sensitive
    for fir in sensitive:
        victims = [p for p in fir.persons if p.role == records_pb2.VICTIM]
        assert victims
        if any(s.act == "POCSO" for s in fir.sections):
            assert all(v.person.juvenile and v.person.age < 18 for v in victims)


def test_synthetic_single_records() -> None:
    generator = SyntheticRecords(5, "Kozhikode City", "Nadakkavu")
    at = datetime.datetime(2024, 6, 30, 23, 0, tzinfo=IST)
    person = generator.person(records_pb2.WITNESS)
    assert person.role == records_pb2.WITNESS and person.person.name
    assert generator.gd(at).gd_date == "2024-06-30"
    for _ in range(50):
        fir = generator.fir(at)
        assert fir.district == "Kozhikode City" and fir.police_station == "Nadakkavu"
        assert all(s.act != "BNS" for s in fir.sections)
    assert generator.petition(at).petitioner.name
    assert generator.ncr(at).sections
