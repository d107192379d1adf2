"""The process register on the web (`node.web.pages.processes`) over a real station and real
officer accounts: a summons received through the form is listed and served, a return without
its reason is refused with the station's message and nothing written, the NCRs are forwarded,
and the page speaks Malayalam."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from node.index import processes as register
from node.records.validation import IST
from node.station import registers
from protos import records_pb2
from tests.web.support import Node, login, open_kalamassery, post_form, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("processes")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_processes_page_receive_serve_return_forward(node: Node) -> None:
    sho = login(node, "PEN420001", "sho")
    returnable = (datetime.now(IST).date() + timedelta(days=5)).isoformat()
    summons = {
        "process_type": "summons", "court": "JFCM Kalamassery", "court_case_number": "CC 1/2026",
        "name": "Suresh K", "relation": "S/o", "relative_name": "Kumaran",
        "address": "HMT Colony", "returnable_date": returnable,
    }  # fmt: skip
    answer = post_form(sho, "/processes/receive", summons, page="/processes")
    assert answer.status_code == 303, answer.text
    (row,) = register.process_register(node.station.index)
    page = sho.get("/processes").text
    assert row.process_number in page and "S/o Kumaran" in page
    assert row.process_number in sho.get("/due").text  # returnable within the week
    size = node.station.ledger.size()
    step = {"process_number": row.process_number, "outcome": "returned", "note": ""}
    answer = post_form(sho, "/processes/step", step, page="/processes")
    assert answer.status_code == 400 and "the reason the process is returned" in answer.text
    assert node.station.ledger.size() == size
    step.update(outcome="done", note="Served in person")
    assert post_form(sho, "/processes/step", step, page="/processes").status_code == 303
    served = register.find_process(node.station.index, row.process_number)
    assert served is not None and served.status == "served"
    registers.register_ncr(
        node.station, "PEN420001",
        records_pb2.NonCognizableReport(
            informant=records_pb2.Person(name="Anil Kumar"),
            sections=[records_pb2.ActSection(act="BNS", section="115(2)")],
            brief_facts="Slapped during a quarrel over parking.",
        ),
    )  # fmt: skip
    answer = post_form(sho, "/processes/ncr-forward", {"magistrate": "JFCM"}, page="/processes")
    assert answer.status_code == 303, answer.text
    assert register.ncrs_not_forwarded(node.station.index) == []
    assert "പ്രോസസ് രജിസ്റ്റർ" in sho.get("/processes", params={"lang": "ml"}).text
    due = sho.get("/due").text
    # The summons is served, the NCRs forwarded: no due item links to the process register
    # (the navigation bar still does).
    assert "PRC/" not in due and "#ncr-forwarding" not in due
