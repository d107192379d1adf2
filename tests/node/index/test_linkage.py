"""The linkage model at any scale (node/index/linkage.py): a rare name agreeing weighs more than a
common one (term frequencies of the node's own records), the prior falls as the records grow,
and a profile scored on a person's neighbours gives the pairs and probabilities the whole node's
scoring gives them (the same blocking, the same prior and frequencies)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from node.index import linkage
from node.index.person_links import PersonKey
from simulations import bench_linkage

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-aluva"


def _person(number: int, name: str, birth_year: int, address: str = "") -> linkage.PersonRecord:
    return linkage.PersonRecord(
        key=PersonKey(ORIGIN, f"P-{number}"),
        name=name,
        aliases=[],
        relation="S/o",
        relative_name="",
        age=0,
        birth_year=birth_year,
        sex="M",
        address=address,
        mobile="",
        date_of_birth="",
    )


def _probability(proposals: list[linkage.Proposal], a: int, b: int) -> float:
    wanted = frozenset((PersonKey(ORIGIN, f"P-{a}"), PersonKey(ORIGIN, f"P-{b}")))
    return next(p.probability for p in proposals if p.pair() == wanted)


def test_linkage_rare_shared_name_scores_above_common_shared_name() -> None:
    # Two pairs with the same evidence (the same name, years of birth two apart, nothing else
    # given): one of a name sixty records of the node bear, one of a name only the pair bears.
    persons = [_person(0, "Muhammed Shafi", 1990), _person(1, "Muhammed Shafi", 1992)]
    persons += [_person(2, "Thankappan Kuttan", 1990), _person(3, "Thankappan Kuttan", 1992)]
    persons += [
        _person(10 + n, "Muhammed Shafi", 1940 + n, f"House {n}, Locality {n}") for n in range(58)
    ]
    proposals = linkage.propose(persons, threshold=0.0)
    common, rare = _probability(proposals, 0, 1), _probability(proposals, 2, 3)
    assert rare > common
    # By the names' frequencies (log2 of 60 / 2, about 5 bits), not by chance: odds 16x or more.
    assert rare / (1 - rare) > 16 * common / (1 - common)


def test_linkage_prior_falls_as_the_records_grow() -> None:
    trained = linkage.prior(0)
    measured_on = int(json.loads(linkage.MODEL_PATH.read_text("utf-8"))[linkage.TRAINED_ON])
    assert measured_on > 1000
    assert linkage.prior(measured_on) == trained
    assert linkage.prior(measured_on // 10) == trained  # never raised above the trained one
    assert linkage.prior(10 * measured_on) == pytest.approx(trained / 10)
    assert linkage.prior(100 * measured_on) == pytest.approx(trained / 100)
    # The same pair, on a node ten times as large, is less probable.
    persons = [_person(0, "Thankappan Kuttan", 1990), _person(1, "Thankappan Kuttan", 1992)]
    population = linkage.Population.of(persons)
    small = linkage.propose(persons, threshold=0.0, population=population)
    large = linkage.propose(
        persons,
        threshold=0.0,
        population=dataclasses.replace(population, records=10 * measured_on),
    )
    assert _probability(large, 0, 1) < _probability(small, 0, 1)


def test_linkage_profile_of_neighbours_agrees_with_the_whole_node() -> None:
    persons = bench_linkage.generate(300, seed=5).persons
    whole = linkage.NodeLinkage(persons)
    everything = whole.proposals()
    assert len(everything) > 50

    # The persons of pairs whose names share no sound key (misspelt: found by the mobile, the
    # relative and year of birth, or the address), and a few others.
    def sounds(person: linkage.PersonRecord) -> set[str]:
        return set(linkage.features(person, 0)["name_phon"] or ())

    unlike = [p.first for p in everything if not sounds(p.first) & sounds(p.second)]
    assert len(unlike) >= 5
    checked = 0
    for person in unlike + persons[:30:6]:
        alone = linkage.NodeLinkage(persons).profile(person.key, frozenset(), set())
        from_whole = whole.profile(person.key, frozenset(), set())
        assert alone is not None and from_whole is not None
        got = {p.pair(): p.probability for p in alone.proposals}
        assert got.keys() == {p.pair() for p in from_whole.proposals}
        for p in from_whole.proposals:
            assert got[p.pair()] == pytest.approx(p.probability, abs=1e-9)
        checked += len(got)
    assert checked > 0
