"""Citizen services pages (`node.web.pages.services`) over real stations (RocksDB ledger, SQLite
index, real accounts): a service request -> receipt with its due date -> status by receipt and
mobile; no enumeration; overdue requests shown to staff and on the dashboard; CSRF; grievances
refused and routed on a station node, kept on a district node; the missing persons list;
escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.log import now_ms
from node.config import DataDir
from node.index import services as services_index
from node.records import validation
from node.station import registers, services
from node.station.core import Station
from node.web.i18n import Translator
from protos import records_pb2
from tests.node.support import station_clock_at
from tests.web.support import Node, TestClient, csrf, login, post_form, web_node

STATION_ID = "kerala/ernakulam-city/ps-kalamassery"
DISTRICT_ID = "kerala/ernakulam-city/dpo"
MOBILE = "9847055555"
XSS = "<script>alert('x')</script>"


def _node(tmp: Path, node_id: str, role: str, parent: str = "") -> Node:
    data_dir = DataDir(tmp / "node")
    data_dir.create(
        origin=f"cctns.in/{node_id}", district="Ernakulam City", station="Kalamassery", role=role
    )
    if parent:
        (data_dir.path / "federation.toml").write_text(
            f'listen = "127.0.0.1:7101"\nparent = "{parent}"\n', "utf-8"
        )
    station = Station.open(data_dir)
    return web_node(tmp, station, translator=Translator(), data_dir=data_dir.path)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = _node(tmp_path_factory.mktemp("services"), STATION_ID, "station", DISTRICT_ID)
    yield made
    made.close()


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = _node(tmp_path_factory.mktemp("district"), DISTRICT_ID, "district")
    yield made
    made.close()


def signed_in(
    node: Node, officer_id: str, role: str, station_node_id: str, jurisdiction: str = ""
) -> TestClient:
    return login(node, officer_id, role, station_node_id=station_node_id, jurisdiction=jurisdiction)


def _request_form(**overrides: str) -> dict[str, str]:
    form = {
        "kind": "passport_verification",
        "name": "Mini Joseph",
        "mobile": "+91 98470 55555",
        "address": "Kalamassery North",
        "details": "Passport file KL1234567",
    }
    form.update(overrides)
    return form


def _grievance_form(**overrides: str) -> dict[str, str]:
    form = {
        "against": STATION_ID,
        "name": "Mini Joseph",
        "mobile": MOBILE,
        "address": "Kalamassery North",
        "details": "The writer refused to receive my complaint on 2 March.",
    }
    form.update(overrides)
    return form


def test_portal_links_the_services(node: Node) -> None:
    page = TestClient(node.app).get("/citizen")
    for link in ("/citizen/request", "/citizen/grievance", "/citizen/missing"):
        assert f'href="{link}"' in page.text
    ml = TestClient(node.app).get("/citizen/request?lang=ml")
    assert "പാസ്‌പോർട്ട് പരിശോധന" in ml.text


def test_request_receipt_then_status(node: Node) -> None:
    citizen = TestClient(node.app)
    response = post_form(citizen, "/citizen/request", _request_form())
    assert response.status_code == 200, response.text
    found = re.search(r'class="receipt-number">(SR/\d{4}/\d{6})<', response.text)
    assert found, response.text
    number = found[1]
    assert 'class="due-date"' in response.text
    assert response.headers["cache-control"] == "no-store"
    row = services_index.find_request(node.station.index, number)
    assert row is not None and row.due_ms - row.received_ms == 15 * validation.DAY_MS
    record = services.request_record(node.station, row)
    assert record.applicant.mobile == MOBILE  # normalised

    status = post_form(citizen, "/citizen/status", {"reference": number, "mobile": MOBILE})
    assert status.status_code == 200
    assert number in status.text
    assert "Passport verification" in status.text
    assert "Received" in status.text
    assert "No matching record" not in status.text
    assert "Mini Joseph" not in status.text
    year, serial = number.split("/")[1:]
    loose = post_form(
        citizen, "/citizen/status", {"reference": f"sr/{year}/{int(serial)}", "mobile": MOBILE}
    )
    assert number in loose.text


def test_status_wrong_mobile_is_the_unknown_number_answer(node: Node) -> None:
    citizen = TestClient(node.app)
    response = post_form(citizen, "/citizen/request", _request_form(mobile="9847066666"))
    number = re.search(r"(SR/\d{4}/\d{6})", response.text)
    assert number
    year = number[1].split("/")[1]
    wrong = post_form(citizen, "/citizen/status", {"reference": number[1], "mobile": "9847000000"})
    unknown = post_form(
        citizen, "/citizen/status", {"reference": f"SR/{year}/999999", "mobile": "9847000000"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "No matching record" in wrong.text

    def strip(html: str, typed: str) -> str:
        html = re.sub(
            r'(name="csrf_token" value="|<meta name="csrf-token" content=")[^"]+"', "", html
        )
        return html.replace(typed, "")

    assert strip(wrong.text, number[1]) == strip(unknown.text, f"SR/{year}/999999")


def test_request_form_errors(node: Node) -> None:
    citizen = TestClient(node.app)
    response = post_form(citizen, "/citizen/request", _request_form(kind="licence", mobile="12"))
    assert response.status_code == 400
    assert "Choose the type of request" in response.text


def test_csrf_missing_is_refused(node: Node) -> None:
    citizen = TestClient(node.app)
    citizen.get("/citizen/request")
    size = node.station.ledger.size()
    for path, form in (
        ("/citizen/request", _request_form()),
        ("/citizen/grievance", _grievance_form()),
    ):
        assert citizen.post(path, data=form).status_code == 403
    assert node.station.ledger.size() == size


def test_overdue_requests_shown_to_staff(node: Node) -> None:
    with station_clock_at(node.station, now_ms() - 20 * validation.DAY_MS):
        late = services.receive_request(
            node.station,
            "PEN100001",
            records_pb2.ServiceRequest(
                kind="tenant_verification",
                applicant=records_pb2.Person(name=XSS, mobile="9847077777", address="x"),
            ),
        )
    sho = signed_in(node, "PEN200001", "sho", STATION_ID)
    page = sho.get("/requests")
    assert page.status_code == 200
    assert late.ref in page.text
    row = re.search(r'<tr class="overdue">\s*<td>([^<]+)</td>', page.text)
    assert row and row[1] == late.ref
    assert XSS not in page.text and "&lt;script&gt;" in page.text
    dashboard = sho.get("/dashboard")
    assert dashboard.status_code == 200
    assert 'href="/requests"' in dashboard.text
    csv_text = sho.get("/dashboard/overdue.csv").text
    assert late.ref in csv_text

    # Update without the CSRF token: refused; with it: saved, and no longer overdue.
    form = {"receipt": late.ref, "status": "completed", "note": "verified"}
    assert sho.post("/requests/update", data=form).status_code == 403
    token = csrf(page.text)
    done = sho.post("/requests/update", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    found = services_index.find_request(node.station.index, late.ref)
    assert found is not None and found.status == "completed" and not found.overdue

    writer = signed_in(node, "PEN200002", "gd_writer", STATION_ID)
    assert writer.get("/requests").status_code == 403
    stranger = signed_in(node, "PEN200003", "sho", "kerala/ernakulam-city/ps-aluva")
    assert stranger.get("/requests").status_code == 403
    assert TestClient(node.app).get("/requests", follow_redirects=False).status_code == 303


def test_grievance_on_a_station_is_not_stored_and_names_the_supervisor(node: Node) -> None:
    citizen = TestClient(node.app)
    form = citizen.get("/citizen/grievance")
    assert DISTRICT_ID in form.text
    size = node.station.ledger.size()
    secret = "Constable 4711 demanded a bribe"
    response = post_form(citizen, "/citizen/grievance", _grievance_form(details=secret))
    assert response.status_code == 200
    assert node.station.ledger.size() == size  # nothing written
    assert "Nothing of your grievance has been recorded at this station" in response.text
    assert DISTRICT_ID in response.text
    assert secret not in response.text
    assert "GRV/" not in response.text
    snapshot = dict(node.station.index.snapshot())
    assert snapshot["grievances"] == []
    sho = signed_in(node, "PEN200004", "sho", STATION_ID)
    page = sho.get("/grievances")
    assert page.status_code == 200
    assert DISTRICT_ID in page.text and "<table" not in page.text


def test_grievance_on_a_district_node_is_stored(district: Node) -> None:
    citizen = TestClient(district.app)
    response = post_form(
        citizen, "/citizen/grievance", _grievance_form(details=f"Rude behaviour {XSS}")
    )
    assert response.status_code == 200, response.text
    found = re.search(r'class="receipt-number">(GRV/\d{4}/\d{6})<', response.text)
    assert found, response.text
    number = found[1]
    row = services_index.find_grievance(district.station.index, number)
    assert row is not None and row.against_office == STATION_ID
    status = post_form(citizen, "/citizen/status", {"reference": number, "mobile": MOBILE})
    assert number in status.text and "Received" in status.text
    wrong = post_form(citizen, "/citizen/status", {"reference": number, "mobile": "9847000000"})
    assert "No matching record" in wrong.text
    # A grievance against the district office itself is not kept here.
    size = district.station.ledger.size()
    own = post_form(citizen, "/citizen/grievance", _grievance_form(against=DISTRICT_ID))
    assert own.status_code == 200 and district.station.ledger.size() == size
    assert "Nothing of your grievance has been recorded" in own.text

    supervisor = signed_in(
        district, "PEN300001", "district_supervisor", DISTRICT_ID, "kerala/ernakulam-city"
    )
    page = supervisor.get("/grievances")
    assert page.status_code == 200
    assert number in page.text
    assert XSS not in page.text
    done = supervisor.post(
        "/grievances/update",
        data={
            "receipt": number,
            "status": "under_enquiry",
            "note": "",
            "csrf_token": csrf(page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert services_index.find_grievance(district.station.index, number).status == "under_enquiry"  # type: ignore[union-attr]
    # The SHO of the station complained about never sees it, even on the district node.
    sho = signed_in(district, "PEN300002", "sho", STATION_ID)
    assert number not in sho.get("/grievances").text


def test_missing_persons_list(node: Node) -> None:
    registers.receive_petition(
        node.station,
        "PEN100001",
        records_pb2.Petition(
            subject="Child missing since Sunday",
            category="missing_child",
            petitioner=records_pb2.Person(name="Parent Name", mobile="9847000001"),
            respondents=[
                records_pb2.PersonInCase(
                    person=records_pb2.Person(
                        name="Ammu K", age=9, sex="F", address="Secret Lane 4", mobile="9847000002"
                    ),
                    role=records_pb2.MISSING,
                )
            ],
        ),
    )
    registers.write_gd(
        node.station, "PEN100001", "other", f"Unidentified body of a man near the canal {XSS}"
    )
    page = TestClient(node.app).get("/citizen/missing")
    assert page.status_code == 200
    assert "Ammu K" in page.text and "Female" in page.text
    assert "Secret Lane" not in page.text and "9847000002" not in page.text
    assert "Parent Name" not in page.text
    assert "Unidentified body of a man" in page.text
    assert XSS not in page.text and "&lt;script&gt;" in page.text
