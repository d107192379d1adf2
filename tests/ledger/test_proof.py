"""The one proven-entry verifier (ledger/proof.py): a leaf, its index and inclusion proof,
checked against the log's signed checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import nacl.signing
import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.errors import ProofError, VerificationError
from ledger.keys import LogKeys
from ledger.log import Ledger
from ledger.proof import (
    verify_entry,
    verify_log_checkpoint,
    verify_log_head,
    verify_signed_entry,
)
from ledger.store import MemoryLogStore
from protos import ledger_pb2, records_pb2

ORIGIN = "cctns.in/test/ps-one"
KEY = nacl.signing.SigningKey(bytes(range(32)))
PUBLIC = bytes(KEY.verify_key)
OTHER = bytes(nacl.signing.SigningKey(bytes(32)).verify_key)
KEYS = LogKeys.single(PUBLIC)
OTHER_KEYS = LogKeys.single(OTHER)


def gd(text: str) -> ledger_pb2.EntryBody:
    return ledger_pb2.EntryBody(
        officer_id="PEN1",
        general_diary=records_pb2.GeneralDiaryEntry(summary=text, category="other"),
    )


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    log = Ledger(MemoryLogStore(), KEY, ORIGIN)
    log.append_many([gd(f"entry {n}") for n in range(7)])
    return log


def check(ledger: Ledger, position: int, **changes: object) -> ledger_pb2.EntryBody:
    """Entry `position` of `ledger` through verify_entry, with some arguments changed."""
    checkpoint = verify_log_checkpoint(ledger.checkpoint(), keys=KEYS, origin=ORIGIN)
    arguments: dict[str, object] = {
        "leaf": ledger.leaf(position),
        "index": position,
        "inclusion_proof": ledger.inclusion_proof(position, checkpoint.size),
        "checkpoint": checkpoint,
        "keys": KEYS,
        "origin": ORIGIN,
    }
    arguments.update(changes)
    return verify_entry(**arguments).body  # type: ignore[arg-type]


def test_proof_entry_verifies_and_decodes(ledger: Ledger) -> None:
    for index in range(ledger.size()):
        assert check(ledger, index).general_diary.summary == f"entry {index}"
    entry = verify_signed_entry(ledger.leaf(3), 3, keys=KEYS, origin=ORIGIN)
    assert entry.index == 3 and entry.leaf_hash == merkle.leaf_hash(ledger.leaf(3))


def test_proof_note_must_be_the_logs_own(ledger: Ledger) -> None:
    with pytest.raises(VerificationError):
        verify_log_checkpoint(ledger.checkpoint(), keys=OTHER_KEYS, origin=ORIGIN)
    with pytest.raises(VerificationError):
        verify_log_checkpoint(ledger.checkpoint(), keys=KEYS, origin="cctns.in/other")


def test_proof_wrong_key_origin_or_index_is_refused(ledger: Ledger) -> None:
    with pytest.raises(VerificationError, match="signature"):
        check(ledger, 2, keys=OTHER_KEYS)
    with pytest.raises(VerificationError, match="written in log"):
        verify_signed_entry(ledger.leaf(2), 2, keys=KEYS, origin="cctns.in/other")
    with pytest.raises(VerificationError, match="written as entry 2"):
        check(ledger, 2, index=3, inclusion_proof=ledger.inclusion_proof(3, ledger.size()))
    other_log = Checkpoint("cctns.in/other", ledger.size(), bytes(32))
    with pytest.raises(VerificationError, match="checkpoint is of log"):
        check(ledger, 2, checkpoint=other_log)


def test_proof_bad_inclusion_is_a_proof_error(ledger: Ledger) -> None:
    proof = ledger.inclusion_proof(4, ledger.size())
    with pytest.raises(ProofError):
        check(ledger, 4, inclusion_proof=[bytes(32), *proof[1:]])
    with pytest.raises(ProofError, match="outside the checkpoint"):
        check(ledger, 4, checkpoint=Checkpoint(ORIGIN, 4, bytes(32)))


# -- across key rotations ---------------------------------------------------------------------

NEW = nacl.signing.SigningKey(bytes(range(5, 37)))
NEWEST = nacl.signing.SigningKey(bytes(range(6, 38)))


@dataclass(frozen=True)
class Proven:
    """A leaf with its index and inclusion proof (what federation_pb2.ProvenEntry carries)."""

    leaf: bytes
    index: int
    inclusion_proof: list[bytes]


@pytest.fixture(scope="module")
def rotated() -> Ledger:
    """KEY signs entries 0..3, the hand-over at 3; NEW 4..7, the hand-over at 7; NEWEST after."""
    log = Ledger(MemoryLogStore(), KEY, ORIGIN)
    log.append_many([gd(f"entry {n}") for n in range(3)])
    log.rotate_key(NEW, officer_id="PEN1")
    log.append_many([gd(f"entry {n}") for n in range(4, 7)])
    log.rotate_key(NEWEST, officer_id="PEN1")
    log.append_many([gd(f"entry {n}") for n in range(8, 11)])
    return log


def handovers(ledger: Ledger, size: int, indexes: list[int] | None = None) -> list[Proven]:
    wanted = ledger.keys.handover_indexes() if indexes is None else indexes
    return [Proven(ledger.leaf(i), i, ledger.inclusion_proof(i, size)) for i in wanted]


def test_proof_head_follows_the_handovers_from_any_key_of_the_log(rotated: Ledger) -> None:
    note, size = rotated.checkpoint(), rotated.size()
    for pinned in (KEY, NEW, NEWEST):
        head = verify_log_head(
            note, handovers(rotated, size), pinned_key=bytes(pinned.verify_key), origin=ORIGIN
        )
        assert head.checkpoint.size == size
        assert head.keys == rotated.keys
    # Each entry then checks with the key of its place.
    for index in (0, 3, 4, 7, 8, 10):
        verify_entry(
            rotated.leaf(index),
            index,
            rotated.inclusion_proof(index, size),
            head.checkpoint,
            keys=head.keys,
            origin=ORIGIN,
        )
    with pytest.raises(VerificationError, match="signature"):
        verify_signed_entry(rotated.leaf(8), 8, keys=LogKeys.single(PUBLIC), origin=ORIGIN)


def test_proof_head_refuses_a_pinned_key_the_log_never_had(rotated: Ledger) -> None:
    with pytest.raises(VerificationError, match="never pass through"):
        verify_log_head(
            rotated.checkpoint(),
            handovers(rotated, rotated.size()),
            pinned_key=OTHER,
            origin=ORIGIN,
        )


def test_proof_head_needs_every_handover_in_order(rotated: Ledger) -> None:
    note, size = rotated.checkpoint(), rotated.size()
    for indexes in ([], [3], [7], [7, 3]):
        with pytest.raises(VerificationError):
            verify_log_head(
                note, handovers(rotated, size, indexes), pinned_key=PUBLIC, origin=ORIGIN
            )
    with pytest.raises(VerificationError, match="no key hand-over"):
        verify_log_head(note, handovers(rotated, size, [3, 5, 7]), pinned_key=PUBLIC, origin=ORIGIN)


def test_proof_head_handovers_must_be_in_the_checkpointed_tree(rotated: Ledger) -> None:
    size = rotated.size()
    stale = handovers(rotated, 9)  # proven for another tree than the note's
    with pytest.raises(ProofError):
        verify_log_head(rotated.checkpoint(), stale, pinned_key=PUBLIC, origin=ORIGIN)
    moved = [Proven(p.leaf, p.index, p.inclusion_proof) for p in handovers(rotated, size)]
    moved[0] = Proven(moved[0].leaf, 2, rotated.inclusion_proof(2, size))
    with pytest.raises(VerificationError, match="written as entry 3"):
        verify_log_head(rotated.checkpoint(), moved, pinned_key=PUBLIC, origin=ORIGIN)
