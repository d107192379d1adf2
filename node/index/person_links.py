"""Officers' decisions on person links in the index, and the persons they make one
(docs/linkage.md).

Derived from the log only (`PersonLink` entries, node/station/linkage.py), so a rebuilt index
has the same rows:

    person_links    one row per decision, keyed by its ledger index: "confirm", "reject" or
                    "reverse", the two person records (origin, person id, record), the match
                    probability the officer was shown, the reason; `reversed_by` is the
                    ledger index of the later entry that reversed it (0 while it stands)

A decision is never changed: a reversal is a later entry, and its projection only marks the
reversed row. A person is known by `PersonKey` (the log and the person's id in it); the
persons one person is made of are the transitive closure of the standing confirmations
(`same_person`). Read-only but for `LinkageProjection`; no Splink here (node/index/linkage.py
proposes pairs): the station imports this module on every open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from node.records import limits
from protos import ledger_pb2, records_pb2

CONFIRM = "confirm"
REJECT = "reject"
REVERSE = "reverse"
DECISIONS = (CONFIRM, REJECT, REVERSE)

metadata = sa.MetaData()
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

person_links_table = sa.Table(
    "person_links",
    metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("decision", sa.String(8), nullable=False),
    sa.Column("a_origin", sa.String(limits.ORIGIN), nullable=False),
    sa.Column("a_person_id", sa.String(limits.IDENTIFIER), nullable=False),
    sa.Column("a_record_ref", sa.String(limits.REFERENCE), nullable=False),
    sa.Column("a_name", sa.String(limits.NAME), nullable=False),
    sa.Column("b_origin", sa.String(limits.ORIGIN), nullable=False),
    sa.Column("b_person_id", sa.String(limits.IDENTIFIER), nullable=False),
    sa.Column("b_record_ref", sa.String(limits.REFERENCE), nullable=False),
    sa.Column("b_name", sa.String(limits.NAME), nullable=False),
    sa.Column("match_probability", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reverses", sa.BigInteger, nullable=False),  # 0 but for a reversal
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("written_at_ms", sa.BigInteger, nullable=False),
    sa.Column("reversed_by", sa.BigInteger, nullable=False),  # 0 while the decision stands
    sa.Index("ix_person_links_a", "a_origin", "a_person_id"),
    sa.Index("ix_person_links_b", "b_origin", "b_person_id"),
)


@dataclass(frozen=True, slots=True, order=True)
class PersonKey:
    """One person record as the federation names it: the log holding it and the person's id
    there (a person named in several records of one log under one id is one person)."""

    origin: str
    person_id: str

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.origin}"


@dataclass(frozen=True, slots=True)
class LinkDecision:
    """One decision, as the log holds it, and whether a later entry reversed it."""

    ledger_index: int
    decision: str
    first: PersonKey
    first_ref: str
    first_name: str
    second: PersonKey
    second_ref: str
    second_name: str
    match_probability: float
    reason: str
    reverses: int
    officer_id: str
    written_at_ms: int
    reversed_by: int
    # The log holding the decision when it is not this node's own (a station's decision read
    # from an aggregating node's index over its replicas); `ledger_index`, `reverses` and
    # `reversed_by` are then indexes of that log.
    office: str = ""

    @property
    def standing(self) -> bool:
        """A confirmation or rejection no later entry reversed."""
        return self.decision in (CONFIRM, REJECT) and not self.reversed_by

    def pair(self) -> frozenset[PersonKey]:
        return frozenset((self.first, self.second))


#: The tables, for an aggregating node's index over its replicas (node/index/aggregate/schema.py):
#: the stations' decisions, keyed by aggregate key, beside the node's own.
TABLES = (person_links_table,)


def project(conn: Connection, index: int, body: ledger_pb2.EntryBody, *, base: int = 0) -> None:
    """Adds a `person_link` entry's row; a reversal also marks the row it reverses. `base`: on
    an aggregating node, the key of the office's entry 0 (`index` is then an aggregate key, and
    the index a reversal names is offset by it)."""
    if body.WhichOneof("record") != "person_link":
        return
    link: records_pb2.PersonLink = body.person_link
    reverses = base + link.reverses if link.reverses else 0
    t = person_links_table
    conn.execute(
        t.insert().values(
            ledger_index=index,
            decision=link.decision,
            a_origin=link.first.origin,
            a_person_id=link.first.person_id,
            a_record_ref=link.first.record_ref,
            a_name=link.first.name,
            b_origin=link.second.origin,
            b_person_id=link.second.person_id,
            b_record_ref=link.second.record_ref,
            b_name=link.second.name,
            match_probability=link.match_probability,
            reason=link.reason,
            reverses=reverses,
            officer_id=body.officer_id,
            written_at_ms=body.written_at_ms,
            reversed_by=0,
        )
    )
    if link.decision == REVERSE and reverses:
        conn.execute(
            t.update()
            .where(t.c.ledger_index == reverses, t.c.reversed_by == 0)
            .values(reversed_by=index)
        )


class LinkageProjection:
    """The person-link table of a node's index (see `node.index.record_index.Projection`)."""

    @property
    def metadata(self) -> sa.MetaData:
        return metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        project(conn, index, body)


# -- reads ---------------------------------------------------------------------------------------


# A row's key -> (the office holding the entry, its index there); None: this node's own rows.
Locate = Callable[[int], tuple[str, int]] | None


def _decision(r: Any, locate: Locate = None) -> LinkDecision:
    office, at, reverses, reversed_by = "", int(r.ledger_index), int(r.reverses), int(r.reversed_by)
    if locate is not None:
        office, at = locate(at)
        reverses = locate(reverses)[1] if reverses else 0
        reversed_by = locate(reversed_by)[1] if reversed_by else 0
    return LinkDecision(
        ledger_index=at,
        decision=str(r.decision),
        first=PersonKey(str(r.a_origin), str(r.a_person_id)),
        first_ref=str(r.a_record_ref),
        first_name=str(r.a_name),
        second=PersonKey(str(r.b_origin), str(r.b_person_id)),
        second_ref=str(r.b_record_ref),
        second_name=str(r.b_name),
        match_probability=float(r.match_probability),
        reason=str(r.reason),
        reverses=reverses,
        officer_id=str(r.officer_id),
        written_at_ms=int(r.written_at_ms),
        reversed_by=reversed_by,
        office=office,
    )


def decisions(engine: Engine, locate: Locate = None) -> list[LinkDecision]:
    """Every decision, in ledger order; `locate` traces an aggregating node's keys to their
    office (`node.index.linkage.replica_decisions`)."""
    t = person_links_table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.ledger_index)).all()
    return [_decision(r, locate) for r in rows]


def decision_at(engine: Engine, index: int) -> LinkDecision | None:
    """The decision written at ledger index `index`, if that entry is one."""
    t = person_links_table
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.ledger_index == index)).first()
    return _decision(row) if row is not None else None


def about(found: Iterable[LinkDecision], keys: Iterable[PersonKey]) -> list[LinkDecision]:
    """The decisions naming any of `keys` (a profile's history)."""
    wanted = set(keys)
    return [d for d in found if d.first in wanted or d.second in wanted]


@dataclass(frozen=True, slots=True)
class Links:
    """The standing decisions, read once: who is one person, and which pairs are decided."""

    standing: tuple[LinkDecision, ...]

    def clusters(self) -> dict[PersonKey, frozenset[PersonKey]]:
        """Each person record named by a standing confirmation -> every record of that
        person: the transitive closure of the confirmations (union-find)."""
        parent: dict[PersonKey, PersonKey] = {}

        def root(key: PersonKey) -> PersonKey:
            parent.setdefault(key, key)
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for d in self.standing:
            if d.decision == CONFIRM:
                a, b = root(d.first), root(d.second)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        groups: dict[PersonKey, set[PersonKey]] = {}
        for key in parent:
            groups.setdefault(root(key), set()).add(key)
        return {key: frozenset(groups[root(key)]) for key in parent}

    def same_person(self, key: PersonKey) -> frozenset[PersonKey]:
        """Every record of the person `key` names (at least `key` itself)."""
        return self.clusters().get(key, frozenset((key,)))

    def decided(self) -> set[frozenset[PersonKey]]:
        """The pairs a standing decision settles: confirmed (with every pair their closure
        makes one) or rejected. A proposal for one of them is not shown again."""
        pairs = {d.pair() for d in self.standing if d.decision == REJECT}
        for group in set(self.clusters().values()):
            members = sorted(group)
            pairs.update(frozenset((a, b)) for i, a in enumerate(members) for b in members[i + 1 :])
        return pairs


def links(engine: Engine) -> Links:
    """The standing decisions of the index."""
    return standing(decisions(engine))


def standing(found: Iterable[LinkDecision]) -> Links:
    """The standing decisions among `found` (a node's own, and its replicas')."""
    return Links(tuple(d for d in found if d.standing))
