"""Every input bounded, through real requests to a real station: a field over its limit is a 400
naming it and writes nothing (portal, staff forms), the JSON API states the table's numbers in
its OpenAPI document, input that parses badly (digits of other scripts, numbers past their
field's range, dates in year 1 or 9999) is a 4xx with a clear message and never a 500, and the
public missing-persons page stays bounded however many complaints it lists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.log import now_ms
from node.index.record_index import IndexedEntry
from node.records import limits
from node.station import registers
from protos import records_pb2
from tests.web.support import (
    Node,
    TestClient,
    login,
    post_form,
    receive_petition,
    staff_node,
    theft_form,
)

BAD_NUMBERS = ["١٢", "൧൨", "²", "9" * 5000, "99999999999999999999", "-1", "1e3"]
BAD_TIMES = ["0001-01-01T00:00", "0001-01-01T05:29", "9999-12-31T23:59", "12026-01-01T00:00"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = staff_node(tmp_path_factory.mktemp("input-bounds"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    signed_in = login(node, "PEN310001", "sho", name="Anitha K", sex="F")
    # Server errors are answered (500), not raised, so that a test can assert on them.
    return TestClient(node.app, raise_server_exceptions=False, cookies=signed_in.cookies)


@pytest.fixture
def citizen(node: Node) -> TestClient:
    return TestClient(node.app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def case(node: Node, sho: TestClient) -> str:
    """The case page of an FIR registered through the form."""
    answer = post_form(sho, "/fir/new", theft_form())
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).split("?")[0]


def _problems(html: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", html)


def _complaint(**fields: str) -> dict[str, str]:
    form = {
        "name": "Mini Joseph",
        "mobile": "9847012345",
        "address": "Kalamassery North",
        "subject": "My son is missing",
        "details": "He left for school and has not come back.",
        "kind": "missing_child",
        "missing_name": "Arun Joseph",
        "missing_age": "12",
        "missing_sex": "M",
    }
    return {**form, **fields}


# -- a field just over its limit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "limit", "message"),
    [
        ("name", "Person.name", "The name is too long (at most 120 characters)."),
        ("address", "Person.address", "The address is too long (at most 400 characters)."),
        ("subject", "Petition.subject", "The subject is too long (at most 200 characters)."),
        ("details", "Petition.details", "The description is too long (at most 5000 characters)."),
        (
            "missing_name",
            "Person.name",
            "The missing person&#39;s name is too long (at most 120 characters).",
        ),
    ],
)
def test_bounds_portal_field_over_its_limit(
    node: Node, citizen: TestClient, field: str, limit: str, message: str
) -> None:
    size = node.station.ledger.size()
    over = "ക" * (limits.text(limit) + 1)
    answer = post_form(citizen, "/citizen/complaint", _complaint(**{field: over}))
    assert answer.status_code == 400
    assert message in _problems(answer.text)
    assert f'maxlength="{limits.text(limit)}"' in answer.text
    assert node.station.ledger.size() == size


@pytest.mark.parametrize(
    ("path", "form", "problem"),
    [
        (
            "/fir/new",
            theft_form(brief_facts="x" * (limits.FACTS + 1)),
            "brief facts is longer than 20,000 characters",
        ),
        (
            "/fir/new",
            theft_form(complainant_address="x" * (limits.ADDRESS + 1)),
            "persons 1 person address is longer than 400 characters",
        ),
        (
            "/gd/new",
            {"category": "information", "summary": "x" * (limits.NOTE + 1)},
            "summary is longer than 2,000 characters",
        ),
        (
            "/petitions/new",
            {"petitioner_name": "Leela", "subject": "x" * (limits.LINE + 1)},
            "subject is longer than 200 characters",
        ),
    ],
    ids=["fir facts", "fir address", "gd summary", "petition subject"],
)
def test_bounds_staff_form_field_over_its_limit(
    node: Node, sho: TestClient, path: str, form: dict[str, str], problem: str
) -> None:
    size = node.station.ledger.size()
    answer = post_form(sho, path, form)
    assert answer.status_code == 400
    assert problem in _problems(answer.text)
    assert node.station.ledger.size() == size


@pytest.mark.parametrize(
    ("action", "form", "problem"),
    [
        ("diary", {"text": "x" * (limits.FACTS + 1)}, "text is longer than 20,000 characters"),
        (
            "court",
            {"court": "CJM", "next_hearing": "x" * 5000},
            "next hearing is longer than 10 characters",
        ),
        (
            "seizure",
            {"category": "cash", "description": "x" * (limits.DESCRIPTION + 1)},
            "item 1: description is longer than 1,000 characters",  # named by its row
        ),
    ],
)
def test_bounds_casework_field_over_its_limit(
    node: Node, sho: TestClient, case: str, action: str, form: dict[str, str], problem: str
) -> None:
    size = node.station.ledger.size()
    answer = post_form(sho, f"{case}/casework/{action}", form, page=case)
    assert answer.status_code == 400
    assert problem in _problems(answer.text)
    assert node.station.ledger.size() == size


def test_bounds_amendment_over_its_limit(node: Node, sho: TestClient, case: str) -> None:
    size = node.station.ledger.size()
    form = {"brief_facts": "x" * (limits.FACTS + 1), "reason": "typing error"}
    answer = post_form(sho, f"{case}/amend", form, page=case)
    assert answer.status_code == 400
    assert "brief facts is longer than 20,000 characters" in _problems(answer.text)
    assert node.station.ledger.size() == size


# -- the JSON API --------------------------------------------------------------------------------


def test_bounds_api_states_the_tables_numbers(node: Node) -> None:
    paths = TestClient(node.app).get("/api/openapi.json").json()["paths"]

    def schema(path: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == name]
        return dict(found["schema"])

    assert schema("/api/status/{receipt}", "receipt")["maxLength"] == limits.REFERENCE
    assert schema("/api/status/{receipt}", "mobile")["maxLength"] == limits.text("Person.mobile")
    assert schema("/api/search/persons", "q")["maxLength"] == limits.text("SearchRequest.query")
    assert schema("/api/vehicles/public", "q")["maxLength"] == limits.IDENTIFIER
    year = schema("/api/firs/{year}/{serial}", "year")
    assert (year["minimum"], year["maximum"]) == (limits.FIRST_YEAR, limits.LAST_YEAR)
    assert "413" in paths["/api/vehicles/public"]["get"]["responses"]


def test_bounds_api_megabyte_parameter_is_refused(node: Node, sho: TestClient) -> None:
    # httpx sends no URL over 64 KiB (and a real server takes far less): 60,000 characters.
    long = "x" * 60_000
    for path in (
        f"/api/search/persons?q={long}",
        f"/api/vehicles/public?q={long}",
        f"/api/status/{long}?mobile=9847012345",
    ):
        answer = sho.get(path)
        assert answer.status_code == 422, path
        assert answer.json()["error"]["problems"]


# -- input that parses badly ------------------------------------------------------------------


def _staff_requests(case: str, receipt: str) -> list[tuple[str, str, dict[str, str] | None]]:
    """(label, path, form or None for a GET) for every form field and parameter that parses a
    number or a date, with each bad number and each bad time."""
    out: list[tuple[str, str, dict[str, str] | None]] = []
    for bad in BAD_NUMBERS:
        out += [
            (f"fir register year {bad[:8]}", f"/fir?year={bad}", None),
            (f"gd saved {bad[:8]}", f"/gd?saved={bad}", None),
            (f"case slug {bad[:8]}", f"/case/{bad}-2026", None),
            (f"case ref {bad[:8]}", f"/case/{bad}%2F2026", None),
            (f"zero slug {bad[:8]}", f"/case/zero-{bad}-2026", None),
            (f"pdf {bad[:8]}", f"/fir/{bad}-2026/pdf", None),
            (f"api fir serial {bad[:8]}", f"/api/firs/2026/{bad}", None),
            (f"api fir year {bad[:8]}", f"/api/firs/{bad}/1", None),
            (f"api age {bad[:8]}", f"/api/search/persons?q=raju&age_min={bad}", None),
            (f"petition {bad[:8]}", f"/petition?number=PET/2026/{bad}", None),
            (f"fir age {bad[:8]}", "/fir/new", theft_form(complainant_age=bad)),
            (f"fir value {bad[:8]}", "/fir/new", theft_form(property_0_value=bad)),
            (f"fir serial {bad[:8]}", "/fir/new", theft_form(section_0=f"BNS {bad}")),
            (f"petition age {bad[:8]}", "/petitions/new", {"petitioner_age": bad, "subject": "s"}),
            (f"arrest age {bad[:8]}", f"{case}/casework/arrest", {"name": "A", "age": bad}),
            (f"seizure value {bad[:8]}", f"{case}/casework/seizure", {"value": bad}),
            (f"request {bad[:8]}", "/requests/update", {"receipt": f"SR/2026/{bad}"}),
            (f"enquiry {bad[:8]}", "/petition/enquire", {"number": f"PET/{bad}/1"}),
        ]
    for when in BAD_TIMES:
        day = when[: when.index("T")]
        gd = {"category": "information", "summary": "s", "entry_time": when}
        convert = {"number": receipt, **theft_form(occurrence_from=when)}
        out += [
            (f"fir occurrence {when}", "/fir/new", theft_form(occurrence_from=when)),
            (f"fir occurrence to {when}", "/fir/new", theft_form(occurrence_to=when)),
            (f"gd time {when}", "/gd/new", gd),
            (f"gd day {day}", f"/gd?date={day}", None),
            (f"diary day {day}", f"{case}/casework/diary", {"text": "t", "day": day}),
            (f"arrest time {when}", f"{case}/casework/arrest", {"name": "A", "at": when}),
            (f"court hearing {day}", f"{case}/casework/court", {"court": "C", "next_hearing": day}),
            (f"convert {when}", "/petition/convert", convert),
        ]
    return out


def test_bounds_bad_numbers_and_dates_are_4xx_never_500(
    node: Node, sho: TestClient, case: str
) -> None:
    receipt = receive_petition(node.station, "general")
    size = node.station.ledger.size()
    answers: dict[str, int] = {}
    for label, path, form in _staff_requests(case, receipt):
        answer = sho.get(path) if form is None else post_form(sho, path, form, page="/fir/new")
        answers[label] = answer.status_code
    server_errors = {label: code for label, code in answers.items() if code >= 500}
    assert server_errors == {}
    refused = {label for label, code in answers.items() if code in (400, 404, 422)}
    # Pages that show a register ignore a bad filter (200) and say so where it is the page's own.
    assert {label for label in answers if label not in refused} <= {
        label for label in answers if label.startswith(("fir register", "gd saved"))
    }
    assert node.station.ledger.size() == size


def test_bounds_gd_day_out_of_range_is_named(sho: TestClient) -> None:
    answer = sho.get("/gd?date=0001-01-01")
    assert answer.status_code == 400
    assert "between the years 1900 and 2199" in answer.text


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_bounds_portal_missing_age_in_other_digits_is_refused(
    node: Node, citizen: TestClient, bad: str
) -> None:
    size = node.station.ledger.size()
    answer = post_form(citizen, "/citizen/complaint", _complaint(missing_age=bad))
    assert answer.status_code == 400
    assert "Give the missing person&#39;s age in years." in _problems(answer.text)
    assert node.station.ledger.size() == size


def test_bounds_fir_form_names_each_parse_problem(sho: TestClient) -> None:
    form = theft_form(
        complainant_age="൧൨", property_0_value="²", occurrence_from="0001-01-01T00:00"
    )
    answer = post_form(sho, "/fir/new", form)
    assert answer.status_code == 400
    assert _problems(answer.text) == [
        "occurrence from: the year must be between 1900 and 2199",
        "complainant: age must be a number of years (digits 0-9, at most 150)",
        "property item 1: value must be a whole number of rupees (digits 0-9, at most "
        "10,000,000,000,000)",
    ]


# -- the public lists ----------------------------------------------------------------------------


def test_bounds_public_missing_persons_page_stays_bounded(node: Node) -> None:
    station = node.station
    name = "ക" * limits.NAME
    complaints = [
        (
            "petition",
            "PEN400009",
            records_pb2.Petition(
                petitioner=records_pb2.Person(name="Leela", mobile="9847012345"),
                subject="Missing",
                details="d" * limits.DETAILS,
                category="missing_person",
                respondents=[
                    records_pb2.PersonInCase(
                        role=records_pb2.MISSING,
                        person=records_pb2.Person(name=name, age=30, sex="F"),
                    )
                ],
            ),
        )
    ] * (limits.PUBLIC_ROWS + 50)
    registers.register_many(station, complaints)
    # One written before the limits (a megabyte name), and an unidentified body's summary too:
    # the page must stay bounded for those as well.
    legacy = records_pb2.Petition(
        receipt_number="PET/2026/999999",
        received_at_ms=now_ms(),
        petitioner=records_pb2.Person(name="Old"),
        subject="Missing",
        category="missing_person",
        respondents=[
            records_pb2.PersonInCase(
                role=records_pb2.MISSING, person=records_pb2.Person(name="L" * 1_000_000)
            )
        ],
    )
    body = records_pb2.GeneralDiaryEntry(
        gd_date="2026-01-01",
        gd_number=999,
        category="other",
        summary="Unidentified body " + "B" * 10**6,
    )
    appended = station.ledger.append_many(
        [station.body("PEN400009", legacy), station.body("PEN400009", body)]
    )
    station.index.apply([IndexedEntry(a.index, a.body) for a in appended])
    page = TestClient(node.app).get("/citizen/missing")
    assert page.status_code == 200
    rows = page.text.count("<tr>") - 2  # less the two tables' header rows
    assert rows <= 2 * limits.PUBLIC_ROWS
    assert page.text.count(name) == limits.PUBLIC_ROWS - 1  # the legacy row is the newest
    # Each row within its limits: the page is not far above rows x (name + body's text).
    bound = 2 * limits.PUBLIC_ROWS * 3 * (limits.NAME + 400) + limits.PUBLIC_TEXT * 3 + 100_000
    assert len(page.content) < bound
    assert "L" * (limits.NAME + 1) not in page.text
    assert "B" * (limits.PUBLIC_TEXT + 1) not in page.text
