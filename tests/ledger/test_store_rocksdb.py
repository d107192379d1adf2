"""RocksDBLogStore: the shared conformance suite, plus what only a durable store must do."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import nacl.signing
import pytest

from ledger import merkle
from ledger.checkpoint import parse_note
from ledger.errors import StoreError
from ledger.log import Ledger, verify_log
from ledger.merkle import NodeRuns, leaf_hash
from ledger.rocksdb_store import SIZE_KEY, RocksDBLogStore, index_key, node_key
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2
from tests.ledger.reference_merkle import mth, path, proof
from tests.ledger.store_conformance import (
    LogStoreConformance,
    as_runs,
    batch_for,
    digest,
    full_nodes,
    leaf,
    raw_column_families,
)

REPO = Path(__file__).resolve().parents[2]


class TestRocksDBLogStore(LogStoreConformance):
    durable = True

    def make_store(self, path: Path) -> LogStore:
        return RocksDBLogStore.open(path)

    def reopen(self, store: LogStore, path: Path) -> LogStore:
        store.close()
        return RocksDBLogStore.open(path, create=False)


def _filled(path: Path, sizes: tuple[int, ...] = (3, 2, 5)) -> None:
    with RocksDBLogStore.open(path) as store:
        for count in sizes:
            store.commit(batch_for(store, count))
        store.commit(CommitBatch(store.size(), [], [], meta={"origin": b"ps-kalamassery"}))


def test_rocksdb_durable_across_reopen(tmp_path: Path) -> None:
    _filled(tmp_path / "db")
    with RocksDBLogStore.open(tmp_path / "db", create=False) as store:
        assert store.size() == 10
        assert list(store.entries(0, 10)) == [leaf(i) for i in range(10)]
        assert store.node(3, 0) == digest(3, 0)
        assert store.node(1, 4) == digest(1, 4)
        assert list(store.checkpoints()) == [(3, b"note 3"), (5, b"note 5"), (10, b"note 10")]
        assert store.meta("origin") == b"ps-kalamassery"
        store.commit(batch_for(store, 1))  # appending continues where it left off
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert store.size() == 11
        assert store.entry(10) == leaf(10)


@pytest.mark.parametrize("sizes", [(), (1,), (0,), (255, 1), (256,), (1, 0, 0)])
def test_rocksdb_size_recovered_on_reopen(tmp_path: Path, sizes: tuple[int, ...]) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        for count in sizes:
            store.commit(batch_for(store, count))
        expected = store.size()
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert store.size() == expected == sum(sizes)


def test_rocksdb_failed_commit_leaves_nothing_on_disk(tmp_path: Path) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 2))
        with pytest.raises(StoreError):
            store.commit(CommitBatch(3, [b"x"], [(0, 3, b"x")], b"bad note", {"k": b"bad"}))
        # a value RocksDB cannot store, after good ones: the whole batch is refused
        bad_entries: list[bytes] = [b"fine", None]  # type: ignore[list-item]
        with pytest.raises(StoreError):
            store.commit(CommitBatch(2, bad_entries, [(0, 2, b"h")], b"bad", {"k": b"bad"}))
        assert store.size() == 2
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert store.size() == 2
        assert list(store.entries(0, 2)) == [leaf(0), leaf(1)]
        assert store.node(0, 2) is None
        assert list(store.checkpoints()) == [(2, b"note 2")]
        assert store.meta("k") is None


def test_rocksdb_runs_are_keyed_as_single_nodes(tmp_path: Path) -> None:
    """A batch's nodes written as runs and as (level, index, hash) give the same bytes."""
    for name, nodes in (("listed", full_nodes(0, 777)), ("runs", as_runs(full_nodes(0, 777)))):
        with RocksDBLogStore.open(tmp_path / name) as store:
            store.commit(CommitBatch(0, [leaf(i) for i in range(777)], nodes, b"note 777"))
    with (
        raw_column_families(tmp_path / "listed") as listed,
        raw_column_families(tmp_path / "runs") as runs,
    ):
        assert list(runs["tree"].items()) == list(listed["tree"].items())
        upper = [node for node in full_nodes(0, 777) if node[0] > 0]
        assert len(list(runs["tree"].items())) == len(upper)  # no level-0 rows


@pytest.mark.parametrize(
    "runs",
    [
        [(64, 0, [b"h" * 32])],  # no level 64 in a tree of at most 2**64 leaves
        [(-1, 0, [b"h" * 32])],
        [(0, -1, [b"h" * 32])],
        [(0, (1 << 64) - 1, [b"h" * 32, b"h" * 32])],  # its last index needs 9 bytes
    ],
    ids=["level-64", "level-negative", "index-negative", "index-past-2**64"],
)
def test_rocksdb_runs_out_of_range_write_nothing(
    tmp_path: Path, runs: list[tuple[int, int, list[bytes]]]
) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 2))
        with pytest.raises(StoreError, match="out of range"):
            store.commit(CommitBatch(2, [b"x"], NodeRuns(runs), b"bad note", {"k": b"bad"}))
        store.commit(batch_for(store, 1))  # not a failed write: the store goes on
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert store.size() == 3
        assert list(store.checkpoints()) == [(2, b"note 2"), (3, b"note 3")]
        assert store.meta("k") is None


def test_rocksdb_reads_stop_at_the_published_size(tmp_path: Path) -> None:
    """A commit is written unsynced and then synced (the sync without the interpreter lock);
    RocksDB shows the unsynced write at once, so the store serves nothing of it before the
    commit returns. Here the keys of a commit in progress are written as its write would."""
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 2))
        in_progress = batch_for(store, 2)
        db = store._db
        assert db is not None
        db.get_column_family("entries")[index_key(2)] = in_progress.entries[0]
        db.get_column_family("tree")[node_key(2, 0)] = digest(2, 0)
        db.get_column_family("checkpoints")[index_key(4)] = b"note 4"
        assert store.size() == 2
        assert store.node(0, 2) is None  # its entry is there, but not published
        assert store.node(2, 0) is None
        assert store.checkpoint(4) is None
        assert store.latest_checkpoint() == (2, b"note 2")
        assert list(store.checkpoints()) == [(2, b"note 2")]


def test_rocksdb_meta_waits_for_a_commit_in_progress(tmp_path: Path) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(CommitBatch(0, [], [], meta={"k": b"old"}))
        read: list[bytes | None] = []
        with store._lock:  # what a commit holds until its sync returns
            reader = threading.Thread(target=lambda: read.append(store.meta("k")))
            reader.start()
            reader.join(0.2)
            assert reader.is_alive() and not read
        reader.join()
        assert read == [b"old"]


class _SyncFails:
    """The store's database, except that the WAL sync fails (a disk that stops taking writes)."""

    def __init__(self, db: object) -> None:
        self._db = db

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)

    def flush_wal(self, sync: bool) -> None:
        raise OSError("IO error: sync failed")


def test_rocksdb_failed_sync_serves_nothing_of_the_commit(tmp_path: Path) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 2))
        real = store._db
        store._db = _SyncFails(real)  # type: ignore[assignment]
        with pytest.raises(StoreError, match="sync failed"):
            store.commit(CommitBatch(2, [leaf(2)], [(0, 2, digest(0, 2))], b"note 3", {"k": b"v"}))
        store._db = real
        assert store.size() == 2
        assert store.latest_checkpoint() == (2, b"note 2")
        with pytest.raises(StoreError, match="failed sync"):
            store.meta("k")
        with pytest.raises(StoreError, match="refuses writes"):
            store.commit(batch_for(store, 1))
    # Never acknowledged, so either outcome is allowed; but whole, never a part of it.
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert (store.size(), store.meta("k")) in {(2, None), (3, b"v")}
        assert store.latest_checkpoint() == (store.size(), f"note {store.size()}".encode())


def test_rocksdb_large_batch(tmp_path: Path) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 10_000))
        store.commit(batch_for(store, 1))
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert store.size() == 10_001
        assert list(store.entries(0, 10_001)) == [leaf(i) for i in range(10_001)]
        assert store.node(13, 0) == digest(13, 0)
        assert store.latest_checkpoint() == (10_001, b"note 10001")


def test_rocksdb_on_disk_layout(tmp_path: Path) -> None:
    """The key layout other tools (and the tamper tests) rely on."""
    _filled(tmp_path / "db", (300,))
    with raw_column_families(tmp_path / "db") as cf:
        assert cf["entries"][(256).to_bytes(8, "big")] == leaf(256)
        assert cf["tree"][bytes([8]) + (0).to_bytes(8, "big")] == digest(8, 0)
        assert cf["tree"].get(bytes([0]) + (5).to_bytes(8, "big")) is None  # leaf hashes: none
        assert cf["checkpoints"][(300).to_bytes(8, "big")] == b"note 300"
        assert cf["meta"][b"origin"] == b"ps-kalamassery"
        assert cf["default"][SIZE_KEY] == (300).to_bytes(8, "big")
    assert index_key(256) == b"\x00\x00\x00\x00\x00\x00\x01\x00"
    assert node_key(2, 1) == b"\x02" + b"\x00" * 7 + b"\x01"


def test_rocksdb_second_open_in_process_is_refused(tmp_path: Path) -> None:
    with RocksDBLogStore.open(tmp_path / "db"), pytest.raises(StoreError, match="already open"):
        RocksDBLogStore.open(tmp_path / "db")
    RocksDBLogStore.open(tmp_path / "db").close()  # and the close released it


@pytest.mark.slow  # a second real process holds the lock
def test_rocksdb_locked_by_another_process(tmp_path: Path) -> None:
    holder = textwrap.dedent(
        f"""
        import sys
        from ledger.rocksdb_store import RocksDBLogStore
        store = RocksDBLogStore.open({str(tmp_path / "db")!r})
        print("ready", flush=True)
        sys.stdin.read()
        store.close()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="locked by another process"):
            RocksDBLogStore.open(tmp_path / "db")
    finally:
        proc.communicate(input="", timeout=30)
    RocksDBLogStore.open(tmp_path / "db").close()


@pytest.mark.slow  # about ten seconds of flushing beside repeated opens
def test_rocksdb_audit_opens_beside_a_flushing_writer(tmp_path: Path) -> None:
    """An audit view opened while the node flushes sees a whole log, never a vanished file.

    A flush deletes the write-ahead log and table files the manifest an opening audit has just
    read may still name; before the audit open tried again, about one open in twenty here
    failed with "corrupted: ... No such file or directory", a false alarm to an operator.
    """
    path = tmp_path / "db"
    writer = RocksDBLogStore.open(path)
    writer.commit(batch_for(writer, 20))
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            while not stop.is_set():
                writer.commit(batch_for(writer, 20))
                # What a node's full memtable does, forced: new table files, old ones deleted.
                writer._db.flush()
        except BaseException as exc:  # the assertion below reports it
            failures.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    sizes = []
    try:
        for _ in range(120):
            with RocksDBLogStore.open(path, audit=True) as view:
                size = view.size()
                assert sum(1 for _ in view.entries(0, size)) == size
                sizes.append(size)
    finally:
        stop.set()
        thread.join()
        writer.close()
    assert not failures
    assert sizes[-1] > sizes[0]  # the writer really moved on while the audits opened


def test_rocksdb_garbage_directory(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "CURRENT").write_text("MANIFEST-000099\n")
    (garbage / "MANIFEST-000099").write_bytes(b"\x17\x00not a manifest" * 50)
    with pytest.raises(StoreError, match="is corrupted"):
        RocksDBLogStore.open(garbage)


def test_rocksdb_corrupt_current_file(tmp_path: Path) -> None:
    _filled(tmp_path / "db")
    (tmp_path / "db" / "CURRENT").write_bytes(b"\x00\xffnonsense")
    with pytest.raises(StoreError, match="corrupt"):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_path_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a database")
    with pytest.raises(StoreError, match="not a directory"):
        RocksDBLogStore.open(tmp_path / "file")


def test_rocksdb_missing_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        RocksDBLogStore.open(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


def test_rocksdb_reads_after_close_fail_even_midway(tmp_path: Path) -> None:
    store = RocksDBLogStore.open(tmp_path / "db")
    # More entries than one read chunk (1,024): a chunk read before the close is already in
    # memory, the next one is read after it and must fail.
    store.commit(batch_for(store, 2500))
    entries = store.entries(0, 2500)
    checkpoints = store.checkpoints()
    next(entries)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        list(entries)
    with pytest.raises(StoreError, match="closed"):
        list(checkpoints)
    RocksDBLogStore.open(tmp_path / "db").close()  # nothing pinned the directory


# --- recovery checks: a store that disagrees with itself does not open ----------------------


def test_rocksdb_open_refuses_missing_last_entry(tmp_path: Path) -> None:
    _filled(tmp_path / "db", (4, 1))
    with raw_column_families(tmp_path / "db") as cf:
        del cf["entries"][index_key(4)]
    with pytest.raises(
        StoreError, match="entries end at size 4 but the last commit recorded size 5"
    ):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_open_refuses_extra_entry(tmp_path: Path) -> None:
    _filled(tmp_path / "db", (4,))
    with raw_column_families(tmp_path / "db") as cf:
        cf["entries"][index_key(4)] = b"smuggled"
    with pytest.raises(StoreError, match="inconsistent"):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_open_refuses_checkpoint_beyond_log(tmp_path: Path) -> None:
    _filled(tmp_path / "db", (4,))
    with raw_column_families(tmp_path / "db") as cf:
        cf["checkpoints"][index_key(9)] = b"note 9"
    with pytest.raises(StoreError, match="checkpoint for size 9"):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_open_refuses_tree_node_beyond_log(tmp_path: Path) -> None:
    _filled(tmp_path / "db", (6,))
    with raw_column_families(tmp_path / "db") as cf:
        cf["tree"][node_key(2, 1)] = digest(2, 1)  # leaves 4..7 of a 6-entry log
    with pytest.raises(StoreError, match=r"level 2, index 1"):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_open_refuses_missing_first_entry(tmp_path: Path) -> None:
    _filled(tmp_path / "db", (4,))
    with raw_column_families(tmp_path / "db") as cf:
        del cf["entries"][index_key(0)]
    with pytest.raises(StoreError, match="entry 0 is missing"):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_open_refuses_data_without_commit_record(tmp_path: Path) -> None:
    _filled(tmp_path / "db", (2,))
    with raw_column_families(tmp_path / "db") as cf:
        del cf["default"][SIZE_KEY]
    with pytest.raises(StoreError, match="no commit record"):
        RocksDBLogStore.open(tmp_path / "db")


def test_rocksdb_missing_middle_entry_is_a_store_error_on_read(tmp_path: Path) -> None:
    # Not checked on open (that would read the whole log); reading it says so clearly.
    _filled(tmp_path / "db", (600,))
    with raw_column_families(tmp_path / "db") as cf:
        del cf["entries"][index_key(300)]
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert store.size() == 600
        with pytest.raises(StoreError, match="lost entry 300"):
            store.entry(300)
        with pytest.raises(StoreError, match="lost entry 300"):
            list(store.entries(0, 600))


# --- level-0 nodes: the entries' leaf hashes, never stored (since 1 December 2026) ----------


def _tree_levels(path: Path) -> set[int]:
    with raw_column_families(path) as cf:
        return {key[0] for key, _ in cf["tree"].items()}


def test_rocksdb_level_0_nodes_are_the_entries_leaf_hashes(tmp_path: Path) -> None:
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 5))
        # The leaf hashes are the entries' whatever the batch says (a batch gives them or not).
        store.commit(CommitBatch(5, [leaf(5), leaf(6), leaf(7)], [(1, 3, digest(1, 3))]))
        for index in range(8):
            assert store.node(0, index) == leaf_hash(leaf(index))
        assert store.node(0, 8) is None
    assert 0 not in _tree_levels(tmp_path / "db")
    for audit in (False, True):
        with RocksDBLogStore.open(tmp_path / "db", audit=audit) as store:
            assert [store.node(0, i) for i in range(8)] == [leaf_hash(leaf(i)) for i in range(8)]
            assert store.node(0, 8) is None


def test_rocksdb_level_0_node_that_is_not_bytes_is_refused(tmp_path: Path) -> None:
    """Not written, but checked: this store refuses the batches the memory store refuses."""
    with RocksDBLogStore.open(tmp_path / "db") as store:
        store.commit(batch_for(store, 2))
        not_bytes: bytes = None  # type: ignore[assignment]
        with pytest.raises(StoreError, match="not bytes"):
            store.commit(CommitBatch(2, [leaf(2)], [(0, 2, not_bytes)], b"bad", {"k": b"v"}))
        assert store.size() == 2 and store.node(0, 2) is None and store.meta("k") is None


KEY = nacl.signing.SigningKey(bytes(range(7, 39)))
ORIGIN = "cctns.in/test/store/ps-1"


def _ledger_store(path: Path, batches: tuple[int, ...]) -> list[bytes]:
    """A real signed log in a RocksDB store at `path`; returns its entries."""
    clock = itertools.count(1_700_000_000_000, 1000)
    with RocksDBLogStore.open(path) as store:
        ledger = Ledger(store, KEY, ORIGIN, clock=lambda: next(clock))
        for size in batches:
            ledger.append_many(
                [
                    ledger_pb2.EntryBody(node_event=ledger_pb2.NodeEvent(kind="t", note=str(n)))
                    for n in range(size)
                ]
            )
        ledger.close()
        return list(store.entries(0, store.size()))


def _as_old_layout(path: Path, leaves: list[bytes]) -> None:
    """What a store written before 1 December 2026 holds besides: a level-0 row per entry."""
    with raw_column_families(path) as cf:
        for index, raw in enumerate(leaves):
            cf["tree"][node_key(0, index)] = leaf_hash(raw)


def _check_proves_and_verifies(store: RocksDBLogStore, leaves: list[bytes]) -> None:
    """Roots, inclusion and consistency proofs as the RFC's definitions give them, the latest
    checkpoint's root, and the full verification."""
    size = len(leaves)
    tree = merkle.MerkleTree(store)
    points = [n for n in (1, 2, 3, 7, 8, 9, 77, 100, size - 1) if n < size]
    for n in (*points, size):
        assert tree.root(n) == mth(leaves[:n])
    for index in (0, *points):
        assert tree.inclusion_proof(index, size) == path(index, leaves)
        assert tree.inclusion_proof(index, index + 1) == path(index, leaves[: index + 1])
    for first in points:
        assert tree.consistency_proof(first, size) == proof(first, leaves)
    latest = store.latest_checkpoint()
    assert latest is not None and parse_note(latest[1])[0].root == mth(leaves)
    report = verify_log(store, bytes(KEY.verify_key), ORIGIN)
    assert (report.size, report.root) == (size, mth(leaves))


def test_rocksdb_old_layout_store_proves_verifies_and_appends(tmp_path: Path) -> None:
    """A store with level-0 rows (the layout before 1 December 2026) opens, proves, verifies,
    is copied whole and takes appends, which write no level-0 row; nothing rewrites it."""
    leaves = _ledger_store(tmp_path / "db", (1, 1, 7, 40, 1, 100, 3, 50))
    assert 0 not in _tree_levels(tmp_path / "db")
    _as_old_layout(tmp_path / "db", leaves)
    with RocksDBLogStore.open(tmp_path / "db") as store:
        _check_proves_and_verifies(store, leaves)
        ledger = Ledger(store, KEY, ORIGIN)  # checks the latest checkpoint against the tree
        ledger.append_many([ledger_pb2.EntryBody(node_event=ledger_pb2.NodeEvent(kind="new"))])
        ledger.append(ledger_pb2.EntryBody(node_event=ledger_pb2.NodeEvent(kind="new")))
        ledger.close()
        leaves = list(store.entries(0, store.size()))
        _check_proves_and_verifies(store, leaves)
        store.copy_to(tmp_path / "copy")
    with raw_column_families(tmp_path / "db") as cf:
        old = len(leaves) - 2
        assert cf["tree"][node_key(0, old - 1)] == leaf_hash(leaves[old - 1])  # kept as it was
        assert cf["tree"].get(node_key(0, old)) is None  # new entries: no row
    with RocksDBLogStore.open(tmp_path / "copy", create=False) as copy:
        _check_proves_and_verifies(copy, leaves)
    with raw_column_families(tmp_path / "copy") as cf:
        assert cf["tree"][node_key(0, 0)] == leaf_hash(leaves[0])  # a copy is the store whole


@pytest.mark.parametrize("damage", ["flipped", "deleted"])
def test_rocksdb_old_layout_level_0_rows_are_never_served(tmp_path: Path, damage: str) -> None:
    """The store's choice: a level-0 row an older store holds is ignored, so a node never
    differs from its entry's leaf hash (a damaged row can mislead no proof, and there is
    nothing to repair); the entries, signed, are what verification checks."""
    leaves = _ledger_store(tmp_path / "db", (3, 40, 1))
    _as_old_layout(tmp_path / "db", leaves)
    with raw_column_families(tmp_path / "db") as cf:
        for index in (0, 5, len(leaves) - 1):
            if damage == "deleted":
                del cf["tree"][node_key(0, index)]
            else:
                cf["tree"][node_key(0, index)] = bytes(32)
    with RocksDBLogStore.open(tmp_path / "db") as store:
        assert [store.node(0, i) for i in range(len(leaves))] == list(map(leaf_hash, leaves))
        _check_proves_and_verifies(store, leaves)


def test_rocksdb_open_refuses_level_0_row_beyond_log(tmp_path: Path) -> None:
    """An older store's level-0 rows are still checked at open like every tree key."""
    _filled(tmp_path / "db", (6,))
    with raw_column_families(tmp_path / "db") as cf:
        cf["tree"][node_key(0, 6)] = digest(0, 6)
    with pytest.raises(StoreError, match=r"level 0, index 6"):
        RocksDBLogStore.open(tmp_path / "db")
