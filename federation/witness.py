"""Witness policies: whether the log an answer came from is the one its witnesses saw.

A node serves, with every answer, the newest checkpoint of its log that a witness (its parent)
cosigned, and a consistency proof from it to the tree the answer's proofs lead to
(`federation_pb2.Witnessed`, docs/replication.md "Cosignatures"). A reader holds a
`WitnessPolicy` and checks that note on every fetch and search answer:

- `CosignedBy(name, keys, max_age_s)`: a valid C2SP tlog-cosignature/v1 line by that witness
  (any of its keys across rotations, ledger/cosignature.py), not older than `max_age_s` at the
  reader's clock;
- `AnyOf(...)`, `AllOf(...)`: compositions, as sigstore-python's verification policies;
- `parent_policy(...)`: the default, the log's parent's cosignature not older than an age.

A policy returns a `WitnessVerdict` (ok, and why) instead of raising: an answer that fails it is
still shown, flagged with the reason, never silently accepted nor silently dropped.
`check_witnessed` first ties the cosigned note to the answer (the log's own signature, the
consistency proof), then asks the policy.

`AnswerCheck` is what a reader reports for one answer: the witness verdict and whether the log
is consistent with what the reader saw of it before (federation/seen.py keeps that).
`conflicting_roots` is the comparison a parent makes of checkpoints gossiped by readers;
`freshness_age` says how old a part of an answer is (its `Freshness.as_of_ms`) and whether it
is stale; `own_cosignature_time` reads the time of a node's own cosignature on a note it holds.

Pure: no I/O, no clock (the caller passes `now_s`), no trio or grpc.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note
from ledger.cosignature import verify_witness_cosignature
from ledger.errors import VerificationError
from ledger.keys import LogKeys
from ledger.proof import verify_log_checkpoint
from protos import federation_pb2

__all__ = [
    "CONSISTENCY_STATES",
    "AllOf",
    "AnswerCheck",
    "AnyOf",
    "CosignedBy",
    "FreshnessAge",
    "NoWitnessKnown",
    "WitnessPolicy",
    "WitnessVerdict",
    "check_witnessed",
    "conflicting_roots",
    "freshness_age",
    "own_cosignature_time",
    "parent_policy",
    "verify_witnessed",
]

# What a reader can say of a log's consistency with the checkpoints it saw before.
CONSISTENCY_STATES: Final = ("first seen", "consistent", "rolled back", "equivocation", "unchecked")
_GOOD_STATES: Final = frozenset({"first seen", "consistent"})


@dataclass(frozen=True, slots=True)
class WitnessVerdict:
    """A policy's answer for one cosigned note: `ok`, and `reason` saying why (either way)."""

    ok: bool
    reason: str
    cosigned_at_s: int | None = None  # the newest accepted cosignature's time (Unix seconds)
    witness: str = ""  # the witness whose cosignature decided it


class WitnessPolicy(Protocol):
    """Decides whether a cosigned checkpoint note is witnessed enough for this reader."""

    def check(self, note: bytes, *, now_s: int) -> WitnessVerdict: ...


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


@dataclass(frozen=True, slots=True)
class CosignedBy:
    """A valid cosignature by witness `name` (one of `keys`), at most `max_age_s` old."""

    name: str
    keys: LogKeys
    max_age_s: int | None = None

    def check(self, note: bytes, *, now_s: int) -> WitnessVerdict:
        try:
            at = verify_witness_cosignature(note, self.keys, self.name)
        except VerificationError as exc:
            return WitnessVerdict(False, f"not witnessed by {self.name}: {exc}", witness=self.name)
        age = now_s - at
        if self.max_age_s is not None and age > self.max_age_s:
            return WitnessVerdict(
                False,
                f"witness {self.name} last cosigned {_age(age)} ago, longer than the "
                f"{_age(self.max_age_s)} allowed",
                at,
                self.name,
            )
        return WitnessVerdict(
            True, f"cosigned by {self.name} {_age(max(age, 0))} ago", at, self.name
        )


@dataclass(frozen=True, slots=True)
class NoWitnessKnown:
    """The policy of a log whose witness the reader does not know: always fails, saying why."""

    reason: str

    def check(self, note: bytes, *, now_s: int) -> WitnessVerdict:
        return WitnessVerdict(False, self.reason)


class AnyOf:
    """Passes when one of `policies` passes (the newest cosignature among them is reported)."""

    def __init__(self, *policies: WitnessPolicy) -> None:
        self.policies = policies

    def check(self, note: bytes, *, now_s: int) -> WitnessVerdict:
        verdicts = [policy.check(note, now_s=now_s) for policy in self.policies]
        passed = [v for v in verdicts if v.ok]
        if passed:
            return max(passed, key=lambda v: v.cosigned_at_s or 0)
        if not verdicts:
            return WitnessVerdict(False, "no witness policy to satisfy")
        return WitnessVerdict(False, "; ".join(v.reason for v in verdicts))


class AllOf:
    """Passes when every one of `policies` passes (the oldest cosignature is reported)."""

    def __init__(self, *policies: WitnessPolicy) -> None:
        self.policies = policies

    def check(self, note: bytes, *, now_s: int) -> WitnessVerdict:
        verdicts = [policy.check(note, now_s=now_s) for policy in self.policies]
        failed = [v for v in verdicts if not v.ok]
        if failed:
            return WitnessVerdict(False, "; ".join(v.reason for v in failed))
        if not verdicts:
            return WitnessVerdict(False, "no witness policy to satisfy")
        return min(verdicts, key=lambda v: v.cosigned_at_s or 0)


def parent_policy(parent_origin: str, parent_key: bytes, max_age_s: int | None) -> WitnessPolicy:
    """The default: the parent's cosignature (its ledger key, under its origin as the witness
    name), at most `max_age_s` old."""
    return CosignedBy(parent_origin, LogKeys.single(parent_key), max_age_s)


def check_witnessed(
    policy: WitnessPolicy,
    witnessed: federation_pb2.Witnessed | None,
    *,
    keys: LogKeys,
    origin: str,
    size: int,
    root: bytes,
    now_s: int,
) -> WitnessVerdict:
    """The verdict on an answer whose proofs lead to the tree (`size`, `root`) of `origin`.

    The cosigned note must be `origin`'s checkpoint (signed with `keys`), no larger than the
    answer's tree and tied to it by the consistency proof that comes with it; then `policy`
    judges its cosignatures. Never raises for what the answer carries: a missing or broken note
    is a failed verdict with its reason.
    """
    if witnessed is None or not witnessed.note:
        return WitnessVerdict(False, f"unwitnessed: {origin} served no cosigned checkpoint")
    try:
        verify_witnessed(witnessed, keys=keys, origin=origin, size=size, root=root)
    except VerificationError as exc:
        return WitnessVerdict(False, f"the cosigned checkpoint does not fit the answer: {exc}")
    return policy.check(witnessed.note, now_s=now_s)


def verify_witnessed(
    witnessed: federation_pb2.Witnessed, *, keys: LogKeys, origin: str, size: int, root: bytes
) -> Checkpoint:
    """The checkpoint of the cosigned note once it is `origin`'s (signed with `keys`) and tied
    to the answer's tree (`size`, `root`) by its consistency proof; VerificationError (its
    ProofError) otherwise. Says nothing about the cosignatures: that is a policy's part."""
    cosigned = verify_log_checkpoint(witnessed.note, keys=keys, origin=origin)
    _check_tied(cosigned, list(witnessed.consistency), size, root)
    return cosigned


def _check_tied(cosigned: Checkpoint, proof: list[bytes], size: int, root: bytes) -> None:
    if cosigned.size > size:
        raise VerificationError(f"it covers {cosigned.size} entries, more than the answer's {size}")
    if cosigned.size == size:
        if proof or cosigned.root != root:
            raise VerificationError(f"another root for size {size}")
        return
    if cosigned.size == 0:
        raise VerificationError("a cosigned checkpoint of an empty log proves nothing")
    merkle.verify_consistency(cosigned.size, size, proof, cosigned.root, root)


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    """What a reader reports for one answer: its witness verdict and its consistency with the
    checkpoints of the same log seen before."""

    origin: str
    witness: WitnessVerdict
    consistency: str  # one of CONSISTENCY_STATES
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether the answer passes the policy and its log is consistent with what was seen."""
        return self.witness.ok and self.consistency in _GOOD_STATES

    @property
    def reason(self) -> str:
        """Why it does not pass (empty when it does)."""
        reasons = [] if self.witness.ok else [self.witness.reason]
        if self.consistency not in _GOOD_STATES:
            reasons.append(
                f"{self.consistency}: {self.detail}" if self.detail else self.consistency
            )
        return "; ".join(reasons)


def conflicting_roots(
    notes: Iterable[tuple[Checkpoint, bytes]],
) -> list[tuple[bytes, bytes, str]]:
    """Pairs of verified notes of one log with the same size and different roots: each is proof
    of equivocation (the log's key signed both). `notes` are (checkpoint, note) of ONE origin,
    already verified; returns (first note, second note, detail) for each conflict found."""
    by_size: dict[int, tuple[Checkpoint, bytes]] = {}
    found: list[tuple[bytes, bytes, str]] = []
    for checkpoint, note in notes:
        held = by_size.setdefault(checkpoint.size, (checkpoint, note))
        if held[0].root != checkpoint.root:
            found.append((held[1], note, f"two roots for size {checkpoint.size}"))
    return found


def own_cosignature_time(note: bytes, witness_name: str) -> int | None:
    """The newest time (Unix seconds) of `witness_name`'s cosignature lines on `note`, read
    without verifying them: for a node's own notes (a replica's checkpoint it cosigned itself),
    never for what a peer sent. None when there is none."""
    try:
        _, signatures = parse_note(note)
    except VerificationError:
        return None
    times = [
        int.from_bytes(s.signature[:8], "big")
        for s in signatures
        if s.key_name == witness_name and len(s.signature) == 8 + 64
    ]
    return max(times, default=None)


@dataclass(frozen=True, slots=True)
class FreshnessAge:
    """How old one part of an answer is, in time: `age_s` None when the answering node did
    not say (an older node); `stale` when older than the reader's threshold."""

    as_of_ms: int
    age_s: int | None
    stale: bool


def freshness_age(
    freshness: federation_pb2.Freshness, *, now_ms: int, stale_after_s: int
) -> FreshnessAge:
    """The age of a part of an answer at the reader's clock `now_ms`: its `as_of_ms` (the
    witness cosignature time of a replica, the answer time of a live log)."""
    if freshness.as_of_ms <= 0:
        return FreshnessAge(0, None, False)
    age = max(0, (now_ms - freshness.as_of_ms) // 1000)
    return FreshnessAge(freshness.as_of_ms, age, age > stale_after_s)
