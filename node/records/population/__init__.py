"""Population figures for crime rates, shipped as data with their source (data/*.json).

A crime rate is cases per lakh (100,000) of population. The census gives population by revenue
district; police districts map onto them (a city's City and Rural police districts share one
revenue district), so a rate is computed per revenue district and per state. Each file names its
source and says what of it was checked (`Population.source`). States without a file have no
figures: their rates are shown as not available, never guessed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ledger.errors import InputError

LAKH = 100_000


@dataclass(frozen=True, slots=True)
class Population:
    """One state's figures."""

    state: str  # the node-id part: "kerala"
    name: str
    year: int  # of the count
    source: dict[str, str]
    revenue_districts: dict[str, int]
    total: int
    police_districts: dict[str, str]  # police district -> revenue district

    def revenue_district(self, police_district: str) -> str | None:
        """The revenue district a police district lies in (None when unknown)."""
        return self.police_districts.get(police_district)

    def of_revenue_district(self, name: str) -> int | None:
        return self.revenue_districts.get(name)


def _load(content: dict[str, Any]) -> Population:
    try:
        districts = {str(k): int(v) for k, v in content["revenue_districts"].items()}
        total = int(content["total"])
        police = {str(k): str(v) for k, v in content["police_districts"].items() if k != "note"}
        population = Population(
            state=str(content["state"]),
            name=str(content["name"]),
            year=int(content["year"]),
            source={str(k): str(v) for k, v in content["source"].items()},
            revenue_districts=districts,
            total=total,
            police_districts=police,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"population data is malformed: {exc}") from exc
    if sum(districts.values()) != total:
        raise InputError(f"{population.name}: the districts do not add up to the total")
    unknown = sorted(set(police.values()) - set(districts))
    if unknown:
        raise InputError(f"{population.name}: police districts in unknown districts {unknown}")
    return population


@functools.cache
def shipped() -> dict[str, Population]:
    """Every state with figures shipped, by its node-id name."""
    out: dict[str, Population] = {}
    for item in resources.files(__package__).joinpath("data").iterdir():
        if item.name.endswith(".json"):
            population = _load(json.loads(item.read_text(encoding="utf-8")))
            out[population.state] = population
    return out


def rate_per_lakh(cases: int, population: int | None) -> float | None:
    """Cases per lakh of population, or None without a population."""
    if not population:
        return None
    return cases * LAKH / population
