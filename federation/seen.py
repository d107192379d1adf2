"""A reader's memory of the logs it read: the newest checkpoint seen of each, and evidence.

Every fetch or search answer leads, through its proofs, to one tree of the answering log (a
size and a root). `check_answer` holds that tree to two things:
- the reader's witness policy (federation/witness.py), over the cosigned note the answer
  carries;
- consistency with the newest checkpoint the reader saw before from that log: the same size
  must have the same root; a bigger one must extend it (a consistency proof asked from the
  log); a smaller one must be a prefix of it, or the log was rolled back.

An inconsistent log is evidence (the log signed both trees): it is written to the evidence
directory as a ledger_pb2.ReplicationEvent, the same record a parent keeps when its replica
catches a child equivocating, and reported in the answer's `AnswerCheck`; never silently
accepted. The newest verified signed note of each log is kept durably, and the newest notes
are what the reader gossips to its parent (federation/gossip.py).

Layout (under the reader's data directory, `witness/`):
    seen/<slug of origin>.note     the newest signed checkpoint note seen of that log
    evidence/<NNNNNN>.pb           ReplicationEvent, one per inconsistency found, never rewritten
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

from federation.interfaces import PeerClient
from federation.replicas import origin_slug
from federation.trust.files import write_atomic
from federation.verify import VerifiedReceipt, VerifiedRecord
from federation.witness import AnswerCheck, WitnessPolicy, check_witnessed, verify_witnessed
from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note
from ledger.errors import CctnsError, PeerUnavailable, ProofError, VerificationError
from ledger.keys import LogKeys
from ledger.proof import verify_key_history
from protos import federation_pb2, ledger_pb2

__all__ = ["SeenCheckpoints", "check_answer", "check_receipt_answer", "check_record_answer"]

_NOTE_SUFFIX: Final = ".note"


class SeenCheckpoints:
    """The newest checkpoint note seen of each log, and the evidence found. Thread-safe.

    `directory` None keeps everything in memory (tests, the simulator)."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._notes: dict[str, bytes] = {}
        self._evidence: list[ledger_pb2.ReplicationEvent] = []
        if directory is not None:
            for path in sorted((directory / "seen").glob(f"*{_NOTE_SUFFIX}")):
                note = path.read_bytes()
                try:
                    self._notes[parse_note(note)[0].origin] = note
                except VerificationError:
                    continue  # a torn file is as good as none: the next answer rewrites it
            for path in sorted((directory / "evidence").glob("*.pb")):
                event = ledger_pb2.ReplicationEvent()
                event.ParseFromString(path.read_bytes())
                self._evidence.append(event)

    def newest(self, origin: str) -> bytes | None:
        """The newest note seen of `origin` (verified when it was kept), or None."""
        with self._lock:
            return self._notes.get(origin)

    def keep(self, origin: str, note: bytes) -> None:
        """Remembers `note` (already verified, consistent with what was seen) if it is newer."""
        size = parse_note(note)[0].size
        with self._lock:
            held = self._notes.get(origin)
            if held is not None and parse_note(held)[0].size >= size:
                return
            self._notes[origin] = note
            if self._directory is not None:
                write_atomic(
                    self._directory / "seen" / f"{origin_slug(origin)}{_NOTE_SUFFIX}", note
                )

    def notes(self) -> list[bytes]:
        """The newest note of every log seen, by origin: what the reader gossips."""
        with self._lock:
            return [self._notes[origin] for origin in sorted(self._notes)]

    def record_evidence(self, event: ledger_pb2.ReplicationEvent) -> None:
        """Keeps one piece of evidence (appended, never rewritten)."""
        with self._lock:
            self._evidence.append(event)
            if self._directory is not None:
                path = self._directory / "evidence" / f"{len(self._evidence):06d}.pb"
                write_atomic(path, event.SerializeToString(deterministic=True))

    def evidence(self) -> list[ledger_pb2.ReplicationEvent]:
        """Every inconsistency found so far, oldest first."""
        with self._lock:
            return list(self._evidence)


async def check_answer(
    client: PeerClient,
    seen: SeenCheckpoints,
    policy: WitnessPolicy,
    *,
    origin: str,
    keys: LogKeys,
    size: int,
    root: bytes,
    note: bytes | None,
    witnessed: federation_pb2.Witnessed | None,
    now_s: int,
    timeout: float,
) -> AnswerCheck:
    """The witness verdict and consistency of an answer whose proofs lead to (`size`, `root`) of
    `origin`'s log (keys `keys`, verified with the answer); `note` is the answer's signed note
    of exactly that size when it carries one (a fetch's checkpoint).

    Asks `client` (the answering node) for a consistency proof when the size moved since the
    last checkpoint seen. Keeps the newest verified signed note; records evidence of a log
    that is inconsistent with itself or went back. Never raises for what the log answers.
    """
    verdict = check_witnessed(
        policy, witnessed, keys=keys, origin=origin, size=size, root=root, now_s=now_s
    )
    tied = _tied(witnessed, keys, origin, size, root)
    signed = note or (tied[1] if tied is not None else None)
    held = seen.newest(origin)
    if held is None:
        if signed is not None:
            seen.keep(origin, signed)
        return AnswerCheck(origin, verdict, "first seen")
    before = parse_note(held)[0]
    if tied is not None and (tied[0].size, tied[0].root) == (before.size, before.root):
        # The note seen is the cosigned one the answer carries, already tied to the answer by
        # its proof: consistent without asking (searches between two cosignings).
        state, detail = "consistent", ""
    else:
        state, detail = await _consistency(client, origin, before, size, root, timeout)
    if state in ("equivocation", "rolled back"):
        seen.record_evidence(
            ledger_pb2.ReplicationEvent(
                kind="equivocation" if state == "equivocation" else "rollback",
                origin=origin,
                size=size,
                checkpoint=held,
                conflicting_checkpoint=signed or b"",
                detail=detail,
            )
        )
    elif state == "consistent" and signed is not None:
        seen.keep(origin, signed)
    return AnswerCheck(origin, verdict, state, detail)


async def check_record_answer(
    client: PeerClient,
    seen: SeenCheckpoints,
    policy: WitnessPolicy,
    response: federation_pb2.RecordResponse,
    record: VerifiedRecord,
    *,
    pinned_key: bytes,
    now_s: int,
    timeout: float,
) -> AnswerCheck:
    """`check_answer` for a fetch `response` that federation/verify.py accepted (`record`)."""
    keys = verify_key_history(
        response.key_handovers, pinned_key=pinned_key, origin=record.origin
    ).up_to(record.checkpoint.size)
    return await check_answer(
        client,
        seen,
        policy,
        origin=record.origin,
        keys=keys,
        size=record.checkpoint.size,
        root=record.checkpoint.root,
        note=response.checkpoint,
        witnessed=response.witnessed if response.HasField("witnessed") else None,
        now_s=now_s,
        timeout=timeout,
    )


async def check_receipt_answer(
    client: PeerClient,
    seen: SeenCheckpoints,
    policy: WitnessPolicy,
    response: federation_pb2.SearchResponse | federation_pb2.HitResponse,
    receipt: VerifiedReceipt,
    *,
    origin: str,
    pinned_key: bytes,
    now_s: int,
    timeout: float,
) -> AnswerCheck:
    """`check_answer` for a search or hit/no-hit `response` whose receipt federation/verify.py
    accepted (`receipt`: the tree of size index + 1 it leads to)."""
    keys = verify_key_history(response.key_handovers, pinned_key=pinned_key, origin=origin)
    return await check_answer(
        client,
        seen,
        policy,
        origin=origin,
        keys=keys.up_to(receipt.size),
        size=receipt.size,
        root=receipt.root,
        note=None,
        witnessed=response.witnessed if response.HasField("witnessed") else None,
        now_s=now_s,
        timeout=timeout,
    )


def _tied(
    witnessed: federation_pb2.Witnessed | None,
    keys: LogKeys,
    origin: str,
    size: int,
    root: bytes,
) -> tuple[Checkpoint, bytes] | None:
    """The cosigned note an answer carries, when it is the log's and tied to the answer's tree
    (the answer's own checkpoint, if any, is what the caller verified). A search answer has no
    signed checkpoint of its own: what is remembered of it is this note."""
    if witnessed is None or not witnessed.note:
        return None
    try:
        checkpoint = verify_witnessed(witnessed, keys=keys, origin=origin, size=size, root=root)
    except VerificationError:
        return None
    return checkpoint, witnessed.note


async def _consistency(
    client: PeerClient,
    origin: str,
    before: Checkpoint,
    size: int,
    root: bytes,
    timeout: float,
) -> tuple[str, str]:
    if size == before.size:
        if root == before.root:
            return "consistent", ""
        return "equivocation", f"two roots for size {size}"
    small, large = sorted((size, before.size))
    try:
        proof = await client.get_consistency_proof(origin, small, large, timeout=timeout)
    except PeerUnavailable as exc:
        return "unchecked", f"no consistency proof from {small} to {large}: {exc}"
    except CctnsError as exc:
        if size < before.size:
            return (
                "rolled back",
                f"the log answers at size {size} but was seen at {before.size}, and cannot "
                f"prove it still holds that: {exc}",
            )
        return "unchecked", f"no consistency proof from {small} to {large}: {exc}"
    small_root, large_root = (root, before.root) if size < before.size else (before.root, root)
    try:
        merkle.verify_consistency(small, large, proof, small_root, large_root)
    except ProofError as exc:
        return "equivocation", f"size {size} does not extend size {before.size}: {exc}"
    if size < before.size:
        return "consistent", f"an older view (size {size}) of a log seen at {before.size}"
    return "consistent", ""
