"""Similar cases ("cases like this one"): each FIR as a bag of weighted terms, and the search that
ranks cases by the terms they share with a case or with what an officer typed (docs/mo-search.md).

Derived from the log only (FIRs, their amendments of the brief facts, and the `CaseEvent`s of
kind "modus_operandi" through the MO rows of `node.index.history`), so a rebuilt index has the
same rows. The same projection runs in a station's index (`SimilarProjection`) and in an
aggregating node's index over its replicas (`project`, called by `node.index.aggregate.index`
after `history.project`, with the office's key base), so a district or state node searches its
replicas with the same query as a station searches its own log:

    case_profiles   one row per FIR: its number, crime head, the length of its brief facts in
                    terms, and its MO as it stands (the time of day from the occurrence until an
                    MO entry names one)
    case_terms      (term, case) -> weight: the case's words ("w:" stemmed English or whole
                    Malayalam words, "p:" Malayalam stems), its MO ("mo:entry_method=..."), its
                    offence ("head:", "sec:") and the categories of its property ("prop:")

The search (`similar`) is one SQL aggregate over the postings of the query's terms, the same on
SQLite and PostgreSQL: BM25 for the words (the term frequency part stored, the rarity of each
word read at query time from its posting count), fixed weights for the MO attributes. Names of
the persons in the FIR are never indexed as words: they say who, not how. Never writes outside
its two tables; reads nothing but them (and `history.mo_entries` while projecting).
"""

from __future__ import annotations

import datetime
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import snowballstemmer
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from node.index import history
from node.index.aggregate import keys
from node.records import limits
from node.records.history import MO_SEARCH_NAMES, MO_SINGLE, MO_VOCABULARY, label
from node.records.validation import IST
from protos import ledger_pb2, records_pb2

metadata = sa.MetaData()
TERM_LENGTH: Final = 120
_BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

case_profiles = sa.Table(
    "case_profiles",
    metadata,
    sa.Column("ledger_index", _BigInt, primary_key=True, autoincrement=False),
    sa.Column("fir_number", sa.String(limits.CASE_KEY), nullable=False),
    sa.Column("crime_head", sa.String(80), nullable=False),
    sa.Column("registered_at_ms", sa.BigInteger, nullable=False),
    sa.Column("words", sa.Integer, nullable=False),  # terms of the brief facts
    sa.Column("time_of_day", sa.String(24), nullable=False),
    sa.Column("place_type", sa.String(24), nullable=False),
    sa.Column("entry_method", sa.String(24), nullable=False),
    sa.Column("property_taken", sa.Text, nullable=False),  # " "-joined codes
    sa.Column("weapon", sa.String(24), nullable=False),
    sa.Column("vehicle_used", sa.String(24), nullable=False),
    sa.Index("ix_case_profiles_number", "fir_number", "ledger_index"),
)
case_terms = sa.Table(
    "case_terms",
    metadata,
    sa.Column("term", sa.String(TERM_LENGTH), primary_key=True),
    sa.Column("ledger_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Index("ix_case_terms_case", "ledger_index"),
    sqlite_with_rowid=False,  # the postings of a term lie together, in case order
)
# How many cases hold each word (`w:`, `p:`), and under CASES_KEY how many cases there are: the
# rarity of a word at query time, read by key instead of counted from the postings.
term_counts = sa.Table(
    "case_term_counts",
    metadata,
    sa.Column("term", sa.String(TERM_LENGTH), primary_key=True),
    sa.Column("cases", sa.BigInteger, nullable=False),
)
CASES_KEY: Final = "#cases"
#: The tables keyed by case (partitioned on aggregating nodes like the other case tables).
TABLES: tuple[sa.Table, ...] = (case_profiles, case_terms)

# -- the weights (docs/mo-search.md says why each is what it is) ----------------------------------

#: The share of the score the words of the brief facts carry when the query has MO attributes
#: too; alone they carry it all (and the MO alone, when there are no words).
TEXT_WEIGHT: Final = 0.4
#: How the rest is shared among the attributes the query names (renormalised over those it
#: names): how the offender got in is the most personal habit, the offence itself says what
#: kind of case it is, then what was taken, where, with what, on what, when.
MO_WEIGHTS: Final[Mapping[str, float]] = {
    "entry_method": 0.22,
    "offence": 0.18,  # the crime head (half) and the sections (half)
    "property_taken": 0.14,
    "place_type": 0.14,
    "weapon": 0.12,
    "vehicle_used": 0.10,
    "time_of_day": 0.10,
}
#: "none" and "other" say less than a value does: a case without a weapon is like most cases.
VAGUE_CODES: Final = frozenset({"none", "other"})
VAGUE_FACTOR: Final = 0.5
#: BM25's term-frequency saturation and length normalisation; the average length is fixed (the
#: synthetic and the sample FIRs' brief facts run 25-60 terms) so that a case's stored weights
#: never change when other cases arrive.
K1: Final = 1.2
B: Final = 0.75
AVERAGE_WORDS: Final = 40.0
#: A Malayalam stem ("p:") counts for this share of the whole word's weight.
STEM_FACTOR: Final = 0.5
#: The query keeps its rarest words only (the common ones cost time and say little), and no word
#: found in more than this share of the cases.
MAX_QUERY_WORDS: Final = 24
MAX_WORD_SHARE: Final = 0.2
#: The search first finds candidates by the query's rare words (in at most this share of the
#: cases) and its pairs of MO codes, then scores this many of them exactly (docs/mo-search.md).
RARE_SHARE: Final = 0.02
CANDIDATES: Final = 100
#: Without rare words or pairs, the candidates come from this many of the rarest words.
FALLBACK_WORDS: Final = 8
#: The MO attributes whose pairs of codes find candidates.
PAIRED: Final = frozenset(
    {"entry_method", "place_type", "property_taken", "weapon", "vehicle_used"}
)
#: Malayalam stems: the first code points of a word, enough for the noun or verb before its
#: case or tense ending ("വീട്ടിൽ", "വീട്" -> "വീട്").
STEM_CHARS: Final = 4

_STEMMER = snowballstemmer.stemmer("english")
_SPLIT = re.compile(r"[\s.,;:!?()\[\]{}\"'“”‘’/\\|<>@#%^&*+=~`_\-–—]+")
_MALAYALAM = re.compile(r"[\u0d00-\u0d7f]")
_LATIN_WORD = re.compile(r"^[a-z]+$")
# English words that say nothing about how a crime was done (the rarity weighting takes care of
# the rest; these are dropped only to keep the postings short).
_STOPWORDS: Final = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours one two three hrs hours am pm date
    time said named aged years year old s o w d
    """.split()  # noqa: SIM905 -- a list of 150 words reads better as text
)


# -- terms ----------------------------------------------------------------------------------------


def words(text: str, *, drop: Iterable[str] = ()) -> list[str]:
    """The word terms of `text`: English words stemmed ("w:remov"), Malayalam words whole
    ("w:വീട്ടിൽ") and by their stem ("p:വീട്"); numbers, stop words and the words of `drop`
    (the persons' names) left out. A word repeated is a term repeated."""
    dropped = {w for name in drop for w in _SPLIT.split(name.lower()) if w}
    out: list[str] = []
    for raw in _SPLIT.split(unicodedata.normalize("NFC", text.lower())):
        if not raw or raw in dropped or raw in _STOPWORDS or raw.isdigit():
            continue
        if _MALAYALAM.search(raw):
            out.append(f"w:{raw}")
            if len(raw) > STEM_CHARS:
                out.append(f"p:{raw[:STEM_CHARS]}")
        elif _LATIN_WORD.match(raw) and len(raw) > 2:
            out.append(f"w:{_STEMMER.stemWord(raw)}")
    return out


def _tf_weight(count: int, length: int) -> float:
    """BM25's term-frequency part, for a term found `count` times among `length` terms."""
    return count * (K1 + 1) / (count + K1 * (1 - B + B * length / AVERAGE_WORDS))


def _text_terms(text: str, names: Iterable[str]) -> tuple[dict[str, float], int]:
    found = words(text, drop=names)
    counts = Counter(found)
    length = sum(1 for w in found if w.startswith("w:"))
    return {t: _tf_weight(n, length) for t, n in counts.items()}, length


def mo_term(attribute: str, code: str) -> str:
    """The term of one MO attribute's code: 'mo:entry_method=window_grill_removed'."""
    return f"mo:{attribute}={code}"


def mo_pairs(terms: Iterable[str]) -> list[str]:
    """The pairs of MO codes among `terms` ("mo2:entry_method=x&place_type=y"): not scored,
    only for finding candidates fast (a pair is far rarer than either code; the time of day and
    the vague codes are too common to help)."""
    codes = sorted(
        t[3:]
        for t in terms
        if t.startswith("mo:")
        and t[3:].partition("=")[0] in PAIRED
        and t.rpartition("=")[2] not in VAGUE_CODES
    )
    return [
        f"mo2:{a}&{b}"
        for n, a in enumerate(codes)
        for b in codes[n + 1 :]
        if a.partition("=")[0] != b.partition("=")[0]
    ]


def time_of_day(hour: int) -> str:
    """The MO vocabulary's time of day of an hour (IST): night 22-4, early morning 4-7, day
    7-18, evening 18-22."""
    if 4 <= hour < 7:
        return "early_morning"
    if 7 <= hour < 18:
        return "day"
    if 18 <= hour < 22:
        return "evening"
    return "night"


def occurrence_time_of_day(from_ms: int, to_ms: int) -> str:
    """The time of day of an occurrence known to within 12 hours (its middle); "" otherwise."""
    if from_ms <= 0 or to_ms < from_ms or to_ms - from_ms > 12 * 3600 * 1000:
        return ""
    middle = datetime.datetime.fromtimestamp((from_ms + to_ms) / 2000, IST)
    return time_of_day(middle.hour)


def _offence_terms(head: str, sections: Iterable[records_pb2.ActSection]) -> dict[str, float]:
    terms = {f"sec:{s.act.lower()} {s.section.lower()}": 1.0 for s in sections if s.section}
    if head:
        terms[f"head:{head.lower()}"] = 1.0
    return terms


# -- projection -----------------------------------------------------------------------------------


def project(conn: Connection, key: int, body: ledger_pb2.EntryBody, *, base: int = 0) -> None:
    """Writes what entry `body` (row key `key`; `base`: its log's first key) adds to the
    similar-case tables. An MO entry must have been projected by `history.project` first."""
    kind = body.WhichOneof("record")
    if kind == "fir":
        _fir(conn, key, body.fir)
    elif kind == "case_event" and body.case_event.kind == "modus_operandi":
        _mo(conn, body.case_event.fir_number, base)
    elif kind == "amendment":
        _amended(conn, body.amendment, base)


def _fir(conn: Connection, key: int, fir: records_pb2.Fir) -> None:
    if not fir.fir_number and not fir.zero_fir_number:
        return
    names = [p.person.name for p in fir.persons if p.person.name]
    names += [a for p in fir.persons for a in p.person.aliases]
    terms, length = _text_terms(fir.brief_facts, names)
    when = occurrence_time_of_day(fir.occurrence_from_ms, fir.occurrence_to_ms)
    if when:
        terms[mo_term("time_of_day", when)] = 1.0
    terms.update(_offence_terms(fir.crime_head, fir.sections))
    for item in fir.property:
        if item.category:
            terms[f"prop:{item.category.lower()}"] = 1.0
    conn.execute(
        case_profiles.insert().values(
            ledger_index=key,
            fir_number=fir.fir_number or fir.zero_fir_number,
            crime_head=fir.crime_head,
            registered_at_ms=fir.registered_at_ms,
            words=length,
            time_of_day=when,
            place_type="",
            entry_method="",
            property_taken="",
            weapon="",
            vehicle_used="",
        )
    )
    _insert_terms(conn, key, terms)
    _count(conn, [CASES_KEY], 1)


def _insert_terms(conn: Connection, key: int, terms: Mapping[str, float]) -> None:
    # Terms cut to the column's length may meet: keep one.
    rows = {t[:TERM_LENGTH]: {"term": t[:TERM_LENGTH], "ledger_index": key, "weight": w}
            for t, w in terms.items()}  # fmt: skip
    if rows:
        conn.execute(case_terms.insert(), list(rows.values()))
        _count(conn, [t for t in rows if _is_word(t)], 1)


def _delete_terms(conn: Connection, key: int, which: sa.ColumnElement[bool]) -> None:
    t = case_terms
    where = sa.and_(t.c.ledger_index == key, which)
    gone = [str(term) for term in conn.execute(sa.select(t.c.term).where(where)).scalars()]
    conn.execute(t.delete().where(where))
    _count(conn, [term for term in gone if _is_word(term)], -1)


def _is_word(term: str) -> bool:
    return term.startswith(("w:", "p:"))


def _count(conn: Connection, terms: list[str], step: int) -> None:
    """Adds `step` to the count of each of `terms` (an upsert, on SQLite and PostgreSQL)."""
    if not terms:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(term_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[term_counts.c.term],
        set_={"cases": term_counts.c.cases + stmt.excluded.cases},
    )
    conn.execute(stmt, [{"term": term, "cases": step} for term in terms])


def _profile_key(conn: Connection, fir_number: str, base: int) -> int | None:
    low, high = base, base + keys.MAX_ENTRIES
    t = case_profiles
    found = conn.execute(
        sa.select(t.c.ledger_index).where(
            t.c.fir_number == fir_number, t.c.ledger_index >= low, t.c.ledger_index < high
        )
    ).scalar()
    return None if found is None else int(found)


def _mo(conn: Connection, fir_number: str, base: int) -> None:
    """The case's MO is every current MO entry of its accused together: a code any of them
    has is the case's (the gang's habits, not one member's)."""
    key = _profile_key(conn, fir_number, base)
    if key is None:  # a case this log holds no FIR of (taken over): nothing to describe
        return
    m = history.mo_entries_table
    rows = conn.execute(
        sa.select(m).where(
            m.c.fir_number == fir_number,
            m.c.superseded_by == 0,
            m.c.ledger_index >= base,
            m.c.ledger_index < base + keys.MAX_ENTRIES,
        )
    ).all()
    codes: dict[str, list[str]] = {a: [] for a in MO_VOCABULARY}
    for row in rows:
        for attribute in MO_VOCABULARY:
            for code in str(getattr(row, attribute)).split():
                if code not in codes[attribute]:
                    codes[attribute].append(code)
    profile = conn.execute(
        sa.select(case_profiles.c.time_of_day).where(case_profiles.c.ledger_index == key)
    ).one()
    t = case_terms
    # The occurrence's time of day stays unless an MO entry names one.
    keep_time = not codes["time_of_day"]
    _delete_terms(
        conn,
        key,
        sa.or_(
            sa.and_(
                t.c.term.like("mo:%"),
                *((t.c.term.notlike("mo:time_of_day=%"),) if keep_time else ()),
            ),
            t.c.term.like("mo2:%"),
        ),
    )
    terms = {mo_term(a, c): 1.0 for a, found in codes.items() for c in found}
    terms.update(dict.fromkeys(mo_pairs(terms), 1.0))
    _insert_terms(conn, key, terms)
    values: dict[str, Any] = {a: " ".join(codes[a]) for a in MO_VOCABULARY}
    if keep_time:
        values["time_of_day"] = profile.time_of_day
    conn.execute(case_profiles.update().where(case_profiles.c.ledger_index == key).values(values))


def _amended(conn: Connection, amendment: records_pb2.Amendment, base: int) -> None:
    """A correction of an FIR's brief facts: its words are those of the new text."""
    try:
        changes = json.loads(amendment.changes_json) if amendment.changes_json else {}
    except ValueError:
        return
    text = changes.get("brief_facts") if isinstance(changes, dict) else None
    if not isinstance(text, str):
        return
    key = base + amendment.amends_index
    found = conn.execute(
        sa.select(case_profiles.c.ledger_index).where(case_profiles.c.ledger_index == key)
    ).scalar()
    if found is None:
        return
    t = case_terms
    _delete_terms(conn, key, sa.or_(t.c.term.like("w:%"), t.c.term.like("p:%")))
    terms, length = _text_terms(text, ())
    _insert_terms(conn, key, terms)
    conn.execute(
        case_profiles.update().where(case_profiles.c.ledger_index == key).values(words=length)
    )


class SimilarProjection:
    """The similar-case tables of a station's index (see `node.index.record_index.Projection`);
    it must come after `history.HistoryProjection`, whose MO rows it reads."""

    @property
    def metadata(self) -> sa.MetaData:
        return metadata

    def project(self, conn: Connection, index: int, body: ledger_pb2.EntryBody) -> None:
        project(conn, index, body)


# -- queries --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimilarQuery:
    """What a similar-case search looks for: the query's terms, and the case it was made from
    (its row key, left out of the answer; None for typed text)."""

    terms: Mapping[str, float]
    case_key: int | None = None


def query_text(text: str) -> SimilarQuery:
    """A query typed or sent by a peer: MO attributes ("entry:window_grill_removed",
    "place:locked_house", "night"), offence terms ("head:theft", "sec:bns 305"), and words."""
    terms: dict[str, float] = {}
    rest: list[str] = []
    for token in (text or "").split():
        lowered = token.lower().strip(",;")
        name, _, value = lowered.partition(":")
        value = value.replace("-", "_")
        attribute = MO_SEARCH_NAMES.get(name)
        if value and attribute is not None and value in MO_VOCABULARY[attribute]:
            terms[mo_term(attribute, value)] = 1.0
        elif value and name in ("head", "sec", "prop"):
            terms[f"{name}:{value.replace('_', ' ')}"] = 1.0
        elif not value and any(
            lowered in v and lowered not in VAGUE_CODES for v in MO_VOCABULARY.values()
        ):
            for attribute, vocabulary in MO_VOCABULARY.items():
                if lowered in vocabulary:
                    terms[mo_term(attribute, lowered)] = 1.0
        else:
            rest.append(token)
    text_terms, _ = _text_terms(" ".join(rest), ())
    terms.update(text_terms)
    return SimilarQuery(terms)


def case_key(engine: Engine, fir_number: str) -> int | None:
    """The row key of the case numbered `fir_number` (a station's own index)."""
    with engine.connect() as conn:
        return _profile_key(conn, fir_number, 0)


def query_case(engine: Engine, key: int) -> SimilarQuery:
    """The query of a case: its own terms."""
    t = case_terms
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.term, t.c.weight).where(t.c.ledger_index == key)).all()
    return SimilarQuery({r.term: float(r.weight) for r in rows}, key)


def _counts(conn: Connection, terms: Iterable[str]) -> dict[str, int]:
    """How many cases hold each of `terms`, and (under CASES_KEY) how many there are."""
    c = term_counts
    wanted = sorted({*terms, CASES_KEY})
    rows = conn.execute(sa.select(c.c.term, c.c.cases).where(c.c.term.in_(wanted))).all()
    return {str(r.term): int(r.cases) for r in rows}


def _attribute(term: str) -> str:
    """The MO_WEIGHTS attribute of a structured term ("" for a word)."""
    kind, _, rest = term.partition(":")
    if kind == "mo":
        return rest.partition("=")[0]
    if kind in ("head", "sec"):
        return "offence"
    if kind == "prop":
        return "property_taken"
    return ""


def query_weights(conn: Connection, query: SimilarQuery) -> dict[str, float]:
    """Each term's weight in the score, so that a case's score is the sum over the terms it
    shares of (its stored weight x this), about 1 for a case alike in everything: the words
    share TEXT_WEIGHT by rarity (BM25's idf), the attributes the rest by MO_WEIGHTS."""
    return _weigh(conn, query)[0]


def _weigh(conn: Connection, query: SimilarQuery) -> tuple[dict[str, float], set[str]]:
    """`query_weights`, and the query's rare words (found in at most RARE_SHARE of the cases)."""
    asked = {t: w for t, w in query.terms.items() if not t.startswith("mo2:")}
    structured = {t: w for t, w in asked.items() if _attribute(t)}
    text = {t: w for t, w in asked.items() if not _attribute(t)}
    weights: dict[str, float] = {}
    rare: set[str] = set()
    if text:
        counts = _counts(conn, text)
        total = counts.pop(CASES_KEY, 0)
        idf: dict[str, float] = {}
        for term, count in counts.items():
            if count <= 0 or count > max(MAX_WORD_SHARE * total, 2):
                continue
            factor = STEM_FACTOR if term.startswith("p:") else 1.0
            idf[term] = factor * math.log(1 + (total - count + 0.5) / (count + 0.5))
        rarest = sorted(idf, key=lambda t: -idf[t] * text[t])[:MAX_QUERY_WORDS]
        rare = {t for t in rarest if counts[t] <= max(RARE_SHARE * total, 20)}
        mass = sum(idf[t] * min(text[t], 1.0) for t in rarest)
        if mass > 0:
            share = TEXT_WEIGHT if structured else 1.0
            for term in rarest:
                weights[term] = share * idf[term] * min(text[term], 1.0) / mass
    if structured:
        by_attribute: dict[str, list[str]] = {}
        for term in structured:
            by_attribute.setdefault(_attribute(term), []).append(term)
        named = {a: MO_WEIGHTS.get(a, 0.0) for a in by_attribute}
        mass = sum(named.values())
        share = (1 - TEXT_WEIGHT) if weights else 1.0
        for attribute, terms in by_attribute.items():
            if mass <= 0:
                break
            part = share * named[attribute] / mass
            if attribute == "offence":
                heads = [t for t in terms if t.startswith("head:")]
                sections = [t for t in terms if t.startswith("sec:")]
                halves = [(heads, 0.5), (sections, 0.5)] if heads and sections else [(terms, 1.0)]
                for group, half in halves:
                    for term in group:
                        weights[term] = part * half / len(group)
                continue
            for term in terms:
                code = term.rpartition("=")[2] if term.startswith("mo:") else ""
                vague = VAGUE_FACTOR if code in VAGUE_CODES else 1.0
                weights[term] = part * vague / len(terms)
    return weights, rare


@dataclass(frozen=True, slots=True)
class SimilarCase:
    """A case found like the query, with what it shares with it."""

    ledger_index: int  # its row key (an aggregate key on an aggregating node)
    fir_number: str
    crime_head: str
    score: float
    mo: dict[str, str]  # attribute -> code(s), property_taken " "-joined
    shared: tuple[str, ...]  # the terms it shares with the query, heaviest first


def _scored(weights: Mapping[str, float], leave_out: int | None) -> sa.Select[Any]:
    """(case, score) over the postings of the terms of `weights`, best first."""
    t = case_terms
    ordered = sorted(weights)
    weight = sa.case({term: weights[term] for term in ordered}, value=t.c.term, else_=0.0)
    score = sa.func.sum(t.c.weight * weight).label("score")
    stmt = sa.select(t.c.ledger_index, score).where(t.c.term.in_(ordered))
    if leave_out is not None:
        stmt = stmt.where(t.c.ledger_index != leave_out)
    return stmt.group_by(t.c.ledger_index).order_by(score.desc(), t.c.ledger_index.desc())


def similar(engine: Engine, query: SimilarQuery, *, limit: int = 20) -> list[SimilarCase]:
    """The cases most like `query`, best first (the query's own case left out)."""
    t = case_terms
    with engine.connect() as conn:
        weights, rare = _weigh(conn, query)
        if not weights:
            return []
        # Candidates first: the cases sharing the query's rare words or a pair of its MO codes
        # (short postings), ranked by those alone; then the exact score of the best of them.
        # Without either, the words and sections find them; a query of single MO codes alone
        # (a time of day) is scored over every posting.
        seeds = {term: weights[term] for term in rare}
        for pair in mo_pairs(weights):
            first, second = pair[4:].split("&")
            seeds[pair] = weights[f"mo:{first}"] + weights[f"mo:{second}"]
        if not seeds:
            words = sorted((t for t in weights if _is_word(t)), key=lambda t: -weights[t])
            seeds = {t: weights[t] for t in words[:FALLBACK_WORDS]}
            seeds.update((t, w) for t, w in weights.items() if t.startswith("sec:"))
        candidates: list[int] | None = None
        if seeds:
            many = max(CANDIDATES, 5 * limit)
            found = conn.execute(_scored(seeds, query.case_key).limit(many)).all()
            candidates = [int(r.ledger_index) for r in found]
        stmt = _scored(weights, query.case_key)
        if candidates is not None:
            stmt = stmt.where(t.c.ledger_index.in_(candidates))
        top = conn.execute(stmt.limit(limit)).all()
        wanted = [int(r.ledger_index) for r in top]
        if not wanted:
            return []
        profiles = {
            int(r.ledger_index): r
            for r in conn.execute(
                sa.select(case_profiles).where(case_profiles.c.ledger_index.in_(wanted))
            )
        }
        shared: dict[int, list[tuple[float, str]]] = {k: [] for k in wanted}
        for r in conn.execute(
            sa.select(t.c.ledger_index, t.c.term, t.c.weight).where(
                t.c.ledger_index.in_(wanted), t.c.term.in_(sorted(weights))
            )
        ):
            shared[int(r.ledger_index)].append((float(r.weight) * weights[r.term], str(r.term)))
    out = []
    for best in top:
        key = int(best.ledger_index)
        profile = profiles.get(key)
        if profile is None:
            continue
        out.append(
            SimilarCase(
                ledger_index=key,
                fir_number=profile.fir_number,
                crime_head=profile.crime_head,
                score=round(min(float(best.score), 1.0), 4),
                mo={a: str(getattr(profile, a)) for a in (*MO_SINGLE, "property_taken")},
                shared=tuple(term for _, term in sorted(shared[key], reverse=True)),
            )
        )
    return out


def compact(engine: Engine, key: int, *, size: int = limits.LINE) -> str:
    """The case's query in at most `size` characters, for a peer (SearchRequest.query is one
    line): its MO and offence terms, then its rarest words as written stems."""
    query = query_case(engine, key)
    with engine.connect() as conn:
        weights = query_weights(conn, query)
    parts: list[str] = []
    for term in sorted(query.terms, key=lambda t: -weights.get(t, 0.0)):
        kind, _, rest = term.partition(":")
        if kind == "mo":
            attribute, _, code = rest.partition("=")
            parts.append(f"{attribute}:{code}")
        elif kind in ("head", "sec", "prop"):
            parts.append(f"{kind}:{rest.replace(' ', '_')}")
        elif kind == "w" and term in weights:
            parts.append(rest)
    out = ""
    for part in parts:
        if len(out) + len(part) + 1 > size:
            continue
        out = f"{out} {part}".strip()
    return out


def describe(case: SimilarCase, language: str = "en") -> str:
    """A found case in a line: its crime head, its MO, and the words it shares."""
    mo = history.mo_text(case.mo, language)
    shared = [t[2:] for t in case.shared if t.startswith("w:")][:6]
    parts = [p for p in (case.crime_head, mo) if p]
    if shared:
        parts.append("“" + " ".join(shared) + "”")
    return "; ".join(parts)


def mo_label(term: str, language: str = "en") -> str:
    """An MO term as its vocabulary labels it; other terms as they are."""
    if term.startswith("mo:"):
        attribute, _, code = term[3:].partition("=")
        vocabulary = MO_VOCABULARY.get(attribute)
        if vocabulary is not None:
            return label(vocabulary, code, language)
    return term.partition(":")[2]
