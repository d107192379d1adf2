"""C2SP tlog-cosignature/v1 (Ed25519) witness cosignatures on checkpoint notes."""

from __future__ import annotations

import base64
import hashlib

import nacl.signing
import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note, sign_checkpoint, verify_checkpoint
from ledger.cosignature import (
    cosign,
    cosignature_key_id,
    merge_cosignatures,
    signed_message,
    verify_cosignature,
    verify_witness_cosignature,
    without_cosignatures,
    witness_key_string,
)
from ledger.errors import InputError, VerificationError
from ledger.keys import Handover, LogKeys

ORIGIN = "cctns.in/kerala/ekm/ps-aluva"
LOG_KEY = nacl.signing.SigningKey(bytes(range(32)))
WITNESS_KEY = nacl.signing.SigningKey(bytes(range(1, 33)))
WITNESS = "cctns.in/kerala/ekm/dpo"
ROOT = hashlib.sha256(b"root").digest()


def note(size: int = 7) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, ROOT), LOG_KEY)


def test_cosignature_round_trip_returns_timestamp() -> None:
    cosigned = cosign(note(), WITNESS_KEY, WITNESS, 1_700_000_000)
    public = bytes(WITNESS_KEY.verify_key)
    assert verify_cosignature(cosigned, public, WITNESS) == 1_700_000_000
    assert cosigned.startswith(note())  # one line appended, nothing else touched


def test_cosignature_line_format_follows_c2sp() -> None:
    cosigned = cosign(note(), WITNESS_KEY, WITNESS, 1679315147)
    line = cosigned.decode("utf-8").rstrip("\n").split("\n")[-1]
    assert line.startswith(f"\u2014 {WITNESS} ")
    blob = base64.b64decode(line.split(" ")[2])
    public = bytes(WITNESS_KEY.verify_key)
    expected_id = hashlib.sha256(WITNESS.encode() + b"\n\x04" + public).digest()[:4]
    assert blob[:4] == expected_id == cosignature_key_id(WITNESS, public)
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    body = Checkpoint(ORIGIN, 7, ROOT).body()
    message = b"cosignature/v1\ntime 1679315147\n" + body
    assert signed_message(body, 1679315147) == message
    WITNESS_KEY.verify_key.verify(message, blob[12:])  # raises if wrong
    assert len(blob) == 4 + 8 + 64
    assert witness_key_string(WITNESS, public).startswith(f"{WITNESS}+{expected_id.hex()}+")


def test_cosignature_keeps_checkpoint_verifiable() -> None:
    cosigned = cosign(note(), WITNESS_KEY, WITNESS, 5)
    cp = verify_checkpoint(cosigned, bytes(LOG_KEY.verify_key), ORIGIN, ORIGIN)
    assert (cp.size, cp.root) == (7, ROOT)
    assert len(parse_note(cosigned)[1]) == 2


def test_cosignature_several_witnesses_each_verify() -> None:
    other = nacl.signing.SigningKey(bytes(range(2, 34)))
    both = cosign(cosign(note(), WITNESS_KEY, WITNESS, 5), other, "cctns.in/kerala/scrb", 9)
    assert verify_cosignature(both, bytes(WITNESS_KEY.verify_key), WITNESS) == 5
    assert verify_cosignature(both, bytes(other.verify_key), "cctns.in/kerala/scrb") == 9
    verify_checkpoint(both, bytes(LOG_KEY.verify_key), ORIGIN, ORIGIN)


def test_cosignature_missing_is_refused() -> None:
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(note(), bytes(WITNESS_KEY.verify_key), WITNESS)


def test_cosignature_by_other_key_is_ignored_then_refused() -> None:
    impostor = nacl.signing.SigningKey(bytes(range(3, 35)))
    cosigned = cosign(note(), impostor, WITNESS, 5)
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(cosigned, bytes(WITNESS_KEY.verify_key), WITNESS)


def test_cosignature_on_other_checkpoint_does_not_verify() -> None:
    cosigned = cosign(note(7), WITNESS_KEY, WITNESS, 5)
    moved = note(8) + cosigned[len(note(7)) :]  # the line pasted onto another size
    with pytest.raises(VerificationError, match="bad cosignature"):
        verify_cosignature(moved, bytes(WITNESS_KEY.verify_key), WITNESS)


def test_cosignature_changed_timestamp_does_not_verify() -> None:
    cosigned = cosign(note(), WITNESS_KEY, WITNESS, 5)
    text = cosigned.decode()
    head, _, line = text.rstrip("\n").rpartition("\n")
    name, encoded = line[2:].split(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[11] ^= 1
    forged = f"{head}\n\u2014 {name} {base64.b64encode(bytes(blob)).decode()}\n".encode()
    with pytest.raises(VerificationError, match="bad cosignature"):
        verify_cosignature(forged, bytes(WITNESS_KEY.verify_key), WITNESS)


def test_cosignature_is_not_a_checkpoint_signature_by_the_same_key() -> None:
    # A node may witness with its ledger key: the 0x04 key ID and the "cosignature/v1" header
    # keep the two kinds of signature apart.
    cosigned = cosign(
        sign_checkpoint(Checkpoint(ORIGIN, 1, merkle.EMPTY_ROOT), LOG_KEY), LOG_KEY, ORIGIN, 3
    )
    assert verify_cosignature(cosigned, bytes(LOG_KEY.verify_key), ORIGIN) == 3
    verify_checkpoint(cosigned, bytes(LOG_KEY.verify_key), ORIGIN, ORIGIN)


@pytest.mark.parametrize("timestamp", [-1, 2**63])
def test_cosignature_timestamp_out_of_range_is_refused(timestamp: int) -> None:
    with pytest.raises(InputError):
        cosign(note(), WITNESS_KEY, WITNESS, timestamp)


def test_cosignature_malformed_note_is_refused() -> None:
    with pytest.raises(VerificationError, match="malformed"):
        cosign(b"not a note", WITNESS_KEY, WITNESS, 1)


def test_cosignature_across_the_witness_key_rotation() -> None:
    """The witness handed its key over at 1_700_000_000 s: its old key's cosignatures dated
    before count, later ones do not (a retired key signs nothing new), the new key's do."""
    new_key = nacl.signing.SigningKey(bytes(range(2, 34)))
    old, new = bytes(WITNESS_KEY.verify_key), bytes(new_key.verify_key)
    keys = LogKeys.single(old).after(Handover(40, old, new, 1_700_000_000_000))
    before = cosign(note(), WITNESS_KEY, WITNESS, 1_699_999_999)
    assert verify_witness_cosignature(before, keys, WITNESS) == 1_699_999_999
    after = cosign(note(), new_key, WITNESS, 1_700_000_100)
    assert verify_witness_cosignature(after, keys, WITNESS) == 1_700_000_100
    both = cosign(before, new_key, WITNESS, 1_700_000_100)
    assert verify_witness_cosignature(both, keys, WITNESS) == 1_700_000_100
    late = cosign(note(), WITNESS_KEY, WITNESS, 1_700_000_000)
    with pytest.raises(VerificationError, match="handed over from"):
        verify_witness_cosignature(late, keys, WITNESS)
    stranger = nacl.signing.SigningKey(bytes(range(3, 35)))
    with pytest.raises(VerificationError, match="no cosignature by any key"):
        verify_witness_cosignature(cosign(note(), stranger, WITNESS, 1), keys, WITNESS)


STATE_KEY = nacl.signing.SigningKey(bytes(range(2, 34)))
STATE = "cctns.in/kerala/scrb"


def test_merge_keeps_every_witness_and_each_ones_newest_line() -> None:
    by_district = cosign(note(), WITNESS_KEY, WITNESS, 1_000)
    by_state = cosign(note(), STATE_KEY, STATE, 1_100)
    merged = merge_cosignatures(by_district, by_state)
    assert verify_cosignature(merged, bytes(WITNESS_KEY.verify_key), WITNESS) == 1_000
    assert verify_cosignature(merged, bytes(STATE_KEY.verify_key), STATE) == 1_100
    assert verify_checkpoint(merged, bytes(LOG_KEY.verify_key), ORIGIN, ORIGIN).size == 7
    # The district cosigns the same checkpoint again later: its line is replaced, not added.
    later = merge_cosignatures(merged, cosign(note(), WITNESS_KEY, WITNESS, 2_000))
    assert verify_cosignature(later, bytes(WITNESS_KEY.verify_key), WITNESS) == 2_000
    assert later.count(WITNESS.encode() + b" ") == 1
    assert verify_cosignature(later, bytes(STATE_KEY.verify_key), STATE) == 1_100


def test_merge_refuses_notes_of_other_checkpoints() -> None:
    with pytest.raises(VerificationError, match="different checkpoints"):
        merge_cosignatures(cosign(note(7), WITNESS_KEY, WITNESS, 1), note(8))


def test_without_cosignatures_drops_only_that_witness() -> None:
    both = cosign(cosign(note(), WITNESS_KEY, WITNESS, 5), STATE_KEY, STATE, 6)
    left = without_cosignatures(both, WITNESS, bytes(WITNESS_KEY.verify_key))
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(left, bytes(WITNESS_KEY.verify_key), WITNESS)
    assert verify_cosignature(left, bytes(STATE_KEY.verify_key), STATE) == 6
    assert verify_checkpoint(left, bytes(LOG_KEY.verify_key), ORIGIN, ORIGIN).size == 7
    assert without_cosignatures(note(), WITNESS, bytes(WITNESS_KEY.verify_key)) == note()
