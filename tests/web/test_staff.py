"""The staff pages over a real station (RocksDB ledger, SQLite index, seeded records) and real
officer accounts, signed in through /login and /login/totp: General Diary, petitions, FIR
registration, the case page's ledger proofs, the FIR copy, search, CSRF and escaping."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.exceptions import StarletteDeprecationWarning

from node.config import DataDir
from node.demo.seed import seed_station
from node.index import schema as ix
from node.records.validation import IST
from node.station import views
from node.station.core import Station
from node.web.app import WebContext, create_app
from node.web.auth import Accounts
from node.web.i18n import Translator
from node.web.staff import case_url, parse_ref, ref_slug
from tests.web.support import FAST, Clock, csrf, sign_in

with warnings.catch_warnings():
    # Starlette 1.x asks for `httpx2` under its TestClient; httpx (a dev dependency) still works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
STAFF_CATALOG = Path(__file__).resolve().parents[2] / "node" / "web" / "i18n_staff.json"


@dataclass
class Node:
    station: Station
    accounts: Accounts
    clock: Clock
    app: Any


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("staff")
    data_dir = DataDir(tmp / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    station = Station.open(data_dir)
    seed_station(station, 80, seed=7, days=60, show_progress=False)
    clock = Clock()
    accounts = Accounts(f"sqlite:///{tmp / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    translator = Translator()
    translator.merge(STAFF_CATALOG)
    app = create_app(WebContext(station=station, accounts=accounts, translator=translator))
    yield Node(station, accounts, clock, app)
    accounts.close()
    station.close()


def _login(node: Node, officer_id: str, name: str, sex: str, role: str) -> TestClient:
    """A client signed in as a new officer: password, then the authenticator code."""
    return sign_in(node.accounts, node.clock, node.app, officer_id, role, name=name, sex=sex)


_csrf = csrf


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    """The station house officer (a man)."""
    return _login(node, "PEN200001", "Suresh Kumar", "M", "sho")


@pytest.fixture(scope="module")
def woman_sho(node: Node) -> TestClient:
    return _login(node, "PEN200002", "Anitha K", "F", "sho")


@pytest.fixture(scope="module")
def writer(node: Node) -> TestClient:
    """A GD writer: may write the diary and receive petitions, not register FIRs."""
    return _login(node, "PEN200003", "Biju P", "M", "gd_writer")


def _post(client: TestClient, path: str, data: dict[str, str], **kw: Any) -> Any:
    token = _csrf(client.get("/gd").text if path != "/fir/new" else client.get("/fir/new").text)
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _theft_form(**overrides: str) -> dict[str, str]:
    occurred = datetime.now(IST) - timedelta(hours=3)
    form = {
        "occurrence_from": _local(occurred),
        "occurrence_to": _local(occurred + timedelta(minutes=30)),
        "place": "Near HMT junction bus stop",
        "section_0": "BNS 303(2)",
        "information_type": "oral",
        "complainant_name": "Rajesh Kumar",
        "complainant_relation": "S/o",
        "complainant_relative_name": "Krishnan",
        "complainant_age": "41",
        "complainant_sex": "M",
        "complainant_address": "Kalamassery",
        "complainant_mobile": "9447000000",
        "accused_0_unknown": "on",
        "witness_0_name": "Mini Joseph",
        "witness_0_sex": "F",
        "property_0_category": "vehicle",
        "property_0_description": "Honda Activa, grey",
        "property_0_status": "stolen",
        "property_0_value": "65000",
        "property_0_registration": "kl 7 bq 4521",
        "brief_facts": "The complainant's scooter parked near the bus stop was stolen.",
    }
    form.update(overrides)
    return form


# -- references ----------------------------------------------------------------------------------


def test_staff_refs_round_trip_through_urls() -> None:
    assert parse_ref("12-2026") == "FIR No. 12/2026"
    assert parse_ref("zero-3-2026") == "ZERO FIR 3/2026"
    assert parse_ref("FIR No. 12/2026") == "FIR No. 12/2026"
    assert ref_slug("FIR No. 12/2026") == "12-2026"
    assert case_url("ZERO FIR 3/2026") == "/case/zero-3-2026"
    assert case_url("PET/2026/000001") == "/case/PET%2F2026%2F000001"


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
    token = _csrf(writer.get("/gd/new").text)
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
    token = _csrf(writer.get("/gd/new").text)
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
    token = _csrf(writer.get("/petitions/new").text)
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
    token = _csrf(writer.get("/petitions/new").text)
    response = writer.post(
        "/petitions/new",
        data={"petitioner_name": "Leela Menon", "petitioner_age": "abc", "csrf_token": token},
    )
    assert response.status_code == 400
    assert "age must be a number" in response.text
    assert 'value="Leela Menon"' in response.text
    assert node.station.ledger.size() == size


# -- FIRs ----------------------------------------------------------------------------------------


def test_staff_fir_registration_and_case_page(node: Node, sho: TestClient) -> None:
    token = _csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**_theft_form(), "csrf_token": token}, follow_redirects=False
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


def test_staff_fir_amendment_appends_and_shows(node: Node, sho: TestClient) -> None:
    token = _csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**_theft_form(), "csrf_token": token}, follow_redirects=False
    )
    case = response.headers["location"].split("?")[0]
    page = sho.get(case)
    response = sho.post(
        f"{case}/amend",
        data={
            "reason": "Colour of the scooter corrected",
            "brief_facts": "The complainant's blue scooter parked near the bus stop was stolen.",
            "csrf_token": _csrf(page.text),
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
        data={"reason": "", "brief_facts": "x", "csrf_token": _csrf(page.text)},
    )
    assert response.status_code == 400
    assert "reason for the correction is required" in response.text
    assert node.station.ledger.size() == size


def test_staff_invalid_fir_lists_problems_and_writes_nothing(node: Node, sho: TestClient) -> None:
    size = node.station.ledger.size()
    token = _csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**_theft_form(section_0=""), "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code in (200, 400)
    assert "at least one act and section is required" in response.text
    # The form comes back with what was typed.
    assert 'value="Near HMT junction bus stop"' in response.text
    assert node.station.ledger.size() == size
    response = sho.post(
        "/fir/new",
        data={**_theft_form(section_0="303(2)"), "csrf_token": token},
        follow_redirects=False,
    )
    assert "write the act and the section" in response.text
    assert node.station.ledger.size() == size


def test_staff_sexual_offence_against_a_woman_needs_a_woman_officer(
    node: Node, sho: TestClient, woman_sho: TestClient
) -> None:
    form = _theft_form(
        section_0="BNS 64(1)",
        victim_0_name="Victim Name Here",
        victim_0_sex="F",
        victim_0_age="24",
        complainant_name="Sarada Devi",
        complainant_sex="F",
        brief_facts="Information about a sexual offence against the victim.",
        accused_0_unknown="",
        accused_0_name="Manoj",
        property_0_category="",
        property_0_description="",
        property_0_status="",
        property_0_value="",
        property_0_registration="",
    )
    size = node.station.ledger.size()
    token = _csrf(sho.get("/fir/new").text)
    response = sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 403
    assert "woman officer" in response.text
    assert node.station.ledger.size() == size
    token = _csrf(woman_sho.get("/fir/new").text)
    response = woman_sho.post(
        "/fir/new", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = woman_sho.get(response.headers["location"])
    # This station's officer sees the sealed identity; the shared record holds a commitment.
    assert "Victim Name Here" in page.text
    assert "sealed" in page.text
    ref = parse_ref(response.headers["location"].split("/case/")[1].split("?")[0])
    shared = views.current_view(node.station, ref)
    assert "Victim Name Here" not in repr(shared)


def test_staff_zero_fir_is_registered_for_the_station_with_jurisdiction(
    node: Node, sho: TestClient
) -> None:
    token = _csrf(sho.get("/fir/new").text)
    form = _theft_form(zero_fir="on", jurisdiction_station="Ollur")
    response = sho.post("/fir/new", data={**form, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert re.match(r"^/case/zero-\d+-\d{4}\?registered=1$", response.headers["location"])
    page = sho.get(response.headers["location"])
    assert "ZERO FIR" in page.text
    assert "Ollur" in page.text
    assert "NOT VERIFIED" not in page.text


def test_staff_case_page_says_not_verified_when_a_proof_fails(
    node: Node, sho: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**_theft_form(), "csrf_token": token}, follow_redirects=False
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


def test_staff_fir_pdf(node: Node, sho: TestClient) -> None:
    token = _csrf(sho.get("/fir/new").text)
    response = sho.post(
        "/fir/new", data={**_theft_form(), "csrf_token": token}, follow_redirects=False
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


# -- search --------------------------------------------------------------------------------------


def _seeded_person(node: Node) -> str:
    engine: sa.Engine = node.station.index._engine
    with engine.connect() as conn:
        names = conn.execute(
            sa.select(ix.persons.c.name)
            .where(ix.persons.c.withheld.is_(False), ix.persons.c.name != "")
            .order_by(ix.persons.c.ledger_index)
        ).scalars()
        for name in names:
            words = name.split()
            if len(words) == 2 and all(len(w) >= 5 and w.isalpha() for w in words):
                return str(name)
    raise AssertionError("no seeded person with a two-word name")


def _misspell(name: str) -> str:
    """One letter doubled in the first word: "Suresh Kumar" -> "Suressh Kumar"."""
    first, rest = name.split(" ", 1)
    return first[:-1] + first[-2] + first[-1] + " " + rest


def test_staff_search_finds_a_seeded_person_by_a_misspelt_name(node: Node, sho: TestClient) -> None:
    name = _seeded_person(node)
    page = sho.get("/search", params={"q": _misspell(name), "kind": "person"})
    assert page.status_code == 200
    assert name in page.text
    assert "/case/" in page.text


def test_staff_search_with_sql_injection_is_an_ordinary_page(sho: TestClient) -> None:
    for kind in ("person", "vehicle", "property", "case"):
        page = sho.get("/search", params={"q": "' OR 1=1 --", "kind": kind})
        assert page.status_code == 200
        assert "Nothing found" in page.text


def test_staff_federated_search_without_a_federation(sho: TestClient) -> None:
    page = sho.get("/search", params={"q": "Raju", "scope": "federation"})
    assert page.status_code == 200
    assert "not in a federation" in page.text


def test_staff_federated_search_names_every_unanswered_office(node: Node, sho: TestClient) -> None:
    from protos import federation_pb2

    @dataclass
    class Result:
        hits: tuple[tuple[str, federation_pb2.SearchHit], ...]
        freshness: dict[str, tuple[federation_pb2.Freshness, ...]]
        unanswered: dict[str, str]

    async def fake(kind: str, query: str, officer_id: str) -> Result:
        assert (kind, query, officer_id) == ("person", "Raju", "PEN200001")
        hit = federation_pb2.SearchHit(
            origin="cctns.in/kerala/thrissur-city/ps-ollur",
            ref="FIR No. 4/2026",
            title="Raju K",
            detail="accused, 34",
        )
        fresh = federation_pb2.Freshness(
            origin="cctns.in/kerala/thrissur-city/ps-ollur", checkpoint_size=812
        )
        return Result(
            hits=(("kerala/thrissur-city/ps-ollur", hit),),
            freshness={"kerala/thrissur-city/ps-ollur": (fresh,)},
            unanswered={"kerala/kannur/ps-iritty": "timeout", "kerala/idukki/ps-munnar": "error"},
        )

    context = node.app.state.context
    context.federated_search = fake
    try:
        page = sho.get("/search", params={"q": "Raju", "scope": "federation"})
    finally:
        context.federated_search = None
    assert page.status_code == 200
    assert "Raju K" in page.text
    assert "cctns.in/kerala/thrissur-city/ps-ollur" in page.text
    assert "checkpoint 812" in page.text
    assert "kerala/kannur/ps-iritty (timeout)" in page.text
    assert "kerala/idukki/ps-munnar (error)" in page.text
