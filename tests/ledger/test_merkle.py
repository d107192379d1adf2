"""Tests for ledger.merkle: the fast tree against the RFC 9162 reference, properties, vectors."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import InputError, ProofError, StoreError
from ledger.merkle import (
    EMPTY_ROOT,
    MemoryNodes,
    MerkleTree,
    NodeRuns,
    PendingNodes,
    leaf_hash,
    new_nodes,
    node_hash,
    node_runs,
    right_edge,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from ledger.store import CommitBatch, MemoryLogStore
from tests.ledger import reference_merkle as ref

TESTDATA = Path(__file__).parents[2].parent / "shared" / "testdata"
VECTORS = TESTDATA / "transparency-dev-merkle" / "testdata"

SMALL = 70
BIG = 2048
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _data(i: int) -> bytes:
    # Distinct leaves: with duplicate leaves a proof for one index can verify for its twin.
    return f"entry {i}".encode()


def _build(size: int, seed: int) -> tuple[list[bytes], MemoryNodes, MerkleTree]:
    """A tree of `size` leaves, appended with new_nodes in random batch sizes."""
    rng = random.Random(seed)
    leaves = [_data(i) for i in range(size)]
    nodes = MemoryNodes()
    done = 0
    while done < size:
        batch = leaves[done : done + rng.randint(1, 9)]
        nodes.extend(new_nodes(done, [leaf_hash(d) for d in batch], nodes))
        done += len(batch)
    return leaves, nodes, MerkleTree(nodes)


@functools.cache
def _big_tree() -> tuple[list[bytes], MerkleTree]:
    leaves, _, tree = _build(BIG, seed=2)
    return leaves, tree


def _flip(digest: bytes, bit: int) -> bytes:
    out = bytearray(digest)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


class CountingNodes:
    """A NodeReader that counts reads, to check how often new_nodes goes to the store."""

    def __init__(self, inner: MemoryNodes) -> None:
        self.inner = inner
        self.reads = 0

    def node(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return self.inner.node(level, index)


# --- hashing -------------------------------------------------------------------------------


def test_leaf_hash_known_answer() -> None:
    # RFC 6962 / transparency-dev: the hash of the empty leaf.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()


def test_node_hash_known_answer() -> None:
    left, right = b"\x11" * 32, b"\x22" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) != node_hash(right, left)


def test_empty_root_is_hash_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleTree(MemoryNodes()).root(0) == EMPTY_ROOT


# --- the fast tree against the reference ----------------------------------------------------


def test_merkle_tree_root_matches_reference_at_every_size() -> None:
    leaves, _, tree = _build(SMALL, seed=1)
    for size in range(SMALL + 1):
        assert tree.root(size) == ref.mth(leaves[:size]), size


def test_merkle_tree_inclusion_proof_matches_reference_for_every_index() -> None:
    leaves, _, tree = _build(SMALL, seed=1)
    for size in range(1, SMALL + 1):
        for index in range(size):
            assert tree.inclusion_proof(index, size) == ref.path(index, leaves[:size]), (
                index,
                size,
            )


def test_merkle_tree_consistency_proof_matches_reference_for_every_pair() -> None:
    leaves, _, tree = _build(SMALL, seed=1)
    for size2 in range(1, SMALL + 1):
        for size1 in range(1, size2 + 1):
            assert tree.consistency_proof(size1, size2) == ref.proof(size1, leaves[:size2]), (
                size1,
                size2,
            )


def test_merkle_tree_proofs_verify_at_every_size() -> None:
    leaves, _, tree = _build(SMALL, seed=3)
    for size2 in range(1, SMALL + 1):
        root2 = tree.root(size2)
        for index in range(size2):
            proof = tree.inclusion_proof(index, size2)
            verify_inclusion(leaf_hash(leaves[index]), index, size2, proof, root2)
        for size1 in range(1, size2 + 1):
            proof = tree.consistency_proof(size1, size2)
            verify_consistency(size1, size2, proof, tree.root(size1), root2)


def test_merkle_tree_subtree_hash_matches_reference() -> None:
    leaves, _, tree = _build(SMALL, seed=4)
    # Every range PATH and SUBPROOF use: start aligned to the power of two covering the range.
    for start in range(SMALL):
        for end in range(start + 1, SMALL + 1):
            width = 1 << (end - start - 1).bit_length()
            if start % width == 0:
                assert tree.subtree_hash(start, end) == ref.mth(leaves[start:end])


def test_merkle_tree_subtree_hash_rejects_unaligned_range() -> None:
    _, _, tree = _build(16, seed=5)
    with pytest.raises(InputError, match="not a subtree"):
        tree.subtree_hash(1, 3)


def test_merkle_tree_rejects_out_of_range_arguments() -> None:
    _, _, tree = _build(8, seed=6)
    for index, size in [(-1, 8), (8, 8), (0, 0)]:
        with pytest.raises(InputError):
            tree.inclusion_proof(index, size)
    for size1, size2 in [(0, 8), (5, 4), (-1, 3)]:
        with pytest.raises(InputError):
            tree.consistency_proof(size1, size2)
    with pytest.raises(InputError):
        tree.root(-1)
    with pytest.raises(InputError):
        tree.subtree_hash(4, 2)


def test_merkle_tree_missing_node_raises_store_error() -> None:
    _, _, tree = _build(8, seed=7)
    with pytest.raises(StoreError, match="missing Merkle node level=2 index=2"):
        tree.root(12)
    with pytest.raises(StoreError, match="missing Merkle node"):
        tree.inclusion_proof(0, 9)


def test_pending_nodes_give_the_root_before_they_are_written() -> None:
    leaves = [_data(i) for i in range(SMALL)]
    written = MemoryNodes(new_nodes(0, [leaf_hash(d) for d in leaves[:37]], MemoryNodes()))
    fresh = new_nodes(37, [leaf_hash(d) for d in leaves[37:]], written)
    assert MerkleTree(PendingNodes(written, fresh)).root(SMALL) == ref.mth(leaves)
    with pytest.raises(StoreError):
        MerkleTree(written).root(SMALL)


def test_merkle_tree_equal_sizes_consistency_proof_is_empty() -> None:
    _, _, tree = _build(5, seed=8)
    assert tree.consistency_proof(5, 5) == []


def test_merkle_tree_reads_from_a_log_store() -> None:
    store = MemoryLogStore()
    leaves = [_data(i) for i in range(37)]
    for start in range(0, 37, 10):
        batch = leaves[start : start + 10]
        nodes = new_nodes(start, [leaf_hash(d) for d in batch], store)
        store.commit(CommitBatch(start=start, entries=batch, nodes=nodes))
    assert MerkleTree(store).root(37) == ref.mth(leaves)


# --- new_nodes -------------------------------------------------------------------------------


def test_new_nodes_returns_exactly_the_completed_subtrees() -> None:
    leaves = [_data(i) for i in range(40)]
    nodes = MemoryNodes()
    nodes.extend(new_nodes(0, [leaf_hash(d) for d in leaves[:13]], nodes))
    made = new_nodes(13, [leaf_hash(d) for d in leaves[13:40]], nodes)
    expected = {
        (level, index)
        for level in range(6)
        for index in range(40 >> level)
        if (index + 1) << level > 13  # complete at 40 leaves but not at 13
    }
    assert {(level, index) for level, index, _ in made} == expected
    assert len(made) == len(expected)
    for level, index, digest in made:
        assert digest == ref.mth(leaves[index << level : (index + 1) << level])


def test_new_nodes_batch_reads_each_level_at_most_once() -> None:
    size, batch = 12345, 1000
    _, nodes, _ = _build(size, seed=9)
    counting = CountingNodes(nodes)
    made = new_nodes(size, [leaf_hash(_data(size + i)) for i in range(batch)], counting)
    assert counting.reads <= (size + batch).bit_length()
    # One leaf plus about one interior node per appended leaf.
    assert len(made) <= 2 * batch + (size + batch).bit_length()


def test_new_nodes_empty_batch_creates_nothing() -> None:
    assert new_nodes(5, [], MemoryNodes()) == []


def test_new_nodes_missing_left_sibling_raises_store_error() -> None:
    with pytest.raises(StoreError, match="missing Merkle node level=0 index=4"):
        new_nodes(5, [leaf_hash(b"x")], MemoryNodes())


def test_new_nodes_rejects_bad_arguments() -> None:
    with pytest.raises(InputError):
        new_nodes(0, [b"short"], MemoryNodes())
    with pytest.raises(InputError):
        new_nodes(-1, [leaf_hash(b"x")], MemoryNodes())


def test_right_edge_is_all_that_later_roots_and_appends_read() -> None:
    """A chunk's right edge over the nodes written before it gives the same roots and the same
    next chunk as all of its nodes would (what a replica checks the next chunk against)."""
    rng = random.Random(12)
    leaves = [_data(i) for i in range(600)]
    for _ in range(60):
        size = rng.randrange(0, 300)
        end = size + rng.randrange(1, 150)
        more = rng.randrange(1, 150)
        written = MemoryNodes(new_nodes(0, [leaf_hash(d) for d in leaves[:size]], MemoryNodes()))
        made = new_nodes(size, [leaf_hash(d) for d in leaves[size:end]], written)
        edge = right_edge(size, end, made)
        assert len(edge) <= end.bit_length()
        assert set(edge.items()) <= {((level, index), digest) for level, index, digest in made}
        over_edge = PendingNodes(written, [(lv, i, d) for (lv, i), d in edge.items()])
        over_all = PendingNodes(written, made)
        assert MerkleTree(over_edge).root(end) == ref.mth(leaves[:end])
        later = [leaf_hash(d) for d in leaves[end : end + more]]
        next_made = new_nodes(end, later, over_edge)
        assert next_made == new_nodes(end, later, over_all)
        assert MerkleTree(PendingNodes(over_edge, next_made)).root(end + more) == ref.mth(
            leaves[: end + more]
        )


def test_right_edge_refuses_nodes_not_laid_out_by_new_nodes() -> None:
    made = new_nodes(0, [leaf_hash(_data(i)) for i in range(6)], MemoryNodes())
    with pytest.raises(InputError):
        right_edge(0, 6, list(reversed(made)))
    with pytest.raises(InputError):
        right_edge(0, 6, made[:4])


def test_node_runs_are_new_nodes_one_run_per_level() -> None:
    """Runs list as new_nodes' (level, index, hash) and read as a Sequence of them."""
    leaves = [_data(i) for i in range(300)]
    written = MemoryNodes(new_nodes(0, [leaf_hash(d) for d in leaves[:45]], MemoryNodes()))
    runs = node_runs(45, [leaf_hash(d) for d in leaves[45:300]], written)
    listed = new_nodes(45, [leaf_hash(d) for d in leaves[45:300]], written)
    assert list(runs) == listed and runs == listed and len(runs) == len(listed)
    # One run per level, from index 45 >> level, each as long as that level's new nodes.
    assert [(level, first, len(hashes)) for level, first, hashes in runs.runs] == [
        (level, 45 >> level, (300 >> level) - (45 >> level))
        for level in range(9)
        if (300 >> level) - (45 >> level)
    ]
    for position in (0, 1, 254, 255, len(listed) - 1, -1, -len(listed)):
        assert runs[position] == listed[position]
    assert runs[3:40:7] == listed[3:40:7]
    assert list(reversed(runs)) == listed[::-1]
    with pytest.raises(IndexError):
        runs[len(listed)]
    with pytest.raises(IndexError):
        runs[-len(listed) - 1]
    assert runs.by_position() == {(level, index): h for level, index, h in listed}
    before = len(written)
    assert MerkleTree(PendingNodes(written, runs)).root(300) == ref.mth(leaves)
    written.extend(runs)  # a run at a time
    assert len(written) == before + len(listed)
    assert MerkleTree(written).root(300) == ref.mth(leaves)


def test_node_runs_joined_hold_every_node_of_each() -> None:
    leaves = [_data(i) for i in range(100)]
    store = MemoryNodes()
    first = node_runs(0, [leaf_hash(d) for d in leaves[:37]], store)
    store.extend(first)
    second = node_runs(37, [leaf_hash(d) for d in leaves[37:]], store)
    joined = NodeRuns.joined([first, second])
    assert list(joined) == [*first, *second]
    assert NodeRuns.joined([]) == [] and node_runs(5, [], MemoryNodes()) == []


def test_right_edge_of_runs_is_the_right_edge_of_their_list() -> None:
    rng = random.Random(13)
    leaves = [_data(i) for i in range(400)]
    for _ in range(40):
        size = rng.randrange(0, 200)
        end = size + rng.randrange(1, 200)
        written = MemoryNodes(new_nodes(0, [leaf_hash(d) for d in leaves[:size]], MemoryNodes()))
        runs = node_runs(size, [leaf_hash(d) for d in leaves[size:end]], written)
        assert right_edge(size, end, runs) == right_edge(size, end, list(runs))


def test_right_edge_refuses_runs_not_laid_out_by_node_runs() -> None:
    runs = node_runs(
        3,
        [leaf_hash(_data(i)) for i in range(3, 9)],
        MemoryNodes(new_nodes(0, [leaf_hash(_data(i)) for i in range(3)], MemoryNodes())),
    )
    with pytest.raises(InputError):
        right_edge(3, 10, runs)  # one leaf more than the runs hold
    with pytest.raises(InputError):
        right_edge(2, 9, runs)  # another start: other first indexes
    with pytest.raises(InputError):
        right_edge(3, 9, NodeRuns(runs.runs[1:]))  # a level missing
    with pytest.raises(InputError):
        right_edge(3, 9, NodeRuns(reversed(runs.runs)))


# --- properties ------------------------------------------------------------------------------


@st.composite
def _index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, BIG))
    return draw(st.integers(0, size - 1)), size


@st.composite
def _two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(2, BIG))
    return draw(st.integers(1, size2 - 1)), size2


@PROPERTY_SETTINGS
@given(_index_and_size(), st.data())
def test_verify_inclusion_accepts_proofs_and_rejects_tampering(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    leaves, tree = _big_tree()
    leaf, root = leaf_hash(leaves[index]), tree.root(size)
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(leaf, index, size, proof, root)
    assert root_from_inclusion_proof(leaf, index, size, proof) == root

    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = [*proof]
        bad[position] = _flip(bad[position], bit)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, bad, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, _flip(root, data.draw(st.integers(0, 255))))
    with pytest.raises(ProofError):
        verify_inclusion(_flip(leaf, 7), index, size, proof, root)

    other_index = data.draw(st.integers(0, BIG))
    if other_index != index:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other_index, size, proof, root)
    # A proof binds to the root it was made for: it does not verify against another size's
    # root. (With the *same* root, some other sizes share the path shape, e.g. leaf 0 of 5
    # and of 6 leaves, so "same root, different size" is not something a verifier can see.)
    other_size = data.draw(st.integers(index + 1, BIG))
    if other_size != size:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, other_size, proof, tree.root(other_size))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size * 2, proof, root)


@PROPERTY_SETTINGS
@given(_two_sizes(), st.data())
def test_verify_consistency_accepts_proofs_and_rejects_tampering(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    size1, size2 = sizes
    _, tree = _big_tree()
    root1, root2 = tree.root(size1), tree.root(size2)
    proof = tree.consistency_proof(size1, size2)
    verify_consistency(size1, size2, proof, root1, root2)

    position = data.draw(st.integers(0, len(proof) - 1))
    bad = [*proof]
    bad[position] = _flip(bad[position], data.draw(st.integers(0, 255)))
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, bad, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, _flip(root1, 3), root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, root1, _flip(root2, 200))
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof[:-1], root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, [*proof, proof[-1]], root1, root2)

    other1 = data.draw(st.integers(1, size2))
    if other1 != size1:
        with pytest.raises(ProofError):
            verify_consistency(other1, size2, proof, tree.root(other1), root2)
    other2 = data.draw(st.integers(size1, BIG))
    if other2 != size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, other2, proof, root1, tree.root(other2))


@PROPERTY_SETTINGS
@given(st.integers(1, BIG))
def test_merkle_tree_root_matches_reference_for_large_sizes(size: int) -> None:
    leaves, tree = _big_tree()
    assert tree.root(size) == ref.mth(leaves[:size])


# --- edge cases ------------------------------------------------------------------------------


def test_verify_consistency_rejects_the_empty_tree_and_bad_sizes() -> None:
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError):
        verify_consistency(3, 2, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="not empty"):
        verify_consistency(2, 2, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(2, 2, [], b"r" * 32, b"r" * 32)


def test_verify_inclusion_rejects_bad_lengths() -> None:
    with pytest.raises(ProofError, match="leaf hash"):
        verify_inclusion(b"", 0, 1, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="proof element 0"):
        verify_inclusion(EMPTY_ROOT, 0, 2, [b"x"], EMPTY_ROOT)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(EMPTY_ROOT, 2**64 - 1, 8, [], EMPTY_ROOT)


# --- transparency-dev/merkle vectors ---------------------------------------------------------


def _vector_files() -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, id="vectors-absent")]
    files = sorted(VECTORS.rglob("*.json"))
    return [pytest.param(f, id=str(f.relative_to(VECTORS))) for f in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


@pytest.mark.parametrize("path", _vector_files())
def test_verifiers_match_transparency_dev_vector(path: Path | None) -> None:
    if path is None:
        pytest.skip(reason=f"transparency-dev vectors not found at {VECTORS}")
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case.get("proof") or []]
    try:
        if "leafIdx" in case:
            verify_inclusion(
                _b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"])
            )
        else:
            verify_consistency(
                case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"])
            )
    except ProofError as error:
        assert case["wantErr"], f"{case['desc']}: rejected a valid proof: {error}"
    else:
        assert not case["wantErr"], f"{case['desc']}: accepted a bad proof"


def test_transparency_dev_vectors_are_all_found() -> None:
    if not VECTORS.is_dir():
        pytest.skip(reason=f"transparency-dev vectors not found at {VECTORS}")
    files = list(VECTORS.rglob("*.json"))
    assert len({f.parent.parent.name for f in files} & {"inclusion", "consistency"}) == 2
    assert len(files) >= 190
