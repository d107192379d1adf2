"""The citizens' portal (`node.web.pages.citizen`) over a real station (RocksDB ledger, SQLite
index, seeded records): online complaint -> receipt -> status, the FIR copy, recovered vehicles;
CSRF, escaping, no enumeration, and that an FIR the law withholds (BNS 64) shows nothing on any
public route."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from node.index import casework, public
from node.records import limits
from node.records.refs import canonical_petition
from node.records.validation import normalise_mobile
from node.station import registers
from node.web.public_status import lookup_status
from protos import records_pb2
from tests.web.support import (
    INFORMANT,
    OFFICER,
    SENSITIVE_MOBILE,
    SENSITIVE_REG,
    THEFT_CHASSIS,
    THEFT_ENGINE,
    THEFT_MOBILE,
    THEFT_REG,
    VICTIM,
    ZERO_MOBILE,
    Node,
    TestClient,
    csrf,
    fir_record,
    make_node,
    person,
    post_form,
    without_tokens,
)
from tests.web.test_pdf import inflate, pdf_text


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = make_node(tmp_path_factory.mktemp("citizen"))
    yield made
    made.close()


@pytest.fixture
def citizen(node: Node) -> TestClient:
    return TestClient(node.app)


def _complaint(**overrides: str) -> dict[str, str]:
    form = {
        "name": "Mini Joseph",
        "mobile": "+91 98470 55555",
        "address": "Kalamassery North",
        "subject": "Neighbour's dog bites",
        "details": "The neighbour's dog bit my son on 2 March near the gate.",
    }
    form.update(overrides)
    return form


def _public_texts_leaking(text: str, node: Node, typed: str = "") -> list[str]:
    """What of the BNS 64 FIR appears in `text` (it must be nothing). What the visitor typed,
    shown back to them, is left out: that is no record data."""
    if typed:
        text = text.replace(typed, "")
    serial = node.sensitive.removeprefix("FIR No. ")
    leaks = [VICTIM, INFORMANT, SENSITIVE_MOBILE, SENSITIVE_REG, "64(1)", "BNS 64", "Rape", serial]
    return [word for word in leaks if word.lower() in text.lower()]


# -- the portal ----------------------------------------------------------------------------------


def test_citizen_portal_home_needs_no_login(citizen: TestClient) -> None:
    page = citizen.get("/citizen")
    assert page.status_code == 200
    for link in ("/citizen/complaint", "/citizen/status", "/citizen/fir-copy", "/citizen/vehicles"):
        assert f'href="{link}"' in page.text
    assert "Citizen services" in page.text


def test_citizen_portal_in_malayalam(citizen: TestClient) -> None:
    page = citizen.get("/citizen/complaint?lang=ml")
    assert page.status_code == 200
    assert "ഓൺലൈൻ പരാതി" in page.text
    assert "മൊബൈൽ നമ്പർ" in page.text


# -- complaint, receipt, status ------------------------------------------------------------------


def test_citizen_complaint_receipt_then_status(node: Node, citizen: TestClient) -> None:
    response = post_form(citizen, "/citizen/complaint", _complaint())
    assert response.status_code == 200, response.text
    receipt = re.search(r'class="receipt-number">(PET/\d{4}/\d{6})<', response.text)
    assert receipt, response.text
    number = receipt[1]
    assert "Keep your receipt number and mobile number" in response.text
    assert response.headers["cache-control"] == "no-store"
    body = node.station.ledger.body(node.station.index.lookups.record_index(number) or 0).petition
    assert body.channel == "online"
    assert body.petitioner.mobile == "9847055555"  # normalised
    assert body.petitioner.name == "Mini Joseph"

    status = post_form(citizen, "/citizen/status", {"reference": number, "mobile": "9847055555"})
    assert status.status_code == 200
    assert number in status.text
    assert "Under enquiry" in status.text
    assert "Kalamassery Police Station" in status.text
    assert "No matching record" not in status.text
    # Typed loosely, the same receipt: "pet/2026/12" for "PET/2026/000012".
    year, serial = number.split("/")[1:]
    loose = post_form(
        citizen,
        "/citizen/status",
        {"reference": f"pet/{year}/{int(serial)}", "mobile": "098470 55555"},
    )
    assert "Under enquiry" in loose.text


def test_citizen_status_wrong_mobile_is_the_unknown_number_answer(
    node: Node, citizen: TestClient
) -> None:
    number = post_form(citizen, "/citizen/complaint", _complaint(mobile="9847066666"))
    receipt = re.search(r"(PET/\d{4}/\d{6})", number.text)
    assert receipt
    year = receipt[1].split("/")[1]
    wrong = post_form(citizen, "/citizen/status", {"reference": receipt[1], "mobile": "9847000000"})
    unknown = post_form(
        citizen, "/citizen/status", {"reference": f"PET/{year}/999999", "mobile": "9847000000"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "No matching record" in wrong.text
    assert without_tokens(wrong.text).replace(receipt[1], "X") == without_tokens(
        unknown.text
    ).replace(f"PET/{year}/999999", "X")
    # The same for FIR numbers: a real FIR with a wrong number, and one that does not exist.
    real = post_form(citizen, "/citizen/status", {"reference": node.theft, "mobile": "9847000000"})
    none = post_form(
        citizen, "/citizen/status", {"reference": "FIR No. 9999/2031", "mobile": "9847000000"}
    )
    assert without_tokens(real.text).replace(node.theft, "X") == without_tokens(none.text).replace(
        "FIR No. 9999/2031", "X"
    )


def test_citizen_status_of_an_fir_and_a_zero_fir(node: Node, citizen: TestClient) -> None:
    fir = post_form(citizen, "/citizen/status", {"reference": node.theft, "mobile": THEFT_MOBILE})
    assert node.theft in fir.text
    assert "Registered; under investigation" in fir.text
    assert "Rajesh Kumar" not in fir.text  # no person data
    zero = post_form(citizen, "/citizen/status", {"reference": node.zero, "mobile": ZERO_MOBILE})
    assert node.zero in zero.text
    assert "to be sent to Aluva" in zero.text


def test_citizen_status_of_a_petition_converted_to_an_fir(node: Node) -> None:
    petition = records_pb2.Petition(
        channel="online",
        subject="Theft of a bicycle",
        details="My bicycle was stolen from the school gate.",
        petitioner=records_pb2.Person(name="Sreeja P", mobile="9895033333"),
    )
    receipt = registers.receive_petition(node.station, "citizen-portal", petition)
    found = lookup_status(node.station, receipt.ref, "9895033333")
    assert found is not None and found.state == "under_enquiry"
    fir = registers.register_fir(
        node.station,
        OFFICER,
        fir_record(
            [("BNS", "303(2)")],
            [person("Sreeja P", records_pb2.COMPLAINANT, sex="F", mobile="9895033333")],
            "The complainant's bicycle was stolen from the school gate.",
            petition_receipt=receipt.ref,
        ),
    )
    found = lookup_status(node.station, receipt.ref, "9895033333")
    assert found is not None
    assert (found.kind, found.state, found.fir_number) == ("petition", "fir_registered", fir.ref)
    assert lookup_status(node.station, receipt.ref, "9895033334") is None


def test_citizen_complaint_needs_a_mobile_number_and_writes_nothing_without(
    node: Node, citizen: TestClient
) -> None:
    size = node.station.ledger.size()
    for bad in ("12345", "5847012345", "98470123456", ""):
        response = post_form(citizen, "/citizen/complaint", _complaint(mobile=bad))
        assert response.status_code == 400
        assert "Enter a 10-digit Indian mobile number." in response.text
    response = post_form(citizen, "/citizen/complaint", _complaint(subject="", address=""))
    assert response.status_code == 400
    assert "A subject is required." in response.text
    assert node.station.ledger.size() == size


def test_citizen_forms_refuse_a_post_without_the_csrf_token(
    node: Node, citizen: TestClient
) -> None:
    size = node.station.ledger.size()
    citizen.get("/citizen/complaint")  # the nonce cookie
    for path, data in (
        ("/citizen/complaint", _complaint()),
        ("/citizen/status", {"reference": node.theft, "mobile": THEFT_MOBILE}),
        ("/citizen/fir-copy", {"reference": node.theft, "mobile": THEFT_MOBILE}),
    ):
        assert citizen.post(path, data=data).status_code == 403, path
        forged = {**data, "csrf_token": "forged"}
        assert citizen.post(path, data=forged).status_code == 403, path
    # A token from another visitor (another nonce cookie) does not do either.
    other = TestClient(node.app)
    token = csrf(other.get("/citizen/complaint").text)
    fresh = TestClient(node.app)
    fresh.get("/citizen/complaint")
    response = fresh.post("/citizen/complaint", data={**_complaint(), "csrf_token": token})
    assert response.status_code == 403
    assert node.station.ledger.size() == size


def test_citizen_complaint_markup_is_rendered_inert(citizen: TestClient) -> None:
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = post_form(
        citizen, "/citizen/complaint", _complaint(subject=script, name='"><b>Mini</b>')
    )
    assert response.status_code == 200
    assert script not in response.text
    assert "<img src=x" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    # Re-shown on a validation error, it stays inert in the form fields too.
    again = post_form(citizen, "/citizen/complaint", _complaint(subject=script, mobile="1"))
    assert script not in again.text and "&lt;script&gt;" in again.text


# -- FIR copy --------------------------------------------------------------------------------------


def test_citizen_fir_copy_for_the_complainant_is_a_pdf(node: Node, citizen: TestClient) -> None:
    response = post_form(
        citizen, "/citizen/fir-copy", {"reference": node.theft, "mobile": THEFT_MOBILE}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    # Someone without the complainant's number gets the generic answer, as for no such FIR.
    wrong = post_form(
        citizen, "/citizen/fir-copy", {"reference": node.theft, "mobile": "9000000000"}
    )
    none = post_form(
        citizen, "/citizen/fir-copy", {"reference": "FIR No. 9999/2031", "mobile": "9000000000"}
    )
    assert wrong.headers["content-type"].startswith("text/html")
    assert "No matching record" in wrong.text
    assert without_tokens(wrong.text).replace(node.theft, "X") == without_tokens(none.text).replace(
        "FIR No. 9999/2031", "X"
    )


def test_citizen_bns64_fir_copy_answers_as_an_unknown_number(
    node: Node, citizen: TestClient
) -> None:
    # The informant (whose identity, mobile included, is sealed) proves the number, and learns
    # no more than anyone asking for a number that does not exist: the page is the same.
    response = post_form(
        citizen, "/citizen/fir-copy", {"reference": node.sensitive, "mobile": SENSITIVE_MOBILE}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "No matching record" in response.text
    assert "given only at the station" in response.text
    assert _public_texts_leaking(response.text, node) == []
    for reference, mobile in ((node.sensitive, "9000000000"), ("FIR No. 9999/2031", "9000000000")):
        other = post_form(citizen, "/citizen/fir-copy", {"reference": reference, "mobile": mobile})
        assert without_tokens(other.text) == without_tokens(response.text)


def test_citizen_bns64_fir_is_not_retrievable_from_any_public_route(
    node: Node, citizen: TestClient
) -> None:
    serial, year = node.sensitive.removeprefix("FIR No. ").split("/")
    texts: list[tuple[str, str]] = []  # (response, what the visitor typed)
    for mobile in (SENSITIVE_MOBILE, "9000000000"):
        for reference in (node.sensitive, f"{serial}/{year}"):
            page = post_form(citizen, "/citizen/status", {"reference": reference, "mobile": mobile})
            texts.append((page.text, reference))
            api = citizen.get(f"/api/status/{reference}", params={"mobile": mobile})
            assert api.status_code in (200, 404)
            texts.append((api.text, reference))
    withheld = citizen.get(f"/api/status/{node.sensitive}", params={"mobile": SENSITIVE_MOBILE})
    assert withheld.status_code == 404
    for query in (SENSITIVE_REG, "KL07CD9876", "9876", "SENS1234567", "SENSCH998877", ""):
        page = citizen.get("/citizen/vehicles", params={"q": query})
        assert page.status_code == 200
        texts.append((page.text, query))
        api = citizen.get("/api/vehicles/public", params={"q": query})
        assert api.status_code == 200
        assert all(v["registration"] != SENSITIVE_REG for v in api.json()["vehicles"])
        texts.append((api.text, query))
    for text, typed in texts:
        assert _public_texts_leaking(text, node, typed) == [], text


# -- recovered and unclaimed vehicles ------------------------------------------------------------


def test_citizen_vehicles_found_by_registration_engine_or_chassis(
    node: Node, citizen: TestClient
) -> None:
    for query in ("kl 07 bq 4521", "KL07BQ4521", "4521", THEFT_ENGINE, THEFT_CHASSIS[-6:]):
        page = citizen.get("/citizen/vehicles", params={"q": query})
        assert page.status_code == 200
        assert THEFT_REG in page.text, query
        assert "Honda Activa 6G" in page.text
        assert "Kalamassery Police Station, Ernakulam City" in page.text
        assert "Rajesh Kumar" not in page.text
        assert node.theft not in page.text  # the case is not named either
        shown = page.text.replace(query, "")  # what was typed is shown back
        assert THEFT_ENGINE not in shown and THEFT_CHASSIS not in shown
    latest = citizen.get("/citizen/vehicles")
    assert THEFT_REG in latest.text
    assert "Recovered" in latest.text


def test_citizen_property_search_hides_names_and_identifiers(citizen: TestClient) -> None:
    page = citizen.get("/citizen/vehicles", params={"q": "mobile phone"})
    assert page.status_code == 200
    assert "Redmi Note 12" in page.text
    assert "Rajesh" not in page.text and "Kumar" not in page.text
    assert "356789012345678" not in page.text
    assert "Unclaimed" in page.text


def test_citizen_vehicle_search_with_sql_text_is_harmless(node: Node, citizen: TestClient) -> None:
    for query in (
        "' OR 1=1 --",
        "KL07'; DROP TABLE vehicles; --",
        "%",
        "_",
        "\\",
        '" UNION SELECT name, mobile FROM persons --',
        "x" * 500,
    ):
        page = citizen.get("/citizen/vehicles", params={"q": query})
        assert page.status_code == 200, query
        api = citizen.get("/api/vehicles/public", params={"q": query[: limits.IDENTIFIER]})
        assert api.status_code == 200, query
    # Still there afterwards.
    assert public.public_vehicles(
        node.station.index, node.station.statutes, node.station.config, THEFT_REG
    )


def test_citizen_mobile_numbers_are_normalised() -> None:
    assert normalise_mobile("+91 98470 12345") == "9847012345"
    assert normalise_mobile("098470-12345") == "9847012345"
    assert normalise_mobile("(984) 701-2345") == "9847012345"
    for bad in ("", "12345", "5847012345", "984701234567", "98470x2345"):
        assert normalise_mobile(bad) is None
    assert canonical_petition("pet / 2026 / 12") == "PET/2026/000012"
    assert canonical_petition("FIR No. 12/2026") is None


def test_citizen_catalog_has_english_and_malayalam_for_every_key() -> None:
    catalog = json.loads(
        (Path(__file__).resolve().parents[3] / "node/web/i18n_citizen.json").read_text("utf-8")
    )
    assert set(catalog) == {"en", "ml"}
    assert set(catalog["en"]) == set(catalog["ml"])
    for key, text in catalog["ml"].items():
        assert text.strip() and catalog["en"][key].strip(), key
        assert re.search("[\u0d00-\u0d7f]", text), f"{key} has no Malayalam"
    used: set[str] = set()
    templates = Path(__file__).resolve().parents[3] / "node/web/templates"
    for name in ("citizen_home", "complaint_new", "complaint_receipt", "status", "fir_copy",
                 "vehicles_public", "dashboard"):  # fmt: skip
        used |= set(
            re.findall(
                r't\("((?:portal|dash)\.[a-z_.]*[a-z_])"', (templates / f"{name}.html").read_text()
            )
        )
    assert used <= set(catalog["en"]), used - set(catalog["en"])


def test_citizen_efir_and_missing_child_complaints_reach_casework(
    node: Node, citizen: TestClient
) -> None:
    """An e-FIR from the portal waits for the informant's signature; a missing child's
    complaint is listed until it ends in an FIR or a recorded reason."""
    base = {
        "name": "Sajitha P.",
        "mobile": "9447012345",
        "address": "Kalamassery",
        "details": "Details given at the portal.",
    }
    efir = post_form(citizen, "/citizen/complaint", {**base, "kind": "e_fir", "subject": "theft"})
    assert efir.status_code == 200, efir.text
    child = {"missing_name": "Ammu K.", "missing_age": "9", "missing_sex": "F"}
    missing = post_form(
        citizen,
        "/citizen/complaint",
        {**base, "kind": "missing_child", "subject": "child missing", **child},
    )
    assert missing.status_code == 200, missing.text
    assert casework.pending_efirs(node.station.index), "the e-FIR waits for the signature"
    assert "Ammu K." in citizen.get("/citizen/missing").text
    bad = post_form(
        citizen, "/citizen/complaint", {**base, "kind": "missing_child", "subject": "no name"}
    )
    assert bad.status_code == 400


# -- the withholding policy on the citizen's routes ----------------------------------------------

HERSELF_MOBILE = "9447055501"


def _woman_reports_against_herself(node: Node, mobile: str) -> str:
    """A BNS 64 FIR the woman reports against herself (no victim row); its number."""
    return registers.register_fir(
        node.station,
        OFFICER,
        fir_record(
            [("BNS", "64(1)")],
            [
                person("Remya Raghavan", records_pb2.COMPLAINANT, sex="F", age=29, mobile=mobile),
                records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True),
            ],
            "The complainant was assaulted by an unknown man near the canal.",
            recording=records_pb2.InformationRecording(recorded_by_sex="F"),
        ),
    ).ref


def test_citizen_withheld_case_answers_exactly_as_an_unknown_number(
    node: Node, citizen: TestClient
) -> None:
    withheld = _woman_reports_against_herself(node, HERSELF_MOBILE)
    unknown = "FIR No. 9999/2031"
    for mobile in (HERSELF_MOBILE, "9000000000"):
        pages = [
            post_form(citizen, "/citizen/status", {"reference": ref, "mobile": mobile})
            for ref in (withheld, unknown)
        ]
        assert pages[0].status_code == pages[1].status_code == 200
        # Byte for byte, but for the CSRF tokens (which differ from one answer to the next).
        assert without_tokens(pages[0].text) == without_tokens(pages[1].text)
        assert "No matching record" in pages[0].text and withheld not in pages[0].text
        answers = [
            citizen.get(f"/api/status/{ref}", params={"mobile": mobile})
            for ref in (withheld, unknown)
        ]
        assert answers[0].status_code == answers[1].status_code == 404
        assert answers[0].content == answers[1].content
        headers = [{k: v for k, v in a.headers.items() if k != "date"} for a in answers]
        assert headers[0] == headers[1]


def test_citizen_withheld_case_and_unknown_number_do_the_same_lookups(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two cases of the same shape: the later one is the stand-in an unknown number reads.
    withheld = _woman_reports_against_herself(node, HERSELF_MOBILE)
    _woman_reports_against_herself(node, "9447055502")
    station = node.station
    counts: dict[str, int] = {}

    def counted(name: str, call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] = counts.get(name, 0) + 1
            return call(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(station.ledger, "body", counted("ledger", station.ledger.body))
    monkeypatch.setattr(station.sealed, "get", counted("sealed", station.sealed.get))

    def on_statement(*_: Any) -> None:
        counts["sql"] = counts.get("sql", 0) + 1

    sa.event.listen(station.index.engine, "before_cursor_execute", on_statement)
    try:
        work = []
        for reference in (withheld, "FIR No. 9999/2031"):
            counts.clear()
            assert lookup_status(station, reference, HERSELF_MOBILE) is None
            work.append(dict(counts))
    finally:
        sa.event.remove(station.index.engine, "before_cursor_execute", on_statement)
    assert work[0] == work[1], work
    assert work[0]["ledger"] >= 3 and work[0]["sealed"] >= 2 and work[0]["sql"] >= 5


def test_citizen_fir_copy_never_names_a_child_accused(node: Node, citizen: TestClient) -> None:
    # A theft by a 14-year-old: no `juvenile` flag on the form, the age says it.
    ref = registers.register_fir(
        node.station,
        OFFICER,
        fir_record(
            [("BNS", "303(2)")],
            [
                person("Mohanan Pillai", records_pb2.COMPLAINANT, sex="M", mobile="9847033333"),
                person("Kannan Suresh", records_pb2.ACCUSED, sex="M", age=14, address="Edappally"),
            ],
            "Kannan Suresh took the bicycle from the complainant's gate.",
        ),
    ).ref
    status = post_form(citizen, "/citizen/status", {"reference": ref, "mobile": "9847033333"})
    assert ref in status.text and "Registered" in status.text
    copy = post_form(citizen, "/citizen/fir-copy", {"reference": ref, "mobile": "9847033333"})
    assert copy.headers["content-type"] == "application/pdf"
    text = pdf_text(inflate(copy.content))
    assert "A1: [identity withheld by law]" in text
    assert "Kannan" not in text and "Edappally" not in text
    assert "Mohanan Pillai" in text  # the complainant's own copy names the complainant
