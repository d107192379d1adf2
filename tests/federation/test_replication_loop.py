"""The trio side of replication: the pipelined round (same checks, same results as follow_once),
the capped back-off and the wake-up a returning child's announcement gives its follower, over
the in-memory transport under trio's MockClock."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio.testing

from federation.memory import MemoryNetwork
from federation.replicas import ReplicaSet
from federation.replication import ReplicaFollower, follow_once
from federation.replication_loop import (
    MAX_BACKOFF,
    FollowerWakeups,
    Wakeup,
    follow_forever,
    follow_round,
)
from ledger.errors import InputError, PeerError, PeerUnavailable, UsageError
from ledger.log import verify_log
from node.config import parse_federation
from tests.federation.cluster import Member, open_member
from tests.federation.test_replication import (
    CHILD_PUBLIC,
    ORIGIN,
    WITNESS,
    LogPeer,
    append,
    child,
    gd,
    serving,
)

HOUR = 3600.0


def run_mock(main: functools.partial[object] | object) -> None:
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))  # type: ignore[arg-type]


def new_follower() -> ReplicaFollower:
    return ReplicaSet(None, witness=WITNESS).follow(ORIGIN, CHILD_PUBLIC)


def pipelined(follower: ReplicaFollower, peer: LogPeer, chunk: int) -> None:
    async def main() -> None:
        await follow_round(follower, peer, chunk=chunk, timeout=5)

    trio.run(main)


# -- the pipelined round -----------------------------------------------------------------------


def test_follow_round_stores_what_follow_once_stores() -> None:
    ledger = child()
    append(ledger, 203)
    sequential, ahead = new_follower(), new_follower()
    peer = serving(ledger)

    async def main() -> None:
        once = await follow_once(sequential, peer, chunk=16, timeout=5)
        piped = await follow_round(ahead, peer, chunk=16, timeout=5)
        assert piped.chunks == once.chunks and piped.fetched == once.fetched == 203
        assert piped.cosignature_sent and piped.step == once.step == "fetch"

    trio.run(main)
    for follower in (sequential, ahead):
        report = verify_log(follower.store, CHILD_PUBLIC, ORIGIN)
        assert report.size == ledger.size() and report.root == ledger.root()
    assert list(ahead.store.entries(0, 203)) == list(sequential.store.entries(0, 203))
    assert ahead.verified_note == sequential.verified_note


def test_follow_round_fetches_ahead_and_stores_nothing_of_a_tampered_chunk() -> None:
    ledger = child()
    append(ledger, 80)
    peer = serving(ledger)
    peer.tamper = lambda index, leaf: leaf[:-1] + b"!" if index == 35 else leaf
    follower = new_follower()
    with pytest.raises(PeerError, match="not part of its checkpoint") as caught:
        pipelined(follower, peer, chunk=8)
    assert caught.value.node_id == peer.node_id  # the bare error, not an ExceptionGroup
    # Whole chunks before entry 35 are stored (those verified but not yet written when the
    # bad one was found are dropped), nothing of the chunk holding it; and the fetcher had
    # already asked for chunks after it (the pipeline's depth).
    assert follower.held in (8, 16, 24, 32) and follower.verified_size == 0
    held = follower.held
    assert list(follower.store.entries(0, held)) == list(ledger.store.entries(0, held))
    assert peer.entry_calls > 5
    peer.tamper = None
    pipelined(follower, peer, chunk=8)
    assert follower.verified_size == 80
    assert verify_log(follower.store, CHILD_PUBLIC, ORIGIN).root == ledger.root()


def test_follow_round_link_dropped_mid_catch_up_resumes_from_what_is_held() -> None:
    ledger = child()
    append(ledger, 60)
    peer = serving(ledger)
    peer.fail_entries_after = 3
    follower = new_follower()
    with pytest.raises(PeerUnavailable, match="mid-stream"):
        pipelined(follower, peer, chunk=10)
    assert follower.held in (0, 10, 20, 30) and follower.verified_size == 0
    peer.fail_entries_after = None
    pipelined(follower, peer, chunk=10)
    assert follower.verified_size == 60
    assert verify_log(follower.store, CHILD_PUBLIC, ORIGIN).size == 60


def test_follow_round_takes_short_answers_and_bounds_its_work() -> None:
    ledger = child()
    append(ledger, 50)
    peer = serving(ledger)
    peer.max_entries = 3  # a server that sends less than asked
    follower = new_follower()

    async def main() -> None:
        first = await follow_round(follower, peer, chunk=10, timeout=5, max_entries=12)
        assert first.fetched == 12 and all(end - start == 3 for start, end in first.chunks)
        while follower.verified_size < 50:
            await follow_round(follower, peer, chunk=10, timeout=5)

    trio.run(main)
    assert verify_log(follower.store, CHILD_PUBLIC, ORIGIN).size == 50
    with pytest.raises(UsageError):
        trio.run(functools.partial(follow_round, follower, peer, timeout=5, depth=0))


# -- back-off and wake-up, over the in-memory transport ---------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Member, Member, MemoryNetwork]]:
    """A station that keeps registering, and a node that follows it, on a MemoryNetwork."""
    station = open_member(tmp_path, "ps-edappally", records=0)
    parent = open_member(tmp_path, "ps-follower", records=0)
    net = MemoryNetwork()
    for member in (station, parent):
        net.add(member.service, member.identity)
    try:
        yield station, parent, net
    finally:
        station.station.close()
        parent.station.close()


async def until(follower: ReplicaFollower, size: int, *, every: float) -> None:
    """Returns once the replica's verified checkpoint covers `size` entries."""
    for _ in itertools.count():
        if follower.verified_size >= size:
            return
        await trio.sleep(every)


def register(member: Member, count: int) -> None:
    member.station.ledger.append_many([gd(f"gd {i}") for i in range(count)])


def outage(
    pair: tuple[Member, Member, MemoryNetwork],
    *,
    down_for: float,
    wake: bool,
    max_backoff: float = MAX_BACKOFF,
) -> tuple[float, list[float]]:
    """The station goes down for `down_for` simulated seconds while registering; returns how
    long after it came back its parent held everything, and the times of the follower's
    attempts while it was down."""
    station, parent, net = pair
    follower = ReplicaSet(None).follow(station.origin, station.public_key)
    client = net.client(parent.node_id, station.node_id)
    wakeups = FollowerWakeups()
    attempts: list[float] = []
    caught_up_after = -1.0

    class Counting:
        """The client, noting when each round starts (its first call is the checkpoint)."""

        def __getattr__(self, name: str) -> object:
            return getattr(client, name)

        async def get_checkpoint(self, origin: str = "", *, timeout: float) -> bytes:
            attempts.append(trio.current_time())
            return await client.get_checkpoint(origin, timeout=timeout)

    async def main() -> None:
        nonlocal caught_up_after
        register(station, 30)
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(
                    follow_forever,
                    follower,
                    Counting(),  # type: ignore[arg-type]
                    poll_interval=5.0,
                    max_backoff=max_backoff,
                    chunk=16,
                    wakeup=wakeups.for_child(station.node_id),
                )
            )
            await trio.sleep(20)
            assert follower.verified_size == station.station.ledger.size()
            net.down(station.node_id)
            went_down = trio.current_time()
            while trio.current_time() - went_down < down_for:
                await trio.sleep(HOUR / 4)
                register(station, 5)  # the station keeps working through the outage
            net.up(station.node_id)
            back = trio.current_time()
            attempts[:] = [t for t in attempts if went_down <= t < back]
            if wake:
                wakeups.wake(station.node_id)  # what its Announce does on the parent
            await until(follower, station.station.ledger.size(), every=0.5)
            caught_up_after = trio.current_time() - back
            nursery.cancel_scope.cancel()

    run_mock(main)
    return caught_up_after, attempts


def test_follow_forever_back_off_is_capped_so_hours_offline_add_at_most_the_cap(
    pair: tuple[Member, Member, MemoryNetwork],
) -> None:
    after, attempts = outage(pair, down_for=6 * HOUR, wake=False)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert max(gaps) <= MAX_BACKOFF + 1  # kept trying every minute through six hours
    assert len(attempts) > 6 * HOUR / (MAX_BACKOFF + 1)
    assert after <= MAX_BACKOFF + 1  # caught up within the bound of its return


def test_follow_forever_back_off_follows_its_configured_cap(
    pair: tuple[Member, Member, MemoryNetwork],
) -> None:
    after, attempts = outage(pair, down_for=2 * HOUR, wake=False, max_backoff=600.0)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert MAX_BACKOFF < max(gaps) <= 601
    assert after <= 601


def test_follow_forever_announcement_ends_the_back_off_at_once(
    pair: tuple[Member, Member, MemoryNetwork],
) -> None:
    # A cap of an hour: without the wake-up the parent would wait up to an hour more.
    after, _ = outage(pair, down_for=6 * HOUR, wake=True, max_backoff=HOUR)
    assert after <= 1.0


def test_wakeup_from_another_thread_cuts_a_long_wait(
    pair: tuple[Member, Member, MemoryNetwork],
) -> None:
    """The node calls `wake` from a gRPC thread: real threads, real clock (the wait is an
    hour; the guard fails the test long before)."""
    station, parent, net = pair
    follower = ReplicaSet(None).follow(station.origin, station.public_key)
    wakeups = FollowerWakeups()
    register(station, 10)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(
                    follow_forever,
                    follower,
                    net.client(parent.node_id, station.node_id),
                    poll_interval=HOUR,
                    max_backoff=HOUR,
                    wakeup=wakeups.for_child(station.node_id),
                )
            )
            with trio.fail_after(30):
                await until(follower, 10, every=0.01)
            register(station, 7)  # the next poll is an hour away
            await trio.to_thread.run_sync(wakeups.wake, station.node_id)
            await trio.to_thread.run_sync(wakeups.wake, "kerala/unknown/ps-x")  # ignored
            with trio.fail_after(30):
                await until(follower, 17, every=0.01)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_wakeup_before_the_wait_is_not_lost() -> None:
    wakeup = Wakeup()
    wakeup.set()  # before the follower's loop even started

    async def main() -> None:
        wakeup.attach()
        start = trio.current_time()
        assert await wakeup.sleep(HOUR)
        assert trio.current_time() == start
        wakeup.set()  # while "busy" (not sleeping)
        await trio.sleep(1)
        assert await wakeup.sleep(HOUR)
        assert not await wakeup.sleep(10)  # consumed
        assert trio.current_time() == start + 11

    run_mock(main)


def test_follow_forever_refuses_a_cap_below_the_poll_interval() -> None:
    follower = new_follower()
    with pytest.raises(UsageError, match="below"):
        trio.run(
            functools.partial(
                follow_forever, follower, serving(child()), poll_interval=10, max_backoff=5
            )
        )


def test_federation_toml_sets_the_retry_cap() -> None:
    plain = parse_federation('listen = "127.0.0.1:7000"\n')
    assert plain.retry_cap == MAX_BACKOFF and "retry_cap" not in plain.to_toml()
    longer = parse_federation('listen = "127.0.0.1:7000"\nretry_cap_seconds = 300\n')
    assert longer.retry_cap == 300.0
    assert parse_federation(longer.to_toml()) == longer
    for wrong in ("0", "100000", '"60"', "true"):
        with pytest.raises(InputError, match="retry_cap_seconds"):
            parse_federation(f'listen = "127.0.0.1:7000"\nretry_cap_seconds = {wrong}\n')
