"""Search (`node.web.pages.search`) over a real seeded station, signed in through /login and
/login/totp: a person by a misspelt name, SQL-injection text, and the federated search with and
without a federation (offices that did not answer are named; how fresh each part is, in Indian
time, with stale replicas and answers that failed the witness check flagged)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import sqlalchemy as sa

from ledger.log import now_ms
from node.index import schema as ix
from node.records.validation import IST
from protos import federation_pb2
from tests.web.support import Node, TestClient, login, staff_node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    made = staff_node(tmp_path_factory.mktemp("search"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def sho(node: Node) -> TestClient:
    return login(node, "PEN200001", "sho", name="Suresh Kumar", sex="M")


def _seeded_person(node: Node) -> str:
    engine: sa.Engine = node.station.index._engine
    with engine.connect() as conn:
        names = conn.execute(
            sa.select(ix.persons.c.name)
            .where(ix.persons.c.withheld.is_(False), ix.persons.c.name != "")
            .order_by(ix.persons.c.ledger_index)
        ).scalars()
        for name in names:
            words = name.split()
            # Seeded names often carry initials ("Santhosh L.H."): the first word is misspelt.
            if len(words) >= 2 and len(words[0]) >= 5 and words[0].isalpha():
                return str(name)
    raise AssertionError("no seeded person with a name of two words or more")


def _misspell(name: str) -> str:
    """One letter doubled in the first word: "Suresh Kumar" -> "Suressh Kumar"."""
    first, rest = name.split(" ", 1)
    return first[:-1] + first[-2] + first[-1] + " " + rest


def test_staff_search_finds_a_seeded_person_by_a_misspelt_name(node: Node, sho: TestClient) -> None:
    name = _seeded_person(node)
    page = sho.get("/search", params={"q": _misspell(name), "kind": "person"})
    assert page.status_code == 200
    assert name in page.text
    assert "/case/" in page.text


def test_staff_search_with_sql_injection_is_an_ordinary_page(sho: TestClient) -> None:
    for kind in ("person", "vehicle", "property", "case"):
        page = sho.get("/search", params={"q": "' OR 1=1 --", "kind": kind})
        assert page.status_code == 200
        assert "Nothing found" in page.text


def test_staff_federated_search_without_a_federation(sho: TestClient) -> None:
    page = sho.get("/search", params={"q": "Raju", "scope": "federation"})
    assert page.status_code == 200
    assert "not in a federation" in page.text


def test_staff_federated_search_names_every_unanswered_office(node: Node, sho: TestClient) -> None:
    @dataclass
    class Result:
        hits: tuple[tuple[str, federation_pb2.SearchHit], ...]
        freshness: dict[str, tuple[federation_pb2.Freshness, ...]]
        unanswered: dict[str, str]

    async def fake(kind: str, query: str, officer_id: str) -> Result:
        assert (kind, query, officer_id) == ("person", "Raju", "PEN200001")
        hit = federation_pb2.SearchHit(
            origin="cctns.in/kerala/thrissur-city/ps-ollur",
            ref="FIR No. 4/2026",
            title="Raju K",
            detail="accused, 34",
        )
        fresh = federation_pb2.Freshness(
            origin="cctns.in/kerala/thrissur-city/ps-ollur", checkpoint_size=812
        )
        return Result(
            hits=(("kerala/thrissur-city/ps-ollur", hit),),
            freshness={"kerala/thrissur-city/ps-ollur": (fresh,)},
            unanswered={"kerala/kannur/ps-iritty": "timeout", "kerala/idukki/ps-munnar": "error"},
        )

    context = node.app.state.context
    context.federated_search = fake
    try:
        page = sho.get("/search", params={"q": "Raju", "scope": "federation"})
    finally:
        context.federated_search = None
    assert page.status_code == 200
    assert "Raju K" in page.text
    assert "cctns.in/kerala/thrissur-city/ps-ollur" in page.text
    assert "ps-ollur: time not known" in page.text  # an answer that gave no time
    assert "kerala/kannur/ps-iritty (timeout)" in page.text
    assert "kerala/idukki/ps-munnar (error)" in page.text


def test_staff_federated_search_says_how_fresh_each_part_is_and_flags_stale_and_unwitnessed(
    node: Node, sho: TestClient
) -> None:
    now = now_ms()
    live = now - 3 * 60_000
    old = now - 2 * 3600_000  # older than node.toml's default stale_after_minutes (30)

    @dataclass
    class Result:
        hits: tuple[tuple[str, federation_pb2.SearchHit], ...] = ()
        freshness: dict[str, tuple[federation_pb2.Freshness, ...]] = field(default_factory=dict)
        unanswered: dict[str, str] = field(default_factory=dict)
        flagged: dict[str, str] = field(default_factory=dict)

    async def fake(kind: str, query: str, officer_id: str) -> Result:
        district = "kerala/thrissur-city/dpo"
        return Result(
            freshness={
                district: (
                    federation_pb2.Freshness(
                        origin=f"cctns.in/{district}", as_of_ms=live, as_of_source="live"
                    ),
                    federation_pb2.Freshness(
                        origin="cctns.in/kerala/thrissur-city/ps-ollur",
                        from_replica=True,
                        as_of_ms=old,
                        as_of_source="cosigned",
                    ),
                )
            },
            flagged={district: "unwitnessed: cctns.in/kerala/thrissur-city/dpo served none"},
        )

    context = node.app.state.context
    context.federated_search = fake
    try:
        page = sho.get("/search", params={"q": "Raju", "scope": "federation"})
        malayalam = sho.get("/search", params={"q": "Raju", "scope": "federation", "lang": "ml"})
    finally:
        context.federated_search = None
    at = f"{datetime.fromtimestamp(live / 1000, IST):%H:%M}"
    then = f"{datetime.fromtimestamp(old / 1000, IST):%H:%M}"
    assert f"dpo: as of {at} IST, 3 minutes ago" in page.text
    assert f"ps-ollur: as of {then} IST, 2 hours ago" in page.text
    assert "(replica held by kerala/thrissur-city/dpo)" in page.text
    assert page.text.count("STALE: older than 30 minutes") == 1
    assert 'id="witness-flags"' in page.text
    assert "unwitnessed: cctns.in/kerala/thrissur-city/dpo served none" in page.text
    assert f"{then} IST വരെ, 2 മണിക്കൂർ മുമ്പ്" in malayalam.text
    assert "പഴയത്: 30 മിനിറ്റിലേറെ" in malayalam.text
