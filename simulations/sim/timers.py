"""The simulator's own timers: sleeps in simulated time without a cancel scope each.

`trio.sleep` under a MockClock is a cancel scope whose deadline fires, a Cancelled exception
raised and caught, and two passes of the run loop (the clock's jump, then the expiry): about
90 us of CPU each on this machine, and a run makes one per replication round, per workload tick
of every office and per search call (millions for an India day). `Timers.sleep` instead parks
the task in a heap of its own (`wait_task_rescheduled`); one driver task, woken when every
other task waits (`wait_all_tasks_blocked`), moves the MockClock to whichever is due first, a
parked sleeper or one of trio's own deadlines (fan-out deadlines, back-offs, the faults'
schedule), and wakes the sleepers due then: about 60 us each. Time and order are the same as
with trio.sleep (sleepers due at one instant wake in the order they went to sleep); a cancelled
sleeper (a crash) is dropped from the heap when its turn comes.

`call_at(when, callback)` parks a plain function instead of a task: the driver calls it, in
its own task, when its time comes (after the tasks woken at that instant were rescheduled, and
before they run). No task, no coroutine frame and no pass of trio's scheduler per wait: the
engine's replication loops, one per followed log (India: 53,000), wait this way
(simulations/sim/engine.py `_RouteLoop`). A callback must not wait; it may start tasks, call
`call_at` again (a callback due now runs in the same pass) and reschedule tasks. Its handle
(`cancel`) drops it.

Run `drive()` in the simulation's nursery for the whole run; without a driver (another caller,
or after it stopped) `sleep` is trio.sleep and `call_at` a task of `nursery` that sleeps.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

import trio
import trio.testing

__all__ = ["Timers", "next_deadline", "sim_clock"]

# trio's run state, read for the next deadline (a jump per timer must not build the run's
# statistics); None on a trio whose internals differ, which then takes the public way.
Task = trio.lowlevel.Task
_CONTEXT: Any = getattr(
    getattr(getattr(trio, "_core", None), "_run", None), "GLOBAL_RUN_CONTEXT", None
)


def next_deadline() -> float:
    """The earliest deadline of trio's cancel scopes in the current run (inf: none)."""
    if _CONTEXT is not None:
        return float(_CONTEXT.runner.deadlines.next_deadline())
    statistics = trio.lowlevel.current_statistics()
    return trio.current_time() + statistics.seconds_to_next_deadline


def sim_clock() -> trio.testing.MockClock:
    """trio's MockClock with autojump (threshold 0, rate 0), made cheaper for the simulator,
    where the clock jumps once per timer: the time is read from the virtual base without a
    real-clock read, and a jump reads the next deadline directly (`next_deadline`). Same
    times, same jumps. Still a MockClock (it cannot be subclassed, so the instance's two
    methods are replaced): what checks for one (federation/memory.py, replication_loop.py)
    still sees simulated time. On a trio whose internals differ, the clock stays as it is."""
    clock = trio.testing.MockClock(autojump_threshold=0)
    if _CONTEXT is None or not hasattr(clock, "_virtual_base"):
        return clock

    def current_time() -> float:
        return float(clock._virtual_base)  # rate 0: virtual time moves only by jumps

    def autojump() -> None:
        jump = next_deadline() - clock._virtual_base
        if 0 < jump < math.inf:
            clock._virtual_base += jump

    setattr(clock, "current_time", current_time)  # noqa: B010 (an instance's method replaced)
    setattr(clock, "_autojump", autojump)  # noqa: B010
    return clock


# Time steps the driver takes in a row without a pass of trio's scheduler (see `drive`).
_INLINE_STEPS = 1000

_Slot = list[Any]  # [the parked task, a callback, or None once cancelled]


class Timers:
    """Sleepers parked in simulated time, woken by `drive()` (see the module docstring)."""

    def __init__(self) -> None:
        self._clock: trio.testing.MockClock | None = None
        self._heap: list[tuple[float, int, _Slot]] = []
        self._count = 0
        self._mock: bool | None = None
        # Where `call_at` runs its callbacks when no driver moves a MockClock (a real clock).
        self.nursery: trio.Nursery | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> _Slot:
        """Calls `callback()` at simulated time `when` (at once if past), from the driver's
        task; returns its handle for `cancel`."""
        slot: _Slot = [callback]
        if self._mock is None:
            self._mock = isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
        if self._mock:
            self._count += 1
            heapq.heappush(self._heap, (when, self._count, slot))
        else:
            assert self.nursery is not None, "call_at without a driver needs Timers.nursery"
            self.nursery.start_soon(_call_later, when, slot)
        return slot

    @staticmethod
    def cancel(handle: _Slot) -> None:
        """Drops a callback `call_at` parked (nothing if it ran already)."""
        handle[0] = None

    async def sleep(self, seconds: float) -> None:
        """Waits `seconds` of simulated time (a checkpoint: cancellable, like trio.sleep)."""
        if self._clock is None:
            await trio.sleep(seconds)
            return
        slot: _Slot = [trio.lowlevel.current_task()]
        self._count += 1
        heapq.heappush(self._heap, (self._clock.current_time() + seconds, self._count, slot))

        def abort(_: Any) -> trio.lowlevel.Abort:
            slot[0] = None  # dropped when its turn comes
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def drive(self) -> None:
        """Moves the clock whenever every other task waits, until cancelled. Under another
        clock than a MockClock it returns at once (and `sleep` is trio.sleep)."""
        clock = trio.lowlevel.current_clock()
        if not isinstance(clock, trio.testing.MockClock):
            return
        heap = self._heap
        self._clock = clock
        runner = _CONTEXT.runner if _CONTEXT is not None else None
        try:
            while True:
                await trio.testing.wait_all_tasks_blocked()
                # Time steps whose parked items are all callbacks need no pass of trio's
                # scheduler: while no task can run and no deadline of trio's comes first, the
                # clock moves on from here (up to _INLINE_STEPS times, then trio has a pass).
                for _ in range(_INLINE_STEPS):
                    while heap and heap[0][2][0] is None:
                        heapq.heappop(heap)
                    deadline = next_deadline()
                    due = min(heap[0][0] if heap else math.inf, deadline)
                    if due == math.inf:
                        break  # nothing will ever be due: the run is stuck (as without timers)
                    now = clock.current_time()
                    if due > now:
                        clock.jump(due - now)
                        now = due
                    while heap and heap[0][0] <= now:
                        item = heapq.heappop(heap)[2][0]
                        if item is None:
                            continue
                        if type(item) is Task:
                            trio.lowlevel.reschedule(item)
                        else:
                            item()
                    if deadline <= now or runner is None or runner.runq:
                        break  # trio expires its deadlines and runs the tasks woken
        finally:
            self._clock = None
            # Whoever still sleeps is woken (the run is ending: its nursery is cancelled);
            # callbacks are dropped.
            for _, _, slot in heap:
                if type(slot[0]) is Task:
                    trio.lowlevel.reschedule(slot[0])
            heap.clear()


async def _call_later(when: float, slot: _Slot) -> None:
    await trio.sleep_until(when)
    if slot[0] is not None:
        slot[0]()
