"""Signed checkpoints: C2SP tlog-checkpoint bodies in C2SP signed-note format, Ed25519 keys.

A checkpoint commits a log to its Merkle root at one size:

    <origin>\\n<size>\\n<base64 root>\\n[<extension line>\\n ...]
    \\n
    — <key name> <base64(4-byte key ID || 64-byte Ed25519 signature of the body)>\\n ...

The key ID is SHA-256(key name || 0x0A || 0x01 || public key)[:4], and a verifier key is
written "<name>+<hex key ID>+<base64(0x01 || public key)>" as golang.org/x/mod/sumdb/note does.

Parsing is strict on purpose: a note has exactly one byte form, so two nodes never disagree on
what was signed. Signatures are checked over the exact body bytes received, never over a
re-serialisation. Verifiers return a Checkpoint or raise VerificationError; bad arguments from
our own callers (a malformed key or checkpoint to sign) raise InputError.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.signing

from ledger.errors import InputError, VerificationError

ED25519_ALGORITHM: Final = 0x01
"""The signed-note signature type byte for Ed25519."""
HASH_SIZE: Final = 32
MAX_SIGNATURES: Final = 100  # the spec asks verifiers to accept at least 16
_SIGNATURE_PREFIX: Final = "\u2014 "  # em dash, space
_MAX_SIZE: Final = 2**64 - 1  # tree sizes are uint64 elsewhere in the ecosystem

_SIZE_RE: Final = re.compile(r"0|[1-9][0-9]*", re.ASCII)
# The note format forbids ASCII controls but newline; body lines also refuse DEL and C1 controls.
_NOTE_CONTROL_RE: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")
_LINE_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note: who claims to have signed, and the signature bytes."""

    key_name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # what follows the key ID; 64 bytes for Ed25519


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: its origin, tree size and RFC 9162 root, plus opaque extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = _checkpoint_problems(self.origin, self.size, self.root, self.extensions)
        if problems:
            raise InputError("invalid checkpoint", problems)

    def body(self) -> bytes:
        """The note text: origin, size, base64 root and extension lines, each ending in \\n."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        lines.extend(self.extensions)
        return "".join(line + "\n" for line in lines).encode("utf-8")


def _line_problem(what: str, line: str) -> str | None:
    if not line:
        return f"{what} is empty"
    if _LINE_CONTROL_RE.search(line):
        return f"{what} contains a control character"
    return None


def _checkpoint_problems(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> list[str]:
    problems = []
    if (problem := _line_problem("origin", origin)) is not None:
        problems.append(problem)
    if isinstance(size, bool) or not 0 <= size <= _MAX_SIZE:
        problems.append(f"tree size {size!r} is not an integer in 0..2**64-1")
    if len(root) != HASH_SIZE:
        problems.append(f"root has {len(root)} bytes, want {HASH_SIZE}")
    for number, line in enumerate(extensions):
        if (problem := _line_problem(f"extension line {number}", line)) is not None:
            problems.append(problem)
    return problems


# signed-note: non-empty, no Unicode spaces, no "+". (`\s` on str patterns is str.isspace();
# a regex, because every note a replica or a simulator reads passes here.)
_KEY_NAME_RE = re.compile(r"[^\s+]+")


def is_valid_key_name(name: str) -> bool:
    return _valid_key_name(name) if type(name) is str else _KEY_NAME_RE.fullmatch(name) is not None


# Names are few (one per log and witness) and asked about on every note signed, parsed or
# verified: the answers are kept.
@functools.lru_cache(maxsize=65536)
def _valid_key_name(name: str) -> bool:
    return _KEY_NAME_RE.fullmatch(name) is not None


def _check_key(key_name: str, public_key: bytes) -> None:
    if not is_valid_key_name(key_name):
        raise InputError(f"invalid key name {key_name!r}: it must be non-empty, no spaces or '+'")
    if len(public_key) != 32:
        raise InputError(f"Ed25519 public key has {len(public_key)} bytes, want 32")


def key_id(key_name: str, public_key: bytes) -> bytes:
    """The 4-byte signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return _key_id(key_name, bytes(public_key))


# One per (name, key): computed for every checkpoint signed and every note verified.
@functools.lru_cache(maxsize=65536)
def _key_id(key_name: str, public_key: bytes) -> bytes:
    _check_key(key_name, public_key)
    material = key_name.encode("utf-8") + b"\n" + bytes([ED25519_ALGORITHM]) + public_key
    return hashlib.sha256(material).digest()[:4]


def verifier_key_string(key_name: str, public_key: bytes) -> str:
    """The vkey form "<name>+<hex key ID>+<base64(0x01 || public key)>"."""
    encoded = base64.b64encode(bytes([ED25519_ALGORITHM]) + public_key).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """(key name, 32-byte Ed25519 public key) from a vkey string; InputError if malformed."""
    parts = vkey.split("+", 2)  # the base64 key itself may contain "+"
    if len(parts) != 3:
        raise InputError("verifier key must be <name>+<hex key ID>+<base64 key>")
    name, id_hex, key_b64 = parts
    if not is_valid_key_name(name):
        raise InputError(f"verifier key has an invalid key name {name!r}")
    if not re.fullmatch(r"[0-9a-f]{8}", id_hex):
        raise InputError(f"verifier key ID {id_hex!r} is not 8 lowercase hex digits")
    key = _strict_b64decode(key_b64)
    if key is None or len(key) != 33 or key[0] != ED25519_ALGORITHM:
        raise InputError("verifier key is not base64 of 0x01 || a 32-byte Ed25519 public key")
    public_key = key[1:]
    if key_id(name, public_key).hex() != id_hex:
        raise InputError(f"verifier key ID {id_hex} does not match the key and name")
    return name, public_key


def _strict_b64decode(text: str) -> bytes | None:
    """Standard padded base64, in its one canonical spelling; None otherwise."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # b64decode accepts non-zero padding bits; re-encoding refuses those second spellings.
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def sign_checkpoint(
    checkpoint: Checkpoint, signing_key: nacl.signing.SigningKey, key_name: str | None = None
) -> bytes:
    """The signed note (UTF-8 bytes) for `checkpoint`, signed as `key_name` (default: origin)."""
    name = checkpoint.origin if key_name is None else key_name
    public_key = bytes(signing_key.verify_key)
    kid = key_id(name, public_key)  # also validates the key name
    body = checkpoint.body()
    signature = signing_key.sign(body).signature
    line = f"{_SIGNATURE_PREFIX}{name} {base64.b64encode(kid + signature).decode('ascii')}\n"
    return body + b"\n" + line.encode("utf-8")


def _malformed(reason: str) -> VerificationError:
    return VerificationError(f"malformed checkpoint note: {reason}")


def split_note(note: bytes) -> tuple[bytes, Checkpoint, list[Signature]]:
    """(exact body bytes, checkpoint, signatures), or VerificationError."""
    body, checkpoint, signatures = _split_note(bytes(note))
    return body, checkpoint, list(signatures)


# The same note is read many times (a replica's round, the service that hands it out, every
# reader that checks it, each level above a station): parsing is pure, so the last results are
# kept, enough for one note of each of India's ~18,000 logs (a national node holds them all; a
# few tens of MiB). Only notes that parse are kept; errors are raised again each time.
NOTE_CACHE = 32768


@functools.lru_cache(maxsize=NOTE_CACHE)
def _split_note(note: bytes) -> tuple[bytes, Checkpoint, tuple[Signature, ...]]:
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("not valid UTF-8") from None
    if _NOTE_CONTROL_RE.search(text):
        raise _malformed("contains a control character")
    # signed-note: the text is separated from the signatures by the last blank line.
    split = text.rfind("\n\n")
    if split < 0:
        raise _malformed("no blank line before the signatures")
    body_text, signature_text = text[: split + 1], text[split + 2 :]
    if not signature_text.endswith("\n"):
        raise _malformed("no signature lines, or the last one does not end in a newline")

    signatures = []
    for number, line in enumerate(signature_text[:-1].split("\n")):
        if number >= MAX_SIGNATURES:
            raise _malformed(f"more than {MAX_SIGNATURES} signatures")
        if not line.startswith(_SIGNATURE_PREFIX):
            raise _malformed(f"signature line {number} does not start with an em dash and space")
        name, _, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not is_valid_key_name(name):
            raise _malformed(f"signature line {number} has an invalid key name {name!r}")
        raw = _strict_b64decode(encoded)
        if raw is None or len(raw) < 5:
            raise _malformed(f"signature line {number} is not base64 of a key ID and signature")
        signatures.append(Signature(key_name=name, key_id=raw[:4], signature=raw[4:]))

    lines = body_text[:-1].split("\n")
    if len(lines) < 3:
        raise _malformed(f"the body has {len(lines)} lines, want at least 3")
    for number, line in enumerate(lines):
        if (problem := _line_problem(f"body line {number}", line)) is not None:
            raise _malformed(problem)
    origin, size_text, root_text, *extensions = lines
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) > _MAX_SIZE:
        raise _malformed(
            f"tree size {size_text!r} is not a decimal in 0..2**64-1 without leading zeros"
        )
    root = _strict_b64decode(root_text)
    if root is None or len(root) != HASH_SIZE:
        raise _malformed(f"root {root_text!r} is not base64 of {HASH_SIZE} bytes")
    checkpoint = Checkpoint(origin, int(size_text), root, tuple(extensions))
    return note[: len(body_text.encode("utf-8"))], checkpoint, tuple(signatures)


def parse_note(note: bytes) -> tuple[Checkpoint, list[Signature]]:
    """The checkpoint and signature lines of a note, checking its format but no signature.

    The result must not be trusted before verify_checkpoint has accepted the note.
    """
    _, checkpoint, signatures = split_note(note)
    return checkpoint, signatures


def verify_checkpoint(
    note: bytes, public_key: bytes, key_name: str, origin: str | None = None
) -> Checkpoint:
    """The checkpoint of `note`, once a valid Ed25519 signature by (key_name, public_key) is found.

    Signatures by other keys are ignored (they may be witnesses' cosignatures); every signature
    line naming this key must verify. With `origin`, the checkpoint's origin must equal it.
    Raises VerificationError saying what is wrong; InputError for a malformed key argument.
    """
    note, public_key = bytes(note), bytes(public_key)
    _check_key(key_name, public_key)
    _, checkpoint, _ = _split_note(note)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(
            f"checkpoint is for origin {checkpoint.origin!r}, expected {origin!r}"
        )
    return _verified_checkpoint(note, public_key, key_name)


# A note whose signature verified under a key verifies again: the last NOTE_CACHE (note, key)
# pairs that did are kept (an Ed25519 check costs ~50 us; a simulated network checks
# the same notes at every level). Failures are not kept: they are checked, and raised, anew.
@functools.lru_cache(maxsize=NOTE_CACHE)
def _verified_checkpoint(note: bytes, public_key: bytes, key_name: str) -> Checkpoint:
    kid = key_id(key_name, public_key)
    body, checkpoint, signatures = _split_note(note)
    mine = [s for s in signatures if s.key_name == key_name and s.key_id == kid]
    if not mine:
        raise VerificationError(f"checkpoint has no signature by key {key_name} ({kid.hex()})")
    for signature in mine:
        if len(signature.signature) != 64:
            raise VerificationError(
                f"signature by key {key_name} has {len(signature.signature)} bytes, want 64"
            )
        try:
            _signature_holds(public_key, body, signature.signature)
        except nacl.exceptions.CryptoError:
            raise VerificationError(
                f"bad signature by key {key_name} on checkpoint of size {checkpoint.size}"
            ) from None
    return checkpoint


# The same body and signature come back in other note bytes: a witness adds its cosignature
# line, and the note is then read with that line (a replica's stored note, each level above the
# witness in a simulated network: 40 % of a simulated day's Ed25519 checks were such repeats).
# So the Ed25519 check itself is kept too, for the last NOTE_CACHE (key, body, signature) that
# held; one that fails raises CryptoError, which is not kept.
@functools.lru_cache(maxsize=NOTE_CACHE)
def _signature_holds(public_key: bytes, body: bytes, signature: bytes) -> bool:
    nacl.signing.VerifyKey(public_key).verify(body, signature)
    return True
