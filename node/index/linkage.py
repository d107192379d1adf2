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

import logging
import re
from collections.abc import Callable, Iterable, Sequence
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
    from splink import Linker, SettingsCreator
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
            cll.ExactMatchLevel(f"{prefix}_norm"),
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


def linker(rows: list[dict[str, Any]], model: Path | SettingsCreator = MODEL_PATH) -> Linker:
    """A Splink linker over the feature rows, on a fresh in-memory DuckDB."""
    from splink import DuckDBAPI, Linker  # noqa: PLC0415 (see `settings`)

    db = DuckDBAPI()
    table = db.register(rows)
    source: Any = str(model) if isinstance(model, Path) else model
    return Linker(table, source, log_level=logging.WARNING)


def score(
    rows: list[dict[str, Any]], threshold: float, model: Path = MODEL_PATH
) -> list[tuple[int, int, float]]:
    """(unique id, unique id, match probability) of each pair at or above `threshold`."""
    if len(rows) < 2:
        return []
    predictions = linker(rows, model).inference.predict(
        threshold_match_probability=threshold, warning_mode="never"
    )
    relation = predictions.as_duckdbpyrelation()
    found = relation.select("unique_id_l, unique_id_r, match_probability").fetchall()
    return [(int(a), int(b), float(p)) for a, b, p in found]


def propose(
    persons: Sequence[PersonRecord],
    *,
    decided: set[frozenset[PersonKey]] | None = None,
    threshold: float = THRESHOLD,
    model: Path = MODEL_PATH,
) -> list[Proposal]:
    """The pairs of `persons` the model finds one person with at least `threshold`
    probability, most probable first, leaving out the pairs `decided` (a standing decision:
    `person_links.Links.decided`)."""
    rows = [features(person, number) for number, person in enumerate(persons)]
    settled = decided or set()
    proposals = []
    for a, b, probability in score(rows, threshold, model):
        proposal = Proposal(persons[a], persons[b], probability)
        if proposal.first.key != proposal.second.key and proposal.pair() not in settled:
            proposals.append(proposal)
    proposals.sort(key=lambda p: (-p.probability, p.first.key, p.second.key))
    return proposals


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


def _block_keys(person: PersonRecord) -> set[str]:
    row = features(person, 0)
    found = {f"n:{k}" for k in row["name_phon"] or ()}
    if row["mobile"]:
        found.add(f"m:{row['mobile']}")
    if row["rel_phon_key"] and row["birth_year"]:
        found.add(f"r:{row['rel_phon_key']}|{row['birth_year']}")
    return found


def profile(
    persons: Sequence[PersonRecord],
    key: PersonKey,
    same: frozenset[PersonKey],
    decided: set[frozenset[PersonKey]],
    *,
    threshold: float = THRESHOLD,
) -> Profile | None:
    """The profile of the person `key` among `persons`: the records `same` names one person
    (`person_links.Links.same_person`), and the pairs proposed between them and any other
    record, not yet decided. The model scores only the records sharing a blocking key with the
    person's (the probabilities do not depend on the rest: the model's prior is fixed). None
    when `key` is no person of `persons`."""
    by_key = {p.key: p for p in persons}
    if key not in by_key:
        return None
    members = tuple(by_key[k] for k in sorted(same | {key}) if k in by_key)
    wanted = set().union(*(_block_keys(m) for m in members))
    nearby = [p for p in persons if p.key in same or p.key == key or _block_keys(p) & wanted]
    member_keys = {m.key for m in members}
    proposals = tuple(
        p
        for p in propose(nearby, decided=decided, threshold=threshold)
        if (p.first.key in member_keys) != (p.second.key in member_keys)
    )
    return Profile(key, members, proposals)


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
