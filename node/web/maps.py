"""Choropleth maps as SVG, drawn on the server from the shipped boundaries; no script.

Like `node.web.charts`: a map is a string of SVG that a page embeds inline (and prints), every
text that goes into it escaped here. Each region is one <path> with its own <title> (the
tooltip: "Ernakulam: 123.4"), an id and data-region/data-value attributes, and a class naming
its colour class ("c0" lightest ... "c4" darkest, "nodata"), so a test or a stylesheet can find
it. Values fall into at most five classes, by quantiles (equal numbers of regions per class,
the default) or by equal intervals, coloured with ColorBrewer's YlOrRd, a sequential scale that
stays readable to colour-blind readers because its lightness alone orders the classes. A
region without a figure is hatched grey and says "no data": never coloured as if it were low.

Projection: equirectangular with the longitudes shrunk by the cosine of the map's middle
latitude, which keeps a state's shape right at these sizes, fitted to the drawing area. The
page should still show the same numbers as a table; the map is for seeing, the table for
reading.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from ledger.errors import UsageError
from node.records.geography import Shapes

# ColorBrewer YlOrRd, 5 classes (colorbrewer2.org: colour-blind safe, print friendly).
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA_FILL = "#e4e4e4"
NO_DATA_LINE = "#9a9a9a"
BORDER_COLOUR = "#ffffff"
POINT_COLOUR = "#1f4e8c"
TEXT_COLOUR = "#1d2733"
LEGEND_WIDTH = 190
TITLE_HEIGHT = 30
CREDIT_HEIGHT = 18
MARGIN = 8

Method = Literal["quantile", "equal"]


@dataclass(frozen=True, slots=True)
class MapPoint:
    """A marked place drawn over the regions (a hotspot): radius in pixels."""

    lat: float
    lon: float
    radius: float
    label: str


def class_breaks(
    values: Sequence[float], *, classes: int = 5, method: Method = "quantile"
) -> list[float]:
    """The upper bound of each class, ascending; the last is the largest value. Fewer classes
    than asked when the values do not allow that many distinct bounds (three regions, or ten
    regions with the same figure). Empty for no values."""
    ordered = sorted(values)
    if not ordered:
        return []
    if method == "quantile":
        n = len(ordered)
        bounds = [ordered[math.ceil(i * n / classes) - 1] for i in range(1, classes + 1)]
    else:
        low, high = ordered[0], ordered[-1]
        bounds = [low + (high - low) * i / classes for i in range(1, classes)] + [high]
    out: list[float] = []
    for bound in bounds:
        if not out or bound > out[-1]:
            out.append(bound)
    return out


def class_of(value: float, breaks: Sequence[float]) -> int:
    """The class a value falls in: the first whose upper bound it does not exceed."""
    for index, bound in enumerate(breaks):
        if value <= bound:
            return index
    return len(breaks) - 1


def _colours(count: int) -> list[str]:
    """`count` colours spread over the palette, so three classes still run light to dark."""
    if count <= 1:
        return [PALETTE[2]] * count
    last = len(PALETTE) - 1
    return [PALETTE[round(i * last / (count - 1))] for i in range(count)]


def format_value(value: float) -> str:
    """A figure as a map shows it: whole numbers with thousands separators, others to one
    decimal place."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "region"


def _known(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return value


class _Projection:
    """Longitude and latitude to pixels: equirectangular, cos(latitude) corrected, fitted."""

    def __init__(self, shapes: Shapes, width: float, height: float, left: float, top: float):
        west, south, east, north = shapes.bounds()
        self.shrink = math.cos(math.radians((south + north) / 2))
        span_x = max((east - west) * self.shrink, 1e-9)
        span_y = max(north - south, 1e-9)
        self.scale = min(width / span_x, height / span_y)
        self.west, self.north = west, north
        # Centre the map in the area it does not fill.
        self.left = left + (width - span_x * self.scale) / 2
        self.top = top + (height - span_y * self.scale) / 2
        self.width = span_x * self.scale
        self.height = span_y * self.scale

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.left + (lon - self.west) * self.shrink * self.scale
        y = self.top + (self.north - lat) * self.scale
        return round(x, 1), round(y, 1)


def _path(rings: Sequence[Sequence[tuple[float, float]]], project: _Projection) -> str:
    parts: list[str] = []
    for ring in rings:
        points: list[tuple[float, float]] = []
        for lon, lat in ring[:-1]:
            point = project(lon, lat)
            if not points or points[-1] != point:  # several vertices in one tenth of a pixel
                points.append(point)
        if len(points) < 3:
            continue
        head, *rest = points
        parts.append(f"M{head[0]:g},{head[1]:g}L" + " ".join(f"{x:g},{y:g}" for x, y in rest) + "Z")
    return "".join(parts)


def choropleth_svg(
    shapes: Shapes,
    values: Mapping[str, float | None],
    *,
    title: str,
    legend_label: str,
    method: Method = "quantile",
    width: int = 640,
    map_height: int = 560,
    points: Sequence[MapPoint] = (),
    value_format: Callable[[float], str] = format_value,
    no_data: str = "no data",
) -> str:
    """The regions of `shapes` coloured by `values` (region key -> figure, None for unknown;
    a region missing from `values` has no data too), with a legend of the classes and of "no
    data", the source's credit, and `points` marked on top. A key of `values` that names no
    region is a mistake of the caller: UsageError."""
    unknown = sorted(set(values) - set(shapes.features))
    if unknown:
        raise UsageError(f"no region {unknown} on the map {shapes.key}")
    figures = {key: _known(values.get(key)) for key in shapes.features}
    breaks = class_breaks([v for v in figures.values() if v is not None], method=method)
    colours = _colours(len(breaks))

    map_width = width - LEGEND_WIDTH - 2 * MARGIN
    project = _Projection(shapes, map_width, map_height, MARGIN, TITLE_HEIGHT)
    legend_rows = len(breaks) + 1
    height = max(
        TITLE_HEIGHT + math.ceil(project.height) + CREDIT_HEIGHT + MARGIN,
        TITLE_HEIGHT + 40 + 22 * legend_rows + CREDIT_HEIGHT + MARGIN,
    )
    prefix = _slug(shapes.key)
    hatch = f"{prefix}-nodata"
    label = escape(title, quote=True)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'font-family="sans-serif" font-size="12" fill="{TEXT_COLOUR}">',
        f"<title>{escape(title)}</title>",
        "<defs>",
        f'<pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">',
        f'<rect width="6" height="6" fill="{NO_DATA_FILL}"/>',
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{NO_DATA_LINE}" stroke-width="1.5"/>',
        "</pattern>",
        "</defs>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="20" font-size="15" font-weight="bold">{escape(title)}</text>',
        '<g class="regions" stroke-linejoin="round">',
    ]
    for key, rings in shapes.features.items():
        value = figures[key]
        name = escape(shapes.name(key))
        if value is None:
            css, fill, shown, data = "nodata", f"url(#{hatch})", escape(no_data), ""
        else:
            index = class_of(value, breaks)
            css, fill, shown = f"c{index}", colours[index], escape(value_format(value))
            data = f' data-value="{value!r}"'
        parts.append(
            f'<path id="{prefix}-{_slug(key)}" class="region {css}" '
            f'data-region="{escape(key, quote=True)}"{data} fill="{fill}" fill-rule="evenodd" '
            f'stroke="{BORDER_COLOUR}" stroke-width="0.8" d="{_path(rings, project)}">'
            f"<title>{name}: {shown}</title></path>"
        )
    parts.append("</g>")
    if points:
        parts.append('<g class="points">')
        for point in points:
            x, y = project(point.lon, point.lat)
            parts.append(
                f'<circle cx="{x:g}" cy="{y:g}" r="{max(point.radius, 1.0):g}" '
                f'fill="{POINT_COLOUR}" fill-opacity="0.45" stroke="{POINT_COLOUR}">'
                f"<title>{escape(point.label)}</title></circle>"
            )
        parts.append("</g>")
    parts.extend(
        _legend(
            width - LEGEND_WIDTH,
            breaks,
            colours,
            hatch,
            legend_label,
            method,
            value_format,
            no_data,
            figures,
        )
    )
    credit = shapes.source.get("credit") or shapes.source.get("attribution", "")
    parts.append(
        f'<text class="credit" x="{MARGIN}" y="{height - 6}" font-size="9">{escape(credit)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(
    left: int,
    breaks: Sequence[float],
    colours: Sequence[str],
    hatch: str,
    legend_label: str,
    method: Method,
    value_format: Callable[[float], str],
    no_data: str,
    figures: Mapping[str, float | None],
) -> list[str]:
    known = [v for v in figures.values() if v is not None]
    how = "quantiles" if method == "quantile" else "equal intervals"
    parts = [
        f'<g class="legend" transform="translate({left},{TITLE_HEIGHT})">',
        f'<text x="0" y="12" font-weight="bold">{escape(legend_label)}</text>',
        f'<text x="0" y="28" font-size="10">{escape(how)}</text>',
    ]
    low = min(known) if known else 0.0
    for index, (bound, colour) in enumerate(zip(breaks, colours, strict=True)):
        y = 38 + 22 * index
        text = f"{value_format(low)} – {value_format(bound)}"
        parts.append(
            f'<rect class="swatch c{index}" x="0" y="{y}" width="18" height="16" '
            f'fill="{colour}" stroke="#888"/>'
        )
        parts.append(f'<text x="26" y="{y + 12}">{escape(text)}</text>')
        low = bound
    y = 38 + 22 * len(breaks)
    missing = sum(1 for v in figures.values() if v is None)
    parts.append(
        f'<rect class="swatch nodata" x="0" y="{y}" width="18" height="16" '
        f'fill="url(#{hatch})" stroke="#888"/>'
    )
    parts.append(f'<text x="26" y="{y + 12}">{escape(f"{no_data} ({missing})")}</text>')
    parts.append("</g>")
    return parts


__all__ = ["PALETTE", "MapPoint", "choropleth_svg", "class_breaks", "class_of", "format_value"]
