"""One person across stations: a district office holding verified replicas of two stations
(real RocksDB, SQLite, the real replication follower) proposes the accused each station wrote
under its own id and spelling as one person; once an officer of the district confirms it, the
person's profile shows the cases of both stations; after a reversal entry, one station's again.
A station's own confirmation of its duplicate, replicated, counts at the district too. A namesake
at the second station is never proposed."""

from __future__ import annotations

from pathlib import Path

from federation.logs import LedgerLogReader
from node.index import linkage, person_links
from node.index.person_links import PersonKey
from node.station import linkage as decide
from node.station import registers
from node.station.core import Station
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import build_district
from tests.node.support import accused_fir

OFFICER = "PEN100200"


def _register(station: Station, name: str, relative: str, age: int, address: str) -> PersonKey:
    fir = accused_fir(name, relative, age, address)
    ref = registers.register_fir(station, OFFICER, fir).ref
    view = station.index.lookups.fir(ref)
    assert view is not None
    (accused,) = [p for p in view.persons if p.role == "accused"]
    return PersonKey(station.config.origin, accused.person_id)


def test_person_linked_across_two_stations_then_unlinked(tmp_path: Path) -> None:
    district = build_district(tmp_path)
    try:
        kalamassery, edappally = district.children
        here = _register(kalamassery, "Sreekumar P.S.", "Sasidharan", 34, "Thekkethil House, Eloor")
        there = _register(edappally, "Srikumar", "Sasidharan", 35, "Thekkethil, Eloor P.O.")
        again = _register(edappally, "Sreekumar P.", "Sasidharan", 35, "Thekkethil, Eloor")
        namesake = _register(edappally, "Sreekumar", "Gopalan", 58, "Kailasam, Vyttila")
        # Edappally confirms its own duplicate, in its own log.
        decide.confirm(
            edappally,
            OFFICER,
            decide.linked_person(there.origin, there.person_id),
            decide.linked_person(again.origin, again.person_id),
            reason="one accused, two FIRs",
        )
        readers = {s.config.origin: LedgerLogReader(s.ledger) for s in district.children}
        peer = LogPeer(readers.__getitem__, "children")
        for child in district.children:
            follow(district.replicas.get(child.config.origin).follower, peer)
        engine = district.indexes.aggregate.engine
        node = district.station  # the district's own log holds its decisions

        def links() -> person_links.Links:
            return person_links.standing(linkage.node_decisions(node.index.engine, engine))

        persons = linkage.aggregate_persons(engine)
        (station_decision,) = linkage.node_decisions(node.index.engine, engine)
        assert station_decision.office == edappally.config.origin
        assert links().same_person(there) == {there, again}
        pairs = {p.pair(): p for p in linkage.propose(persons, decided=links().decided())}
        assert set(pairs) == {frozenset((here, there)), frozenset((here, again))}
        proposal = pairs[frozenset((here, there))]

        first = decide.linked_person(here.origin, here.person_id, proposal.first.record_ref)
        second = decide.linked_person(there.origin, there.person_id, proposal.second.record_ref)
        receipt = decide.confirm(
            node, OFFICER, first, second, match_probability=proposal.probability, reason="CCTV"
        )
        shown = linkage.profile(persons, there, links().same_person(there), links().decided())
        assert shown is not None
        assert {m.key for m in shown.members} == {here, there, again}
        assert {key.origin for key, _ in shown.cases} == {here.origin, there.origin}
        assert {"Sreekumar P.S.", "Srikumar", "Sreekumar P."} <= set(shown.names)
        assert shown.proposals == ()
        assert namesake not in {m.key for m in shown.members}

        decide.reverse(node, OFFICER, receipt.index, "the address was another family's")
        shown = linkage.profile(persons, there, links().same_person(there), links().decided())
        assert shown is not None
        assert {m.key for m in shown.members} == {there, again}  # the station's link stands
        assert {key.origin for key, _ in shown.cases} == {there.origin}
        # Pending again, with the confirm buttons on the profile.
        assert {p.pair() for p in shown.proposals} == set(pairs)
        body = node.ledger.body(receipt.index + 1)
        assert (body.person_link.decision, body.person_link.reverses) == ("reverse", receipt.index)
    finally:
        district.close()
