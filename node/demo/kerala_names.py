"""The synthetic generator's vocabulary of Kerala names, with realistic frequencies.

`seeddata/kerala_names.json` holds hand-written lists of given names per community (Hindu,
Muslim, Christian) and sex, ordered from the most common to the rarest by estimate, the parts
compound names are made of (Anil + kumar, Muhammed + Shafi, Anna + mma), and house names
(whole ones, head + tail compositions, "Lakshmi Bhavan" styles). This module expands those
into ranked vocabularies and draws from them by a Zipf-Mandelbrot law over the rank
(weight 1 / (rank + q) ** s), so a few names are shared by many persons and most by few, as
in a real register. The file's "about" says what is assumed and unverified.

Everything here is deterministic: the vocabularies are built in file order, and a draw uses
only the `random.Random` it is given. Nothing here is a record of a real person.
"""

from __future__ import annotations

import bisect
import functools
import json
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["COMMUNITIES", "KeralaNames", "RankedNames", "kerala_names"]

COMMUNITIES = ("hindu", "muslim", "christian")
_HEADS_NOT_ALONE = frozenset({"sree", "sri", "kunhi", "kochu", "kunju"})
_APART = "|"  # marks a compound's seam: written joined ("Anilkumar") or apart ("Anil Kumar")


@dataclass(frozen=True, slots=True)
class RankedNames:
    """Names in rank order and the cumulative Zipf-Mandelbrot weights they are drawn by."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, names: list[str], s: float, q: float) -> RankedNames:
        total = 0.0
        cumulative = []
        for rank in range(1, len(names) + 1):
            total += 1.0 / (rank + q) ** s
            cumulative.append(total)
        return cls(tuple(names), tuple(cumulative))

    def draw(self, rng: random.Random) -> str:
        """One name, drawn by its weight (one `rng.random()` call)."""
        at = rng.random() * self.cumulative[-1]
        return self.names[min(bisect.bisect_right(self.cumulative, at), len(self.names) - 1)]

    def share(self, top: int) -> float:
        """The share of draws that fall on the `top` most common names."""
        return self.cumulative[min(top, len(self.names)) - 1] / self.cumulative[-1]


def _squash(name: str) -> str:
    return name.replace(" ", "").replace(_APART, "").lower()


def _compounds(groups: list[dict[str, list[str]]], taken: set[str]) -> list[str]:
    """Every head + tail of each group, ranked by the sum of the parts' places in their lists
    (a common head with a common tail first); a name already in `taken` is left out."""
    made: list[tuple[int, int, int, str]] = []
    for g, group in enumerate(groups):
        for h, head in enumerate(group["heads"]):
            for t, tail in enumerate(group["tails"]):
                name = f"{head}{_APART}{tail}"
                if _squash(name) not in taken:
                    taken.add(_squash(name))
                    made.append((h + t, g, h * 100 + t, name))
    return [name for *_, name in sorted(made)]


@dataclass(frozen=True, slots=True)
class KeralaNames:
    """The expanded vocabularies: given names per community and sex, house names per
    community, and how compounds and surnames are written."""

    given: dict[tuple[str, str], RankedNames]
    houses: dict[str, RankedNames]
    father_as_surname: dict[str, float]
    apart_share: dict[str, float]

    def written(self, name: str, rng: random.Random) -> str:
        """A drawn name as one person's record writes it: a compound joined or apart."""
        if _APART not in name:
            return name
        head, tail = name.split(_APART)
        if tail[:1].isupper():
            return f"{head} {tail}"  # "Muhammed Shafi", "Ali Haji": two names, always apart
        apart = self.apart_share.get(tail, self.apart_share["default"])
        if rng.random() < apart:
            return f"{head} {tail.capitalize()}"
        return head + tail

    def surname_of(self, father: str, community: str) -> str:
        """The part of the father's name a child carries after its own given name: the last
        for Muslim names ("Mishal Ashraf" of Mohammed Ashraf), else the first ("Arjun Anil" of
        Anil Kumar), a compound's head with what follows it ("Pavan Sreekrishnan")."""
        words = father.split()
        if len(words) == 1:
            return father
        if community == "muslim":
            return words[-1]
        if words[0].lower() in _HEADS_NOT_ALONE:
            return "".join(words[:1] + [w.lower() for w in words[1:]])
        return words[0]

    def distinct_given(self) -> int:
        return len({_squash(n) for ranked in self.given.values() for n in ranked.names})


@functools.cache
def kerala_names() -> KeralaNames:
    """The vocabularies of seeddata/kerala_names.json (built once per process)."""
    text = (
        resources.files(__package__)
        .joinpath("seeddata", "kerala_names.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    s, q = float(data["zipf"]["s"]), float(data["zipf"]["q"])
    given: dict[tuple[str, str], RankedNames] = {}
    houses: dict[str, RankedNames] = {}
    for community in COMMUNITIES:
        for sex in ("M", "F"):
            hand: list[str] = list(data["given"][community][sex])
            taken = {_squash(n) for n in hand}
            made = _compounds(data["compounds"][community][sex], taken)
            given[(community, sex)] = RankedNames.of(hand + made, s, q)
        house = data["houses"][community]
        whole: list[str] = list(house["whole"])
        taken = {_squash(n) for n in whole}
        joined = [
            n.replace(_APART, "")
            for n in _compounds([{"heads": house["heads"], "tails": house["tails"]}], taken)
        ]
        styled = [f"{n} {kind}" for kind in house["kinds"] for n in house["named"]]
        # Whole names first, then compositions and styles interleaved, so neither kind
        # takes all the common ranks.
        mixed = [n for pair in zip(joined, styled, strict=False) for n in pair]
        rest = joined[len(styled) :] + styled[len(joined) :]
        houses[community] = RankedNames.of(whole + mixed + rest, s, q)
    return KeralaNames(
        given=given,
        houses=houses,
        father_as_surname={k: float(v) for k, v in data["father_as_surname"].items()},
        apart_share={k: float(v) for k, v in data["apart_share"].items()},
    )
