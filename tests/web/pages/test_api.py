"""The JSON API (`node.web.pages.api`) over a real seeded station: the OpenAPI description, the
citizen's status without login (no enumeration), and the officer routes behind the session
cookie (401 JSON without one), with the FIR's ledger proof checked and each officer's read of
records audited in the node's log."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from ledger import merkle
from node.index import reports
from node.records.sealing import placeholder
from protos import ledger_pb2
from tests.web.support import (
    NODE_ID,
    SENSITIVE_MOBILE,
    THEFT_MOBILE,
    THEFT_REG,
    VICTIM,
    Node,
    TestClient,
    login,
    make_node,
    post_form,
)

OFFICER_ROUTES = (
    "/api/firs/2026/1",
    "/api/search/persons?q=raju",
    "/api/dashboard/crime-heads",
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = make_node(tmp_path_factory.mktemp("api"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN400001", "sho")


def test_api_openapi_lists_the_routes(node: Node) -> None:
    spec = TestClient(node.app).get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in (
        "/api/status/{receipt}",
        "/api/firs/{year}/{serial}",
        "/api/search/persons",
        "/api/vehicles/public",
        "/api/dashboard/crime-heads",
    ):
        assert path in paths, path
        assert "200" in paths[path]["get"]["responses"]
    schemas = spec.json()["components"]["schemas"]
    assert {"StatusOut", "FirOut", "PersonSearchOut", "PublicVehiclesOut"} <= set(schemas)
    assert not any(p.startswith("/citizen") or p.startswith("/dashboard") for p in paths)


def test_api_officer_routes_answer_401_json_without_a_session(node: Node) -> None:
    client = TestClient(node.app)
    for path in OFFICER_ROUTES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401, path
        assert response.headers["content-type"].startswith("application/json")


def test_api_officer_routes_refuse_a_role_without_the_action(node: Node) -> None:
    admin = login(node, "PEN400002", "node_admin")  # accounts only, reads no case records
    assert admin.get("/api/firs/2026/1").status_code == 403
    assert admin.get("/api/search/persons?q=raju").status_code == 403
    assert admin.get("/api/dashboard/crime-heads").status_code == 200


def test_api_officer_routes_refuse_another_stations_officer(node: Node) -> None:
    stranger = login(node, "PEN400003", "sho", station_node_id="kerala/thrissur-city/ps-ollur")
    serial, year = node.theft.removeprefix("FIR No. ").split("/")
    for path in (f"/api/firs/{year}/{serial}", *OFFICER_ROUTES[1:]):
        response = stranger.get(path)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("application/json")


def test_api_citizen_status_without_enumeration(node: Node) -> None:
    client = TestClient(node.app)
    ok = client.get(f"/api/status/{node.theft}", params={"mobile": THEFT_MOBILE})
    assert ok.status_code == 200
    assert ok.json()["kind"] == "fir"
    assert ok.json()["reference"] == node.theft
    assert ok.json()["state"] == "registered"
    wrong = client.get(f"/api/status/{node.theft}", params={"mobile": "9000000000"})
    unknown = client.get("/api/status/FIR No. 9999/2031", params={"mobile": "9000000000"})
    assert wrong.status_code == unknown.status_code == 404
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": {
                "status": 404,
                "message": "no matching record",
                "problems": ["no matching record"],
            }
        }
    )
    assert client.get(f"/api/status/{node.theft}", params={"mobile": "12"}).status_code == 400
    receipt = post_form(
        client,
        "/citizen/complaint",
        {
            "name": "Mini Joseph",
            "mobile": "9847077777",
            "address": "Kalamassery",
            "subject": "Lost purse",
            "details": "Lost near the bus stand.",
        },
    )
    assert receipt.status_code == 200
    number = receipt.text.split('class="receipt-number">', 1)[1].split("<", 1)[0]
    petition = client.get(f"/api/status/{number}", params={"mobile": "9847077777"})
    assert petition.json()["kind"] == "petition"
    assert petition.json()["state"] == "under_enquiry"
    assert "Mini" not in petition.text
    # A record the law withholds answers as a number that does not exist, byte for byte, even
    # to the holder of its informant's mobile number.
    withheld = client.get(f"/api/status/{node.sensitive}", params={"mobile": SENSITIVE_MOBILE})
    unknown = client.get("/api/status/FIR No. 9999/2031", params={"mobile": SENSITIVE_MOBILE})
    assert withheld.status_code == unknown.status_code == 404
    assert withheld.content == unknown.content


def test_api_fir_with_its_ledger_proof(node: Node, sho: TestClient) -> None:
    serial, year = node.theft.removeprefix("FIR No. ").split("/")
    response = sho.get(f"/api/firs/{year}/{serial}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fir_number"] == node.theft
    assert body["view"]["fir_number"] == node.theft
    proof = body["verification"]
    leaf = node.station.ledger.leaf(body["ledger_index"])
    assert proof["leaf_hash"] == merkle.leaf_hash(leaf).hex()
    merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        body["ledger_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["inclusion_proof"]],
        bytes.fromhex(proof["root"]),
    )
    assert base64.b64decode(proof["public_key"]) == node.station.ledger.public_key
    assert sho.get("/api/firs/2031/9999").status_code == 404
    assert sho.get("/api/firs/2026/0").status_code == 422
    # The officer API gives the sealed view: the BNS 64 victim is a commitment, not a name.
    serial, year = node.sensitive.removeprefix("FIR No. ").split("/")
    sealed = sho.get(f"/api/firs/{year}/{serial}")
    assert sealed.status_code == 200
    assert VICTIM not in sealed.text


def test_api_person_search_for_officers(node: Node, sho: TestClient) -> None:
    found = sho.get("/api/search/persons", params={"q": "Rajesh Kumar"})
    assert found.status_code == 200
    assert any(p["name"] == "Rajesh Kumar" for p in found.json()["persons"])
    # The sealed victim is never found; seeded people with similar names may be.
    hits = sho.get("/api/search/persons", params={"q": VICTIM}).json()["persons"]
    assert all(VICTIM not in str(hit) and node.sensitive not in str(hit) for hit in hits)
    aged = sho.get(
        "/api/search/persons", params={"q": "Rajesh Kumar", "age_min": 40, "age_max": 42}
    )
    assert all(40 <= p["age"] <= 42 for p in aged.json()["persons"])
    assert sho.get("/api/search/persons", params={"q": "x", "age_min": -1}).status_code == 422


def test_api_public_vehicles_and_dashboard(node: Node, sho: TestClient) -> None:
    public = TestClient(node.app).get("/api/vehicles/public", params={"q": THEFT_REG})
    assert public.status_code == 200
    (vehicle,) = public.json()["vehicles"]
    assert vehicle["registration"] == THEFT_REG
    assert vehicle["status"] == "recovered"
    assert set(vehicle) == {
        "registration", "make", "model", "colour", "vehicle_type", "status", "station", "district"
    }  # fmt: skip
    heads = sho.get("/api/dashboard/crime-heads").json()
    assert {h["crime_head"]: h["firs"] for h in heads["crime_heads"]} == dict(
        reports.crime_head_counts(node.station.index)
    )


def _audits_since(node: Node, start: int) -> list[ledger_pb2.AuditEntry]:
    return [
        body.audit
        for _, body in node.station.ledger.bodies(start)
        if body.WhichOneof("record") == "audit"
    ]


def test_api_officer_reads_are_audited_naming_the_officer(node: Node, sho: TestClient) -> None:
    serial, year = node.theft.removeprefix("FIR No. ").split("/")
    before = node.station.ledger.size()
    answer = sho.get(
        f"/api/firs/{year}/{serial}",
        params={"case": "Crime 7/2026 of ps-aluva", "purpose": "investigation"},
    )
    assert answer.status_code == 200
    (fetched,) = _audits_since(node, before)
    assert (fetched.asker_node_id, fetched.asker_officer_id) == (NODE_ID, "PEN400001")
    assert (fetched.case_ref, fetched.purpose) == ("Crime 7/2026 of ps-aluva", "investigation")
    assert (fetched.query_kind, list(fetched.returned_refs)) == ("fetch", [node.theft])
    assert fetched.full_record
    # Without a case named, the FIR read is its own case.
    before = node.station.ledger.size()
    sho.get(f"/api/firs/{year}/{serial}")
    (own,) = _audits_since(node, before)
    assert own.case_ref == node.theft
    before = node.station.ledger.size()
    found = sho.get(
        "/api/search/persons", params={"q": "Rajesh Kumar", "age_min": 40, "age_max": 42}
    )
    assert found.status_code == 200
    (searched,) = _audits_since(node, before)
    assert searched.asker_officer_id == "PEN400001"
    assert node.theft in searched.returned_refs
    assert searched.case_ref == "api search"
    # The name asked for is sealed: a placeholder in the entry, the name in the sealed store
    # (node.station.audit), never in the log's bytes.
    assert searched.query_kind == "search:person"
    assert searched.query.startswith("[withheld:"), searched.query
    tail = b"".join(node.station.ledger.leaf(i) for i in range(before, node.station.ledger.size()))
    assert b"Rajesh Kumar" not in tail
    prefix = bytes.fromhex(searched.query.removeprefix("[withheld:").removesuffix("]"))
    (item,) = node.station.sealed.by_prefix(prefix)
    assert item.record_ref == "audit search:person"
    assert item.identity.name == "Rajesh Kumar (age 40-42)"
    assert searched.query == placeholder(item.commitment)


def test_api_read_with_a_bad_case_is_refused_and_not_answered(node: Node, sho: TestClient) -> None:
    serial, year = node.theft.removeprefix("FIR No. ").split("/")
    before = node.station.ledger.size()
    refused = sho.get(f"/api/firs/{year}/{serial}", params={"case": "Crime 7\x00"})
    assert refused.status_code == 400
    assert "control character" in refused.json()["error"]["message"]
    assert "view" not in refused.json()
    assert node.station.ledger.size() == before
    too_long = sho.get("/api/search/persons", params={"q": "Rajesh", "case": "x" * 201})
    assert too_long.status_code == 422
