"""Tests for ledger.checkpoint: C2SP checkpoints as Ed25519-signed notes."""

from __future__ import annotations

import base64
import hashlib
import re

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.checkpoint import (
    Checkpoint,
    Signature,
    key_id,
    parse_note,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key_string,
    verify_checkpoint,
)
from ledger.errors import InputError, VerificationError

ORIGIN = "cctns.example/police/mh-pune"
ROOT = hashlib.sha256(b"some root").digest()
KEY = nacl.signing.SigningKey(bytes(range(32)))
PUBLIC = bytes(KEY.verify_key)
OTHER_KEY = nacl.signing.SigningKey(bytes(range(1, 33)))

# golang.org/x/mod/sumdb/note's documented example: key, text and the note Go signs.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
# transparency-dev/formats tests: a type 0x01 verifier key whose base64 contains a "+".
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"


def _note(size: int = 42, extensions: tuple[str, ...] = ()) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, ROOT, extensions), KEY)


def _signature_line(body: bytes, key: nacl.signing.SigningKey, name: str) -> bytes:
    blob = key_id(name, bytes(key.verify_key)) + key.sign(body).signature
    return f"— {name} {base64.b64encode(blob).decode()}\n".encode()


# --- format and round trip -------------------------------------------------------------------


def test_checkpoint_body_is_the_c2sp_text() -> None:
    checkpoint = Checkpoint("example.com/log", 5, b"\x00" * 32, ("ext one",))
    assert checkpoint.body() == (
        b"example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\n"
    )


def test_sign_checkpoint_writes_body_blank_line_and_signature_line() -> None:
    note = _note()
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    assert note.startswith(body + "\n— ".encode() + ORIGIN.encode() + b" ")
    assert note == body + b"\n" + _signature_line(body, KEY, ORIGIN)
    assert note.endswith(b"\n") and note.count(b"\n") == 5


def test_checkpoint_round_trip_through_sign_parse_verify() -> None:
    for size in (0, 1, 42, 2**64 - 1):
        checkpoint = Checkpoint(ORIGIN, size, ROOT, ("x-ext: 1", "second extension"))
        note = sign_checkpoint(checkpoint, KEY)
        parsed, signatures = parse_note(note)
        assert parsed == checkpoint
        assert signatures == [
            Signature(ORIGIN, key_id(ORIGIN, PUBLIC), KEY.sign(checkpoint.body()).signature)
        ]
        assert verify_checkpoint(note, PUBLIC, ORIGIN, origin=ORIGIN) == checkpoint


def test_sign_checkpoint_uses_the_given_key_name() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), KEY, key_name="ops.example/key-2026")
    assert verify_checkpoint(note, PUBLIC, "ops.example/key-2026").size == 7
    with pytest.raises(VerificationError, match="no signature by key"):
        verify_checkpoint(note, PUBLIC, ORIGIN)


@settings(max_examples=60, deadline=None, database=None)
@given(
    origin=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40),
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_checkpoint_round_trip_for_any_valid_fields(origin: str, size: int, root: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root)
    note = sign_checkpoint(checkpoint, KEY, key_name="log-key")
    assert verify_checkpoint(note, PUBLIC, "log-key", origin=origin) == checkpoint


# --- keys: known answers ---------------------------------------------------------------------


def test_key_id_known_answer() -> None:
    name = "cctns.example/test"
    expected = hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + PUBLIC).digest()[:4]
    assert key_id(name, PUBLIC) == expected
    encoded_key = base64.b64encode(b"\x01" + PUBLIC).decode()
    assert verifier_key_string(name, PUBLIC) == f"{name}+{expected.hex()}+{encoded_key}"


def test_verifier_key_matches_go_sumdb_note_example() -> None:
    name, public_key = parse_verifier_key(GO_VKEY)
    assert name == "PeterNeumann"
    assert key_id(name, public_key).hex() == "c74f20a3"
    assert verifier_key_string(name, public_key) == GO_VKEY
    # The Go signer key holds 0x01 || the Ed25519 seed; signing is deterministic.
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    signing_key = nacl.signing.SigningKey(seed)
    assert bytes(signing_key.verify_key) == public_key
    blob = key_id(name, public_key) + signing_key.sign(GO_TEXT).signature
    assert base64.b64encode(blob).decode() == GO_SIGNATURE


def test_parse_verifier_key_accepts_plus_in_base64() -> None:
    name, public_key = parse_verifier_key(PLUS_VKEY)
    assert name == "TEST"
    assert verifier_key_string(name, public_key) == PLUS_VKEY


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_parse_verifier_key_rejects_malformed(vkey: str) -> None:
    with pytest.raises(InputError):
        parse_verifier_key(vkey)


# --- tampering -------------------------------------------------------------------------------


def test_verify_checkpoint_rejects_tampered_size() -> None:
    note = _note(size=42).replace(b"\n42\n", b"\n43\n", 1)
    with pytest.raises(VerificationError, match="bad signature"):
        verify_checkpoint(note, PUBLIC, ORIGIN)


def test_verify_checkpoint_rejects_tampered_root() -> None:
    other = base64.b64encode(hashlib.sha256(b"other").digest())
    note = _note().replace(base64.b64encode(ROOT), other, 1)
    with pytest.raises(VerificationError, match="bad signature"):
        verify_checkpoint(note, PUBLIC, ORIGIN)


def test_verify_checkpoint_rejects_tampered_origin() -> None:
    note = b"cctns.example/police/mh-mumbai" + _note()[len(ORIGIN) :]
    with pytest.raises(VerificationError, match="bad signature"):
        verify_checkpoint(note, PUBLIC, ORIGIN)
    with pytest.raises(VerificationError, match=re.escape(f"expected {ORIGIN!r}")):
        verify_checkpoint(note, PUBLIC, ORIGIN, origin=ORIGIN)


def test_verify_checkpoint_rejects_wrong_origin() -> None:
    with pytest.raises(VerificationError, match="origin"):
        verify_checkpoint(_note(), PUBLIC, ORIGIN, origin="cctns.example/police/mh-mumbai")


def test_verify_checkpoint_rejects_tampered_signature() -> None:
    note = _note()
    body, _, line = note.partition(b"\n\n")
    blob = bytearray(base64.b64decode(line.split(b" ")[-1]))
    blob[10] ^= 0x40
    forged = body + b"\n\n" + line.rsplit(b" ", 1)[0] + b" " + base64.b64encode(blob) + b"\n"
    with pytest.raises(VerificationError, match="bad signature"):
        verify_checkpoint(forged, PUBLIC, ORIGIN)


def test_verify_checkpoint_rejects_other_key_and_wrong_name() -> None:
    with pytest.raises(VerificationError, match="no signature by key"):
        verify_checkpoint(_note(), bytes(OTHER_KEY.verify_key), ORIGIN)
    with pytest.raises(VerificationError, match="no signature by key"):
        verify_checkpoint(_note(), PUBLIC, "someone.else")


def test_verify_checkpoint_rejects_same_name_and_id_with_bad_signature() -> None:
    # A second line claiming our key must verify too: the note is rejected as a whole.
    note = _note()
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    forged = key_id(ORIGIN, PUBLIC) + OTHER_KEY.sign(body).signature
    line = f"— {ORIGIN} {base64.b64encode(forged).decode()}\n".encode()
    with pytest.raises(VerificationError, match="bad signature"):
        verify_checkpoint(note + line, PUBLIC, ORIGIN)


def test_verify_checkpoint_ignores_unknown_cosignatures() -> None:
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    witness = _signature_line(body, OTHER_KEY, "witness.example")
    # An unknown key with our name but another ID, and a long non-Ed25519 signature.
    odd_blob = base64.b64encode(b"\x00\x00\x00\x01" + b"z" * 72).decode()
    odd = f"— {ORIGIN} {odd_blob}\n".encode()
    note = body + b"\n" + witness + _signature_line(body, KEY, ORIGIN) + odd
    assert verify_checkpoint(note, PUBLIC, ORIGIN).size == 42
    assert verify_checkpoint(note, bytes(OTHER_KEY.verify_key), "witness.example").size == 42
    _, signatures = parse_note(note)
    assert [s.key_name for s in signatures] == ["witness.example", ORIGIN, ORIGIN]


def test_verify_checkpoint_rejects_short_signature_from_known_key() -> None:
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    blob = key_id(ORIGIN, PUBLIC) + KEY.sign(body).signature[:63]
    note = body + b"\n" + f"— {ORIGIN} {base64.b64encode(blob).decode()}\n".encode()
    with pytest.raises(VerificationError, match="64"):
        verify_checkpoint(note, PUBLIC, ORIGIN)


@settings(max_examples=120, deadline=None, database=None)
@given(st.data())
def test_verify_checkpoint_rejects_any_single_byte_change(data: st.DataObject) -> None:
    note = _note(extensions=("ext",))
    position = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != note[position]))
    changed = note[:position] + bytes([value]) + note[position + 1 :]
    with pytest.raises(VerificationError):
        verify_checkpoint(changed, PUBLIC, ORIGIN, origin=ORIGIN)


# --- malformed notes -------------------------------------------------------------------------


def _signed(body: bytes) -> bytes:
    """`body` with a valid signature, so only the format can be what is wrong."""
    return body + b"\n" + _signature_line(body, KEY, ORIGIN)


ROOT_B64 = base64.b64encode(ROOT)
GOOD_BODY = ORIGIN.encode() + b"\n42\n" + ROOT_B64 + b"\n"
MALFORMED = {
    "not-utf8": _signed(GOOD_BODY + b"\xff\xfe\n"),
    "no-blank-line": GOOD_BODY + _signature_line(GOOD_BODY, KEY, ORIGIN),
    "no-signatures": GOOD_BODY + b"\n",
    "trailing-junk": _signed(GOOD_BODY) + b"junk",
    "trailing-newline": _signed(GOOD_BODY) + b"\n",
    "signature-without-newline": _signed(GOOD_BODY)[:-1],
    "leading-blank-line": _signed(b"\n" + GOOD_BODY),
    "crlf": _signed(GOOD_BODY.replace(b"\n", b"\r\n")),
    "two-lines": _signed(ORIGIN.encode() + b"\n42\n"),
    "empty-origin": _signed(b"\n42\n" + ROOT_B64 + b"\n"),
    "tab-in-origin": _signed(b"cctns\t.example\n42\n" + ROOT_B64 + b"\n"),
    "del-in-origin": _signed(b"cctns\x7f.example\n42\n" + ROOT_B64 + b"\n"),
    "c1-in-extension": _signed(GOOD_BODY + "ext\u0085\n".encode()),
    "empty-extension": _signed(GOOD_BODY + b"\next\n"),
    "size-leading-zero": _signed(GOOD_BODY.replace(b"\n42\n", b"\n042\n")),
    "size-zero-zero": _signed(GOOD_BODY.replace(b"\n42\n", b"\n00\n")),
    "size-plus": _signed(GOOD_BODY.replace(b"\n42\n", b"\n+42\n")),
    "size-negative": _signed(GOOD_BODY.replace(b"\n42\n", b"\n-1\n")),
    "size-space": _signed(GOOD_BODY.replace(b"\n42\n", b"\n42 \n")),
    "size-empty": _signed(GOOD_BODY.replace(b"\n42\n", b"\n\n")),
    "size-non-ascii-digits": _signed(GOOD_BODY.replace(b"\n42\n", "\n٤٢\n".encode())),
    "size-underscore": _signed(GOOD_BODY.replace(b"\n42\n", b"\n4_2\n")),
    "size-too-big": _signed(GOOD_BODY.replace(b"\n42\n", f"\n{2**64}\n".encode())),
    "root-short": _signed(ORIGIN.encode() + b"\n42\n" + base64.b64encode(ROOT[:31]) + b"\n"),
    "root-long": _signed(ORIGIN.encode() + b"\n42\n" + base64.b64encode(ROOT + b"x") + b"\n"),
    "root-unpadded": _signed(GOOD_BODY.replace(ROOT_B64, ROOT_B64.rstrip(b"="))),
    "root-urlsafe": _signed(
        ORIGIN.encode() + b"\n42\n" + base64.urlsafe_b64encode(b"\xfb" * 32) + b"\n"
    ),
    "root-noncanonical-bits": _signed(
        ORIGIN.encode() + b"\n42\n" + base64.b64encode(b"\x00" * 32)[:-2] + b"B=\n"
    ),
    "root-hex": _signed(ORIGIN.encode() + b"\n42\n" + ROOT.hex().encode() + b"\n"),
    "signature-hyphen": GOOD_BODY + b"\n- " + _signature_line(GOOD_BODY, KEY, ORIGIN)[4:],
    "signature-no-space": GOOD_BODY
    + b"\n\xe2\x80\x94"
    + _signature_line(GOOD_BODY, KEY, ORIGIN)[4:],
    "signature-name-plus": _signed(GOOD_BODY).replace(ORIGIN.encode() + b" ", b"a+b "),
    "signature-name-empty": _signed(GOOD_BODY).replace(ORIGIN.encode() + b" ", b" "),
    "signature-bad-base64": GOOD_BODY + f"\n— {ORIGIN} !!!!\n".encode(),
    "signature-too-short": GOOD_BODY
    + f"\n— {ORIGIN} {base64.b64encode(b'abcd').decode()}\n".encode(),
    "signature-empty": GOOD_BODY + f"\n— {ORIGIN} \n".encode(),
    "too-many-signatures": GOOD_BODY
    + b"\n"
    + _signature_line(GOOD_BODY, OTHER_KEY, "w.example") * 101,
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_parse_note_rejects_malformed(name: str) -> None:
    note = MALFORMED[name]
    with pytest.raises(VerificationError, match="malformed"):
        parse_note(note)
    with pytest.raises(VerificationError):
        verify_checkpoint(note, PUBLIC, ORIGIN)


def test_parse_note_rejects_go_note_that_is_not_a_checkpoint() -> None:
    go_note = GO_TEXT + f"\n— PeterNeumann {GO_SIGNATURE}\n".encode()
    with pytest.raises(VerificationError, match="malformed"):
        parse_note(go_note)


def test_parse_note_accepts_sixteen_signatures() -> None:
    witnesses = b"".join(_signature_line(GOOD_BODY, OTHER_KEY, f"w{i}.example") for i in range(15))
    note = _signed(GOOD_BODY) + witnesses
    assert len(parse_note(note)[1]) == 16
    assert verify_checkpoint(note, PUBLIC, ORIGIN).size == 42


# --- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("a\x00", 1, ROOT, ()),
        ("a", -1, ROOT, ()),
        ("a", 2**64, ROOT, ()),
        ("a", True, ROOT, ()),
        ("a", 1, ROOT[:31], ()),
        ("a", 1, ROOT, ("",)),
        ("a", 1, ROOT, ("x\ny",)),
    ],
)
def test_checkpoint_rejects_invalid_fields(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(InputError):
        Checkpoint(origin, size, root, extensions)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b"])
def test_sign_checkpoint_rejects_invalid_key_name(name: str) -> None:
    with pytest.raises(InputError, match="key name"):
        sign_checkpoint(Checkpoint(ORIGIN, 1, ROOT), KEY, key_name=name)


def test_sign_checkpoint_rejects_origin_that_is_not_a_key_name() -> None:
    with pytest.raises(InputError, match="key name"):
        sign_checkpoint(Checkpoint("my log", 1, ROOT), KEY)
    note = sign_checkpoint(Checkpoint("my log", 1, ROOT), KEY, key_name="my-log")
    assert verify_checkpoint(note, PUBLIC, "my-log", origin="my log").origin == "my log"


def test_verify_checkpoint_rejects_malformed_public_key() -> None:
    with pytest.raises(InputError, match="32"):
        verify_checkpoint(_note(), PUBLIC[:31], ORIGIN)
