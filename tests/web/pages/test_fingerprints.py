"""Fingerprints on the web (`node.web.pages.fingerprints`) over a real station and a real officer
account: a ten-print slip uploaded to an FIR is kept and enrolled, a chance print of one of its
fingers finds it first, the search is an audited read in the station's log, and the page speaks
English and Malayalam."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from node.demo import fingerprints as synthetic
from node.station import registers
from tests.node.support import theft_fir
from tests.web.support import Node, csrf, login, open_kalamassery, web_node

SEED = 77


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("fingerprints")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_ten_print_enrolled_and_found_by_a_chance_print(node: Node) -> None:
    fir = registers.register_fir(node.station, "PEN420101", theft_fir()).ref
    masters = {finger: synthetic.master_print(SEED, 1, finger) for finger in (1, 2)}
    sho = login(node, "PEN420101", "sho")
    page = sho.get("/fingerprints", params={"ref": fir})
    assert page.status_code == 200 and 'id="fp-none"' in page.text
    files = {
        f"finger_{finger}": (
            f"{finger}.png",
            synthetic.encode_png(synthetic.impression(m, SEED, number=finger)),
            "image/png",
        )
        for finger, m in masters.items()
    }
    saved = sho.post(
        "/fingerprints/enrol",
        data={"csrf_token": csrf(page.text), "ref": fir, "person_id": "P1", "subject": "Rajesh K"},
        files=files,
        follow_redirects=True,
    )
    assert saved.status_code == 200, saved.text
    assert 'id="fp-added"' in saved.text and saved.text.count("Rajesh K") >= 2
    refused = sho.post(
        "/fingerprints/enrol",
        data={"csrf_token": csrf(page.text), "ref": fir, "person_id": "P1"},
        files={"finger_3": ("notes.txt", b"not an image", "text/plain")},
    )
    assert refused.status_code == 422 and "PNG or JPEG" in refused.text

    size_before = node.station.ledger.size()
    probe = synthetic.encode_png(synthetic.impression(masters[2], SEED, number=50, chance=True))
    found = sho.post(
        "/fingerprints/search",
        data={"csrf_token": csrf(page.text), "case_ref": "FIR No. 9/2026", "purpose": "identify"},
        files={"print": ("lift.png", probe, "image/png")},
    )
    assert found.status_code == 200, found.text
    first_row = (
        found.text.split('id="fp-results"', 1)[1].split("<tr><td>1</td>", 1)[1].split("</tr>", 1)[0]
    )
    assert fir in first_row and "Right index" in first_row and "<strong>hit</strong>" in first_row
    audit = node.station.ledger.body(node.station.ledger.size() - 1).audit
    assert node.station.ledger.size() == size_before + 1
    assert audit.query_kind == "search:fingerprint" and audit.case_ref == "FIR No. 9/2026"
    assert hashlib.sha256(probe).hexdigest() in audit.query
    ml = sho.get("/fingerprints", params={"ref": fir, "lang": "ml"}).text
    assert "ആകസ്മിക അടയാളം തിരയുക" in ml and "വലത് ചൂണ്ടുവിരൽ" in ml
