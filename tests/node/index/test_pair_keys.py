"""The "name x relative" pair keys: a search giving a name and a relative's name starts from the
persons whose relative also matches, finds what the slow way finds, and follows amendments."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from node.index import search as search_module
from node.index.record_index import RecordIndex
from node.index.schema import name_keys
from node.index.search import Search, pair_key
from node.records import names
from tests.node.index.support import (
    FIRST_NAMES,
    SURNAMES,
    Log,
    amended_log,
    fir,
    genesis,
    person,
    typo_log,
)


def _pair_keys(index: RecordIndex) -> set[str]:
    with index.engine.connect() as conn:
        rows = conn.execute(sa.select(name_keys.c.key).where(name_keys.c.key.like("x:%")))
        return {str(k) for k in rows.scalars()}


def _slow(index: RecordIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search without its pair-key path: the name's and the relative's own keys only."""
    monkeypatch.setattr(Search, "_by_pairs", lambda *args, **kwargs: {})


def test_pairs_are_written_for_every_name_and_alias_token(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(
        fir=fir(
            1,
            people=[
                person("P-1", "Anil Kumar", aliases=("Kuttan",), relative="Gopalan Nair"),
                person("P-2", "Biju"),  # no relative: no pairs
            ],
        )
    )
    index.apply(log.entries)
    pairs = _pair_keys(index)
    # Two relative tokens, three name and alias tokens: six pairs, none for Biju.
    assert len(pairs) == 6
    assert all("|" in key for key in pairs)
    [hit] = index.search.persons("Anil Kumar S/o Gopalan")
    assert hit.person_id == "P-1"
    [alias] = index.search.persons("Kutan", relative="Gopalan Nair")
    assert alias.person_id == "P-1" and alias.matched_name == "Kuttan"


def test_pairs_give_what_the_slow_way_gives(
    index: RecordIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Misspelt names and fathers over 288 persons sharing names: the same hits, scores and
    order with the pair keys as without them."""
    log, people = typo_log()
    index.apply(log.entries)
    rng = random.Random(3)
    queries = []
    for _pid, initial, first, father in rng.sample(people, 40):
        slip = first[:-1] if len(first) > 4 else first  # "Arun" -> "Aru"
        queries.append((f"{initial}. {slip}", father))
        queries.append((first, father[:2] + father[3:] if len(father) > 5 else father))
    paired = []
    by_pairs = Search._by_pairs

    def counted(self: Search, *args: Any, **kwargs: Any) -> Any:
        found = by_pairs(self, *args, **kwargs)
        paired.append(bool(found))
        return found

    monkeypatch.setattr(Search, "_by_pairs", counted)
    fast = [index.search.persons(q, relative=r, age_min=25, age_max=35) for q, r in queries]
    assert sum(1 for hits in fast if hits) > 60
    assert sum(paired) > 60  # found through the pairs, not by falling back
    _slow(index, monkeypatch)
    slow = [index.search.persons(q, relative=r, age_min=25, age_max=35) for q, r in queries]
    assert fast == slow


def test_pairs_follow_amendments_of_name_and_relative(index: RecordIndex) -> None:
    # One amendment renames Raju to Rajendran and his father Gopalan to Gopala Pillai.
    index.apply(amended_log().entries)
    pairs = _pair_keys(index)
    rajendran, pillai = names.phonetic_key("rajendran"), names.phonetic_key("pillai")
    assert pair_key(rajendran, pillai) in pairs  # the new name with the new father's name
    for query in ("Rajendran S/o Gopala Pillai", "Raju S/o Gopalan", "Rajendran S/o Pillai"):
        assert [h.person_id for h in index.search.persons(query)] == ["P-1-1"], query
    # The later alias ("Raj") pairs with both of his father's names.
    assert [h.person_id for h in index.search.persons("Raj S/o Gopala Pillai")] == ["P-1-1"]
    assert [h.person_id for h in index.search.persons("Raj S/o Gopalan")] == ["P-1-1"]
    # Rajendran with his father's old name: found through the pairs too (forms stay).
    assert [h.person_id for h in index.search.persons("Rajendran S/o Gopalan")] == ["P-1-1"]


def test_pair_search_falls_back_to_initials(index: RecordIndex) -> None:
    """A name written with an initial where the query spells the word out has no pair for that
    word: the slow way (one token by key, the other by its initial) finds him."""
    log = Log()
    genesis(log)
    log.add(fir=fir(1, people=[person("P-1", "G. Manoj", relative="Krishnan")]))
    index.apply(log.entries)
    assert [h.person_id for h in index.search.persons("Gopalan Manoj S/o Krishnan")] == ["P-1"]
    assert [h.person_id for h in index.search.persons("Manoj S/o Krishnan")] == ["P-1"]
    assert index.search.persons("Gopalan Manoj S/o Rajan") == []


def test_age_nearest_the_middle_of_the_range_ranks_first(index: RecordIndex) -> None:
    log = Log()
    genesis(log)
    log.add(
        fir=fir(
            1,
            people=[
                person("P-29", "Shaji", relative="Varghese", relation="S/o", age=29),
                person("P-24", "Shaji", relative="Varghese", relation="S/o", age=24),
                person("P-21", "Shaji", relative="Varghese", relation="S/o", age=21),
            ],
        )
    )
    index.apply(log.entries)
    hits = index.search.persons("Shaji S/o Varghese", age_min=20, age_max=28)
    assert [h.person_id for h in hits] == ["P-24", "P-21"]
    hits = index.search.persons("Shaji", age_min=26, age_max=32)
    assert [h.person_id for h in hits] == ["P-29"]
    # Without a range the record's order decides between equal names.
    assert [h.person_id for h in index.search.persons("Shaji S/o Varghese")] == [
        "P-29",
        "P-24",
        "P-21",
    ]
    # The bonus never lifts a worse name over a better one.
    assert hits[0].score - index.search.persons("Shaji", age_min=29, age_max=29)[0].score < 0.02


def test_names_carry_their_persons_age_through_amendments(index: RecordIndex) -> None:
    """Search filters names by the age each carries: an amended age moves every name of the
    person (the amendment sets Rajendran's age from 35 to 41)."""
    index.apply(amended_log().entries)
    for query in ("Rajendran", "Raju S/o Gopalan", "S/o Gopala Pillai"):
        assert [h.person_id for h in index.search.persons(query, age_min=40, age_max=42)] == [
            "P-1-1"
        ], query
        assert index.search.persons(query, age_min=33, age_max=36) == [], query
    assert [h.person_id for h in index.search.persons("Raju", role="accused")] == ["P-1-1"]
    assert index.search.persons("Raju", role="complainant") == []


def test_smallest_group_first_finds_what_counting_every_group_finds(
    index: RecordIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names of two tokens with relatives of two: the candidates read from the smallest group
    of keys and checked against the others are those one statement counting every group per
    name gives (`_PROBE` at 1 forces that statement)."""
    log = Log()
    genesis(log)
    people = []
    for i, first in enumerate(FIRST_NAMES[:24]):
        for j, surname in enumerate(SURNAMES[:5]):
            father = f"{FIRST_NAMES[(i + j + 3) % len(FIRST_NAMES)]} {surname}"
            people.append(person(f"P-{i}-{j}", f"{first} {surname}", relative=father, age=40))
    for serial, start in enumerate(range(0, len(people), 8), 1):
        log.add(fir=fir(serial, people=people[start : start + 8]))
    index.apply(log.entries)
    queries = [f"{p.name} S/o {p.relative_name}" for p in people[::7]]
    queries += [f"{p.name.split()[0]} S/o {p.relative_name.split()[1]}" for p in people[::11]]
    first = [index.search.persons(q, age_min=35, age_max=45) for q in queries]
    assert all(hits for hits in first[: len(people[::7])])
    monkeypatch.setattr(search_module, "_PROBE", 1)
    counted = [index.search.persons(q, age_min=35, age_max=45) for q in queries]
    assert first == counted
