"""The shipped boundaries (`node.records.geography`): they load with their source, name the
districts and states the rest of the project names, and put well-known places in the right
region (so a broken build or a swapped coordinate shows)."""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import InputError
from node.records import geography, population

ROOT = Path(__file__).resolve().parents[3]


def _inside(point: tuple[float, float], rings: tuple[geography.Ring, ...]) -> bool:
    """Even-odd rule over all rings, as the map draws them."""
    lon, lat = point
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def _regions_at(shapes: geography.Shapes, lat: float, lon: float) -> list[str]:
    return [key for key, rings in shapes.features.items() if _inside((lon, lat), rings)]


def test_geography_ships_both_maps_with_source_and_licence() -> None:
    maps = geography.shipped()
    assert set(maps) == {"kerala-districts", "india-states"}
    for shapes in maps.values():
        for field in ("title", "url", "licence", "attribution", "retrieved", "derived", "limits"):
            assert shapes.source.get(field), (shapes.key, field)
        assert "github.com/datameet/" in shapes.source["url"]
        assert shapes.source.get("credit")
    assert "ODbL" in geography.kerala_districts().source["licence"]
    assert "CC0" in geography.india_states().source["licence"]


def test_geography_kerala_districts_are_the_population_files_and_no_others() -> None:
    districts = set(geography.kerala_districts().features)
    revenue = set(population.shipped()["kerala"].revenue_districts)
    assert districts == revenue
    assert len(districts) == 14


def test_geography_india_states_are_the_scenarios_state_ids() -> None:
    with (ROOT / "simulations" / "scenarios" / "india.toml").open("rb") as handle:
        scenario = tomllib.load(handle)
    states = {str(s["id"]): str(s["name"]) for s in scenario["state"]}
    shapes = geography.india_states()
    assert set(shapes.features) == set(states)
    assert shapes.names == states


def test_geography_rings_are_closed_and_inside_india() -> None:
    for shapes in geography.shipped().values():
        for key, rings in shapes.features.items():
            assert rings, key
            for ring in rings:
                assert len(ring) >= 4 and ring[0] == ring[-1], key
                for lon, lat in ring:
                    assert 66 <= lon <= 99 and 5 <= lat <= 38, (key, lon, lat)
                    assert round(lon, 3) == lon and round(lat, 3) == lat


@pytest.mark.parametrize(
    ("lat", "lon", "district"),
    [
        (8.524, 76.936, "Thiruvananthapuram"),  # the city
        (8.893, 76.614, "Kollam"),
        (9.590, 76.522, "Kottayam"),
        (9.981, 76.299, "Ernakulam"),  # Kochi
        (10.527, 76.214, "Thrissur"),
        (10.786, 76.654, "Palakkad"),
        (11.258, 75.780, "Kozhikode"),
        (11.686, 76.132, "Wayanad"),  # Kalpetta
        (11.875, 75.371, "Kannur"),
        (12.498, 74.990, "Kasaragod"),
    ],
)
def test_geography_kerala_towns_fall_in_their_district(
    lat: float, lon: float, district: str
) -> None:
    assert _regions_at(geography.kerala_districts(), lat, lon) == [district]


@pytest.mark.parametrize(
    ("lat", "lon", "state"),
    [
        (13.083, 80.270, "tamil-nadu"),  # Chennai
        (12.972, 77.594, "karnataka"),  # Bengaluru
        (17.385, 78.487, "telangana"),  # Hyderabad
        (16.506, 80.648, "andhra-pradesh"),  # Vijayawada
        (28.614, 77.209, "delhi"),
        (34.084, 74.797, "jammu-kashmir"),  # Srinagar
        (34.152, 77.577, "ladakh"),  # Leh
        (20.397, 72.832, "dnh-daman-diu"),  # Daman
        (22.573, 88.364, "west-bengal"),  # Kolkata
        (26.144, 91.736, "assam"),  # Guwahati
        (8.524, 76.936, "kerala"),
        (11.623, 92.726, "andaman-nicobar"),  # Port Blair
    ],
)
def test_geography_indian_cities_fall_in_their_state(lat: float, lon: float, state: str) -> None:
    assert _regions_at(geography.india_states(), lat, lon) == [state]


def _content() -> dict[str, Any]:
    path = ROOT / "node" / "records" / "geography" / "data" / "kerala-districts.json"
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return content


def test_geography_refuses_an_open_ring_a_missing_source_and_an_unknown_district() -> None:
    content = _content()
    content["features"]["Kollam"][0] = content["features"]["Kollam"][0][:-1]
    with pytest.raises(InputError, match="not closed"):
        geography._load("kerala-districts", content)

    content = _content()
    del content["source"]["licence"]
    with pytest.raises(InputError, match="licence"):
        geography._load("kerala-districts", content)

    content = _content()
    content["features"]["Cochin"] = content["features"].pop("Ernakulam")
    content["names"]["Cochin"] = content["names"].pop("Ernakulam")
    shapes = geography._load("kerala-districts", content)
    with pytest.raises(InputError, match="Cochin"):
        geography._check_names(shapes)


def test_geography_refuses_swapped_coordinates() -> None:
    content = _content()
    content["features"]["Idukki"][0] = [[lat, lon] for lon, lat in content["features"]["Idukki"][0]]
    with pytest.raises(InputError, match="outside India"):
        geography._load("kerala-districts", content)


def test_geography_data_is_package_data() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)
    assert "records/geography/data/*.json" in project["tool"]["setuptools"]["package-data"]["node"]
