"""The one proven-entry verifier (ledger/proof.py): a leaf, its index and inclusion proof,
checked against the log's signed checkpoint."""

from __future__ import annotations

import nacl.signing
import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.errors import ProofError, VerificationError
from ledger.keys import LogKeys
from ledger.log import Ledger
from ledger.proof import verify_entry, verify_log_checkpoint, verify_signed_entry
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
