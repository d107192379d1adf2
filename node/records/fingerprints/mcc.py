"""Minutia Cylinder-Code templates and their 1:1 comparison.

Cappelli, Ferrara and Maltoni, "Minutia Cylinder-Code: a new representation and matching
technique for fingerprint recognition", IEEE TPAMI 32(12), 2010, in its bit-based form: each
minutia is described by a cylinder of Ns x Ns x Nd cells around it, aligned with its direction;
a cell's bit says whether the neighbouring minutiae near that place have that relative
direction. The descriptor is invariant to translation and rotation and tolerant of distortion,
and two cylinders compare with a popcount. Invalid cells (outside the convex hull of the
minutiae widened by Omega) are masked, so a partial print compares only where it has ridges.

The global score is the Local Similarity Sort with Relaxation (LSS-R, section 5 of the paper):
the best-matching cylinder pairs are relaxed by how well their pairwise distances and angles
agree, so pairs that agree only by chance drop out. Parameters are the paper's (table 1).

A template's bytes: b"MCC1", a little-endian uint16 count, then count x (float32 x, y,
direction). The cylinders are recomputed from the minutiae when needed (a few milliseconds):
the stored template stays small and readable by any later matcher.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from scipy.special import erf

from node.records.fingerprints.minutiae import MinutiaeArray

RADIUS = 70.0
NS = 16
ND = 6
SIGMA_S = 28.0 / 3.0
SIGMA_D = 2.0 * math.pi / 9.0
MU_PSI = 0.01
OMEGA = 50.0
MIN_VALID_CELLS = 0.75
MIN_NEIGHBOURS = 2
MIN_MATCHABLE_CELLS = 0.60
DELTA_THETA = math.pi / 2
MU_P, TAU_P, MIN_NP, MAX_NP = 20.0, 0.4, 4, 12
# LSS-R (relaxation): the paper's values for the bit-based cylinders.
RELAX_ROUNDS, RELAX_WEIGHT = 5, 0.5
MU_1, TAU_1, MU_2, TAU_2, MU_3, TAU_3 = 5.0, -1.6, math.pi / 12, -30.0, math.pi / 12, -30.0

_DELTA_S = 2 * RADIUS / NS
_DELTA_D = 2 * math.pi / ND
_offsets = (np.arange(1, NS + 1) - (NS + 1) / 2) * _DELTA_S
_CELL_J, _CELL_I = np.meshgrid(_offsets, _offsets, indexing="ij")
CELL_OFFSETS = np.column_stack([_CELL_I.ravel(), _CELL_J.ravel()])  # (NS*NS, 2): x, y
IN_RADIUS = np.hypot(CELL_OFFSETS[:, 0], CELL_OFFSETS[:, 1]) <= RADIUS
BITS = NS * NS * ND
WORDS = BITS // 64
CELL_WORDS = NS * NS // 64
_DIRECTION_CENTRES = -math.pi + (np.arange(1, ND + 1) - 0.5) * _DELTA_D
_MAGIC = b"MCC1"


class TemplateError(ValueError):
    """Template bytes that are not a template."""


@dataclass(frozen=True, slots=True)
class Cylinders:
    """The valid cylinders of one template: bits and validity masks packed in uint64 words."""

    bits: npt.NDArray[np.uint64]  # (n, WORDS): direction-major, ND blocks of NS*NS cells
    masks: npt.NDArray[np.uint64]  # (n, CELL_WORDS): the valid cells
    minutiae: MinutiaeArray  # (n, 3): the minutiae the cylinders belong to

    def __len__(self) -> int:
        return int(self.bits.shape[0])


def encode_template(minutiae: MinutiaeArray) -> bytes:
    """A template's bytes (see the module docstring)."""
    array = np.asarray(minutiae, dtype="<f4").reshape(-1, 3)
    return _MAGIC + struct.pack("<H", len(array)) + array.tobytes()


def decode_template(data: bytes) -> MinutiaeArray:
    """A template's minutiae; TemplateError on anything else."""
    if len(data) < 6 or data[:4] != _MAGIC:
        raise TemplateError("not an MCC1 fingerprint template")
    (count,) = struct.unpack_from("<H", data, 4)
    if len(data) != 6 + 12 * count:
        raise TemplateError(f"template of {count} minutiae has {len(data)} bytes")
    return np.frombuffer(data, dtype="<f4", offset=6).reshape(count, 3).astype(np.float32)


def _angle_difference(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """a - b, wrapped to [-pi, pi)."""
    result: npt.NDArray[np.float64] = np.mod(a - b + np.pi, 2 * np.pi) - np.pi
    return result


def _hull_contains(
    minutiae: MinutiaeArray, points: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Whether each point lies in the minutiae's convex hull widened by OMEGA (each edge moved
    out by OMEGA: a little generous at the corners)."""
    if len(minutiae) < 3:
        return np.zeros(len(points), dtype=bool)
    hull = cv2.convexHull(minutiae[:, :2].astype(np.float32)).reshape(-1, 2).astype(np.float64)
    inside = np.ones(len(points), dtype=bool)
    # OpenCV returns the hull clockwise in image coordinates (y down): the interior is on one
    # side of every edge; the signed area's sign says which.
    shifted = np.roll(hull, -1, axis=0)
    area = float(np.sum(hull[:, 0] * shifted[:, 1] - shifted[:, 0] * hull[:, 1]))
    sign = 1.0 if area >= 0 else -1.0
    for (x1, y1), (x2, y2) in zip(hull, shifted, strict=True):
        ex, ey = x2 - x1, y2 - y1
        length = math.hypot(ex, ey) or 1.0
        cross = (ex * (points[:, 1] - y1) - ey * (points[:, 0] - x1)) / length
        inside &= sign * cross >= -OMEGA
    return inside


def cylinders(minutiae: MinutiaeArray) -> Cylinders:
    """The valid cylinders of a set of minutiae (all minutiae at once, as arrays)."""
    m = np.asarray(minutiae, dtype=np.float64).reshape(-1, 3)
    n = len(m)
    if n < MIN_NEIGHBOURS + 1:
        return _no_cylinders()
    cos, sin = np.cos(m[:, 2])[:, None], np.sin(m[:, 2])[:, None]
    cx = m[:, 0, None] + cos * CELL_OFFSETS[None, :, 0] - sin * CELL_OFFSETS[None, :, 1]
    cy = m[:, 1, None] + sin * CELL_OFFSETS[None, :, 0] + cos * CELL_OFFSETS[None, :, 1]
    valid = IN_RADIUS[None, :] & _hull_contains(
        minutiae, np.column_stack([cx.ravel(), cy.ravel()])
    ).reshape(n, -1)
    between = np.hypot(m[:, None, 0] - m[None, :, 0], m[:, None, 1] - m[None, :, 1])
    np.fill_diagonal(between, np.inf)
    neighbours = (between <= RADIUS + 3 * SIGMA_S).sum(axis=1)
    keep = (valid.sum(axis=1) >= MIN_VALID_CELLS * IN_RADIUS.sum()) & (neighbours >= MIN_NEIGHBOURS)
    if not keep.any():
        return _no_cylinders()
    cx, cy, valid = cx[keep], cy[keep], valid[keep]
    own = np.nonzero(keep)[0]
    # Each kept minutia's neighbours (within reach of its cells), padded to the longest list.
    reach = between[own] <= RADIUS + 3 * SIGMA_S
    width = int(reach.sum(axis=1).max())
    order = np.argsort(~reach, axis=1, kind="stable")[:, :width]
    present = np.take_along_axis(reach, order, axis=1)  # (kept, width)
    nx, ny, nd = m[order, 0], m[order, 1], m[order, 2]
    # (kept, cells, width): spatial contribution of each neighbour to each cell (float32).
    dx = (cx[:, :, None] - nx[:, None, :]).astype(np.float32)
    dy = (cy[:, :, None] - ny[:, None, :]).astype(np.float32)
    d2 = dx * dx + dy * dy
    spatial = np.exp(d2 * np.float32(-1.0 / (2 * SIGMA_S**2))) * np.float32(
        1.0 / (SIGMA_S * math.sqrt(2 * math.pi))
    )
    spatial *= (d2 <= np.float32((3 * SIGMA_S) ** 2)) & present[:, None, :]
    # (kept, width, ND): directional contribution.
    relative = _angle_difference(m[own, None, 2], nd)
    offset = _angle_difference(_DIRECTION_CENTRES[None, None, :], relative[:, :, None])
    scale = SIGMA_D * math.sqrt(2)
    directional = 0.5 * (
        erf((offset + _DELTA_D / 2) / scale) - erf((offset - _DELTA_D / 2) / scale)
    )
    contribution = np.matmul(spatial, directional.astype(np.float32)).transpose(
        0, 2, 1
    )  # (kept, ND, cells)
    bits = (contribution > MU_PSI) & valid[:, None, :]
    packed_bits = np.packbits(bits.reshape(len(own), -1), axis=1)
    packed_masks = np.packbits(valid, axis=1)
    return Cylinders(
        np.ascontiguousarray(packed_bits).view(np.uint64),
        np.ascontiguousarray(packed_masks).view(np.uint64),
        m[own].astype(np.float32),
    )


def _no_cylinders() -> Cylinders:
    return Cylinders(
        np.zeros((0, WORDS), dtype=np.uint64),
        np.zeros((0, CELL_WORDS), dtype=np.uint64),
        np.zeros((0, 3), dtype=np.float32),
    )


def local_similarities(a: Cylinders, b: Cylinders) -> npt.NDArray[np.float32]:
    """The local similarity matrix: (len(a), len(b)), 0 where two cylinders are not matchable."""
    common_cells = a.masks[:, None, :] & b.masks[None, :, :]
    matchable = np.bitwise_count(common_cells).sum(axis=2)
    # Bits are direction-major: the cell mask repeats once per direction.
    common = np.tile(common_cells, (1, 1, ND))
    ca = a.bits[:, None, :] & common
    cb = b.bits[None, :, :] & common
    na = np.sqrt(np.bitwise_count(ca).sum(axis=2))
    nb = np.sqrt(np.bitwise_count(cb).sum(axis=2))
    diff = np.sqrt(np.bitwise_count(ca ^ cb).sum(axis=2))
    norm = na + nb
    sim = np.where(norm > 0, 1.0 - diff / np.where(norm > 0, norm, 1.0), 0.0)
    turn = np.abs(
        _angle_difference(a.minutiae[:, None, 2].astype(np.float64), b.minutiae[None, :, 2])
    )
    sim[(turn > DELTA_THETA) | (matchable < MIN_MATCHABLE_CELLS * IN_RADIUS.sum())] = 0.0
    return sim.astype(np.float32)


def _wrapped(angle: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """An angle wrapped to [-pi, pi) (`_angle_difference` without np.mod, which is slow)."""
    result: npt.NDArray[np.float64] = angle - 2 * np.pi * np.floor((angle + np.pi) / (2 * np.pi))
    return result


def _direction_counts(bits: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """(3, CELL_WORDS, ...) from (WORDS, ...) word-major bits: per cell, how many of its ND
    direction bits are set (0 to 6), as three bit planes (1s, 2s, 4s), by two full adders."""
    d = bits.reshape(ND, CELL_WORDS, *bits.shape[1:])
    low_1, low_2 = d[0] ^ d[1] ^ d[2], d[3] ^ d[4] ^ d[5]
    carry_1 = (d[0] & d[1]) | (d[2] & (d[0] ^ d[1]))
    carry_2 = (d[3] & d[4]) | (d[5] & (d[3] ^ d[4]))
    carry_0 = low_1 & low_2
    twos = carry_1 ^ carry_2 ^ carry_0
    fours = (carry_1 & carry_2) | (carry_0 & (carry_1 ^ carry_2))
    return np.stack([low_1 ^ low_2, twos, fours])


def local_similarities_many(
    a: Cylinders,
    bits_by_word: npt.NDArray[np.uint64],
    masks_by_word: npt.NDArray[np.uint64],
    minutiae: MinutiaeArray,
) -> npt.NDArray[np.float32]:
    """`local_similarities` of `a` against many cylinders at once, given word-major
    ((WORDS, m) and (CELL_WORDS, m)): the same values, for the 1:N search's ranking stage.

    The similarity needs three popcounts: a's bits where b is valid, b's bits where a is valid
    (a's or b's direction counts per cell under the other's cell mask: three bit planes instead
    of ND direction words), and the bits both have (a and b are zero outside their own valid
    cells, so their common bits need no mask). Each is summed one word at a time over all pairs:
    every operation runs over a contiguous (len(a), m) block, several times faster than over
    (pairs, WORDS)."""
    shape = (len(a), bits_by_word.shape[1])
    in_a = np.zeros(shape, np.uint16)
    in_b = np.zeros(shape, np.uint16)
    both = np.zeros(shape, np.uint16)
    matchable = np.zeros(shape, np.uint16)
    word = np.empty(shape, np.uint64)
    count = np.empty(shape, np.uint8)

    def add(total: npt.NDArray[np.uint16], column: Any, row: Any, weight: int = 1) -> None:
        np.bitwise_and(column, row, out=word)
        np.bitwise_count(word, out=count)
        total += count if weight == 1 else count.astype(np.uint16) * np.uint16(weight)

    planes_a = _direction_counts(a.bits.T)  # (3, CELL_WORDS, len(a))
    planes_b = _direction_counts(bits_by_word)  # (3, CELL_WORDS, m)
    for w in range(WORDS):
        add(both, a.bits[:, w, None], bits_by_word[w][None, :])
    for cell in range(CELL_WORDS):
        add(matchable, a.masks[:, cell, None], masks_by_word[cell][None, :])
        for plane in range(3):
            add(in_a, planes_a[plane, cell][:, None], masks_by_word[cell][None, :], 1 << plane)
            add(in_b, a.masks[:, cell, None], planes_b[plane, cell][None, :], 1 << plane)
    na, nb = in_a.astype(np.float32), in_b.astype(np.float32)
    diff = np.sqrt(np.maximum(na + nb - 2 * both.astype(np.float32), 0))
    norm = np.sqrt(na) + np.sqrt(nb)
    sim = np.where(norm > 0, 1 - diff / np.where(norm > 0, norm, 1), 0).astype(np.float32)
    # Directions more than DELTA_THETA (a right angle) apart: a negative cosine of the
    # difference, without wrapping every angle of the (len(a), m) block.
    da, db = a.minutiae[:, 2].astype(np.float32), minutiae[:, 2].astype(np.float32)
    crossed = np.outer(np.cos(da), np.cos(db)) + np.outer(np.sin(da), np.sin(db)) < 0
    sim[crossed | (matchable < MIN_MATCHABLE_CELLS * IN_RADIUS.sum())] = 0.0
    return sim


def _sigmoid(
    value: npt.NDArray[np.float64] | float, mu: float, tau: float
) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-tau * (np.asarray(value) - mu))))


def pairs_to_consider(count_a: int, count_b: int) -> int:
    """n_P: how many top pairs make the global score."""
    z = float(_sigmoid(min(count_a, count_b), MU_P, TAU_P))
    return MIN_NP + round(z * (MAX_NP - MIN_NP))


def score(a: Cylinders, b: Cylinders, lsm: npt.NDArray[np.float32] | None = None) -> float:
    """The global similarity of two templates, 0 to 1 (LSS-R)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    if lsm is None:
        lsm = local_similarities(a, b)
    n_p = pairs_to_consider(len(a), len(b))
    n_r = min(lsm.size, max(n_p, min(len(a), len(b))))
    flat = np.argpartition(-lsm.ravel(), n_r - 1)[:n_r] if n_r < lsm.size else np.arange(lsm.size)
    rows, cols = np.unravel_index(flat, lsm.shape)
    lam = lsm[rows, cols].astype(np.float64)
    if not lam.any():
        return 0.0
    ma, mb = a.minutiae[rows].astype(np.float64), b.minutiae[cols].astype(np.float64)
    # Pairwise compatibility of the candidate pairs: distances, directions and the angle of the
    # line joining them should agree in the two prints.
    da = np.hypot(ma[:, None, 0] - ma[None, :, 0], ma[:, None, 1] - ma[None, :, 1])
    db = np.hypot(mb[:, None, 0] - mb[None, :, 0], mb[:, None, 1] - mb[None, :, 1])
    d1 = _sigmoid(np.abs(da - db), MU_1, TAU_1)
    turn_a = _angle_difference(ma[:, None, 2], ma[None, :, 2])
    turn_b = _angle_difference(mb[:, None, 2], mb[None, :, 2])
    d2 = _sigmoid(np.abs(_angle_difference(turn_a, turn_b)), MU_2, TAU_2)
    line_a = np.arctan2(ma[None, :, 1] - ma[:, None, 1], ma[None, :, 0] - ma[:, None, 0])
    line_b = np.arctan2(mb[None, :, 1] - mb[:, None, 1], mb[None, :, 0] - mb[:, None, 0])
    rel_a = _angle_difference(ma[:, None, 2], line_a)
    rel_b = _angle_difference(mb[:, None, 2], line_b)
    d3 = _sigmoid(np.abs(_angle_difference(rel_a, rel_b)), MU_3, TAU_3)
    rho = d1 * d2 * d3
    np.fill_diagonal(rho, 0.0)
    # Pairs that share a minutia cannot both hold.
    conflict = (rows[:, None] == rows[None, :]) | (cols[:, None] == cols[None, :])
    rho[conflict] = 0.0
    relaxed = lam.copy()
    for _ in range(RELAX_ROUNDS):
        relaxed = RELAX_WEIGHT * relaxed + (1 - RELAX_WEIGHT) * (rho @ relaxed) / max(n_r - 1, 1)
    efficiency = relaxed / np.where(lam > 0, lam, 1.0)
    best = np.argsort(-efficiency)[:n_p]
    return float(relaxed[best].sum() / n_p)


def score_many(
    a: Cylinders,
    lsm: npt.NDArray[np.float32],
    minutiae: npt.NDArray[np.float32],
    counts: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """`score` of `a` against k templates at once, all steps as (k, ...) arrays: the 1:N
    search's ranking stage, where a Python call per template would cost more than the work.

    `lsm` (k, len(a), width): each template's local similarities with `a` (from
    `local_similarities_many`), -1 past its `counts` cylinders; `minutiae` (k, width, 3) its
    cylinders' minutiae. The scores equal `score`'s but where similarities tie at the cut
    (`score` then takes whichever pair `argpartition` gives)."""
    k, rows_a, width = lsm.shape
    if k == 0 or rows_a == 0:
        return np.zeros(k, np.float64)
    smaller = np.minimum(rows_a, counts)
    z = 1.0 / (1.0 + np.exp(-TAU_P * (smaller - MU_P)))
    n_p = MIN_NP + np.round(z * (MAX_NP - MIN_NP)).astype(np.int64)
    n_r = np.minimum(rows_a * counts, np.maximum(n_p, smaller))
    widest = int(n_r.max())
    flat = lsm.reshape(k, -1)
    chosen = np.argpartition(-flat, widest - 1, axis=1)[:, :widest]
    lam = np.take_along_axis(flat, chosen, axis=1).astype(np.float64)
    order = np.argsort(-lam, axis=1, kind="stable")  # each template's n_r best come first
    chosen = np.take_along_axis(chosen, order, axis=1)
    lam = np.take_along_axis(lam, order, axis=1)
    taken = np.arange(widest)[None, :] < n_r[:, None]
    lam = np.where(taken, np.maximum(lam, 0.0), 0.0)
    rows, cols = chosen // width, chosen % width
    ma = a.minutiae[rows].astype(np.float64)  # (k, widest, 3)
    mb = np.take_along_axis(minutiae, cols[:, :, None], axis=1).astype(np.float64)

    def pairwise(m: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
        dx = m[:, None, :, 0] - m[:, :, None, 0]
        dy = m[:, None, :, 1] - m[:, :, None, 1]
        turn = _wrapped(m[:, :, None, 2] - m[:, None, :, 2])
        line = _wrapped(m[:, :, None, 2] - np.arctan2(dy, dx))
        return np.hypot(dx, dy), turn, line

    da, turn_a, rel_a = pairwise(ma)
    db, turn_b, rel_b = pairwise(mb)
    rho = (
        _sigmoid(np.abs(da - db), MU_1, TAU_1)
        * _sigmoid(np.abs(_wrapped(turn_a - turn_b)), MU_2, TAU_2)
        * _sigmoid(np.abs(_wrapped(rel_a - rel_b)), MU_3, TAU_3)
    )
    conflict = (rows[:, :, None] == rows[:, None, :]) | (cols[:, :, None] == cols[:, None, :])
    rho[conflict | ~(taken[:, :, None] & taken[:, None, :])] = 0.0  # the diagonal conflicts too
    spread = np.maximum(n_r - 1, 1).astype(np.float64)[:, None]
    relaxed = lam.copy()
    for _ in range(RELAX_ROUNDS):
        support = np.matmul(rho, relaxed[:, :, None])[:, :, 0]
        relaxed = RELAX_WEIGHT * relaxed + (1 - RELAX_WEIGHT) * support / spread
    efficiency = np.where(taken, relaxed / np.where(lam > 0, lam, 1.0), -np.inf)
    best = np.take_along_axis(relaxed, np.argsort(-efficiency, axis=1, kind="stable"), axis=1)
    total = np.cumsum(best, axis=1)[np.arange(k), np.minimum(n_p, widest) - 1]
    result: npt.NDArray[np.float64] = np.where(lam.any(axis=1), total / n_p, 0.0)
    return result
