"""Wanted persons on the web (`node.web.pages.cases`, `node.web.pages.registers`), over a real
station and real officer accounts: the case page's form declares an accused of the FIR wanted
(by accused code: the name and relative come from the FIR) and refuses bad input with every
problem named and nothing written; the register lists him (and its CSV), and drops him once the
case records his arrest; a withdrawal from the case page ends the status too."""

from __future__ import annotations

import csv
import io as text_io
from collections.abc import Iterator

import pytest

from node.index import casework as casework_index
from node.station import registers
from node.web.urls import ref_slug
from protos import records_pb2
from tests.node.support import person, theft_fir
from tests.web.support import Node, TestClient, login, open_kalamassery, post_form, web_node

ORDER = "Proclamation dated 2026-11-20 in CC 412/2026"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("wanted")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN410001", "sho")


def fir_with_accused(node: Node) -> str:
    fir = theft_fir()
    del fir.persons[1:]
    accused = person("Suresh Kumar", records_pb2.ACCUSED, relation="S/o", relative_name="Gopalan")
    accused.accused_code = "A1"
    fir.persons.append(accused)
    return registers.register_fir(node.station, "PEN410001", fir).ref


def test_wanted_form_refuses_bad_input_and_writes_nothing(node: Node, sho: TestClient) -> None:
    case = f"/case/{ref_slug(fir_with_accused(node))}"
    assert 'id="form-wanted"' in sho.get(case).text
    size = node.station.ledger.size()
    response = post_form(
        sho,
        f"{case}/casework/wanted",
        {"accused_code": "A9", "basis": "proclamation", "court": ORDER, "text": " "},
        page=case,
    )
    assert response.status_code == 400
    assert "has no accused A9 (its accused: A1)" in response.text
    assert "the grounds (why the accused is wanted) is required" in response.text
    response = post_form(
        sho,
        f"{case}/casework/wanted",
        {"accused_code": "A1", "basis": "warrant", "court": "", "text": "absconding"},
        page=case,
    )
    assert response.status_code == 400
    assert "court&#39;s order or warrant" in response.text
    assert node.station.ledger.size() == size
    assert casework_index.wanted_persons(node.station.index) == []


def test_wanted_register_lists_him_until_his_arrest(node: Node, sho: TestClient) -> None:
    ref = fir_with_accused(node)
    case = f"/case/{ref_slug(ref)}"
    response = post_form(
        sho,
        f"{case}/casework/wanted",
        {
            "accused_code": "a1",
            "basis": "proclamation",
            "court": ORDER,
            "text": "absconding since the occurrence",
        },
        page=case,
    )
    assert response.status_code == 303
    page = sho.get(case).text
    assert "A1 Suresh Kumar S/o Gopalan" in page and 'id="form-wanted-withdrawn"' in page
    register = sho.get("/wanted")
    assert register.status_code == 200 and 'href="/wanted"' in register.text
    assert ref in register.text and "absconding since the occurrence" in register.text
    download = sho.get("/wanted.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(text_io.StringIO(download.text)))
    assert rows[0][:3] == ["fir_number", "accused_code", "name"]
    mine = [r for r in rows[1:] if r[0] == ref]
    assert [(r[1], r[2], r[4], r[6], r[7]) for r in mine] == [
        ("A1", "Suresh Kumar", "Gopalan", "proclamation", ORDER)
    ]

    response = post_form(
        sho,
        f"{case}/casework/arrest",
        {
            "name": "Suresh Kumar",
            "relation": "S/o",
            "relative_name": "Gopalan",
            "accused_code": "A1",
            "place": "His house",
            "grounds": "Named in the proclamation",
            "attesting_witness": "Ramesh K, neighbour",
            "informed_person": "Shyla, wife",
        },
        page=case,
    )
    assert response.status_code == 303
    assert ref not in sho.get("/wanted").text
    assert ref not in sho.get("/wanted.csv").text


def test_wanted_withdrawn_from_the_case_page(node: Node, sho: TestClient) -> None:
    ref = fir_with_accused(node)
    case = f"/case/{ref_slug(ref)}"
    form = {"accused_code": "A1", "basis": "lookout", "text": "not found at his address"}
    assert post_form(sho, f"{case}/casework/wanted", form, page=case).status_code == 303
    assert ref in sho.get("/wanted").text
    response = post_form(
        sho, f"{case}/casework/wanted-withdrawn", {"accused_code": "A1"}, page=case
    )
    assert response.status_code == 400 and "the reason the wanted notice ends" in response.text
    response = post_form(
        sho,
        f"{case}/casework/wanted-withdrawn",
        {"accused_code": "A1", "text": "surrendered before the court"},
        page=case,
    )
    assert response.status_code == 303
    assert ref not in sho.get("/wanted").text
    timeline = sho.get(case).text
    assert "Declared wanted" in timeline and "Wanted notice withdrawn" in timeline
