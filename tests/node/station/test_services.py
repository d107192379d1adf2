"""Citizen services on a real station: service request numbering, due dates, overdue, status
updates; grievances kept only by a supervising office; the missing persons and unidentified
bodies lists; and that a rebuilt index holds the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import InputError
from ledger.log import now_ms
from node.config import DataDir
from node.index import services as services_index
from node.records import services as services_rules
from node.records import validation
from node.records.validation import ist_date
from node.station import registers, services
from node.station.core import Station
from protos import records_pb2
from tests.node.support import station_clock_at

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
DISTRICT_ORIGIN = "cctns.in/kerala/ernakulam-city/dpo"
OFFICER = "PEN100001"
DAY = validation.DAY_MS


def _open(tmp: Path, origin: str, role: str = "station") -> Station:
    data_dir = DataDir(tmp / "node")
    data_dir.create(origin=origin, district="Ernakulam City", station="Kalamassery", role=role)
    return Station.open(data_dir)


@pytest.fixture
def district(tmp_path: Path) -> Iterator[Station]:
    opened = _open(tmp_path, DISTRICT_ORIGIN, role="district")
    yield opened
    opened.close()


def applicant(name: str = "Mini Joseph", mobile: str = "9847055555") -> records_pb2.Person:
    return records_pb2.Person(name=name, mobile=mobile, address="Kalamassery North")


def request(kind: str = "passport_verification", **fields: object) -> records_pb2.ServiceRequest:
    return records_pb2.ServiceRequest(kind=kind, applicant=applicant(), details="x", **fields)  # type: ignore[arg-type]


def test_requests_are_numbered_per_year_with_due_dates(station: Station) -> None:
    year = ist_date(now_ms()).year
    first = services.receive_request(station, OFFICER, request())
    second = services.receive_request(station, OFFICER, request("noc"))
    assert first.ref == f"SR/{year}/000001"
    assert second.ref == f"SR/{year}/000002"
    body = station.ledger.body(second.index).service_request
    assert body.receipt_number == second.ref
    assert body.due_ms - body.received_at_ms == 30 * DAY
    passport = station.ledger.body(first.index).service_request
    assert passport.due_ms - passport.received_at_ms == 15 * DAY
    for kind, days in (("employment_verification", 15), ("tenant_verification", 15)):
        assert services_rules.due_ms(kind, 0) == days * DAY
    assert services_rules.due_ms("permission", 0) == 30 * DAY


def test_request_refused_when_wrong(station: Station) -> None:
    with pytest.raises(InputError) as bad:
        services.receive_request(
            station,
            OFFICER,
            records_pb2.ServiceRequest(
                kind="licence", applicant=records_pb2.Person(name="", mobile="12345")
            ),
        )
    text = str(bad.value)
    assert "kind must be one of" in text
    assert "name is required" in text
    assert "10-digit mobile" in text
    with pytest.raises(InputError, match="assigned by the station"):
        services.receive_request(station, OFFICER, request(receipt_number="SR/2026/000009"))
    with pytest.raises(InputError, match="computed by the station"):
        services.receive_request(station, OFFICER, request(due_ms=5))
    with pytest.raises(InputError, match="in the future"):
        services.receive_request(station, OFFICER, request(received_at_ms=now_ms() + 10 * DAY))
    with pytest.raises(InputError, match="not back-dated"):
        services.receive_request(station, OFFICER, request(received_at_ms=now_ms() - 10 * DAY))
    assert services_index.list_requests(station.index, now_ms()) == []


def test_overdue_and_status_updates(station: Station) -> None:
    now = now_ms()
    with station_clock_at(station, now - 20 * DAY):
        old = services.receive_request(station, OFFICER, request())
        late_noc = services.receive_request(station, OFFICER, request("noc"))
    fresh = services.receive_request(station, OFFICER, request())
    total, rows = services_index.overdue_requests(station.index, now)
    assert total == 1
    assert [r.receipt for r in rows] == [old.ref]
    listed = services_index.list_requests(station.index, now)
    assert listed[0].receipt == old.ref and listed[0].overdue
    assert {r.receipt for r in listed[1:]} == {late_noc.ref, fresh.ref}
    assert not any(r.overdue for r in listed[1:])

    services.update_request(station, OFFICER, old.ref, "in_progress", "enquiry at the address")
    assert services_index.overdue_requests(station.index, now)[0] == 1  # still open, still overdue
    services.update_request(station, OFFICER, old.ref.lower(), "completed", "report sent")
    assert services_index.overdue_requests(station.index, now)[0] == 0
    found = services_index.find_request(station.index, old.ref)
    assert found is not None and found.status == "completed" and found.note == "report sent"
    with pytest.raises(InputError, match="already completed"):
        services.update_request(station, OFFICER, old.ref, "rejected")
    with pytest.raises(InputError, match="status must be one of"):
        services.update_request(station, OFFICER, fresh.ref, "lost")
    with pytest.raises(InputError, match="no service request"):
        services.update_request(station, OFFICER, "SR/2000/000001", "completed")
    # The NOC received 20 days ago falls due in 10 days (30), today's passport request in 15.
    assert services_index.overdue_requests(station.index, now + 9 * DAY)[0] == 0
    assert services_index.overdue_requests(station.index, now + 11 * DAY)[0] == 1
    assert services_index.overdue_requests(station.index, now + 16 * DAY)[0] == 2


def test_grievances_are_not_kept_by_a_station(station: Station) -> None:
    size = station.ledger.size()
    with pytest.raises(InputError, match="does not keep grievances"):
        services.receive_grievance(
            station,
            OFFICER,
            records_pb2.Grievance(
                complainant=applicant(),
                against_office="kerala/ernakulam-city/ps-kalamassery",
                details="The officer refused to receive my complaint.",
            ),
        )
    assert station.ledger.size() == size


def test_grievances_on_a_supervising_office(district: Station) -> None:
    year = ist_date(now_ms()).year
    g = records_pb2.Grievance(
        complainant=applicant(),
        against_office="kerala/ernakulam-city/ps-kalamassery",
        details="The officer refused to receive my complaint.",
    )
    first = services.receive_grievance(district, OFFICER, g)
    assert first.ref == f"GRV/{year}/000001"
    assert services.receive_grievance(district, OFFICER, g).ref == f"GRV/{year}/000002"
    with pytest.raises(InputError, match="against this office"):
        services.receive_grievance(
            district,
            OFFICER,
            records_pb2.Grievance(
                complainant=applicant(), against_office=district.config.node_id, details="x"
            ),
        )
    with pytest.raises(InputError, match="needs the result"):
        services.update_grievance(district, OFFICER, first.ref, "closed")
    services.update_grievance(district, OFFICER, first.ref, "under_enquiry")
    services.update_grievance(district, OFFICER, first.ref, "closed", "warned the officer")
    row = services_index.find_grievance(district.index, first.ref)
    assert row is not None and row.status == "closed"
    assert row.against_office == "kerala/ernakulam-city/ps-kalamassery"
    with pytest.raises(InputError, match="already closed"):
        services.update_grievance(district, OFFICER, first.ref, "under_enquiry", "again")


@pytest.mark.parametrize(
    ("office", "accepted"),
    [
        ("kerala/ernakulam-city/ps-aluva", True),
        ("kerala/scrb", True),
        ("Aluva PS", False),
        ("kerala/ernakulam-city/", False),
        ("kerala//ps-aluva", False),
        ("", False),
    ],
)
def test_grievances_name_the_office_by_its_node_id(
    district: Station, office: str, accepted: bool
) -> None:
    grievance = records_pb2.Grievance(
        complainant=applicant(), against_office=office, details="Rude behaviour at the desk."
    )
    if accepted:
        assert services.receive_grievance(district, OFFICER, grievance).ref.startswith("GRV/")
    else:
        with pytest.raises(InputError, match="must be a node id"):
            services.receive_grievance(district, OFFICER, grievance)


def _missing_petition(category: str, name: str, age: int) -> records_pb2.Petition:
    return records_pb2.Petition(
        subject="Missing since Sunday",
        category=category,
        petitioner=records_pb2.Person(name="Reporter", mobile="9847000001"),
        respondents=[
            records_pb2.PersonInCase(
                person=records_pb2.Person(
                    name=name, age=age, sex="F", address="Secret Lane 4", mobile="9847000002"
                ),
                role=records_pb2.MISSING,
            )
        ],
    )


def test_missing_persons_and_unidentified_bodies(station: Station) -> None:
    child = registers.receive_petition(
        station, OFFICER, _missing_petition("missing_child", "Ammu K", 9)
    )
    adult = registers.receive_petition(
        station, OFFICER, _missing_petition("missing_person", "Sara P", 34)
    )
    registers.receive_petition(station, OFFICER, _missing_petition("general", "Not Missing", 40))
    registers.write_gd(
        station, OFFICER, "other", "Unidentified body of a man, about 50, found near the canal"
    )
    registers.write_gd(station, OFFICER, "other", "Lost dog reported")
    listed = services_index.missing_persons(station.index)
    assert {(m.name, m.age, m.category) for m in listed} == {
        ("Ammu K", 9, "missing_child"),
        ("Sara P", 34, "missing_person"),
    }
    station.append_records(
        OFFICER,
        [records_pb2.PetitionUpdate(receipt_number=adult.ref, action="closed", note="traced")],
    )
    assert [m.receipt for m in services_index.missing_persons(station.index)] == [child.ref]
    bodies = services_index.unidentified_bodies(station.index)
    assert len(bodies) == 1 and bodies[0].summary.startswith("Unidentified body")


def test_rebuilt_index_has_the_same_rows(district: Station) -> None:
    now = now_ms()
    with station_clock_at(district, now - 20 * DAY):
        old = services.receive_request(district, OFFICER, request())
    services.receive_request(district, OFFICER, request("tenant_verification"))
    services.update_request(district, OFFICER, old.ref, "completed", "done")
    services.receive_grievance(
        district,
        OFFICER,
        records_pb2.Grievance(
            complainant=applicant(),
            against_office="kerala/ernakulam-city/ps-aluva",
            details="Rude behaviour at the front desk.",
        ),
    )
    registers.receive_petition(district, OFFICER, _missing_petition("missing_person", "Sara P", 34))
    before = district.index.snapshot()
    tables = dict(before)
    assert len(tables["service_requests"]) == 2
    assert len(tables["grievances"]) == 1
    assert len(tables["missing_persons"]) == 1
    district.rebuild_index()
    assert district.index.snapshot() == before
    year = ist_date(now).year
    # Numbering continues from the rebuilt projection.
    assert services.receive_request(district, OFFICER, request()).ref == f"SR/{year}/000003"
