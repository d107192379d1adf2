"""The log's Merkle tree: RFC 9162 section 2.1 hashing, proofs, and their verifiers.

Hashes: leaf = SHA-256(0x00 || data), interior = SHA-256(0x01 || left || right), and the empty
tree's root is SHA-256 of nothing. The tree of n leaves splits at k, the largest power of two
below n; so it is a row of *complete* subtrees (one per set bit of n, largest first) folded
right to left. The store keeps only those complete subtrees, as (level, index) = the 2**level
leaves starting at leaf index * 2**level; every root, subtree hash and proof element is
rebuilt from O(log n) of them.

This module is pure logic over a NodeReader: no I/O, no store, only hashlib. Generators
raise InputError for impossible arguments and StoreError when a node they need is missing;
verifiers return None or raise ProofError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, repeat
from typing import Final, Protocol, overload

from ledger.errors import InputError, ProofError, StoreError

HASH_SIZE: Final = 32
EMPTY_ROOT: Final[bytes] = hashlib.sha256(b"").digest()
"""Root of the tree with no leaves (RFC 9162: the hash of an empty string)."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


class NodeReader(Protocol):
    """Where the hashes of complete subtrees are read from (a LogStore is one)."""

    def node(self, level: int, index: int) -> bytes | None:
        """Hash of the complete subtree of 2**level leaves starting at leaf index * 2**level."""
        ...


class MemoryNodes:
    """A NodeReader over a dict: for tests, verifiers and callers that build trees in memory."""

    def __init__(self, nodes: Iterable[tuple[int, int, bytes]] = ()) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.extend(nodes)

    def node(self, level: int, index: int) -> bytes | None:
        """The stored hash of node (level, index), or None."""
        return self._nodes.get((level, index))

    def put(self, level: int, index: int, digest: bytes) -> None:
        """Stores the hash of node (level, index)."""
        self._nodes[(level, index)] = digest

    def extend(self, nodes: Iterable[tuple[int, int, bytes]]) -> None:
        """Stores every (level, index, hash), e.g. the output of new_nodes."""
        if isinstance(nodes, NodeRuns):
            self._nodes.update(nodes.by_position())
            return
        for level, index, digest in nodes:
            self._nodes[(level, index)] = digest

    def __len__(self) -> int:
        return len(self._nodes)


class PendingNodes:
    """A NodeReader over another reader plus nodes not yet written to it: the root of a tree
    after a commit, computed before the commit (from new_nodes' output)."""

    def __init__(self, reader: NodeReader, fresh: Iterable[tuple[int, int, bytes]]) -> None:
        self._reader = reader
        self._fresh = (
            fresh.by_position()
            if isinstance(fresh, NodeRuns)
            else {(level, index): digest for level, index, digest in fresh}
        )

    def node(self, level: int, index: int) -> bytes | None:
        """The fresh hash of node (level, index), else the underlying reader's."""
        found = self._fresh.get((level, index))
        return found if found is not None else self._reader.node(level, index)


def _read(reader: NodeReader, level: int, index: int) -> bytes:
    digest = reader.node(level, index)
    if digest is None:
        first = index << level
        raise StoreError(
            f"missing Merkle node level={level} index={index} "
            f"(leaves {first}..{first + (1 << level) - 1})"
        )
    return digest


class NodeRuns(Sequence[tuple[int, int, bytes]]):
    """The new nodes of an append, one run per level: (level, first index, hashes), the
    hashes those of nodes first, first + 1, ... of that level.

    A Sequence of (level, index, hash) for any reader, but kept as runs: an append makes about
    two nodes per leaf, and a tuple and an index object for each were a large share of a
    replica's catch-up (made, then freed after the commit). Stores write a run at a time
    (`runs`): one range check and one comprehension of keys per level.
    """

    __slots__ = ("_len", "_runs")

    def __init__(self, runs: Iterable[tuple[int, int, Sequence[bytes]]] = ()) -> None:
        self._runs: tuple[tuple[int, int, Sequence[bytes]], ...] = tuple(
            run for run in runs if run[2]
        )
        self._len = sum(len(hashes) for _, _, hashes in self._runs)

    @property
    def runs(self) -> tuple[tuple[int, int, Sequence[bytes]], ...]:
        """(level, first index, hashes) per run, none empty."""
        return self._runs

    @classmethod
    def joined(cls, parts: Iterable[NodeRuns]) -> NodeRuns:
        """The runs of several appends together (for one commit of consecutive chunks)."""
        return cls(run for part in parts for run in part._runs)

    def by_position(self) -> dict[tuple[int, int], bytes]:
        """{(level, index): hash} of every node, built a run at a time."""
        found: dict[tuple[int, int], bytes] = {}
        for level, first, hashes in self._runs:
            positions = zip(repeat(level), range(first, first + len(hashes)))
            found.update(zip(positions, hashes, strict=True))
        return found

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        for level, first, hashes in self._runs:
            yield from zip(repeat(level), range(first, first + len(hashes)), hashes)

    @overload
    def __getitem__(self, position: int) -> tuple[int, int, bytes]: ...

    @overload
    def __getitem__(self, position: slice) -> list[tuple[int, int, bytes]]: ...

    def __getitem__(
        self, position: int | slice
    ) -> tuple[int, int, bytes] | list[tuple[int, int, bytes]]:
        if isinstance(position, slice):
            return list(self)[position]
        if position < 0:
            position += self._len
        if not 0 <= position < self._len:
            raise IndexError(f"node {position} of {self._len}")
        for level, first, hashes in self._runs:
            if position < len(hashes):
                return level, first + position, hashes[position]
            position -= len(hashes)
        raise AssertionError("unreachable: position checked against the length")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeRuns):
            return self._len == other._len and list(self) == list(other)
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable hashes lists inside

    def __repr__(self) -> str:
        return f"NodeRuns({[(lv, first, len(h)) for lv, first, h in self._runs]})"


def node_runs(size: int, leaf_hashes: Sequence[bytes], reader: NodeReader) -> NodeRuns:
    """Every complete subtree that appending `leaf_hashes` creates, as runs per level.

    The tree has `size` leaves whose complete subtrees `reader` holds. The leaves come out
    at level 0, then each level above in index order. Level by level: the new nodes of one
    level, paired from the left, make the new nodes of the next (about one hash per leaf in
    all). Only the first pair of a level can have an old left half (when the level's first
    new node has an odd index), so the reader is consulted at most once per level.
    """
    if size < 0:
        raise InputError(f"tree size {size} is negative")
    if not all(map(HASH_SIZE.__eq__, map(len, leaf_hashes))):  # in C: no Python step per leaf
        for offset, digest in enumerate(leaf_hashes):
            if len(digest) != HASH_SIZE:
                raise InputError(f"leaf hash {offset} has {len(digest)} bytes, want {HASH_SIZE}")
    sha = _sha256
    runs: list[tuple[int, int, Sequence[bytes]]] = []
    level, first, hashes = 0, size, list(leaf_hashes)  # the new nodes of `level`, from `first`
    while hashes:
        runs.append((level, first, hashes))
        paired: Iterator[bytes] = iter(hashes)
        if first & 1:  # the first new node is a right child: its left half is old
            paired = chain((_read(reader, level, first - 1),), paired)
        # Pairs (2k, 2k+1) complete their parents; an unpaired last node waits for its sibling
        # (zip over one iterator twice takes consecutive pairs and drops an odd last one).
        hashes = [
            sha(b"\x01" + left + right).digest()
            for left, right in zip(paired, paired, strict=False)
        ]
        level, first = level + 1, first >> 1
    return NodeRuns(runs)


def new_nodes(
    size: int, leaf_hashes: Sequence[bytes], reader: NodeReader
) -> list[tuple[int, int, bytes]]:
    """Every complete subtree (level, index, hash) that appending `leaf_hashes` creates, in
    the order of `node_runs` (which this lists; see there)."""
    return list(node_runs(size, leaf_hashes, reader))


def right_edge(
    size: int, end: int, nodes: Sequence[tuple[int, int, bytes]]
) -> dict[tuple[int, int], bytes]:
    """Of `nodes`, new_nodes' output for appending leaves size..end-1, the last node of each
    level, by (level, index): the only new nodes that the root at `end` and any later append's
    new_nodes and roots read (the root at n reads, per set bit L of n, node (L, (n >> L) - 1),
    the last complete one of its level; new_nodes reads the same ones). A caller holding nodes
    before it stores them (a replica checking the next chunk against the one being written)
    keeps these few instead of a dict of all of them.

    Level L of the output holds (end >> L) - (size >> L) nodes, so the positions follow from
    the sizes alone; InputError when `nodes` is not laid out that way.
    """
    if isinstance(nodes, NodeRuns):
        return _right_edge_of_runs(size, end, nodes)
    edge: dict[tuple[int, int], bytes] = {}
    position, level = 0, 0
    while (count := (end >> level) - (size >> level)) > 0:
        position += count
        if position > len(nodes):
            raise InputError(f"{len(nodes)} nodes are not the new nodes of leaves {size}..{end}")
        found_level, index, digest = nodes[position - 1]
        if (found_level, index) != (level, (end >> level) - 1):
            raise InputError(f"the nodes of leaves {size}..{end} are not in new_nodes' order")
        edge[(level, index)] = digest
        level += 1
    return edge


def _right_edge_of_runs(size: int, end: int, nodes: NodeRuns) -> dict[tuple[int, int], bytes]:
    """right_edge for runs: run L must be level L from index size >> L, with as many nodes."""
    edge: dict[tuple[int, int], bytes] = {}
    runs = nodes.runs
    level = 0
    while (count := (end >> level) - (size >> level)) > 0:
        if level >= len(runs):
            raise InputError(f"{len(nodes)} nodes are not the new nodes of leaves {size}..{end}")
        found_level, first, hashes = runs[level]
        if (found_level, first, len(hashes)) != (level, size >> level, count):
            raise InputError(f"the nodes of leaves {size}..{end} are not in new_nodes' order")
        edge[(level, first + count - 1)] = hashes[-1]
        level += 1
    return edge


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2): the RFC 9162 split point k."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """Roots and proofs for a log whose complete subtrees a NodeReader holds.

    Nothing is cached: each call reads O(log n) nodes, so it is always as fresh as the reader.
    """

    def __init__(self, reader: NodeReader) -> None:
        self._reader = reader

    def root(self, size: int) -> bytes:
        """MTH of the first `size` leaves (EMPTY_ROOT for size 0)."""
        if size < 0:
            raise InputError(f"tree size {size} is negative")
        return self.subtree_hash(0, size)

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves start..end-1, for a range that is a node of the RFC 9162 tree.

        Such a range splits into complete subtrees, one per set bit of end - start (largest
        first), each aligned to its own size; their hashes fold right to left.
        """
        if not 0 <= start <= end:
            raise InputError(f"leaf range {start}..{end} is not a valid range")
        if start == end:
            return EMPTY_ROOT
        reader = self._reader
        pieces: list[bytes] = []
        position = start
        remaining = end - start
        while remaining:
            level = remaining.bit_length() - 1
            width = 1 << level
            if position & (width - 1):
                raise InputError(
                    f"leaf range {start}..{end} is not a subtree of an RFC 9162 Merkle tree"
                )
            pieces.append(_read(reader, level, position >> level))
            position += width
            remaining -= width
        digest = pieces[-1]
        for left in reversed(pieces[:-1]):
            digest = node_hash(left, digest)
        return digest

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 2.1.3.1: sibling hashes, leaf level first."""
        if not 0 <= index < size:
            raise InputError(f"leaf index {index} is outside a tree of size {size}")
        path: list[bytes] = []
        start, end = 0, size
        # Walk down from the root; each step records the sibling of the half holding `index`.
        while end - start > 1:
            k = _largest_power_below(end - start)
            if index < start + k:
                path.append(self.subtree_hash(start + k, end))
                end = start + k
            else:
                path.append(self.subtree_hash(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """PROOF(size1, D[size2]) of RFC 9162 2.1.4.1 (SUBPROOF with b = true).

        Empty when size1 == size2. A proof from the empty tree is refused, as the
        transparency-dev verifier refuses to check one.
        """
        if not 0 < size1 <= size2:
            raise InputError(
                f"no consistency proof from size {size1} to size {size2} (need 0 < size1 <= size2)"
            )
        proof: list[bytes] = []
        start, end, m = 0, size2, size1
        whole = True  # b of SUBPROOF: the old tree is a prefix of the current range
        while m != end - start:
            k = _largest_power_below(end - start)
            if m <= k:
                proof.append(self.subtree_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree_hash(start, start + k))
                start += k
                m -= k
                whole = False
        if not whole:
            # SUBPROOF(m, D[m], false) = {MTH(D[m])}: this subtree's own hash is needed.
            proof.append(self.subtree_hash(start, end))
        proof.reverse()
        return proof


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise ProofError(f"proof element {position} has {len(element)} bytes, want {HASH_SIZE}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that `proof` implies for `leaf_hash` at `index` in a tree of `size` leaves.

    RFC 9162 2.1.3.2 steps 1-4 (everything but the final root comparison).
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"leaf hash has {len(leaf_hash)} bytes, want {HASH_SIZE}")
    _check_proof_hashes(proof)
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # On the right border, levels where this node has no sibling are skipped.
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Checks that leaf `leaf_hash` sits at `index` of the tree of `size` leaves with `root`.

    RFC 9162 2.1.3.2. Returns None, or raises ProofError saying why not.
    """
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(
            f"inclusion proof for leaf {index} of tree size {size} gives root "
            f"{computed.hex()}, expected {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Checks that the tree (size2, root2) extends the tree (size1, root1).

    RFC 9162 2.1.4.2, with the edge cases of transparency-dev/merkle's Go verifier: equal
    sizes need an empty proof and equal roots; a proof from size 0 is refused (it would
    claim nothing, and the vectors treat it as an error even for 0 -> 0). Returns None, or
    raises ProofError saying why not.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"no consistency from size {size1} to size {size2}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        if proof:
            raise ProofError(f"sizes are equal ({size1}) but the proof is not empty")
        if root1 != root2:
            raise ProofError(f"sizes are equal ({size1}) but the roots differ")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from size {size1} to size {size2}")
    _check_proof_hashes(proof)

    path = list(proof)
    # Step 2: when size1 is a power of two the old root is itself the first node.
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    # Step 4: start from the largest complete subtree ending at size1.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise ProofError(f"consistency proof does not reproduce the root of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not reproduce the root of size {size2}")
