"""The benchmark's SVG chart is well-formed and draws bars to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from simulations.chart import BAR_WIDTH, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_chart_bars_are_to_scale_and_labels_escaped() -> None:
    svg = bar_chart(
        "Appends <vs> signs", [("a & b", 1.0, "100/s"), ("c", 0.25, "25/s")], target=0.5
    )
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#3b6ea8"]
    widths = [float(r.get("width", "0")) for r in bars]
    assert widths == [BAR_WIDTH, BAR_WIDTH / 4]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Appends <vs> signs" in texts and "a & b" in texts
    (line,) = root.iter(f"{SVG}line")
    assert float(line.get("x1", "0")) == float(line.get("x2", "1"))
