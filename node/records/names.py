"""Person-name matching for Indian (especially Kerala) names: pure functions, no I/O.

Officers type the same name many ways: "K. Raju", "RAJU K", "Raju.K", "Sri. Raju"; English
spellings of one Malayalam name differ ("Sreekumar", "Shrikumar"); a record may be written in
Malayalam script. This module turns a name into

- a normalised string (`normalise`): case, spacing, punctuation, honorifics and relation
  markers ("S/o") removed, Malayalam transliterated;
- tokens (`tokens`): initials as one-letter tokens, main name parts as the long ones, compound
  "-kumar" names split;
- per-token keys: `variant_key` folds transliteration variants (Mohammed/Muhammad), and
  `phonetic_key` is a coarser sound key for misspellings beyond those rules.

The index stores the keys and looks them up by equality; ranking (exact > variant > phonetic)
happens in `node.index`. This module must stay pure: no database, no clock, no globals that
change. Every function here is deterministic, so the index can be rebuilt with identical keys.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jellyfish

__all__ = [
    "OPTIONAL_TOKENS",
    "NameKeys",
    "RelationSplit",
    "analyse",
    "normalise",
    "phonetic_key",
    "split_aliases",
    "split_relation",
    "tokens",
    "transliterate_malayalam",
    "variant_key",
]

# --- Malayalam script -> Latin ----------------------------------------------------------------
# The indic-transliteration library writes Malayalam in ISO 15919 (rāju, gōpālan); the data file
# manglish.json bends that towards how Kerala writes names in English (Raju, Gopalan, Ajith,
# Kunju, Kozhikode) and fills what the library does not know (the atomic chillu letters).
# Whatever comes out is folded again by `variant_key`, so only the broad shape matters.

_MANGLISH: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("manglish.json").read_text(encoding="utf-8")
)
_SCRIPT_FIXES = str.maketrans(_MANGLISH["script_fixes"])
_ISO_TO_KERALA: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), latin) for pattern, latin in _MANGLISH["iso_to_kerala"]
)
_MALAYALAM_RUN_RE = re.compile(r"[\u0d00-\u0d7f]+")


@functools.cache
def _sanscript() -> Any:
    # Imported on the first Malayalam name, not with this module: its scheme tables take about
    # 0.1 s to load, which every command that imports the index would otherwise pay.
    from indic_transliteration import sanscript  # noqa: PLC0415

    return sanscript


def _malayalam_run(match: re.Match[str]) -> str:
    sanscript = _sanscript()
    iso = str(
        sanscript.transliterate(
            match.group(0).translate(_SCRIPT_FIXES), sanscript.MALAYALAM, sanscript.ISO
        )
    )
    for pattern, latin in _ISO_TO_KERALA:
        iso = pattern.sub(latin, iso)
    return iso


def transliterate_malayalam(text: str) -> str:
    """Transliterate Malayalam letters in `text` to Latin as Kerala writes names; other
    characters pass through ("ഗോപാലൻ" is "gopalan", "അജിത്ത്" "ajith", "ശ്രീകുമാർ"
    "sreekumar")."""
    if not any("\u0d00" <= ch <= "\u0d7f" for ch in text):
        return text
    return _MALAYALAM_RUN_RE.sub(_malayalam_run, text.translate(_SCRIPT_FIXES))


# --- normalise and tokens ---------------------------------------------------------------------

# Relation markers as written in Indian records. Only the slashed and spelled-out forms: a bare
# "S.O." could be two initials.
_RELATION_RE = re.compile(
    r"(?i)(?<![A-Za-z])(?:([sdwhmfgc])\s*[/\\]\s*o(?:f)?|"
    r"(son|daughter|wife|husband|mother|father|guardian|care)\s+of)(?![A-Za-z])\.?"
)
_RELATION_CANON = {
    "s": "S/o", "d": "D/o", "w": "W/o", "h": "H/o", "m": "M/o", "f": "F/o", "g": "G/o",
    "c": "C/o", "son": "S/o", "daughter": "D/o", "wife": "W/o", "husband": "H/o",
    "mother": "M/o", "father": "F/o", "guardian": "G/o", "care": "C/o",
}  # fmt: skip


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Honorifics that are never part of a name: dropped wherever they stand ("S/o Late Gopalan").
_HONORIFICS = _words(
    "mr mrs ms miss mx dr smt shrimati srimathi srimati sreemathi shreemathi kum adv prof "
    "late janab fr rev"
)
# "Sri"/"Sree" is an honorific in "Sri. Raju" but a name part in "Sree Kumar", "Sree Devi": it
# is dropped only when written with a dot, or when it leads and the next word is not one that
# commonly continues a Sree- name.
_AMBIGUOUS_HONORIFICS = _words("sri shri sree shree thiru")
_SREE_CONTINUATIONS = _words(
    "kumar kumari devi lakshmi lekshmi laxmi kala lekha nath hari dhar ram rama raj raja "
    "kanth kant vidya priya jith jit rag ranjini nivas nandan kumaran nivasan dharan santh "
    "lal jesh ja latha"
)
_VOWELS = frozenset("aeiou")
_WORD_RE = re.compile(r"[A-Za-z]+(\.)?")
# A compound "-kumar" name is one person's name written two ways: "Sureshkumar" and
# "Suresh Kumar". The prefix must be at least 3 letters so "Sukumar" stays whole.
# Spelling slips in the suffix ("Sureshkumaar") still split, and the suffix is written "kumar".
_KUMAR_RE = re.compile(r"^([a-z]{3,}?)(k+(?:u|oo)m+a+r)$")
OPTIONAL_TOKENS = frozenset({"kumar"})


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(name: str) -> str:
    """Return `name` as lowercase Latin words separated by single spaces.

    Rules, each because records are written that way:
    - Malayalam script is transliterated first, so 'രാജു' and 'Raju' meet.
    - Relation markers ("S/o", "D/o", "son of") are removed; use `split_relation` to keep
      the relative's name apart.
    - Accents are removed (Josè is Jose); punctuation and digits separate words, so
      "Raju.K" is "raju k".
    - A 2-3 letter capitalised word without vowels is a run of initials ("PS Sreekumar").
    - Honorifics (Mr, Smt, Dr, Late, ...) are dropped; "Sri"/"Sree" only where it is clearly
      one (see `_AMBIGUOUS_HONORIFICS`).
    """
    text = transliterate_malayalam(unicodedata.normalize("NFC", name))
    text = _RELATION_RE.sub(" ", text)
    text = _strip_accents(text)
    words: list[tuple[str, bool]] = []  # (word, written with a dot after it)
    for match in _WORD_RE.finditer(text):
        word = match.group(0).rstrip(".")
        dotted = match.group(1) is not None
        if 2 <= len(word) <= 3 and word.isupper() and not (set(word.lower()) & _VOWELS):
            words.extend((ch, True) for ch in word)
        else:
            words.append((word, dotted))
    out: list[str] = []
    for i, (word, dotted) in enumerate(words):
        low = word.lower()
        if low in _HONORIFICS:
            continue
        if low in _AMBIGUOUS_HONORIFICS:
            nxt = words[i + 1][0].lower() if i + 1 < len(words) else ""
            if dotted or (not out and nxt and nxt not in _SREE_CONTINUATIONS):
                continue
        out.append(low)
    return " ".join(out)


# Contracted Arabic name parts ("Mohd", "Md", "Abd"), as data with its sources: a word that is
# one of them is the full part it stands for.
_CONTRACTIONS: dict[str, str] = json.loads(
    resources.files(__package__).joinpath("name_contractions.json").read_text(encoding="utf-8")
)["contractions"]
# Arabic compound names are written joined or apart: "Muhammedshafi" / "Muhammed Shafi",
# "Abdurahman" / "Abdul Rahman" / "Abdurrahman" (the article assimilated to the next letter),
# "Abdulsalam" / "Abdul Salam". A word beginning with a Muhammed or Abd(ul) part and going on
# for 3+ letters (with a vowel) is split there; "Abdulla(h)" is one name and stays whole.
_ARABIC_PREFIX_RE = re.compile(
    r"^(m[ou]h?[ae]m+[ae]d|abdh?(?:u|oo)(?:l|([rsnzt])(?=\2))?)([a-z]*[aeiou][a-z]*)$"
)
_ABDULLA_RE = re.compile(r"^abdh?(?:u|oo)ll?ah?$")


def _split_compound(word: str) -> list[str]:
    match = _KUMAR_RE.match(word)
    if match:
        return [match.group(1), "kumar"]
    match = None if _ABDULLA_RE.match(word) else _ARABIC_PREFIX_RE.match(word)
    if match and len(match.group(3)) >= 3:
        return [match.group(1), *_split_compound(match.group(3))]
    return [word]


def tokens(name: str) -> list[str]:
    """Split `name` into normalised tokens: initials are one-letter tokens, in written order.

    "K. Raju", "Raju K" and "Raju.K" all give the main token "raju" and the initial "k";
    "Sureshkumar" gives ["suresh", "kumar"], the same as "Suresh Kumar"; "Muhammedshafi"
    gives ["muhammed", "shafi"] and "Abdurrahman" ["abdur", "rahman"] (whose variant key is
    that of "Abdul Rahman"); a contraction ("Mohd", "Abd") is the part it stands for.
    """
    out: list[str] = []
    for word in normalise(name).split():
        word = _CONTRACTIONS.get(word, word)
        out.extend(_split_compound(word))
    return out


@dataclass(frozen=True, slots=True)
class RelationSplit:
    """A query or record text split at its relation marker: "Raju S/o Gopalan"."""

    name: str
    relation: str  # canonical "S/o", "D/o", ...; empty when no marker
    relative: str


def split_relation(text: str) -> RelationSplit:
    """Split "Raju S/o Gopalan" into name "Raju", relation "S/o", relative "Gopalan".

    Only the first marker counts ("Raju S/o Gopalan S/o Kesavan" keeps the grandfather in
    the relative part, where it will simply fail to match).
    """
    text = transliterate_malayalam(text)
    match = _RELATION_RE.search(text)
    if match is None:
        return RelationSplit(text.strip(), "", "")
    key = (match.group(1) or match.group(2) or "").lower()
    return RelationSplit(
        text[: match.start()].strip(" ,"), _RELATION_CANON.get(key, ""), text[match.end() :].strip()
    )


_ALIAS_RE = re.compile(r"(?i)\s*(?:@|\balias\b|\ba/k/a\b|\baka\b)\s*")


def split_aliases(text: str) -> list[str]:
    """Split "Raju @ Kuttan" (the police way of writing an alias) into its names."""
    return [part for part in _ALIAS_RE.split(text) if part.strip()]


# --- keys --------------------------------------------------------------------------------------

# The most variable Muslim names get one canonical spelling each before the general rules,
# because their variants differ in several vowels at once (Mohammed/Muhammad).
_CANONICAL: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:m[ou]h?[ae]m+[ae]d|mohd|muhd|mhd|md)$"), "mohammed"),
    (re.compile(r"^ah?[ae]?m+[ae]d$"), "ahmed"),
    (re.compile(r"^abdh?(?:(?:[ue]|oo)(?:l|r|s|n|z|t)?)?$"), "abdul"),  # Abd, Abdu, Abdur (Rahman)
)
# Spelling habits folded in order (manglish.json "variant_folds"): aspirated consonants are
# written with or without the "h" (Vinod/Vinodh, Ajith/Ajit, Thomas/Tomas), "sh" and "s" are one
# letter for most writers (Shibu/Sibu, Aswathy/Ashwathi), "zh" after a vowel is "l" (Kozhikode/
# Kolikode), "x" is "ks" (Laxmi/Lakshmi), "ph" is "f".
_VARIANT_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), folded) for pattern, folded in _MANGLISH["variant_folds"]
)
_DOUBLE_RE = re.compile(r"(.)\1+")
_NON_ALPHA_RE = re.compile(r"[^a-z]")


@functools.lru_cache(maxsize=65536)
def variant_key(token: str) -> str:
    """Fold transliteration variants of one name token into one key.

    Rules, in order, each because English spellings of Indian names vary that way:
    1. lowercase, accents removed, only letters kept (Josè/Jose).
    2. Mohd/Md/Muhammad/Mohamed... -> mohammed; Ahamed/Ahammed/Ahmad -> ahmed;
       Abd/Abdu/Abdur/Abdus (the Arabic article assimilated) -> abdul.
    3. digraphs (manglish.json): th->t, dh->d, ph->f, sh/sch->s, zh->l after a vowel (else
       z), kh/gh/bh/jh -> k/g/b/j, ck->k, q->k, x->ks, z->s, w->v; "ch" is kept as its own
       sound; other "c" is k (s before e/i/y).
    4. ee->i, oo->u (Praveen/Pravin); a final y is i (Aswathy/Aswathi); a final h is
       silent (Shah/Sha after rule 3 leaves no other).
    5. first vowel: a lone "e" is "a" (Lekshmi/Lakshmi, Renjith/Ranjith, Remya/Ramya);
       later vowels: "e" is "i" (Rasheed/Rashed/Rashid, Gireesh/Giresh). The first vowel
       otherwise stays, so Mini and Mani remain apart.
    6. doubled letters collapse (Harris/Haris, Sureshkumaar/Sureshkumar).
    """
    word = _NON_ALPHA_RE.sub("", _strip_accents(token).lower())
    if not word:
        return ""
    for pattern, canonical in _CANONICAL:
        if pattern.match(word):
            word = canonical
            break
    for pattern, folded in _VARIANT_FOLDS:
        word = pattern.sub(folded, word)
    word = re.sub(r"c(?=[eiy])", "s", word).replace("c", "k").replace("\x01", "c")
    word = word.replace("ee", "i").replace("oo", "u")
    if len(word) > 1 and word.endswith("y"):
        word = word[:-1] + "i"
    if len(word) > 2 and word.endswith("h"):
        word = word[:-1]
    word = _fold_vowels(word)
    return _DOUBLE_RE.sub(r"\1", word)


def _fold_vowels(word: str) -> str:
    chars = list(word)
    seen_first = False
    i = 0
    while i < len(chars):
        if chars[i] in _VOWELS:
            j = i
            while j < len(chars) and chars[j] in _VOWELS:
                j += 1
            if not seen_first:
                if j - i == 1 and chars[i] == "e":
                    chars[i] = "a"
                seen_first = True
            else:
                for k in range(i, j):
                    if chars[k] == "e":
                        chars[k] = "i"
            i = j
        else:
            i += 1
    return "".join(chars)


@functools.lru_cache(maxsize=65536)
def phonetic_key(token: str) -> str:
    """A coarse sound key for misspellings beyond `variant_key` ("Jayakrishan").

    Metaphone over the variant key (repeated codes collapsed), plus the first vowel and a
    final vowel. Metaphone alone drops vowels, which would join Mini and Mani, or Rajan and
    Rajani (a man's and a woman's name); keeping those two vowels keeps them apart while
    consonant slips still meet.
    """
    folded = variant_key(token)
    if not folded:
        return ""
    code = _DOUBLE_RE.sub(r"\1", jellyfish.metaphone(folded))
    first_vowel = next((c for c in folded if c in _VOWELS), "")
    last_vowel = folded[-1] if folded[-1] in _VOWELS else ""
    return f"{code}:{first_vowel}{last_vowel}"


@dataclass(frozen=True, slots=True)
class NameKeys:
    """Everything the index stores about one written name."""

    normalised: str
    mains: tuple[str, ...]  # main tokens (two letters or more), in order
    initials: str  # the one-letter tokens, in order, e.g. "ps"
    variants: tuple[str, ...]  # variant_key per main token
    phonetics: tuple[str, ...]  # phonetic_key per main token


@functools.lru_cache(maxsize=65536)
def analyse(name: str) -> NameKeys:
    """Normalise `name` and compute the keys of each of its main tokens."""
    toks = tokens(name)
    mains = tuple(t for t in toks if len(t) > 1)
    return NameKeys(
        normalised=" ".join(toks),
        mains=mains,
        initials="".join(t for t in toks if len(t) == 1),
        variants=tuple(variant_key(t) for t in mains),
        phonetics=tuple(phonetic_key(t) for t in mains),
    )
