"""Signed entries: the bytes a node signs, the leaf bytes it stores, and their checks.

A leaf is the protobuf `SignedEntry{body, signature}`. `body` is the deterministic serialisation
of an `EntryBody`, made once by the writer; the signature is Ed25519 over ENTRY_CONTEXT || body.
The leaf bytes are encoded here by hand, in the exact form protobuf's deterministic encoder gives
(field 1 then field 2, both length-delimited), so that a reader can insist on that one encoding:
a leaf carrying extra fields, padding or another field order is rejected, never "normalised".

This module must never re-serialise a body before verifying it.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
from google.protobuf.message import DecodeError

from ledger.errors import VerificationError
from protos import ledger_pb2

ENTRY_CONTEXT = b"cctns/entry/v1\n"
SIGNATURE_SIZE = 64


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_leaf(body: bytes, signature: bytes) -> bytes:
    """The canonical SignedEntry bytes for a body and its signature."""
    if len(signature) != SIGNATURE_SIZE:
        raise VerificationError(f"signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}")
    return b"\x0a" + _varint(len(body)) + body + b"\x12\x40" + signature


def sign_body(body: bytes, secret_key: bytes) -> bytes:
    """Ed25519 signature (64 bytes) of ENTRY_CONTEXT || body with a libsodium 64-byte secret key."""
    signed: bytes = nacl.bindings.crypto_sign(ENTRY_CONTEXT + body, secret_key)
    return signed[:SIGNATURE_SIZE]


@dataclass(frozen=True, slots=True)
class Leaf:
    """A stored leaf split into its signed body and signature; `raw` is the exact leaf bytes."""

    raw: bytes
    body: bytes
    signature: bytes

    def decode_body(self) -> ledger_pb2.EntryBody:
        """Parses the body. Raises VerificationError when it is not a valid EntryBody."""
        message = ledger_pb2.EntryBody()
        try:
            message.ParseFromString(self.body)
        except DecodeError as exc:
            raise VerificationError(f"entry body is not a valid EntryBody: {exc}") from exc
        return message

    def verify_signature(self, public_key: bytes) -> None:
        """Checks the Ed25519 signature over the stored body bytes; VerificationError if bad."""
        try:
            nacl.bindings.crypto_sign_open(self.signature + ENTRY_CONTEXT + self.body, public_key)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError) as exc:
            raise VerificationError("entry signature does not verify") from exc


def parse_leaf(raw: bytes) -> Leaf:
    """Splits leaf bytes, insisting on the one canonical encoding. VerificationError otherwise."""
    message = ledger_pb2.SignedEntry()
    try:
        message.ParseFromString(raw)
    except DecodeError as exc:
        raise VerificationError(f"leaf is not a SignedEntry: {exc}") from exc
    if len(message.signature) != SIGNATURE_SIZE:
        raise VerificationError("leaf has no valid 64-byte signature")
    if encode_leaf(message.body, message.signature) != raw:
        raise VerificationError("leaf is not in canonical encoding (extra or reordered fields)")
    return Leaf(raw=raw, body=message.body, signature=message.signature)


def record_kind(body: ledger_pb2.EntryBody) -> str:
    """The name of the record a body carries ("fir", "general_diary", ...), or "" if none."""
    return body.WhichOneof("record") or ""
