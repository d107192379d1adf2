"""The one conformance suite every LogStore passes.

A store's test module subclasses `LogStoreConformance` and supplies `make_store` (and, for a
durable store, `durable = True` and `reopen`). The reference semantics are MemoryLogStore's:
what it does, every store does, down to which calls raise StoreError.

Also here: `raw_column_families`, which opens a closed RocksDB store's directory with rocksdict
directly, for the tests that look at or tamper with the bytes on disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pytest
import rocksdict
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.errors import StoreError
from ledger.merkle import NodeRuns, leaf_hash
from ledger.rocksdb_store import COLUMN_FAMILIES
from ledger.store import CommitBatch, LogStore


def leaf(index: int, tag: str = "") -> bytes:
    """Distinct, recognisable entry bytes."""
    return f"entry {index} {tag}".encode()


def digest(level: int, index: int, tag: str = "") -> bytes:
    """A 32-byte stand-in for a subtree hash; at level 0 the real leaf hash of leaf(index, tag),
    since a level-0 node is its entry's leaf hash and a store may compute it from the entry
    (CommitBatch)."""
    if level == 0:
        return leaf_hash(leaf(index, tag))
    return bytes([level]) + index.to_bytes(8, "big") + b"\xab" * 23


def full_nodes(start: int, end: int, tag: str = "") -> list[tuple[int, int, bytes]]:
    """Every complete subtree that entries start..end-1 complete (what the ledger writes)."""
    nodes = []
    for level in range(64):
        for index in range(start >> level, end >> level):
            nodes.append((level, index, digest(level, index, tag)))
        if end >> level == 0:
            break
    return nodes


def as_runs(nodes: list[tuple[int, int, bytes]]) -> NodeRuns:
    """`nodes` (consecutive indexes per level, as full_nodes lays them out) as runs."""
    runs: list[tuple[int, int, list[bytes]]] = []
    for level, index, value in nodes:
        if runs and runs[-1][0] == level and runs[-1][1] + len(runs[-1][2]) == index:
            runs[-1][2].append(value)
        else:
            runs.append((level, index, [value]))
    return NodeRuns(runs)


def batch_for(store: LogStore, count: int, *, tag: str = "", note: bool = True) -> CommitBatch:
    """A well-formed batch of `count` entries at the end of `store`."""
    start = store.size()
    end = start + count
    return CommitBatch(
        start=start,
        entries=[leaf(i, tag) for i in range(start, end)],
        nodes=full_nodes(start, end, tag),
        checkpoint=f"note {end}".encode() if note else None,
    )


@contextmanager
def raw_column_families(path: Path) -> Iterator[dict[str, Any]]:
    """A closed RocksDB store's column families (and "default"), opened with rocksdict itself."""

    names = (*COLUMN_FAMILIES, "default")
    options = rocksdict.Options(raw_mode=True)
    db = rocksdict.Rdict(
        os.fspath(path),
        options,
        column_families={name: rocksdict.Options(raw_mode=True) for name in COLUMN_FAMILIES},
    )
    families = {name: db.get_column_family(name) for name in names}
    try:
        yield families
    finally:
        for family in families.values():
            family.close()
        db.close()


class LogStoreConformance:
    """Behaviour every LogStore shares. Subclass as `Test<Store>` and supply `make_store`."""

    durable: ClassVar[bool] = False

    def make_store(self, path: Path) -> LogStore:
        """A new, empty store keeping its files (if any) under `path`."""
        raise NotImplementedError

    def reopen(self, store: LogStore, path: Path) -> LogStore:
        """The same store, closed and opened again from `path` (durable stores only)."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[LogStore]:
        store = self.make_store(tmp_path / "store")
        yield store
        store.close()

    # --- empty store and basic reads ------------------------------------------------------

    def test_store_is_a_logstore(self, store: LogStore) -> None:
        assert isinstance(store, LogStore)

    def test_store_empty(self, store: LogStore) -> None:
        assert store.size() == 0
        assert list(store.entries(0, 0)) == []
        assert store.node(0, 0) is None
        assert store.checkpoint(0) is None
        assert store.latest_checkpoint() is None
        assert list(store.checkpoints()) == []
        assert store.meta("anything") is None
        with pytest.raises(StoreError):
            store.entry(0)

    def test_store_commit_then_read_entries(self, store: LogStore) -> None:
        store.commit(batch_for(store, 3))
        store.commit(batch_for(store, 1))
        assert store.size() == 4
        assert [store.entry(i) for i in range(4)] == [leaf(i) for i in range(4)]
        assert list(store.entries(0, 4)) == [leaf(i) for i in range(4)]
        assert list(store.entries(1, 3)) == [leaf(1), leaf(2)]
        assert list(store.entries(2, 2)) == []

    def test_store_entries_keep_exact_bytes(self, store: LogStore) -> None:
        odd = [b"", b"\x00", b"\xff" * 1000, bytes(range(256)), b"\x00\x00\x00"]
        store.commit(CommitBatch(start=0, entries=odd, nodes=[]))
        assert [store.entry(i) for i in range(len(odd))] == odd
        assert list(store.entries(0, len(odd))) == odd

    def test_store_entries_in_numeric_order_past_byte_boundaries(self, store: LogStore) -> None:
        # 255 -> 256 and 65535 -> 65536 change the key's byte length in naive encodings.
        store.commit(batch_for(store, 300))
        assert list(store.entries(0, 300)) == [leaf(i) for i in range(300)]
        assert list(store.entries(250, 262)) == [leaf(i) for i in range(250, 262)]
        assert store.entry(256) == leaf(256)

    @pytest.mark.parametrize("index", [-1, 3, 4, 1000])
    def test_store_entry_out_of_range(self, store: LogStore, index: int) -> None:
        store.commit(batch_for(store, 3))
        with pytest.raises(StoreError):
            store.entry(index)

    @pytest.mark.parametrize(("start", "end"), [(-1, 2), (0, 4), (2, 1), (3, 4), (5, 6)])
    def test_store_entries_range_errors(self, store: LogStore, start: int, end: int) -> None:
        store.commit(batch_for(store, 3))
        with pytest.raises(StoreError):
            list(store.entries(start, end))

    def test_store_nodes(self, store: LogStore) -> None:
        store.commit(batch_for(store, 4))
        assert store.node(0, 3) == digest(0, 3)
        assert store.node(1, 1) == digest(1, 1)
        assert store.node(2, 0) == digest(2, 0)
        assert store.node(0, 4) is None
        assert store.node(3, 0) is None
        assert store.node(0, -1) is None
        assert store.node(200, 0) is None

    def test_store_checkpoints(self, store: LogStore) -> None:
        store.commit(batch_for(store, 2))
        store.commit(batch_for(store, 3, note=False))
        store.commit(batch_for(store, 1))
        assert store.checkpoint(2) == b"note 2"
        assert store.checkpoint(5) is None
        assert store.checkpoint(6) == b"note 6"
        assert store.checkpoint(-1) is None
        assert store.latest_checkpoint() == (6, b"note 6")
        assert list(store.checkpoints()) == [(2, b"note 2"), (6, b"note 6")]

    def test_store_checkpoints_in_numeric_order(self, store: LogStore) -> None:
        sizes = [1, 2, 255, 256, 257, 1000, 1025]
        for size in sizes:
            store.commit(batch_for(store, size - store.size()))
        assert [size for size, _ in store.checkpoints()] == sizes
        assert store.latest_checkpoint() == (1025, b"note 1025")

    def test_store_checkpoint_without_entries(self, store: LogStore) -> None:
        store.commit(batch_for(store, 2, note=False))
        store.commit(CommitBatch(start=2, entries=[], nodes=[], checkpoint=b"late note"))
        assert store.size() == 2
        assert store.latest_checkpoint() == (2, b"late note")

    def test_store_meta(self, store: LogStore) -> None:
        store.commit(CommitBatch(0, [], [], meta={"origin": b"ps-1", "ಠ_ಠ ಕೀ": b"\x00"}))
        store.commit(CommitBatch(0, [leaf(0)], [], meta={"origin": b"ps-2"}))
        assert store.meta("origin") == b"ps-2"
        assert store.meta("ಠ_ಠ ಕೀ") == b"\x00"
        assert store.meta("size") is None  # no store bookkeeping leaks into meta

    def test_store_nodes_given_as_runs(self, store: LogStore) -> None:
        """Runs (what the ledger and replicas commit) store the nodes a list of them would."""
        store.commit(batch_for(store, 5))
        listed = batch_for(store, 300)
        store.commit(
            CommitBatch(listed.start, listed.entries, as_runs(full_nodes(5, 305)), b"note 305")
        )
        for level, index, value in full_nodes(0, 305):
            assert store.node(level, index) == value
        assert store.node(0, 305) is None
        assert store.node(8, 1) is None
        assert store.latest_checkpoint() == (305, b"note 305")

    # --- failed commits -------------------------------------------------------------------

    @pytest.mark.parametrize("delta", [-2, -1, 1, 5])
    def test_store_commit_wrong_start_writes_nothing(self, store: LogStore, delta: int) -> None:
        store.commit(batch_for(store, 2))
        bad = CommitBatch(
            start=2 + delta,
            entries=[b"intruder"] * 3,
            nodes=[(0, 2, b"bad"), (5, 0, b"bad")],
            checkpoint=b"bad note",
            meta={"k": b"bad"},
        )
        with pytest.raises(StoreError):
            store.commit(bad)
        self.assert_untouched_after_two(store)

    def test_store_runs_with_a_hash_not_bytes_write_nothing(self, store: LogStore) -> None:
        store.commit(batch_for(store, 2))
        bad_hashes: list[bytes] = [digest(0, 2), None]  # type: ignore[list-item]
        bad = CommitBatch(
            start=2,
            entries=[b"intruder"] * 2,
            nodes=NodeRuns([(0, 2, bad_hashes), (5, 0, [b"bad"])]),
            checkpoint=b"bad note",
            meta={"k": b"bad"},
        )
        with pytest.raises(StoreError):
            store.commit(bad)
        self.assert_untouched_after_two(store)

    def assert_untouched_after_two(self, store: LogStore) -> None:
        assert store.size() == 2
        assert list(store.entries(0, 2)) == [leaf(0), leaf(1)]
        assert store.node(0, 2) is None
        assert store.node(5, 0) is None
        assert store.checkpoint(2) == b"note 2"
        assert store.checkpoint(5) is None
        assert store.checkpoint(7) is None
        assert list(store.checkpoints()) == [(2, b"note 2")]
        assert store.meta("k") is None

    def test_store_usable_after_failed_commit(self, store: LogStore) -> None:
        store.commit(batch_for(store, 2))
        with pytest.raises(StoreError):
            store.commit(CommitBatch(start=0, entries=[b"x"], nodes=[]))
        store.commit(batch_for(store, 1))
        assert list(store.entries(0, 3)) == [leaf(0), leaf(1), leaf(2)]

    # --- close ----------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "call",
        [
            lambda s: s.size(),
            lambda s: s.entry(0),
            lambda s: list(s.entries(0, 1)),
            lambda s: s.node(0, 0),
            lambda s: s.checkpoint(1),
            lambda s: s.latest_checkpoint(),
            lambda s: list(s.checkpoints()),
            lambda s: s.meta("k"),
            lambda s: s.commit(CommitBatch(1, [b"x"], [])),
        ],
        ids=[
            "size",
            "entry",
            "entries",
            "node",
            "checkpoint",
            "latest_checkpoint",
            "checkpoints",
            "meta",
            "commit",
        ],
    )
    def test_store_closed_calls_fail(
        self, tmp_path: Path, call: Callable[[LogStore], object]
    ) -> None:
        store = self.make_store(tmp_path / "store")
        store.commit(batch_for(store, 1))
        store.close()
        with pytest.raises(StoreError):
            call(store)

    def test_store_close_is_idempotent(self, tmp_path: Path) -> None:
        store = self.make_store(tmp_path / "store")
        store.close()
        store.close()

    # --- concurrency ----------------------------------------------------------------------

    def test_store_concurrent_commits_lose_and_duplicate_nothing(self, store: LogStore) -> None:
        threads, per_thread = 6, 25
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def writer(name: int) -> None:
            try:
                barrier.wait()
                for k in range(per_thread):
                    payload = f"t{name} k{k}".encode()
                    while True:  # optimistic: retry when another writer got there first
                        start = store.size()
                        try:
                            node = (0, start, leaf_hash(payload))
                            store.commit(CommitBatch(start, [payload], [node]))
                            break
                        except StoreError:
                            continue
                    # a concurrent reader never sees a size without its entries
                    size = store.size()
                    assert len(list(store.entries(0, size))) == size
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert not errors, errors
        assert store.size() == threads * per_thread
        written = list(store.entries(0, store.size()))
        expected = {f"t{n} k{k}".encode() for n in range(threads) for k in range(per_thread)}
        assert sorted(written) == sorted(expected)
        assert all(store.node(0, i) == leaf_hash(written[i]) for i in range(len(written)))
        for name in range(threads):  # each writer's entries in its own order
            mine = [w for w in written if w.startswith(f"t{name} ".encode())]
            assert mine == [f"t{name} k{k}".encode() for k in range(per_thread)]

    # --- model-based ----------------------------------------------------------------------

    def test_store_matches_model(self, tmp_path: Path) -> None:
        suite = self

        class Machine(StoreModelMachine):
            def new_store(self, path: Path) -> LogStore:
                return suite.make_store(path)

            def reopen_store(self, store: LogStore, path: Path) -> LogStore | None:
                return suite.reopen(store, path) if suite.durable else None

        Machine.base_dir = tmp_path
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=30 if self.durable else 60,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


def _entries() -> st.SearchStrategy[list[bytes]]:
    return st.lists(st.binary(max_size=40), max_size=12)


class StoreModelMachine(RuleBasedStateMachine):
    """Random commits and reads against a store and a plain model of what it should hold."""

    base_dir: ClassVar[Path]

    def new_store(self, path: Path) -> LogStore:
        raise NotImplementedError

    def reopen_store(self, store: LogStore, path: Path) -> LogStore | None:
        """The reopened store, or None when the store is not durable."""
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(dir=self.base_dir))
        self.path = self.dir / "store"
        self.store = self.new_store(self.path)
        self.entries: list[bytes] = []
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.checkpoints: dict[int, bytes] = {}
        self.meta: dict[str, bytes] = {}

    @initialize()
    def start(self) -> None:
        assert self.store.size() == 0

    @rule(new=_entries(), data=st.data(), with_note=st.booleans(), meta=st.booleans())
    def commit(self, new: list[bytes], data: st.DataObject, with_note: bool, meta: bool) -> None:
        start, end = len(self.entries), len(self.entries) + len(new)
        # The new entries' leaf hashes at level 0, as every writer commits them...
        nodes = [(0, index, leaf_hash(raw)) for index, raw in enumerate(new, start)]
        if end > 1:
            # ...and any subtree above that ends at or before the new size (never beyond it)
            for _ in range(data.draw(st.integers(0, 4))):
                level = data.draw(st.integers(1, end.bit_length() - 1))
                index = data.draw(st.integers(0, (end >> level) - 1))
                nodes.append((level, index, data.draw(st.binary(min_size=32, max_size=32))))
        note = data.draw(st.binary(min_size=1, max_size=30)) if with_note else None
        values = (
            data.draw(st.dictionaries(st.sampled_from(["a", "b", "ключ"]), st.binary()))
            if meta
            else {}
        )
        self.store.commit(CommitBatch(start, new, nodes, note, values))
        self.entries.extend(new)
        for level, index, value in nodes:
            self.nodes[(level, index)] = value
        if note is not None:
            self.checkpoints[end] = note
        self.meta.update(values)

    @rule(delta=st.integers(-5, 5).filter(bool), new=_entries())
    def commit_wrong_start(self, delta: int, new: list[bytes]) -> None:
        start = max(len(self.entries) + delta, 0)
        if start == len(self.entries):
            start += 1
        with pytest.raises(StoreError):
            self.store.commit(CommitBatch(start, new, [(0, start, b"x" * 32)], b"bad", {"a": b""}))

    @rule(data=st.data())
    def read_entry(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(-2, len(self.entries) + 2))
        if 0 <= index < len(self.entries):
            assert self.store.entry(index) == self.entries[index]
        else:
            with pytest.raises(StoreError):
                self.store.entry(index)

    @rule(data=st.data())
    def read_range(self, data: st.DataObject) -> None:
        start = data.draw(st.integers(-1, len(self.entries) + 1))
        end = data.draw(st.integers(-1, len(self.entries) + 1))
        if 0 <= start <= end <= len(self.entries):
            assert list(self.store.entries(start, end)) == self.entries[start:end]
        else:
            with pytest.raises(StoreError):
                list(self.store.entries(start, end))

    @rule(level=st.integers(0, 5), index=st.integers(0, 40))
    def read_node(self, level: int, index: int) -> None:
        assert self.store.node(level, index) == self.nodes.get((level, index))

    @rule(size=st.integers(0, 200))
    def read_checkpoint(self, size: int) -> None:
        assert self.store.checkpoint(size) == self.checkpoints.get(size)

    @rule(key=st.sampled_from(["a", "b", "ключ", "c"]))
    def read_meta(self, key: str) -> None:
        assert self.store.meta(key) == self.meta.get(key)

    @precondition(lambda self: self.entries or self.checkpoints)
    @rule()
    def reopen(self) -> None:
        reopened = self.reopen_store(self.store, self.path)
        if reopened is not None:
            self.store = reopened

    @invariant()
    def size_and_checkpoints_agree(self) -> None:
        assert self.store.size() == len(self.entries)
        assert list(self.store.checkpoints()) == sorted(self.checkpoints.items())
        latest = max(self.checkpoints, default=None)
        expected = None if latest is None else (latest, self.checkpoints[latest])
        assert self.store.latest_checkpoint() == expected

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)
