"""The history-sheet register and the MO form on the web (`node.web.pages.history_sheets`,
`node.web.pages.cases`) over a real station and real officer accounts: a sheet opened through
the form is listed and exported, a sheet without its order is refused with every problem and
nothing written, a review and a closing each add an entry and the sheet stays listed closed, an
MO recorded on the case page shows on it, the search page finds the sheeted person and the MO,
and the pages speak Malayalam."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from node.index import history as register
from node.records.validation import IST
from node.station import registers
from node.web.urls import case_url
from protos import records_pb2
from tests.web.support import Node, login, open_kalamassery, post_form, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("history")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def burglary(node: Node) -> str:
    fir = records_pb2.Fir(
        occurrence_from_ms=int(datetime.now(IST).timestamp() * 1000) - 3_600_000,
        place_of_occurrence=records_pb2.Place(description="Locked house, HMT Colony"),
        sections=[records_pb2.ActSection(act="BNS", section="305(a)")],
        brief_facts="The house was broken into by removing the window grill; gold taken.",
        persons=[
            records_pb2.PersonInCase(
                person=records_pb2.Person(name="Rajesh K", age=41, sex="M"),
                role=records_pb2.COMPLAINANT,
            ),
            records_pb2.PersonInCase(
                person=records_pb2.Person(
                    name="Sudheesh Kumar", relation="S/o", relative_name="Gopalan", age=34
                ),
                role=records_pb2.ACCUSED,
                accused_code="A1",
            ),
        ],
    )
    return registers.register_fir(node.station, "PEN420001", fir).ref


def test_history_sheet_page_open_review_close_and_csv(node: Node) -> None:
    sho = login(node, "PEN420101", "sho")
    fir_number = burglary(node)
    today = datetime.now(IST).date().isoformat()
    size = node.station.ledger.size()
    bare = {"name": "Sudheesh Kumar", "address": "HMT Colony", "category": "known_depredator"}
    answer = post_form(sho, "/history-sheets/open", bare, page="/history-sheets")
    assert answer.status_code == 400
    for expected in ("grounds for opening the sheet", "reference of the order", "date of the"):
        assert expected in answer.text
    assert node.station.ledger.size() == size
    opening = {
        **bare, "relation": "S/o", "relative_name": "Gopalan", "age": "34",
        "aliases": "Kallan Sudhi", "marks": "mole on the left cheek",
        "grounds": "House-breakings by night.", "case_0": fir_number,
        "case_1": "FIR No. 88/2025", "office_1": "ps-aluva",
        "ordered_by": "PEN900001", "ordered_by_rank": "sp", "order_reference": "No. 12/HS",
        "order_date": today, "time_of_day": "night", "entry_method": "window_grill_removed",
        "taken_gold_ornaments": "1",
    }  # fmt: skip
    answer = post_form(sho, "/history-sheets/open", opening, page="/history-sheets")
    assert answer.status_code == 303, answer.text
    (row,) = register.sheets(node.station.index.engine)
    page = sho.get("/history-sheets").text
    assert row.sheet_number in page and "Kallan Sudhi" in page and "FIR No. 88/2025" in page
    assert 'href="/history-sheets"' in page  # the navigation links the register
    review = {
        "sheet_number": row.sheet_number, "action": "review", "ordered_by": "PEN900002",
        "ordered_by_rank": "sdpo", "order_reference": "No. 3/SDPO", "order_date": today,
        "text": "Still active in the area.",
    }  # fmt: skip
    assert (
        post_form(sho, "/history-sheets/review", review, page="/history-sheets").status_code == 303
    )
    close = {**review, "action": "close", "ordered_by_rank": "sp", "text": "Left the State."}
    assert (
        post_form(sho, "/history-sheets/review", close, page="/history-sheets").status_code == 303
    )
    assert node.station.ledger.size() == size + 3
    (closed,) = register.sheets(node.station.index.engine)
    assert not closed.open and closed.closing_note == "Left the State."
    csv = sho.get("/history-sheets.csv")
    assert csv.status_code == 200 and "text/csv" in csv.headers["content-type"]
    assert row.sheet_number in csv.text and "closed" in csv.text and "Left the State." in csv.text
    ml = sho.get("/history-sheets", params={"lang": "ml"}).text
    assert "ഹിസ്റ്ററി ഷീറ്റുകൾ" in ml and "അറിയപ്പെടുന്ന കവർച്ചക്കാരൻ" in ml
    # The search page finds the sheeted person by a misspelt name, and says so on person search.
    found = sho.get("/search", params={"q": "Sudeesh Kumar", "kind": "history"}).text
    assert row.sheet_number in found and "closed" in found
    people = sho.get("/search", params={"q": "Sudheesh Kumar", "kind": "person"}).text
    assert f"history-sheeted ({row.sheet_number}, closed)" in people
    # A hit links to the sheet's record page: the opening entry, proved.
    record = sho.get(case_url(row.sheet_number))
    assert record.status_code == 200 and "Sudheesh Kumar" in record.text
    # The register prints with the others (the sheets standing today: this one, closed today).
    assert 'href="/registers/history.pdf' in page
    printed = sho.get("/registers/history.csv")
    assert printed.status_code == 200 and row.sheet_number in printed.text


def test_case_page_mo_form_records_and_shows_the_mo(node: Node) -> None:
    sho = login(node, "PEN420102", "sho")
    fir_number = burglary(node)
    url = case_url(fir_number)
    assert 'id="form-mo"' in sho.get(url).text
    size = node.station.ledger.size()
    bad = {"accused_codes": "A9", "time_of_day": "night"}
    answer = post_form(sho, f"{url}/casework/mo", bad, page=url)
    assert answer.status_code == 400 and "has no accused A9" in answer.text
    assert node.station.ledger.size() == size
    mo = {
        "accused_codes": "A1", "time_of_day": "night", "place_type": "locked_house",
        "entry_method": "window_grill_removed", "taken_gold_ornaments": "1",
        "note": "Came on a motorcycle",
    }  # fmt: skip
    answer = post_form(sho, f"{url}/casework/mo", mo, page=url)
    assert answer.status_code == 303, answer.text
    page = sho.get(url).text
    assert 'id="mo-table"' in page and "Window grill removed" in page
    assert "ജനൽ കമ്പി ഇളക്കി" in sho.get(url, params={"lang": "ml"}).text
    found = sho.get("/search", params={"q": "entry:window_grill_removed", "kind": "mo"}).text
    assert fir_number in found and "Sudheesh Kumar" in found
