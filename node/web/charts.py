"""Small, dependency-free SVG charts for the dashboards: drawn on the server, no script.

In the spirit of `simulations/chart.py`: a chart is a string of SVG that a page embeds inline
(and prints). Every text that goes into the SVG is escaped here, so a label can never carry
markup into the page. Each chart has a <title> and an aria-label for screen readers, and the
page offers the same numbers as a table and a CSV download.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

ROW = 24
BAR_LABEL_WIDTH = 260
BAR_WIDTH = 360
BAR_COLOUR = "#3b6ea8"
LINE_COLOUR = "#1f4e8c"
GRID_COLOUR = "#d5dbe3"
TEXT_COLOUR = "#1d2733"


def _open(width: int, height: int, title: str) -> list[str]:
    label = escape(title, quote=True)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'font-family="sans-serif" font-size="12" fill="{TEXT_COLOUR}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, empty: str = "no data") -> str:
    """Labelled horizontal bars, one per (label, value), longest scaled to the full width."""
    rows = max(len(bars), 1)
    width = BAR_LABEL_WIDTH + BAR_WIDTH + 70
    height = 20 + ROW * rows + 10
    parts = _open(width, height, title)
    if not bars:
        parts.append(f'<text x="10" y="{20 + ROW // 2}">{escape(empty)}</text>')
    peak = max((value for _, value in bars), default=0.0) or 1.0
    for row, (label, value) in enumerate(bars):
        y = 14 + row * ROW
        length = max(1.0, BAR_WIDTH * value / peak) if value > 0 else 0.0
        shown = label if len(label) <= 38 else label[:37] + "…"
        parts.append(f'<text x="10" y="{y + 14}">{escape(shown)}</text>')
        parts.append(
            f'<rect x="{BAR_LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW - 8}" '
            f'fill="{BAR_COLOUR}"/>'
        )
        parts.append(
            f'<text x="{BAR_LABEL_WIDTH + length + 6:.1f}" y="{y + 14}">{_number(value)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(
    title: str,
    points: Sequence[tuple[str, float]],
    *,
    width: int = 680,
    height: int = 260,
    empty: str = "no data",
) -> str:
    """A line through (label, value) points at equal steps, with a zero-based y axis, grid
    lines at quarters of the peak, each point marked and valued, and every label on the x axis."""
    left, right, top, bottom = 48, 16, 20, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _open(width, height, title)
    if not points:
        parts.append(f'<text x="{left}" y="{top + plot_h // 2}">{escape(empty)}</text>')
        parts.append("</svg>")
        return "\n".join(parts)
    peak = max(value for _, value in points)
    scale_top = peak if peak > 0 else 1.0
    for quarter in range(5):
        value = scale_top * quarter / 4
        y = top + plot_h - plot_h * quarter / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{GRID_COLOUR}"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(round(value, 1))}'
            "</text>"
        )
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0
    coords: list[tuple[float, float]] = []
    for i, (_, value) in enumerate(points):
        x = left + (step * i if len(points) > 1 else plot_w / 2)
        y = top + plot_h - plot_h * value / scale_top
        coords.append((x, y))
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    for (x, y), (label, value) in zip(coords, points, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE_COLOUR}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle">{_number(value)}</text>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def sparkline(title: str, values: Sequence[float], *, width: int = 120, height: int = 28) -> str:
    """A small line of `values` at equal steps, zero at the bottom, the last point marked: one
    row's trend beside its numbers in a table."""
    parts = _open(width, height, title)
    if len(values) < 2:
        parts.append("</svg>")
        return "\n".join(parts)
    peak = max(values) or 1.0
    step = (width - 6) / (len(values) - 1)
    coords = [(3 + step * i, height - 3 - (height - 6) * v / peak) for i, v in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(
        f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5"/>'
    )
    x, y = coords[-1]
    parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE_COLOUR}"/>')
    parts.append("</svg>")
    return "\n".join(parts)


__all__ = ["bar_chart", "line_chart", "sparkline"]
