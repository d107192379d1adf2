"""The choropleth maps (`node.web.maps`): well-formed SVG, one path per region coloured by its
class, regions without figures marked as such, a legend, and every text escaped."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from ledger.errors import UsageError
from node.records import geography, population
from node.web import maps

SVG = "{http://www.w3.org/2000/svg}"


def _square(west: float, south: float, size: float = 1.0) -> tuple[geography.Ring, ...]:
    ring = ((west, south), (west + size, south), (west + size, south + size), (west, south + size))
    return ((*ring, ring[0]),)


def _row_of_squares(names: dict[str, str]) -> geography.Shapes:
    """Squares side by side, west to east, in the order given."""
    return geography.Shapes(
        key="test-squares",
        source={"title": "t", "url": "u", "licence": "l", "attribution": "squares by us"},
        names=names,
        features={key: _square(70.0 + i, 20.0) for i, key in enumerate(names)},
    )


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _regions(root: ET.Element) -> dict[str, ET.Element]:
    paths = [p for p in root.iter(f"{SVG}path") if "region" in p.get("class", "").split()]
    out = {p.get("data-region", ""): p for p in paths}
    assert len(out) == len(paths), "a region drawn twice"
    return out


def _css_class(path: ET.Element) -> str:
    return next(c for c in path.get("class", "").split() if c != "region")


def test_maps_kerala_draws_one_path_per_district_with_its_class_and_tooltip() -> None:
    shapes = geography.kerala_districts()
    people = population.shipped()["kerala"].revenue_districts
    ranked = sorted(people, key=people.__getitem__)  # 14 districts, smallest first
    values: dict[str, float | None] = {name: float(people[name]) for name in people}
    svg = maps.choropleth_svg(shapes, values, title="Kerala", legend_label="people")
    root = _parse(svg)
    regions = _regions(root)
    assert set(regions) == set(people)
    # Quantiles of 14: 3, 3, 3, 3, 2 districts (upper bounds at ranks 3, 6, 9, 12, 14).
    expected = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4]
    for name, cls in zip(ranked, expected, strict=True):
        assert _css_class(regions[name]) == f"c{cls}", name
        assert regions[name].get("fill") == maps.PALETTE[cls]
        assert float(regions[name].get("data-value", "nan")) == people[name]
        tooltip = regions[name].find(f"{SVG}title")
        assert tooltip is not None
        assert tooltip.text == f"{name}: {maps.format_value(float(people[name]))}"
        assert regions[name].get("d", "").startswith("M")
    assert len({p.get("id") for p in regions.values()}) == 14


def test_maps_north_is_up_and_east_is_right() -> None:
    shapes = geography.kerala_districts()
    root = _parse(maps.choropleth_svg(shapes, {}, title="t", legend_label="l"))
    regions = _regions(root)

    def centre(name: str) -> tuple[float, float]:
        d = regions[name].get("d", "")
        pairs = [p for p in d.replace("M", " ").replace("L", " ").replace("Z", " ").split()]
        xs = [float(p.split(",")[0]) for p in pairs]
        ys = [float(p.split(",")[1]) for p in pairs]
        return sum(xs) / len(xs), sum(ys) / len(ys)

    kasaragod, capital, idukki, alappuzha = (
        centre(n) for n in ("Kasaragod", "Thiruvananthapuram", "Idukki", "Alappuzha")
    )
    assert kasaragod[1] < capital[1]  # the north at the top
    assert idukki[0] > alappuzha[0]  # the hills east of the coast
    width = float(root.get("width", "0"))
    assert all(0 <= centre(n)[0] <= width for n in regions)


def test_maps_regions_without_figures_are_hatched_and_say_no_data() -> None:
    shapes = _row_of_squares({"a": "A", "b": "B", "c": "C", "d": "D"})
    svg = maps.choropleth_svg(
        shapes, {"a": 1.0, "b": None, "c": math.nan}, title="t", legend_label="l"
    )
    regions = _regions(_parse(svg))
    for key in ("b", "c", "d"):  # None, NaN, and not given at all
        assert _css_class(regions[key]) == "nodata", key
        assert regions[key].get("fill") == "url(#test-squares-nodata)"
        assert regions[key].get("data-value") is None
        tooltip = regions[key].find(f"{SVG}title")
        assert tooltip is not None and tooltip.text == f"{key.upper()}: no data"
    assert _css_class(regions["a"]) != "nodata"
    assert 'id="test-squares-nodata"' in svg


def test_maps_legend_shows_each_class_and_no_data() -> None:
    shapes = _row_of_squares({k: k.upper() for k in "abcdefghij"})
    values: dict[str, float | None] = {k: float(i * 10) for i, k in enumerate("abcdefghij")}
    values["j"] = None
    svg = maps.choropleth_svg(
        shapes, values, title="t", legend_label="cases per lakh", method="equal"
    )
    root = _parse(svg)
    legend = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
    assert len(legend) == 1
    swatches = [r.get("class") for r in legend[0].iter(f"{SVG}rect")]
    assert swatches == [
        "swatch c0",
        "swatch c1",
        "swatch c2",
        "swatch c3",
        "swatch c4",
        "swatch nodata",
    ]
    texts = [t.text for t in legend[0].iter(f"{SVG}text")]
    assert texts[0] == "cases per lakh" and "equal intervals" in texts
    assert "64 – 80" in texts and "no data (1)" in texts
    # Equal intervals over 0..80: bounds 16, 32, 48, 64, 80.
    regions = _regions(root)
    got = {k: _css_class(regions[k]) for k in "abcdefghi"}
    assert got == {
        "a": "c0",
        "b": "c0",
        "c": "c1",
        "d": "c1",
        "e": "c2",
        "f": "c3",
        "g": "c3",
        "h": "c4",
        "i": "c4",
    }


def test_maps_escape_names_titles_labels_and_points() -> None:
    shapes = _row_of_squares({"x&y": "<script>alert(1)</script>", "z": 'Z "q"'})
    svg = maps.choropleth_svg(
        shapes,
        {"x&y": 5.0, "z": 7.0},
        title="<b>title</b>",
        legend_label="a & b",
        points=[maps.MapPoint(lat=20.5, lon=70.5, radius=4, label="<img src=x>")],
        no_data="<none>",
    )
    root = _parse(svg)  # parses: nothing unescaped broke the XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<b>" not in svg and "<img" not in svg and "<none>" not in svg
    assert root.get("aria-label") == "<b>title</b>"
    regions = _regions(root)
    assert set(regions) == {"x&y", "z"}
    assert regions["x&y"].get("id") == "test-squares-x-y"
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 1
    label = circles[0].find(f"{SVG}title")
    assert label is not None and label.text == "<img src=x>"


def test_maps_refuse_a_region_the_map_does_not_have() -> None:
    shapes = geography.kerala_districts()
    with pytest.raises(UsageError, match="Cochin"):
        maps.choropleth_svg(shapes, {"Cochin": 1.0}, title="t", legend_label="l")


def test_maps_india_draws_every_state_and_credits_the_source() -> None:
    shapes = geography.india_states()
    svg = maps.choropleth_svg(shapes, {"kerala": 1.0}, title="India", legend_label="l")
    root = _parse(svg)
    regions = _regions(root)
    assert len(regions) == 36
    kerala_tip = regions["kerala"].find(f"{SVG}title")
    assert kerala_tip is not None and kerala_tip.text == "Kerala: 1"
    credit = [t for t in root.iter(f"{SVG}text") if t.get("class") == "credit"]
    assert credit and "DataMeet" in (credit[0].text or "")


def test_class_breaks_quantile_equal_and_degenerate() -> None:
    assert maps.class_breaks([]) == []
    assert maps.class_breaks([3.0, 3.0, 3.0]) == [3.0]
    assert maps.class_breaks([1.0, 2.0, 3.0]) == [1.0, 2.0, 3.0]
    assert maps.class_breaks([float(v) for v in range(1, 11)]) == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert maps.class_breaks([0.0, 100.0], method="equal") == [20.0, 40.0, 60.0, 80.0, 100.0]
    breaks = [2.0, 4.0, 6.0]
    assert [maps.class_of(v, breaks) for v in (1.0, 2.0, 2.5, 6.0)] == [0, 0, 1, 2]
