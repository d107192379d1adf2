"""Every command of the station holds what it writes to the table of limits
(`node.records.limits`) before it numbers anything: a field over its limit is refused with every
problem named, nothing is written, and the next record takes the next number (no gap)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import InputError
from ledger.log import now_ms
from node.config import DataDir
from node.records import limits
from node.records.validation import IST, ist_date, utc_ms
from node.station import casework, disclosure, registers, services, transfer
from node.station.core import Station
from protos import ledger_pb2, records_pb2
from tests.node.support import theft_fir

OFFICER = "PEN100001"
MEGABYTE = "x" * 1_000_000


def _petition(**fields: Any) -> records_pb2.Petition:
    petition = records_pb2.Petition(
        petitioner=records_pb2.Person(name="Leela Menon", mobile="9847012345"),
        subject="A missing person",
        details="She has not come back.",
        category="missing_person",
    )
    for name, value in fields.items():
        setattr(petition, name, value)
    return petition


def _applicant() -> records_pb2.Person:
    return records_pb2.Person(name="Mini Joseph", mobile="9847055555", address="Kalamassery")


def _fir(**fields: Any) -> records_pb2.Fir:
    """The theft FIR with `fields` replaced."""
    fir = theft_fir()
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(fir, name).clear()
            getattr(fir, name).extend(value)
        else:
            setattr(fir, name, value)
    return fir


def _big_fir() -> records_pb2.Fir:
    return _fir(brief_facts=MEGABYTE)


def _big_petitioner() -> records_pb2.Petition:
    petition = _petition()
    petition.petitioner.name = "n" * (limits.NAME + 1)
    return petition


def _big_ncr() -> records_pb2.NonCognizableReport:
    return records_pb2.NonCognizableReport(
        informant=records_pb2.Person(name="Joseph"),
        sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
        brief_facts=MEGABYTE,
    )


# (what, command): each writes one field over its limit.
COMMANDS: list[tuple[str, Callable[[Station], Any]]] = [
    ("gd", lambda s: registers.write_gd(s, OFFICER, "information", MEGABYTE)),
    ("petition", lambda s: registers.receive_petition(s, OFFICER, _big_petitioner())),
    ("ncr", lambda s: registers.register_ncr(s, OFFICER, _big_ncr())),
    ("fir", lambda s: registers.register_fir(s, OFFICER, _big_fir())),
    (
        "fir, many persons",
        lambda s: registers.register_fir(s, OFFICER, _fir(persons=[theft_fir().persons[0]] * 101)),
    ),
    (
        "bulk",
        lambda s: registers.register_many(
            s, [("fir", OFFICER, theft_fir()), ("fir", OFFICER, _big_fir())]
        ),
    ),
    (
        "amendment",
        lambda s: registers.amend(s, OFFICER, _refs[id(s)].fir, "typo", {"brief_facts": MEGABYTE}),
    ),
    (
        "amendment reason",
        lambda s: registers.amend(s, OFFICER, _refs[id(s)].fir, MEGABYTE, {"brief_facts": "x"}),
    ),
    (
        "case diary",
        lambda s: casework.record_case_event(
            s, OFFICER, _refs[id(s)].fir, "case_diary", text=MEGABYTE
        ),
    ),
    (
        "arrest",
        lambda s: casework.record_case_event(
            s,
            OFFICER,
            _refs[id(s)].fir,
            "arrest",
            persons=[
                records_pb2.PersonInCase(person=records_pb2.Person(name="A", address=MEGABYTE))
            ],
        ),
    ),
    (
        "assign io",
        lambda s: casework.assign_io(s, OFFICER, _refs[id(s)].fir, "PEN200002", MEGABYTE),
    ),
    ("enquiry", lambda s: casework.start_enquiry(s, OFFICER, _refs[id(s)].receipt, MEGABYTE)),
    ("close", lambda s: casework.close_petition(s, OFFICER, _refs[id(s)].receipt, MEGABYTE)),
    (
        "service request",
        lambda s: services.receive_request(
            s,
            OFFICER,
            records_pb2.ServiceRequest(kind="noc", applicant=_applicant(), details=MEGABYTE),
        ),
    ),
    (
        "service update",
        lambda s: services.update_request(
            s, OFFICER, _refs[id(s)].request, "in_progress", MEGABYTE
        ),
    ),
    (
        "zero fir sent",
        lambda s: transfer.prepare_zero_fir_transfer(s, OFFICER, "ZERO FIR 1/2026", MEGABYTE),
    ),
    (
        "disclosure",
        lambda s: disclosure.disclose(s, OFFICER, bytes(32), MEGABYTE, "kerala/court"),
    ),
    (
        "time out of range",
        lambda s: registers.register_fir(
            s, OFFICER, _fir(registered_at_ms=utc_ms(datetime(9999, 1, 1, tzinfo=IST)))
        ),
    ),
    (
        "occurrence in year 1",
        lambda s: registers.register_fir(s, OFFICER, _fir(occurrence_from_ms=-62135596800000)),
    ),
    (
        "explicit year out of range",
        lambda s: registers.register_fir(s, OFFICER, _fir(fir_serial=3, fir_year=99999)),
    ),
    (
        "explicit number in other digits",
        lambda s: registers.register_fir(s, OFFICER, _fir(fir_number="FIR No. ١٢/2026")),
    ),
]


@dataclass(frozen=True)
class Refs:
    """What the commands act on: an FIR, a petition and a service request."""

    fir: str
    receipt: str
    request: str


_refs: dict[int, Refs] = {}


@pytest.fixture
def prepared(station: Station) -> Station:
    """The station with an FIR, a petition and a service request to act on."""
    request = records_pb2.ServiceRequest(kind="noc", applicant=_applicant(), details="a hall")
    _refs[id(station)] = Refs(
        registers.register_fir(station, OFFICER, theft_fir()).ref,
        registers.receive_petition(station, OFFICER, _petition()).ref,
        services.receive_request(station, OFFICER, request).ref,
    )
    return station


@pytest.mark.parametrize(("what", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_station_refuses_over_the_limits_and_writes_nothing(
    prepared: Station, what: str, command: Callable[[Station], Any]
) -> None:
    size, note = prepared.ledger.size(), prepared.ledger.checkpoint()
    with pytest.raises(InputError) as refused:
        command(prepared)
    assert prepared.ledger.size() == size and prepared.ledger.checkpoint() == note
    message = str(refused.value)
    assert len(message) < 2_000, "the refusal does not repeat the value"
    assert "x" * 100 not in message


def test_station_refusal_leaves_no_gap_in_the_numbers(station: Station) -> None:
    first = registers.register_fir(station, OFFICER, theft_fir())
    with pytest.raises(InputError, match="brief facts is longer than 20,000 characters"):
        registers.register_fir(station, OFFICER, _big_fir())
    with pytest.raises(InputError, match="record 2"):
        registers.register_many(
            station, [("fir", OFFICER, theft_fir()), ("fir", OFFICER, _big_fir())]
        )
    second = registers.register_fir(station, OFFICER, theft_fir())
    year = ist_date(now_ms()).year
    assert (first.ref, second.ref) == (f"FIR No. 1/{year}", f"FIR No. 2/{year}")
    petition = registers.receive_petition(station, OFFICER, _petition())
    with pytest.raises(InputError):
        registers.receive_petition(station, OFFICER, _big_petitioner())
    assert registers.receive_petition(station, OFFICER, _petition()).ref.endswith(
        f"{int(petition.ref.rsplit('/', 1)[1]) + 1:06d}"
    )


def test_station_takes_every_field_at_its_limit(station: Station) -> None:
    malayalam = "കേരളം" * limits.FACTS
    fir = _fir(brief_facts=malayalam[: limits.FACTS])
    fir.persons[0].person.name = malayalam[: limits.NAME]
    fir.persons[0].person.address = malayalam[: limits.ADDRESS]
    receipt = registers.register_fir(station, OFFICER, fir)
    written = station.ledger.body(receipt.index).fir
    assert written.brief_facts == malayalam[: limits.FACTS]
    assert written.persons[0].person.name == malayalam[: limits.NAME]


def test_station_system_entries_are_held_to_the_limits(station: Station) -> None:
    size = station.ledger.size()
    audit = ledger_pb2.AuditEntry(asker_node_id="kerala/x", query=MEGABYTE)
    with pytest.raises(InputError, match="query is longer than 400 characters"):
        station.append_system(audit)
    assert station.ledger.size() == size


def test_station_grievance_over_the_limits_is_refused(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "dpo")
    data_dir.create(origin="cctns.in/kerala/ernakulam-city/dpo", role="district")
    district = Station.open(data_dir)
    try:
        size = district.ledger.size()
        grievance = records_pb2.Grievance(
            against_office="kerala/ernakulam-city/ps-kalamassery",
            complainant=_applicant(),
            details=MEGABYTE,
        )
        with pytest.raises(InputError, match="details is longer than 5,000 characters"):
            services.receive_grievance(district, OFFICER, grievance)
        assert district.ledger.size() == size
    finally:
        district.close()
