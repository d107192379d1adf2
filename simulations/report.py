"""What every benchmark reports: its figures (rates, percentiles) and where its results go.

Each benchmark (`simulations/bench*.py`) prints its own report, then `save_results` writes the
results as JSON (`--out`) and the chart beside them as SVG, and says where both are.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def per_second(count: int, seconds: float) -> float:
    """Per second (infinite when no time was measured)."""
    return count / seconds if seconds > 0 else float("inf")


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank `pct`th percentile of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def save_results(results: dict[str, Any], out: str, chart: Callable[[dict[str, Any]], str]) -> None:
    """Writes `results` to `out` (JSON) and `chart(results)` beside it (.svg); prints both."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    svg = path.with_suffix(".svg")
    svg.write_text(chart(results))
    print(f"\nresults: {path}, chart: {svg}")


def progress(what: str, done: int, total: int) -> None:
    """`what done/total` over itself on stderr, when stderr is a terminal (silent otherwise)."""
    if sys.stderr.isatty():
        end = "\n" if done >= total else "\r"
        print(f"{what} {done:,}/{total:,}", file=sys.stderr, end=end, flush=True)
