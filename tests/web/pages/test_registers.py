"""The registers' pages (`node.web.pages.registers`) over a real station (RocksDB ledger, SQLite
index, seeded records) and real officer accounts, signed in through /login and /login/totp:
General Diary, petitions with their casework sections, FIR registration, the FIR copy and the
section picker; sign-in, roles, CSRF and escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from node.records.validation import IST
from node.station import views
from node.web.urls import parse_ref
from tests.web.support import (
    HOUR,
    Node,
    TestClient,
    csrf,
    login,
    post_form,
    receive_petition,
    staff_node,
    theft_form,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = staff_node(tmp_path_factory.mktemp("registers"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    """The station house officer (a man)."""
    return login(node, "PEN200001", "sho", name="Suresh Kumar", sex="M")


@pytest.fixture(scope="module")
def woman_sho(node: Node) -> TestClient:
    return login(node, "PEN200002", "sho", name="Anitha K", sex="F")


@pytest.fixture(scope="module")
def writer(node: Node) -> TestClient:
    """A GD writer: may write the diary and receive petitions, not register FIRs."""
    return login(node, "PEN200003", "gd_writer", name="Biju P", sex="M")


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match[1]


# -- sign-in and rules ---------------------------------------------------------------------------


def test_staff_pages_need_a_signed_in_officer(node: Node) -> None:
    client = TestClient(node.app)
    for path in ("/gd", "/fir", "/fir/new", "/petitions", "/search?q=raju", "/case/1-2026"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (303, 307), path
        assert response.headers["location"].startswith("/login"), path


def test_staff_role_without_the_action_is_refused(writer: TestClient) -> None:
    assert writer.get("/fir/new").status_code == 403
    assert writer.get("/gd/new").status_code == 200


# -- General Diary -------------------------------------------------------------------------------


def test_staff_gd_entry_appears_in_the_register(node: Node, writer: TestClient) -> None:
    token = csrf(writer.get("/gd/new").text)
    response = writer.post(
        "/gd/new",
        data={
            "category": "arrival",
            "summary": "SI Ramesh returned from night patrol, beat 4",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/gd?date=")
    page = writer.get(response.headers["location"])
    assert page.status_code == 200
    assert "SI Ramesh returned from night patrol, beat 4" in page.text
    assert "PEN200003" in page.text
    assert "saved in the General Diary" in page.text


def test_staff_gd_invalid_entry_is_shown_again_and_not_written(
    node: Node, writer: TestClient
) -> None:
    size = node.station.ledger.size()
    token = csrf(writer.get("/gd/new").text)
    response = writer.post(
        "/gd/new",
        data={
            "category": "arrival",
            "summary": "  ",
            "entry_time": "not a time",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert "not a date and time" in response.text
    assert node.station.ledger.size() == size


def test_staff_gd_entry_dated_back_is_refused_with_the_reason(
    node: Node, writer: TestClient
) -> None:
    size = node.station.ledger.size()
    week_ago = (datetime.now(IST) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    token = csrf(writer.get("/gd/new").text)
    response = writer.post(
        "/gd/new",
        data={
            "category": "information",
            "summary": "Call about a fight at the market",
            "entry_time": week_ago,
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert "not back-dated" in response.text
    assert node.station.ledger.size() == size


def test_staff_post_without_csrf_token_is_refused(node: Node, writer: TestClient) -> None:
    size = node.station.ledger.size()
    response = writer.post(
        "/gd/new", data={"category": "arrival", "summary": "no token"}, follow_redirects=False
    )
    assert response.status_code == 403
    response = writer.post(
        "/gd/new",
        data={"category": "arrival", "summary": "bad token", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert node.station.ledger.size() == size


# -- petitions -----------------------------------------------------------------------------------


def test_staff_petition_receipt_and_escaping(node: Node, writer: TestClient) -> None:
    payload = "<script>alert(1)</script>"
    token = csrf(writer.get("/petitions/new").text)
    response = writer.post(
        "/petitions/new",
        data={
            "petitioner_name": payload,
            "petitioner_age": "30",
            "petitioner_sex": "F",
            "subject": "Harassment by neighbour " + payload,
            "channel": "in person",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    receipt = writer.get(response.headers["location"])
    assert receipt.status_code == 200
    assert re.search(r"PET/\d{4}/\d{6}", receipt.text)
    for page in (receipt, writer.get("/petitions")):
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_staff_petition_problems_keep_the_typed_values(node: Node, writer: TestClient) -> None:
    size = node.station.ledger.size()
    token = csrf(writer.get("/petitions/new").text)
    response = writer.post(
        "/petitions/new",
        data={"petitioner_name": "Leela Menon", "petitioner_age": "abc", "csrf_token": token},
    )
    assert response.status_code == 400
    assert "age must be a number" in response.text
    assert 'value="Leela Menon"' in response.text
    assert node.station.ledger.size() == size


def test_casework_petitions_list_shows_pending_efirs_and_overdue_missing_persons(
    node: Node, sho: TestClient
) -> None:
    efir = receive_petition(node.station, "e_fir")
    lapsed = receive_petition(node.station, "e_fir", age_ms=4 * 24 * HOUR)
    missing = receive_petition(node.station, "missing_person", age_ms=30 * HOUR)
    recent = receive_petition(node.station, "missing_child")
    page = sho.get("/petitions")
    assert page.status_code == 200
    pending = _section(page.text, "pending-efirs")
    assert efir in pending and lapsed in pending
    assert "3-day window passed" in pending
    overdue = _section(page.text, "overdue-missing")
    assert missing in overdue and recent not in overdue
    # Closing with a reason takes it off the list.
    response = post_form(
        sho, "/petition/close", {"number": missing, "reason": "Found at Aluva"}, page="/petitions"
    )
    assert response.status_code == 303
    assert missing not in _section(sho.get("/petitions").text, "overdue-missing")
    ml = sho.get("/petitions?lang=ml").text
    assert "ഇ-എഫ്.ഐ.ആറുകൾ" in ml


# -- FIRs ----------------------------------------------------------------------------------------


def test_staff_fir_registration_and_case_page(node: Node, sho: TestClient) -> None:
    token = csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**theft_form(), "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.match(r"^/case/(\d+)-(\d{4})\?registered=1$", location)
    assert match, location
    number = f"FIR No. {match[1]}/{match[2]}"
    page = sho.get(location)
    assert page.status_code == 200
    assert f"{number} registered." in page.text
    assert "BNS 303(2)" in page.text
    assert "KL-07-BQ-4521" in page.text
    # Every entry of the case (the FIR and its GD entry) verified against the checkpoint.
    assert "verified in ledger (entry" in page.text
    assert "NOT VERIFIED" not in page.text
    assert page.text.count('class="verified"') >= 2
    # It is in the register, and the GD entry was written with it.
    register = sho.get(f"/fir?year={match[2]}")
    assert number in register.text
    gd = sho.get("/gd")
    assert f"{number} registered" in gd.text


def test_staff_invalid_fir_lists_problems_and_writes_nothing(node: Node, sho: TestClient) -> None:
    size = node.station.ledger.size()
    token = csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**theft_form(section_0=""), "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code in (200, 400)
    assert "at least one act and section is required" in response.text
    # The form comes back with what was typed.
    assert 'value="Near HMT junction bus stop"' in response.text
    assert node.station.ledger.size() == size
    response = sho.post(
        "/fir/new",
        data={**theft_form(section_0="303(2)"), "csrf_token": token},
        follow_redirects=False,
    )
    assert "write the act and the section" in response.text
    assert node.station.ledger.size() == size


def test_staff_zero_fir_is_registered_for_the_station_with_jurisdiction(
    node: Node, sho: TestClient
) -> None:
    token = csrf(sho.get("/fir/new").text)
    form = theft_form(zero_fir="on", jurisdiction_station="Ollur")
    response = sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert re.match(r"^/case/zero-\d+-\d{4}\?registered=1$", response.headers["location"])
    page = sho.get(response.headers["location"])
    assert "ZERO FIR" in page.text
    assert "Ollur" in page.text
    assert "NOT VERIFIED" not in page.text


def test_staff_fir_pdf(node: Node, sho: TestClient) -> None:
    token = csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**theft_form(), "csrf_token": token}, follow_redirects=False
    )
    slug = response.headers["location"].split("/case/")[1].split("?")[0]
    pdf = sho.get(f"/fir/{slug}/pdf")
    assert pdf.status_code == 200, pdf.text[:500]
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert sho.get("/fir/9999-2001/pdf").status_code == 404


def test_staff_section_picker_offers_matching_sections(sho: TestClient) -> None:
    response = sho.get("/fir/sections", params={"q": "303"})
    assert response.status_code == 200
    assert '<option value="BNS 303(2)">' in response.text
    response = sho.get("/fir/sections", params={"section_0": "theft"})
    assert "<option" in response.text


# -- identities the law withholds, through the form, the search page and the API ---------------

_NO_PROPERTY = {
    "property_0_category": "",
    "property_0_description": "",
    "property_0_status": "",
    "property_0_value": "",
    "property_0_registration": "",
    "witness_0_name": "",
    "witness_0_sex": "",
}


def _not_found_by_name(client: TestClient, ref: str, name: str, mobile: str) -> None:
    """Neither the search page nor the JSON API finds FIR `ref` by `name` (whole or in part)
    or by `mobile`, nor shows the name."""
    for query in (name, name.split()[0], mobile):
        page = client.get("/search", params={"q": query, "kind": "person", "scope": "local"})
        assert page.status_code == 200
        form_end = page.text.index("</form>", page.text.index('name="q"'))
        results = page.text[form_end:]  # the search form echoes the query
        assert name not in results and mobile not in results and ref not in results
        api = client.get("/api/search/persons", params={"q": query})
        assert api.status_code == 200, api.text
        hits = api.json()["persons"]
        assert all(h["record_ref"] != ref and h["name"] != name for h in hits), hits


# The woman listed as the victim (a relative complains), or reporting it herself (no victim row).
_AGAINST_A_WOMAN = {
    "victim row": (
        "Victim Name Here",
        "9447055555",
        {
            "victim_0_name": "Victim Name Here",
            "victim_0_sex": "F",
            "victim_0_age": "24",
            "complainant_name": "Sarada Devi",
            "complainant_sex": "F",
            "complainant_mobile": "9447055555",
        },
    ),
    "herself": (
        "Reshmi Sasidharan",
        "9447066666",
        {
            "complainant_name": "Reshmi Sasidharan",
            "complainant_relation": "D/o",
            "complainant_relative_name": "Sasidharan Nair",
            "complainant_sex": "F",
            "complainant_age": "26",
            "complainant_mobile": "9447066666",
            "complainant_address": "Panakkal House, Kalamassery",
        },
    ),
}


@pytest.mark.parametrize("case", sorted(_AGAINST_A_WOMAN))
def test_staff_sexual_offence_against_a_woman_needs_a_woman_officer_and_is_sealed(
    node: Node, sho: TestClient, woman_sho: TestClient, case: str
) -> None:
    name, mobile, fields = _AGAINST_A_WOMAN[case]
    form = theft_form(
        section_0="BNS 64(1)",
        accused_0_unknown="",
        accused_0_name="Vinod T",
        brief_facts=f"{name} reported a sexual offence.",
        **_NO_PROPERTY,
        **fields,
    )
    size = node.station.ledger.size()
    token = csrf(sho.get("/fir/new").text)
    refused = sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403 and "woman officer" in refused.text
    assert node.station.ledger.size() == size
    token = csrf(woman_sho.get("/fir/new").text)
    done = woman_sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    # This station's officer sees the sealed identity; the shared record holds a commitment.
    page = woman_sho.get(done.headers["location"])
    assert name in page.text and "sealed" in page.text
    ref = parse_ref(done.headers["location"].split("/case/")[1].split("?")[0])
    assert name not in repr(views.current_view(node.station, ref))
    entry = node.station.ledger.leaf(node.station.index.lookups.record_index(ref) or 0)
    for secret in (name, mobile, "Sasidharan", "Panakkal"):
        assert secret.encode() not in entry
    _not_found_by_name(woman_sho, ref, name, mobile)
    assert "Vinod T" in woman_sho.get("/search", params={"q": "Vinod T"}).text


def test_staff_pocso_complainant_parent_is_sealed(node: Node, sho: TestClient) -> None:
    form = theft_form(
        section_0="POCSO 8",
        complainant_name="Prakash Menon",
        complainant_sex="M",
        complainant_age="45",
        complainant_mobile="9447077777",
        victim_0_name="Child Name Here",
        victim_0_sex="F",
        victim_0_age="12",
        accused_0_unknown="",
        accused_0_name="Shibu K",
        brief_facts="Prakash Menon reported the abuse of his daughter by the accused.",
        **_NO_PROPERTY,
    )
    token = csrf(sho.get("/fir/new").text)
    done = sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    ref = parse_ref(done.headers["location"].split("/case/")[1].split("?")[0])
    _not_found_by_name(sho, ref, "Prakash Menon", "9447077777")
    _not_found_by_name(sho, ref, "Child Name Here", "9447077777")
    shared = repr(views.current_view(node.station, ref))
    assert "Prakash" not in shared and "Child Name" not in shared


@pytest.mark.parametrize("lang", ["en", "ml"])
def test_staff_free_text_forms_say_not_to_write_names(
    node: Node, sho: TestClient, lang: str
) -> None:
    hint = {"en": "Do not write the name", "ml": "പേര്, വിലാസം, സ്കൂൾ"}[lang]
    for path in ("/fir/new", "/gd/new"):
        page = sho.get(path, params={"lang": lang})
        assert page.status_code == 200 and hint in page.text, path
    token = csrf(sho.get("/fir/new").text)
    done = sho.post("/fir/new", data={**theft_form(), "csrf_token": token}, follow_redirects=False)
    case = sho.get(done.headers["location"].split("?")[0], params={"lang": lang})
    assert 'id="diary-hint"' in case.text and hint in case.text
