"""The simulator's report: its figures, as text for the terminal and as HTML with SVG charts.

Every figure is measured in the run (simulated seconds unless it says "wall"); the invariants
(records lost, duplicated, replicas that fail to verify, equivocations missed, outages not
caught up) are listed in `problems`, and `ok` is True only when there are none.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from simulations.chart import bar_chart
from simulations.report import percentile


@dataclass(frozen=True, slots=True)
class Stats:
    """A distribution of values (seconds, unless named otherwise)."""

    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        if not values:
            return cls()
        return cls(
            count=len(values),
            mean=sum(values) / len(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            max=max(values),
        )


@dataclass(slots=True)
class EquivocationResult:
    """One office that signed two histories, and when (and by whom) it was caught."""

    node: str
    at: float
    detected_at: float | None = None
    detected_by: str = ""

    @property
    def time_to_detect(self) -> float | None:
        return None if self.detected_at is None else self.detected_at - self.at


@dataclass(slots=True)
class OutageResult:
    """One outage: what was cut, how long, how much the offices wrote meanwhile, and when the
    replicas behind it had everything written up to the moment it ended."""

    kind: str
    target: str
    start: float
    end: float
    written_during: int = 0
    offices: int = 0
    caught_up_at: float | None = None

    @property
    def catch_up(self) -> float | None:
        return None if self.caught_up_at is None else max(0.0, self.caught_up_at - self.end)


@dataclass(slots=True)
class Report:
    """What one simulated run measured. `problems` lists every invariant that failed."""

    scenario: str
    days: float
    seed: int
    store: str
    scale: float
    index_enabled: bool = False
    offices: dict[str, int] = field(default_factory=dict)
    entries_written: int = 0
    entries_total: int = 0
    lag: dict[str, Stats] = field(default_factory=dict)
    fanout_latency: Stats = field(default_factory=Stats)
    searches: int = 0
    fanout_asked: int = 0
    fanout_answered: int = 0
    bytes_per_link_day: dict[str, float] = field(default_factory=dict)
    top_links: list[tuple[str, float]] = field(default_factory=list)
    messages: int = 0
    lost: int = 0
    lost_with_disk: int = 0
    duplicated: int = 0
    replicas_checked: int = 0
    replicas_verified: int = 0
    replicas_failed: list[str] = field(default_factory=list)
    equivocations: list[EquivocationResult] = field(default_factory=list)
    outages: list[OutageResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    wall_seconds: float = 0.0
    sim_seconds: float = 0.0
    cpu_seconds: float = 0.0
    # A run split over processes (simulations/sim/parts.py): how many, and what each ran.
    # Then `peak_rss_mb` is the sum of the parts' peaks and `cpu_seconds` the sum of their CPU.
    jobs: int = 1
    parts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """Plain data (for `--json` and the bench)."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def render_text(report: Report) -> str:
    """The report as the terminal shows it."""
    lines = [
        f"simulation {report.scenario}: {report.days:g} simulated day(s), seed {report.seed}, "
        f"store {report.store}, scale {report.scale:g}, "
        f"index {'on' if report.index_enabled else 'off'}",
        "offices: " + ", ".join(f"{count} {role}" for role, count in report.offices.items()),
        f"entries written by the workload: {report.entries_written:,}; in every log "
        f"(audits included): {report.entries_total:,}",
        "",
        "replication lag (entry written -> verified in the replica):",
    ]
    for label, stats in report.lag.items():
        lines.append(
            f"  {label:<28} p50 {_duration(stats.p50):>9}  p95 {_duration(stats.p95):>9}  "
            f"max {_duration(stats.max):>9}  ({stats.count:,} commits)"
        )
    f = report.fanout_latency
    answered = report.fanout_answered / report.fanout_asked if report.fanout_asked else 0.0
    lines += [
        "",
        f"fan-out searches: {report.searches:,}; latency p50 {_duration(f.p50)}, "
        f"p95 {_duration(f.p95)}, p99 {_duration(f.p99)}; offices answered "
        f"{report.fanout_answered:,}/{report.fanout_asked:,} ({answered:.1%})",
        "",
        "bytes per link per day (mean over the links of each kind):",
    ]
    for label, value in report.bytes_per_link_day.items():
        lines.append(f"  {label:<28} {_bytes(value):>12}")
    lines += [
        f"messages carried: {report.messages:,}",
        "",
        f"records lost: {report.lost} (must be 0); lost with a disk restored from an old "
        f"backup, never replicated: {report.lost_with_disk}",
        f"records duplicated: {report.duplicated} (must be 0)",
        f"replicas verified: {report.replicas_verified}/{report.replicas_checked}",
    ]
    if report.equivocations:
        lines.append("equivocations:")
        for eq in report.equivocations:
            caught = (
                f"caught by {eq.detected_by} after {_duration(eq.time_to_detect)}"
                if eq.detected_at is not None
                else "NOT caught"
            )
            lines.append(f"  {eq.node} at {_duration(eq.at)}: {caught}")
    if report.outages:
        lines.append("outages (offices kept working; catch-up after the link returned):")
        for out in report.outages:
            lines.append(
                f"  {out.kind:<15} {out.target:<36} {_duration(out.end - out.start):>9}: "
                f"{out.written_during:,} entries written by {out.offices} office(s) meanwhile, "
                f"caught up in {_duration(out.catch_up)}"
            )
    lines += [
        "",
        f"wall time {report.wall_seconds:.1f} s for {_duration(report.sim_seconds)} simulated; "
        f"CPU {report.cpu_seconds:.1f} s; peak memory {report.peak_rss_mb:.0f} MiB"
        + (" (the sum of the parts' peaks)" if report.jobs > 1 else ""),
    ]
    if report.jobs > 1:
        lines.append(
            f"ran in {report.jobs} parts, each in a process of its own (CPU summed over them):"
        )
        lines += [f"  {part}" for part in report.parts]
    lines += [f"note: {note}" for note in report.notes]
    if report.problems:
        lines.append("PROBLEMS:")
        lines += [f"  {problem}" for problem in report.problems]
    else:
        lines.append("every invariant holds")
    return "\n".join(lines) + "\n"


def render_html(report: Report) -> str:
    """The report as one HTML page with inline SVG charts."""
    charts = []
    if report.lag:
        charts.append(
            bar_chart(
                "Replication lag p95 by level (seconds)",
                [(label, s.p95, _duration(s.p95)) for label, s in report.lag.items()],
            )
        )
        charts.append(
            bar_chart(
                "Replication lag max by level (seconds)",
                [(label, s.max, _duration(s.max)) for label, s in report.lag.items()],
            )
        )
    if report.bytes_per_link_day:
        charts.append(
            bar_chart(
                "Bytes per link per day",
                [(label, v, _bytes(v)) for label, v in report.bytes_per_link_day.items()],
            )
        )
    f = report.fanout_latency
    if f.count:
        charts.append(
            bar_chart(
                "Fan-out search latency (seconds)",
                [
                    (name, value, _duration(value))
                    for name, value in (
                        ("p50", f.p50),
                        ("p95", f.p95),
                        ("p99", f.p99),
                        ("max", f.max),
                    )
                ],
            )
        )
    if report.outages:
        charts.append(
            bar_chart(
                "Catch-up after each outage (seconds)",
                [
                    (f"{o.kind} {o.target}"[:40], o.catch_up or 0.0, _duration(o.catch_up))
                    for o in report.outages
                ],
            )
        )
    detected = [e for e in report.equivocations if e.time_to_detect is not None]
    if detected:
        charts.append(
            bar_chart(
                "Time to detect each equivocation (seconds)",
                [
                    (e.node[:40], e.time_to_detect or 0.0, _duration(e.time_to_detect))
                    for e in detected
                ],
            )
        )
    status = "every invariant holds" if report.ok else "PROBLEMS: " + "; ".join(report.problems)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>cctns simulation: {escape(report.scenario)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1000px}"
        "pre{background:#f5f5f5;padding:1em;overflow-x:auto}"
        ".ok{color:#1e7b34}.bad{color:#c0392b}</style></head><body>"
        f"<h1>Simulation: {escape(report.scenario)}</h1>"
        f"<p class='{'ok' if report.ok else 'bad'}'><strong>{escape(status)}</strong></p>"
        + "".join(f"<div>{chart}</div>" for chart in charts)
        + f"<h2>Report</h2><pre>{escape(render_text(report))}</pre></body></html>\n"
    )
