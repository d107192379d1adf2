"""Small, dependency-free SVG charts for benchmark and simulation results.

Benchmarks print their numbers; a chart shows the ratios at a glance (bench-out/*.svg opens in
any browser). Only horizontal bar charts for now.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

ROW = 26
LABEL_WIDTH = 300
BAR_WIDTH = 420


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float, str]],
    *,
    target: float | None = None,
    target_label: str = "target",
) -> str:
    """An SVG of labelled horizontal bars: (label, value, value text). A dashed line marks
    `target` when given (on the same scale as the values)."""
    peak = max([value for _, value, _ in bars] + [target or 0.0]) or 1.0
    height = 50 + ROW * len(bars) + (20 if target is not None else 0)
    width = LABEL_WIDTH + BAR_WIDTH + 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for row, (label, value, text) in enumerate(bars):
        y = 40 + row * ROW
        length = max(1.0, BAR_WIDTH * value / peak)
        parts.append(f'<text x="10" y="{y + 15}">{escape(label)}</text>')
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW - 8}" '
            'fill="#3b6ea8"/>'
        )
        parts.append(f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{escape(text)}</text>')
    if target is not None:
        x = LABEL_WIDTH + BAR_WIDTH * target / peak
        bottom = 40 + ROW * len(bars)
        parts.append(
            f'<line x1="{x:.1f}" y1="34" x2="{x:.1f}" y2="{bottom}" stroke="#c0392b" '
            'stroke-dasharray="5,4"/>'
        )
        parts.append(
            f'<text x="{x + 4:.1f}" y="{bottom + 14}" fill="#c0392b">{escape(target_label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
