"""The FIR form that grows with the case (`/fir/new`, `node.web.forms.parse_fir`), without a
browser: any number of indexed rows (accused_N_*, victim_N_*, witness_N_*, property_N_*) up to
the limits of `node.records.limits`, empty rows left out, a problem naming its row and shown
beside it, every row typed shown again after a refusal. Over a real station (RocksDB ledger,
SQLite index) with a real signed-in officer. The browser side (adding rows, the draft) is in
tests/web/test_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from node.records import limits
from node.web.forms import parse_fir, row_indexes
from protos import records_pb2
from tests.web.support import (
    Node,
    TestClient,
    login,
    open_kalamassery,
    post_form,
    theft_form,
    web_node,
)

ACCUSED = 25
ITEMS = 40
PERSON_FIELDS = ("name", "relation", "relative_name", "age", "sex", "address", "mobile")
PROPERTY_FIELDS = (
    "category",
    "description",
    "status",
    "value",
    "registration",
    "engine",
    "chassis",
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = web_node(
        tmp_path_factory.mktemp("fir-form"), open_kalamassery(tmp_path_factory.mktemp("station"))
    )
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN210001", "sho", name="Suresh Kumar", sex="M")


def riot_form(accused: int = ACCUSED, items: int = ITEMS, **overrides: str) -> dict[str, str]:
    """The theft form grown: `accused` named accused and `items` property items, indexed, with
    every field of a row sent, empty ones too (as a browser sends them)."""
    form = theft_form()
    form.pop("accused_0_unknown")
    for row in range(accused):
        form.update({f"accused_{row}_{name}": "" for name in PERSON_FIELDS})
        form[f"accused_{row}_name"] = f"Accused Person {row + 1:02d}"
        form[f"accused_{row}_age"] = str(20 + row % 40)
        form[f"accused_{row}_sex"] = "M"
        form[f"accused_{row}_address"] = f"House {row + 1}, HMT Colony"
    for row in range(items):
        form.update({f"property_{row}_{name}": "" for name in PROPERTY_FIELDS})
        form[f"property_{row}_category"] = "mobile phone"
        form[f"property_{row}_description"] = f"Item {row + 1:02d}, a phone taken from the shop"
        form[f"property_{row}_status"] = "stolen"
        form[f"property_{row}_value"] = "12,000"
    form.update(overrides)
    return form


def test_fir_form_registers_25_accused_and_40_property_items(node: Node, sho: TestClient) -> None:
    answer = post_form(sho, "/fir/new", riot_form())
    assert answer.status_code == 303, answer.text[:3000]
    written = node.station.ledger.body(node.station.ledger.size() - 1).fir
    accused = [p for p in written.persons if p.role == records_pb2.ACCUSED]
    assert [p.person.name for p in accused] == [f"Accused Person {n:02d}" for n in range(1, 26)]
    assert len(written.property) == ITEMS
    assert written.property[39].description.startswith("Item 40,")
    page = sho.get(answer.headers["location"]).text
    assert all(f"Accused Person {n:02d}" in page for n in range(1, ACCUSED + 1))
    assert all(f"Item {n:02d}, a phone" in page for n in range(1, ITEMS + 1))


def test_fir_form_row_problem_names_its_row_and_every_row_comes_back(
    node: Node, sho: TestClient
) -> None:
    size = node.station.ledger.size()
    form = riot_form(accused_6_age="forty", property_31_value="a lot", victim_3_age="30")
    answer = post_form(sho, "/fir/new", form)
    assert answer.status_code == 400
    problems = re.search(r'<ul id="problems">(.*?)</ul>', answer.text, re.S)
    assert problems, answer.text[:3000]
    assert "accused 7: age must be a number" in problems[1]
    assert "property item 32: value must be a whole number" in problems[1]
    assert "victim 4: write the name" in problems[1]
    # Beside its row too, the row marked for assistive technology.
    assert 'aria-describedby="accused_6_problems"' in answer.text
    assert re.search(r'id="accused_6_problems"><p>accused 7: age', answer.text)
    # Every row typed is on the page again, with what was typed.
    assert 'value="Accused Person 25"' in answer.text
    assert 'value="Item 40, a phone taken from the shop"' in answer.text
    assert 'name="victim_3_age"' in answer.text
    assert node.station.ledger.size() == size


def test_fir_form_too_long_a_field_names_its_row(sho: TestClient) -> None:
    long_name = "K" * (limits.text("Person.name") + 1)
    answer = post_form(sho, "/fir/new", riot_form(accused=3, items=1, witness_0_name=long_name))
    assert answer.status_code == 400
    assert "witness 1: name is longer than 120 characters" in answer.text


def test_fir_form_at_the_limits(node: Node, sho: TestClient) -> None:
    """98 accused, the complainant and a witness (100 persons) and 100 items: about 1,400
    fields, all read and registered; one person or one item more is refused, nothing written."""
    most_persons, most_items = limits.count("Fir.persons"), limits.count("Fir.property")
    form = riot_form(accused=most_persons - 2, items=most_items)
    assert len(form) > 1_000  # Starlette's default bound on a form's fields
    answer = post_form(sho, "/fir/new", form)
    assert answer.status_code == 303, answer.text[:3000]
    written = node.station.ledger.body(node.station.ledger.size() - 1).fir
    assert (len(written.persons), len(written.property)) == (most_persons, most_items)
    size = node.station.ledger.size()
    answer = post_form(sho, "/fir/new", riot_form(accused=most_persons - 1, items=most_items + 1))
    assert answer.status_code == 400
    assert f"at most {most_persons} persons in one FIR, the complainant included" in answer.text
    assert f"at most {most_items} property items in one FIR: {most_items + 1} given" in answer.text
    assert node.station.ledger.size() == size


def test_fir_form_empty_rows_are_left_out_and_gaps_allowed() -> None:
    form = theft_form(accused_0_unknown="", accused_0_name="", accused_5_name="Vinod T")
    form.update(
        victim_0_name="", victim_0_sex="", property_2_description="", property_7_category=""
    )
    parsed = parse_fir(form)
    assert parsed.problems == []
    accused = [p for p in parsed.fir.persons if p.role == records_pb2.ACCUSED]
    assert [p.person.name for p in accused] == ["Vinod T"]
    assert [p.role for p in parsed.fir.persons].count(records_pb2.VICTIM) == 0
    assert len(parsed.fir.property) == 1  # the scooter
    rows = row_indexes(form)
    assert rows["accused"] == [0, 5] and rows["property"] == [0, 2, 7]
    # An index is written as JavaScript writes it: "01" is no row, nor a fifth digit.
    assert row_indexes({"accused_01_name": "x", "accused_10000_name": "y"})["accused"] == []


def test_fir_form_page_grows_without_inline_script(sho: TestClient) -> None:
    page = sho.get("/fir/new").text
    for kind in ("accused", "victim", "witness", "property"):
        assert f'id="{kind}-template"' in page
        assert f'data-add="{kind}"' in page
        assert f'name="{kind}_0_' in page  # one row of each without JavaScript
        assert f'name="{kind}_1_' not in page
    assert '<script src="/static/growing_form.js" defer></script>' in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None, "an inline script"
    assert (
        page.count("<details") == 6
        and page.count('<details class="section" id="section-occurrence" open>') == 1
    )
    assert sho.get("/static/growing_form.js").status_code == 200


def test_fir_form_submitted_by_htmx_gets_the_case_page_itself(node: Node, sho: TestClient) -> None:
    """Submitted by htmx (hx-boost sends HX-Boosted), the answer is the new case's page with
    its address for the history (HX-Push-Url), not a redirect; submitted without script, the
    redirect to that same address. A refusal is the form again, 400, either way."""
    token = re.search(r'name="csrf-token" content="([^"]*)"', sho.get("/fir/new").text)
    assert token
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    form = theft_form(complainant_name="Boosted Complainant")
    answer = sho.post(
        "/fir/new", data={**form, "csrf_token": token[1]}, headers=boosted, follow_redirects=False
    )
    assert answer.status_code == 200, answer.text[:2000]
    pushed = answer.headers["HX-Push-Url"]
    assert re.fullmatch(r"/case/\d+-\d{4}\?registered=1", pushed), pushed
    assert "Boosted Complainant" in answer.text and 'class="flash' in answer.text
    assert sho.get(pushed).status_code == 200  # the address a reload asks for
    plain = post_form(sho, "/fir/new", theft_form(complainant_name="Plain Complainant"))
    assert plain.status_code == 303
    assert re.fullmatch(r"/case/\d+-\d{4}\?registered=1", plain.headers["location"])
    refused = sho.post(
        "/fir/new",
        data={**theft_form(section_0="BNS 115(2)"), "csrf_token": token[1]},
        headers=boosted,
        follow_redirects=False,
    )
    assert refused.status_code == 400 and "HX-Push-Url" not in refused.headers
    assert 'id="problems"' in refused.text
