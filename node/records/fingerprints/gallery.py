"""The enrolled templates and their 1:N search.

Three stages, after Cappelli, Ferrara and Maltoni, "Fingerprint indexing based on Minutia
Cylinder-Code", IEEE TPAMI 33(5), 2011:

1. a pre-filter by locality-sensitive hashing of the cylinders. The bit cylinders are sparse
   (about one bit in eight set), so the hash is MinHash over the set bits of the cells near the
   centre (those a partial print still has): in each of TABLES tables, the lowest-ranked set
   bit under ROWS fixed random rankings (a fixed seed: every node hashes alike). Cylinders of
   the same minutia in two impressions share most set bits, so they share buckets in many
   tables; unrelated cylinders in few. For each probe cylinder, each gallery cylinder counts
   the tables in which it shared the probe cylinder's bucket; a template takes its best
   cylinder's count, squared (a true pair piles up collisions, chance pairs are spread thin over
   many cylinders). The sum over the probe's cylinders, divided by the square root of the
   template's cylinder count, ranks the gallery. Buckets holding more than 1 % of a table (the
   keys of nearly empty cylinders) are skipped. A probe hashes at most PREFILTER_CYLINDERS
   cylinders, its most complete: a roll's mate is found as surely by 20 as by 50, at less
   than half the cost;
2. the shortlist, `shortlist_size` templates, is scored by LSS-R in one pass
   (`mcc.local_similarities_many`, `mcc.score_many`: all its templates' cylinders at once, as
   arrays, three to four times cheaper per template than a `mcc.score` call each). The
   shortlist is longer the fewer cylinders the probe has (PAIR_BUDGET / cylinders, between
   SHORTLIST and LONGEST_SHORTLIST): the hashes rank a small chance print's mate less surely
   than a roll's, and its comparisons cost less;
3. the RESCORED best are compared again one by one (`mcc.score`), so that the scores reported
   are the 1:1 comparison's, to which HIT_SCORE (node/station/fingerprints.py) is set.

Rank-1 equals the pre-filter's recall: when the mate is shortlisted, LSS-R puts it first. The
hashes look at one cylinder at a time and LSS-R at how the pairs agree with each other, so
the later stages see what the first cannot; the first bounds their work, whatever the
gallery's size. A cheaper second stage, the local similarities alone (LSS, without the
relaxation), was tried: it ranks a chance print's mate little better than the hashes do.

Templates are added one at a time (enrolment) or in bulk; the tables are rebuilt lazily before
the next search. No I/O: the station loads the templates and hands them over.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from node.records.fingerprints import mcc

TABLES = 32
ROWS = 2
SHORTLIST = 200  # the shortest shortlist (rolls)
LONGEST_SHORTLIST = 3000
PAIR_BUDGET = 24_000  # probe cylinders x shortlisted templates
RESCORED = 20
PREFILTER_CYLINDERS = 20  # a probe's most complete cylinders the pre-filter hashes
_HASH_SEED = 20100  # fixed: every node must hash alike
_CORE_RADIUS = 0.65 * mcc.RADIUS
_CROWDED = 0.01
_CROWDED_FLOOR = 256
_MIN_ONES = 6
_SIZE_POWER = 0.5  # votes divided by the template's cylinder count to this power
_RANK_CHUNK = 256  # templates ranked per block (bounds the (probe, cylinders) arrays)


def _inner_bits() -> npt.NDArray[np.int64]:
    """The bit positions (every direction) of the cells near the cylinder's centre."""
    core = np.nonzero(np.hypot(mcc.CELL_OFFSETS[:, 0], mcc.CELL_OFFSETS[:, 1]) <= _CORE_RADIUS)[0]
    layer = mcc.NS * mcc.NS
    return (np.arange(mcc.ND)[:, None] * layer + core[None, :]).ravel()


_INNER = _inner_bits()
assert (len(_INNER) + 1) ** ROWS < 2**31  # the tables keep keys as int32
# One random ranking of the inner bits per (table, band row): fixed, so every node hashes alike.
_RANKS = np.stack(
    [np.random.default_rng(_HASH_SEED + i).permutation(len(_INNER)) for i in range(TABLES * ROWS)]
).reshape(TABLES, ROWS, len(_INNER))


def hash_keys(cyl: mcc.Cylinders) -> npt.NDArray[np.int64]:
    """(len(cyl), TABLES) bucket keys (MinHash: in each table, the lowest-ranked set bit under
    ROWS rankings, combined); -1 for a cylinder with too few set bits near its centre."""
    count = len(cyl)
    if count == 0:
        return np.zeros((0, TABLES), dtype=np.int64)
    ones = np.unpackbits(cyl.bits.view(np.uint8), axis=1)[:, _INNER].astype(bool)
    _rows, cols = np.nonzero(ones)
    per = ones.sum(axis=1)
    starts = np.concatenate([[0], np.cumsum(per)[:-1]])
    keys = np.zeros((count, TABLES), dtype=np.int64)
    if len(cols) == 0:
        return keys - 1
    nonempty = per > 0
    for table in range(TABLES):
        key = np.zeros(count, dtype=np.int64)
        for row in range(ROWS):
            ranked = _RANKS[table, row][cols]
            low = np.full(count, len(_INNER), dtype=np.int64)
            low[nonempty] = np.minimum.reduceat(ranked, starts[nonempty])
            key = key * (len(_INNER) + 1) + low
        keys[:, table] = key
    keys[per < _MIN_ONES] = -1
    return keys


def shortlist_size(cylinders: int) -> int:
    """How many templates the pre-filter passes on for a probe of `cylinders` cylinders: the
    ranking stage's cost grows with both, so a small partial print (whose mate the hashes find
    least surely) gets a long shortlist, a roll a short one."""
    return int(np.clip(PAIR_BUDGET // max(cylinders, 1), SHORTLIST, LONGEST_SHORTLIST))


def _pairs(count: int, counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`mcc.pairs_to_consider` of a probe of `count` cylinders and templates of `counts`."""
    smaller = np.minimum(count, counts).astype(np.float64)
    z = 1.0 / (1.0 + np.exp(-mcc.TAU_P * (smaller - mcc.MU_P)))
    return (mcc.MIN_NP + np.round(z * (mcc.MAX_NP - mcc.MIN_NP))).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked answer of a search: the enrolled template's key and its score (0 to 1)."""

    key: str
    score: float


@dataclass
class Gallery:
    """Enrolled templates under caller-chosen keys (a slip's reference and finger)."""

    keys: list[str] = field(default_factory=list)
    _key_set: set[str] = field(default_factory=set)
    _pending: list[mcc.Cylinders] = field(default_factory=list)
    _bits: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, mcc.WORDS), np.uint64)
    )
    _masks: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, mcc.CELL_WORDS), np.uint64)
    )
    _minutiae: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    _starts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, np.int64))
    _table_keys: list[npt.NDArray[np.int32]] = field(default_factory=list)
    _table_owners: list[npt.NDArray[np.int32]] = field(default_factory=list)  # cylinder numbers
    _owners: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    _indexed: int = 0
    # Searches run in worker threads (web and peer service) while enrolment adds.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self._key_set

    def nbytes(self) -> int:
        """The bytes of the gallery's arrays (the templates and the hash tables)."""
        with self._lock:
            self._build_locked()
            arrays: list[npt.NDArray[Any]] = [
                self._bits,
                self._masks,
                self._minutiae,
                self._starts,
                self._owners,
                *self._table_keys,
                *self._table_owners,
            ]
            return sum(int(a.nbytes) for a in arrays)

    def add(self, key: str, cylinders: mcc.Cylinders) -> None:
        """Enrol one template (its cylinders) under a new key."""
        with self._lock:
            if key in self._key_set:
                raise ValueError(f"template {key!r} is enrolled already")
            self._key_set.add(key)
            self.keys.append(key)
            self._pending.append(cylinders)

    def _template(self, number: int) -> mcc.Cylinders:
        start, stop = int(self._starts[number]), int(self._starts[number + 1])
        return mcc.Cylinders(
            self._bits[start:stop], self._masks[start:stop], self._minutiae[start:stop]
        )

    def _build_locked(self) -> None:
        """Fold the pending templates into the arrays and rebuild the hash tables."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        counts = np.array([len(c) for c in pending], dtype=np.int64)
        self._bits = np.concatenate([self._bits, *[c.bits for c in pending]])
        self._masks = np.concatenate([self._masks, *[c.masks for c in pending]])
        self._minutiae = np.concatenate([self._minutiae, *[c.minutiae for c in pending]])
        self._starts = np.concatenate([self._starts, self._starts[-1] + np.cumsum(counts)])
        self._owners = np.repeat(np.arange(len(self.keys), dtype=np.int32), np.diff(self._starts))
        cylinder_ids = np.arange(len(self._owners), dtype=np.int32)
        keys = (
            np.concatenate(
                [
                    hash_keys(
                        mcc.Cylinders(
                            self._bits[i : i + 65536],
                            self._masks[i : i + 65536],
                            self._minutiae[i : i + 65536],
                        )
                    )
                    for i in range(0, len(self._bits), 65536)
                ]
            )
            if len(self._bits)
            else np.zeros((0, TABLES), np.int64)
        )
        self._table_keys, self._table_owners = [], []
        for table in range(TABLES):
            column = keys[:, table]
            hashed = column >= 0
            order = np.argsort(column[hashed], kind="stable")
            # Keys are below (inner bits + 1) ** ROWS: int32 halves the tables' memory.
            self._table_keys.append(column[hashed][order].astype(np.int32))
            self._table_owners.append(cylinder_ids[hashed][order])
        self._indexed = len(self.keys)

    def prefilter(
        self, probe: mcc.Cylinders, shortlist: int | None = None
    ) -> npt.NDArray[np.int64]:
        """The template numbers with the most hash collisions, best first: `shortlist` of them,
        by default as many as `search` ranks for this probe."""
        with self._lock:
            self._build_locked()
            wanted = shortlist_size(len(probe)) if shortlist is None else shortlist
            return self._prefilter_locked(probe, wanted)

    def _prefilter_locked(self, probe: mcc.Cylinders, shortlist: int) -> npt.NDArray[np.int64]:
        if self._indexed == 0 or len(probe) == 0:
            return np.zeros(0, dtype=np.int64)
        if len(probe) > PREFILTER_CYLINDERS:
            # A roll's cylinders are many: its most complete ones suffice to find the mate.
            valid = np.bitwise_count(probe.masks).sum(axis=1)
            keep = np.sort(np.argsort(-valid, kind="stable")[:PREFILTER_CYLINDERS])
            probe = mcc.Cylinders(probe.bits[keep], probe.masks[keep], probe.minutiae[keep])
        probe_keys = hash_keys(probe)
        votes = np.zeros(self._indexed, dtype=np.float64)
        best = np.zeros(self._indexed, dtype=np.float64)
        for row in probe_keys:
            owners = []
            for table, wanted in enumerate(row.tolist()):
                keys = self._table_keys[table]
                if wanted < 0 or len(keys) == 0:
                    continue
                # As int32, like the keys: a Python int would have numpy copy the table to
                # int64 for every lookup.
                key = np.int32(wanted)
                start = int(np.searchsorted(keys, key, side="left"))
                stop = int(np.searchsorted(keys, key, side="right"))
                # A crowded bucket (a sparse cylinder's key) says little: skipped.
                if 0 < stop - start <= max(len(keys) * _CROWDED, _CROWDED_FLOOR):
                    owners.append(self._table_owners[table][start:stop])
            if owners:
                # In how many tables each gallery cylinder shared this cylinder's bucket: the
                # same minutia in two impressions collides in many tables, chance pairs in one
                # or two. A template scores its best cylinder's count, squared.
                cylinders, tables = np.unique(np.concatenate(owners), return_counts=True)
                strength = tables.astype(np.float64) ** 2
                np.maximum.at(best, self._owners[cylinders], strength)
                touched = np.unique(self._owners[cylinders])
                votes[touched] += best[touched]
                best[touched] = 0.0
        sizes = np.maximum(np.diff(self._starts), 1).astype(np.float64)
        votes /= sizes**_SIZE_POWER
        count = min(shortlist, int((votes > 0).sum()))
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-votes, count - 1)[:count]
        ranked: npt.NDArray[np.int64] = top[np.argsort(-votes[top], kind="stable")].astype(np.int64)
        return ranked

    def _rank_locked(
        self, probe: mcc.Cylinders, numbers: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """The LSS-R scores of templates `numbers`, _RANK_CHUNK templates at a time: their
        cylinders gathered word-major, compared with the probe's at once, then scored."""
        scores = np.zeros(len(numbers), np.float64)
        if len(probe) == 0:
            return scores
        for first in range(0, len(numbers), _RANK_CHUNK):
            chunk = numbers[first : first + _RANK_CHUNK]
            starts, stops = self._starts[chunk], self._starts[chunk + 1]
            lengths = stops - starts
            filled = lengths > 0
            if not filled.any():
                continue
            starts, lengths = starts[filled], lengths[filled]
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            rows = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
            sim = mcc.local_similarities_many(
                probe,
                np.ascontiguousarray(self._bits[rows].T),
                np.ascontiguousarray(self._masks[rows].T),
                self._minutiae[rows],
            )
            # Each template's block of the similarities, padded to the longest template.
            width = int(lengths.max())
            owner = np.repeat(np.arange(len(lengths)), lengths)
            place = np.arange(len(rows)) - offsets[owner]
            lsm = np.full((len(lengths), len(probe), width), -1.0, np.float32)
            lsm[owner, :, place] = sim.T
            minutiae = np.zeros((len(lengths), width, 3), np.float32)
            minutiae[owner, place] = self._minutiae[rows]
            scores[first + np.nonzero(filled)[0]] = mcc.score_many(probe, lsm, minutiae, lengths)
        return scores

    def search(
        self, probe: mcc.Cylinders, limit: int = 10, shortlist: int | None = None
    ) -> list[Candidate]:
        """The enrolled templates most like the probe, best first, with their MCC scores.
        Searches hold the gallery's lock (the arrays they read are rebuilt when templates are
        added); they are bound by the CPU anyway."""
        with self._lock:
            self._build_locked()
            wanted = shortlist_size(len(probe)) if shortlist is None else shortlist
            if self._indexed <= wanted:
                # A gallery no larger than the shortlist is compared in full.
                numbers: npt.NDArray[np.int64] = np.arange(self._indexed, dtype=np.int64)
            else:
                numbers = self._prefilter_locked(probe, wanted)
            ranked = self._rank_locked(probe, numbers)
            best = numbers[np.argsort(-ranked, kind="stable")[: max(limit, RESCORED)]]
            # The reported scores are the 1:1 comparison's (HIT_SCORE is set on them).
            scored = [(mcc.score(probe, self._template(int(n))), int(n)) for n in best]
            scored.sort(key=lambda pair: (-pair[0], pair[1]))
            return [Candidate(self.keys[n], s) for s, n in scored[:limit] if s > 0]
