"""Witness cosignatures on checkpoints: C2SP tlog-cosignature/v1 with Ed25519 keys.

A parent that has verified a child's checkpoint (signature, consistency with everything it saw
before, and the entries themselves) adds one signature line to the child's note:

    — <witness name> base64(key ID (4) || timestamp (8, big-endian seconds) || signature (64))

The key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4] (0x04: the cosignature/v1 type,
so a cosignature line can never be mistaken for a checkpoint signature, type 0x01, by the same
key), and the signed message is

    "cosignature/v1\\n" "time <timestamp>\\n" <the whole checkpoint body>

The statement is: "as of <timestamp>, this is the largest consistent tree head I have seen for
this origin". `ledger.checkpoint.verify_checkpoint` ignores lines by other keys, so a cosigned
note still verifies as the child's checkpoint.

A witness cosigns with its own ledger key, so its key rotates with its log (ledger/keys.py).
`verify_witness_cosignature` takes the witness's keys across its rotations: a line by any of
them counts, except one by a key the witness had already handed over from, dated at or after
the hand-over: a retired key signs nothing new.

Pure logic: no I/O, no clock (the caller passes the timestamp). Verifiers return the timestamp
or raise VerificationError; bad arguments from our own callers raise InputError.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Final

import nacl.exceptions
import nacl.signing

from ledger.checkpoint import is_valid_key_name, split_note
from ledger.errors import InputError, VerificationError
from ledger.keys import LogKeys, retired_at_ms

COSIGNATURE_ALGORITHM: Final = 0x04
"""The signed-note signature type byte of a C2SP cosignature/v1 (Ed25519) line."""
COSIGNATURE_HEADER: Final = b"cosignature/v1\n"
_MAX_TIMESTAMP: Final = 2**63 - 1
_SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space


def _check_witness(witness_name: str, public_key: bytes) -> None:
    if not is_valid_key_name(witness_name):
        raise InputError(
            f"invalid witness name {witness_name!r}: it must be non-empty, no spaces or '+'"
        )
    if len(public_key) != 32:
        raise InputError(f"Ed25519 public key has {len(public_key)} bytes, want 32")


def cosignature_key_id(witness_name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of a cosignature/v1 key: SHA-256(name || 0x0A || 0x04 || key)[:4]."""
    return _cosignature_key_id(witness_name, bytes(public_key))


# One per (witness, key): computed for every cosignature made or checked.
@functools.lru_cache(maxsize=65536)
def _cosignature_key_id(witness_name: str, public_key: bytes) -> bytes:
    _check_witness(witness_name, public_key)
    material = witness_name.encode("utf-8") + b"\n" + bytes([COSIGNATURE_ALGORITHM]) + public_key
    return hashlib.sha256(material).digest()[:4]


def witness_key_string(witness_name: str, public_key: bytes) -> str:
    """The vkey form "<name>+<hex key ID>+<base64(0x04 || public key)>" of a witness key."""
    encoded = base64.b64encode(bytes([COSIGNATURE_ALGORITHM]) + public_key).decode("ascii")
    return f"{witness_name}+{cosignature_key_id(witness_name, public_key).hex()}+{encoded}"


def signed_message(body: bytes, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header line, the time line, then the checkpoint body."""
    return COSIGNATURE_HEADER + b"time %d\n" % timestamp + body


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise InputError(f"cosignature timestamp {timestamp!r} is not in 0..2**63-1")


def cosign(
    note: bytes, witness_key: nacl.signing.SigningKey, witness_name: str, timestamp: int
) -> bytes:
    """`note` with one more signature line: `witness_name`'s cosignature at `timestamp` (seconds).

    The note must be well formed (VerificationError otherwise); the caller must already have
    verified the log's own signature and its consistency, which is what a cosignature asserts.
    A note that already carries this witness's line for another time gets a second line: each
    line is a statement about one moment.
    """
    _check_timestamp(timestamp)
    public_key = bytes(witness_key.verify_key)
    kid = cosignature_key_id(witness_name, public_key)  # also validates the name
    body, _, signatures = split_note(note)
    if len(signatures) >= 100:
        raise VerificationError("the note already carries the maximum number of signatures")
    signature = witness_key.sign(signed_message(body, timestamp)).signature
    blob = kid + timestamp.to_bytes(8, "big") + signature
    line = f"{_SIGNATURE_PREFIX}{witness_name} {base64.b64encode(blob).decode('ascii')}\n"
    return note + line.encode("utf-8")


def verify_cosignature(note: bytes, witness_public_key: bytes, witness_name: str) -> int:
    """The timestamp of the latest valid cosignature by (witness_name, key) on `note`.

    Lines by other keys are ignored; every line carrying this witness's name and key ID must
    verify. Raises VerificationError when there is none or one is bad.
    """
    kid = cosignature_key_id(witness_name, witness_public_key)
    body, checkpoint, signatures = split_note(note)
    mine = [s for s in signatures if s.key_name == witness_name and s.key_id == kid]
    if not mine:
        raise VerificationError(
            f"checkpoint of size {checkpoint.size} has no cosignature by {witness_name} "
            f"({kid.hex()})"
        )
    verifier = nacl.signing.VerifyKey(witness_public_key)
    latest = -1
    for line in mine:
        if len(line.signature) != 8 + 64:
            raise VerificationError(
                f"cosignature by {witness_name} has {len(line.signature)} bytes after the key "
                "ID, want 72 (timestamp and Ed25519 signature)"
            )
        timestamp = int.from_bytes(line.signature[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            raise VerificationError(f"cosignature by {witness_name} has a timestamp past 2**63-1")
        try:
            verifier.verify(signed_message(body, timestamp), line.signature[8:])
        except nacl.exceptions.CryptoError:
            raise VerificationError(
                f"bad cosignature by {witness_name} on checkpoint of size {checkpoint.size}"
            ) from None
        latest = max(latest, timestamp)
    return latest


def verify_witness_cosignature(note: bytes, witness_keys: LogKeys, witness_name: str) -> int:
    """The timestamp of the latest valid cosignature on `note` by the witness whose keys, across
    its rotations, are `witness_keys`. Every line by one of them must verify, and a line by a
    key the witness handed over from must be dated before that hand-over. VerificationError
    when there is none or one fails."""
    _, checkpoint, signatures = split_note(note)
    latest = -1
    for era in witness_keys:
        kid = cosignature_key_id(witness_name, era.public_key)
        if not any(s.key_name == witness_name and s.key_id == kid for s in signatures):
            continue
        timestamp = verify_cosignature(note, era.public_key, witness_name)
        retired = retired_at_ms(witness_keys, era.public_key)
        if retired is not None and timestamp * 1000 >= retired:
            raise VerificationError(
                f"cosignature by {witness_name} at {timestamp} is by a key it handed over "
                f"from at {retired // 1000}"
            )
        latest = max(latest, timestamp)
    if latest < 0:
        raise VerificationError(
            f"checkpoint of size {checkpoint.size} has no cosignature by any key of {witness_name}"
        )
    return latest


def merge_cosignatures(held: bytes, new: bytes) -> bytes:
    """One note carrying the signatures of two notes of the same checkpoint (the same body):
    `held`'s lines in their order, each line of a key that `new` also signed replaced by
    `new`'s (the newer statement), then `new`'s lines of keys `held` lacks. A node that is
    cosigned by its parent and by offices higher up keeps every witness's line, rather than
    the last one to arrive. VerificationError when the notes are malformed or of other bodies."""
    held_body, _, held_signatures = split_note(held)
    new_body, _, new_signatures = split_note(new)
    if held_body != new_body:
        raise VerificationError("the notes to merge are of different checkpoints")
    held_lines = _signature_lines(held)
    new_lines = _signature_lines(new)
    newest = {
        (s.key_name, s.key_id): line for s, line in zip(new_signatures, new_lines, strict=True)
    }
    lines: list[str] = []
    for signature, line in zip(held_signatures, held_lines, strict=True):
        lines.append(newest.pop((signature.key_name, signature.key_id), line))
    lines.extend(newest.values())
    if len(lines) > 100:
        raise VerificationError("the merged note would carry more than 100 signatures")
    return held_body + b"\n" + "".join(f"{line}\n" for line in lines).encode("utf-8")


def without_cosignatures(note: bytes, witness_name: str, public_key: bytes) -> bytes:
    """`note` without the lines of this witness key (its earlier cosignatures); the log's own
    line and other witnesses' lines are kept in their order."""
    kid = cosignature_key_id(witness_name, public_key)
    body, _, signatures = split_note(note)
    kept = [
        line
        for signature, line in zip(signatures, _signature_lines(note), strict=True)
        if not (signature.key_name == witness_name and signature.key_id == kid)
    ]
    return body + b"\n" + "".join(f"{line}\n" for line in kept).encode("utf-8")


def _signature_lines(note: bytes) -> list[str]:
    """The signature lines of a note that `split_note` accepted, without their newlines."""
    text = note.decode("utf-8")
    return text[text.rfind("\n\n") + 2 : -1].split("\n")
