"""The trio side of replication: a pipelined round, and the loop that keeps one replica
following its child (poll, back off up to a cap, wake at once when the child announces itself).

Store-and-forward falls out of pull replication: while the link is down the child keeps
appending to its own log; every round here starts from what the replica holds, so the first
round after the link returns fetches exactly what was missed. All decisions are in
federation/replication.py; this module only schedules rounds and overlaps their I/O.

Pipelining (`follow_round`): one task fetches chunk k+2 (leaves and the consistency proof to
the target) while another verifies chunk k+1 and a third writes chunk k (in a worker thread),
joined by memory channels (`PIPELINE_DEPTH`, `WRITE_GROUP`). The follower still checks the
chunks in order, each against the signed target before anything of it is stored, and stores
them in order, each commit atomic; a chunk fetched or verified and never stored (a failure or
a cancellation) is simply dropped, so nothing changes about what a crash can leave.

Bounded reconnection (`follow_forever`): after a failed round the wait doubles from
`poll_interval` up to `max_backoff` (default `MAX_BACKOFF`, one minute), so however long the
outage, the first retry after the link returns comes at most `max_backoff` later. A child that
comes back announces itself to its parent (the Announce rpc); the node then calls
`FollowerWakeups.wake(node_id)` from the gRPC thread, which ends that child's follower's wait
at once.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import trio
import trio.testing

from federation.interfaces import DEFAULT_BATCH_SIZE, PeerClient
from federation.replication import (
    DEFAULT_CHUNK,
    DEFAULT_TIMEOUT,
    ChunkRequest,
    NeedEntries,
    Progress,
    Quarantined,
    ReplicaFollower,
    VerifiedChunk,
    begin_round,
    fetch_chunk,
    finish_round,
    quarantined_progress,
)
from ledger.errors import PeerError, PeerUnavailable, UsageError, VerificationError

log = logging.getLogger(__name__)

# The longest wait between two attempts to reach an unreachable child: the most an outage of
# any length adds to the lag once the link is back (plus one round).
MAX_BACKOFF: Final = 60.0
# Chunks fetched ahead of the one being verified (the memory channel's buffer).
PIPELINE_DEPTH: Final = 2
# Chunks asked for at once (each its own stream; passed on in order).
FETCHES_IN_FLIGHT: Final = 2
# At most this many verified chunks are written by one commit (when the writer fell behind).
WRITE_GROUP: Final = 3
# Chunks per round of `follow_forever`: bounds one round's work, not the catch-up's speed.
ROUND_CHUNKS: Final = 16


# -- wake-ups ----------------------------------------------------------------------------------


class Wakeup:
    """Cuts one follower's current wait short; `set` may be called from any thread.

    A wake-up that comes while the follower is busy with a round is kept, so the wait after
    that round ends at once too: an announcement is never lost between two rounds.
    """

    def __init__(self) -> None:
        self._token: trio.lowlevel.TrioToken | None = None
        self._event = trio.Event()
        self._pending = False

    def attach(self) -> None:
        """Binds the wake-up to the running trio loop (the follower's loop calls this)."""
        self._token = trio.lowlevel.current_trio_token()

    def set(self) -> None:
        """Wakes the follower (thread-safe; a no-op once its trio loop has finished)."""
        token = self._token
        if token is None:
            self._pending = True  # not following yet: the first wait will not wait
            return
        with contextlib.suppress(trio.RunFinishedError):  # the node is stopping
            token.run_sync_soon(self._fire)

    def _fire(self) -> None:
        self._pending = True
        self._event.set()

    async def sleep(self, seconds: float) -> bool:
        """Waits `seconds` or until woken; True when woken (now or since the last wait)."""
        if not self._pending:
            with trio.move_on_after(seconds):
                await self._event.wait()
        woken, self._pending = self._pending, False
        self._event = trio.Event()
        return woken


class FollowerWakeups:
    """The wake-ups of a node's followers, by the followed node's id: `wake` is what the node
    calls (from a gRPC thread) when a child announces itself."""

    def __init__(self) -> None:
        self._by_node: dict[str, Wakeup] = {}

    def for_child(self, node_id: str) -> Wakeup:
        """The wake-up of the follower of `node_id` (made on first use)."""
        return self._by_node.setdefault(node_id, Wakeup())

    def wake(self, node_id: str) -> None:
        """Thread-safe: ends the wait of `node_id`'s follower, if this node follows it."""
        wakeup = self._by_node.get(node_id)
        if wakeup is None:
            log.debug("announcement from %s, which this node does not follow", node_id)
            return
        wakeup.set()


# -- one pipelined round -----------------------------------------------------------------------


class _Fetch:
    """One chunk asked for ahead: its leaves and proof once they came, or the error."""

    def __init__(self, request: ChunkRequest) -> None:
        self.request = request
        self._done = trio.Event()
        self._scope = trio.CancelScope()
        self._answer: tuple[list[bytes], list[bytes]] | None = None
        self._error: Exception | None = None

    async def run(self, client: PeerClient, origin: str, batch_size: int, timeout: float) -> None:
        with self._scope:
            try:
                self._answer = await _fetch_overlapped(
                    client, origin, self.request, batch_size=batch_size, timeout=timeout
                )
            except Exception as exc:  # handed to the one waiting for this chunk, in order
                self._error = exc
            finally:
                self._done.set()

    def cancel(self) -> None:
        self._scope.cancel()

    async def result(self) -> tuple[list[bytes], list[bytes]]:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._answer is not None
        return self._answer


async def _fetch_overlapped(
    client: PeerClient, origin: str, request: ChunkRequest, *, batch_size: int, timeout: float
) -> tuple[list[bytes], list[bytes]]:
    """`fetch_chunk` with the proof asked for at the same time as the leaves (for the end the
    request names; asked again for the true end after a short answer)."""
    if not request.needs_proof:
        return await fetch_chunk(client, origin, request, batch_size=batch_size, timeout=timeout)
    answers: dict[str, list[bytes]] = {}

    async def leaves() -> None:
        answers["leaves"] = await client.get_entries(
            origin, request.start, request.end, batch_size=batch_size, timeout=timeout
        )

    async def proof() -> None:
        answers["proof"] = await client.get_consistency_proof(
            origin, request.end, request.target, timeout=timeout
        )

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(leaves)
            nursery.start_soon(proof)
    except BaseExceptionGroup as group:
        raise _single(group) from None
    got = answers["leaves"]
    if not got or len(got) > request.end - request.start:
        raise PeerError(
            f"asked for entries {request.start}..{request.end - 1} of {origin}, got {len(got)}",
            client.node_id,
        )
    end = request.start + len(got)
    if end < request.end:  # short: the proof must start where the leaves end
        return got, await client.get_consistency_proof(origin, end, request.target, timeout=timeout)
    return got, answers["proof"]


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first plain failure of a group (what a sequential caller would have seen)."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _single(exc)
        if isinstance(exc, Exception):
            return exc
    return group


async def _pipelined_chunks(
    follower: ReplicaFollower,
    client: PeerClient,
    first: ChunkRequest,
    *,
    chunk: int,
    batch_size: int,
    timeout: float,
    max_entries: int | None,
    depth: int,
    write_in_thread: bool,
) -> list[tuple[int, int]]:
    """Three tasks joined by memory channels: one fetches chunks from `first` on, one verifies
    them in order, one stores the verified ones in order (each commit in a worker thread, so
    RocksDB's synced write overlaps the next chunk's checks). Returns the ranges stored. The
    first failure of any of them ends all three; what was verified and not stored is dropped.
    """
    fetched_send, fetched_receive = trio.open_memory_channel[tuple[int, list[bytes], list[bytes]]](
        depth
    )
    verified_send, verified_receive = trio.open_memory_channel[VerifiedChunk](WRITE_GROUP - 1)
    stored: list[tuple[int, int]] = []

    async def fetch_ahead() -> None:
        try:
            await fetch_in_order()
        except BaseExceptionGroup as group:  # the failure itself, as a sequential fetch's
            raise _single(group) from None

    async def fetch_in_order() -> None:
        async with fetched_send, trio.open_nursery() as fetches:
            # Up to FETCHES_IN_FLIGHT chunks are asked for at once, each in its own task, and
            # passed on strictly in order: the child streams the next chunk while this side
            # still waits for the last batch (or the proof) of the one before.
            slots: collections.deque[_Fetch] = collections.deque()
            request: ChunkRequest | None = first
            asked = 0

            def ask_ahead() -> None:
                nonlocal request, asked
                while (
                    request is not None
                    and len(slots) < FETCHES_IN_FLIGHT
                    and (max_entries is None or asked < max_entries)
                ):
                    slot = _Fetch(request)
                    slots.append(slot)
                    fetches.start_soon(slot.run, client, follower.origin, batch_size, timeout)
                    asked += request.end - request.start
                    request = follower.chunk_at(request.end, chunk)

            ask_ahead()
            while slots:
                slot = slots.popleft()
                leaves, proof = await slot.result()
                if slot.request.start + len(leaves) < slot.request.end:
                    # A short answer: the chunks asked after it start at the wrong place.
                    for stale in slots:
                        stale.cancel()
                    asked -= sum(stale.request.end - stale.request.start for stale in slots)
                    asked -= slot.request.end - slot.request.start - len(leaves)
                    slots.clear()
                    request = follower.chunk_at(slot.request.start + len(leaves), chunk)
                try:
                    await fetched_send.send((slot.request.start, leaves, proof))
                except trio.BrokenResourceError:
                    fetches.cancel_scope.cancel()
                    return  # a later stage stopped: its own error (or none) ends the round
                ask_ahead()

    async def verify_in_order() -> None:
        async with fetched_receive, verified_send:
            async for start, leaves, proof in fetched_receive:
                try:
                    verified = follower.verify_chunk(start, leaves, proof)
                except PeerError as exc:
                    raise PeerError(str(exc), client.node_id) from exc
                try:
                    await verified_send.send(verified)
                except trio.BrokenResourceError:
                    return

    async def store_in_order() -> None:
        async with verified_receive:
            async for verified in verified_receive:
                # Chunks verified while the last write ran go together in one commit.
                group = [verified]
                while len(group) < WRITE_GROUP:
                    try:
                        group.append(verified_receive.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                # Shielded: once a commit starts, the machine must learn that it happened.
                with trio.CancelScope(shield=True):
                    if write_in_thread:
                        await trio.to_thread.run_sync(follower.store_chunks, group)
                    else:
                        follower.store_chunks(group)
                for chunk in group:
                    done = follower.chunk_stored(chunk)
                    stored.append((done.start, done.end))

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fetch_ahead)
            nursery.start_soon(verify_in_order)
            nursery.start_soon(store_in_order)
    except BaseExceptionGroup as group:
        # One stage failed and the others were cancelled: raise the failure itself, as the
        # sequential round would, so callers catch PeerUnavailable / PeerError as usual.
        if len(group.exceptions) == 1 and isinstance(group.exceptions[0], Exception):
            raise group.exceptions[0] from None
        raise
    finally:
        follower.drop_unstored()
    return stored


async def follow_round(
    follower: ReplicaFollower,
    client: PeerClient,
    *,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    max_entries: int | None = None,
    depth: int = PIPELINE_DEPTH,
    write_in_thread: bool | None = None,
) -> Progress:
    """`replication.follow_once` with the catch-up pipelined: the same checks, answers and
    errors (PeerUnavailable, PeerError, VerificationError), the next chunk fetched while the
    previous one is verified, and verified while the one before is written.

    `depth`: chunks fetched ahead. `write_in_thread`: commit in a worker thread (None: yes,
    unless the clock is trio's MockClock, where a thread would let simulated time jump while
    the write runs and a simulation must be reproducible)."""
    if depth < 1:
        raise UsageError("the pipeline needs a depth of at least 1")
    if write_in_thread is None:
        write_in_thread = not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
    before = follower.verified_size
    if follower.quarantined:
        return Progress(follower.origin, before, before, 0, follower.state, "quarantined")
    name, step = await begin_round(follower, client, timeout=timeout)
    if isinstance(step, Quarantined):
        return quarantined_progress(follower, before, step)
    chunks: list[tuple[int, int]] = []
    # Only a note that asks for entries starts fetching (see follow_once).
    if isinstance(step, NeedEntries) and (first := follower.next_chunk(chunk)) is not None:
        chunks = await _pipelined_chunks(
            follower,
            client,
            first,
            chunk=chunk,
            batch_size=batch_size,
            timeout=timeout,
            max_entries=max_entries,
            depth=depth,
            write_in_thread=write_in_thread,
        )
    sent = await finish_round(follower, client, timeout=timeout)
    return Progress(
        follower.origin,
        before,
        follower.verified_size,
        sum(end - start for start, end in chunks),
        follower.state,
        name,
        cosignature_sent=sent,
        chunks=chunks,
    )


# -- the loop ----------------------------------------------------------------------------------


async def follow_forever(
    follower: ReplicaFollower,
    client: PeerClient,
    *,
    poll_interval: float = 10.0,
    max_backoff: float = MAX_BACKOFF,
    chunk: int = DEFAULT_CHUNK,
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Callable[[Progress], None] | None = None,
    wakeup: Wakeup | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Runs replication rounds until cancelled.

    After a round that moved the replica, the next starts at once (a long catch-up is many
    rounds of bounded work); after an idle round it waits `poll_interval`. An unreachable child
    or a wrong answer doubles the wait up to `max_backoff`. `wakeup` (see `Wakeup`) ends any
    wait at once and resets the back-off: the child announced itself. A quarantined replica
    is left alone (polling it would only collect the same evidence) until an operator clears
    it.
    """
    if max_backoff < poll_interval:
        raise UsageError(f"max_backoff {max_backoff} is below poll_interval {poll_interval}")
    if wakeup is not None:
        wakeup.attach()
    task_status.started()
    backoff = poll_interval
    while True:
        try:
            progress = await follow_round(
                follower, client, chunk=chunk, timeout=timeout, max_entries=ROUND_CHUNKS * chunk
            )
        except PeerUnavailable as exc:
            log.info(
                "replica of %s: child unreachable (%s); retrying in %.0fs",
                follower.origin,
                exc,
                backoff,
            )
        except (PeerError, VerificationError) as exc:
            log.warning("replica of %s: round failed: %s", follower.origin, exc)
        else:
            if on_progress is not None:
                on_progress(progress)
            if progress.alert is not None:
                log.error("replica of %s quarantined: %s", follower.origin, progress.alert.detail)
            backoff = poll_interval
            if progress.fetched:
                await trio.lowlevel.checkpoint()
                continue
            await _wait(wakeup, poll_interval)
            continue
        if await _wait(wakeup, backoff):
            log.info("replica of %s: the child announced itself; retrying now", follower.origin)
            backoff = poll_interval
        else:
            backoff = min(backoff * 2, max_backoff)


async def _wait(wakeup: Wakeup | None, seconds: float) -> bool:
    if wakeup is None:
        await trio.sleep(seconds)
        return False
    return await wakeup.sleep(seconds)
