"""Transfers of investigation and altered sections on the web (`node.web.pages.transfers`) over
two real stations and real officer accounts: sections altered from the case page show as the
sections now beside the FIR's own (the FIR entry unchanged), a wrong alteration comes back with
its message and what was typed; the investigation transferred from the case page (the node's
federation call standing in for the gRPC one: the two stations' own commands, in this process)
shows the banner, hides the investigation forms and refuses an arrest; the unit lists the case
on its "cases taken over" page; a node with no federation shows the command line instead; the
pages speak Malayalam."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.errors import PeerUnavailable
from ledger.log import now_ms
from node.config import DataDir
from node.index import transfers as moved
from node.records.validation import ist_date
from node.station import case_transfer, registers
from node.station.core import Station
from node.web.urls import case_url, ref_slug
from protos import records_pb2
from tests.node.support import VICTIM, sexual_offence_fir, theft_fir
from tests.web.support import Node, TestClient, login, open_kalamassery, post_form, web_node

UNIT = "cctns.in/kerala/crime-branch/cb-ernakulam"
UNIT_ID = "kerala/crime-branch/cb-ernakulam"
TODAY = ist_date(now_ms()).isoformat()
ORDER = {
    "to_node_id": UNIT_ID,
    "to_unit": "Crime Branch, Ernakulam",
    "ordered_by": "State Police Chief",
    "order_reference": "D3/4512/2026/PHQ",
    "order_date": TODAY,
    "reason": "Inter-district gang",
}
ORDER_MESSAGE = records_pb2.CaseTransfer(**ORDER)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    tmp = tmp_path_factory.mktemp("transfers")
    sender = web_node(tmp, open_kalamassery(tmp))
    unit_dir = DataDir(tmp / "unit")
    unit_dir.create(origin=UNIT, district="Ernakulam City", station="Crime Branch, Ernakulam")
    (tmp / "unit-web").mkdir()
    unit = web_node(tmp / "unit-web", Station.open(unit_dir))
    yield sender, unit
    sender.close()
    unit.close()


@pytest.fixture(scope="module")
def sho(nodes: tuple[Node, Node]) -> TestClient:
    return login(nodes[0], "PEN420001", "sho")


def new_case(node: Node) -> tuple[str, str]:
    ref = registers.register_fir(node.station, "PEN420001", theft_fir()).ref
    return ref, f"/case/{ref_slug(ref)}"


def test_sections_altered_from_the_case_page(nodes: tuple[Node, Node], sho: TestClient) -> None:
    sender, _ = nodes
    ref, case = new_case(sender)
    index = sender.station.index.lookups.record_index(ref)
    assert index is not None
    leaf = sender.station.ledger.leaf(index)
    size = sender.station.ledger.size()
    wrong = {
        "added": "BNS 309(4)",
        "dropped": "BNS 64(1)",
        "reason": "Snatched with force",
        "court": "JFCM Kalamassery",
        "report_date": TODAY,
    }
    answer = post_form(sho, f"{case}/alter-sections", wrong, page=case)
    assert answer.status_code == 400
    assert "BNS 64(1) is not among the case&#39;s sections now" in answer.text
    assert 'value="BNS 309(4)"' in answer.text
    assert sender.station.ledger.size() == size

    answer = post_form(sho, f"{case}/alter-sections", {**wrong, "dropped": "BNS 303(2)"}, page=case)
    assert answer.status_code == 303, answer.text
    page = sho.get(case).text
    assert '<td id="sections-fir">BNS 303(2)</td>' in page
    assert '<td id="sections-now">BNS 309(4) <span class="badge">altered</span>' in page
    assert "reported to JFCM Kalamassery on " + TODAY in page
    assert sender.station.ledger.leaf(index) == leaf
    malayalam = sho.get(case, params={"lang": "ml"}).text
    assert "ഇപ്പോഴത്തെ വകുപ്പുകൾ" in malayalam and "വകുപ്പുകൾ മാറ്റുക" in malayalam


def test_transfer_without_federation_shows_the_command(
    nodes: tuple[Node, Node], sho: TestClient
) -> None:
    sender, _ = nodes
    _, case = new_case(sender)
    size = sender.station.ledger.size()
    answer = post_form(sho, f"{case}/transfer", ORDER, page=case)
    assert answer.status_code == 200
    assert "cctns case transfer" in answer.text and "--to kerala/crime-branch/cb-ernakulam" in (
        answer.text
    )
    assert sender.station.ledger.size() == size


def test_transfer_from_the_case_page_and_the_units_list(
    nodes: tuple[Node, Node], sho: TestClient
) -> None:
    sender, unit = nodes
    ref, case = new_case(sender)

    async def hand_over(number: str, order: records_pb2.CaseTransfer, officer: str) -> str:
        # What node/peers/clients.py hand_over_case does, without the network between.
        handover = case_transfer.transfer_case(sender.station, officer, number, order)
        key = sender.station.ledger.public_key, sender.station.config.origin
        acceptance = case_transfer.accept_case(unit.station, "PEN900009", handover, *key)
        back = unit.station.ledger.public_key, unit.station.config.origin
        case_transfer.record_case_acceptance(sender.station, officer, acceptance, *back)
        return "taken over"

    sender.app.state.context.transfer_case = hand_over
    try:
        missing = post_form(sho, f"{case}/transfer", {**ORDER, "ordered_by": ""}, page=case)
        assert missing.status_code == 400 and "who ordered the transfer" in missing.text
        answer = post_form(sho, f"{case}/transfer", ORDER, page=case)
        assert answer.status_code == 303, answer.text
    finally:
        sender.app.state.context.transfer_case = None
    page = sho.get(case).text
    assert (
        f"Investigation transferred to Crime Branch, Ernakulam on {TODAY}, order "
        "D3/4512/2026/PHQ of State Police Chief." in page
    )
    assert 'id="transfer-accepted"' in page
    assert 'id="form-arrest"' not in page and 'id="form-transfer"' not in page
    arrest = {"accused_code": "A1", "name": "Manoj P", "grounds": "x", "attesting_witness": "y",
              "informed_person": "z"}  # fmt: skip
    refused = post_form(sho, f"{case}/casework/arrest", arrest, page=case)
    assert refused.status_code == 400
    assert "transferred to Crime Branch, Ernakulam" in refused.text
    assert moved.transfer_out(sender.station.index, ref) is not None

    cb = login(unit, "PEN900009", "sho", station_node_id=UNIT_ID)
    listed = cb.get("/cases-taken-over")
    assert listed.status_code == 200
    row = listed.text.split('id="cases-taken-over"', 1)[1]
    assert ref in row and "Kalamassery" in row and "D3/4512/2026/PHQ" in row
    assert "ഏറ്റെടുത്ത കേസുകൾ" in cb.get("/cases-taken-over", params={"lang": "ml"}).text
    assert ref in sho.get("/cases-taken-over").text.split('id="cases-transferred-out"', 1)[1]


def test_transfer_sent_again_when_the_unit_was_unreachable(
    nodes: tuple[Node, Node], sho: TestClient
) -> None:
    sender, unit = nodes
    ref, case = new_case(sender)
    reachable = False

    async def hand_over(number: str, order: records_pb2.CaseTransfer, officer: str) -> str:
        handover = case_transfer.transfer_case(sender.station, officer, number, order)
        if not reachable:
            raise PeerUnavailable("kerala/crime-branch/cb-ernakulam did not answer")
        key = sender.station.ledger.public_key, sender.station.config.origin
        acceptance = case_transfer.accept_case(unit.station, "PEN900009", handover, *key)
        back = unit.station.ledger.public_key, unit.station.config.origin
        case_transfer.record_case_acceptance(sender.station, officer, acceptance, *back)
        return "taken over"

    sender.app.state.context.transfer_case = hand_over
    try:
        failed = post_form(sho, f"{case}/transfer", ORDER, page=case)
        assert failed.status_code == 400
        assert "the transfer did not complete" in failed.text
        page = sho.get(case).text
        assert 'id="transfer-awaiting"' in page and 'id="form-transfer-resend"' in page
        reachable = True
        size = sender.station.ledger.size()
        again = post_form(sho, f"{case}/transfer", ORDER, page=case)
        assert again.status_code == 303, again.text
        # The transfer entry was not written twice: only the acceptance was added.
        assert sender.station.ledger.size() == size + 1
    finally:
        sender.app.state.context.transfer_case = None
    page = sho.get(case).text
    assert 'id="transfer-accepted"' in page and 'id="form-transfer-resend"' not in page
    sent = moved.transfer_out(sender.station.index, ref)
    assert sent is not None and sent.accepted


def test_unit_reads_the_case_taken_over_with_identities_withheld(nodes: tuple[Node, Node]) -> None:
    sender, unit = nodes
    ref = registers.register_fir(sender.station, "PEN420001", sexual_offence_fir()).ref
    handover = case_transfer.transfer_case(sender.station, "PEN420001", ref, ORDER_MESSAGE)
    key = sender.station.ledger.public_key, sender.station.config.origin
    acceptance = case_transfer.accept_case(unit.station, "PEN900009", handover, *key)
    cb = login(unit, "PEN900010", "sho", station_node_id=UNIT_ID)
    listed = cb.get("/cases-taken-over").text
    detail = f"/cases-taken-over/{acceptance.taken_over.index}"
    assert f'href="{detail}"' in listed
    page = cb.get(detail)
    assert page.status_code == 200
    assert ref in page.text and "BNS 64(1)" in page.text and "Biju Mathew" in page.text
    # The victim, sealed at the sending station, is a commitment here (the unit holds no name).
    assert VICTIM not in page.text and "identity withheld (commitment " in page.text
    assert "Investigation taken over by Crime Branch, Ernakulam" in page.text
    assert cb.get("/cases-taken-over/1").status_code == 404


def test_unit_investigates_the_case_taken_over_from_its_case_page(
    nodes: tuple[Node, Node],
) -> None:
    sender, unit = nodes
    ref = registers.register_fir(sender.station, "PEN420001", theft_fir()).ref
    handover = case_transfer.transfer_case(sender.station, "PEN420001", ref, ORDER_MESSAGE)
    key = sender.station.ledger.public_key, sender.station.config.origin
    acceptance = case_transfer.accept_case(unit.station, "PEN900009", handover, *key)
    sender_size = sender.station.ledger.size()
    case_key = f"{ref} of kerala/ernakulam-city/ps-kalamassery"
    cb = login(unit, "PEN900021", "sho", station_node_id=UNIT_ID)
    page_url = f"/cases-taken-over/{acceptance.taken_over.index}"
    page = cb.get(page_url).text
    # The same forms as a station's case page, posting to the case's key; no court progress
    # (the registering station's), no transfer on, no amendment of another station's FIR.
    action = case_url(case_key)
    assert f'action="{action}/casework/arrest"' in page
    assert f'action="{action}/casework/diary"' in page
    assert f'action="{action}/casework/final-report"' in page
    assert f'action="{action}/alter-sections"' in page
    for absent in ('id="form-court"', 'id="form-transfer"', f'action="{action}/amend"'):
        assert absent not in page
    diary = {"day": TODAY, "text": "Visited the scene with the complainant", "places": "HMT"}
    saved = post_form(cb, f"{action}/casework/diary", diary, page=page_url)
    assert saved.status_code == 303, saved.text
    again = post_form(cb, f"{action}/casework/diary", diary, page=page_url)
    assert again.status_code == 400 and "is written" in again.text
    assert f'action="{action}/casework/arrest"' in again.text  # the case page of the key
    report = {"report_type": "charge_sheet", "sections": "BNS 303(2)", "text": "Charged A1"}
    assert post_form(cb, f"{action}/casework/final-report", report, page=page_url).status_code == (
        303
    )
    shown = cb.get(page_url).text
    assert "Visited the scene with the complainant" in shown
    assert 'id="case-io"' in shown and "charge sheet filed" in shown.lower()
    assert "അന്വേഷണം ഈ യൂണിറ്റിന്റെ ലോഗിൽ" in cb.get(page_url, params={"lang": "ml"}).text
    assert sender.station.ledger.size() == sender_size
