"""A log's signing keys across rotations: which key signed which entry and which checkpoint.

Theory of operation
-------------------
A log starts with one Ed25519 key (the genesis entry names it). A *hand-over* is an ordinary
entry, a NodeEvent of kind "key_rotation" at some index r, naming `previous_key` (the key in
force) and `public_key` (the new one), and carrying `possession`: the new key's signature over

    "cctns/key-rotation/v1\\n" || origin || "\\n" || r (8 bytes, big-endian) || previous || new

The entry itself is signed by the previous key, as every entry is by the key in force, so the
old key says "continue with this key" and the new key says "I continue this log, here": neither
can hand the log over alone, and the statement fits one place of one log only. From entry r + 1
on, every entry is signed by the new key, and so is every checkpoint of size r + 1 or more (the
checkpoint written with the hand-over included). One rule therefore names the key of entry n and
of the checkpoint of size n alike: `LogKeys.key_at(n)`, the key of the last era starting at or
before n.

Readers start from a key they trust (the genesis key, or a key pinned in federation.toml or a
certificate) and follow the hand-overs in log order; a hand-over is believed only when it is
signed by the key in force, names it as its previous key, hands over to a key the log never
used before, and its possession signature verifies. An entry or checkpoint signed by any other
key is refused.

Pure: no I/O. Verifiers raise VerificationError; a malformed stored key list raises StoreError.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import nacl.exceptions
import nacl.signing

from ledger.errors import InputError, StoreError, VerificationError
from protos import ledger_pb2

KEY_ROTATION: Final = "key_rotation"
GENESIS: Final = "genesis"
POSSESSION_CONTEXT: Final = b"cctns/key-rotation/v1\n"
META_KEYS: Final = "ledger/keys"
"""The store meta key under which a log (or a replica of it) keeps its eras, written in the same
atomic commit as the hand-over entry; derived data, which `verify_log` checks against the log."""

KEY_SIZE: Final = 32
_ERA_SIZE: Final = 8 + 8 + KEY_SIZE
# A hand-over's kind as it appears in the serialised body: a leaf without these bytes carries no
# hand-over, so scanners skip decoding it (a leaf that has them is decoded and checked).
ROTATION_MARKER: Final = KEY_ROTATION.encode("ascii")


@dataclass(frozen=True, slots=True)
class Era:
    """One key's reign: it signs entries from `start` and checkpoints of sizes from `start`."""

    start: int
    public_key: bytes
    since_ms: int  # the hand-over's written_at_ms (0 for the log's first key)


@dataclass(frozen=True, slots=True)
class Handover:
    """A key_rotation entry whose possession signature verified (its leaf signature is the
    reader's to check against the key in force)."""

    index: int
    previous_key: bytes
    new_key: bytes
    written_at_ms: int


def possession_message(origin: str, index: int, previous_key: bytes, new_key: bytes) -> bytes:
    """What the new key signs to accept a hand-over at `index` of the log `origin`."""
    return (
        POSSESSION_CONTEXT
        + origin.encode("utf-8")
        + b"\n"
        + index.to_bytes(8, "big")
        + previous_key
        + new_key
    )


def sign_possession(
    new_key: nacl.signing.SigningKey, origin: str, index: int, previous_key: bytes
) -> bytes:
    """The new key's signature accepting the hand-over at `index` from `previous_key`."""
    message = possession_message(origin, index, previous_key, bytes(new_key.verify_key))
    return new_key.sign(message).signature


def handover_of(body: ledger_pb2.EntryBody) -> Handover | None:
    """The hand-over `body` carries, None when it carries none; VerificationError for a
    key_rotation entry that is malformed or whose new key did not sign it."""
    if body.WhichOneof("record") != "node_event" or body.node_event.kind != KEY_ROTATION:
        return None
    event = body.node_event
    where = f"the key hand-over at entry {body.index}"
    if len(event.previous_key) != KEY_SIZE or len(event.public_key) != KEY_SIZE:
        raise VerificationError(f"{where} does not name two Ed25519 keys")
    if event.public_key == event.previous_key:
        raise VerificationError(f"{where} hands the log over to the key already in force")
    message = possession_message(body.origin, body.index, event.previous_key, event.public_key)
    try:
        nacl.signing.VerifyKey(event.public_key).verify(message, event.possession)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError) as exc:
        raise VerificationError(f"{where} is not signed by the key it hands over to") from exc
    return Handover(body.index, event.previous_key, event.public_key, body.written_at_ms)


class LogKeys:
    """The eras of one log's keys, oldest first. Immutable."""

    __slots__ = ("_eras",)

    def __init__(self, eras: tuple[Era, ...]) -> None:
        if not eras or eras[0].start != 0:
            raise InputError("a log's keys start with an era at entry 0")
        for before, after in itertools.pairwise(eras):
            if after.start <= before.start:
                raise InputError("eras must start at increasing entries")
        self._eras = eras

    @classmethod
    def single(cls, public_key: bytes) -> LogKeys:
        """A log signed by one key throughout (no hand-over seen)."""
        if len(public_key) != KEY_SIZE:
            raise InputError(f"Ed25519 public key has {len(public_key)} bytes, want {KEY_SIZE}")
        return cls((Era(0, public_key, 0),))

    @property
    def eras(self) -> tuple[Era, ...]:
        return self._eras

    @property
    def first(self) -> bytes:
        """The log's first key (the genesis key)."""
        return self._eras[0].public_key

    @property
    def current(self) -> bytes:
        """The key in force after the last hand-over known."""
        return self._eras[-1].public_key

    def key_at(self, position: int) -> bytes:
        """The key that signs entry `position`, and the checkpoint of size `position`."""
        for era in reversed(self._eras):
            if era.start <= position:
                return era.public_key
        raise InputError(f"no key for position {position}")  # unreachable: era 0 starts at 0

    def handover_indexes(self) -> list[int]:
        """The indexes of the hand-over entries (each era after the first starts one later)."""
        return [era.start - 1 for era in self._eras[1:]]

    def __contains__(self, public_key: object) -> bool:
        return any(era.public_key == public_key for era in self._eras)

    def __iter__(self) -> Iterator[Era]:
        return iter(self._eras)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LogKeys) and self._eras == other._eras

    def __hash__(self) -> int:
        return hash(self._eras)

    def __repr__(self) -> str:
        return f"LogKeys({[(era.start, era.public_key.hex()[:8]) for era in self._eras]})"

    def up_to(self, size: int) -> LogKeys:
        """The eras a log of `size` entries knows: hand-overs at indexes below `size`."""
        return LogKeys(tuple(era for era in self._eras if era.start <= size))

    def after(self, handover: Handover) -> LogKeys:
        """These keys with one more hand-over; VerificationError when it does not continue them
        (another previous key, a place not after the last hand-over, a key used before)."""
        where = f"the key hand-over at entry {handover.index}"
        if handover.index + 1 <= self._eras[-1].start:
            raise VerificationError(f"{where} is not after the log's last hand-over")
        if handover.previous_key != self.current:
            raise VerificationError(f"{where} hands over from a key that is not the one in force")
        if handover.new_key in self:
            raise VerificationError(f"{where} hands the log back to a key it used before")
        era = Era(handover.index + 1, handover.new_key, handover.written_at_ms)
        return LogKeys((*self._eras, era))

    def extends(self, other: LogKeys) -> bool:
        """Whether these keys are `other`'s eras followed by zero or more later ones."""
        return self._eras[: len(other._eras)] == other._eras

    def encode(self) -> bytes:
        """The eras as bytes for a store's meta: start, since_ms (8 bytes each), key."""
        return b"".join(
            era.start.to_bytes(8, "big")
            + era.since_ms.to_bytes(8, "big", signed=True)
            + era.public_key
            for era in self._eras
        )

    @classmethod
    def decode(cls, raw: bytes) -> LogKeys:
        """What `encode` wrote; StoreError when it is not that."""
        if not raw or len(raw) % _ERA_SIZE:
            raise StoreError(f"the stored key list has {len(raw)} bytes: not whole eras")
        eras = tuple(
            Era(
                int.from_bytes(raw[at : at + 8], "big"),
                raw[at + 16 : at + _ERA_SIZE],
                int.from_bytes(raw[at + 8 : at + 16], "big", signed=True),
            )
            for at in range(0, len(raw), _ERA_SIZE)
        )
        try:
            return cls(eras)
        except InputError as exc:
            raise StoreError(f"the stored key list is not a log's keys: {exc}") from exc


def stored_keys(meta: bytes | None, fallback: bytes) -> LogKeys:
    """A store's keys from its meta value, or the single `fallback` key when none was stored
    (a log that never rotated keeps no list)."""
    return LogKeys.decode(meta) if meta else LogKeys.single(fallback)


def retired_at_ms(keys: LogKeys, public_key: bytes) -> int | None:
    """When `public_key` was handed over from (the hand-over's written_at_ms); None while it is
    in force, or when the log never used it."""
    for before, after in itertools.pairwise(keys.eras):
        if before.public_key == public_key:
            return after.since_ms
    return None


__all__ = [
    "GENESIS",
    "KEY_ROTATION",
    "META_KEYS",
    "POSSESSION_CONTEXT",
    "ROTATION_MARKER",
    "Era",
    "Handover",
    "LogKeys",
    "handover_of",
    "possession_message",
    "retired_at_ms",
    "sign_possession",
    "stored_keys",
]
