"""A node's standby: its own log, followed from the primary at another site, and the takeover
that makes the standby the primary without forking the log.

Theory of operation
-------------------
A standby has its node's identity (origin, ledger key, certificate) and never appends. Its
store is a replica of the primary's log kept by the same `ReplicaFollower` a parent keeps its
children's replicas with (federation/replication.py): every leaf it holds is verified against
a checkpoint the primary signed, and the store holds what the primary's own store holds (the
leaves, the tree nodes, the primary's signed notes), so it is the node's ledger store as it is:
taking over moves nothing.

`take_over` makes the standby the primary. It writes nothing, and raises, when
  - the primary still answers (two writers with one key would sign two histories);
  - the replica is quarantined (the primary signed two histories: there is none to continue);
  - the parent holds more of the log than the standby and cannot hand it over verified, or
    cannot be asked and the operator did not say to go on without it;
  - the standby has not verified what it holds up to the newest checkpoint it has seen.
Otherwise the store holds exactly the entries the primary signed up to the newest checkpoint
that the standby or the parent has seen, and the new primary's first entry, at the next index,
is a `ReplicationEvent{kind: "takeover"}` naming the checkpoint it continues. Every checkpoint
the new primary signs extends that tree, so it is consistent with every checkpoint the old
primary signed up to there. An entry the old primary acknowledged that reached neither the
standby nor the parent is lost with it (the recovery point of asynchronous replication); if
the old primary ever shows a checkpoint covering it, its parent holds two heads signed by one
key and quarantines the log (equivocation), never accepting both.

The takeover entry is also how an old primary learns it was replaced: a node that gets back
from its parent entries of its own log beyond its store, and finds a takeover among them
(`find_takeover`), has been replaced and must not append (node/runtime.py
`reconcile_with_parent`).

This module never imports trio or grpc: it talks to other nodes through PeerClient only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import nacl.signing

from federation.interfaces import PeerClient
from federation.replication import DEFAULT_TIMEOUT, ReplicaFollower, recover_from_parent
from ledger.checkpoint import parse_note
from ledger.entry import parse_leaf
from ledger.errors import (
    EquivocationError,
    InputError,
    PeerError,
    PeerUnavailable,
    UsageError,
    VerificationError,
)
from ledger.log import Ledger, now_ms
from ledger.store import LogStore
from protos import ledger_pb2

TAKEOVER: Final = "takeover"  # the ReplicationEvent kind of a takeover entry
PROBE_TIMEOUT: Final = 10.0  # how long the primary or the parent is given to say it is there


@dataclass(frozen=True, slots=True)
class StandbyState:
    """What a standby holds of its primary's log."""

    held: int  # leaves stored
    verified: int  # size of the newest checkpoint of the primary's held (all verified under it)
    target: int  # size of the newest checkpoint seen (== verified when nothing is pending)
    quarantined: bool

    @classmethod
    def of(cls, follower: ReplicaFollower) -> StandbyState:
        return cls(
            follower.held, follower.verified_size, follower.target_size, follower.quarantined
        )

    @property
    def complete(self) -> bool:
        """Everything the newest checkpoint seen covers is held and verified."""
        return not self.quarantined and self.held == self.verified == self.target

    def describe(self) -> str:
        """One line for operators: what is held and what is missing."""
        text = f"holds {self.held} entries, verified up to the primary's checkpoint for "
        text += f"{self.verified}"
        if self.target > self.verified:
            text += f"; the newest checkpoint seen covers {self.target}"
            text += f" (entries {self.held}..{self.target - 1} missing)"
        if self.quarantined:
            text += "; quarantined: the primary signed two histories"
        return text


@dataclass(frozen=True, slots=True)
class Takeover:
    """What a takeover did."""

    index: int  # the takeover entry's index: the first entry the new primary signed
    continued: bytes  # the old primary's checkpoint the new primary continues (size == index)
    from_parent: int  # entries the parent handed over at the takeover
    parent: str  # "asked", "none" (no parent, or it holds nothing), "unreachable" (gone on)


def find_takeover(
    store: LogStore, start: int = 0
) -> tuple[int, ledger_pb2.ReplicationEvent] | None:
    """The first takeover entry of the log at index `start` or later, with its index."""
    for index, leaf in enumerate(store.entries(start, store.size()), start):
        body = parse_leaf(leaf).decode_body()
        is_event = body.WhichOneof("record") == "replication_event"
        if is_event and body.replication_event.kind == TAKEOVER:
            return index, body.replication_event
    return None


async def take_over(
    store: LogStore,
    signing_key: nacl.signing.SigningKey,
    origin: str,
    *,
    primary: PeerClient,
    parent: PeerClient | None,
    without_parent: bool = False,
    officer_id: str,
    detail: str,
    clock: Callable[[], int] = now_ms,
    timeout: float = DEFAULT_TIMEOUT,
) -> Takeover:
    """Makes the standby's `store` the node's log: checks, then appends the takeover entry.

    `primary` reaches the old primary (it must not answer), `parent` the node's parent (None
    when it has none): entries it holds beyond the standby are fetched first, verified like
    every replicated chunk. Raises UsageError (nothing written) when the takeover would fork
    the log or the standby cannot show it would not, and EquivocationError when the replica
    or the parent holds evidence that the primary signed two histories.
    """
    public_key = bytes(signing_key.verify_key)
    await _check_primary_is_gone(primary, origin)
    _check_not_quarantined(ReplicaFollower(store, origin, public_key))
    from_parent, parent_state = 0, "none"
    if parent is not None:
        parent_state = await _ask_parent(store, origin, public_key, parent, without_parent)
        if parent_state == "asked":
            # Errors here refuse the takeover: the parent holds more and could not hand it over.
            from_parent = await recover_from_parent(
                store, origin, public_key, parent, timeout=timeout
            )
    follower = ReplicaFollower(store, origin, public_key)
    _check_not_quarantined(follower)
    state = StandbyState.of(follower)
    if not state.complete or not state.verified:
        raise UsageError(
            f"the standby {state.describe()}: it cannot take over before it holds, verified, "
            "everything the newest checkpoint it has seen covers"
        )
    continued = follower.verified_note
    ledger = Ledger(store, signing_key, origin, clock=clock)
    try:
        appended = ledger.append(
            ledger_pb2.EntryBody(
                officer_id=officer_id,
                replication_event=ledger_pb2.ReplicationEvent(
                    kind=TAKEOVER,
                    origin=origin,
                    size=state.verified,
                    checkpoint=continued,
                    detail=detail,
                ),
            )
        )
    finally:
        ledger.close()
    return Takeover(appended.index, continued, from_parent, parent_state)


async def _ask_parent(
    store: LogStore, origin: str, public_key: bytes, parent: PeerClient, without_parent: bool
) -> str:
    """Whether the parent holds a checkpoint of this log ("asked"), holds none ("none"), or
    cannot be asked ("unreachable", allowed only `without_parent`: else UsageError)."""
    try:
        await parent.get_checkpoint(origin, timeout=PROBE_TIMEOUT)
    except PeerUnavailable as exc:
        if not without_parent:
            state = StandbyState.of(ReplicaFollower(store, origin, public_key))
            raise UsageError(
                "the parent cannot be asked whether it holds more of this log than the standby, "
                f"which {state.describe()} ({exc}). Taking over without it may fork the log; to "
                "do so anyway, say so (--without-parent)"
            ) from exc
        return "unreachable"
    except (InputError, PeerError):
        return "none"  # it follows no such log, or has verified nothing of it yet
    return "asked"


async def _check_primary_is_gone(primary: PeerClient, origin: str) -> None:
    """UsageError when the primary answers at all: it is alive, and may still be appending."""
    try:
        note = await primary.get_checkpoint(origin, timeout=PROBE_TIMEOUT)
    except PeerUnavailable:
        return
    except PeerError as exc:
        raise UsageError(
            f"something answers where the primary serves ({exc}): stop the primary, and keep "
            "it stopped, before taking over"
        ) from exc
    size = _size(note)
    raise UsageError(
        f"the primary still answers, with a checkpoint for {size} entries: stop it, and keep "
        "it stopped, before taking over (two primaries would sign two histories)"
    )


def _size(note: bytes) -> str:
    try:
        return str(parse_note(note)[0].size)
    except VerificationError:  # a malformed note is still an answer
        return "an unknown number of"


def _check_not_quarantined(follower: ReplicaFollower) -> None:
    if not follower.quarantined:
        return
    evidence = follower.evidence()
    last = evidence[-1] if evidence else None
    raise EquivocationError(
        f"the standby's replica of {follower.origin} is quarantined: the primary signed two "
        f"histories ({last.detail if last else 'no evidence kept'}); there is none to continue",
        first=last.first if last else b"",
        second=last.second if last else b"",
    )
