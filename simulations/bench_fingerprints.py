"""Fingerprint matching: the equal error rate on a generated set, and 1:N search at 100,000
enrolled templates (docs/fingerprints.md).

1. `--fingers` synthetic fingers (node/demo/fingerprints.py), each with two slip impressions
   (rolls) and one chance print (partial, distorted, smudged). Every probe (the second roll, the
   chance print) is compared with every enrolled first roll: the genuine and impostor scores
   give the equal error rate (EER), for rolls and for chance prints apart.
2. The gallery: the fingers' first rolls (their minutiae read off the images) and enough
   generated templates to make `--enrolled` (default 100,000). Images cost about a second each
   to grow, so the rest are made without images (`fast_template_minutiae`: minutiae spread over
   a finger's silhouette along a zero-pole orientation field), and their cylinders computed in
   `--jobs` processes (or read from `--cache`, where an earlier run saved them). Each chance
   print and second roll is then searched 1:N (MCC-LSH pre-filter, LSS-R of the shortlist in
   one pass, the best compared again 1:1): rank-1 accuracy, the pre-filter's recall at the
   shortlist the search uses, search time, and the gallery's memory.

The baseline, measured in the same run: one 1:1 comparison (LSS-R) of two templates. The ratio
says how many 1:1 comparisons one 1:N search costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from node.demo import fingerprints as synthetic
from node.records.fingerprints import gallery as fp_gallery
from node.records.fingerprints import mcc
from node.records.fingerprints.minutiae import extract
from node.records.validation import IST
from simulations.chart import bar_chart
from simulations.report import percentile, progress, save_results

SEED = 31


def _finger(number: int) -> tuple[mcc.Cylinders, mcc.Cylinders, mcc.Cylinders]:
    """(first roll, second roll, chance print) cylinders of generated finger `number`."""
    master = synthetic.master_print(SEED, number, 1 + number % 10)
    key = SEED * 1_000_003 + number
    first = synthetic.impression(master, key, number=1)
    second = synthetic.impression(master, key, number=2)
    chance = synthetic.impression(master, key, number=3, chance=True)
    return (
        mcc.cylinders(extract(first)),
        mcc.cylinders(extract(second)),
        mcc.cylinders(extract(chance)),
    )


def _save(path: Path, templates: list[mcc.Cylinders]) -> None:
    np.savez(
        path,
        bits=np.concatenate([t.bits for t in templates]),
        masks=np.concatenate([t.masks for t in templates]),
        minutiae=np.concatenate([t.minutiae for t in templates]),
        counts=np.array([len(t) for t in templates], dtype=np.int64),
    )


def _load(path: Path) -> list[mcc.Cylinders]:
    with np.load(path) as saved:
        bits, masks, minutiae = saved["bits"], saved["masks"], saved["minutiae"]
        ends = np.cumsum(saved["counts"])
    return [
        mcc.Cylinders(bits[start:end], masks[start:end], minutiae[start:end])
        for start, end in zip(np.concatenate([[0], ends[:-1]]), ends, strict=True)
    ]


def _cached(
    cache: Path | None, name: str, make: Callable[[], list[mcc.Cylinders]]
) -> list[mcc.Cylinders]:
    """`make()`, or what an earlier run with the same `--cache` saved of it: the fingers and
    the generated templates are deterministic from SEED, so a cache only saves time."""
    if cache is None:
        return make()
    path = cache / f"fp-{name}.npz"
    if path.exists():
        return _load(path)
    made = make()
    cache.mkdir(parents=True, exist_ok=True)
    _save(path, made)
    return made


def _fast_cylinders(numbers: range) -> list[mcc.Cylinders]:
    return [
        mcc.cylinders(synthetic.fast_template_minutiae(SEED + 1, n, 1 + n % 10)) for n in numbers
    ]


def equal_error_rate(
    genuine: np.ndarray[Any, Any], impostor: np.ndarray[Any, Any]
) -> tuple[float, float]:
    """(EER, threshold): where the false non-match rate meets the false match rate."""
    best = (1.0, 0.0)
    for threshold in np.unique(np.concatenate([genuine, impostor])):
        fnmr = float(np.mean(genuine < threshold))
        fmr = float(np.mean(impostor >= threshold))
        gap = abs(fnmr - fmr)
        if gap < best[0]:
            best = (gap, float(threshold))
            eer = (fnmr + fmr) / 2
    return eer, best[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fingers", type=int, default=100, help="fingers drawn as images")
    parser.add_argument(
        "--enrolled", type=int, default=100_000, help="templates in the 1:N gallery"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes computing the gallery")
    parser.add_argument("--out", default="bench-out/fingerprints.json")
    parser.add_argument(
        "--cache",
        type=Path,
        help="a folder to keep the fingers' and generated templates' cylinders in between runs",
    )
    args = parser.parse_args(argv)

    def draw() -> list[mcc.Cylinders]:
        drawn: list[mcc.Cylinders] = []
        for number in range(args.fingers):
            drawn.extend(_finger(number))
            progress("fingers drawn", number + 1, args.fingers)
        return drawn

    started = time.perf_counter()
    impressions = _cached(args.cache, f"fingers-{args.fingers}", draw)
    fingers = [tuple(impressions[i : i + 3]) for i in range(0, len(impressions), 3)]
    drawn_s = time.perf_counter() - started
    firsts = [f[0] for f in fingers]

    # The baseline: one 1:1 comparison.
    one_to_one = []
    scores: dict[str, np.ndarray[Any, Any]] = {}
    for probe_kind, column in (("roll", 1), ("chance", 2)):
        matrix = np.zeros((args.fingers, args.fingers))
        for i, finger in enumerate(fingers):
            for j, enrolled in enumerate(firsts):
                t = time.perf_counter()
                matrix[i, j] = mcc.score(finger[column], enrolled)
                one_to_one.append(time.perf_counter() - t)
        scores[probe_kind] = matrix
    eers = {}
    for probe_kind, matrix in scores.items():
        genuine = np.diag(matrix)
        impostor = matrix[~np.eye(len(matrix), dtype=bool)]
        eer, threshold = equal_error_rate(genuine, impostor)
        eers[probe_kind] = {
            "eer": eer,
            "threshold": threshold,
            "genuine_median": float(np.median(genuine)),
            "impostor_p99": float(np.percentile(impostor, 99)),
            "impostor_max": float(impostor.max()),
        }

    # The 1:N gallery.
    gallery = fp_gallery.Gallery()
    for number, first in enumerate(firsts):
        gallery.add(f"finger:{number}", first)
    rest = max(0, args.enrolled - args.fingers)

    def generate() -> list[mcc.Cylinders]:
        chunk = 2_000
        ranges = [range(start, min(start + chunk, rest)) for start in range(0, rest, chunk)]
        made: list[mcc.Cylinders] = []
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for cylinders in pool.map(_fast_cylinders, ranges):
                made.extend(cylinders)
                progress("templates generated", len(made), rest)
        return made

    t = time.perf_counter()
    for n, cyl in enumerate(_cached(args.cache, f"generated-{rest}", generate)):
        gallery.add(f"generated:{n}", cyl)
    generated_s = time.perf_counter() - t
    t = time.perf_counter()
    gallery.prefilter(firsts[0])  # builds the hash tables
    indexed_s = time.perf_counter() - t

    search_ms: dict[str, list[float]] = {"roll": [], "chance": []}
    rank1 = {"roll": 0, "chance": 0}
    shortlisted = {"roll": 0, "chance": 0}
    shortlist_sizes: dict[str, list[int]] = {"roll": [], "chance": []}
    for number, finger in enumerate(fingers):
        for probe_kind, column in (("roll", 1), ("chance", 2)):
            t = time.perf_counter()
            found = gallery.search(finger[column], limit=1)
            search_ms[probe_kind].append((time.perf_counter() - t) * 1000)
            rank1[probe_kind] += bool(found) and found[0].key == f"finger:{number}"
            shortlist = gallery.prefilter(finger[column])
            shortlisted[probe_kind] += number in shortlist.tolist()
            shortlist_sizes[probe_kind].append(len(shortlist))
        progress("searches", number + 1, args.fingers)

    match_ms = float(np.median(one_to_one)) * 1000
    result: dict[str, Any] = {
        "when": datetime.now(IST).isoformat(),
        "fingers": args.fingers,
        "enrolled": len(gallery),
        "eer_roll": eers["roll"],
        "eer_chance": eers["chance"],
        "match_1to1_p50_ms": match_ms,
        "drawn_s": drawn_s,
        "generated_s": generated_s,
        "indexed_s": indexed_s,
        "gallery_mb": gallery.nbytes() / 1e6,
    }
    for kind in ("roll", "chance"):
        result[f"search_{kind}_p50_ms"] = percentile(search_ms[kind], 50)
        result[f"search_{kind}_p99_ms"] = percentile(search_ms[kind], 99)
        result[f"rank1_{kind}"] = rank1[kind] / args.fingers
        result[f"shortlist_recall_{kind}"] = shortlisted[kind] / args.fingers
        result[f"shortlist_{kind}_p50"] = percentile([float(n) for n in shortlist_sizes[kind]], 50)
        result[f"ratio_{kind}_p50"] = result[f"search_{kind}_p50_ms"] / match_ms
    lines = [
        f"\nfingerprints: {args.fingers} generated fingers, {len(gallery):,} enrolled templates"
    ]
    for kind, what in (("roll", "roll vs roll"), ("chance", "chance vs roll")):
        e = eers[kind]
        lines.append(f"  EER {what:<20} {e['eer'] * 100:6.2f} %  (threshold {e['threshold']:.3f})")
    lines.append(f"  1:1 comparison (base)    p50 {match_ms:7.2f} ms")
    for kind, what in (("chance", "chance print"), ("roll", "second roll")):
        lines.append(
            f"  1:N {what:<20} p50 {result[f'search_{kind}_p50_ms']:7.1f} ms  "
            f"p99 {result[f'search_{kind}_p99_ms']:7.1f} ms  "
            f"({result[f'ratio_{kind}_p50']:.0f}x 1:1)  "
            f"rank-1 {result[f'rank1_{kind}'] * 100:5.1f} %  "
            f"shortlist recall {result[f'shortlist_recall_{kind}'] * 100:5.1f} % "
            f"(of {result[f'shortlist_{kind}_p50']:.0f})"
        )
    lines.append(
        f"  gallery: {generated_s:.0f} s to generate, {indexed_s:.1f} s to index, "
        f"{result['gallery_mb']:.0f} MB of arrays"
    )
    print("\n".join(lines))
    save_results(result, args.out, _chart)
    return 0


def _chart(r: dict[str, Any]) -> str:
    bars = [("1:1 comparison p50", r["match_1to1_p50_ms"], f"{r['match_1to1_p50_ms']:.2f} ms")]
    for kind, what in (("chance", "chance print"), ("roll", "second roll")):
        p50, p99 = r[f"search_{kind}_p50_ms"], r[f"search_{kind}_p99_ms"]
        text = f"{p99:.0f} ms (p50 {p50:.0f}), rank-1 {r[f'rank1_{kind}'] * 100:.0f} %"
        bars.append((f"1:N {what} p99", p99, text))
    return bar_chart(f"Fingerprint search, {r['enrolled']:,} enrolled", bars)


if __name__ == "__main__":
    sys.exit(main())
