"""Person links at a station (node/station/linkage.py, node/index/person_links.py,
node/index/linkage.py): the demo's duplicate accused proposed, its namesake not; a confirmation
makes one person of two records, a reversal (a later entry) two again; refusals write nothing;
a rebuilt index holds the same decisions (real RocksDB, real SQLite)."""

from __future__ import annotations

import threading

import pytest

from ledger.errors import InputError, NotFound
from node.index import linkage, person_links
from node.index.person_links import PersonKey
from node.station import linkage as decide
from node.station import registers
from node.station.core import Station
from protos import records_pb2
from tests.node.station.conftest import ORIGIN
from tests.node.support import person, theft_fir

OFFICER = "PEN100200"


def _accused(name: str, relative: str, age: int, address: str, mobile: str = "") -> object:
    return person(
        name,
        records_pb2.ACCUSED,
        relation="S/o",
        relative_name=relative,
        age=age,
        sex="M",
        address=address,
        mobile=mobile,
    )


def _fir_with(station: Station, *accused: object) -> tuple[str, list[str]]:
    fir = theft_fir()
    del fir.persons[1:]
    fir.persons.extend(accused)  # type: ignore[arg-type]
    ref = registers.register_fir(station, OFFICER, fir).ref
    view = station.index.lookups.fir(ref)
    assert view is not None
    ids = [p.person_id for p in view.persons if p.role == "accused"]
    return ref, ids


def _plant(station: Station) -> tuple[PersonKey, PersonKey, PersonKey]:
    """The demo's duplicate (one accused under two ids, written two ways) and a namesake."""
    _, (first,) = _fir_with(
        station,
        _accused("Muhammed Shafi M.", "Shameer", 21, "Manzil House, Eloor P.O.", "9847012345"),
    )
    _, (second,) = _fir_with(
        station,
        _accused("Mohammed Shafi", "Shamir", 22, "Manzil House, Eloor PO, Kalamassery"),
    )
    _, (namesake,) = _fir_with(
        station,
        _accused("Muhammed Shafi", "Abdulla", 47, "Baithul Noor, Aluva", "9447099999"),
    )
    return (
        PersonKey(ORIGIN, first),
        PersonKey(ORIGIN, second),
        PersonKey(ORIGIN, namesake),
    )


def _linked(key: PersonKey, name: str = "") -> records_pb2.LinkedPerson:
    return decide.linked_person(key.origin, key.person_id, "", name)


def test_proposals_find_the_duplicate_not_the_namesake(station: Station) -> None:
    first, second, namesake = _plant(station)
    persons = linkage.station_persons(station.index.engine, ORIGIN)
    proposals = linkage.propose(persons)
    pairs = {p.pair(): p.probability for p in proposals}
    assert frozenset((first, second)) in pairs
    assert pairs[frozenset((first, second))] >= linkage.THRESHOLD
    assert not any(namesake in pair for pair in pairs)


def test_confirmation_links_and_reversal_unlinks(station: Station) -> None:
    first, second, namesake = _plant(station)
    persons = linkage.station_persons(station.index.engine, ORIGIN)
    receipt = decide.confirm(
        station, OFFICER, _linked(first), _linked(second), match_probability=0.97, reason="same"
    )
    links = person_links.links(station.index.engine)
    assert links.same_person(first) == {first, second}
    shown = linkage.profile(persons, first, links.same_person(first), links.decided())
    assert shown is not None
    assert len({key for key, _ in shown.cases}) == 2
    assert {"Muhammed Shafi M.", "Mohammed Shafi"} <= set(shown.names)
    # Decided: not proposed again.
    assert frozenset((first, second)) not in {
        p.pair() for p in linkage.propose(persons, decided=links.decided())
    }
    with pytest.raises(InputError, match="already confirms"):
        decide.confirm(station, OFFICER, _linked(second), _linked(first))

    decide.reverse(station, OFFICER, receipt.index, "two brothers, checked at the house")
    links = person_links.links(station.index.engine)
    assert links.same_person(first) == {first}
    assert person_links.decision_at(station.index.engine, receipt.index).reversed_by > 0  # type: ignore[union-attr]
    # Proposed again once the confirmation is reversed; the log keeps both entries.
    assert frozenset((first, second)) in {p.pair() for p in linkage.propose(persons)}
    assert [d.decision for d in person_links.decisions(station.index.engine)] == [
        "confirm",
        "reverse",
    ]
    with pytest.raises(InputError, match="already reversed"):
        decide.reverse(station, OFFICER, receipt.index, "again")

    before = person_links.decisions(station.index.engine)
    station.rebuild_index()
    assert person_links.decisions(station.index.engine) == before
    assert namesake not in person_links.links(station.index.engine).same_person(first)


def test_refusals_write_nothing(station: Station) -> None:
    first, second, _ = _plant(station)
    size = station.ledger.size()
    with pytest.raises(InputError) as refused:
        nobody = _linked(PersonKey(ORIGIN, "P-none"))
        decide.reject(station, OFFICER, _linked(first), nobody, reason="")
    message = str(refused.value)
    assert "no person 'P-none' here" in message
    assert "the reason they are two people is required" in message
    with pytest.raises(InputError, match="not linked to itself"):
        decide.confirm(station, OFFICER, _linked(first), _linked(first))
    with pytest.raises(NotFound):
        decide.reverse(station, OFFICER, 1, "no such decision")
    with pytest.raises(InputError, match="reason for the reversal is required"):
        decide.reverse(station, OFFICER, 1, " ")
    assert station.ledger.size() == size
    rejected = decide.reject(station, OFFICER, _linked(first), _linked(second), reason="twins")
    assert station.ledger.body(rejected.index).person_link.decision == "reject"
    assert person_links.links(station.index.engine).same_person(first) == {first}


@pytest.fixture
def scorings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each call of `linkage.score` scored (the model run), in order."""
    calls: list[int] = []
    score = linkage.score

    def counted(rows: list[dict[str, object]], *args: object, **kwargs: object) -> object:
        calls.append(len(rows))
        return score(rows, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(linkage, "score", counted)
    return calls


def test_node_linkage_kept_until_an_entry_moves_the_index(
    station: Station, scorings: list[int]
) -> None:
    first, second, _ = _plant(station)
    engine = station.index.engine
    pair = frozenset((first, second))
    kept = linkage.node_linkage(engine, ORIGIN)
    assert pair in {p.pair() for p in kept.proposals()}
    # A second view with nothing new: the same persons and pairs, nothing read or scored.
    again = linkage.node_linkage(engine, ORIGIN)
    assert again is kept
    assert pair in {p.pair() for p in again.proposals()}
    shown = again.profile(first, frozenset(), set())
    assert shown is not None and pair in {p.pair() for p in shown.proposals}
    assert len(scorings) == 1

    # A decision is an entry: the state moves, the pair is no longer proposed; the persons are
    # read again but, being the same, not scored again.
    decide.confirm(station, OFFICER, _linked(first), _linked(second), reason="same")
    decided = person_links.links(engine).decided()
    after = linkage.node_linkage(engine, ORIGIN)
    assert after is not kept
    assert pair not in {p.pair() for p in after.proposals(decided)}
    assert len(scorings) == 1

    # A new person: scored again, and proposed.
    _, (third,) = _fir_with(
        station,
        _accused("Shafi Muhammed", "Shameer", 21, "Manzil House, Eloor P.O.", "9847012345"),
    )
    fresh = linkage.node_linkage(engine, ORIGIN)
    found = {p.pair() for p in fresh.proposals(decided)}
    assert len(scorings) == 2
    assert frozenset((first, PersonKey(ORIGIN, third))) in found


def test_node_linkage_scored_once_for_concurrent_views(
    station: Station, scorings: list[int]
) -> None:
    _plant(station)
    start = threading.Barrier(4)
    seen: list[list[frozenset[PersonKey]]] = []

    def view() -> None:  # as four web worker threads would
        start.wait()
        seen.append(
            [p.pair() for p in linkage.node_linkage(station.index.engine, ORIGIN).proposals()]
        )

    threads = [threading.Thread(target=view) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(seen) == 4 and all(pairs == seen[0] for pairs in seen) and seen[0]
    assert len(scorings) == 1
