"""The simulator's transport timing (simulations/sim/network.py) and timers
(simulations/sim/timers.py): one wait per call, deferred rounds, the deadline decided at once,
and sleeps that wake at the same simulated times as trio.sleep."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing

from federation.interfaces import PeerIdentity
from ledger.errors import PeerUnavailable
from protos import federation_pb2
from simulations.sim.network import SimNetwork
from simulations.sim.timers import Timers, sim_clock

A, B = "ps-a", "ps-b"


class _Service:
    """Answers get_checkpoint with a fixed note and counts the calls it served."""

    def __init__(self) -> None:
        self.served = 0

    def get_checkpoint(
        self, caller: PeerIdentity, request: federation_pb2.CheckpointRequest
    ) -> federation_pb2.CheckpointResponse:
        self.served += 1
        return federation_pb2.CheckpointResponse(note=b"note of " + caller.node_id.encode())


def _network(latency: float = 0.1) -> tuple[SimNetwork, _Service]:
    network = SimNetwork(seed=1, latency=latency, in_thread=False)
    service = _Service()
    for node_id in (A, B):
        identity = PeerIdentity(node_id=node_id, role="station", parent="", ledger_key=b"k" * 32)
        network.add(service, identity)  # type: ignore[arg-type]  # a service of one method
    return network, service


def _run(main: Callable[[], Awaitable[None]]) -> None:
    trio.run(main, clock=sim_clock())


def test_sim_call_waits_once_for_the_round_trip_and_counts_its_bytes() -> None:
    network, service = _network(latency=0.1)

    async def main() -> None:
        start = trio.current_time()
        note = await network.client(A, B).get_checkpoint("", timeout=5)
        assert note == b"note of " + A.encode()
        assert trio.current_time() - start == pytest.approx(0.2)
        assert service.served == 1 and network.calls == 1
        assert network.bytes[(A, B)] > len(note)

    _run(main)


@pytest.mark.parametrize(
    ("fault", "match", "took"),
    [
        ("cut", "within 2 s", 2.0),  # silence: unanswered at the deadline
        ("down", "refused", 0.1),  # no process behind the address: refused on arrival
    ],
)
def test_sim_call_over_a_cut_link_or_to_a_down_node_fails_in_time_and_is_not_served(
    fault: str, match: str, took: float
) -> None:
    network, service = _network(latency=0.1)
    if fault == "cut":
        network.partition(A, B)
    else:
        network.down(B)

    async def main() -> None:
        start = trio.current_time()
        with pytest.raises(PeerUnavailable, match=match):
            await network.client(A, B).get_checkpoint("", timeout=2)
        assert trio.current_time() - start == pytest.approx(took)
        assert service.served == 0

    _run(main)


def test_sim_round_trip_longer_than_the_deadline_is_served_but_unanswered() -> None:
    network, service = _network(latency=1.5)

    async def main() -> None:
        with pytest.raises(PeerUnavailable, match="within 2 s"):
            await network.client(A, B).get_checkpoint("", timeout=2)
        assert service.served == 1  # the request arrived (1.5 s), the answer was late

    _run(main)


def test_sim_deferred_client_adds_up_its_calls_time_without_waiting() -> None:
    network, service = _network(latency=0.1)
    network.partition(A, "nobody")  # another pair: A -> B still works

    async def main() -> None:
        client = network.client(A, B)
        client.deferred = True
        start = trio.current_time()
        await client.get_checkpoint("", timeout=5)
        await client.get_checkpoint("", timeout=5)
        assert trio.current_time() == start
        assert client.take_owed() == pytest.approx(0.4)
        assert client.owed == 0.0
        network.partition(A, B)
        with pytest.raises(PeerUnavailable):
            await client.get_checkpoint("", timeout=3)
        assert client.take_owed() == pytest.approx(3.0)  # an unanswered call costs its deadline
        assert service.served == 2

    _run(main)


def test_sim_draws_depend_on_the_link_and_call_number_only() -> None:
    one, _ = _network(latency=0.0)
    two, _ = _network(latency=0.0)
    for network in (one, two):
        network.set_link(A, B, latency=(0.005, 0.040))
    first = [one.exchange(A, B, "get_checkpoint", b"", 5)[0] for _ in range(5)]
    two.exchange(B, A, "get_checkpoint", b"", 5)  # another link's call changes nothing here
    second = [two.exchange(A, B, "get_checkpoint", b"", 5)[0] for _ in range(5)]
    assert first == second
    assert len(set(first)) == 5 and all(0.01 <= took < 0.08 for took in first)


@pytest.mark.parametrize("clock", ["sim", "mock"])
def test_sim_timers_wake_when_trio_sleep_would_and_drop_the_cancelled(clock: str) -> None:
    timers = Timers()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, sleep: Callable[[float], Awaitable[None]], delay: float) -> None:
        await sleep(delay)
        woke.append((name, trio.current_time()))

    async def main() -> None:
        async with trio.open_nursery() as outer:
            outer.start_soon(timers.drive)
            await trio.lowlevel.checkpoint()  # the driver runs
            async with trio.open_nursery() as nursery:
                for i, delay in enumerate((0.3, 0.1, 0.2)):
                    nursery.start_soon(sleeper, f"timer{i}", timers.sleep, delay)
                    nursery.start_soon(sleeper, f"trio{i}", trio.sleep, delay + 0.05)
                with trio.CancelScope() as cancelled:
                    cancelled.deadline = trio.current_time() + 0.12
                    await timers.sleep(10.0)
                woke.append(("cancelled", trio.current_time()))
            outer.cancel_scope.cancel()

    trio.run(
        main, clock=sim_clock() if clock == "sim" else trio.testing.MockClock(autojump_threshold=0)
    )
    assert [name for name, _ in woke] == [
        "timer1",
        "cancelled",
        "trio1",
        "timer2",
        "trio2",
        "timer0",
        "trio0",
    ]
    times = [at for _, at in woke]
    assert times == pytest.approx([0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.35])


@pytest.mark.parametrize("clock", ["sim", "mock", "real"])
def test_sim_timers_call_back_at_their_time_between_sleepers_and_deadlines(clock: str) -> None:
    """Callbacks (the engine's replication loops) run at their simulated time, in order with
    parked tasks and trio's own deadlines, may park more callbacks (one due now runs at once),
    and a cancelled one never runs; the driver moves the clock through steps of callbacks alone
    without trio, yet never past a deadline of trio's. Under a real clock, `call_at` is a task."""
    timers = Timers()
    seen: list[tuple[str, float]] = []
    scale = 0.05 if clock == "real" else 1.0  # the real clock: twentieths of a second

    def note(name: str) -> Callable[[], None]:
        return lambda: seen.append((name, trio.current_time()))

    def chain(left: int) -> None:
        seen.append((f"chain{left}", trio.current_time()))
        if left:
            later = 0.0 if left == 2 else 1.0 * scale
            timers.call_at(trio.current_time() + later, lambda: chain(left - 1))

    async def sleeper(name: str, delay: float) -> None:
        await timers.sleep(delay)
        seen.append((name, trio.current_time()))

    async def main() -> None:
        start = trio.current_time()
        async with trio.open_nursery() as outer:
            timers.nursery = outer
            outer.start_soon(timers.drive)
            await trio.lowlevel.checkpoint()
            async with trio.open_nursery() as nursery:
                timers.call_at(start + 3.0 * scale, note("call3"))
                dropped = timers.call_at(start + 2.0 * scale, note("dropped"))
                timers.call_at(start + 1.0 * scale, lambda: chain(3))
                nursery.start_soon(sleeper, "sleep2.5", 2.5 * scale)
                Timers.cancel(dropped)
                with trio.move_on_at(start + 2.2 * scale):
                    await trio.sleep_forever()
                seen.append(("deadline2.2", trio.current_time()))
            await trio.sleep(5.0 * scale)
            outer.cancel_scope.cancel()
        for index, (name, at) in enumerate(seen):
            seen[index] = (name, (at - start) / scale)

    clocks = {"sim": sim_clock(), "mock": trio.testing.MockClock(autojump_threshold=0)}
    trio.run(main, clock=clocks.get(clock))
    due = {
        "chain3": 1.0,
        "chain2": 2.0,
        "chain1": 2.0,
        "deadline2.2": 2.2,
        "sleep2.5": 2.5,
        "call3": 3.0,
        "chain0": 3.0,
    }
    if clock == "real":  # late by the scheduling of real time, never early, none dropped
        assert sorted(name for name, _ in seen) == sorted(due)
        assert all(at >= due[name] - 1e-6 for name, at in seen), seen
    else:
        assert seen == [(name, pytest.approx(at)) for name, at in due.items()]
