"""One person across records on the web (`node.web.pages.linkage`) over a real station and real
officer accounts: the duplicate accused is proposed with its buttons, the namesake is not; a
confirmation through the form shows both records' cases on the profile; a rejection without its
reason is refused, nothing written; a reversal unlinks them; a reader may not decide; the pages
speak Malayalam; the profile shows the person's photos and ten-print fingers on file."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from node.demo import fingerprints as synthetic
from node.index import person_links
from node.station import fingerprints, registers
from tests.node.support import accused_fir, arrest_photo
from tests.web.support import Node, login, open_kalamassery, post_form, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("linkage")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def _accused(node: Node, name: str, relative: str, age: int, address: str) -> tuple[str, str]:
    fir = accused_fir(name, relative, age, address)
    ref = registers.register_fir(node.station, "PEN420001", fir).ref
    view = node.station.index.lookups.fir(ref)
    assert view is not None
    (accused,) = [p for p in view.persons if p.role == "accused"]
    return ref, accused.person_id


def _profile(origin: str, person_id: str) -> str:
    return "/persons/profile?" + urlencode({"origin": origin, "person_id": person_id})


def test_propose_confirm_profile_reverse(node: Node) -> None:
    origin = node.station.config.origin
    first_ref, first = _accused(node, "Muhammed Shafi M.", "Shameer", 21, "Manzil House, Eloor")
    second_ref, second = _accused(node, "Mohammed Shafi", "Shamir", 22, "Manzil, Eloor P.O.")
    _, namesake = _accused(node, "Muhammed Shafi", "Abdulla", 47, "Baithul Noor, Aluva")
    sho = login(node, "PEN420101", "sho")
    page = sho.get("/persons/links")
    assert page.status_code == 200
    assert first in page.text and second in page.text and namesake not in page.text
    assert 'action="/persons/links/confirm"' in page.text

    fields = {
        "first_origin": origin, "first_person_id": first, "first_ref": first_ref,
        "second_origin": origin, "second_person_id": second, "second_ref": second_ref,
        "probability": "0.97", "back_origin": origin, "back_person_id": first,
    }  # fmt: skip
    size = node.station.ledger.size()
    refused = post_form(sho, "/persons/links/reject", fields, page="/persons/links")
    assert refused.status_code == 400
    assert "the reason they are two people is required" in refused.text
    assert node.station.ledger.size() == size

    saved = post_form(sho, "/persons/links/confirm", {**fields, "reason": "same father, house"},
                      page="/persons/links")  # fmt: skip
    assert saved.status_code == 303 and "/persons/profile" in saved.headers["location"]
    profile = sho.get(_profile(origin, second))
    assert profile.status_code == 200
    assert first_ref in profile.text and second_ref in profile.text
    assert "Muhammed Shafi M." in profile.text and "Mohammed Shafi" in profile.text

    (decision,) = person_links.decisions(node.station.index.engine)
    reader = login(node, "PEN420102", "gd_writer")
    forbidden = post_form(
        reader, "/persons/links/reverse", {"index": str(decision.ledger_index), "reason": "x"},
        page="/persons/links",
    )  # fmt: skip
    assert forbidden.status_code == 403
    reversed_ = post_form(
        sho, "/persons/links/reverse",
        {"index": str(decision.ledger_index), "reason": "two cousins", "back_origin": origin,
         "back_person_id": second},
        page=_profile(origin, second),
    )  # fmt: skip
    assert reversed_.status_code == 303
    profile = sho.get(_profile(origin, second))
    assert second_ref in profile.text
    cases = profile.text.split('id="cases"')[1].split("</section>")[0]
    assert first_ref not in cases
    assert 'action="/persons/links/confirm"' in profile.text  # proposed again

    assert "വ്യക്തി വിവരം" in sho.get(_profile(origin, second) + "&lang=ml").text
    assert "തീരുമാനിക്കേണ്ട ജോടികൾ" in sho.get("/persons/links?lang=ml").text
    assert sho.get(_profile(origin, "P-none")).status_code == 404


def test_profile_shows_the_photos_and_ten_print_on_file(node: Node) -> None:
    origin = node.station.config.origin
    ref, person = _accused(node, "Binu Varghese", "Varghese", 33, "Puthenpura, Kalamassery")
    photo = arrest_photo(node.station, "PEN420001", ref, person)
    prints = {
        finger: synthetic.encode_png(
            synthetic.impression(synthetic.master_print(77, 0, finger), 7700, number=finger)
        )
        for finger in (2, 7)
    }
    fingerprints.enrol_ten_print(
        node.station, "PEN420001", prints, person_id=person, record_ref=ref
    )
    sho = login(node, "PEN420103", "sho")
    page = sho.get(_profile(origin, person))
    assert page.status_code == 200
    media = page.text.split('id="media"')[1].split("</section>")[0]
    assert f'src="/photos/thumb/{photo.sha256}"' in media
    assert "Ten-print fingers on file: Right index, Left index" in media
    assert ref in media
    assert sho.get(f"/photos/thumb/{photo.sha256}").status_code == 200
    # A person with nothing on file has no such section.
    _, bare = _accused(node, "Sajan Mathew", "Mathew", 40, "Kottarathil, Eloor")
    assert 'id="media"' not in sho.get(_profile(origin, bare)).text
    assert "ഫയലിലുള്ള ഫോട്ടോകളും" in sho.get(_profile(origin, person) + "&lang=ml").text
