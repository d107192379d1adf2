"""Register downloads (`node.web.pages.register_exports`) over a real station and real officer
accounts: a signed-in officer gets the General Diary of a period as PDF (with the Malayalam
names as written) and as streamed CSV; a register not kept, a bad period, no session or a role
without the General Diary is refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

import pytest
from pypdf import PdfReader

from node.records.validation import IST
from node.station import registers
from node.station.pdf_fonts import find_fonts, shaping_available
from tests.web.support import Node, TestClient, login, open_kalamassery, web_node

NAMES = ("അനിൽ കുമാർ", "ജെസ്സി ജോസഫ്")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("register-exports")
    made = web_node(tmp, open_kalamassery(tmp))
    for name in NAMES:
        registers.write_gd(made.station, "PEN410001", "information", f"{name} visited")
    yield made
    made.close()


@pytest.fixture(scope="module")
def officer(node: Node) -> TestClient:
    return login(node, "PEN410001", "gd_writer")


def today() -> str:
    return datetime.now(IST).date().isoformat()


def test_gd_register_pdf_for_a_signed_in_officer(node: Node, officer: TestClient) -> None:
    response = officer.get("/registers/gd.pdf", params={"from": today(), "to": today()})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        f'filename="gd-register-{today()}-{today()}.pdf"' in response.headers["content-disposition"]
    )
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "General Diary" in text
    if find_fonts().has_malayalam and shaping_available():
        assert all(name in text for name in NAMES)
    ml = officer.get("/registers/gd.pdf", params={"lang": "ml"})  # today, by default
    assert ml.status_code == 200 and ml.content.startswith(b"%PDF")


def test_gd_register_csv_streams_every_row(node: Node, officer: TestClient) -> None:
    response = officer.get("/registers/gd.csv", params={"from": today(), "to": today()})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "GD No." and len(rows) >= len(NAMES) + 1
    assert {f"{name} visited" for name in NAMES} <= {r[3] for r in rows[1:]}


def test_register_downloads_refuse_what_they_cannot_give(node: Node, officer: TestClient) -> None:
    response = officer.get("/registers/daybook.pdf")
    assert response.status_code in (400, 404)
    assert officer.get("/registers/gd.csv", params={"from": "2026-02-30"}).status_code == 400
    anonymous = TestClient(node.app).get("/registers/gd.pdf", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    analyst = login(node, "PEN410009", "scrb_analyst", jurisdiction="kerala/ernakulam-city/")
    assert analyst.get("/registers/gd.pdf").status_code == 403
