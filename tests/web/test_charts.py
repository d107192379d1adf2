"""The SVG charts (`node.web.charts`): labels are escaped, an empty chart says so."""

from __future__ import annotations

from xml.etree import ElementTree

from node.web import charts


def test_charts_escape_their_labels() -> None:
    svg = charts.bar_chart("<b>t</b>", [("<script>alert(1)</script>", 3.0), ("b & c", 0.0)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "b &amp; c" in svg
    line = charts.line_chart("t", [("2026-01", 1.0), ("<x>", 4.0)])
    assert "<x>" not in line and "&lt;x&gt;" in line
    assert charts.line_chart("t", []).count("<polyline") == 0
    assert "no data" in charts.bar_chart("t", [])


def test_sparkline_draws_one_point_per_value_and_escapes_its_title() -> None:
    svg = charts.sparkline("Theft <& co>", [3.0, 0.0, 7.0, 5.0])
    root = ElementTree.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    (line,) = root.findall("s:polyline", ns)
    points = [tuple(map(float, p.split(","))) for p in line.attrib["points"].split()]
    assert len(points) == 4
    assert points[2][1] < points[0][1] < points[1][1]  # 7 highest (smallest y), 0 at the bottom
    assert root.find("s:title", ns).text == "Theft <& co>"  # type: ignore[union-attr]
