"""Similar cases on the web (`node.web.pages.similar_cases`) over a real station and a real
officer account: the case page links its similar cases, the page lists the cases of the same
series first with what they share, in English and in Malayalam; a case the station does not
hold is a 404; the district scope on a node with no federation says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node.web.urls import case_url
from tests.federation.test_similar_search import seed
from tests.web.support import Node, login, open_kalamassery, web_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("similar")
    made = web_node(tmp, open_kalamassery(tmp))
    yield made
    made.close()


def test_similar_cases_page_lists_the_series_first(node: Node) -> None:
    series = seed(node.station)
    sho = login(node, "PEN420101", "sho")
    similar_url = "/similar" + case_url(series[0])[len("/case") :]
    assert f'href="{similar_url}"' in sho.get(case_url(series[0])).text
    page = sho.get(similar_url)
    assert page.status_code == 200, page.text
    table = page.text.split('id="similar-cases"', 1)[1]
    last = max(table.index(series[1]), table.index(series[2]))
    others = [table.find(f"FIR No. {n}/") for n in (2, 4, 6, 7)]
    assert all(o == -1 or o > last for o in others)
    assert "Window grill removed" in table and series[0] not in table
    ml = sho.get(similar_url, params={"lang": "ml"}).text
    assert "സമാന കേസുകൾ" in ml or "പോലെയുള്ള കേസുകൾ" in ml
    assert "ജനൽ കമ്പി ഇളക്കി" in ml
    assert sho.get("/similar/999-1999").status_code == 404
    district = sho.get(similar_url, params={"scope": "district"}).text
    assert "no federation" in district
