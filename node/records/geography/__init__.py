"""Boundaries to draw crime maps on, shipped as data with their source (data/*.json).

Two maps: Kerala's fourteen revenue districts (named as in the population figures, so a rate
per district finds its shape) and India's states and union territories (keyed by the state
node ids, "kerala", "tamil-nadu"). Each file names its source, licence, how it was simplified
and what it gets wrong (`Shapes.source`); simulations/build_geography.py regenerates them and
SOURCES.md here says the same in prose. The shapes are for choropleths, not for deciding which
district a place lies in.

This module reads only its own package data and checks it on load: every ring closed and
inside India's extent, every name one the project knows. It must never draw (that is
`node.web.maps`) nor fetch anything.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ledger.errors import InputError
from node.records import population

Point = tuple[float, float]  # (longitude, latitude), degrees
Ring = tuple[Point, ...]  # closed: the first point again at the end

# Generous bounds of India and its islands: a coordinate outside is a swapped or broken pair.
LONGITUDE = (66.0, 99.0)
LATITUDE = (5.0, 38.0)
_STATE_ID = re.compile(r"[a-z]+(?:-[a-z]+)*")

KERALA_DISTRICTS = "kerala-districts"
INDIA_STATES = "india-states"


@dataclass(frozen=True, slots=True)
class Shapes:
    """One map's regions: each a few rings, outer boundaries and any holes alike (drawn with
    the even-odd rule)."""

    key: str  # the file's name: "kerala-districts"
    source: dict[str, str]
    names: dict[str, str]  # region key -> name to show ("tamil-nadu" -> "Tamil Nadu")
    features: dict[str, tuple[Ring, ...]]

    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of every region together."""
        lons = [lon for rings in self.features.values() for ring in rings for lon, _ in ring]
        lats = [lat for rings in self.features.values() for ring in rings for _, lat in ring]
        return min(lons), min(lats), max(lons), max(lats)

    def name(self, key: str) -> str:
        return self.names.get(key, key)


def _ring(raw: Any, where: str) -> Ring:
    points = tuple((float(lon), float(lat)) for lon, lat in raw)
    if len(points) < 4 or points[0] != points[-1]:
        raise InputError(f"{where}: a ring is not closed or has fewer than three corners")
    for lon, lat in points:
        if not (LONGITUDE[0] <= lon <= LONGITUDE[1] and LATITUDE[0] <= lat <= LATITUDE[1]):
            raise InputError(f"{where}: ({lon}, {lat}) lies outside India's extent")
    return points


def _load(key: str, content: dict[str, Any]) -> Shapes:
    try:
        source = {str(k): str(v) for k, v in content["source"].items()}
        names = {str(k): str(v) for k, v in content["names"].items()}
        features = {
            str(name): tuple(_ring(ring, f"{key}/{name}") for ring in rings)
            for name, rings in content["features"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"boundary data {key} is malformed: {exc!r}") from exc
    missing = [field for field in ("title", "url", "licence", "attribution") if field not in source]
    if missing:
        raise InputError(f"boundary data {key}: the source does not give {missing}")
    empty = sorted(name for name, rings in features.items() if not rings)
    if empty:
        raise InputError(f"boundary data {key}: no shape for {empty}")
    if set(names) != set(features):
        raise InputError(
            f"boundary data {key}: names and shapes differ: {set(names) ^ set(features)}"
        )
    return Shapes(key=key, source=source, names=names, features=features)


def _check_names(shapes: Shapes) -> None:
    """The regions must be the ones the rest of the project names."""
    if shapes.key == KERALA_DISTRICTS:
        known = set(population.shipped()["kerala"].revenue_districts)
        if set(shapes.features) != known:
            raise InputError(
                f"{shapes.key}: districts differ from the population figures: "
                f"{sorted(set(shapes.features) ^ known)}"
            )
    elif shapes.key == INDIA_STATES:
        odd = sorted(name for name in shapes.features if not _STATE_ID.fullmatch(name))
        if odd:
            raise InputError(f"{shapes.key}: not state node ids: {odd}")


@functools.cache
def shipped() -> dict[str, Shapes]:
    """Every map shipped, by file name ("kerala-districts", "india-states")."""
    out: dict[str, Shapes] = {}
    for item in resources.files(__package__).joinpath("data").iterdir():
        if item.name.endswith(".json"):
            key = item.name.removesuffix(".json")
            shapes = _load(key, json.loads(item.read_text(encoding="utf-8")))
            _check_names(shapes)
            out[key] = shapes
    return out


def kerala_districts() -> Shapes:
    """Kerala's fourteen revenue districts."""
    return shipped()[KERALA_DISTRICTS]


def india_states() -> Shapes:
    """India's states and union territories, by state node id."""
    return shipped()[INDIA_STATES]


__all__ = [
    "INDIA_STATES",
    "KERALA_DISTRICTS",
    "Shapes",
    "india_states",
    "kerala_districts",
    "shipped",
]
