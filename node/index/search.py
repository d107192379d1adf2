"""Person, vehicle and property search over the index, the way officers type.

Person search (`Search.persons`) looks names up by exact key equality on an indexed column
(`name_keys.key`): variant keys and phonetic keys from `node.records.names`, never a LIKE scan,
so it stays fast with hundreds of thousands of persons. A query token that is no known spelling
is also matched against the known tokens a few edits away (`_Vocabulary`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jellyfish
import rapidfuzz
import sqlalchemy as sa
from rapidfuzz.distance import DamerauLevenshtein, Levenshtein
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from node.index.schema import (
    index_meta,
    name_keys,
    name_tokens,
    person_names,
    persons,
    property_items,
    records,
    vehicles,
)
from node.records import names
from node.records.validation import identifier_key, registration_key


@dataclass(frozen=True, slots=True)
class PersonHit:
    """A person found by name, in one record. `score` orders hits; higher is better."""

    person_id: str
    name: str  # the person's current name
    matched_name: str  # the written name that matched: the name, an alias, a relative's
    relative_name: str
    relation: str
    age: int
    sex: str
    address: str
    role: str
    record_ref: str
    ledger_index: int
    score: float


@dataclass(frozen=True, slots=True)
class VehicleHit:
    """A vehicle in a record's property list."""

    ledger_index: int
    record_ref: str
    registration: str
    engine_number: str
    chassis_number: str
    make: str
    model: str
    colour: str
    vehicle_type: str
    property_status: str
    matched_on: str  # "registration", "engine" or "chassis"


@dataclass(frozen=True, slots=True)
class PropertyHit:
    """One property item of a record."""

    ledger_index: int
    record_ref: str
    property_id: str
    category: str
    description: str
    status: str
    value_inr: int
    identifiers: str


_NAME_KINDS = ("name", "alias")
# Candidate names scored per statement (SQLite binds each id: at most 32,766 per statement).
_IDS_PER_STATEMENT = 10_000
# A group of keys matching fewer rows than this is read first (`Search._candidate_ids`).
_PROBE = 20_000
_BIGINT_ARRAY = postgresql.ARRAY(sa.BigInteger)
_STRING_ARRAY = postgresql.ARRAY(sa.String)


@dataclass(frozen=True, slots=True)
class _Statement:
    """A person-search statement built once (`Search._rows`); on SQLite also its SQL, the
    order of its parameters and the values of those given at build time."""

    select: sa.Select[Any]
    sql: str | None
    order: tuple[str, ...]
    defaults: dict[str, Any]

    @classmethod
    def of(cls, select: sa.Select[Any], dialect: sa.Dialect | None) -> _Statement:
        if dialect is None:
            return cls(select, None, (), {})
        compiled = select.compile(dialect=dialect)
        return cls(select, str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))


def name_key(form_kind: str, key_kind: str, value: str) -> str:
    """The `name_keys.key` of a variant ("v") or phonetic ("p") key of a name form; "r" in
    front for a relative's name, so a name search never wades through relatives' names."""
    return ("r" if form_kind == "relative" else "") + key_kind + ":" + value


# The longest key `name_keys.key` holds; a pair key longer than this is not written (the
# search then finds that person by the name's and the relative's own keys).
PAIR_KEY_MAX = 80


def pair_key(name_phonetic: str, relative_phonetic: str) -> str:
    """The `name_keys.key` pairing the phonetic key of a token of a person's name (or alias)
    with that of a token of their relative's name: "x:<name>|<relative>". A common name is
    shared by tens of thousands of persons in a state, a common name with a given relative's
    name by a few: a search giving both starts from these keys."""
    return "x:" + name_phonetic + "|" + relative_phonetic


# --- the typo vocabulary ------------------------------------------------------------------------

# A query token that is no known spelling is also looked up as the known tokens within this many
# edits (Damerau-Levenshtein: a letter dropped, added, changed, or two swapped): 1 for tokens
# of 3-6 letters ("Hri" for Hari), 2 from 7 letters. Two-letter tokens are never expanded.
_TYPO_MIN_LETTERS = 3
_TYPO_LONG_LETTERS = 7


def _typo_edits(token: str) -> int:
    if len(token) < _TYPO_MIN_LETTERS:
        return 0
    return 2 if len(token) >= _TYPO_LONG_LETTERS else 1


class _Vocabulary:
    """The `name_tokens` table in memory, for matching typing slips: per kind ("name" for
    names and aliases, "relative"), the known tokens by length with their variant keys, and
    the known variant keys.

    Kept per `RecordIndex` and not part of `snapshot()`. Before each search it is brought up
    to date from `index_meta.next_name_id`: name ids are handed out in ledger order, so the
    names added since the last look are a range of `person_names`, whoever applied them. A
    smaller `next_name_id` means the tables were rebuilt: it is loaded again. Guarded by a
    lock, as searches may run in several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._upto = 0  # names with ids below this are in; 0: not loaded
        self._variants: set[tuple[str, str]] = set()  # (kind, variant key)
        # Per (kind, length), the known tokens and their variant keys at the same positions:
        # the choices rapidfuzz compares a typing slip with.
        self._tokens: dict[tuple[str, int], list[str]] = {}
        self._token_variants: dict[tuple[str, int], list[str]] = {}
        self._seen: set[tuple[str, str]] = set()  # (kind, token)

    def reset(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self._upto = 0
        self._variants, self._seen = set(), set()
        self._tokens, self._token_variants = {}, {}

    def refresh(self, conn: Connection, next_id: int) -> None:
        """Brings the vocabulary up to `next_id` (`index_meta.next_name_id`, which the search
        reads among its own statements)."""
        with self._lock:
            if next_id == self._upto:
                return
            if next_id < self._upto or self._upto == 0:
                self._clear()
                stmt = sa.select(name_tokens.c.kind, name_tokens.c.token, name_tokens.c.variant)
                for kind, token, variant in conn.execute(stmt):
                    self._add(str(kind), str(token), str(variant))
            else:
                pn = person_names
                stmt = sa.select(pn.c.kind, pn.c.normalised, pn.c.variants).where(
                    pn.c.name_id >= self._upto, pn.c.name_id < next_id
                )
                for kind, normalised, variants in conn.execute(stmt):
                    token_kind = "relative" if kind == "relative" else "name"
                    mains = [t for t in str(normalised).split() if len(t) > 1]
                    for token, variant in zip(mains, str(variants).split(), strict=False):
                        self._add(token_kind, token, variant)
            self._upto = next_id

    def _add(self, kind: str, token: str, variant: str) -> None:
        self._variants.add((kind, variant))
        if (kind, token) not in self._seen:
            self._seen.add((kind, token))
            self._tokens.setdefault((kind, len(token)), []).append(token)
            self._token_variants.setdefault((kind, len(token)), []).append(variant)

    def known(self, kind: str, variant: str) -> bool:
        """Whether some name of `kind` has a token with this variant key."""
        with self._lock:
            return (kind, variant) in self._variants

    def neighbours(self, kind: str, token: str, max_edits: int) -> list[str]:
        """The variant keys of known tokens 1..max_edits edits (Damerau-Levenshtein) from
        `token`, sorted.

        Compiled code, not a distance call per known token in Python (the vocabulary grows
        with the diversity of names): rapidfuzz keeps the tokens of the lengths in reach
        within 2 x max_edits plain Levenshtein edits (its bit-parallel distance with a cutoff;
        each Damerau-Levenshtein edit is at most two of those, so none is lost), and only
        those are measured exactly."""
        out: set[str] = set()
        with self._lock:
            for length in range(len(token) - max_edits, len(token) + max_edits + 1):
                tokens = self._tokens.get((kind, length))
                if not tokens:
                    continue
                variants = self._token_variants[(kind, length)]
                for other, _, i in rapidfuzz.process.extract(
                    token,
                    tokens,
                    scorer=Levenshtein.distance,
                    score_cutoff=2 * max_edits,
                    limit=None,
                ):
                    if 0 < DamerauLevenshtein.distance(token, other) <= max_edits:
                        out.add(variants[i])
        return sorted(out)


@dataclass(frozen=True, slots=True)
class _Filters:
    """The age range and role a person search is narrowed to, as conditions on
    `person_names` (each name carries its person's age and role) with bound parameters."""

    age_min: int | None
    age_max: int | None
    role: str | None

    @classmethod
    def of(cls, age_min: int | None, age_max: int | None, role: str | None) -> _Filters:
        return cls(age_min, age_max, role.strip().lower() if role else None)

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        return (self.age_min is not None, self.age_max is not None, self.role is not None)

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        pn = person_names
        out: list[sa.ColumnElement[bool]] = []
        if self.age_min is not None or self.age_max is not None:
            out.append(pn.c.age > 0)
        if self.age_min is not None:
            out.append(pn.c.age >= sa.bindparam("age_min", type_=sa.Integer))
        if self.age_max is not None:
            out.append(pn.c.age <= sa.bindparam("age_max", type_=sa.Integer))
        if self.role is not None:
            out.append(pn.c.role == sa.bindparam("role", type_=sa.String))
        return out

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.age_min is not None:
            out["age_min"] = self.age_min
        if self.age_max is not None:
            out["age_max"] = self.age_max
        if self.role is not None:
            out["role"] = self.role
        return out


# The columns of a person a hit shows, and the record's reference (`Search._person_hits`).
_HIT_COLUMNS = (
    "ledger_index",
    "seq",
    "person_id",
    "name",
    "relative_name",
    "relation",
    "age",
    "sex",
    "address",
    "role",
    "withheld",
)


class Search:
    """Person, vehicle and property search of one index (`RecordIndex.search`).

    The person search's statements are each built once per shape (`_rows`): every list
    (keys, name ids, ledger indexes) is one parameter, so a statement's text does not depend
    on the list's length. On SQLite each is compiled once to its SQL and run on the driver's
    own connection, so a search pays for SQLite's work and its own scoring, not for building,
    compiling and wrapping statements (most of its time before); on PostgreSQL the same
    statements go through SQLAlchemy.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._vocabulary = _Vocabulary()
        self._statements: dict[tuple[Any, ...], _Statement] = {}

    def reset(self) -> None:
        """Forgets the typo vocabulary (the tables were dropped)."""
        self._vocabulary.reset()

    def persons(
        self,
        query: str,
        *,
        relative: str | None = None,
        age_min: int | None = None,
        age_max: int | None = None,
        role: str | None = None,
        limit: int = 50,
    ) -> list[PersonHit]:
        """Finds persons the way officers type names; best first.

        `query` may be "K. Raju", "Raju K", "raju", "Muhamad Rasheed", "Raju @ Kuttan" (name
        or alias), "Raju S/o Gopalan" or just "S/o Gopalan" (by the relative's name), or in
        Malayalam script. See `_score_form` for the ranking. Age filters use the age recorded
        in the case; persons with unknown age (0) are left out when an age filter is given.
        Persons whose identity is withheld are never found by name.
        """
        split = names.split_relation(query)
        relative_text = relative if relative is not None else split.relative
        alternatives = [
            _NameQuery.of(a) for a in names.split_aliases(split.name) if names.analyse(a).mains
        ]
        rel_query = _NameQuery.of(relative_text) if relative_text else None
        if rel_query is not None and not rel_query.mains:
            rel_query = None
        if not alternatives and rel_query is None:
            return []
        with self._engine.connect() as conn:
            if not self._sqlite:
                # Search statements are short index walks: compiling them (PostgreSQL's JIT,
                # costed on the planner's guess for a whole partitioned table) took longer
                # than running them.
                conn.exec_driver_sql("SET LOCAL jit = off")
            next_id = self._rows(
                conn,
                ("meta",),
                lambda: sa.select(index_meta.c.value).where(
                    index_meta.c.key == sa.bindparam("key", type_=sa.String)
                ),
                key="next_name_id",
            )
            self._vocabulary.refresh(conn, int(next_id[0][0] or 0) if next_id else 0)
            filters = _Filters.of(age_min, age_max, role)
            ages = _AgeRange.of(age_min, age_max)
            hits = self._search(conn, alternatives, rel_query, filters, ages, limit)
            if hits or not any(_typo_edits(t) for q in alternatives for t in q.mains):
                return hits
            # Nothing found as typed: each known spelling may be a slip for another name.
            alternatives = [replace(q, slips=True) for q in alternatives]
            if rel_query is not None:
                rel_query = replace(rel_query, slips=True)
            return self._search(conn, alternatives, rel_query, filters, ages, limit)

    def _search(
        self,
        conn: Connection,
        alternatives: list[_NameQuery],
        rel_query: _NameQuery | None,
        filters: _Filters,
        ages: _AgeRange | None,
        limit: int,
    ) -> list[PersonHit]:
        """`persons` once the query is parsed and the vocabulary is up to date."""
        queries = [(q, 0.0) for q in alternatives]
        queries += [(c, _COMPOUND_PENALTY) for q in alternatives for c in self._compounds(q)]
        if alternatives and rel_query is not None:
            paired = self._by_pairs(conn, queries, rel_query, filters, ages)
            if paired:
                return self._person_hits(conn, _ranked(paired, limit))
        best: dict[tuple[int, int], tuple[float, str]] = {}
        for q, penalty in queries:
            for key, score, matched in self._matching_forms(conn, q, _NAME_KINDS, filters, ages):
                if key not in best or score - penalty > best[key][0]:
                    best[key] = (score - penalty, matched)
        if rel_query is not None and alternatives:
            # The relative's names of the persons found by name only: never every person
            # with a common relative's name.
            if best:
                relatives = self._relative_scores(conn, rel_query, sorted(best))
                best = {k: (s + 0.5 * relatives[k], m) for k, (s, m) in best.items()
                        if k in relatives}  # fmt: skip
        elif rel_query is not None:
            for key, score, matched in self._matching_forms(
                conn, rel_query, ("relative",), filters, ages
            ):
                if key not in best or score > best[key][0]:
                    best[key] = (score, matched)
        return self._person_hits(conn, _ranked(best, limit))

    # -- statements ------------------------------------------------------------------------------

    def _rows(
        self,
        conn: Connection,
        shape: tuple[Any, ...],
        build: Callable[[], sa.Select[Any]],
        **params: Any,
    ) -> Sequence[Any]:
        """The rows (tuples) of the statement of `shape`, built by `build` on first use, with
        `params`. Lists are passed through `_values` and tested with `_one_of`."""
        statement = self._statements.get(shape)
        if statement is None:
            statement = _Statement.of(build(), self._engine.dialect if self._sqlite else None)
            self._statements[shape] = statement  # a race builds it twice: same statement
        if statement.sql is None:
            return conn.execute(statement.select, params).all()
        values = [params[n] if n in params else statement.defaults[n] for n in statement.order]
        driver = conn.connection.driver_connection
        assert driver is not None
        rows: list[Any] = driver.execute(statement.sql, values).fetchall()
        return rows

    def _one_of(self, column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
        """`column` is one of the values of list parameter `name` (given through `_values`):
        one parameter, however long the list. On SQLite a JSON array read by `json_each`; on
        PostgreSQL one array parameter (`= ANY`), whose length the planner sees, rather than
        thousands of bound parameters (ids as one text split by the server: psycopg's dumping
        of a list of thousands of ints as an array took milliseconds)."""
        if self._sqlite:
            each = sa.func.json_each(sa.bindparam(name, type_=sa.String)).table_valued("value")
            return column.in_(sa.select(each.c.value))
        if isinstance(column.type, sa.Integer):
            listed = sa.func.string_to_array(sa.bindparam(name, type_=sa.Text), ",")
            return column == sa.func.any(sa.cast(listed, _BIGINT_ARRAY))
        return column == sa.func.any(sa.bindparam(name, type_=_STRING_ARRAY))

    def _values(self, values: Iterable[Any], *, ints: bool = False) -> Any:
        """A list as the parameter `_one_of` reads."""
        if self._sqlite:
            return json.dumps(list(values))
        if ints:
            return ",".join(map(str, values))
        return list(values)

    # -- person search ---------------------------------------------------------------------------

    def _by_pairs(
        self,
        conn: Connection,
        queries: list[tuple[_NameQuery, float]],
        rel_query: _NameQuery,
        filters: _Filters,
        ages: _AgeRange | None,
    ) -> dict[tuple[int, int], tuple[float, str]]:
        """A search by name and relative through the pair keys (`pair_key`): the names whose
        every required token pairs with every required token of the relative's name, each
        scored as `persons` scores it, the relative's name scored by the person's relative
        forms (`_relative_scores`).

        The candidates are a superset of what the name's and the relative's own keys would
        give for a full match (a variant or typo match implies a phonetic one); the scores
        are the same. Empty when nothing matches so: the caller then searches the slow way
        (a name matched by one token and initials, a relative by initials alone)."""
        relative_keys = [
            self._phonetics(rel_query, i, "relative") for i in range(len(rel_query.mains))
        ]
        relative_groups = [
            phonetics
            for i, (phonetics, _) in enumerate(relative_keys)
            if not rel_query.optional[i] and phonetics
        ]
        if not relative_groups:
            return {}
        named: dict[tuple[int, int], tuple[float, str]] = {}
        for q, penalty in queries:
            groups: list[tuple[str, ...]] = []
            typo = [0] * len(q.mains)
            for i in range(len(q.mains)):
                if q.optional[i]:
                    continue
                phonetics, typo[i] = self._phonetics(q, i, "name")
                # Every required token of the name with every one of the relative's name.
                groups.extend(
                    tuple(pair_key(p, r) for p in phonetics for r in relative)
                    for relative in relative_groups
                )
            if any(typo):
                q = replace(q, typo=tuple(typo))
            found = self._score_candidates(conn, q, _NAME_KINDS, filters, groups, len(groups), ages)
            for key, score, matched in found:
                if key not in named or score - penalty > named[key][0]:
                    named[key] = (score - penalty, matched)
        if not named:
            return {}
        relative_scores = self._relative_scores(conn, rel_query, sorted(named))
        return {
            key: (score + 0.5 * relative_scores[key], matched)
            for key, (score, matched) in named.items()
            if key in relative_scores
        }

    def _compounds(self, q: _NameQuery) -> list[_NameQuery]:
        """The query with a compound given name written the other way, where the index knows
        that way: a word split in two known name tokens ("Kunhalikutty" -> "Kunhali Kutty",
        "Sreedevi" -> "Sree Devi") and two adjacent words joined into a known one ("Shameer
        Ali" -> "Shameerali"). Found by the variant keys of the parts in the vocabulary, so
        only spellings some indexed name has are tried; each part has 3+ letters. Names
        found so score `_COMPOUND_PENALTY` below the same match of the query as typed."""
        known = self._vocabulary.known
        mains = q.mains
        out: list[_NameQuery] = []
        for i, token in enumerate(mains):
            for cut in range(3, len(token) - 2):
                head, tail = token[:cut], token[cut:]
                if known("name", names.variant_key(head)) and known(
                    "name", names.variant_key(tail)
                ):
                    out.append(_NameQuery.of_mains((*mains[:i], head, tail, *mains[i + 1 :]), q))
        for i in range(len(mains) - 1):
            joined = mains[i] + mains[i + 1]
            if known("name", names.variant_key(joined)):
                out.append(_NameQuery.of_mains((*mains[:i], joined, *mains[i + 2 :]), q))
        return out[:_MAX_COMPOUNDS]

    def _phonetics(self, q: _NameQuery, i: int, token_kind: str) -> tuple[list[str], int]:
        """The phonetic keys query token `i` may match: its own, and for a token that is no
        known spelling those of the known tokens a few edits away, with the edits a typo
        match may then differ by (0: the token is taken as written), as `_matching_forms`."""
        out = {q.phonetics[i]}
        typo = 0
        edits = _typo_edits(q.mains[i])
        if edits and (q.slips or not self._vocabulary.known(token_kind, q.variants[i])):
            near = self._vocabulary.neighbours(token_kind, q.mains[i], edits)
            if near:
                typo = edits
                out.update(names.phonetic_key(v) for v in near)
        return sorted(p for p in out if p), typo

    def _relative_scores(
        self, conn: Connection, rel_query: _NameQuery, people: list[tuple[int, int]]
    ) -> dict[tuple[int, int], float]:
        """Per person, the best score of their relative's names against `rel_query` (persons
        none of whose relative's names matches are left out); a token that is no known
        spelling of a relative's name may match one a few edits away, as in `_phonetics`."""
        pn = person_names
        out: dict[tuple[int, int], float] = {}
        typo = tuple(
            self._phonetics(rel_query, i, "relative")[1] for i in range(len(rel_query.mains))
        )
        if any(typo):
            rel_query = replace(rel_query, typo=typo)
        wanted = set(people)
        # Rows of the candidates' records, filtered to the candidates here: a row-value IN
        # list is not portable, and a record holds a handful of persons.
        rows = self._rows(
            conn,
            ("relatives",),
            lambda: sa.select(
                pn.c.ledger_index,
                pn.c.person_seq,
                pn.c.normalised,
                pn.c.initials,
                pn.c.variants,
                pn.c.phonetics,
                pn.c.superseded,
            ).where(self._one_of(pn.c.ledger_index, "records"), pn.c.kind == "relative"),
            records=self._values(sorted({k[0] for k in people}), ints=True),
        )
        for ledger_index, seq, normalised, initials, variants, phonetics, old in rows:
            key = (int(ledger_index), int(seq))
            if key not in wanted:
                continue
            score = _score_form(rel_query, normalised, initials, variants, phonetics)
            if score is None:
                continue
            if old:
                score -= 0.05
            if key not in out or score > out[key]:
                out[key] = score
        return out

    def _matching_forms(
        self,
        conn: Connection,
        q: _NameQuery,
        kinds: tuple[str, ...],
        filters: _Filters,
        ages: _AgeRange | None,
    ) -> list[tuple[tuple[int, int], float, str]]:
        """Scores the written names that share keys with the query.

        The database narrows first: a name must match every required query token by key
        (grouped by name, counting distinct tokens matched). Only when that finds nothing is
        a name matching any one token considered, so "Gopalan Raju" still finds "G. Raju".

        A required token whose variant key no name has ("Mnoj") is probably a typing slip: it
        also matches the known variant keys within a small edit distance ("manoj"), which
        `_score_form` scores below phonetic matches. A token that is a known spelling is taken
        as written, so "Rajesh" never finds "Ramesh", unless the query as typed found no one
        (`_NameQuery.slips`: "Jaya S/o Satheesan" typed for "Jayan S/o Satheesan").
        """
        token_kind = "relative" if kinds[0] == "relative" else "name"
        groups: list[tuple[str, ...]] = []
        typo = [0] * len(q.mains)
        for i in range(len(q.mains)):
            if q.optional[i]:
                continue
            group = [
                name_key(kinds[0], "v", q.variants[i]),
                name_key(kinds[0], "p", q.phonetics[i]),
            ]
            edits = _typo_edits(q.mains[i])
            if edits and (q.slips or not self._vocabulary.known(token_kind, q.variants[i])):
                near = self._vocabulary.neighbours(token_kind, q.mains[i], edits)
                if near:
                    typo[i] = edits
                    group.extend(name_key(kinds[0], "v", v) for v in near)
            groups.append(tuple(group))
        if any(typo):
            q = replace(q, typo=tuple(typo))
        out = self._score_candidates(conn, q, kinds, filters, groups, len(groups), ages)
        if not out and len(groups) > 1:
            out = self._score_candidates(conn, q, kinds, filters, groups, 1, ages)
        return out

    def _score_candidates(
        self,
        conn: Connection,
        q: _NameQuery,
        kinds: tuple[str, ...],
        filters: _Filters,
        groups: list[tuple[str, ...]],
        min_groups: int,
        ages: _AgeRange | None = None,
    ) -> list[tuple[tuple[int, int], float, str]]:
        # The name ids first, on their own: within one statement the planner guesses how many
        # names the keys match from the keys' statistics and, at millions of names, may read
        # every name rather than look a few thousand up by id.
        name_ids = self._candidate_ids(conn, groups, min_groups)
        out: list[tuple[tuple[int, int], float, str]] = []
        for start in range(0, len(name_ids), _IDS_PER_STATEMENT):
            chunk = name_ids[start : start + _IDS_PER_STATEMENT]
            out += self._score_names(conn, q, kinds, filters, chunk, min_groups < len(groups), ages)
        return out

    def _candidate_ids(
        self, conn: Connection, groups: list[tuple[str, ...]], min_groups: int
    ) -> list[int]:
        """The names with keys of at least `min_groups` of the `groups`, sorted.

        When every group is required, the groups are counted first, each up to `_PROBE` rows
        and no further than the smallest counted before it: the smallest is read whole and the
        others only checked for its names, so "Muhammed Ashraf S/o Muhammed Aslam" never reads
        the hundred thousand names pairing Muhammed with Muhammed. Otherwise (or when every
        group is that large) one statement counts, per name, the groups it has."""
        nk = name_keys
        if min_groups == len(groups) > 1:
            sizes = []
            cap = _PROBE  # a group is counted only as far as the smallest so far
            for i, group in enumerate(groups):
                rows = self._rows(
                    conn,
                    ("count",),
                    lambda: sa.select(sa.func.count()).select_from(
                        sa.select(nk.c.name_id)
                        .where(self._one_of(nk.c.key, "keys"))
                        .limit(sa.bindparam("cap", type_=sa.Integer))
                        .subquery()
                    ),
                    keys=self._values(group),
                    cap=cap,
                )
                size = int(rows[0][0])
                sizes.append((size, i))
                cap = min(cap, size + 1)
            sizes.sort()
            if sizes[0][0] < _PROBE:
                smallest = groups[sizes[0][1]]
                found = {
                    int(r[0])
                    for r in self._rows(
                        conn,
                        ("group",),
                        lambda: sa.select(nk.c.name_id).where(self._one_of(nk.c.key, "keys")),
                        keys=self._values(smallest),
                    )
                }
                for _, i in sizes[1:]:
                    if not found:
                        break
                    found = {
                        int(r[0])
                        for r in self._rows(
                            conn,
                            ("checked",),
                            lambda: sa.select(nk.c.name_id).where(
                                self._one_of(nk.c.key, "keys"), self._one_of(nk.c.name_id, "ids")
                            ),
                            keys=self._values(groups[i]),
                            ids=self._values(sorted(found), ints=True),
                        )
                    }
                return sorted(found)
        keys = sorted({key for group in groups for key in group})
        if min_groups > 1:

            def counted() -> sa.Select[Any]:
                group_of = sa.case(
                    *((self._one_of(nk.c.key, f"group{i}"), i) for i in range(len(groups))),
                    else_=-1,
                )
                return (
                    sa.select(nk.c.name_id)
                    .where(self._one_of(nk.c.key, "keys"))
                    .group_by(nk.c.name_id)
                    .having(
                        sa.func.count(sa.distinct(group_of))
                        >= sa.bindparam("min_groups", type_=sa.Integer)
                    )
                )

            rows = self._rows(
                conn,
                ("counted", len(groups)),
                counted,
                keys=self._values(keys),
                min_groups=min_groups,
                **{f"group{i}": self._values(group) for i, group in enumerate(groups)},
            )
        else:
            rows = self._rows(
                conn,
                ("any",),
                lambda: sa.select(nk.c.name_id).where(self._one_of(nk.c.key, "keys")).distinct(),
                keys=self._values(keys),
            )
        return sorted(int(r[0]) for r in rows)

    def _score_names(
        self,
        conn: Connection,
        q: _NameQuery,
        kinds: tuple[str, ...],
        filters: _Filters,
        name_ids: list[int],
        by_initials: bool,
        ages: _AgeRange | None,
    ) -> list[tuple[tuple[int, int], float, str]]:
        out: list[tuple[tuple[int, int], float, str]] = []
        if not name_ids:
            return out

        def build() -> sa.Select[Any]:
            pn = person_names
            stmt = sa.select(
                pn.c.ledger_index,
                pn.c.person_seq,
                pn.c.kind,
                pn.c.name,
                pn.c.normalised,
                pn.c.initials,
                pn.c.variants,
                pn.c.phonetics,
                pn.c.superseded,
                pn.c.age,
            ).where(self._one_of(pn.c.name_id, "ids"), self._one_of(pn.c.kind, "kinds"))
            if by_initials:
                stmt = stmt.where(pn.c.initials != "")  # the rest must be matched by initials
            # Withheld persons have no searchable names; each name carries its person's age
            # and role (and the age, when a range is given, prefers those nearest its middle).
            return stmt.where(*filters.conditions())

        rows = self._rows(
            conn,
            ("names", by_initials, filters.shape),
            build,
            ids=self._values(name_ids, ints=True),
            kinds=self._values(kinds),
            **filters.params(),
        )
        for row in rows:
            ledger_index, seq, kind, name, normalised, initials, variants, phonetics, old, age = row
            score = _score_form(q, normalised, initials, variants, phonetics)
            if score is None:
                continue
            if kind == "alias":
                score -= 0.02
            if old:
                score -= 0.05
            if ages is not None:
                score += ages.bonus(int(age))
            out.append(((int(ledger_index), int(seq)), score, str(name)))
        return out

    def _person_hits(
        self, conn: Connection, ranked: list[tuple[tuple[int, int], tuple[float, str]]]
    ) -> list[PersonHit]:
        if not ranked:
            return []
        keys = [k for k, _ in ranked]
        rows = self._rows(
            conn,
            ("persons",),
            lambda: (
                sa.select(*(persons.c[c] for c in _HIT_COLUMNS), records.c.ref)
                .select_from(
                    persons.join(records, records.c.ledger_index == persons.c.ledger_index)
                )
                .where(self._one_of(persons.c.ledger_index, "records"))
            ),
            records=self._values(sorted({k[0] for k in keys}), ints=True),
        )
        wanted = set(keys)
        found = {key: r for r in rows if (key := (int(r[0]), int(r[1]))) in wanted}
        hits: list[PersonHit] = []
        for key, (score, matched) in ranked:
            r = found.get(key)
            if r is None:
                continue
            (_, _, person_id, name, relative_name, relation, age, sex, address, role, withheld,
             ref) = r  # fmt: skip
            if withheld:
                continue
            hits.append(
                PersonHit(
                    person_id=str(person_id),
                    name=str(name),
                    matched_name=matched,
                    relative_name=str(relative_name),
                    relation=str(relation),
                    age=int(age),
                    sex=str(sex),
                    address=str(address),
                    role=str(role),
                    record_ref=ref or "",
                    ledger_index=key[0],
                    score=round(score, 4),
                )
            )
        return hits

    def vehicles(self, text: str, *, limit: int = 50) -> list[VehicleHit]:
        """Finds vehicles by registration (any spacing or dashes, or its last characters),
        engine or chassis number (whole, leading or trailing part). Needs 3+ characters."""
        key = identifier_key(text)
        if len(key) < 3:
            return []
        reg = registration_key(text)
        v = vehicles
        candidates: list[tuple[int, str, sa.ColumnElement[bool]]] = [
            (0, "registration", v.c.reg_key == reg),
            (1, "registration", self._prefix(v.c.reg_key, key)),
            (2, "registration", self._prefix(v.c.reg_rev, key[::-1])),
            (3, "engine", self._prefix(v.c.engine_key, key)),
            (4, "engine", self._prefix(v.c.engine_rev, key[::-1])),
            (5, "chassis", self._prefix(v.c.chassis_key, key)),
            (6, "chassis", self._prefix(v.c.chassis_rev, key[::-1])),
        ]
        found: dict[tuple[int, int], tuple[int, str, Any]] = {}
        with self._engine.connect() as conn:
            for rank, matched_on, condition in candidates:
                stmt = (
                    sa.select(v, property_items.c.status, records.c.ref)
                    .select_from(
                        v.join(
                            property_items,
                            (property_items.c.ledger_index == v.c.ledger_index)
                            & (property_items.c.seq == v.c.property_seq),
                        ).join(records, records.c.ledger_index == v.c.ledger_index)
                    )
                    .where(condition)
                    .limit(limit)
                )
                for row in conn.execute(stmt):
                    k = (int(row.ledger_index), int(row.property_seq))
                    if k not in found:
                        found[k] = (rank, matched_on, row)
        ordered = sorted(found.items(), key=lambda kv: (kv[1][0], kv[0]))[:limit]
        return [
            VehicleHit(
                ledger_index=k[0],
                record_ref=row.ref or "",
                registration=row.registration,
                engine_number=row.engine_number,
                chassis_number=row.chassis_number,
                make=row.make,
                model=row.model,
                colour=row.colour,
                vehicle_type=row.vehicle_type,
                property_status=row.status,
                matched_on=matched_on,
            )
            for k, (_, matched_on, row) in ordered
        ]

    def _prefix(self, column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
        # SQLite's LIKE is case-insensitive and skips the index; keys are [A-Z0-9], so a range
        # is the same test and uses it. PostgreSQL uses its varchar_pattern_ops index for LIKE.
        if self._sqlite:
            return (column >= prefix) & (column < prefix + "\x7f")
        return column.like(prefix + "%")

    def property(
        self, text: str, *, status: str | None = None, limit: int = 50
    ) -> list[PropertyHit]:
        """Finds property by category ("mobile phone"), words of its description, or its
        identifiers (IMEI, serial numbers); optionally only with `status` ("stolen", ...)."""
        words = text.strip().lower()
        p = property_items
        conditions: list[sa.ColumnElement[bool]] = []
        if words:
            conditions.append(p.c.category == words)
            conditions.append(sa.func.lower(p.c.description).contains(words, autoescape=True))
        key = identifier_key(text)
        if len(key) >= 3:
            conditions.append(p.c.ident_key.contains(key, autoescape=True))
        if not conditions:
            return []
        stmt = (
            sa.select(p, records.c.ref)
            .select_from(p.join(records, records.c.ledger_index == p.c.ledger_index))
            .where(sa.or_(*conditions))
            .order_by(p.c.ledger_index, p.c.seq)
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(p.c.status == status.strip().lower())
        with self._engine.connect() as conn:
            return [property_hit(r) for r in conn.execute(stmt)]


# --- search scoring -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NameQuery:
    mains: tuple[str, ...]
    variants: tuple[str, ...]
    phonetics: tuple[str, ...]
    initials: str
    optional: tuple[bool, ...]  # "kumar" may be missing from the record ("Suresh"/"Suresh Kumar")
    typo: tuple[int, ...] = ()  # per token: edits a typo match may differ by (0 or absent: none)
    # Known spellings may be typing slips too: set when the query as typed found no one
    # ("Jaya" typed for "Jayan", "Anoo" for "Anoop": a slip that spells another real name).
    slips: bool = False

    @classmethod
    def of(cls, text: str) -> _NameQuery:
        keys = names.analyse(text)
        optional = tuple(m in names.OPTIONAL_TOKENS for m in keys.mains)
        if all(optional):
            optional = tuple(False for _ in optional)  # a query of just "Kumar" means it
        return cls(keys.mains, keys.variants, keys.phonetics, keys.initials, optional)

    @classmethod
    def of_mains(cls, mains: tuple[str, ...], like: _NameQuery) -> _NameQuery:
        """A query of these main tokens with the initials of `like` (a compound rewritten)."""
        optional = tuple(m in names.OPTIONAL_TOKENS for m in mains)
        if all(optional):
            optional = tuple(False for _ in optional)
        return cls(
            mains,
            tuple(names.variant_key(m) for m in mains),
            tuple(names.phonetic_key(m) for m in mains),
            like.initials,
            optional,
            slips=like.slips,
        )


_EXACT, _VARIANT, _INITIAL = 1.0, 0.8, 0.3
# A compound name written the other way (`Search._compounds`): below the query as typed.
_COMPOUND_PENALTY = 0.02
_MAX_COMPOUNDS = 3
# A typo match scores below any phonetic one (at least 0.55): 0.5 at one edit, 0.4 at two.
_TYPO_ONE_EDIT, _TYPO_PER_EDIT = 0.5, 0.1
_PHONETIC_MIN_SIMILARITY = 0.75


def _score_form(
    q: _NameQuery, normalised: str, initials: str, variants: str, phonetics: str
) -> float | None:
    """How well one written name matches the query, or None if it does not.

    Every query main token must match a different token of the name: exactly (1.0), by
    variant key (0.8), or by phonetic key when the variant keys are also similar
    (0.55-0.6, by Jaro-Winkler); for a token that is no known spelling (`q.typo`), by a
    token a few edits away (0.5 at one edit, 0.4 at two); else by an initial of the
    name with its first letter (0.3,
    "Gopalan Raju" finds "G. Raju"). An optional token ("kumar") may stay unmatched only if the
    name has no other unmatched part. The mean token score ranks exact > variant > phonetic;
    then +0.1 x the share of the name's parts matched ("Raju" prefers "Raju" to "Raju
    Gopalan"), +0.15 when the query's initials are among the name's, -0.3 when both have
    initials and none agree ("K. Raju" is probably not "P. Raju").
    """
    f_mains = [t for t in normalised.split() if len(t) > 1]
    f_vars = variants.split()
    f_phons = phonetics.split()
    if len(f_vars) != len(f_mains) or len(f_phons) != len(f_mains):
        return None
    used: set[int] = set()
    free_initials = list(initials)
    levels: list[float] = []
    skipped_optional = False
    for i, token in enumerate(q.mains):
        best, best_j = 0.0, -1
        for j, f_token in enumerate(f_mains):
            if j in used:
                continue
            if f_token == token:
                score = _EXACT
            elif f_vars[j] == q.variants[i]:
                score = _VARIANT
            elif f_phons[j] == q.phonetics[i] and (
                (similarity := jellyfish.jaro_winkler_similarity(q.variants[i], f_vars[j]))
                >= _PHONETIC_MIN_SIMILARITY
            ):
                score = 0.4 + 0.2 * similarity
            elif i < len(q.typo) and q.typo[i]:
                edits = jellyfish.damerau_levenshtein_distance(token, f_token)
                if edits > q.typo[i]:
                    continue
                score = _TYPO_ONE_EDIT - _TYPO_PER_EDIT * (edits - 1)
            else:
                continue
            if score > best:
                best, best_j = score, j
        if best_j >= 0:
            used.add(best_j)
            levels.append(best)
        elif token[0] in free_initials:
            free_initials.remove(token[0])
            levels.append(_INITIAL)
        elif q.optional[i]:
            skipped_optional = True
        else:
            return None
    if not levels or max(levels) <= _INITIAL:
        return None
    unmatched = [t for j, t in enumerate(f_mains) if j not in used]
    if skipped_optional and any(t not in names.OPTIONAL_TOKENS for t in unmatched):
        return None
    score = sum(levels) / len(levels)
    if skipped_optional:
        score -= 0.05  # "Suresh Kumar" prefers "Suresh Kumar" to "Suresh"
    countable = [t for t in f_mains if t not in names.OPTIONAL_TOKENS] or f_mains
    matched = sum(1 for j, t in enumerate(f_mains) if j in used and t in countable)
    score += 0.1 * matched / len(countable)
    if q.initials:
        q_init, f_init = set(q.initials), set(initials)
        if f_init:
            if q_init == f_init:
                score += 0.2
            elif q_init <= f_init:
                score += 0.15
            elif q_init & f_init:
                score += 0.05
            else:
                score -= 0.3
        elif q_init & {t[0] for t in unmatched}:
            score += 0.05  # "K. Raju" and "Raju Kumar": K may stand for Kumar
    return score


@dataclass(frozen=True, slots=True)
class _AgeRange:
    """The age range an officer gave ("about 25": 22 to 28)."""

    low: int
    high: int

    @classmethod
    def of(cls, age_min: int | None, age_max: int | None) -> _AgeRange | None:
        if age_min is None or age_max is None or age_max < age_min:
            return None
        return cls(age_min, age_max)

    def bonus(self, age: int) -> float:
        """Up to `_AGE_BONUS` for a recorded age at the middle of the range, less towards its
        ends: of persons whose names match equally well, the one whose age is nearest the
        officer's estimate comes first. Too small to lift a worse name match."""
        middle = (self.low + self.high) / 2
        half = (self.high - self.low) / 2
        return _AGE_BONUS * max(0.0, 1 - abs(age - middle) / (half + 1))


_AGE_BONUS = 0.01


def _ranked(
    best: dict[tuple[int, int], tuple[float, str]], limit: int
) -> list[tuple[tuple[int, int], tuple[float, str]]]:
    """Best first; equal scores in index order."""
    return sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]


def property_hit(r: Any) -> PropertyHit:
    return PropertyHit(
        ledger_index=int(r.ledger_index),
        record_ref=r.ref or "",
        property_id=r.property_id,
        category=r.category,
        description=r.description,
        status=r.status,
        value_inr=int(r.value_inr),
        identifiers=r.identifiers,
    )
