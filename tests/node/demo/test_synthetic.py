"""Tests for node.demo.synthetic: determinism, valid laws, time order, Kerala formats, mix."""

from __future__ import annotations

import collections
import datetime
import itertools
import re

import pytest

from ledger.errors import InputError
from node.demo.synthetic import IST, SLOT_SHARES, SyntheticRecords
from node.records.laws import statutes
from node.records.validation import GD_CATEGORIES
from protos import records_pb2

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
END = datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC)
REGISTRATION = re.compile(r"^KL-(0[1-9]|[1-7][0-9]|8[0-6])-[A-Z]{1,2}-\d{4}$")
# Cases the FIR register holds that are not crime: a missing person (Kerala Police Act s.57) and
# an unnatural death (BNSS s.194, CrPC s.174 before 1 July 2024).
NON_CRIME = {("KPA", "57"), ("BNSS", "194"), ("CRPC", "174")}


@pytest.fixture(scope="module")
def records() -> list[tuple[str, object]]:
    generator = SyntheticRecords(2026, "Ernakulam City", "Kalamassery")
    return list(generator.stream(6000, START, END))


@pytest.fixture(scope="module")
def firs(records: list[tuple[str, object]]) -> list[records_pb2.Fir]:
    """The stream's FIRs and 1,500 more of another station across the same two years."""
    generator = SyntheticRecords(9, "Kozhikode City", "Nadakkavu")
    step = (END - START) / 1500
    extra = [generator.fir(START + step * (n + 0.5)) for n in range(1500)]
    return _firs(records) + extra


def _firs(records: list[tuple[str, object]]) -> list[records_pb2.Fir]:
    return [m for k, m in records if isinstance(m, records_pb2.Fir)]


def _moment(message: object) -> int:
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


def _is_crime(fir: records_pb2.Fir) -> bool:
    return not any((s.act, s.section) in NON_CRIME for s in fir.sections)


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


def test_synthetic_sections_known_and_in_force(
    records: list[tuple[str, object]], firs: list[records_pb2.Fir]
) -> None:
    laws = statutes()
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
        if _is_crime(fir):
            # An FIR of a crime is for a cognizable offence; the station refuses one without.
            assert any(laws.section(c.act, c.section).cognizable for c in fir.sections), (
                fir.sections
            )
    for _kind, message in records:
        if isinstance(message, records_pb2.NonCognizableReport):
            assert message.sections
            assert 0 < message.occurrence_from_ms <= message.reported_at_ms
            occurred = datetime.datetime.fromtimestamp(message.occurrence_from_ms / 1000, IST)
            for cited in message.sections:
                assert not laws.section(cited.act, cited.section).cognizable
                laws.check_law_in_force(cited.act, occurred.date())


def test_synthetic_occurrence_before_registration(firs: list[records_pb2.Fir]) -> None:
    for fir in firs:
        assert fir.occurrence_from_ms <= fir.occurrence_to_ms
        assert fir.occurrence_to_ms <= fir.information_received_ms <= fir.registered_at_ms
        assert not fir.fir_number and fir.fir_serial == 0 and fir.fir_year == 0
        assert not fir.gd_reference
        roles = {p.role for p in fir.persons}
        assert records_pb2.COMPLAINANT in roles
        if _is_crime(fir):
            assert records_pb2.ACCUSED in roles
        else:
            assert records_pb2.ACCUSED not in roles
        assert fir.brief_facts and fir.information_type and fir.place_of_occurrence.village


def test_synthetic_both_penal_codes_used(firs: list[records_pb2.Fir]) -> None:
    acts = {s.act for fir in firs for s in fir.sections}
    assert {"IPC", "BNS"} <= acts


def test_synthetic_stream_in_time_order(records: list[tuple[str, object]]) -> None:
    times = [_moment(m) for _, m in records]
    assert times == sorted(times)
    assert len(set(times)) == len(times), "two records at the same millisecond"


def test_synthetic_stream_times_within_bounds() -> None:
    """Every record's time lies within [start, end], to the millisecond, even when the two
    bounds fall between milliseconds and the window is short."""
    start = datetime.datetime(2024, 6, 30, 23, 59, 59, 999_500, tzinfo=IST)
    end = start + datetime.timedelta(hours=3, microseconds=250)
    generator = SyntheticRecords(3, "Thrissur City", "Ollur")
    first = (start - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)).total_seconds() * 1000
    last = (end - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)).total_seconds() * 1000
    times = [_moment(m) for _, m in generator.stream(400, start, end)]
    assert len(times) == 400
    assert first <= times[0] and times[-1] <= last
    assert all(a < b for a, b in itertools.pairwise(times))
    with pytest.raises(InputError):
        list(generator.stream(10, end, start))
    # More records than milliseconds: some share one, still in order and within the bounds.
    crowded = [
        _moment(m)
        for _, m in generator.stream(9, start, start + datetime.timedelta(microseconds=3500))
    ]
    assert crowded == sorted(crowded) and first <= crowded[0] and crowded[-1] <= first + 3.5


def test_synthetic_gd_entries_interleaved(records: list[tuple[str, object]]) -> None:
    """Diary entries come between the other records, in increasing time, one day's entries
    dated that day; every category is one the station accepts."""
    kinds = [kind for kind, _ in records]
    gd_times = [m.entry_time_ms for _, m in records if isinstance(m, records_pb2.GeneralDiaryEntry)]
    assert all(a < b for a, b in itertools.pairwise(gd_times))
    # Interleaved, not all diary entries first: some FIR comes between two diary entries.
    first_fir, last_fir = kinds.index("fir"), len(kinds) - 1 - kinds[::-1].index("fir")
    assert "gd" in kinds[:first_fir] and "gd" in kinds[last_fir:]
    for _, message in records:
        if isinstance(message, records_pb2.GeneralDiaryEntry):
            assert message.category in GD_CATEGORIES
            day = datetime.datetime.fromtimestamp(message.entry_time_ms / 1000, IST).date()
            assert message.gd_date == day.isoformat()
            assert message.summary and "{" not in message.summary


@pytest.mark.parametrize("count", [300, 6000])
def test_synthetic_many_more_gd_entries_than_firs(count: int) -> None:
    """A station writes dozens of diary entries a day and a few FIRs a week: 20-40 a FIR."""
    generator = SyntheticRecords(count, "Ernakulam City", "Kalamassery")
    counts = collections.Counter(kind for kind, _ in generator.stream(count, START, END))
    assert sum(counts.values()) == count
    assert set(counts) <= {"gd", "fir", "petition", "ncr"}
    assert counts["fir"] > 0
    assert 20 <= counts["gd"] / counts["fir"] <= 40, counts
    # Petitions outnumber FIRs; NCRs (COTPA petty cases among them) are fewer than FIRs.
    assert counts["petition"] > counts["fir"] > counts["ncr"], counts


def test_synthetic_short_streams_and_other_mixes() -> None:
    """A stream of a few records still holds an FIR; a caller may ask for another mix."""
    generator = SyntheticRecords(15, "Ernakulam City", "Kalamassery")
    for count in (2, 15, 30):
        kinds = collections.Counter(kind for kind, _ in generator.stream(count, START, END))
        assert kinds["fir"] >= 1 and sum(kinds.values()) == count, kinds
    dense = collections.Counter(
        kind for kind, _ in generator.stream(300, START, END, shares={"gd": 1, "fir": 1})
    )
    assert dense == {"gd": 150, "fir": 150}
    with pytest.raises(InputError):
        list(generator.stream(10, START, END, shares={"gd": 1, "arrest": 1}))


def test_synthetic_mix_proportions(records: list[tuple[str, object]]) -> None:
    counts = collections.Counter(kind for kind, _ in records)
    total = sum(SLOT_SHARES.values())
    # COTPA petty cases are booked as NCRs (their offences are not cognizable).
    expected = {
        "gd": SLOT_SHARES["gd"] / total,
        "fir": SLOT_SHARES["fir"] / total,
        "petition": SLOT_SHARES["petition"] / total,
        "ncr": (SLOT_SHARES["ncr"] + SLOT_SHARES["cotpa"]) / total,
    }
    for kind, share in expected.items():
        assert abs(counts[kind] / len(records) - share) < 0.005 + share * 0.1, (kind, counts)


def test_synthetic_registration_numbers_match_kerala_pattern(
    firs: list[records_pb2.Fir],
) -> None:
    vehicles = [item.vehicle for fir in firs for item in fir.property if item.category == "vehicle"]
    assert len(vehicles) > 20
    for vehicle in vehicles:
        assert REGISTRATION.match(vehicle.registration), vehicle.registration
        assert vehicle.engine_number and len(vehicle.chassis_number) == 17


def test_synthetic_names_include_spelling_variants(firs: list[records_pb2.Fir]) -> None:
    names = " ".join(p.person.name for fir in firs for p in fir.persons if p.person.name)
    variant_pairs = [("Mohammed", "Muhammed"), ("Sreekumar", "Srikumar"), ("Joseph", "Jose")]
    found = [pair for pair in variant_pairs if pair[0] in names and pair[1] in names]
    assert found, "expected at least one name spelled two ways"


def test_synthetic_repeat_offenders(firs: list[records_pb2.Fir]) -> None:
    cases: dict[str, int] = collections.Counter()
    for fir in firs:
        accused = [
            p.person.person_id
            for p in fir.persons
            if p.role == records_pb2.ACCUSED and not p.unknown
        ]
        assert len(accused) == len(set(accused)), "the same person twice among the accused"
        for p in set(accused):
            if p:
                cases[p] += 1
    assert any(n >= 2 for n in cases.values())


def test_synthetic_sensitive_victims_marked(firs: list[records_pb2.Fir]) -> None:
    laws = statutes()
    sensitive = [
        fir
        for fir in firs
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
        assert all(s.act not in ("BNS", "BNSS") for s in fir.sections)
    assert generator.petition(at).petitioner.name
    assert generator.ncr(at).sections


def test_synthetic_ncr_occurrence_decides_the_code() -> None:
    """An NCR carries when the offence happened, before its report, and cites the code of
    that date: reported on 1 July 2024 about 30 June, the IPC."""
    generator = SyntheticRecords(11, "Ernakulam City", "Kalamassery")
    at = datetime.datetime(2024, 7, 1, 20, 40, tzinfo=IST)
    codes = set()
    for _ in range(60):
        report = generator.ncr(at)
        assert 0 < report.occurrence_from_ms < report.reported_at_ms
        occurred = datetime.datetime.fromtimestamp(report.occurrence_from_ms / 1000, IST)
        code = "BNS" if occurred.date() >= datetime.date(2024, 7, 1) else "IPC"
        assert {s.act for s in report.sections} == {code}
        codes.add(code)
        match = re.search(r"(\d\d-\d\d-\d{4})", report.brief_facts)
        if match:
            assert match.group(1) == occurred.strftime("%d-%m-%Y")
    assert codes == {"BNS", "IPC"}
