"""The typo vocabulary of person search (`search._Vocabulary`): rapidfuzz finds exactly the
known tokens a full Damerau-Levenshtein scan finds, however large the vocabulary grows."""

from __future__ import annotations

import random

import jellyfish

from node.index.record_index import IndexedEntry, RecordIndex
from node.index.search import _typo_edits, _Vocabulary
from node.records import names
from tests.node.index.support import body, fir, person


def _scan(vocabulary: dict[str, str], token: str, max_edits: int) -> list[str]:
    """What the vocabulary answered before rapidfuzz: a distance call per known token."""
    return sorted(
        {
            variant
            for other, variant in vocabulary.items()
            if 0 < jellyfish.damerau_levenshtein_distance(token, other) <= max_edits
        }
    )


def _word(rng: random.Random) -> str:
    syllables = [
        rng.choice("bcdghjklmnprstv") + rng.choice("aeiou") for _ in range(rng.randint(2, 4))
    ]
    return "".join(syllables) + rng.choice(["", "n", "m", "sh", "th"])


def test_neighbours_are_those_a_full_distance_scan_finds() -> None:
    rng = random.Random(13)
    known = {w: names.variant_key(w) for w in (_word(rng) for _ in range(4000))}
    # Pairs where one Damerau-Levenshtein edit is two plain ones (a swap), and two are four
    # (two swaps): a prefilter at max_edits plain edits would lose them.
    known.update({"suresh": "suris", "abcdefgh": "abkdifg", "sajeevan": "sajivan"})
    vocabulary = _Vocabulary()
    for token, variant in known.items():
        vocabulary._add("name", token, variant)
    slips = ["usresh", "bacdefhg", "asjeevna", "sursh", "sajeevanam"]
    for _ in range(400):
        word = rng.choice(list(known))
        i = rng.randrange(len(word) - 1)
        slips.append(
            rng.choice(
                [
                    word[:i] + word[i + 1 :],
                    word[:i] + rng.choice("aeiknrst") + word[i:],
                    word[:i] + word[i + 1] + word[i] + word[i + 2 :],
                    word[:i] + rng.choice("aeiknrst") + word[i + 1 :],
                ]
            )
        )
    found = 0
    for token in slips:
        edits = _typo_edits(token) or 1
        expected = _scan(known, token, edits)
        assert vocabulary.neighbours("name", token, edits) == expected, token
        found += bool(expected)
    assert found > 300
    assert vocabulary.neighbours("name", "usresh", 1) == ["suris"]
    assert vocabulary.neighbours("name", "bacdefhg", 2) == ["abkdifg"]
    assert vocabulary.neighbours("relative", "usresh", 1) == []  # kinds stay apart


def test_vocabulary_follows_the_index_as_it_grows_and_is_rebuilt(index: RecordIndex) -> None:
    first = fir(1, people=[person("P-1", "Sajeevan K", relative="Gopalan", relation="S/o", age=30)])
    index.apply([IndexedEntry(0, body(0, fir=first))])
    assert [h.person_id for h in index.search.persons("Sajeevn")] == ["P-1"]
    assert index.search.persons("Rsheed T") == []  # nothing known near it yet
    later = fir(
        2,
        people=[
            person("P-2", "Rasheed T", relative="Ibrahim", relation="S/o", age=40),
            person("P-3", "Sajeekan P", relative="Kesavan", relation="S/o", age=50),
        ],
    )
    index.apply([IndexedEntry(1, body(1, fir=later))])
    # Slips of a name and of a relative's name applied after the vocabulary was loaded.
    assert [h.person_id for h in index.search.persons("Rsheed T S/o Ibrahm")] == ["P-2"]
    # A known spelling is taken as written: "Sajeekan" is not a slip of "Sajeevan".
    assert [h.person_id for h in index.search.persons("Sajeekan")] == ["P-3"]
    # Another process rebuilds the index from a shorter log: the vocabulary is read again.
    other = RecordIndex(index.engine.url.render_as_string(hide_password=False))
    try:
        other.drop_all()
        other.apply([IndexedEntry(0, body(0, fir=first))])
    finally:
        other.close()
    assert index.search.persons("Rsheed T S/o Ibrahm") == []
    # No longer a known spelling: now a slip of "Sajeevan" (a stale vocabulary finds no one).
    assert [h.person_id for h in index.search.persons("Sajeekan")] == ["P-1"]
