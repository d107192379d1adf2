"""`make bench`: face search (docs/photos.md) at 100,000 enrolled photos, beside baselines
measured in the same run.

Measured:
- embedding time p50/p99: detection, alignment and dlib's ResNet embedding of one probe photo
  (the cost every face search pays before it looks anything up);
- search time p50/p99 of the HNSW index (`node.index.faces.FaceGallery`, hnswlib) over
  `--enrolled` embeddings, beside an exact brute-force scan with numpy over the same vectors
  (the baseline);
- accuracy: `--identities` synthetic faces (`node.demo.faces`) enrolled by photo 0 and searched
  by photo 1, both through the full pipeline: the share whose own photo ranks first (rank-1)
  and in the top 10, by the index and by the exact scan.

The other enrolled photos: embedding 100,000 images takes hours on two cores, so the distractors
are drawn from a normal distribution fitted (mean, covariance shrunk 30% to its diagonal) to
the model's embeddings of `--fit` further synthetic faces, each photographed once. They are as
spread as the model's embeddings of different synthetic faces; real different people lie
farther apart than synthetic ones made from one face, so accuracy on real photos is not lower
for the distractors' sake.

Results are also written to bench-out/faces.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from node.demo import faces as synthetic
from node.index.faces import EMBEDDING_DIM, FaceGallery, FaceModel, FaceNotFound, FacePhoto
from node.records.validation import IST
from simulations.chart import bar_chart
from simulations.report import percentile, progress, save_results

Vectors = npt.NDArray[np.float32]


def embed_people(
    model: FaceModel, start: int, count: int, photos: tuple[int, ...], what: str
) -> tuple[list[int], list[Vectors], list[float]]:
    """Embeddings of `photos` of the first `count` synthetic people from `start` whose photos
    all show a face: (numbers, one array per photo number, seconds per embedding)."""
    numbers: list[int] = []
    found: list[list[npt.NDArray[np.float32]]] = [[] for _ in photos]
    seconds: list[float] = []
    number = start
    while len(numbers) < count:
        person = synthetic.identity(number)
        number += 1
        images = [synthetic.photo_jpeg(person, p) for p in photos]
        try:
            vectors = []
            for image in images:
                began = time.perf_counter()
                vectors.append(model.embed(image))
                seconds.append(time.perf_counter() - began)
        except FaceNotFound:
            continue
        numbers.append(person.number)
        for slot, vector in zip(found, vectors, strict=True):
            slot.append(vector)
        progress(f"  {what}", len(numbers), count)
    return numbers, [np.stack(slot).astype(np.float32) for slot in found], seconds


def distractors(fit: Vectors, count: int, seed: int = 11) -> Vectors:
    mean = fit.mean(axis=0)
    covariance = np.cov(fit, rowvar=False)
    covariance = 0.7 * covariance + 0.3 * np.diag(np.diag(covariance))
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(mean, covariance, count).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enrolled", type=int, default=100_000)
    parser.add_argument("--identities", type=int, default=150)
    parser.add_argument("--fit", type=int, default=100)
    parser.add_argument("--out", default="bench-out/faces.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"when": datetime.now(IST).isoformat(), "enrolled": args.enrolled}
    model = FaceModel.shared()
    print(f"embedding {args.identities} probe identities (2 photos each) ...", file=sys.stderr)
    numbers, (mates, probes), seconds = embed_people(model, 0, args.identities, (0, 1), "probes")
    print(f"embedding {args.fit} further faces to fit the distractors to ...", file=sys.stderr)
    _, (fit,), more = embed_people(model, 100_000, args.fit, (0,), "fit")
    seconds += more
    results["embed_p50_ms"] = percentile(seconds, 50) * 1000
    results["embed_p99_ms"] = percentile(seconds, 99) * 1000
    others = distractors(fit, args.enrolled - len(numbers))
    vectors = np.vstack([mates, others]).astype(np.float32)
    assert vectors.shape == (args.enrolled, EMBEDDING_DIM)
    photos = [FacePhoto("bench", i, "", "", "", "arrest", "") for i in range(args.enrolled)]
    print(f"indexing {args.enrolled:,} embeddings ...", file=sys.stderr)
    gallery = FaceGallery(model=model, capacity=args.enrolled)
    began = time.perf_counter()
    for start in range(0, args.enrolled, 10_000):
        gallery.add_vectors(photos[start : start + 10_000], vectors[start : start + 10_000])
        progress("  indexed", min(start + 10_000, args.enrolled), args.enrolled)
    results["index_build_s"] = time.perf_counter() - began

    # The baseline: an exact scan as fast as numpy makes it (squared norms computed once, one
    # matrix-vector product a query), not a loop.
    norms = np.einsum("ij,ij->i", vectors, vectors)
    index_ms: list[float] = []
    scan_ms: list[float] = []
    rank1 = top10 = exact_rank1 = exact_top10 = 0
    for position, probe in enumerate(probes):
        began = time.perf_counter()
        matches = gallery.search(probe, 10)
        index_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        distances = norms - 2 * (vectors @ probe) + float(probe @ probe)
        nearest = np.argpartition(distances, 10)[:10]
        nearest = nearest[np.argsort(distances[nearest])]
        scan_ms.append((time.perf_counter() - began) * 1000)
        found = [m.photo.index for m in matches]
        rank1 += found[0] == position
        top10 += position in found
        exact_rank1 += int(nearest[0]) == position
        exact_top10 += position in {int(n) for n in nearest}
    asked = len(probes)
    results.update(
        {
            "identities": asked,
            "index_p50_ms": percentile(index_ms, 50),
            "index_p99_ms": percentile(index_ms, 99),
            "scan_p50_ms": percentile(scan_ms, 50),
            "scan_p99_ms": percentile(scan_ms, 99),
            "rank1": rank1 / asked,
            "top10": top10 / asked,
            "exact_rank1": exact_rank1 / asked,
            "exact_top10": exact_top10 / asked,
        }
    )
    results["scan_p99_over_index_p99"] = results["scan_p99_ms"] / results["index_p99_ms"]
    _report(results)
    save_results(results, args.out, _chart)
    return 0


def _chart(r: dict[str, Any]) -> str:
    return bar_chart(
        f"Face search over {r['enrolled']:,} photos (p99, ms)",
        [
            ("embedding one probe photo", r["embed_p99_ms"], f"{r['embed_p99_ms']:.0f} ms"),
            ("brute-force scan (baseline)", r["scan_p99_ms"], f"{r['scan_p99_ms']:.2f} ms"),
            ("HNSW index", r["index_p99_ms"], f"{r['index_p99_ms']:.2f} ms"),
        ],
    )


def _report(r: dict[str, Any]) -> None:
    print("\n== face search benchmark ==")
    print(f"photos enrolled                      {r['enrolled']:10,}")
    print(f"index build (hnswlib)                {r['index_build_s']:10.1f} s")
    print(
        f"embedding a probe: p50 {r['embed_p50_ms']:.0f} ms, p99 {r['embed_p99_ms']:.0f} ms "
        "(detection, alignment, ResNet embedding)"
    )
    print(
        f"lookup: HNSW p50 {r['index_p50_ms']:.3f} ms, p99 {r['index_p99_ms']:.3f} ms; "
        f"brute-force scan p50 {r['scan_p50_ms']:.2f} ms, p99 {r['scan_p99_ms']:.2f} ms "
        f"(scan/HNSW at p99: {r['scan_p99_over_index_p99']:.0f}x)"
    )
    print(
        f"accuracy over {r['identities']} probes: rank-1 {r['rank1']:.1%}, top-10 "
        f"{r['top10']:.1%} (exact scan: rank-1 {r['exact_rank1']:.1%}, top-10 "
        f"{r['exact_top10']:.1%})"
    )


if __name__ == "__main__":
    sys.exit(main())
