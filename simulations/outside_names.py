"""Recall of person search on names the project's generator did not write (issue 13).

The outside set (`data/kerala_outside_names.tsv`, sources in its header) is read as persons;
`typed_forms` writes each name the ways officers type it, by deterministic rules grouped by kind:

- `joined` / `split`: a compound given name written as one word or as two ("Muhammed Shafi" /
  "Muhammedshafi", "Sreekumar" / "Sree Kumar", "Lakshmipriya" / "Lakshmi Priya");
- `contracted`: Arabic name parts shortened ("Mohd", "Md.", "Abd");
- `initials`: initials moved to the end, or dropped ("K. P. Suresh" / "Suresh K P" / "Suresh");
- `manglish`: Kerala spelling habits (th/t, zh/l, doubled letters, Sree/Sri, v/w, ee/i).

`outside_recall` plants the outside persons among an index's persons and searches each typed
form (name, the relative's name as recorded, an age range), as the benchmark's other queries do.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from node.demo.synthetic import SyntheticRecords
from node.index.record_index import IndexedEntry, RecordIndex
from node.records.validation import IST, utc_ms
from protos import ledger_pb2, records_pb2

DATA = Path(__file__).parent / "data" / "kerala_outside_names.tsv"

KINDS = ("joined", "split", "contracted", "initials", "manglish")


@dataclass(frozen=True, slots=True)
class OutsidePerson:
    name: str
    relation: str
    relative: str
    age: int


def load(path: Path = DATA) -> list[OutsidePerson]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, relation, relative, age = line.split("\t")
        out.append(OutsidePerson(name.strip(), relation.strip(), relative.strip(), int(age)))
    return out


# Name parts that are written joined to the next or previous part, or apart: a long word is
# split after one of these prefixes or before one of these suffixes (at least 3 letters left).
_JOIN_PREFIXES = (
    "muhammed", "muhammad", "mohammed", "mohamed", "abdul", "abdu", "kunhi", "kunju", "kunji",
    "sree", "sri", "jaya", "vijaya", "raja", "hari", "siva", "gopi", "unni", "radha", "rama",
    "krishna", "deva", "santha", "vasantha", "girija", "usha", "sujatha", "rema", "ammu",
)  # fmt: skip
_JOIN_SUFFIXES = (
    "kumar", "kumari", "kutty", "kunju", "lakshmi", "priya", "devi", "krishnan", "chandran",
    "prasad", "das", "ali", "shafi", "rahman", "rahiman", "salam", "nasar", "khader", "kareem",
    "muhammed", "mohammed", "moideen", "amma", "mol", "mon", "dharan", "sekharan", "nath",
)  # fmt: skip
_MUHAMMED = r"(?:Muhammed|Muhammad|Mohammed|Mohamed)"
_CONTRACTIONS = (
    (re.compile(rf"\b{_MUHAMMED}\b"), "Mohd"),
    (re.compile(rf"\b{_MUHAMMED}\b"), "Md."),
    (re.compile(rf"\b{_MUHAMMED}(?=[a-z]{{3}})"), "Mohd "),
    (re.compile(r"\bAbdul\b"), "Abd"),
    (re.compile(r"\bAbdul(?!la)(?=[a-z]{3})"), "Abd "),
    (re.compile(r"\bAbdu([rsn])\1?(?=[a-z]{3})"), "Abd \\1"),
)
_MANGLISH: tuple[tuple[str, str], ...] = (
    ("th", "t"), ("zh", "l"), ("Sree", "Sri"), ("sree", "sri"), ("ee", "i"), ("v", "w"),
    ("V", "W"), ("kk", "k"), ("tt", "t"), ("nn", "n"), ("ll", "l"), ("pp", "p"), ("oo", "u"),
    ("ie", "y"), ("y", "i"), ("Sh", "S"), ("u", "oo"),
)  # fmt: skip
_INITIAL_RE = re.compile(r"^[A-Z]\.?$")


def _split_word(word: str) -> str | None:
    low = word.lower()
    if re.match(r"^abdull?ah?$", low):
        return None  # Abdulla is one name
    if (assimilated := re.match(r"^(abdu)([rsn])\2", low)) is not None:
        return "Abdu" + assimilated.group(2) + " " + word[5].upper() + word[6:]
    for prefix in _JOIN_PREFIXES:
        if low.startswith(prefix) and len(low) - len(prefix) >= 3:
            return word[: len(prefix)] + " " + word[len(prefix)].upper() + word[len(prefix) + 1 :]
    for suffix in _JOIN_SUFFIXES:
        if low.endswith(suffix) and len(low) - len(suffix) >= 3:
            cut = len(word) - len(suffix)
            return word[:cut] + " " + word[cut].upper() + word[cut + 1 :]
    return None


def _split(name: str) -> list[str]:
    words = name.split()
    for i, word in enumerate(words):
        if (parted := _split_word(word)) is not None:
            return [" ".join([*words[:i], parted, *words[i + 1 :]])]
    return []


def _joined(name: str) -> list[str]:
    words = name.split()
    for i in range(len(words) - 1):
        a, b = words[i].lower(), words[i + 1].lower()
        if _INITIAL_RE.match(words[i]) or _INITIAL_RE.match(words[i + 1]):
            continue
        if a in _JOIN_PREFIXES or b in _JOIN_SUFFIXES:
            joined = words[i] + words[i + 1].lower()
            return [" ".join([*words[:i], joined, *words[i + 2 :]])]
    return []


def _contracted(name: str) -> list[str]:
    out = []
    for pattern, short in _CONTRACTIONS:
        written = pattern.sub(short, name, count=1)
        written = re.sub(r"\b(Abd|Mohd) ([a-z])", lambda m: f"{m[1]} {m[2].upper()}", written)
        if written != name and written not in out:
            out.append(written)
    return out[:2]


def _initials(name: str) -> list[str]:
    words = name.split()
    initials = [w for w in words if _INITIAL_RE.match(w)]
    rest = [w for w in words if not _INITIAL_RE.match(w)]
    if not initials or not rest:
        return []
    bare = [w.rstrip(".") for w in initials]
    moved = " ".join(rest + bare if _INITIAL_RE.match(words[0]) else bare + rest)
    return [moved, " ".join(rest)]


def _manglish(name: str) -> list[str]:
    out = []
    words = name.split()
    for old, new in _MANGLISH:
        at = next((i for i, w in enumerate(words) if len(w) > 2 and old in w), None)
        if at is not None:
            written = " ".join([*words[:at], words[at].replace(old, new, 1), *words[at + 1 :]])
            if written not in out and written != name:
                out.append(written)
        if len(out) == 2:
            break
    return out


_RULES: dict[str, Callable[[str], list[str]]] = {
    "joined": _joined,
    "split": _split,
    "contracted": _contracted,
    "initials": _initials,
    "manglish": _manglish,
}


def typed_forms(name: str) -> list[tuple[str, str]]:
    """(kind, typed name) for each rule that applies to `name`; deterministic."""
    return [(kind, form) for kind in KINDS for form in _RULES[kind](name)]


@dataclass(frozen=True, slots=True)
class Recall:
    by_kind: dict[str, tuple[int, int]]  # kind -> (found, tried)
    missed: list[tuple[str, str, str]]  # (kind, typed name, recorded name)

    @property
    def found(self) -> int:
        return sum(f for f, _ in self.by_kind.values())

    @property
    def tried(self) -> int:
        return sum(t for _, t in self.by_kind.values())

    @property
    def rate(self) -> float:
        return self.found / self.tried if self.tried else 0.0


def measure(
    search: Callable[[str, int, int], Iterable[str]],
    persons: Iterable[tuple[str, OutsidePerson]],
) -> Recall:
    """Search every typed form of every (person id, person); `search(query, age_min, age_max)`
    returns the person ids found (top 10)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    for person_id, person in persons:
        for kind, typed in typed_forms(person.name):
            query = f"{typed} {person.relation} {person.relative}"
            hits = list(search(query, person.age - 3, person.age + 3))
            counts[kind][1] += 1
            if person_id in hits:
                counts[kind][0] += 1
            else:
                missed.append((kind, typed, person.name))
    return Recall({k: (c[0], c[1]) for k, c in sorted(counts.items())}, missed)


def plant(
    index: RecordIndex, persons: list[OutsidePerson], first_position: int, origin: str
) -> list[tuple[str, OutsidePerson]]:
    """Apply one synthetic FIR per outside person (an accused in it is that person: the law
    withholds no adult accused's name), at ledger positions from `first_position`; returns
    (person id, person) pairs."""
    source = SyntheticRecords(23, "Ernakulam City", "Kalamassery")
    start = datetime(2026, 1, 1, tzinfo=IST)
    entries = []
    out = []
    for n, outside in enumerate(persons):
        position = first_position + n
        when = start + timedelta(minutes=11 * n)
        fir = source.fir(when)
        while not any(e.role == records_pb2.ACCUSED for e in fir.persons):
            fir = source.fir(when)
        fir.fir_serial, fir.fir_year = 900_000 + n, when.year
        fir.fir_number = f"FIR No. {900_000 + n}/{when.year}"
        fir.registered_at_ms = utc_ms(when)
        for number, entry in enumerate(fir.persons, 1):
            entry.person.person_id = f"P-{position}-{number}"
        accused = next(e.person for e in fir.persons if e.role == records_pb2.ACCUSED)
        accused.person_id = f"OUT-{position}"
        accused.name = outside.name
        accused.relation, accused.relative_name = outside.relation, outside.relative
        accused.age = outside.age
        accused.juvenile = False
        accused.ClearField("aliases")
        body = ledger_pb2.EntryBody(
            origin=origin, index=position, written_at_ms=utc_ms(when), officer_id="PEN1", fir=fir
        )
        entries.append(IndexedEntry(position, body))
        out.append((accused.person_id, outside))
    index.apply(entries)
    return out


def index_search(index: RecordIndex, limit: int = 10) -> Callable[[str, int, int], list[str]]:
    def search(query: str, age_min: int, age_max: int) -> list[str]:
        hits = index.search.persons(query, limit=limit, age_min=age_min, age_max=age_max)
        return [hit.person_id for hit in hits]

    return search
