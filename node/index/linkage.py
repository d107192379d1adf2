"""Record linkage of persons: which person records of an index are probably one person
(docs/linkage.md).

A station proposes pairs among its own persons; an aggregating node (district, state, national)
among every office's persons in its one index over the replicas (node/index/aggregate). The
model is Fellegi-Sunter, run by Splink on an in-memory DuckDB: blocking rules choose the pairs
worth comparing, comparisons grade how far two records agree on the name (the name keys of
`node.records.names`: normalised form, transliteration variants, sound keys), the relative's
name, the year of birth (the record's age taken from the record's year when no date of birth is
given), the sex, the address, the mobile number and the date of birth, and the trained weights
of each level (`linkage_model.json`, beside this module, made by `simulations/bench_linkage.py
--train` from synthetic persons with known truth) turn the agreements into a match probability.
Nothing is trained when a proposal is asked for: the model is data, so the same index gives the
same proposals.

Linkage only proposes: an officer confirms or rejects (node/station/linkage.py), and pairs a
standing decision settles are not proposed again (`node.index.person_links`). Read-only; persons
the law protects (withheld), children and unknown accused are never read.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from node.index import person_links, schema
from node.index.aggregate import keys
from node.index.aggregate import schema as agg
from node.index.person_links import PersonKey
from node.records import names

if TYPE_CHECKING:
    from splink import DuckDBAPI, Linker, SettingsCreator
    from splink.internals.comparison_library import CustomComparison

MODEL_PATH = Path(__file__).with_name("linkage_model.json")
#: Pairs at or above this match probability are proposed to an officer. Chosen on the
#: benchmark (simulations/bench_linkage.py): precision and recall both near their best there.
THRESHOLD = 0.9
# Roles whose persons are linked. Victims, complainants and witnesses are left alone: a profile
# gathers an offender's cases, and linking a victim's records is no police purpose of its own.
ROLES = ("accused", "suspect", "history_sheeted", "missing")
# Words of an address that say nothing about where (house, post office).
_ADDRESS_NOISE = frozenset(
    ("house", "veedu", "po", "p", "o", "near", "via", "dist", "district", "pin", "kerala", "india")
)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Appearance:
    """One record a person is named in: the case page's reference and the person's part."""

    ledger_index: int  # in the log of the person's office
    record_ref: str
    role: str
    written_at_ms: int


@dataclass(slots=True)
class PersonRecord:
    """A person of one office, by their id there: what the latest record says of them, and
    every record naming them."""

    key: PersonKey
    name: str
    aliases: list[str]
    relation: str
    relative_name: str
    age: int
    birth_year: int  # 0: unknown
    sex: str
    address: str
    mobile: str
    date_of_birth: str
    appearances: list[Appearance] = field(default_factory=list)

    @property
    def record_ref(self) -> str:
        """The latest record naming the person."""
        return self.appearances[-1].record_ref if self.appearances else ""

    def described(self) -> str:
        """ "Muhammed Shafi M., S/o Shameer, 21" as officers write a person."""
        parts = [self.name]
        if self.relative_name:
            parts.append(f"{self.relation or 'S/o'} {self.relative_name}".strip())
        if self.age:
            parts.append(str(self.age))
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Proposal:
    """Two person records the model finds probably one person."""

    first: PersonRecord
    second: PersonRecord
    probability: float

    def pair(self) -> frozenset[PersonKey]:
        return frozenset((self.first.key, self.second.key))


# -- reading the persons -------------------------------------------------------------------------


def _read(
    engine: Engine, origin_of: Callable[[int], tuple[str, int]], where: Any = None
) -> list[PersonRecord]:
    p, r, n = schema.persons, schema.records, schema.person_names
    stmt = (
        sa.select(
            p.c.ledger_index,
            p.c.seq,
            p.c.person_id,
            p.c.role,
            p.c.name,
            p.c.relative_name,
            p.c.relation,
            p.c.age,
            p.c.date_of_birth,
            p.c.sex,
            p.c.address,
            p.c.mobile,
            r.c.ref,
            r.c.written_at_ms,
        )
        .join(r, r.c.ledger_index == p.c.ledger_index)
        .where(
            p.c.withheld.is_(False),
            p.c.unknown.is_(False),
            p.c.juvenile.is_(False),
            p.c.name != "",
            p.c.role.in_(ROLES),
        )
        .order_by(p.c.ledger_index, p.c.seq)
    )
    alias_stmt = sa.select(n.c.ledger_index, n.c.person_seq, n.c.name).where(
        n.c.kind == "alias", n.c.superseded.is_(False)
    )
    if where is not None:
        stmt = stmt.where(where(p.c.ledger_index))
        alias_stmt = alias_stmt.where(where(n.c.ledger_index))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
        aliases: dict[tuple[int, int], list[str]] = {}
        for a in conn.execute(alias_stmt):
            aliases.setdefault((int(a.ledger_index), int(a.person_seq)), []).append(str(a.name))
    found: dict[PersonKey, PersonRecord] = {}
    for row in rows:
        origin, index = origin_of(int(row.ledger_index))
        person_id = str(row.person_id) or f"@{index}.{row.seq}"
        key = PersonKey(origin, person_id)
        year = schema.year_of_ms(int(row.written_at_ms)) or 0
        dob = str(row.date_of_birth)
        birth_year = int(dob[:4]) if dob[:4].isdigit() else 0
        if not birth_year and row.age and year:
            birth_year = year - int(row.age)
        person = found.get(key)
        if person is None:
            person = found[key] = PersonRecord(key, "", [], "", "", 0, 0, "", "", "", "")
        # The latest record speaks for the person; what an older one alone says is kept.
        person.name = str(row.name)
        person.relation = str(row.relation) or person.relation
        person.relative_name = str(row.relative_name) or person.relative_name
        person.age = int(row.age) or person.age
        person.birth_year = birth_year or person.birth_year
        person.sex = str(row.sex) or person.sex
        person.address = str(row.address) or person.address
        person.mobile = str(row.mobile) or person.mobile
        person.date_of_birth = dob or person.date_of_birth
        for alias in aliases.get((int(row.ledger_index), int(row.seq)), []):
            if alias not in person.aliases:
                person.aliases.append(alias)
        person.appearances.append(
            Appearance(index, str(row.ref or ""), str(row.role), int(row.written_at_ms))
        )
    return list(found.values())


def station_persons(engine: Engine, origin: str) -> list[PersonRecord]:
    """The persons of a station's (or any node's own) index, its log being `origin`."""
    return _read(engine, lambda index: (origin, index))


def aggregate_persons(engine: Engine, origins: Iterable[str] = ()) -> list[PersonRecord]:
    """The persons of an aggregating node's index over its replicas (`AggregateIndex.engine`),
    each traced to its office; only those of `origins` when some are named."""
    o = agg.agg_origins
    with engine.connect() as conn:
        offices = {int(r.origin_no): str(r.origin) for r in conn.execute(sa.select(o))}
    wanted = set(origins)

    def origin_of(row_key: int) -> tuple[str, int]:
        number, index = keys.split(row_key)
        return offices.get(number, f"office {number}"), index

    where = None
    if wanted:
        ranges = [keys.office_range(n) for n, origin in offices.items() if origin in wanted]

        def where(column: Any) -> Any:
            return sa.or_(sa.false(), *(column.between(low, high - 1) for low, high in ranges))

    return _read(engine, origin_of, where)


# -- the model -----------------------------------------------------------------------------------


def _name_columns(prefix: str, texts: Sequence[str]) -> dict[str, Any]:
    """The name keys of `texts` (a name and its aliases, or a relative's name)."""
    analysed = [names.analyse(t) for t in texts if t.strip()]
    analysed = [a for a in analysed if a.mains]
    if not analysed:
        return {f"{prefix}_norm": None, f"{prefix}_var": None, f"{prefix}_phon_key": None,
                f"{prefix}_phon": None}  # fmt: skip
    first = analysed[0]
    phonetics = sorted({k for a in analysed for k in a.phonetics})
    return {
        f"{prefix}_norm": " ".join(first.mains),
        f"{prefix}_var": " ".join(sorted(first.variants)),
        f"{prefix}_phon_key": " ".join(sorted(first.phonetics)),
        f"{prefix}_phon": phonetics,
    }


def _digits(text: str) -> str | None:
    digits = "".join(ch for ch in text if ch.isdigit())[-10:]
    return digits if len(digits) == 10 else None


def features(person: PersonRecord, unique_id: int) -> dict[str, Any]:
    """The columns the model compares, for one person (None where the record says nothing)."""
    words = [w for w in _WORD.findall(person.address.lower()) if w not in _ADDRESS_NOISE]
    address = [names.variant_key(w) for w in words if not w.isdigit() and len(w) > 1]
    return {
        "unique_id": unique_id,
        **_name_columns("name", [person.name, *person.aliases]),
        **_name_columns("rel", [person.relative_name]),
        "birth_year": person.birth_year or None,
        "sex": person.sex if person.sex in ("M", "F", "T") else None,
        "address_key": " ".join(address) or None,
        "address_words": sorted(set(address)) or None,
        "mobile": _digits(person.mobile),
        "dob": person.date_of_birth or None,
    }


def _name_comparison(prefix: str, what: str) -> CustomComparison:
    import splink.comparison_level_library as cll  # noqa: PLC0415 (see `settings`)
    import splink.comparison_library as cl  # noqa: PLC0415

    return cl.CustomComparison(
        output_column_name=prefix,
        comparison_description=what,
        comparison_levels=[
            cll.NullLevel(f"{prefix}_norm"),
            # The same name weighs by how rare it is among the node's records (`Population`).
            cll.ExactMatchLevel(f"{prefix}_norm", term_frequency_adjustments=True),
            # Not the variants' nor the sound keys' levels: each is trained as "the same there,
            # not the same name", which the share of records with that variant does not
            # measure; adjusted, they traded recall for precision as a higher threshold
            # does, no better (docs/linkage.md).
            cll.ExactMatchLevel(f"{prefix}_var"),
            cll.ExactMatchLevel(f"{prefix}_phon_key"),
            cll.JaroWinklerLevel(f"{prefix}_norm", 0.88),
            cll.ArrayIntersectLevel(f"{prefix}_phon", 1),
            cll.ElseLevel(),
        ],
    )


def settings() -> SettingsCreator:
    """The model's shape, untrained: its blocking rules and comparisons."""
    # Splink (and DuckDB) are imported when linkage runs, not when the CLI or the web app
    # starts: 0.7 s of start-up that every other command would pay.
    import splink.comparison_level_library as cll  # noqa: PLC0415
    import splink.comparison_library as cl  # noqa: PLC0415
    from splink import SettingsCreator, block_on  # noqa: PLC0415

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("name_phon_key"),
            block_on("rel_phon_key", "birth_year"),
            block_on("mobile"),
            block_on("name_phon", "rel_phon_key", arrays_to_explode=["name_phon"]),
            block_on("address_key"),
        ],
        comparisons=[
            _name_comparison("name", "the person's name and aliases"),
            _name_comparison("rel", "the relative's name"),
            cl.CustomComparison(
                output_column_name="birth_year",
                comparison_description="the year of birth",
                comparison_levels=[
                    cll.NullLevel("birth_year"),
                    cll.ExactMatchLevel("birth_year"),
                    cll.AbsoluteDifferenceLevel("birth_year", 1),
                    cll.AbsoluteDifferenceLevel("birth_year", 2),
                    cll.AbsoluteDifferenceLevel("birth_year", 4),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("sex"),
            cl.CustomComparison(
                output_column_name="address",
                comparison_description="the address",
                comparison_levels=[
                    cll.NullLevel("address_key"),
                    cll.ExactMatchLevel("address_key"),
                    cll.ArrayIntersectLevel("address_words", 2),
                    cll.ArrayIntersectLevel("address_words", 1),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("mobile"),
            cl.ExactMatch("dob"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


#: The key `simulations/bench_linkage.py --train` adds to Splink's saved model: how many records
#: the prior was measured on (`prior`).
TRAINED_ON = "trained_on_records"


@functools.cache
def _saved(model: Path) -> dict[str, Any]:
    saved: dict[str, Any] = json.loads(model.read_text("utf-8"))
    return saved


def term_frequency_columns(model: Path = MODEL_PATH) -> tuple[str, ...]:
    """The columns whose values' frequencies adjust the weight of an agreement on them."""
    found = {
        str(level["tf_adjustment_column"])
        for comparison in _saved(model)["comparisons"]
        for level in comparison["comparison_levels"]
        if level.get("tf_adjustment_column")
    }
    return tuple(sorted(found))


def prior(records: int, model: Path = MODEL_PATH) -> float:
    """The probability that two random records of a node linking `records` person records are
    one person. The model's was measured on N0 records (`TRAINED_ON`). A person has about as
    many records on a state node as at a station, so the matching pairs grow as the records do
    while the pairs grow as their square: the prior falls as N0 / N (a national node's, 10^7
    records, 11 bits below a station's). It is never raised above the trained one: below N0
    the threshold was never measured, and a small register proposes on its trained evidence."""
    saved = _saved(model)
    trained = float(saved["probability_two_random_records_match"])
    measured_on = int(saved.get(TRAINED_ON, 0))
    if not measured_on or records <= measured_on:
        return trained
    return trained * measured_on / records


@dataclass(frozen=True, slots=True)
class Population:
    """What a pair's probability depends on beyond its two records: how many records the node
    links (the prior, `prior`) and how often each name (and relative's name) is written among
    them. An agreement on a name one record in ten thousand bears weighs more than one on a
    name one in two hundred bear (Splink's term-frequency adjustment: log2(u / frequency) bits
    added to the level's weight). Taken from every record the node links, never from a subset
    scored (a profile's neighbours all share the person's name)."""

    records: int
    frequencies: Mapping[str, Mapping[str, float]]  # column -> value -> share of the records

    @classmethod
    def of_rows(cls, rows: Sequence[Mapping[str, Any]], model: Path = MODEL_PATH) -> Population:
        # On fewer records than the model was trained on, a share is mostly chance (the two
        # records of one person make their name "common" among ten): it is counted as among
        # that many, and a name seen twice weighs as a rare one does.
        measured_on = int(_saved(model).get(TRAINED_ON, 0))
        frequencies: dict[str, dict[str, float]] = {}
        for column in term_frequency_columns(model):
            counts = Counter(row[column] for row in rows if row[column] is not None)
            total = max(sum(counts.values()), measured_on)
            frequencies[column] = {value: n / total for value, n in counts.items()}
        return cls(len(rows), frequencies)

    @classmethod
    def of(cls, persons: Sequence[PersonRecord], model: Path = MODEL_PATH) -> Population:
        return cls.of_rows([features(p, number) for number, p in enumerate(persons)], model)


def linker(
    rows: list[dict[str, Any]], model: dict[str, Any] | SettingsCreator, db: DuckDBAPI | None = None
) -> Linker:
    """A Splink linker over the feature rows, on `db` (by default a fresh in-memory DuckDB)."""
    from splink import DuckDBAPI, Linker  # noqa: PLC0415 (see `settings`)

    db = db or DuckDBAPI()
    return Linker(db.register(rows), model, log_level=logging.WARNING)


def score(
    rows: list[dict[str, Any]],
    threshold: float,
    model: Path = MODEL_PATH,
    population: Population | None = None,
) -> list[tuple[int, int, float]]:
    """(unique id, unique id, match probability) of each pair at or above `threshold`, the
    prior and the names' frequencies those of `population` (by default, of `rows`)."""
    if len(rows) < 2:
        return []
    population = population or Population.of_rows(rows, model)
    settings = copy.deepcopy(_saved(model))
    settings.pop(TRAINED_ON, None)
    settings["probability_two_random_records_match"] = prior(population.records, model)
    from splink import DuckDBAPI  # noqa: PLC0415 (see `settings`)

    db = DuckDBAPI()  # the lookups must be in the linker's own database
    found = linker(rows, settings, db)
    for column in term_frequency_columns(model):
        shares = population.frequencies.get(column, {})
        wanted = {row[column] for row in rows} & shares.keys()
        if wanted:  # only the values scored here: a state's table has lakhs
            lookup = [{column: v, f"tf_{column}": shares[v]} for v in sorted(wanted)]
            found.table_management.register_term_frequency_lookup(db.register(lookup), column)
    predictions = found.inference.predict(
        threshold_match_probability=threshold, warning_mode="never"
    )
    relation = predictions.as_duckdbpyrelation()
    pairs = relation.select("unique_id_l, unique_id_r, match_probability").fetchall()
    return [(int(a), int(b), float(p)) for a, b, p in pairs]


def _proposals(
    persons: Sequence[PersonRecord],
    scored: Iterable[tuple[int, int, float]],
    decided: set[frozenset[PersonKey]] | None,
) -> list[Proposal]:
    settled = decided or set()
    proposals = []
    for a, b, probability in scored:
        proposal = Proposal(persons[a], persons[b], probability)
        if proposal.first.key != proposal.second.key and proposal.pair() not in settled:
            proposals.append(proposal)
    proposals.sort(key=lambda p: (-p.probability, p.first.key, p.second.key))
    return proposals


def propose(
    persons: Sequence[PersonRecord],
    *,
    decided: set[frozenset[PersonKey]] | None = None,
    threshold: float = THRESHOLD,
    model: Path = MODEL_PATH,
    population: Population | None = None,
) -> list[Proposal]:
    """The pairs of `persons` the model finds one person with at least `threshold`
    probability, most probable first, leaving out the pairs `decided` (a standing decision:
    `person_links.Links.decided`). `population`: the records of the node when `persons` are
    only some of them (by default `persons` are all)."""
    rows = [features(person, number) for number, person in enumerate(persons)]
    return _proposals(persons, score(rows, threshold, model, population), decided)


# -- one person's profile ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    """One person across the records linked to them: every record (office, person id), the
    names they were written under, every case, and the pairs still to decide."""

    key: PersonKey
    members: tuple[PersonRecord, ...]
    proposals: tuple[Proposal, ...]

    @property
    def names(self) -> list[str]:
        """Every name and alias written for the person, the latest record's name first."""
        seen: dict[str, None] = {}
        for person in sorted(self.members, key=lambda m: m.key != self.key):
            for text in (person.name, *person.aliases):
                seen.setdefault(text, None)
        return list(seen)

    @property
    def cases(self) -> list[tuple[PersonKey, Appearance]]:
        """Each record naming the person, with the office and person id it names them by,
        oldest first."""
        found = [(m.key, a) for m in self.members for a in m.appearances]
        return sorted(found, key=lambda item: (item[1].written_at_ms, item[0]))


def _block_keys(row: Mapping[str, Any]) -> set[str]:
    """The blocking keys of a record's features: two records share one when a blocking rule
    of the model would compare them."""
    found = {f"n:{k}" for k in row["name_phon"] or ()}
    if row["mobile"]:
        found.add(f"m:{row['mobile']}")
    if row["rel_phon_key"] and row["birth_year"]:
        found.add(f"r:{row['rel_phon_key']}|{row['birth_year']}")
    if row["address_key"]:
        found.add(f"a:{row['address_key']}")
    return found


def profile(
    persons: Sequence[PersonRecord],
    key: PersonKey,
    same: frozenset[PersonKey],
    decided: set[frozenset[PersonKey]],
    *,
    threshold: float = THRESHOLD,
) -> Profile | None:
    """The profile of the person `key` among `persons` (every person the node links): the
    records `same` names one person (`person_links.Links.same_person`), and the pairs proposed
    between them and any other record, not yet decided. The model scores only the records
    sharing a blocking key with the person's, with the prior and the names' frequencies of all
    of `persons`: a pair's probability is the one `propose` gives it. None when `key` is no
    person of `persons`. (`NodeLinkage.profile` keeps what it scores.)"""
    return NodeLinkage(persons, threshold=threshold).profile(key, same, decided)


def replica_decisions(engine: Engine) -> list[person_links.LinkDecision]:
    """The person-link decisions of the offices an aggregating node replicates (its one index
    over them), each traced to the office whose log holds it."""
    o = agg.agg_origins
    with engine.connect() as conn:
        offices = {int(r.origin_no): str(r.origin) for r in conn.execute(sa.select(o))}

    def locate(row_key: int) -> tuple[str, int]:
        number, index = keys.split(row_key)
        return offices.get(number, f"office {number}"), index

    return person_links.decisions(engine, locate)


def node_decisions(
    engine: Engine, aggregate: Engine | None = None
) -> list[person_links.LinkDecision]:
    """The decisions a node goes by: its own log's (`engine`), then, on an aggregating node,
    those of the stations it replicates (`aggregate`): a station's confirmation of its own
    duplicate makes one person at the district too."""
    found = person_links.decisions(engine)
    if aggregate is not None:
        found.extend(replica_decisions(aggregate))
    return found


def node_persons(
    engine: Engine, origin: str, aggregate: Engine | None = None
) -> list[PersonRecord]:
    """The persons a node links: those of its own log (`engine`, its index) and, on an
    aggregating node, those of every replica it holds (`aggregate`, its one index over them)."""
    found = station_persons(engine, origin)
    if aggregate is not None:
        found.extend(p for p in aggregate_persons(aggregate) if p.key.origin != origin)
    return found


# -- a node's proposals, kept --------------------------------------------------------------------
#
# The pages show a node's proposals on every view, and scoring them takes seconds (2 s for
# 7,000 records on a loaded two-core machine). They depend on nothing but the persons read
# (their features, and so the prior and the names' frequencies), and which of them are shown on
# the standing decisions: both are projections of ledger entries, so where a node's indexes
# stand (`index_state`) says when they may have changed. A node keeps, in memory, the persons
# and the pairs scored as of one state; a view at the same state is served from them. When an
# entry moves the state the persons are read again, and scored again only if their features
# differ: a decision (an entry that names no new person) costs a read, not a scoring. The
# decisions are applied to the kept pairs on every view (a filter), so a new decision shows at
# once. Derived data only: nothing is stored, and a restart scores again.


def index_state(engine: Engine, aggregate: Engine | None = None) -> tuple[int, ...]:
    """Where a node's indexes stand: its own index's size and last entry, and on an
    aggregating node each office's indexed size. A new record, a change to a person and a
    decision are each an entry, and move it."""
    with engine.connect() as conn:
        found = [schema.read_meta(conn, "indexed_size"), schema.read_meta(conn, "tail_fingerprint")]
    if aggregate is not None:
        o = agg.agg_origins
        with aggregate.connect() as conn:
            rows = conn.execute(sa.select(o.c.origin_no, o.c.indexed_size).order_by(o.c.origin_no))
            for row in rows:
                found.extend((int(row.origin_no), int(row.indexed_size)))
    return tuple(found)


class NodeLinkage:
    """The persons a node links and the pairs the model scores among them, computed once: the
    whole node's pairs (`proposals`) or the pairs of one person's records (`profile`), each
    kept for the next view. Safe to share between threads: one computes, the others wait for
    its result."""

    def __init__(
        self,
        persons: Sequence[PersonRecord],
        *,
        state: tuple[int, ...] = (),
        threshold: float = THRESHOLD,
        model: Path = MODEL_PATH,
        previous: NodeLinkage | None = None,
    ) -> None:
        self.state = state
        self.persons = persons
        self._rows = [features(person, number) for number, person in enumerate(persons)]
        self._threshold = threshold
        self._model = model
        self._lock = threading.Lock()
        self._number = {person.key: number for number, person in enumerate(persons)}
        same = (
            previous is not None
            and (previous._threshold, previous._model) == (threshold, model)
            and previous._rows == self._rows
        )
        self.population: Population
        self._all: list[tuple[int, int, float]] | None = None
        # Each profile's pairs, by the records of the person (the oldest left out first).
        self._near: dict[frozenset[int], list[tuple[int, int, float]]] = {}
        self._keys: list[set[str]] | None = None  # each record's blocking keys, once needed
        if previous is not None and same:  # the same features: the same scores
            self.population = previous.population
            with previous._lock:
                self._all = previous._all
                self._near = dict(previous._near)
        else:
            self.population = Population.of_rows(self._rows, model)

    def proposals(self, decided: set[frozenset[PersonKey]] | None = None) -> list[Proposal]:
        """`propose` over every person of the node."""
        with self._lock:
            if self._all is None:
                self._all = score(self._rows, self._threshold, self._model, self.population)
            scored = self._all
        return _proposals(self.persons, scored, decided)

    def profile(
        self, key: PersonKey, same: frozenset[PersonKey], decided: set[frozenset[PersonKey]]
    ) -> Profile | None:
        """`profile` of the person `key`: from the node's pairs when they were scored, else
        scoring only the records sharing a blocking key with the person's."""
        if key not in self._number:
            return None
        members = frozenset(self._number[k] for k in same | {key} if k in self._number)
        with self._lock:
            scored = self._all
            if scored is None:
                scored = self._near.get(members)
            if scored is None:
                if self._keys is None:
                    self._keys = [_block_keys(row) for row in self._rows]
                keys = self._keys
                wanted = set().union(*(keys[m] for m in members))
                nearby = [r for n, r in enumerate(self._rows) if n in members or keys[n] & wanted]
                scored = score(nearby, self._threshold, self._model, self.population)
                while len(self._near) >= _PROFILES_KEPT:
                    del self._near[next(iter(self._near))]
                self._near[members] = scored
        across = [(a, b, p) for a, b, p in scored if (a in members) != (b in members)]
        return Profile(
            key,
            tuple(self.persons[m] for m in sorted(members, key=lambda m: self.persons[m].key)),
            tuple(_proposals(self.persons, across, decided)),
        )


_PROFILES_KEPT = 256
_kept: weakref.WeakKeyDictionary[Engine, tuple[threading.Lock, list[NodeLinkage]]] = (
    weakref.WeakKeyDictionary()
)
_kept_lock = threading.Lock()


def node_linkage(engine: Engine, origin: str, aggregate: Engine | None = None) -> NodeLinkage:
    """The persons a node links (`node_persons`) and their pairs, as of its indexes now: kept
    per node (its own index's `engine`) and served again while `index_state` stands still."""
    with _kept_lock:
        lock, kept = _kept.setdefault(engine, (threading.Lock(), []))
    with lock:
        # The state is read before the persons: an entry indexed in between makes the next
        # view read them again, never keeps persons older than the state they are kept under.
        state = index_state(engine, aggregate)
        previous = kept[0] if kept else None
        if previous is not None and previous.state == state:
            return previous
        current = NodeLinkage(
            node_persons(engine, origin, aggregate), state=state, previous=previous
        )
        kept[:] = [current]
        return current
