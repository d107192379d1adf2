"""Key rotation in the ledger (ledger/keys.py, Ledger.rotate_key, verify_log): a log handed
over from one key to the next on a real RocksDB store, read across the hand-over, and every way
of forging one refused."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import pytest

from ledger.checkpoint import verify_checkpoint
from ledger.entry import parse_leaf
from ledger.errors import InputError, StoreError, TamperError, UsageError, VerificationError
from ledger.keys import (
    KEY_ROTATION,
    META_KEYS,
    Era,
    Handover,
    LogKeys,
    handover_of,
    retired_at_ms,
)
from ledger.log import Ledger, verify_log
from ledger.rocksdb_store import RocksDBLogStore
from ledger.store import CommitBatch, LogStore, MemoryLogStore
from protos import ledger_pb2, records_pb2
from tests.ledger.forgery import forge, forge_handover

ORIGIN = "cctns.in/test/keys/ps-1"
OLD = nacl.signing.SigningKey(bytes(range(1, 33)))
NEW = nacl.signing.SigningKey(bytes(range(2, 34)))
THIRD = nacl.signing.SigningKey(bytes(range(3, 35)))
OUTSIDER = nacl.signing.SigningKey(bytes(range(9, 41)))


def pub(key: nacl.signing.SigningKey) -> bytes:
    return bytes(key.verify_key)


def gd(text: str) -> ledger_pb2.EntryBody:
    return ledger_pb2.EntryBody(
        officer_id="PEN1",
        general_diary=records_pb2.GeneralDiaryEntry(summary=text, category="other"),
    )


def ledger_over(store: LogStore, key: nacl.signing.SigningKey = OLD) -> Ledger:
    clock = itertools.count(1_700_000_000_000, 1000)
    return Ledger(store, key, ORIGIN, clock=lambda: next(clock))


@pytest.fixture
def rotated(tmp_path: Path) -> Iterator[Path]:
    """A RocksDB log: 5 entries under OLD, the hand-over at 5, 5 entries under NEW."""
    path = tmp_path / "log"
    with RocksDBLogStore.open(path) as store:
        ledger = ledger_over(store)
        ledger.append_many([gd(f"before {n}") for n in range(5)])
        ledger.rotate_key(NEW, officer_id="PEN1", note="scheduled")
        for n in range(5):
            ledger.append(gd(f"after {n}"))
        ledger.close()
    yield path


# -- the log ----------------------------------------------------------------------------------


def test_keys_rotated_rocksdb_log_verifies_from_its_first_key(rotated: Path) -> None:
    with RocksDBLogStore.open(rotated, audit=True) as store:
        report = verify_log(store, pub(OLD), ORIGIN)
        assert report.size == 11
        assert [(era.start, era.public_key) for era in report.keys] == [
            (0, pub(OLD)),
            (6, pub(NEW)),
        ]
        handover = parse_leaf(store.entry(5)).decode_body()
        assert handover.node_event.kind == KEY_ROTATION
        assert handover.node_event.previous_key == pub(OLD)
        assert handover.node_event.public_key == pub(NEW)
        # The hand-over is signed by the old key, everything after it by the new one.
        parse_leaf(store.entry(5)).verify_signature(pub(OLD))
        for index in range(6, 11):
            leaf = parse_leaf(store.entry(index))
            leaf.verify_signature(pub(NEW))
            with pytest.raises(VerificationError):
                leaf.verify_signature(pub(OLD))
        # The checkpoint written with the hand-over is the new key's already.
        notes = dict(store.checkpoints())
        verify_checkpoint(notes[6], pub(NEW), ORIGIN)
        verify_checkpoint(notes[5], pub(OLD), ORIGIN)
        with pytest.raises(VerificationError):
            verify_checkpoint(notes[6], pub(OLD), ORIGIN)
        # Starting from any other key than the first, entry 0 does not verify.
        with pytest.raises(TamperError) as caught:
            verify_log(store, pub(NEW), ORIGIN)
        assert caught.value.index == 0


def test_keys_rotated_log_opens_with_the_new_key_only(rotated: Path) -> None:
    with RocksDBLogStore.open(rotated) as store:
        with pytest.raises(UsageError, match="signed by key"):
            ledger_over(store, OLD)
        ledger = ledger_over(store, NEW)
        assert ledger.keys.handover_indexes() == [5]
        ledger.append(gd("after reopening"))
        ledger.close()
        assert verify_log(store, pub(OLD), ORIGIN).size == 12


def test_keys_second_rotation_and_a_key_used_before(rotated: Path) -> None:
    with RocksDBLogStore.open(rotated) as store:
        ledger = ledger_over(store, NEW)
        for used in (OLD, NEW):
            with pytest.raises(InputError, match="signed this log before"):
                ledger.rotate_key(used, officer_id="PEN1")
        ledger.rotate_key(THIRD, officer_id="PEN1")
        ledger.append(gd("third era"))
        ledger.close()
        report = verify_log(store, pub(OLD), ORIGIN)
        assert [era.public_key for era in report.keys] == [pub(OLD), pub(NEW), pub(THIRD)]
        assert report.keys.handover_indexes() == [5, 11]


def test_keys_rotation_amid_appends_from_many_threads_verifies() -> None:
    """Appends from many threads while the log is handed over: each entry is signed by the key
    its place calls for (the waiting ones under the old key), and the log verifies."""
    store = MemoryLogStore()
    ledger = ledger_over(store)
    start = threading.Barrier(9)

    def writer(number: int) -> None:
        start.wait()
        for n in range(40):
            ledger.append(gd(f"writer {number} entry {n}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    start.wait()
    ledger.rotate_key(NEW, officer_id="PEN1")
    for thread in threads:
        thread.join()
    report = verify_log(store, pub(OLD), ORIGIN)
    assert report.size == 8 * 40 + 1
    assert len(report.keys.eras) == 2


# -- forgeries --------------------------------------------------------------------------------


@pytest.fixture
def honest() -> MemoryLogStore:
    """Five entries under OLD, written by the Ledger."""
    store = MemoryLogStore()
    ledger_over(store).append_many([gd(f"entry {n}") for n in range(5)])
    return store


@pytest.mark.parametrize(
    ("previous", "new", "possession_by", "entry_key", "refusal"),
    [
        # The outsider hands the log to itself: possession fine, but the entry is not OLD's.
        (OLD, OUTSIDER, OUTSIDER, OUTSIDER, "signature"),
        # The old key names a new key whose holder never agreed (possession by another).
        (OLD, NEW, OUTSIDER, OLD, "not signed by the key it hands over to"),
        # Signed by the key in force, but handing over from another one.
        (OUTSIDER, NEW, NEW, OLD, "not the one in force"),
    ],
    ids=["signed-by-an-outsider", "not-accepted-by-the-new-key", "from-a-key-not-in-force"],
)
def test_keys_forged_handover_is_refused(
    honest: MemoryLogStore,
    previous: nacl.signing.SigningKey,
    new: nacl.signing.SigningKey,
    possession_by: nacl.signing.SigningKey,
    entry_key: nacl.signing.SigningKey,
    refusal: str,
) -> None:
    at = forge_handover(
        honest,
        ORIGIN,
        previous=pub(previous),
        new=new,
        possession_by=possession_by,
        entry_key=entry_key,
    )
    with pytest.raises(TamperError, match=refusal) as caught:
        verify_log(honest, pub(OLD), ORIGIN)
    assert caught.value.index == at


def test_keys_entry_by_a_key_never_handed_over_to_is_refused(rotated: Path) -> None:
    with RocksDBLogStore.open(rotated) as store:
        at = forge(store, ORIGIN, gd("by an outsider"), entry_key=OUTSIDER, checkpoint_key=OUTSIDER)
        with pytest.raises(TamperError, match="signature") as caught:
            verify_log(store, pub(OLD), ORIGIN)
        assert caught.value.index == at
    # Nor does the retired key sign anything after its hand-over.
    with RocksDBLogStore.open(rotated.parent / "log2") as store:
        ledger = ledger_over(store)
        ledger.rotate_key(NEW, officer_id="PEN1")
        at = forge(store, ORIGIN, gd("by the old key"), entry_key=OLD, checkpoint_key=NEW)
        with pytest.raises(TamperError, match="signature") as caught:
            verify_log(store, pub(OLD), ORIGIN)
        assert caught.value.index == at


def test_keys_checkpoint_of_the_handover_by_the_old_key_is_refused(honest: MemoryLogStore) -> None:
    at = forge_handover(
        honest,
        ORIGIN,
        previous=pub(OLD),
        new=NEW,
        possession_by=NEW,
        entry_key=OLD,
        checkpoint_key=OLD,
    )
    with pytest.raises(TamperError, match=f"checkpoint for size {at + 1}"):
        verify_log(honest, pub(OLD), ORIGIN)


def test_keys_stored_key_list_must_match_the_handovers(rotated: Path) -> None:
    with RocksDBLogStore.open(rotated) as store:
        wrong = LogKeys((Era(0, pub(OLD), 0), Era(6, pub(OUTSIDER), 0)))
        store.commit(CommitBatch(store.size(), [], [], meta={META_KEYS: wrong.encode()}))
        with pytest.raises(TamperError, match="stored key list disagrees"):
            verify_log(store, pub(OLD), ORIGIN)


# -- LogKeys ----------------------------------------------------------------------------------


def test_keys_key_at_names_the_key_of_entries_and_checkpoints() -> None:
    keys = LogKeys.single(pub(OLD)).after(Handover(5, pub(OLD), pub(NEW), 7000))
    assert [keys.key_at(n) for n in (0, 5, 6, 100)] == [pub(OLD), pub(OLD), pub(NEW), pub(NEW)]
    assert keys.first == pub(OLD) and keys.current == pub(NEW)
    assert keys.handover_indexes() == [5]
    assert keys.up_to(5) == LogKeys.single(pub(OLD))
    assert keys.up_to(6) == keys
    assert keys.extends(LogKeys.single(pub(OLD))) and not LogKeys.single(pub(NEW)).extends(keys)
    assert LogKeys.decode(keys.encode()) == keys
    assert retired_at_ms(keys, pub(OLD)) == 7000 and retired_at_ms(keys, pub(NEW)) is None


def test_keys_handovers_that_do_not_continue_are_refused() -> None:
    keys = LogKeys.single(pub(OLD)).after(Handover(5, pub(OLD), pub(NEW), 0))
    with pytest.raises(VerificationError, match="not after"):
        keys.after(Handover(4, pub(NEW), pub(THIRD), 0))
    with pytest.raises(VerificationError, match="not the one in force"):
        keys.after(Handover(9, pub(OLD), pub(THIRD), 0))
    with pytest.raises(VerificationError, match="used before"):
        keys.after(Handover(9, pub(NEW), pub(OLD), 0))


def test_keys_stored_list_that_is_not_whole_eras_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        LogKeys.decode(b"\x00" * 47)
    with pytest.raises(StoreError):
        LogKeys.decode((5).to_bytes(8, "big") + bytes(8) + pub(OLD))  # no era at entry 0


def test_keys_handover_of_reads_only_key_rotations() -> None:
    assert handover_of(gd("not a hand-over")) is None
    genesis = ledger_pb2.EntryBody(
        node_event=ledger_pb2.NodeEvent(kind="genesis", public_key=pub(OLD))
    )
    assert handover_of(genesis) is None
    short = ledger_pb2.EntryBody(
        node_event=ledger_pb2.NodeEvent(kind=KEY_ROTATION, public_key=pub(NEW))
    )
    with pytest.raises(VerificationError, match="two Ed25519 keys"):
        handover_of(short)
