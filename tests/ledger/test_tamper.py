"""Tampering with a real RocksDB ledger on disk, and who catches it.

The attacker edits the closed database with rocksdict itself (same column families, raw keys).
Two layers answer:
- the store refuses to open a database that disagrees with itself (entries ending before or
  after the size its last commit recorded, a checkpoint or tree node past the end): StoreError;
- `verify_log` re-derives everything from the leaves and names the first bad entry: TamperError
  with `.index`. An attacker who also fixes the store's bookkeeping reaches this layer.

"Forged" entries and checkpoints come from a second ledger with the same key and origin (the
worst case: a key holder rewriting history), so their signatures are valid.
"""

from __future__ import annotations

import base64
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from ledger.errors import StoreError, TamperError
from ledger.log import Ledger, VerifyReport, verify_log
from ledger.rocksdb_store import SIZE_KEY, RocksDBLogStore, index_key, node_key
from protos import ledger_pb2
from tests.ledger.store_conformance import raw_column_families

ORIGIN = "cctns.in/test/tamper/ps-1"
KEY = nacl.signing.SigningKey(bytes(range(1, 33)))
PUBLIC = bytes(KEY.verify_key)
# Commit sizes: several group commits and single appends; the last commit is one entry, so
# dropping the last entry (and its checkpoint) leaves a log its own checkpoints still cover.
BATCHES = [1, 1, 7, 40, 1, 100, 3, 64, 50, 32, 1]
SIZE = sum(BATCHES)  # 300


def _build(path: Path, tag: str) -> None:
    clock = itertools.count(1_700_000_000_000, 1000)
    with RocksDBLogStore.open(path) as store:
        ledger = Ledger(store, KEY, ORIGIN, clock=lambda: next(clock))
        count = 0
        for size in BATCHES:
            bodies = [
                ledger_pb2.EntryBody(
                    officer_id="si-42",
                    node_event=ledger_pb2.NodeEvent(kind="tamper-test", note=f"{tag} {n}"),
                )
                for n in range(count, count + size)
            ]
            count += size
            ledger.append_many(bodies)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("tamper")
    _build(base / "real", "real")
    _build(base / "forged", "forged")
    return base / "real", base / "forged"


@pytest.fixture
def real(templates: tuple[Path, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(templates[0], tmp_path / "real"))


@pytest.fixture
def forged(templates: tuple[Path, Path]) -> Iterator[dict[str, Any]]:
    with raw_column_families(templates[1]) as cf:
        yield cf


def _verify(path: Path, trusted: tuple[bytes, ...] = ()) -> VerifyReport:
    # Audit mode, as `cctns ledger verify` opens it: no refusal on open, so the walk names
    # the first bad index even where a normal open would refuse the store.
    with RocksDBLogStore.open(path, audit=True) as store:
        return verify_log(store, PUBLIC, ORIGIN, trusted_checkpoints=trusted)


def _tamper_error(path: Path, trusted: tuple[bytes, ...] = ()) -> TamperError:
    with pytest.raises(TamperError) as caught:
        _verify(path, trusted)
    return caught.value


def _checkpoint_sizes() -> list[int]:
    return list(itertools.accumulate(BATCHES))


def test_tamper_untouched_ledger_verifies(real: Path) -> None:
    report = _verify(real)
    assert report.size == SIZE
    assert report.checkpoints == len(BATCHES)


def test_tamper_forged_ledger_differs_everywhere(real: Path, forged: dict[str, Any]) -> None:
    with raw_column_families(real) as cf:
        for i in (0, 150, SIZE - 1):
            assert cf["entries"][index_key(i)] != forged["entries"][index_key(i)]


# --- caught by verify_log ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 3, 40, -1])
@pytest.mark.parametrize("index", [0, 123, SIZE - 1])
def test_tamper_flipped_byte_in_entry(real: Path, index: int, offset: int) -> None:
    with raw_column_families(real) as cf:
        raw = bytearray(cf["entries"][index_key(index)])
        raw[offset] ^= 0x01
        cf["entries"][index_key(index)] = bytes(raw)
    assert _tamper_error(real).index == index


@pytest.mark.parametrize("index", [0, 57, 200, SIZE - 1])
def test_tamper_validly_signed_replacement(real: Path, forged: dict[str, Any], index: int) -> None:
    # A key holder's forgery passes every check of the entry itself; a checkpoint or the
    # lowest stored tree node over it (level 1: level-0 nodes are read from the entries)
    # catches it, so an odd entry is named by its pair's first (docs/storage.md).
    with raw_column_families(real) as cf:
        cf["entries"][index_key(index)] = forged["entries"][index_key(index)]
    assert _tamper_error(real).index == index & ~1


@pytest.mark.parametrize("index", [1, 100, SIZE - 2])
def test_tamper_deleted_middle_entry(real: Path, index: int) -> None:
    with raw_column_families(real) as cf:
        del cf["entries"][index_key(index)]
    assert _tamper_error(real).index == index


@pytest.mark.parametrize(("first", "second"), [(0, 1), (10, 250), (SIZE - 2, SIZE - 1)])
def test_tamper_swapped_entries(real: Path, first: int, second: int) -> None:
    with raw_column_families(real) as cf:
        a, b = cf["entries"][index_key(first)], cf["entries"][index_key(second)]
        cf["entries"][index_key(first)] = b
        cf["entries"][index_key(second)] = a
    assert _tamper_error(real).index == first


def _insert(real: Path, forged: dict[str, Any], at: int) -> None:
    # A validly signed entry slipped in at `at`; everything after moves up by one, and the
    # store's own size record is fixed up so the store opens.
    with raw_column_families(real) as cf:
        entries = cf["entries"]
        for i in range(SIZE - 1, at - 1, -1):
            entries[index_key(i + 1)] = entries[index_key(i)]
        entries[index_key(at)] = forged["entries"][index_key(at)]
        cf["default"][SIZE_KEY] = index_key(SIZE + 1)


@pytest.mark.parametrize("at", [0, 150, SIZE - 1])
def test_tamper_inserted_entry_named_within_its_pair(
    real: Path, forged: dict[str, Any], at: int
) -> None:
    _insert(real, forged, at)
    # The forged entry passes its own checks; it is caught at its pair's tree node (level 1)
    # or at the next entry's index, whichever comes first: named within its pair.
    assert _tamper_error(real).index in {at & ~1, at | 1}


def test_tamper_extra_entry_appended(real: Path) -> None:
    # A validly signed entry for index SIZE, written by the key holder but never checkpointed.
    extra = ledger_pb2.EntryBody(node_event=ledger_pb2.NodeEvent(kind="tamper-test", note="x"))
    extra_dir = real.parent / "extra"
    shutil.copytree(real, extra_dir)
    with RocksDBLogStore.open(extra_dir) as store:
        Ledger(store, KEY, ORIGIN).append(extra)
        smuggled = store.entry(SIZE)
    with raw_column_families(real) as cf:
        cf["entries"][index_key(SIZE)] = smuggled
        cf["default"][SIZE_KEY] = index_key(SIZE + 1)
    assert _tamper_error(real).index == SIZE


# Stored tree nodes start at level 1: a level-0 node is its entry's leaf hash, read from the
# entry (an older store's level-0 rows are never read: test_store_rocksdb.py), so tampering
# there is tampering with the entry, above.
@pytest.mark.parametrize(("level", "index"), [(1, 0), (1, 38), (1, 149), (3, 5), (6, 2), (8, 0)])
def test_tamper_corrupted_tree_node(real: Path, level: int, index: int) -> None:
    with raw_column_families(real) as cf:
        node = bytearray(cf["tree"][node_key(level, index)])
        node[7] ^= 0x80
        cf["tree"][node_key(level, index)] = bytes(node)
    assert _tamper_error(real).index == index << level


@pytest.mark.parametrize(("level", "index"), [(1, 2), (4, 3)])
def test_tamper_deleted_tree_node(real: Path, level: int, index: int) -> None:
    with raw_column_families(real) as cf:
        del cf["tree"][node_key(level, index)]
    assert _tamper_error(real).index == index << level


def _flip_signature(note: bytes) -> bytes:
    body, _, signature_line = note.rstrip(b"\n").rpartition(b"\n")
    prefix, _, encoded = signature_line.rpartition(b" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[20] ^= 0x01  # inside the Ed25519 signature, after the 4-byte key ID
    return body + b"\n" + prefix + b" " + base64.b64encode(bytes(raw)) + b"\n"


@pytest.mark.parametrize("size", [1, 9, 150, SIZE])
def test_tamper_corrupted_checkpoint_signature(real: Path, size: int) -> None:
    assert size in _checkpoint_sizes()
    with raw_column_families(real) as cf:
        note = cf["checkpoints"][index_key(size)]
        cf["checkpoints"][index_key(size)] = _flip_signature(note)
        assert cf["checkpoints"][index_key(size)] != note
    assert _tamper_error(real).index == size - 1


@pytest.mark.parametrize("size", [2, 150, SIZE])
def test_tamper_validly_signed_checkpoint_for_other_history(
    real: Path, forged: dict[str, Any], size: int
) -> None:
    with raw_column_families(real) as cf:
        cf["checkpoints"][index_key(size)] = forged["checkpoints"][index_key(size)]
    assert _tamper_error(real).index == size - 1


def test_tamper_clean_truncation_needs_an_outside_checkpoint(real: Path) -> None:
    # The thorough attacker drops the last entry with everything that mentions it: its tree
    # nodes, its checkpoint and the store's size record. The log left behind is internally
    # consistent; only a checkpoint held elsewhere (a parent node, an auditor) shows the loss.
    with raw_column_families(real) as cf:
        held_elsewhere = cf["checkpoints"][index_key(SIZE)]
        del cf["entries"][index_key(SIZE - 1)]
        del cf["checkpoints"][index_key(SIZE)]
        for level in range(1, 9):  # level 0 has no rows
            if SIZE % (1 << level) == 0:
                del cf["tree"][node_key(level, (SIZE >> level) - 1)]
        cf["default"][SIZE_KEY] = index_key(SIZE - 1)
    assert _verify(real).size == SIZE - 1
    assert _tamper_error(real, trusted=(held_elsewhere,)).index == SIZE - 1


# --- caught by the store on open -----------------------------------------------------------


def test_tamper_deleted_last_entry_refused_on_open(real: Path) -> None:
    with raw_column_families(real) as cf:
        del cf["entries"][index_key(SIZE - 1)]
    with pytest.raises(StoreError, match=f"entries end at size {SIZE - 1}"):
        RocksDBLogStore.open(real, create=False)
    assert _tamper_error(real).index == SIZE - 1


def test_tamper_deleted_last_entry_with_size_record_refused_on_open(real: Path) -> None:
    with raw_column_families(real) as cf:
        del cf["entries"][index_key(SIZE - 1)]
        cf["default"][SIZE_KEY] = index_key(SIZE - 1)
    with pytest.raises(StoreError, match=f"checkpoint for size {SIZE}"):
        RocksDBLogStore.open(real, create=False)
    assert _tamper_error(real).index == SIZE - 1


def test_tamper_appended_entry_refused_on_open(real: Path, forged: dict[str, Any]) -> None:
    with raw_column_families(real) as cf:
        cf["entries"][index_key(SIZE)] = forged["entries"][index_key(SIZE - 1)]
    with pytest.raises(StoreError, match="inconsistent"):
        RocksDBLogStore.open(real, create=False)
    assert _tamper_error(real).index == SIZE
