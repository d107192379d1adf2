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
from dataclasses import dataclass, field, replace
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
# On PostgreSQL the persons of at most this many candidate names come with the names
# (`Search._read_candidates`); of more (a common name alone), only the best are read, after.
_PREFETCH_PERSONS = 60
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


@dataclass(frozen=True, slots=True)
class _Wanted:
    """One candidate set of a person search: the names of `kinds` with keys of at least
    `min_groups` of the `groups` (a group per required query token: any of its keys), scored
    against `q`."""

    q: _NameQuery
    kinds: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    min_groups: int

    @property
    def by_initials(self) -> bool:
        """Some token may go unmatched, so only names with initials are read: the rest must be
        matched by initials."""
        return self.min_groups < len(self.groups)


@dataclass(slots=True)
class _Reads:
    """One person search's connection and filters; on PostgreSQL also the relatives' names and
    the persons read with the candidates (`Search._read_candidates`), which `_relative_scores`
    and `_person_hits` then take from here rather than in statements of their own: every
    person those look at is a candidate of an earlier read of the same search."""

    conn: Connection
    filters: _Filters
    relatives: list[Sequence[Any]] = field(default_factory=list)
    persons: dict[tuple[int, int], Sequence[Any]] = field(default_factory=dict)


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
    compiling and wrapping statements (most of its time before).

    On PostgreSQL each statement is a round trip, so a search reads in as few as it can: one
    that reads `index_meta` and sets the transaction's planner settings (`_next_name_id`), then
    one per step of the search (`_read_candidates`: the candidates of every query form at
    once, with their persons and relatives' names), usually two in all. Its transaction ends
    in a commit, not the pool's rollback: psycopg drops its prepared statements on every
    rollback, and the search's statements, prepared once per connection and planned once
    (`force_generic_plan`), would else be planned again by every search (a millisecond for
    the candidates' statement, more than running it).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._vocabulary = _Vocabulary()
        self._statements: dict[tuple[Any, ...], _Statement] = {}
        self._candidates: dict[tuple[bool, bool, bool], sa.TextClause] = {}

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
            reads = _Reads(conn, _Filters.of(age_min, age_max, role))
            self._vocabulary.refresh(conn, self._next_name_id(conn))
            ages = _AgeRange.of(age_min, age_max)
            hits = self._search(reads, alternatives, rel_query, ages, limit)
            if not hits and any(_typo_edits(t) for q in alternatives for t in q.mains):
                # Nothing found as typed: each known spelling may be a slip for another name.
                alternatives = [replace(q, slips=True) for q in alternatives]
                if rel_query is not None:
                    rel_query = replace(rel_query, slips=True)
                hits = self._search(reads, alternatives, rel_query, ages, limit)
            if not self._sqlite:
                conn.commit()  # read only; keeps psycopg's prepared statements (see above)
            return hits

    def _next_name_id(self, conn: Connection) -> int:
        """`index_meta.next_name_id`, which the vocabulary is brought up to before a search.

        On PostgreSQL the same statement sets two planner settings for the search's
        transaction (`set_config(..., true)` is `SET LOCAL`, without a round trip of its own):
        JIT compilation off, since search statements are short index walks and compiling them
        (costed on the planner's guess for a whole partitioned table) took longer than running
        them; and generic plans for prepared statements, so the candidates' statement is
        planned once per connection rather than once per search (its plan is index walks
        whatever the keys: the arrays' lengths change the work, not the plan)."""

        def meta() -> sa.Select[Any]:
            return sa.select(index_meta.c.value).where(
                index_meta.c.key == sa.bindparam("key", type_=sa.String)
            )

        if self._sqlite:
            rows = self._rows(conn, ("meta",), meta, key="next_name_id")
            return int(rows[0][0] or 0) if rows else 0
        rows = self._rows(
            conn,
            ("meta",),
            lambda: sa.select(
                sa.func.set_config("jit", "off", True),
                sa.func.set_config("plan_cache_mode", "force_generic_plan", True),
                meta().scalar_subquery(),
            ),
            key="next_name_id",
        )
        return int(rows[0][2] or 0)

    def _search(
        self,
        reads: _Reads,
        alternatives: list[_NameQuery],
        rel_query: _NameQuery | None,
        ages: _AgeRange | None,
        limit: int,
    ) -> list[PersonHit]:
        """`persons` once the query is parsed and the vocabulary is up to date."""
        queries = [(q, 0.0) for q in alternatives]
        queries += [(c, _COMPOUND_PENALTY) for q in alternatives for c in self._compounds(q)]
        if alternatives and rel_query is not None:
            paired = self._by_pairs(reads, queries, rel_query, ages)
            if paired:
                return self._person_hits(reads, _ranked(paired, limit))
        best: dict[tuple[int, int], tuple[float, str]] = {}
        found = self._matching_forms(
            reads, [q for q, _ in queries], _NAME_KINDS, ages, relatives=rel_query is not None
        )
        for (_, penalty), forms in zip(queries, found, strict=True):
            for key, score, matched in forms:
                if key not in best or score - penalty > best[key][0]:
                    best[key] = (score - penalty, matched)
        if rel_query is not None and alternatives:
            # The relative's names of the persons found by name only: never every person
            # with a common relative's name.
            if best:
                relatives = self._relative_scores(reads, rel_query, sorted(best))
                best = {k: (s + 0.5 * relatives[k], m) for k, (s, m) in best.items()
                        if k in relatives}  # fmt: skip
        elif rel_query is not None:
            (forms,) = self._matching_forms(reads, [rel_query], ("relative",), ages)
            for key, score, matched in forms:
                if key not in best or score > best[key][0]:
                    best[key] = (score, matched)
        return self._person_hits(reads, _ranked(best, limit))

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
        reads: _Reads,
        queries: list[tuple[_NameQuery, float]],
        rel_query: _NameQuery,
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
        wanted: list[_Wanted] = []
        for q, _ in queries:
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
            wanted.append(_Wanted(q, _NAME_KINDS, tuple(groups), len(groups)))
        named: dict[tuple[int, int], tuple[float, str]] = {}
        found = self._score_candidates(reads, wanted, ages, relatives=True)
        for (_, penalty), forms in zip(queries, found, strict=True):
            for key, score, matched in forms:
                if key not in named or score - penalty > named[key][0]:
                    named[key] = (score - penalty, matched)
        if not named:
            return {}
        relative_scores = self._relative_scores(reads, rel_query, sorted(named))
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
        self, reads: _Reads, rel_query: _NameQuery, people: list[tuple[int, int]]
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
        rows: Iterable[Sequence[Any]]
        if self._sqlite:
            # Rows of the candidates' records, filtered to the candidates here: a row-value IN
            # list is not portable, and a record holds a handful of persons.
            rows = self._rows(
                reads.conn,
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
        else:
            rows = reads.relatives  # read with the candidates (`_read_candidates`)
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
        reads: _Reads,
        queries: list[_NameQuery],
        kinds: tuple[str, ...],
        ages: _AgeRange | None,
        *,
        relatives: bool = False,
    ) -> list[list[tuple[tuple[int, int], float, str]]]:
        """Scores the written names that share keys with each query (and on PostgreSQL reads
        their relatives' names too when `relatives`: `_relative_scores` scores them next).

        The database narrows first: a name must match every required query token by key
        (grouped by name, counting distinct tokens matched). Only when that finds nothing is
        a name matching any one token considered, so "Gopalan Raju" still finds "G. Raju".
        Each step reads for every query at once (one statement on PostgreSQL).

        A required token whose variant key no name has ("Mnoj") is probably a typing slip: it
        also matches the known variant keys within a small edit distance ("manoj"), which
        `_score_form` scores below phonetic matches. A token that is a known spelling is taken
        as written, so "Rajesh" never finds "Ramesh", unless the query as typed found no one
        (`_NameQuery.slips`: "Jaya S/o Satheesan" typed for "Jayan S/o Satheesan").
        """
        token_kind = "relative" if kinds[0] == "relative" else "name"
        wanted: list[_Wanted] = []
        for q in queries:
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
            wanted.append(_Wanted(q, kinds, tuple(groups), len(groups)))
        out = self._score_candidates(reads, wanted, ages, relatives=relatives)
        again = [i for i, w in enumerate(wanted) if not out[i] and len(w.groups) > 1]
        if again:
            retried = [replace(wanted[i], min_groups=1) for i in again]
            found = self._score_candidates(reads, retried, ages, relatives=relatives)
            for i, forms in zip(again, found, strict=True):
                out[i] = forms
        return out

    def _score_candidates(
        self,
        reads: _Reads,
        wanted: list[_Wanted],
        ages: _AgeRange | None,
        *,
        relatives: bool,
    ) -> list[list[tuple[tuple[int, int], float, str]]]:
        """The scored names of each of `wanted`'s candidate sets. On SQLite each set is read by
        a few short statements (`_candidate_ids`, `_name_rows`), in-process; on PostgreSQL, where
        each statement is a round trip, all of them are read by one (`_read_candidates`), which
        also brings what the next steps read of the candidates (relatives' names, persons)."""
        if self._sqlite:
            rows = [self._name_rows(reads, w) for w in wanted]
        else:
            rows = self._read_candidates(reads, wanted, relatives=relatives)
        return [self._score_names(w, r, ages) for w, r in zip(wanted, rows, strict=True)]

    def _name_rows(self, reads: _Reads, wanted: _Wanted) -> list[Sequence[Any]]:
        """The candidate names of `wanted` with what `_score_names` scores, on SQLite. The name
        ids first, on their own: within one statement the planner guesses how many names the
        keys match from the keys' statistics and, at millions of names, may read every name
        rather than look a few thousand up by id."""
        name_ids = self._candidate_ids(reads.conn, list(wanted.groups), wanted.min_groups)
        filters = reads.filters

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
            if wanted.by_initials:
                stmt = stmt.where(pn.c.initials != "")  # the rest must be matched by initials
            # Withheld persons have no searchable names; each name carries its person's age
            # and role (and the age, when a range is given, prefers those nearest its middle).
            return stmt.where(*filters.conditions())

        out: list[Sequence[Any]] = []
        for start in range(0, len(name_ids), _IDS_PER_STATEMENT):
            out += self._rows(
                reads.conn,
                ("names", wanted.by_initials, filters.shape),
                build,
                ids=self._values(name_ids[start : start + _IDS_PER_STATEMENT], ints=True),
                kinds=self._values(wanted.kinds),
                **filters.params(),
            )
        return out

    def _read_candidates(
        self, reads: _Reads, wanted: list[_Wanted], *, relatives: bool
    ) -> list[list[Sequence[Any]]]:
        """The candidate names of each of `wanted`, as `_name_rows` reads them on SQLite, in
        one statement on PostgreSQL (`_CANDIDATES_SQL`). It also brings, kept in `reads`, the
        candidates' persons when there are few (`_PREFETCH_PERSONS`: `_person_hits` shows
        them) and, when `relatives`, their relatives' names (`_relative_scores` scores them)."""
        filters = reads.filters
        statement = self._candidates.get(filters.shape)
        if statement is None:
            statement = self._candidates[filters.shape] = _candidates_statement(filters)
        at = [(n, g, key) for n, w in enumerate(wanted) for g, group in enumerate(w.groups)
              for key in group]  # fmt: skip
        rows = reads.conn.execute(
            statement,
            {
                "req": [n for n, _, _ in at],
                "grp": [g for _, g, _ in at],
                "key": [key for _, _, key in at],
                "asked": list(range(len(wanted))),
                "groups": [len(w.groups) for w in wanted],
                "min_groups": [w.min_groups for w in wanted],
                "relative": [w.kinds == ("relative",) for w in wanted],
                "initials": [w.by_initials for w in wanted],
                "probe": _PROBE,
                "with_relatives": relatives,
                "persons_max": _PREFETCH_PERSONS,
                **filters.params(),
            },
        ).all()
        out: list[list[Sequence[Any]]] = [[] for _ in wanted]
        for part, n, name_id, index, seq, c1, c2, c3, c4, c5, c6, c7, c8, flag, age in rows:
            if part == 0:  # as `_name_rows` reads them, and by name id
                out[n].append((index, seq, c1, c2, c3, c4, c5, c6, flag, age, name_id))
            elif part == 1:  # as `_relative_scores` reads them
                reads.relatives.append((index, seq, c3, c4, c5, c6, flag))
            else:  # as `_person_hits` reads them
                key = (int(index), int(seq))
                reads.persons[key] = (index, seq, c1, c2, c3, c4, age, c5, c6, c7, flag, c8)
        return [[row[:-1] for row in sorted(found, key=lambda row: row[-1])] for found in out]

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
        self, wanted: _Wanted, rows: list[Sequence[Any]], ages: _AgeRange | None
    ) -> list[tuple[tuple[int, int], float, str]]:
        out: list[tuple[tuple[int, int], float, str]] = []
        for row in rows:
            ledger_index, seq, kind, name, normalised, initials, variants, phonetics, old, age = row
            score = _score_form(wanted.q, normalised, initials, variants, phonetics)
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
        self, reads: _Reads, ranked: list[tuple[tuple[int, int], tuple[float, str]]]
    ) -> list[PersonHit]:
        if not ranked:
            return []
        keys = [k for k, _ in ranked]
        # On PostgreSQL the persons usually came with the candidates (`_read_candidates`).
        found: dict[tuple[int, int], Sequence[Any]] = {} if self._sqlite else reads.persons
        if any(key not in found for key in keys):
            rows = self._rows(
                reads.conn,
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


# --- person search on PostgreSQL in one statement per step --------------------------------------

# `Search._read_candidates`: what `_candidate_ids`, `_name_rows`, `_relative_scores` and
# `_person_hits` read on SQLite, for several candidate sets at once, in one statement (each
# statement is a round trip on PostgreSQL). Plain SQL, since it is written for one dialect.
#
# `wanted` holds each key of each group of each set ("req"), `asked` each set, `grouped` the
# keys of each group as an array (so that an index scan takes them at once, as `= ANY` does on
# SQLite's side). Where every group is required, `sized` counts the groups in order, each no
# further than the smallest before it and `_PROBE`; when one is smaller than `_PROBE`, the
# smallest is read and each of its names checked for every other group (`smallest`), else
# the names are counted per group they have, each key in the first group holding it: the
# candidates `_candidate_ids` finds. `names` is every candidate's written name under the
# filters (their text is put in by `_candidates_statement`), looked up by an array of ids
# (`ids`) whose length the planner cannot guess from the keys' statistics: so it looks a few
# thousand names up by id at any scale rather than read every name (why the ids were a
# statement of their own before, and still are on SQLite); then the relatives' names (when
# :with_relatives) and the persons (when there are few candidates) of the candidates' persons.
# The three kinds of rows share columns, told apart by `part`.
_CANDIDATES_SQL = """
WITH RECURSIVE
wanted AS (
    SELECT * FROM unnest(
        CAST(:req AS integer[]), CAST(:grp AS integer[]), CAST(:key AS text[])
    ) AS w (req, grp, key)
),
asked AS (
    SELECT * FROM unnest(
        CAST(:asked AS integer[]), CAST(:groups AS integer[]), CAST(:min_groups AS integer[]),
        CAST(:relative AS boolean[]), CAST(:initials AS boolean[])
    ) AS a (req, groups, min_groups, relative, by_initials)
),
grouped AS (SELECT req, grp, array_agg(key) AS keys FROM wanted GROUP BY req, grp),
sized (req, grp, size, cap) AS (
    SELECT req, -1, CAST(0 AS bigint), CAST(:probe AS bigint)
    FROM asked WHERE min_groups = groups AND groups > 1
    UNION ALL
    SELECT s.req, s.grp + 1, c.size, least(s.cap, c.size + 1)
    FROM sized AS s
    JOIN asked AS a ON a.req = s.req AND s.grp + 1 < a.groups
    LEFT JOIN grouped AS g ON g.req = s.req AND g.grp = s.grp + 1
    CROSS JOIN LATERAL (
        SELECT count(*) AS size FROM (
            SELECT 1 FROM name_keys AS nk WHERE nk.key = ANY(g.keys) LIMIT s.cap
        ) AS counted
    ) AS c
),
smallest AS (
    SELECT DISTINCT ON (req) req, grp FROM sized
    WHERE grp >= 0 AND size < CAST(:probe AS bigint)
    ORDER BY req, size, grp
),
candidates AS (
    SELECT s.req, nk.name_id
    FROM smallest AS s
    JOIN grouped AS g ON g.req = s.req AND g.grp = s.grp
    JOIN name_keys AS nk ON nk.key = ANY(g.keys)
    WHERE NOT EXISTS (
        SELECT 1 FROM grouped AS o
        WHERE o.req = s.req AND o.grp <> s.grp AND NOT EXISTS (
            SELECT 1 FROM name_keys AS k WHERE k.key = ANY(o.keys) AND k.name_id = nk.name_id
        )
    )
    UNION ALL
    SELECT a.req, nk.name_id
    FROM asked AS a
    JOIN (SELECT req, key, min(grp) AS grp FROM wanted GROUP BY req, key) AS w ON w.req = a.req
    JOIN name_keys AS nk ON nk.key = w.key
    WHERE a.min_groups > 1 AND NOT EXISTS (SELECT 1 FROM smallest AS s WHERE s.req = a.req)
    GROUP BY a.req, nk.name_id, a.min_groups
    HAVING count(DISTINCT w.grp) >= a.min_groups
    UNION ALL
    SELECT a.req, nk.name_id
    FROM asked AS a
    JOIN (SELECT req, array_agg(key) AS keys FROM wanted GROUP BY req) AS w ON w.req = a.req
    JOIN name_keys AS nk ON nk.key = ANY(w.keys)
    WHERE a.min_groups = 1
),
ids AS (SELECT req, array_agg(name_id) AS ids FROM candidates GROUP BY req),
names AS (
    SELECT i.req, pn.name_id, pn.ledger_index, pn.person_seq, pn.kind, pn.name, pn.normalised,
           pn.initials, pn.variants, pn.phonetics, pn.superseded, pn.age
    FROM ids AS i
    JOIN asked AS a ON a.req = i.req
    JOIN person_names AS pn ON pn.name_id = ANY(i.ids)
    WHERE CASE WHEN a.relative THEN pn.kind = 'relative' ELSE pn.kind IN ('name', 'alias') END
      AND (pn.initials <> '' OR NOT a.by_initials){filters}
),
people AS (SELECT DISTINCT ledger_index, person_seq FROM names)
SELECT 0 AS part, req, name_id, ledger_index, person_seq AS seq,
       CAST(kind AS text) AS c1, CAST(name AS text) AS c2, CAST(normalised AS text) AS c3,
       CAST(initials AS text) AS c4, CAST(variants AS text) AS c5,
       CAST(phonetics AS text) AS c6, NULL AS c7, NULL AS c8, superseded AS flag, age
FROM names
UNION ALL
SELECT 1, NULL, NULL, pn.ledger_index, pn.person_seq, NULL, NULL, pn.normalised, pn.initials,
       pn.variants, pn.phonetics, NULL, NULL, pn.superseded, NULL
FROM people AS p
JOIN person_names AS pn ON pn.ledger_index = p.ledger_index AND pn.person_seq = p.person_seq
WHERE CAST(:with_relatives AS boolean) AND pn.kind = 'relative'
UNION ALL
SELECT 2, NULL, NULL, ps.ledger_index, ps.seq, ps.person_id, ps.name, ps.relative_name,
       ps.relation, ps.sex, ps.address, ps.role, r.ref, ps.withheld, ps.age
FROM people AS p
JOIN persons AS ps ON ps.ledger_index = p.ledger_index AND ps.seq = p.person_seq
JOIN records AS r ON r.ledger_index = ps.ledger_index
WHERE (SELECT count(*) FROM names) <= CAST(:persons_max AS bigint)
"""


def _candidates_statement(filters: _Filters) -> sa.TextClause:
    """`_CANDIDATES_SQL` with the conditions of `filters`' shape."""
    conditions = "".join(
        f"\n      AND {condition}"
        for condition, given in (
            ("pn.age > 0", filters.age_min is not None or filters.age_max is not None),
            ("pn.age >= :age_min", filters.age_min is not None),
            ("pn.age <= :age_max", filters.age_max is not None),
            ("pn.role = :role", filters.role is not None),
        )
        if given
    )
    return sa.text(_CANDIDATES_SQL.replace("{filters}", conditions))


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
