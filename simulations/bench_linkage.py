"""Linkage quality: precision and recall of person-record linkage (node/index/linkage.py) on
synthetic persons with known truth, at the chosen threshold and around it, against a
deterministic baseline in the same run (the same name, relative and year of birth, as keys).

The persons: Kerala names drawn as the demo's generator draws them (node/demo/kerala_names.py:
thousands of given and house names, a few common and most rare), each person
written in one to four records of different stations as officers write them: initials before or
after the name or left out, another transliteration (Mohammed/Muhammed, Sreekumar/Srikumar) or a
Manglish spelling (th/t, ee/i, a double letter), a typo, the age given a year or two off (or not
at all), another address (a person moves), the mobile number changed or missing, the relative's
name spelt differently. One person in twelve has a namesake: another person of the same name and
father's name, of another age and address (the case officers must not link).

    python -m simulations.bench_linkage [--persons 4000] [--seed 2] [--distractors 5] [--out FILE]
    python -m simulations.bench_linkage --train    # writes node/index/linkage_model.json

`--train` fits the shipped model on its own synthetic set (seed 1, never the benchmark's): u
probabilities by random sampling, m probabilities from the known truth, the prior from the true
share of matching pairs (docs/linkage.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import random
import string
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from node.demo.kerala_names import kerala_names
from node.index import linkage
from node.index.person_links import PersonKey
from node.records import names
from simulations.report import save_results

STATIONS = ("ps-kalamassery", "ps-edappally", "ps-aluva", "ps-thrikkakara", "ps-palarivattom")
LOCALITIES = ("Kalamassery", "Edappally", "Aluva", "Kakkanad", "Palarivattom", "Vyttila",
              "Kaloor", "Eloor", "Kochi", "Angamaly")  # fmt: skip
THRESHOLDS = (0.5, 0.8, linkage.THRESHOLD, 0.95, 0.99)
RECORD_YEAR = 2026
PERSONS = 4000  # the benchmark's (seed 2)
TRAINING = 3000  # the shipped model's (seed 1): its prior is of their records (`linkage.prior`)
# The least m and u probabilities of a trained level. A level the synthetic set never saw among
# matches (a sex or a date of birth written wrong) is taken to happen in one record in a
# hundred (an assumption, not a measurement): it weighs heavily against a match, never
# infinitely, so that one wrong field does not hide a person from the officer.
M_FLOOR = 0.01
U_FLOOR = 1e-4


@dataclass(frozen=True, slots=True)
class Truth:
    persons: list[linkage.PersonRecord]
    entity: list[int]  # the true person of each record

    def pairs(self) -> set[frozenset[PersonKey]]:
        by_entity: dict[int, list[PersonKey]] = {}
        for person, entity in zip(self.persons, self.entity, strict=True):
            by_entity.setdefault(entity, []).append(person.key)
        return {
            frozenset((a, b))
            for group in by_entity.values()
            for i, a in enumerate(group)
            for b in group[i + 1 :]
        }


def _seed_names() -> dict[str, Any]:
    text = resources.files("node.demo").joinpath("seeddata/names.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


_MANGLISH = (("ee", "i"), ("th", "t"), ("sh", "s"), ("oo", "u"), ("kk", "k"), ("nn", "n"),
             ("ll", "l"), ("i", "ee"), ("u", "oo"))  # fmt: skip


def _respell(rng: random.Random, word: str, variants: dict[str, list[str]]) -> str:
    """Another way a record spells `word`: a known transliteration or a Manglish habit."""
    if word in variants and rng.random() < 0.7:
        return str(rng.choice(variants[word]))
    options = [(a, b) for a, b in _MANGLISH if a in word[1:]]
    if not options:
        return word
    a, b = rng.choice(options)
    at = word.find(a, 1)
    return word[:at] + b + word[at + len(a) :]


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:  # a letter dropped
        return word[:at] + word[at + 1 :]
    if kind < 0.7:  # two letters swapped
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + rng.choice(string.ascii_lowercase) + word[at + 1 :]  # one mistyped


def _spelt(rng: random.Random, name: str, variants: dict[str, list[str]]) -> str:
    """The name as one record spells it: another transliteration, sometimes a typo."""
    words = name.split()
    if rng.random() < 0.3:
        words = [_respell(rng, w, variants) for w in words]
    if rng.random() < 0.12:
        i = rng.randrange(len(words))
        words[i] = _typo(rng, words[i])
    return " ".join(words)


def _written(rng: random.Random, name: str, variants: dict[str, list[str]], initials: str) -> str:
    """The name as one record writes it: spelt, with the initials before, after or left out."""
    text = _spelt(rng, name, variants)
    style = rng.random()
    if style < 0.3:
        return f"{initials[0]}. {text}"
    if style < 0.55:
        return f"{text} {initials[0]}."
    if style < 0.7:
        return f"{text} {initials[0]}.{initials[1]}."
    return text


@dataclass(slots=True)
class _Entity:
    name: str
    relation: str
    father: str
    initials: str
    sex: str
    birth_year: int
    address: str
    mobile: str
    born: str = ""  # the date of birth, which a record gives now and then


def _address(rng: random.Random, house: str) -> str:
    locality = rng.choice(LOCALITIES)
    return f"{house} House, {locality} P.O., Ernakulam - 6830{rng.randint(10, 99)}"


def generate(count: int, seed: int) -> Truth:
    """`count` persons, each in one to four records, with a namesake for one in twelve."""
    rng = random.Random(seed)
    data = _seed_names()
    vocabulary = kerala_names()
    variants: dict[str, list[str]] = data["variants"]
    communities = list(data["community_weights"])
    weights = list(data["community_weights"].values())
    entities: list[_Entity] = []
    for _ in range(count):
        if entities and rng.random() < 1 / 12:
            twin = rng.choice(entities)  # a namesake: same name and father, another person
            community_houses = vocabulary.houses[rng.choice(communities)]
            entities.append(
                _Entity(
                    twin.name, twin.relation, twin.father,
                    rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_uppercase),
                    twin.sex, rng.randint(1950, 2006), _address(rng, community_houses.draw(rng)),
                    rng.choice("6789") + "".join(rng.choices(string.digits, k=9)),
                )
            )  # fmt: skip
            continue
        community = rng.choices(communities, weights=weights)[0]
        sex = rng.choices(["M", "F"], weights=[85, 15])[0]
        houses = vocabulary.houses[community]
        house = houses.draw(rng)
        father = vocabulary.written(vocabulary.given[(community, "M")].draw(rng), rng)
        entities.append(
            _Entity(
                name=vocabulary.written(vocabulary.given[(community, sex)].draw(rng), rng),
                relation="S/o" if sex == "M" else "D/o",
                father=father,
                initials=house[0].upper() + father[0].upper(),
                sex=sex,
                birth_year=rng.randint(1950, 2006),
                address=_address(rng, house),
                mobile=rng.choice("6789") + "".join(rng.choices(string.digits, k=9)),
            )
        )
    for entity in entities:
        day = datetime.date(entity.birth_year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
        entity.born = day.isoformat()
    persons: list[linkage.PersonRecord] = []
    truth: list[int] = []
    all_houses = vocabulary.houses["hindu"]
    for number, entity in enumerate(entities):
        records = rng.choices([1, 2, 3, 4], weights=[50, 30, 14, 6])[0]
        for _ in range(records):
            year = rng.randint(RECORD_YEAR - 8, RECORD_YEAR)
            off = rng.choices([0, 1, -1, 2, -2, 3], weights=[55, 15, 15, 6, 6, 3])[0]
            age = 0 if rng.random() < 0.05 else year - entity.birth_year + off
            born = entity.born if rng.random() < 0.3 else ""
            moved = rng.random() < 0.3
            chance = rng.random()
            other = "9" + "".join(rng.choices(string.digits, k=9))
            mobile = entity.mobile if chance < 0.5 else ("" if chance < 0.8 else other)
            relative = entity.father if rng.random() < 0.85 else ""
            if relative and rng.random() < 0.25:
                relative = _spelt(rng, relative, variants)
            station = rng.choice(STATIONS)
            person_id = f"P-{len(persons):06d}"
            persons.append(
                linkage.PersonRecord(
                    key=PersonKey(f"cctns.in/kerala/ernakulam-city/{station}", person_id),
                    name=_written(rng, entity.name, variants, entity.initials),
                    aliases=[],
                    relation=entity.relation,
                    relative_name=relative,
                    age=max(age, 0),
                    birth_year=int(born[:4]) if born else (year - age if age > 0 else 0),
                    sex=entity.sex,
                    address=_address(rng, all_houses.draw(rng)) if moved else entity.address,
                    mobile=mobile,
                    date_of_birth=born,
                    appearances=[
                        linkage.Appearance(0, f"FIR No. {len(persons) + 1}/{year}", "accused", 0)
                    ],
                )
            )
            truth.append(number)
    return Truth(persons, truth)


def embed(truth: Truth, times: int, seed: int) -> Truth:
    """`truth` among `times` as many other persons (generated alike from another seed, with
    their own duplicates and namesakes, under other person ids): the same persons on a bigger
    node. The truth is of both."""
    others = generate(times * len(set(truth.entity)), seed)
    offset = max(truth.entity) + 1
    moved = [
        dataclasses.replace(p, key=PersonKey(p.key.origin, "D" + p.key.person_id[1:]))
        for p in others.persons
    ]
    return Truth(truth.persons + moved, truth.entity + [e + offset for e in others.entity])


def at_scale(truth: Truth, times: int, seed: int) -> dict[str, Any]:
    """Precision and recall at the chosen threshold among `truth` embedded in `times` as many
    other persons: with the prior falling with the records (`linkage.prior`), and with the
    prior as trained. Of every pair, and of the pairs naming a record of `truth`."""
    bigger = embed(truth, times, seed)
    ours = {p.key for p in truth.persons}
    rows = [linkage.features(p, i) for i, p in enumerate(bigger.persons)]
    population = linkage.Population.of_rows(rows)
    measured_on = int(json.loads(linkage.MODEL_PATH.read_text("utf-8"))[linkage.TRAINED_ON])
    results: dict[str, Any] = {
        "times": times,
        "records": len(bigger.persons),
        "true_pairs": len(bigger.pairs()),
        "prior": linkage.prior(len(bigger.persons)),
        "trained_prior": linkage.prior(measured_on),
    }
    # As many records as the prior was measured on: the prior as trained.
    as_trained = dataclasses.replace(population, records=measured_on)
    for name, given in (("adjusted", population), ("trained", as_trained)):
        started = time.perf_counter()
        found = {p.pair() for p in linkage.propose(bigger.persons, population=given)}
        results[name] = {
            "seconds": time.perf_counter() - started,
            "all": _rates(found, bigger.pairs()),
            "of_ours": _rates({pair for pair in found if pair & ours}, truth.pairs()),
        }
    return results


def _baseline(persons: list[linkage.PersonRecord]) -> set[frozenset[PersonKey]]:
    """Deterministic rule: the same name, relative and year of birth (as name keys)."""
    groups: dict[tuple[str, str, int], list[PersonKey]] = {}
    for p in persons:
        name = " ".join(sorted(names.analyse(p.name).variants))
        relative = " ".join(sorted(names.analyse(p.relative_name).variants))
        groups.setdefault((name, relative, p.birth_year), []).append(p.key)
    return {
        frozenset((a, b))
        for group in groups.values()
        for i, a in enumerate(group)
        for b in group[i + 1 :]
    }


def _rates(found: set[frozenset[PersonKey]], true: set[frozenset[PersonKey]]) -> dict[str, float]:
    hits = len(found & true)
    return {
        "proposed": len(found),
        "correct": hits,
        "precision": hits / len(found) if found else 1.0,
        "recall": hits / len(true) if true else 1.0,
    }


def train(persons: int) -> None:
    """Fits the shipped model on synthetic persons (seed 1) and writes it."""
    truth = generate(persons, seed=1)
    rows = [linkage.features(p, i) for i, p in enumerate(truth.persons)]
    for row, entity in zip(rows, truth.entity, strict=True):
        row["truth"] = entity
    n = len(rows)
    creator = linkage.settings()
    creator.probability_two_random_records_match = len(truth.pairs()) / (n * (n - 1) / 2)
    model = linkage.linker(rows, creator)
    model.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    model.training.estimate_m_from_label_column("truth")
    saved = model.misc.save_model_to_json()
    saved.pop("linker_uid", None)  # random per run: the file stays the same when retrained
    saved[linkage.TRAINED_ON] = n  # what the prior was measured on (`linkage.prior`)
    for comparison in saved["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for level in levels:
            m, u = level.get("m_probability") or 0.0, level.get("u_probability") or 0.0
            if m == 0.0 and u == 0.0:  # never seen at all: no evidence either way
                level["m_probability"] = level["u_probability"] = U_FLOOR
            else:  # only what was never seen is floored
                level["m_probability"] = m or M_FLOOR
                level["u_probability"] = u or U_FLOOR
        for name in ("m_probability", "u_probability"):
            total = sum(level[name] for level in levels)
            for level in levels:
                level[name] /= total  # still a distribution over the levels
    linkage.MODEL_PATH.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
    print(f"model trained on {n:,} records of {persons:,} persons: {linkage.MODEL_PATH}")


def _chart(results: dict[str, Any]) -> str:
    rows = results["thresholds"]
    bars = []
    for i, row in enumerate(rows):
        y = 20 + i * 30
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">p ≥ {row["threshold"]}</text>'
            f'<rect x="80" y="{y}" width="{row["precision"] * 300:.0f}" height="12" '
            'fill="#1f77b4"/>'
            f'<rect x="80" y="{y + 13}" width="{row["recall"] * 300:.0f}" height="12" '
            'fill="#ff7f0e"/>'
        )
    height = 40 + 30 * len(rows)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="420" height="{height}">'
        '<text x="80" y="12" font-size="12">precision (blue), recall (orange)</text>'
        + "".join(bars)
        + "</svg>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, help=f"default {PERSONS:,} ({TRAINING:,} to train)")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument(
        "--distractors", type=int, default=5, help="then among N times as many others (0: not)"
    )
    parser.add_argument("--train", action="store_true", help="write the shipped model")
    parser.add_argument("--out", default="bench-out/linkage.json")
    args = parser.parse_args(argv)
    if args.train:
        train(args.persons or TRAINING)
        return 0
    args.persons = args.persons or PERSONS
    truth = generate(args.persons, args.seed)
    true = truth.pairs()
    print(
        f"linkage of {len(truth.persons):,} person records of {args.persons:,} persons "
        f"({len(true):,} true pairs), model {linkage.MODEL_PATH.name}",
    )
    started = time.perf_counter()
    proposals = linkage.propose(truth.persons, threshold=min(THRESHOLDS))
    seconds = time.perf_counter() - started
    baseline = _rates(_baseline(truth.persons), true)
    results: dict[str, Any] = {
        "persons": args.persons,
        "records": len(truth.persons),
        "true_pairs": len(true),
        "seconds": seconds,
        "baseline": baseline,
        "thresholds": [],
    }
    print(f"{'threshold':>10} {'proposed':>9} {'precision':>10} {'recall':>8}")
    for threshold in THRESHOLDS:
        found = {p.pair() for p in proposals if p.probability >= threshold}
        rates = _rates(found, true)
        results["thresholds"].append({"threshold": threshold, **rates})
        mark = "  <- chosen" if threshold == linkage.THRESHOLD else ""
        print(
            f"{threshold:>10} {rates['proposed']:>9,} {rates['precision']:>10.3f} "
            f"{rates['recall']:>8.3f}{mark}"
        )
    print(
        f"{'baseline':>10} {baseline['proposed']:>9,} {baseline['precision']:>10.3f} "
        f"{baseline['recall']:>8.3f}  (same name, relative and year of birth)"
    )
    chosen = next(r for r in results["thresholds"] if r["threshold"] == linkage.THRESHOLD)
    print(
        f"at the chosen threshold {linkage.THRESHOLD}: recall {chosen['recall']:.3f} "
        f"({chosen['recall'] / baseline['recall']:.2f}x the baseline's), precision "
        f"{chosen['precision']:.3f}; {seconds:.1f} s for the proposals"
    )
    if args.distractors:
        scale = at_scale(truth, args.distractors, args.seed + 1)
        results["at_scale"] = scale
        print(
            f"the same persons among {args.distractors}x as many others: "
            f"{scale['records']:,} records, {scale['true_pairs']:,} true pairs; prior "
            f"{scale['prior']:.2e} (as trained {scale['trained_prior']:.2e})"
        )
        print(f"{'prior':>10} {'pairs':>7} {'proposed':>9} {'precision':>10} {'recall':>8}")
        for name in ("adjusted", "trained"):
            for which in ("all", "of_ours"):
                rates = scale[name][which]
                print(
                    f"{name:>10} {which:>7} {rates['proposed']:>9,} "
                    f"{rates['precision']:>10.3f} {rates['recall']:>8.3f}"
                )
        print(f"{scale['adjusted']['seconds']:.1f} s for the proposals")
    save_results(results, args.out, _chart)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
