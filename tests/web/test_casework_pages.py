"""Casework pages over a real station and real officer accounts (signed in through /login and
/login/totp): the petition page's actions, the case page's investigation actions with the
investigating-officer rule, the petitions list's e-FIR and missing-person sections, CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger.log import now_ms
from node.config import DataDir
from node.index import casework as casework_index
from node.records.validation import IST
from node.station import registers
from node.station.core import Station
from node.web.app import WebContext, create_app
from node.web.auth import Accounts
from node.web.staff import ref_slug
from tests.node.support import theft_fir
from tests.web.support import FAST, NODE_ID, Clock, sign_in
from tests.web.test_staff import ORIGIN, Node, TestClient, _csrf

HOUR = 60 * 60 * 1000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("casework")
    data_dir = DataDir(tmp / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    clock = Clock()
    accounts = Accounts(f"sqlite:///{tmp / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    app = create_app(WebContext(station=station, accounts=accounts))
    yield Node(station, accounts, clock, app)
    accounts.close()
    station.close()


def _login(node: Node, officer_id: str, role: str, jurisdiction: str = "") -> TestClient:
    return sign_in(
        node.accounts,
        node.clock,
        node.app,
        officer_id,
        role,
        station_node_id="" if jurisdiction else NODE_ID,
        jurisdiction=jurisdiction,
    )


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return _login(node, "PEN400001", "sho")


@pytest.fixture(scope="module")
def io(node: Node) -> TestClient:
    return _login(node, "PEN400002", "investigating_officer")


@pytest.fixture(scope="module")
def other_io(node: Node) -> TestClient:
    return _login(node, "PEN400003", "investigating_officer")


@pytest.fixture(scope="module")
def sdpo(node: Node) -> TestClient:
    return _login(node, "PEN400004", "sdpo", "kerala/ernakulam-city")


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    token = _csrf(client.get("/petitions").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _receive(node: Node, category: str, *, age_ms: int = HOUR, subject: str = "") -> str:
    petition = registers.receive_petition(
        node.station,
        "PEN400009",
        cw_petition(category, age_ms, subject or f"A {category} complaint"),
    )
    return petition.ref


def cw_petition(category: str, age_ms: int, subject: str) -> Any:
    from protos import records_pb2

    return records_pb2.Petition(
        petitioner=records_pb2.Person(name="Leela Menon", age=44, sex="F", address="Edappally"),
        subject=subject,
        details="She left for college at 8 and has not come back.",
        category=category,
        received_at_ms=now_ms() - age_ms,
    )


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match[1]


def test_casework_io_files_the_charge_sheet_and_others_are_refused(
    node: Node, sho: TestClient, io: TestClient, other_io: TestClient
) -> None:
    fir = registers.register_fir(node.station, "PEN400001", theft_fir()).ref
    case = f"/case/{ref_slug(fir)}"
    # An investigating officer may not assign the IO; the SHO does.
    assert (
        _post(io, f"{case}/casework/assign-io", {"io_officer_id": "PEN400002"}).status_code == 403
    )
    response = _post(sho, f"{case}/casework/assign-io", {"io_officer_id": "PEN400002"})
    assert response.status_code == 303, response.text
    assert casework_index.current_io(node.station.index, fir) == "PEN400002"

    report = {"report_type": "charge_sheet", "sections": "BNS 303(2)", "text": "Charged A1."}
    size = node.station.ledger.size()
    refused = _post(other_io, f"{case}/casework/final-report", report)
    assert refused.status_code == 403
    assert "investigating officer" in refused.text
    assert node.station.ledger.size() == size
    assert _post(other_io, f"{case}/casework/diary", {"text": "Not mine"}).status_code == 403

    response = _post(io, f"{case}/casework/final-report", report)
    assert response.status_code == 303, response.text
    assert casework_index.charge_sheeted(node.station.index, fir)
    # The SHO supervises: may file too (a supplementary report here).
    assert _post(sho, f"{case}/casework/final-report", report).status_code == 303

    page = io.get(case)
    assert page.status_code == 200
    assert 'id="case-io">PEN400002<' in page.text
    timeline = page.text.split('<ol class="timeline">', 1)[1]
    assert "Final report" in timeline and "charge_sheet u/s BNS 303(2)" in timeline
    assert "Written by PEN400002" in timeline and "Written by PEN400001" in timeline
    assert "Investigating officer assigned" in timeline
    assert "✗" not in timeline and timeline.count("✓") >= 5
    # The other investigating officer sees no investigation forms on the case.
    assert 'id="form-final-report"' not in other_io.get(case).text
    assert 'id="form-final-report"' in io.get(case).text


def test_casework_invalid_case_event_is_shown_and_not_written(node: Node, sho: TestClient) -> None:
    fir = registers.register_fir(node.station, "PEN400001", theft_fir()).ref
    size = node.station.ledger.size()
    response = _post(sho, f"/case/{ref_slug(fir)}/casework/arrest", {"name": "", "age": "x"})
    assert response.status_code == 400
    assert "age must be a number" in response.text
    response = _post(sho, f"/case/{ref_slug(fir)}/casework/court", {"court": "JFCM Aluva"})
    assert response.status_code == 400
    assert "next hearing, an outcome or a case number" in response.text
    assert node.station.ledger.size() == size
    response = _post(
        sho,
        f"/case/{ref_slug(fir)}/casework/arrest",
        {"name": "Manoj P", "age": "29", "sex": "M", "accused_code": "a1"},
    )
    assert response.status_code == 303
    assert "A1 Manoj P" in sho.get(f"/case/{ref_slug(fir)}").text


def test_casework_petitions_list_shows_pending_efirs_and_overdue_missing_persons(
    node: Node, sho: TestClient
) -> None:
    efir = _receive(node, "e_fir")
    lapsed = _receive(node, "e_fir", age_ms=4 * 24 * HOUR)
    missing = _receive(node, "missing_person", age_ms=30 * HOUR)
    recent = _receive(node, "missing_child")
    page = sho.get("/petitions")
    assert page.status_code == 200
    pending = _section(page.text, "pending-efirs")
    assert efir in pending and lapsed in pending
    assert "3-day window passed" in pending
    overdue = _section(page.text, "overdue-missing")
    assert missing in overdue and recent not in overdue
    # Closing with a reason takes it off the list.
    response = _post(sho, "/petition/close", {"number": missing, "reason": "Found at Aluva"})
    assert response.status_code == 303
    assert missing not in _section(sho.get("/petitions").text, "overdue-missing")
    ml = sho.get("/petitions?lang=ml").text
    assert "ഇ-എഫ്.ഐ.ആറുകൾ" in ml


def test_casework_petition_page_enquiry_permission_and_conversion(
    node: Node, sho: TestClient, io: TestClient, sdpo: TestClient
) -> None:
    receipt = _receive(node, "missing_child", subject="Girl missing since morning")
    page = sho.get("/petition", params={"number": receipt})
    assert page.status_code == 200
    assert "Girl missing since morning" in page.text and 'id="form-enquire"' in page.text
    assert 'id="form-permit"' not in page.text  # the SHO may not permit
    assert _post(sho, "/petition/enquire", {"number": receipt}).status_code == 303
    assert _post(io, "/petition/permit", {"number": receipt}).status_code == 403
    assert 'id="form-permit"' in sdpo.get("/petition", params={"number": receipt}).text
    assert _post(sdpo, "/petition/permit", {"number": receipt}).status_code == 303
    state = casework_index.petition_status(node.station.index, receipt)
    assert state is not None and state.enquiry_permitted_by == "PEN400004"
    page = sho.get("/petition", params={"number": receipt})
    assert "Preliminary enquiry until" in page.text and "permitted by PEN400004" in page.text
    assert "Preliminary enquiry permitted" in page.text

    occurred = (datetime.now(IST) - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "number": receipt,
        "occurrence_from": occurred,
        "place": "Kalamassery bus stand",
        "section_0": "BNS 137(2)",
        "brief_facts": "The girl was taken from the bus stand.",
        "complainant_name": "Leela Menon",
        "accused_0_unknown": "on",
        "information_type": "written",
    }
    response = _post(sho, "/petition/convert", form)
    assert response.status_code == 303, response.text
    state = casework_index.petition_status(node.station.index, receipt)
    assert state is not None and state.status == "converted"
    assert response.headers["location"].startswith(f"/case/{ref_slug(state.fir_number)}")
    case = sho.get(response.headers["location"]).text
    assert "FIR registered on the petition" in case and receipt in case


def test_casework_efir_signature_on_the_petition_page(node: Node, sho: TestClient) -> None:
    efir = _receive(node, "e_fir")
    page = sho.get("/petition", params={"number": efir})
    assert 'id="form-sign"' in page.text and 'id="form-convert"' not in page.text
    assert _post(sho, "/petition/sign", {"number": efir}).status_code == 303
    page = sho.get("/petition", params={"number": efir})
    assert "signed at" in page.text and 'id="form-convert"' in page.text
    lapsed = _receive(node, "e_fir", age_ms=4 * 24 * HOUR)
    response = _post(sho, "/petition/sign", {"number": lapsed})
    assert response.status_code == 400
    assert "the 3-day window for the informant&#39;s signature has passed" in response.text


def test_casework_post_without_csrf_is_refused(node: Node, sho: TestClient) -> None:
    receipt = _receive(node, "general")
    size = node.station.ledger.size()
    response = sho.post("/petition/close", data={"number": receipt, "reason": "No offence"})
    assert response.status_code == 403
    fir = registers.register_fir(node.station, "PEN400001", theft_fir()).ref
    size = node.station.ledger.size()
    response = sho.post(f"/case/{ref_slug(fir)}/casework/diary", data={"text": "x"})
    assert response.status_code == 403
    assert node.station.ledger.size() == size


def test_casework_zero_fir_send_shows_the_command(node: Node, sho: TestClient) -> None:
    zero = registers.register_fir(
        node.station, "PEN400001", theft_fir(zero_fir=True, jurisdiction_station="Aluva")
    ).ref
    case = f"/case/{ref_slug(zero)}"
    assert 'action="' + case + '/send-zero"' in sho.get(case).text
    response = _post(sho, f"{case}/send-zero", {"to_station": "kerala/ernakulam-rural/ps-aluva"})
    assert response.status_code == 200
    assert "cctns peer transfer-zero-fir" in response.text
    assert "--to kerala/ernakulam-rural/ps-aluva" in response.text


def test_casework_pages_need_a_signed_in_officer(node: Node) -> None:
    client = TestClient(node.app)
    response = client.get("/petition", params={"number": "PET/2026/000001"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
