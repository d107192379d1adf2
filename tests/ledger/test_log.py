"""The ledger core over the memory store: stamping, group commit, proofs, and its invariants
as a Hypothesis state machine."""

from __future__ import annotations

import threading

import nacl.signing
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.entry import ENTRY_CONTEXT, encode_leaf, parse_leaf
from ledger.errors import InputError, StoreError, TooLarge, VerificationError
from ledger.log import MAX_ENTRY_BYTES, Ledger, verify_log
from ledger.store import CommitBatch, MemoryLogStore
from protos import ledger_pb2, records_pb2
from tests.ledger.reference_merkle import mth

ORIGIN = "cctns.in/test/ps-one"
KEY = nacl.signing.SigningKey(bytes(range(32)))
PUBLIC = bytes(KEY.verify_key)


def gd(text: str) -> ledger_pb2.EntryBody:
    return ledger_pb2.EntryBody(
        officer_id="PEN1",
        general_diary=records_pb2.GeneralDiaryEntry(summary=text, category="other"),
    )


def test_log_append_stamps_origin_index_and_clock() -> None:
    clock = iter([1000, 900, 2000])
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN, clock=lambda: next(clock))
    first = ledger.append(gd("a"))
    second = ledger.append(gd("b"))  # the clock went back: the log's time does not
    third = ledger.append(gd("c"))
    assert [a.index for a in (first, second, third)] == [0, 1, 2]
    assert [a.body.written_at_ms for a in (first, second, third)] == [1000, 1000, 2000]
    assert all(a.body.origin == ORIGIN for a in (first, second, third))


def test_log_leaf_is_the_signed_body_in_canonical_form() -> None:
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN)
    appended = ledger.append(gd("signed"))
    leaf = parse_leaf(ledger.leaf(0))
    assert leaf.raw == appended.leaf
    KEY.verify_key.verify(ENTRY_CONTEXT + leaf.body, leaf.signature)
    envelope = ledger_pb2.SignedEntry(body=leaf.body, signature=leaf.signature)
    assert envelope.SerializeToString(deterministic=True) == leaf.raw
    assert appended.leaf_hash == merkle.leaf_hash(leaf.raw)


def test_log_noncanonical_leaf_is_rejected() -> None:
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN)
    leaf = parse_leaf(ledger.append(gd("x")).leaf)
    padded = encode_leaf(leaf.body, leaf.signature) + b"\x1a\x00"  # an unknown extra field
    with pytest.raises(VerificationError, match="canonical"):
        parse_leaf(padded)


def test_log_every_commit_writes_a_checkpoint_for_its_size() -> None:
    store = MemoryLogStore()
    ledger = Ledger(store, KEY, ORIGIN)
    ledger.append_many([gd(str(i)) for i in range(5)])
    ledger.append(gd("six"))
    sizes = [size for size, _ in store.checkpoints()]
    assert sizes == [5, 6]
    checkpoint = verify_checkpoint(ledger.checkpoint(), PUBLIC, ORIGIN, ORIGIN)
    assert checkpoint.size == 6
    leaves = list(store.entries(0, 6))
    assert checkpoint.root == mth(leaves)


def test_log_threads_appending_at_once_share_commits_and_lose_nothing() -> None:
    store = MemoryLogStore()
    ledger = Ledger(store, KEY, ORIGIN)

    def writer(name: str) -> None:
        for i in range(40):
            ledger.append(gd(f"{name}-{i}"))

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ledger.size() == 160
    summaries = sorted(ledger.body(i).general_diary.summary for i in range(160))
    assert summaries == sorted(f"t{n}-{i}" for n in range(4) for i in range(40))
    commits = len(list(store.checkpoints()))
    assert commits <= 160
    verify_log(store, PUBLIC, ORIGIN)


def test_log_failed_commit_reaches_every_caller_and_writes_nothing() -> None:
    class FailingStore(MemoryLogStore):
        def commit(self, batch: object) -> None:
            raise StoreError("disk full")

    ledger = Ledger(FailingStore(), KEY, ORIGIN)
    with pytest.raises(StoreError, match="disk full"):
        ledger.append_many([gd("a"), gd("b")])
    assert ledger.size() == 0


def test_log_entry_over_the_maximum_is_refused_before_anything_is_appended() -> None:
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN)
    ledger.append(gd("first"))
    note = ledger.checkpoint()
    with pytest.raises(TooLarge, match=r"entry 2 of 2 is .* the ledger takes at most 1,048,576"):
        ledger.append_many([gd("fits"), gd("x" * MAX_ENTRY_BYTES)])
    assert ledger.size() == 1 and ledger.checkpoint() == note
    # Just under the maximum (with room for the stamp) is an entry like any other.
    near = ledger.append(gd("x" * (MAX_ENTRY_BYTES - 200)))
    assert MAX_ENTRY_BYTES - 200 < near.body.ByteSize() <= MAX_ENTRY_BYTES
    verify_log(ledger.store, PUBLIC, ORIGIN)


def test_log_refuses_a_store_whose_entries_outrun_its_checkpoint() -> None:
    store = MemoryLogStore()
    Ledger(store, KEY, ORIGIN).append(gd("a"))

    store.commit(CommitBatch(start=1, entries=[b"junk"], nodes=[]))
    with pytest.raises(StoreError, match="checkpoint covers 1"):
        Ledger(store, KEY, ORIGIN)


def test_log_proof_arguments_out_of_range_are_input_errors() -> None:
    ledger = Ledger(MemoryLogStore(), KEY, ORIGIN)
    ledger.append_many([gd(str(i)) for i in range(3)])
    with pytest.raises(InputError):
        ledger.inclusion_proof(3)
    with pytest.raises(InputError):
        ledger.consistency_proof(2, 9)
    with pytest.raises(InputError):
        ledger.leaf(7)


def test_log_verify_checks_against_a_checkpoint_held_elsewhere() -> None:
    store = MemoryLogStore()
    ledger = Ledger(store, KEY, ORIGIN)
    ledger.append_many([gd(str(i)) for i in range(4)])
    held = ledger.checkpoint()
    ledger.append(gd("later"))
    assert verify_log(store, PUBLIC, ORIGIN, trusted_checkpoints=[held]).size == 5
    other = Ledger(MemoryLogStore(), KEY, ORIGIN)  # same key, a different history
    other.append_many([gd(f"other {i}") for i in range(4)])
    with pytest.raises(VerificationError, match="trusted checkpoint"):
        verify_log(store, PUBLIC, ORIGIN, trusted_checkpoints=[other.checkpoint()])


class LedgerMachine(RuleBasedStateMachine):
    """Whatever the order of appends, every old checkpoint stays provably a prefix of the log,
    every entry is provably in it, and the whole log verifies."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryLogStore()
        self.ledger = Ledger(self.store, KEY, ORIGIN)
        self.expected: list[str] = []
        self.notes: list[bytes] = []

    @rule(texts=st.lists(st.text(max_size=20), min_size=1, max_size=12))
    def append_batch(self, texts: list[str]) -> None:
        self.ledger.append_many([gd(t) for t in texts])
        self.expected.extend(texts)
        self.notes.append(self.ledger.checkpoint())

    @rule(text=st.text(max_size=20))
    def append_one(self, text: str) -> None:
        self.ledger.append(gd(text))
        self.expected.append(text)
        self.notes.append(self.ledger.checkpoint())

    @rule(data=st.data())
    def old_checkpoint_is_consistent_with_now(self, data: st.DataObject) -> None:
        if not self.notes:
            return
        note = data.draw(st.sampled_from(self.notes))
        old = verify_checkpoint(note, PUBLIC, ORIGIN, ORIGIN)
        size = self.ledger.size()
        proof = self.ledger.consistency_proof(old.size, size)
        merkle.verify_consistency(old.size, size, proof, old.root, self.ledger.root())

    @rule(data=st.data())
    def entry_is_included(self, data: st.DataObject) -> None:
        size = self.ledger.size()
        if not size:
            return
        index = data.draw(st.integers(0, size - 1))
        proof = self.ledger.inclusion_proof(index)
        digest = merkle.leaf_hash(self.ledger.leaf(index))
        merkle.verify_inclusion(digest, index, size, proof, self.ledger.root())

    @invariant()
    def contents_and_verification(self) -> None:
        assert self.ledger.size() == len(self.expected)
        if self.expected:
            last = self.ledger.body(len(self.expected) - 1)
            assert last.general_diary.summary == self.expected[-1]
        verify_log(self.store, PUBLIC, ORIGIN, trusted_checkpoints=self.notes[-2:])


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
