"""Regenerate node/records/geography/data/*.json from DataMeet's published boundaries.

Run by hand, never at run time: `python -m simulations.build_geography`. It reads the two
source files out of local snapshots of their GitHub repositories (bare git directories, e.g.
the ones the project's `fetch` tool leaves under /work/.mirror/), at a pinned commit, so a
rebuild gives byte-identical output. Standard library only.

Why these files and not the Census 2011 district and state shapefiles of datameet/maps: the
snapshot of that repository on the build machine lacks the large blobs (every *.shp with the
geometry, Districts/Census_2011/2011_Dist.shp and States/Admin2.shp among them, and
docs/data/geojson/{states,dists11}.geojson); only their attribute tables (*.dbf) are there. So:

- Kerala's districts are dissolved from DataMeet's Kerala village boundaries
  (datameet/indian_village_boundaries, docs/minified_maps/kl_simplified.json: 1,533 villages
  and towns, each with its DISTRICT; ODbL). Villages nest in districts, so the union of a
  district's villages is the district.
- India's states and union territories are dissolved from the 2019 parliamentary constituencies
  (datameet/maps, parliamentary-constituencies/india_pc_2019_simplified.geojson; CC0). Every
  constituency lies in one state, so the union of a state's constituencies is the state.
  The Ladakh constituency is exactly the Ladakh union territory (Leh and Kargil districts), so
  it is split from Jammu and Kashmir; Dadra and Nagar Haveli and Daman and Diu (one union
  territory since 2020) are joined.

How the dissolve works: both sources are topological (a boundary between two neighbours is the
same vertices in both), which this script checks. Each polygon's edges are oriented (outer
rings anticlockwise, holes clockwise); an edge shared by two members of one group appears once
each way and cancels; what is left are the group's boundary edges, chained back into rings.

How it is simplified: Douglas-Peucker on each boundary *arc* (a run of edges between junctions,
where the neighbour across the boundary changes), each arc simplified once and reused by both
neighbours, so simplification opens no gaps or overlaps between regions. Coordinates are
rounded to 3 decimals (about 110 m) afterwards, and rings that collapse are dropped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Point = tuple[float, float]
Ring = list[Point]

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "node" / "records" / "geography" / "data"
SCENARIO = ROOT / "simulations" / "scenarios" / "india.toml"
MIRRORS = Path("/work/.mirror")

MAPS_REPO = "datameet/maps"
MAPS_COMMIT = "b3fbbde595310b397a55d718e0958ce249a4fa1f"
PC_PATH = "parliamentary-constituencies/india_pc_2019_simplified.geojson"
VILLAGES_REPO = "datameet/indian_village_boundaries"
VILLAGES_COMMIT = "85060b611724af4d9def71e16b1aa0de941fa6f2"
VILLAGES_PATH = "docs/minified_maps/kl_simplified.json"
RETRIEVED = "2026-12-01"

KERALA_TOLERANCE = 0.004  # degrees: about 440 m, under a pixel on a 600-pixel-high map
INDIA_TOLERANCE = 0.02  # degrees: about 2 km, under a pixel on a 700-pixel-high map
INDIA_LEAST_RING = 0.0005  # square degrees, about 6 km2: a quarter of a pixel on that map
DECIMALS = 3

# Constituency file state names -> the project's state node ids (simulations/scenarios/india.toml).
PC_STATES = {
    "Andaman & Nicobar": "andaman-nicobar",
    "Andhra Pradesh": "andhra-pradesh",
    "Arunachal Pradesh": "arunachal-pradesh",
    "Assam": "assam",
    "Bihar": "bihar",
    "Chandigarh": "chandigarh",
    "Chhattisgarh": "chhattisgarh",
    "Dadra & Nagar Haveli": "dnh-daman-diu",
    "Daman & Diu": "dnh-daman-diu",
    "Delhi": "delhi",
    "Goa": "goa",
    "Gujarat": "gujarat",
    "Haryana": "haryana",
    "Himachal Pradesh": "himachal-pradesh",
    "Jammu & Kashmir": "jammu-kashmir",
    "Jharkhand": "jharkhand",
    "Karnataka": "karnataka",
    "Kerala": "kerala",
    "Lakshadweep": "lakshadweep",
    "Madhya Pradesh": "madhya-pradesh",
    "Maharashtra": "maharashtra",
    "Manipur": "manipur",
    "Meghalaya": "meghalaya",
    "Mizoram": "mizoram",
    "Nagaland": "nagaland",
    "Orissa": "odisha",
    "Puducherry": "puducherry",
    "Punjab": "punjab",
    "Rajasthan": "rajasthan",
    "Sikkim": "sikkim",
    "Tamil Nadu": "tamil-nadu",
    "Telangana": "telangana",
    "Tripura": "tripura",
    "Uttar Pradesh": "uttar-pradesh",
    "Uttarakhand": "uttarakhand",
    "West Bengal": "west-bengal",
}
LADAKH_CONSTITUENCY = "Ladakh"

KERALA_DISTRICTS = (
    "Thiruvananthapuram",
    "Kollam",
    "Pathanamthitta",
    "Alappuzha",
    "Kottayam",
    "Idukki",
    "Ernakulam",
    "Thrissur",
    "Palakkad",
    "Malappuram",
    "Kozhikode",
    "Wayanad",
    "Kannur",
    "Kasaragod",
)


class SourceError(Exception):
    """The source is missing or is not what this script expects."""


def git_show(repo: str, commit: str, path: str) -> Any:
    git_dir = MIRRORS / repo.replace("/", "+") / "repo"
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SourceError(f"{repo}@{commit[:10]}:{path}: {done.stderr.decode().strip()}")
    return json.loads(done.stdout)


# -- geometry --------------------------------------------------------------------------------


def signed_area(ring: Sequence[Point]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2


def polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """A GeoJSON Polygon or MultiPolygon as a list of polygons (outer ring first)."""
    coords = geometry["coordinates"]
    raw = [coords] if geometry["type"] == "Polygon" else coords
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in polygon] for polygon in raw]


def oriented_edges(polygon: list[Ring]) -> Iterable[tuple[Point, Point]]:
    """The polygon's edges, outer ring anticlockwise and holes clockwise."""
    for i, ring in enumerate(polygon):
        want_positive = i == 0
        pts = ring if (signed_area(ring) > 0) == want_positive else ring[::-1]
        for a, b in itertools.pairwise(pts):
            if a != b:
                yield a, b


def dissolve(members: dict[str, list[list[Ring]]]) -> dict[str, list[Ring]]:
    """Each group's polygons merged: shared edges cancel, the rest chained into rings."""
    out: dict[str, list[Ring]] = {}
    for group, polys in members.items():
        count: Counter[tuple[Point, Point]] = Counter()
        seen: set[tuple[Point, ...]] = set()
        for polygon in polys:
            key = tuple(polygon[0])
            if key in seen:  # the same polygon twice in the source: count it once
                continue
            seen.add(key)
            count.update(oriented_edges(polygon))
        left = [e for e, n in count.items() if n > count.get((e[1], e[0]), 0)]
        out[group] = chain(left)
    return out


def chain(edges: list[tuple[Point, Point]]) -> list[Ring]:
    """Directed edges (every vertex with as many in as out) joined into closed rings."""
    outgoing: dict[Point, list[Point]] = defaultdict(list)
    for a, b in sorted(edges):
        outgoing[a].append(b)
    rings: list[Ring] = []
    for start in sorted(outgoing):
        while outgoing[start]:
            ring = [start]
            here = start
            while True:
                here = outgoing[here].pop()
                ring.append(here)
                if here == start:
                    break
                if not outgoing[here]:
                    raise SourceError(f"boundary does not close near {here}")
            rings.append(ring)
    return rings


def perpendicular(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == 0 and dy == 0:
        return float(((p[0] - a[0]) ** 2 + (p[1] - a[1]) ** 2) ** 0.5)
    return float(
        abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / (dx * dx + dy * dy) ** 0.5
    )


def douglas_peucker(points: Sequence[Point], tolerance: float) -> list[Point]:
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, at = 0.0, -1
        for i in range(first + 1, last):
            d = perpendicular(points[i], points[first], points[last])
            if d > worst:
                worst, at = d, i
        if at >= 0 and worst > tolerance:
            keep[at] = True
            stack.extend([(first, at), (at, last)])
    return [p for p, k in zip(points, keep, strict=True) if k]


def drop_slivers(regions: dict[str, list[Ring]], least: float) -> dict[str, list[Ring]]:
    """Rings (islands, holes) smaller than `least` square degrees left out; a region made only
    of such rings (Lakshadweep's islands) keeps them all."""
    out: dict[str, list[Ring]] = {}
    for name, rings in regions.items():
        kept = [ring for ring in rings if abs(signed_area(ring)) >= least]
        out[name] = kept or [ring for ring in rings if signed_area(ring) > 0]
    return out


def simplify_shared(regions: dict[str, list[Ring]], tolerance: float) -> dict[str, list[Ring]]:
    """Simplify every ring arc by arc, an arc shared by two regions the same way in both.

    A ring smaller than the tolerance squared (a small island) is simplified with a tolerance
    of a fifth of its size instead, so it keeps a recognisable shape rather than vanishing."""
    side: dict[tuple[Point, Point], str] = {}
    for name, rings in regions.items():
        for ring in rings:
            for a, b in itertools.pairwise(ring):
                side[(a, b)] = name
    # A vertex where three or more boundary edges meet is a junction of arcs.
    adjacent: dict[Point, set[Point]] = defaultdict(set)
    for a, b in side:
        adjacent[a].add(b)
        adjacent[b].add(a)
    cache: dict[tuple[Point, ...], list[Point]] = {}
    base = tolerance

    def simplified_arc(arc: list[Point], tolerance: float) -> list[Point]:
        forward = tuple(arc)
        backward = forward[::-1]
        key = min(forward, backward)
        if key not in cache:
            cache[key] = douglas_peucker(list(key), tolerance)
        result = cache[key]
        return list(result) if key == forward else result[::-1]

    out: dict[str, list[Ring]] = {}
    for name, rings in regions.items():
        kept: list[Ring] = []
        for ring in rings:
            pts = ring[:-1]
            n = len(pts)
            size = abs(signed_area(ring)) ** 0.5
            tolerance = min(base, size / 5)

            def neighbour(i: int, pts: Ring = pts, n: int = n) -> str | None:
                a, b = pts[i % n], pts[(i + 1) % n]
                return side.get((b, a))

            cuts = [
                i for i in range(n) if neighbour(i - 1) != neighbour(i) or len(adjacent[pts[i]]) > 2
            ]
            if not cuts:
                # A ring with one neighbour all round (an island, an enclave): cut it at its
                # least vertex and at the vertex farthest from it, which both sides agree on.
                low = min(range(n), key=lambda i: pts[i])
                far = max(
                    range(n),
                    key=lambda i: (pts[i][0] - pts[low][0]) ** 2 + (pts[i][1] - pts[low][1]) ** 2,
                )
                cuts = sorted({low, far})
            new: Ring = []
            for j, start in enumerate(cuts):
                end = cuts[(j + 1) % len(cuts)]
                span = (end - start) % n or n
                arc = [pts[(start + k) % n] for k in range(span + 1)]
                new.extend(simplified_arc(arc, tolerance)[:-1])
            new.append(new[0])
            rounded = finish(new)
            if rounded is not None:
                kept.append(rounded)
        out[name] = kept
    return out


def finish(ring: Ring) -> Ring | None:
    """Round to DECIMALS, drop repeated points; None when the ring has collapsed."""
    out: Ring = []
    for x, y in ring:
        p = (round(x, DECIMALS), round(y, DECIMALS))
        if not out or out[-1] != p:
            out.append(p)
    if out[0] != out[-1]:
        out.append(out[0])
    if len(out) < 4 or abs(signed_area(out)) < 10 ** (-2 * DECIMALS):
        return None
    return out


def check_topology(features: list[dict[str, Any]], label: str, *, strict: bool = True) -> None:
    """Shared boundaries must be identical vertex runs (else the dissolve leaves slivers)."""
    count: Counter[tuple[Point, Point]] = Counter()
    for feature in features:
        for polygon in polygons(feature["geometry"]):
            for a, b in oriented_edges(polygon):
                count[(min(a, b), max(a, b))] += 1
    tally = Counter(count.values())
    print(f"{label}: undirected edges by use {dict(sorted(tally.items()))}", file=sys.stderr)
    if strict and tally[1] > tally[2] // 4:
        raise SourceError(f"{label}: boundaries are not shared vertex for vertex")


def points_in_rings(features: dict[str, list[Ring]]) -> int:
    return sum(len(rings) for rings in features.values())


def points_in(features: dict[str, list[Ring]]) -> int:
    return sum(len(ring) for rings in features.values() for ring in rings)


def as_json(rings: list[Ring]) -> list[list[list[float]]]:
    return [[[x, y] for x, y in ring] for ring in rings]


# -- the two files ---------------------------------------------------------------------------


def kerala_districts() -> dict[str, Any]:
    source = git_show(VILLAGES_REPO, VILLAGES_COMMIT, VILLAGES_PATH)
    features = [f for f in source["features"] if f["properties"].get("STATE") == "Kerala"]
    check_topology(source["features"], "Kerala villages")
    members: dict[str, list[list[Ring]]] = defaultdict(list)
    for feature in features:
        members[str(feature["properties"]["DISTRICT"])].extend(polygons(feature["geometry"]))
    if set(members) != set(KERALA_DISTRICTS):
        raise SourceError(f"Kerala districts in the source: {sorted(members)}")
    # A dissolved district has holes where the village layer has gaps (no village drawn
    # there); a district covers all its land, and no Kerala district surrounds another
    # territory (Mahe lies on the Kannur-Kozhikode line), so every hole is a gap: filled.
    full = {
        name: [ring for ring in rings if signed_area(ring) > 0]
        for name, rings in dissolve(members).items()
    }
    holes = sum(len(rings) for rings in dissolve(members).values()) - points_in_rings(full)
    simple = simplify_shared(full, KERALA_TOLERANCE)
    return {
        "source": {
            "title": "Kerala revenue districts, dissolved from DataMeet's Indian Village "
            "Boundaries for Kerala (villages and towns of Census 2011, each with its district)",
            "url": f"https://github.com/{VILLAGES_REPO}/blob/{VILLAGES_COMMIT}/{VILLAGES_PATH}",
            "publisher": "DataMeet community (datameet.org)",
            "licence": "Open Database License (ODbL) 1.0, "
            "https://opendatacommons.org/licenses/odbl/1-0/ (this file is a derived database "
            "and is offered under the same licence)",
            "attribution": "Kerala village boundaries by the DataMeet community "
            "(https://github.com/datameet/indian_village_boundaries), ODbL 1.0",
            "credit": "Boundaries: DataMeet Indian Village Boundaries (ODbL 1.0), dissolved "
            "to districts",
            "retrieved": f"{RETRIEVED}, commit {VILLAGES_COMMIT} of {VILLAGES_REPO}",
            "derived": "The 1,532 Kerala villages and towns grouped by their DISTRICT attribute "
            "and dissolved (shared edges removed; the source's boundaries are shared vertex for "
            "vertex); the one Puducherry polygon in the file (Mahe) left out, so it is a notch "
            f"between Kannur and Kozhikode. The {holes} holes left inside districts where the "
            "village layer has gaps were filled (a district covers all its land). Then "
            "Douglas-Peucker on each boundary arc, tolerance "
            f"{KERALA_TOLERANCE} degrees, shared arcs simplified once for both neighbours; "
            f"coordinates rounded to {DECIMALS} decimals; {points_in(full)} points reduced to "
            f"{points_in(simple)}. Built by simulations/build_geography.py.",
            "limits": "Village boundaries as digitised by DataMeet (its supporting document: the "
            "Kerala delimitation maps of villages and towns, 2010, delimitation.lsgkerala.gov.in) "
            "with Census 2011 codes: not the Survey of India's authoritative boundaries; "
            "DataMeet warns of errors in boundaries and "
            "attributes. The 14 revenue districts have not changed since 1984 (Kasaragod), so the "
            "set is current; lines may be off by a few hundred metres, more after "
            "simplification. Fine for a choropleth, not for deciding which district a place is "
            "in.",
        },
        "names": {name: name for name in KERALA_DISTRICTS},
        "features": {name: as_json(simple[name]) for name in KERALA_DISTRICTS},
    }


def india_states() -> dict[str, Any]:
    source = git_show(MAPS_REPO, MAPS_COMMIT, PC_PATH)
    # Not topological across all boundaries (see `limits`): reported, not required.
    check_topology(source["features"], "2019 parliamentary constituencies", strict=False)
    with SCENARIO.open("rb") as handle:
        scenario = tomllib.load(handle)
    names = {str(s["id"]): str(s["name"]) for s in scenario["state"]}
    members: dict[str, list[list[Ring]]] = defaultdict(list)
    for feature in source["features"]:
        props = feature["properties"]
        state = PC_STATES.get(str(props["st_name"]))
        if state is None:
            raise SourceError(f"unknown state in the constituencies: {props['st_name']!r}")
        if props["pc_name"] == LADAKH_CONSTITUENCY:
            state = "ladakh"
        members[state].extend(polygons(feature["geometry"]))
    if set(members) != set(names):
        raise SourceError(f"states: {sorted(set(members) ^ set(names))} do not match india.toml")
    full = drop_slivers(dissolve(members), INDIA_LEAST_RING)
    simple = simplify_shared(full, INDIA_TOLERANCE)
    empty = [name for name, rings in simple.items() if not rings]
    if empty:
        raise SourceError(f"simplified away entirely: {empty}")
    return {
        "source": {
            "title": "States and union territories of India, dissolved from DataMeet's "
            "simplified 2019 parliamentary constituency boundaries",
            "url": f"https://github.com/{MAPS_REPO}/blob/{MAPS_COMMIT}/{PC_PATH}",
            "publisher": "Arun Ganesh and the DataMeet community (datameet.org)",
            "licence": "CC0 1.0 Universal (public domain dedication), "
            "https://creativecommons.org/publicdomain/zero/1.0/ (as the repository's "
            "parliamentary-constituencies/README.md states for this simplified file)",
            "attribution": "India parliamentary constituencies 2019 (simplified) by Arun Ganesh, "
            "DataMeet (https://github.com/datameet/maps), CC0 1.0; credit given though not "
            "required",
            "credit": "Boundaries: DataMeet, 2019 Lok Sabha constituencies (CC0), dissolved to "
            "states; not an official map of India",
            "retrieved": f"{RETRIEVED}, commit {MAPS_COMMIT} of {MAPS_REPO}",
            "derived": "The 543 constituencies grouped by state (st_name) and dissolved (edges "
            "shared by two constituencies of one state removed, the rest chained into rings). "
            "The Ladakh constituency, which is the Leh and Kargil districts, made the Ladakh union "
            "territory (2019); Dadra and Nagar Haveli and Daman and Diu joined into one union "
            "territory (2020); 'Orissa' named Odisha. Then Douglas-Peucker on each boundary arc, "
            f"tolerance {INDIA_TOLERANCE} degrees, shared arcs simplified once for both "
            f"neighbours (where the source shares them); coordinates rounded to {DECIMALS} "
            f"decimals. Rings under {INDIA_LEAST_RING} square degrees (about 6 km2) left out: "
            "mostly slivers where neighbouring constituencies do not quite meet or overlap, and "
            "islets; Lakshadweep, made only of islets, keeps all of them. "
            f"{points_in(full)} points reduced to {points_in(simple)}. Keys "
            "are the state node ids of simulations/scenarios/india.toml. Built by "
            "simulations/build_geography.py.",
            "limits": "Not the Census 2011 state shapefile (States/Admin2.shp) of datameet/maps: "
            "that file's geometry is missing from the snapshot this was built from. The "
            "constituency map was scraped from an Indian government website and simplified for "
            "web use (under 2 MB); lines are approximate, and neighbouring constituencies share "
            "only part of their boundaries vertex for vertex, so state borders may show "
            "hairline gaps or overlaps at full zoom. The outer boundary is whatever the "
            "constituency map covers; it has not been compared with the Survey of India's "
            "depiction of India's boundary (in this file Ladakh reaches 37.08 N and 72.53 to "
            "80.33 E, so it includes Gilgit-Baltistan and Aksai Chin, while Jammu and Kashmir "
            "reaches only 73.62 E): check it before presenting this as a map of India. State "
            "boundaries are those of the 2019 constituencies (Telangana, formed in 2014, is "
            "separate; Ladakh and Dadra and Nagar Haveli and Daman and Diu made as above); "
            "anything redrawn later is not reflected. Small islands (of Lakshadweep, Andaman "
            "and Nicobar) are dropped or reduced "
            "to a few points.",
        },
        "names": {key: names[key] for key in sorted(names)},
        "features": {key: as_json(simple[key]) for key in sorted(names)},
    }


def write(name: str, content: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    # The source and names indented, then one feature per line: a rebuild's diff stays readable.
    head = {key: value for key, value in content.items() if key != "features"}
    lines = json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ',\n  "features": {\n'
    features = [
        f"    {json.dumps(key)}: {json.dumps(rings, separators=(',', ':'))}"
        for key, rings in content["features"].items()
    ]
    text = lines + ",\n".join(features) + "\n  }\n}\n"
    json.loads(text)  # still one JSON document
    path = OUT / name
    path.write_text(text, encoding="utf-8")
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.parse_args(argv)
    try:
        write("kerala-districts.json", kerala_districts())
        write("india-states.json", india_states())
    except SourceError as exc:
        print(f"build_geography: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
