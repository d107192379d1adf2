"""Person links: an officer's decision that two person records are one person ("confirm"), two
people ("reject"), or that an earlier decision no longer holds ("reverse"). Each decision is an
entry of this node's log (`PersonLink`), never a rewrite: a reversal is a later entry naming the
decision it reverses, and both stay in the log (docs/linkage.md).

Record linkage (node/index/linkage.py) proposes the pairs, with the match probability the officer
is shown; the officer may also name a pair by hand (probability 0). A station links the persons
of its own log; an aggregating node (district, state, national) links persons across the logs it
replicates: a person of this node's own log must be in its index, another log's person is taken
as the caller found it in the replicas' index (the station never reads the replicas).

Every command validates first and writes nothing when anything is wrong (InputError listing every
problem), under the station's single-writer lock while it reads the standing decisions.
"""

from __future__ import annotations

import sqlalchemy as sa

from ledger.errors import NotFound
from node.index import person_links as links
from node.index import schema
from node.index.person_links import CONFIRM, REJECT, REVERSE, PersonKey
from node.records import limits
from node.records.validation import Problems, check_officer
from node.station.core import Receipt, Station
from protos import records_pb2


def linked_person(
    origin: str, person_id: str, record_ref: str = "", name: str = ""
) -> records_pb2.LinkedPerson:
    """A person record as a link names it."""
    return records_pb2.LinkedPerson(
        origin=origin.strip(),
        person_id=person_id.strip(),
        record_ref=record_ref.strip(),
        name=name.strip(),
    )


def _key(person: records_pb2.LinkedPerson) -> PersonKey:
    return PersonKey(person.origin, person.person_id)


def _check_person(
    station: Station, person: records_pb2.LinkedPerson, what: str, problems: Problems
) -> None:
    person.origin = person.origin.strip()
    person.person_id = person.person_id.strip()
    person.record_ref = person.record_ref.strip()
    person.name = person.name.strip()
    problems.require(person.origin, f"the {what}'s office (log origin)")
    problems.require(person.person_id, f"the {what}'s person id")
    if person.origin != station.config.origin or not person.person_id:
        return
    p = schema.persons
    with station.index.engine.connect() as conn:
        found = conn.execute(
            sa.select(p.c.withheld).where(p.c.person_id == person.person_id).limit(1)
        ).first()
    if found is None:
        problems.add(f"no person {limits.clip(person.person_id, limits.IDENTIFIER)!r} here")
    elif found.withheld:
        problems.add(f"the {what} is one the law protects: never linked")


def _decide(
    station: Station,
    officer_id: str,
    decision: str,
    first: records_pb2.LinkedPerson,
    second: records_pb2.LinkedPerson,
    match_probability: float,
    reason: str,
) -> Receipt:
    failed = f"person link not {'confirmed' if decision == CONFIRM else 'rejected'}"
    link = records_pb2.PersonLink(
        decision=decision,
        first=first,
        second=second,
        match_probability=match_probability,
        reason=reason.strip(),
    )
    problems = Problems()
    limits.check(link, problems)
    check_officer(officer_id, problems)
    problems.raise_if_any(failed)
    _check_person(station, link.first, "first person", problems)
    _check_person(station, link.second, "second person", problems)
    if decision == REJECT:
        problems.require(link.reason, "the reason they are two people")
    # One order for a pair, so that the log reads the same whichever way it was named.
    if (link.second.origin, link.second.person_id) < (link.first.origin, link.first.person_id):
        a, b = records_pb2.LinkedPerson(), records_pb2.LinkedPerson()
        a.CopyFrom(link.second)
        b.CopyFrom(link.first)
        link.first.CopyFrom(a)
        link.second.CopyFrom(b)
    pair = frozenset((_key(link.first), _key(link.second)))
    if len(pair) == 1 and link.first.person_id:
        problems.add("a person record is not linked to itself")
    problems.raise_if_any(failed)
    with station.writing():
        for earlier in links.links(station.index.engine).standing:
            if earlier.pair() == pair:
                problems.add(
                    f"entry {earlier.ledger_index} already {earlier.decision}s this pair: "
                    "reverse it first"
                )
        if decision == CONFIRM:
            same = links.links(station.index.engine).same_person(_key(link.first))
            if _key(link.second) in same and not problems.items:
                problems.add("the two records are already one person (through other links)")
        problems.raise_if_any(failed)
        ref = f"{link.first.person_id} ~ {link.second.person_id}"
        return station.append_records(officer_id, [link], ref=limits.clip(ref, limits.REFERENCE))


def confirm(
    station: Station,
    officer_id: str,
    first: records_pb2.LinkedPerson,
    second: records_pb2.LinkedPerson,
    *,
    match_probability: float = 0.0,
    reason: str = "",
) -> Receipt:
    """The two person records are one person: every case of either is the person's. Refused for
    a pair a standing decision already settles, and for a person the law protects."""
    return _decide(station, officer_id, CONFIRM, first, second, match_probability, reason)


def reject(
    station: Station,
    officer_id: str,
    first: records_pb2.LinkedPerson,
    second: records_pb2.LinkedPerson,
    *,
    match_probability: float = 0.0,
    reason: str,
) -> Receipt:
    """The two person records are two people (namesakes): the pair is not proposed again while
    the rejection stands. The reason is required."""
    return _decide(station, officer_id, REJECT, first, second, match_probability, reason)


def reverse(station: Station, officer_id: str, index: int, reason: str) -> Receipt:
    """The decision at ledger index `index` no longer holds: a later entry saying so, with the
    reason (required). The decision stays in the log, reversed; a reversed decision is not
    reversed again (a new decision is written instead)."""
    failed = "person link not reversed"
    problems = Problems()
    check_officer(officer_id, problems)
    problems.require(reason.strip(), "the reason for the reversal")
    problems.raise_if_any(failed)
    with station.writing():
        earlier = links.decision_at(station.index.engine, index)
        if earlier is None:
            raise NotFound(f"entry {index} of this log is no person link")
        if earlier.decision == REVERSE:
            problems.add(f"entry {index} is itself a reversal: confirm or reject the pair anew")
        elif earlier.reversed_by:
            problems.add(f"entry {index} was already reversed by entry {earlier.reversed_by}")
        problems.raise_if_any(failed)
        link = records_pb2.PersonLink(
            decision=REVERSE,
            first=linked_person(
                earlier.first.origin, earlier.first.person_id, earlier.first_ref, earlier.first_name
            ),
            second=linked_person(
                earlier.second.origin,
                earlier.second.person_id,
                earlier.second_ref,
                earlier.second_name,
            ),
            match_probability=earlier.match_probability,
            reason=reason.strip(),
            reverses=index,
        )
        ref = f"{earlier.first.person_id} ~ {earlier.second.person_id}"
        return station.append_records(officer_id, [link], ref=limits.clip(ref, limits.REFERENCE))
