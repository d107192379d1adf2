"""The case page and the petition page (`node.web.pages.cases`) over a real station and real
officer accounts (signed in through /login and /login/totp): the case page's ledger proofs and
amendments, its investigation actions with the investigating-officer rule, the Zero FIR
hand-over, the petition page's actions, CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from node.index import casework as casework_index
from node.records.validation import IST
from node.station import registers
from node.web.urls import ref_slug
from tests.node.support import theft_fir
from tests.web.support import (
    HOUR,
    Node,
    TestClient,
    csrf,
    login,
    open_kalamassery,
    post_form,
    receive_petition,
    theft_form,
    web_node,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("cases")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN400001", "sho")


@pytest.fixture(scope="module")
def io(node: Node) -> TestClient:
    return login(node, "PEN400002", "investigating_officer")


@pytest.fixture(scope="module")
def other_io(node: Node) -> TestClient:
    return login(node, "PEN400003", "investigating_officer")


@pytest.fixture(scope="module")
def sdpo(node: Node) -> TestClient:
    return login(
        node, "PEN400004", "sdpo", station_node_id="", jurisdiction="kerala/ernakulam-city"
    )


# The arrest memo's particulars (BNSS ss.36, 47, 48), as the case page's arrest form asks them.
ARREST_MEMO = {
    "place": "His house at Edappally",
    "grounds": "Named by the complainant; the stolen scooter found with him",
    "attesting_witness": "Ramesh K, neighbour",
    "informed_person": "Shyla, wife",
}


def _post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    return post_form(client, path, data, page="/petitions")


# -- the case page -------------------------------------------------------------------------------


def test_staff_fir_amendment_appends_and_shows(node: Node, sho: TestClient) -> None:
    token = csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**theft_form(), "csrf_token": token}, follow_redirects=False
    )
    case = response.headers["location"].split("?")[0]
    page = sho.get(case)
    response = sho.post(
        f"{case}/amend",
        data={
            "reason": "Colour of the scooter corrected",
            "brief_facts": "The complainant's blue scooter parked near the bus stop was stolen.",
            "csrf_token": csrf(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = sho.get(response.headers["location"])
    assert "blue scooter" in page.text
    assert "Colour of the scooter corrected" in page.text
    assert page.text.count('class="verified"') >= 3
    # No reason: refused, nothing written.
    size = node.station.ledger.size()
    response = sho.post(
        f"{case}/amend",
        data={"reason": "", "brief_facts": "x", "csrf_token": csrf(page.text)},
    )
    assert response.status_code == 400
    assert "reason for the correction is required" in response.text
    assert node.station.ledger.size() == size


def test_staff_case_page_says_not_verified_when_a_proof_fails(
    node: Node, sho: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**theft_form(), "csrf_token": token}, follow_redirects=False
    )
    case = response.headers["location"].split("?")[0]
    ledger = node.station.ledger
    real = ledger.inclusion_proof

    def forged(index: int, size: int | None = None) -> list[bytes]:
        return [bytes(32) for _ in real(index, size)]

    monkeypatch.setattr(ledger, "inclusion_proof", forged)
    page = sho.get(case)
    assert page.status_code == 200
    assert "NOT VERIFIED" in page.text
    assert 'class="verified"' not in page.text


# -- casework --------------------------------------------------------------------------------------


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
        {"name": "Manoj P", "age": "29", "sex": "M", "accused_code": "a1", **ARREST_MEMO},
    )
    assert response.status_code == 303
    assert "A1 Manoj P" in sho.get(f"/case/{ref_slug(fir)}").text


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


# -- a petition's page ---------------------------------------------------------------------------


def test_casework_petition_page_enquiry_permission_and_conversion(
    node: Node, sho: TestClient, io: TestClient, sdpo: TestClient
) -> None:
    receipt = receive_petition(node.station, "missing_child", subject="Girl missing since morning")
    page = sho.get("/petition", params={"number": receipt})
    assert page.status_code == 200
    assert "Girl missing since morning" in page.text and 'id="form-enquire"' in page.text
    assert 'id="form-permit"' not in page.text  # the SHO may not permit
    assert _post(sho, "/petition/enquire", {"number": receipt}).status_code == 303
    assert _post(io, "/petition/permit", {"number": receipt}).status_code == 403
    assert 'id="form-permit"' in sdpo.get("/petition", params={"number": receipt}).text
    # The sections decide whether a preliminary enquiry may be permitted (BNSS s.173(3)).
    size = node.station.ledger.size()
    kidnapping = _post(sdpo, "/petition/permit", {"number": receipt, "sections": "BNS 137(2)"})
    assert kidnapping.status_code == 400
    assert "BNS 137(2) is punishable with 7 years" in kidnapping.text
    assert "register an FIR" in kidnapping.text
    assert _post(sdpo, "/petition/permit", {"number": receipt}).status_code == 400
    assert node.station.ledger.size() == size
    permitted = {"number": receipt, "sections": "BNS 316(2)"}
    assert _post(sdpo, "/petition/permit", permitted).status_code == 303
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
    efir = receive_petition(node.station, "e_fir")
    page = sho.get("/petition", params={"number": efir})
    assert 'id="form-sign"' in page.text and 'id="form-convert"' not in page.text
    assert _post(sho, "/petition/sign", {"number": efir}).status_code == 303
    page = sho.get("/petition", params={"number": efir})
    assert "signed at" in page.text and 'id="form-convert"' in page.text
    lapsed = receive_petition(node.station, "e_fir", age_ms=4 * 24 * HOUR)
    response = _post(sho, "/petition/sign", {"number": lapsed})
    assert response.status_code == 400
    assert "the 3-day window for the informant&#39;s signature has passed" in response.text


def test_casework_post_without_csrf_is_refused(node: Node, sho: TestClient) -> None:
    receipt = receive_petition(node.station, "general")
    size = node.station.ledger.size()
    response = sho.post("/petition/close", data={"number": receipt, "reason": "No offence"})
    assert response.status_code == 403
    fir = registers.register_fir(node.station, "PEN400001", theft_fir()).ref
    size = node.station.ledger.size()
    response = sho.post(f"/case/{ref_slug(fir)}/casework/diary", data={"text": "x"})
    assert response.status_code == 403
    assert node.station.ledger.size() == size


def test_casework_pages_need_a_signed_in_officer(node: Node) -> None:
    client = TestClient(node.app)
    response = client.get("/petition", params={"number": "PET/2026/000001"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_an_sdpo_permits_enquiries_for_the_stations_of_the_sub_division_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A supervisor's jurisdiction is the offices under them: Kalamassery sits under the
    Thrikkakara sub-division (its directory says so), so that SDPO may permit a preliminary
    enquiry there and the SDPO of Aluva, in the same district, may not."""
    tmp = tmp_path_factory.mktemp("sub-division")
    above = ("kerala/ernakulam-city/sdpo-thrikkakara", "kerala/ernakulam-city/dpo", "kerala/scrb")
    made = web_node(tmp, open_kalamassery(tmp), offices_above=above)
    try:
        receipt = receive_petition(made.station, "general", subject="Money not returned")
        permitted = {"number": receipt, "sections": "BNS 316(2)"}
        aluva = login(made, "PEN500001", "sdpo", station_node_id="",
                      jurisdiction="kerala/ernakulam-city/sdpo-aluva")  # fmt: skip
        size = made.station.ledger.size()
        assert _post(aluva, "/petition/permit", permitted).status_code == 403
        assert made.station.ledger.size() == size
        ours = login(made, "PEN500002", "sdpo", station_node_id="",
                     jurisdiction="kerala/ernakulam-city/sdpo-thrikkakara")  # fmt: skip
        assert _post(ours, "/petition/permit", permitted).status_code == 303
        state = casework_index.petition_status(made.station.index, receipt)
        assert state is not None and state.enquiry_permitted_by == "PEN500002"
    finally:
        made.close()
