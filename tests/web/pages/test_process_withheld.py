"""The process register page names a person the law protects as withheld (over a real station and
a real officer account): a summons for the victim of a sexual offence, received through the
form with the case's FIR number, is held by the sealed identity's commitment, so the row says
"[identity withheld by law]", in English and Malayalam, and never the name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from node.index import processes as register
from node.records.validation import IST
from node.station import registers
from tests.node.support import VICTIM, sexual_offence_fir
from tests.web.support import Node, login, open_kalamassery, post_form, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("process-withheld")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_a_protected_person_is_listed_as_withheld(node: Node) -> None:
    fir = registers.register_fir(node.station, "PEN420001", sexual_offence_fir()).ref
    sho = login(node, "PEN420001", "sho")
    summons = {
        "process_type": "summons", "court": "JFCM Kalamassery", "court_case_number": "SC 9/2026",
        "name": VICTIM, "address": "Near the railway underpass",
        "returnable_date": (datetime.now(IST).date() + timedelta(days=10)).isoformat(),
        "fir_number": fir,
    }  # fmt: skip
    answer = post_form(sho, "/processes/receive", summons, page="/processes")
    assert answer.status_code == 303, answer.text
    (row,) = register.process_register(node.station.index)
    assert row.name == ""  # held by the sealed commitment
    page = sho.get("/processes").text
    assert row.process_number in page and "[identity withheld by law]" in page
    assert VICTIM not in page and VICTIM.split()[0] not in page
    malayalam = sho.get("/processes", params={"lang": "ml"}).text
    assert "നിയമപ്രകാരം വ്യക്തിവിവരങ്ങൾ മറച്ചിരിക്കുന്നു" in malayalam
