"""Photos on the web (`node.web.pages.photos`) over a real station and a real officer account: a
photo uploaded to an FIR is kept (its thumbnail served from the blob store), a second photo of
the same synthetic face finds it first on the search-by-photo page, the search is an audited
read in the station's log, and both pages speak English and Malayalam."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from node.demo import faces as synthetic
from node.index.faces import FaceModel
from node.station import registers
from tests.node.support import theft_fir
from tests.web.support import Node, csrf, login, open_kalamassery, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("photos")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_photo_uploaded_kept_and_found_by_face(node: Node) -> None:
    fir = registers.register_fir(node.station, "PEN420101", theft_fir()).ref
    view = node.station.index.lookups.fir(fir)
    assert view is not None
    person_id = view.persons[0].person_id
    person = synthetic.detectable(1, FaceModel.shared(), start=300)[0]
    image = synthetic.photo_jpeg(person, 0)
    sho = login(node, "PEN420101", "sho")
    page = sho.get("/photos", params={"ref": fir})
    assert page.status_code == 200, page.text
    assert 'id="photos-none"' in page.text
    saved = sho.post(
        "/photos",
        data={
            "csrf_token": csrf(page.text),
            "ref": fir,
            "purpose": "arrest",
            "person_id": person_id,
            "subject": "Rajesh K",
        },
        files={"photo": ("arrest.jpg", image, "image/jpeg")},
        follow_redirects=True,
    )
    assert saved.status_code == 200, saved.text
    assert 'id="added"' in saved.text
    digest = hashlib.sha256(image).hexdigest()
    assert f"/photos/thumb/{digest}" in saved.text
    thumb = sho.get(f"/photos/thumb/{digest}")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8\xff")
    refused = sho.post(
        "/photos",
        data={"csrf_token": csrf(page.text), "ref": fir, "purpose": "arrest"},
        files={"photo": ("notes.txt", b"not an image", "text/plain")},
    )
    assert refused.status_code == 422 and "JPEG or PNG" in refused.text

    form = sho.get("/photos/search")
    assert form.status_code == 200
    size_before = node.station.ledger.size()
    probe = synthetic.photo_jpeg(person, 1)
    found = sho.post(
        "/photos/search",
        data={"csrf_token": csrf(form.text), "case_ref": "FIR No. 9/2026", "purpose": "identify"},
        files={"photo": ("probe.jpg", probe, "image/jpeg")},
    )
    assert found.status_code == 200, found.text
    table = found.text.split('id="face-results"', 1)[1]
    first_row = table.split("<tr><td>1</td>", 1)[1].split("</tr>", 1)[0]
    assert fir in first_row and f"/photos/thumb/{digest}" in first_row
    audit = node.station.ledger.body(node.station.ledger.size() - 1)
    assert node.station.ledger.size() == size_before + 1
    assert audit.audit.query_kind == "search:face"
    assert hashlib.sha256(probe).hexdigest() in audit.audit.query
    assert audit.audit.case_ref == "FIR No. 9/2026"
    # Asking the offices above needs a federation, which this node has not joined.
    alone = sho.post(
        "/photos/search",
        data={"csrf_token": csrf(form.text), "case_ref": "FIR No. 9/2026", "scope": "federation"},
        files={"photo": ("probe.jpg", probe, "image/jpeg")},
    )
    assert alone.status_code == 422 and "no federation" in alone.text
    ml = sho.get("/photos/search", params={"lang": "ml"}).text
    assert "ഫോട്ടോ ഉപയോഗിച്ച് തിരയുക" in ml
    ml_record = sho.get("/photos", params={"ref": fir, "lang": "ml"}).text
    assert "സൂക്ഷിച്ച ഫോട്ടോകൾ" in ml_record
