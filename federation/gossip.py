"""Gossip, the parent's side: compare the checkpoints readers were shown of its children's logs.

Readers keep the newest checkpoint they saw of every log they read (federation/seen.py) and hand
those notes to their own parent (the Gossip rpc). A parent is the witness of its children: for
each gossiped note of a log it replicates it checks

- the note against its replica: a note no larger than the replica's verified checkpoint must
  have the root the replica computes from the entries it verified;
- the notes against each other: two notes of one size with different roots, both signed by the
  child, are proof of equivocation whoever gossiped them, even while the child is cut off
  from the parent (the readers reached it, the parent did not);
- a note beyond the replica is held: it is checked against the replica once replication has
  passed its size (every later gossip call re-checks what is held). The replica's own rounds
  compare the child's answers with what they verified, so a child that is reachable again is
  held to every note it signed.

Evidence goes where the replica's own evidence goes (`ReplicaFollower.record_evidence`): the
replica's evidence list, quarantine, the node's alert. A note that does not verify with the
child's key, or of a log this node does not replicate, is nobody's evidence and is ignored.

Thread-safe: gRPC handlers call `receive` from their threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from federation.replicas import Replica, ReplicaSet
from federation.witness import conflicting_roots
from ledger import merkle
from ledger.checkpoint import Checkpoint, parse_note
from ledger.errors import VerificationError
from ledger.proof import verify_log_checkpoint
from protos import federation_pb2

__all__ = ["MAX_GOSSIP_NOTES", "GossipBook"]

MAX_GOSSIP_NOTES: Final = 1000  # notes one Gossip call may carry
_KEEP_PER_ORIGIN: Final = 16  # gossiped notes held per log, waiting for the replica


@dataclass(frozen=True, slots=True)
class _Held:
    checkpoint: Checkpoint
    note: bytes
    sender: str


class GossipBook:
    """The notes readers gossiped to this node, checked against its replicas."""

    def __init__(self, replicas: ReplicaSet | None) -> None:
        self._replicas = replicas
        self._lock = threading.Lock()
        self._held: dict[str, list[_Held]] = {}

    def receive(self, sender: str, notes: Sequence[bytes]) -> federation_pb2.GossipResponse:
        """Checks `notes` (gossiped by node `sender`), and again every note held from earlier
        calls that replication has passed since; returns how many notes could be checked and
        the origins now under evidence."""
        checked = 0
        equivocating: set[str] = set()
        for note in notes[:MAX_GOSSIP_NOTES]:
            try:
                origin = parse_note(note)[0].origin
            except VerificationError:
                continue
            replica = self._replica(origin)
            if replica is None:
                continue
            if replica.quarantined:
                equivocating.add(origin)
                continue
            try:
                checkpoint = verify_log_checkpoint(note, keys=replica.follower.keys, origin=origin)
            except VerificationError:
                continue  # not the child's signature as far as this replica knows its keys
            checked += 1
            with self._lock:
                held = [h for h in self._held.get(origin, []) if h.note != note]
                self._held[origin] = [*held, _Held(checkpoint, note, sender)]
        with self._lock:
            origins = list(self._held)
        for origin in origins:
            replica = self._replica(origin)
            if replica is not None and self._check(replica):
                equivocating.add(origin)
        return federation_pb2.GossipResponse(checked=checked, equivocating=sorted(equivocating))

    def _replica(self, origin: str) -> Replica | None:
        if self._replicas is None or origin not in self._replicas:
            return None
        return self._replicas.get(origin)

    def _check(self, replica: Replica) -> bool:
        """Checks the notes held of `replica`'s log against each other and against what it
        verified; True when evidence was found (then they are let go: the evidence is kept)."""
        origin = replica.origin
        with self._lock:
            held = self._held.get(origin, [])
            conflicts = conflicting_roots((h.checkpoint, h.note) for h in held)
            if conflicts:
                first, second, detail = conflicts[0]
                senders = ", ".join(sorted({h.sender for h in held if h.note in (first, second)}))
                self._held.pop(origin, None)
                replica.follower.record_evidence(
                    first, second, f"{detail}, in checkpoints gossiped by {senders}"
                )
                return True
            verified = replica.size()
            for item in held:
                if item.checkpoint.size > verified:
                    continue  # beyond what the replica verified: held until it gets there
                local = merkle.MerkleTree(replica.follower.store).root(item.checkpoint.size)
                if local != item.checkpoint.root:
                    self._held.pop(origin, None)
                    replica.follower.record_evidence(
                        replica.checkpoint(),
                        item.note,
                        f"the checkpoint for size {item.checkpoint.size} gossiped by "
                        f"{item.sender} differs from the entries this replica verified",
                    )
                    return True
            # Kept (newest last): a later note of the same size is compared with them.
            self._held[origin] = sorted(held, key=lambda h: h.checkpoint.size)[-_KEEP_PER_ORIGIN:]
        return False
