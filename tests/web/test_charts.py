"""The SVG charts (`node.web.charts`): labels are escaped, an empty chart says so."""

from __future__ import annotations

from node.web import charts


def test_charts_escape_their_labels() -> None:
    svg = charts.bar_chart("<b>t</b>", [("<script>alert(1)</script>", 3.0), ("b & c", 0.0)])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "b &amp; c" in svg
    line = charts.line_chart("t", [("2026-01", 1.0), ("<x>", 4.0)])
    assert "<x>" not in line and "&lt;x&gt;" in line
    assert charts.line_chart("t", []).count("<polyline") == 0
    assert "no data" in charts.bar_chart("t", [])
