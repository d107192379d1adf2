"""Name normalisation and keys: variant families fold together, different names stay apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.records.names import (
    analyse,
    normalise,
    phonetic_key,
    split_aliases,
    split_relation,
    tokens,
    transliterate_malayalam,
    variant_key,
)

VARIANT_FAMILIES = [
    ["Mohammed", "Muhammad", "Mohamed", "Muhammed", "Mohd", "Md", "Mohammad"],
    ["Sreekumar", "Srikumar", "Shreekumar", "Shrikumar"],
    ["Jose", "Josè", "JOSE"],
    ["Abdul", "Abdhul"],
    ["Lakshmi", "Laxmi", "Lekshmi"],
    ["Aswathy", "Ashwathi", "Aswathi"],
    ["Thomas", "Tomas"],
    ["Shibu", "Sibu"],
    ["Haris", "Harris"],
    ["Fathima", "Fatima"],
    ["Rasheed", "Rashid", "Rashed"],
    ["Ajith", "Ajit"],
    ["Praveen", "Pravin"],
    ["Vinod", "Vinodh"],
    ["Ahmed", "Ahamed", "Ahammed", "Ahmad"],
    ["Renjith", "Ranjith"],
    ["Sureshkumar", "Sureshkumaar"],
]

DIFFERENT_PEOPLE = [
    ("Rajesh", "Ramesh"),
    ("Suresh", "Sunil"),
    ("Anil", "Anish"),
    ("Mini", "Mani"),
    ("Rajan", "Rajani"),
    ("Gopalan", "Gopi"),
    ("Biju", "Baiju"),
]


@pytest.mark.parametrize("family", VARIANT_FAMILIES, ids=lambda f: f[0])
def test_variant_key_folds_family(family: list[str]) -> None:
    keys = {variant_key(name) for name in family}
    assert len(keys) == 1, {name: variant_key(name) for name in family}


@pytest.mark.parametrize("family", VARIANT_FAMILIES, ids=lambda f: f[0])
def test_phonetic_key_folds_family(family: list[str]) -> None:
    assert len({phonetic_key(name) for name in family}) == 1


@pytest.mark.parametrize(("a", "b"), DIFFERENT_PEOPLE)
def test_variant_and_phonetic_keys_keep_different_names_apart(a: str, b: str) -> None:
    assert variant_key(a) != variant_key(b)
    assert phonetic_key(a) != phonetic_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Rajesh", "Rajeesh"), ("Jayakrishnan", "Jayakrishan"), ("Sureshkumar", "Sureshkumaar")],
)
def test_phonetic_key_catches_misspellings(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("K. Raju", ["k", "raju"]),
        ("Raju K", ["raju", "k"]),
        ("Raju.K", ["raju", "k"]),
        ("K.Raju", ["k", "raju"]),
        ("P.S. Sreekumar", ["p", "s", "sree", "kumar"]),
        ("PS Sreekumar", ["p", "s", "sree", "kumar"]),
        ("RAJU KP", ["raju", "k", "p"]),
        ("  raju   k  ", ["raju", "k"]),
        ("Sureshkumar", ["suresh", "kumar"]),
        ("Suresh Kumar", ["suresh", "kumar"]),
        ("Sukumar", ["sukumar"]),
        ("Kumaran", ["kumaran"]),
    ],
)
def test_tokens_split_initials_and_compounds(written: str, expected: list[str]) -> None:
    assert tokens(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Sri. Raju", "raju"),
        ("Sri Raju", "raju"),
        ("Sree Kumar", "sree kumar"),
        ("Sree Devi", "sree devi"),
        ("Smt. Lakshmi", "lakshmi"),
        ("Dr. Jose Thomas", "jose thomas"),
        ("Mr.Raju", "raju"),
        ("S/o Late Gopalan", "gopalan"),
        ("D/O KESAVAN", "kesavan"),
        ("Josè", "jose"),
        ("RAJU, K.", "raju k"),
    ],
)
def test_normalise_removes_honorifics_and_relation_markers(written: str, expected: str) -> None:
    assert normalise(written) == expected


def test_split_relation_keeps_the_relatives_name() -> None:
    split = split_relation("Raju S/o Gopalan")
    assert (split.name, split.relation, split.relative) == ("Raju", "S/o", "Gopalan")
    split = split_relation("w/o Late Kesavan")
    assert (split.name, split.relation, split.relative) == ("", "W/o", "Late Kesavan")
    assert split_relation("Raju son of Gopalan").relative == "Gopalan"
    assert split_relation("Raju").relation == ""


def test_split_aliases_on_at_sign_and_alias_word() -> None:
    assert split_aliases("Raju @ Kuttan") == ["Raju", "Kuttan"]
    assert split_aliases("Raju alias Kuttan") == ["Raju", "Kuttan"]


@pytest.mark.parametrize(
    ("malayalam", "latin"),
    [
        ("രാജു", "Raju"),
        ("ഗോപാലൻ", "Gopalan"),
        ("ലക്ഷ്മി", "Lakshmi"),
        ("അശ്വതി", "Aswathy"),
        ("മുഹമ്മദ്", "Mohammed"),
        ("ശ്രീകുമാർ", "Sreekumar"),
        ("തോമസ്", "Thomas"),
        ("സുരേഷ്", "Suresh"),
        ("സംഗീത", "Sangeetha"),
        ("ഷിബു", "Shibu"),
    ],
)
def test_malayalam_script_matches_latin(malayalam: str, latin: str) -> None:
    assert analyse(malayalam).variants == analyse(latin).variants


def test_transliterate_leaves_latin_alone_and_handles_old_chillu() -> None:
    assert transliterate_malayalam("Raju K") == "Raju K"
    # Old-style chillu: NA + virama + ZWJ.
    assert transliterate_malayalam("ഗോപാലന്\u200d") == "gopalan"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz .,/-", max_size=40))
def test_normalise_is_idempotent_and_spacing_free(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert all(t.isalpha() and t.islower() for t in once.split())
    assert normalise("  " + text.replace(" ", "   ") + " ") == once


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20))
def test_keys_are_case_insensitive(word: str) -> None:
    assert variant_key(word.upper()) == variant_key(word)
    assert phonetic_key(word.title()) == phonetic_key(word)


@pytest.mark.parametrize(
    ("malayalam", "kerala"),
    [
        ("ഗോപാലൻ", "gopalan"),  # atomic chillu, which the library passes through
        ("അജിത്ത്", "ajith"),  # dental t written "th"
        ("ഫാത്തിമ", "fathima"),
        ("കുഞ്ഞുമുഹമ്മദ്", "kunjumuhammad"),  # n-tilde written "nj"
        ("രഞ്ജിത്ത്", "ranjith"),
        ("ഉണ്ണികൃഷ്ണൻ", "unnikrishnan"),  # r-vocalic written "ri"
        ("നൗഷാദ്", "naushad"),  # the au length mark
        ("കോഴിക്കോട്", "kozhikkot"),
        ("കുറ്റിക്കാട്ടിൽ", "kuttikkattil"),  # alveolar rr written "tt"
        ("കൊച്ചുമോൻ", "kochumon"),
        ("ശ്രീകുമാർ", "sreekumar"),
    ],
)
def test_transliterate_writes_names_as_kerala_does(malayalam: str, kerala: str) -> None:
    assert transliterate_malayalam(malayalam) == kerala


def test_variant_key_folds_kerala_zh_and_l() -> None:
    assert variant_key("Kozhikode") == variant_key("Kolikode")
    assert variant_key("Azhakan") == variant_key("Alakan")
    assert variant_key("Zakir") == variant_key("Sakir")  # a leading z is not the zh sound
    assert variant_key("Mini") != variant_key("Mani")
