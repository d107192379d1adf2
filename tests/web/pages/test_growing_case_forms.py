"""The case page's investigation forms that grow with the case (`node.web.case_forms`), posted
as the browser posts them after rows were added and removed, over a real station: an arrest memo
with several accused (each their own person informed and clock), a seizure of 40 items with its
witnesses, a diary day with several statements and documents, a charge sheet with its sections
and accused; a row's problem is named by its row and shown beside it, nothing written; the
page shows the rows sent back and the draft's key; the readers alone, without a station."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from node.index import casework as casework_index
from node.index import investigation as held
from node.records.validation import IST
from node.station import registers
from node.web import case_forms
from node.web.forms import RowsRead
from node.web.urls import ref_slug
from protos import records_pb2
from tests.node.support import person, theft_fir
from tests.web.support import Node, TestClient, login, open_kalamassery, post_form, web_node

MEMO = {
    "place": "Kalamassery market",
    "grounds": "Seen in the video of the riot throwing stones at the shops",
    "attesting_witness": "Ramesh K, shopkeeper",
}
ITEMS = 40


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("growing")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN430001", "sho")


def new_case(node: Node, accused: int = 0) -> tuple[str, str]:
    """A theft FIR naming `accused` accused (A1...): its number and its page."""
    fir = theft_fir()
    if accused:
        del fir.persons[1:]
        for n in range(1, accused + 1):
            named = person(f"Accused {n}", records_pb2.ACCUSED)
            named.accused_code = f"A{n}"
            fir.persons.append(named)
    ref = registers.register_fir(node.station, "PEN430001", fir).ref
    return ref, f"/case/{ref_slug(ref)}"


def local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_an_arrest_memo_of_three_accused_each_with_their_clock(node: Node, sho: TestClient) -> None:
    ref, case = new_case(node)
    first = datetime.now(IST) - timedelta(hours=30)
    form = dict(MEMO, at=local(first))
    # Rows 0, 2 and 5 (rows 1, 3 and 4 were removed; row 3 left empty is skipped).
    for index, (code, name, informed, hours) in {
        0: ("A1", "Rioter One", "Latha, mother", 0),
        2: ("a2", "Rioter Two", "Shyla, wife", 10),
        5: ("A3", "Rioter Three", "Mani, father", 20),
    }.items():
        form |= {
            f"arrested_{index}_accused_code": code,
            f"arrested_{index}_name": name,
            f"arrested_{index}_informed_person": informed,
            f"arrested_{index}_at": local(first + timedelta(hours=hours)) if hours else "",
        }
    form["arrested_3_name"] = ""
    size = node.station.ledger.size()
    answer = post_form(sho, f"{case}/casework/arrest", form, page=case)
    assert answer.status_code == 303, answer.text
    assert node.station.ledger.size() == size + 3
    rows = {r.accused_code: r for r in held.arrests(node.station.index, ref)}
    assert sorted(rows) == ["A1", "A2", "A3"]
    due = {code: r.production_due_ms for code, r in rows.items()}
    assert due["A2"] - due["A1"] == 10 * 3_600_000 and due["A3"] - due["A1"] == 20 * 3_600_000
    page = sho.get(answer.headers["location"]).text
    key = f'data-draft-done="cctns-draft:PEN430001:{ref}:arrest"'
    assert key in page  # the page the memo lands on drops its draft in the browser


def test_an_arrest_row_without_its_person_informed_writes_nothing(
    node: Node, sho: TestClient
) -> None:
    ref, case = new_case(node)
    form = dict(MEMO)
    form |= {"arrested_0_name": "Rioter One", "arrested_0_informed_person": "Latha, mother"}
    form |= {"arrested_1_name": "Rioter Two", "arrested_1_age": "old"}
    size = node.station.ledger.size()
    answer = post_form(sho, f"{case}/casework/arrest", form, page=case)
    assert answer.status_code == 400
    assert "arrested person 2: age must be a number" in answer.text
    # The row's problem beside the row, every row sent back, the form keeping its draft.
    assert 'id="arrested_1_problems"' in answer.text
    assert 'value="Rioter Two"' in answer.text and 'value="Latha, mother"' in answer.text
    assert 'id="form-arrest"' in answer.text.split('data-refused="1"', 1)[0]
    answer = post_form(sho, f"{case}/casework/arrest", {**form, "arrested_1_age": "30"}, page=case)
    assert answer.status_code == 400
    assert "arrest 2: the person named to be informed" in answer.text
    assert node.station.ledger.size() == size
    assert held.arrests(node.station.index, ref) == []


def test_a_seizure_of_40_items_and_its_witnesses(node: Node, sho: TestClient) -> None:
    ref, case = new_case(node)
    form = {"place": "The accused's rented room", "video_reference": "VID/KLM/2026/301"}
    for n in range(ITEMS):
        form |= {f"item_{n}_category": "gold", f"item_{n}_description": f"Gold ring {n + 1:02d}"}
    form |= {"item_7_value": "45,000", "witness_0_name": "Ramesh K", "witness_2_name": "Abdul S"}
    answer = post_form(sho, f"{case}/casework/seizure", form, page=case)
    assert answer.status_code == 303, answer.text
    items = held.property_register(node.station.index, ref)
    numbered = sorted((int(i.item_ref.rsplit("-", 1)[1]), i.description) for i in items)
    assert numbered == [(n + 1, f"Gold ring {n + 1:02d}") for n in range(ITEMS)]
    assert {i.witnesses for i in items} == {"Ramesh K; Abdul S"}
    page = sho.get(case).text
    assert page.count('<template id="item-template">') == 1
    assert 'data-draft-key="cctns-draft:PEN430001:' + ref + ':seizure"' in page

    # An item with a bad value: named by its row, the 40 rows come back, nothing written.
    size = node.station.ledger.size()
    answer = post_form(
        sho, f"{case}/casework/seizure", {**form, "item_39_value": "lots"}, page=case
    )
    assert answer.status_code == 400 and "item 40: value must be a whole number" in answer.text
    assert 'id="item_39_problems"' in answer.text and 'value="Gold ring 40"' in answer.text
    assert node.station.ledger.size() == size


def test_a_diary_day_with_statements_and_documents(node: Node, sho: TestClient) -> None:
    ref, case = new_case(node)
    form = {"text": "Examined the shopkeepers of the market", "places": "Kalamassery market"}
    for n in range(4):
        form |= {
            f"statement_{n}_witness_name": f"Shopkeeper {n + 1}",
            f"statement_{n}_statement": f"Saw the mob at {n + 9} pm",
        }
    form |= {"document_0_title": "CCTV footage, gate", "document_1_title": "Bill book, shop 3"}
    answer = post_form(sho, f"{case}/casework/diary", form, page=case)
    assert answer.status_code == 303, answer.text
    events = casework_index.case_events(node.station.index, ref)
    (index,) = [e.ledger_index for e in events if e.kind == "case_diary"]
    day = node.station.ledger.body(index).case_event.diary
    assert [s.witness.name for s in day.statements] == [f"Shopkeeper {n}" for n in range(1, 5)]
    assert list(day.documents) == ["CCTV footage, gate", "Bill book, shop 3"]


def test_a_charge_sheet_with_its_sections_and_accused(node: Node, sho: TestClient) -> None:
    _, case = new_case(node, accused=3)
    form = {
        "report_type": "charge_sheet",
        "offence_0_section": "BNS 303(2)",
        "offence_1_section": "BNS 3(5)",
        "charged_0_accused_code": "a1",
        "charged_1_accused_code": "A3",
    }
    answer = post_form(sho, f"{case}/casework/final-report", form, page=case)
    assert answer.status_code == 303, answer.text
    timeline = sho.get(case).text.split('<ol class="timeline">', 1)[1]
    assert "charge_sheet u/s BNS 303(2), BNS 3(5) against A1 A3" in timeline
    refused = post_form(
        sho, f"{case}/casework/final-report", {**form, "charged_2_accused_code": "A9"}, page=case
    )
    assert refused.status_code == 400 and "has no accused A9" in refused.text


def test_the_readers_without_a_station() -> None:
    read = RowsRead()
    arrests = case_forms.arrests(
        {
            **MEMO,
            "notice_to_appear": "on",
            "arrested_0_name": "One",
            "arrested_4_name": "Two",
            "arrested_4_informed_person": "Wife",
            "arrested_2_relation": "",
        },
        read,
    )
    assert read.problems == []
    assert [(a.person.person.name, a.memo.informed_person) for a in arrests] == [
        ("One", ""),
        ("Two", "Wife"),
    ]
    assert all(a.memo.notice_to_appear and a.memo.place == MEMO["place"] for a in arrests)
    # A client that sends no rows: one person, as the form was before it grew.
    (single,) = case_forms.arrests({"name": "Solo", "informed_person": "Son"}, RowsRead())
    assert (single.person.person.name, single.memo.informed_person) == ("Solo", "Son")
    items, mahazar = case_forms.seizure(
        {"category": "phone", "witnesses": "A\n\nB\n", "place": "P"}, RowsRead()
    )
    assert [i.category for i in items] == ["phone"] and list(mahazar.witnesses) == ["A", "B"]
    read = RowsRead()
    sections, charged = case_forms.final_report(
        {"offence_0_section": "nonsense!", "offence_1_section": "BNS 303(2)"}, read
    )
    assert [s.section for s in sections] == ["303(2)"] and charged == []
    assert list(read.row_problems) == ["offence_0_"]
    assert case_forms.shown_rows({"action": "seizure", "item_3_category": "x"})["item"] == [3]
    assert case_forms.shown_rows({"item_3_category": "x"})["item"] == [0]


def test_a_judgment_about_several_accused_and_sections(node: Node, sho: TestClient) -> None:
    ref, case = new_case(node, accused=3)
    assert 'id="form-disposal"' in sho.get(case).text
    form = {
        "result": "convicted",
        "court": "JFCM Kalamassery",
        "case_number": "CC 231/2026",
        "judgment_date": datetime.now(IST).date().isoformat(),
        "sentence": "RI 1 year and fine Rs 5,000 each",
        "judged_0_accused_code": "A1",
        "judged_3_accused_code": "a3",
        "cited_0_section": "BNS 303(2)",
        "cited_2_section": "BNS 3(5)",
    }
    size = node.station.ledger.size()
    refused = post_form(
        sho, f"{case}/casework/disposal", {**form, "judged_4_accused_code": "A9"}, page=case
    )
    assert refused.status_code == 400 and "A9" in refused.text
    assert 'value="a3"' in refused.text or 'value="A3"' in refused.text
    assert node.station.ledger.size() == size
    answer = post_form(sho, f"{case}/casework/disposal", form, page=case)
    assert answer.status_code == 303, answer.text
    events = casework_index.case_events(node.station.index, ref)
    (index,) = [e.ledger_index for e in events if e.kind == "court_disposal"]
    judgment = node.station.ledger.body(index).case_event.disposal
    assert list(judgment.accused_codes) == ["A1", "A3"]
    assert [f"{s.act} {s.section}" for s in judgment.sections] == ["BNS 303(2)", "BNS 3(5)"]
    timeline = sho.get(case).text.split('<ol class="timeline">', 1)[1]
    assert "Court&#39;s judgment" in timeline and "CC 231/2026" in timeline and "A1 A3" in timeline


def test_an_appeal_result_and_a_proclamation_on_two_accused(node: Node, sho: TestClient) -> None:
    """The judgment form records an appellate court's result too (the event "appeal_result"),
    and one wanted notice names several accused ("A2 A3": one proclamation)."""
    ref, case = new_case(node, accused=3)
    today = datetime.now(IST).date().isoformat()
    trial = {
        "result": "convicted",
        "court": "JFCM Kalamassery",
        "case_number": "CC 232/2026",
        "judgment_date": today,
        "sentence": "RI 1 year",
        "judged_0_accused_code": "A1",
        "cited_0_section": "BNS 303(2)",
    }
    assert post_form(sho, f"{case}/casework/disposal", trial, page=case).status_code == 303
    appeal = {
        **trial,
        "appeal": "1",
        "result": "reversed",
        "court": "Sessions Court Ernakulam",
        "case_number": "Crl.A 45/2026",
        "sentence": "",
    }
    answer = post_form(sho, f"{case}/casework/disposal", appeal, page=case)
    assert answer.status_code == 303, answer.text
    kinds = [e.kind for e in casework_index.case_events(node.station.index, ref)]
    assert kinds.count("court_disposal") == 1 and kinds.count("appeal_result") == 1
    wanted = {
        "accused_code": "a2, A3",
        "basis": "lookout",
        "text": "Absconding since the offence; seen near Aluva",
    }
    answer = post_form(sho, f"{case}/casework/wanted", wanted, page=case)
    assert answer.status_code == 303, answer.text
    events = casework_index.case_events(node.station.index, ref)
    (index,) = [e.ledger_index for e in events if e.kind == "wanted"]
    notice = node.station.ledger.body(index).case_event
    assert [p.accused_code for p in notice.persons] == ["A2", "A3"]
