"""The simulated network: federation/memory.py's MemoryNetwork, counted, cut by groups, timed.

`SimNetwork` is a MemoryNetwork (every message serialised, carried with its link's latency and
loss, parsed on the other side, errors mapped as over gRPC) that also counts the bytes each link
carries, and can cut a whole group of nodes (a district) off from the rest in one step instead
of one partition per pair (17,000 stations make that millions of pairs).

Its clients (`SimPeerClient`) decide each call's fate arithmetically when it is sent: both
one-way latencies and losses are drawn then, the target's service answers at once (inline), and
the caller waits once for what the call took: the round trip, or its whole deadline when the
request or the answer is lost or the link is cut, or the one-way trip when the node is down
(refused). That is one timer per call instead of two sleeps and a cancel scope (trio's
scheduler and MockClock were half the simulator's cost). The service thus sees the state of
the moment the call is sent, up to one one-way latency (5-40 ms) earlier than a real server
would. A client made `deferred` does not wait at all: it adds what each call took to `owed`,
and its user (the engine's replication round) waits that sum once when the round is over: the
round's calls are then served back to back at its start, and its result lands when the real
round would have ended (docs/simulator.md, "What is modelled").

`EquivocatingService` stands where an office's PeerService stands on the network: it answers
the readers it was told to deceive from a forked log, everyone else from the true one. That is
the misbehaviour a witness policy and gossip must catch; nothing in federation/ knows of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, cast

import trio
from google.protobuf.message import Message

from federation.interfaces import PeerIdentity
from federation.memory import MemoryNetwork, MemoryPeerClient
from federation.service import PeerService
from ledger.errors import CctnsError, InputError, PeerUnavailable


class SimNetwork(MemoryNetwork):
    """A MemoryNetwork that counts bytes per link and cuts groups of nodes off."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bytes: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.calls = 0
        # Of those, the calls (and bytes) of the clients marked `shared`: a split run's shared
        # offices' own logs, the same in every part (simulations/sim/parts.py counts them once).
        self.shared_calls = 0
        self.shared_bytes: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._group_of: dict[str, str] = {}
        self._cut_groups: set[str] = set()
        self._link_seeds: dict[tuple[str, str], int] = {}
        # How a caller waits (the engine's timers, simulations/sim/timers.py).
        self.sleep: Callable[[float], Awaitable[None]] = trio.sleep

    def replace_service(self, node_id: str, service: PeerService) -> None:
        """Puts `service` on the network in place of the node's (same identity)."""
        self._nodes[node_id] = dataclasses.replace(self._node(node_id), service=service)

    def set_groups(self, group_of: dict[str, str]) -> None:
        """Which group (district) each node belongs to, for `cut`."""
        self._group_of = dict(group_of)

    def cut(self, group: str) -> None:
        """Every link between a node of `group` and a node outside it is cut."""
        self._cut_groups.add(group)

    def uncut(self, group: str) -> None:
        """The group's links work again."""
        self._cut_groups.discard(group)

    def is_partitioned(self, a: str, b: str) -> bool:
        if self._cut_groups:
            group_a, group_b = self._group_of.get(a, ""), self._group_of.get(b, "")
            if group_a != group_b and (group_a in self._cut_groups or group_b in self._cut_groups):
                return True
        return bool(self._partitions) and super().is_partitioned(a, b)  # none: no set built

    def client(self, from_node_id: str, to_node_id: str) -> SimPeerClient:
        """A PeerClient for `from_node_id` calling `to_node_id`, timed as the module says."""
        self._node(from_node_id)
        self._node(to_node_id)
        return SimPeerClient(self, from_node_id, to_node_id)

    def exchange(
        self,
        source: str,
        target: str,
        method: str,
        request: bytes,
        timeout: float,
        *,
        shared: bool = False,
    ) -> tuple[float, bytes | list[bytes] | CctnsError]:
        """One call decided at once: (seconds it takes, its answer or the error its caller
        raises). The service runs now if the request reaches it before the deadline.

        The random draws of a call are seeded per link and per call number (trio's scheduling
        order cannot change them): a SplitMix64 stream from (link, call number), as a
        `random.Random` per call cost a seeding per message; drawn in order: the request's
        latency (uniform in the link's range), its loss (on a lossy link), the answer's
        latency, its loss."""
        link = (source, target) if source < target else (target, source)
        self.calls += 1
        counted = self.bytes
        counted[link] += len(request)
        if shared:
            self.shared_calls += 1
            self.shared_bytes[link] += len(request)
        pair = (source, target)
        number = self._calls.get(pair, 0)
        self._calls[pair] = number + 1
        base = self._link_seeds.get(pair)
        if base is None:
            digest = hashlib.sha256(f"{self._seed}:{source}>{target}".encode()).digest()
            base = self._link_seeds[pair] = int.from_bytes(digest[:8], "big")
        state = (base + number * _GOLDEN) & _MASK
        links = self._links
        there = links.get(pair, self.default_link) if links else self.default_link
        latency = there.latency
        if type(latency) is tuple:
            state, draw = _split_mix(state)
            sent = latency[0] + (latency[1] - latency[0]) * draw
        else:
            sent = cast(float, latency)
        lost = False
        if there.loss > 0:
            state, draw = _split_mix(state)
            lost = draw < there.loss
        cut = bool(self._cut_groups or self._partitions)
        if lost or (cut and self.is_partitioned(source, target)) or sent >= timeout:
            return timeout, _no_answer(method, timeout, target)
        if target in self._down:
            return sent, PeerUnavailable("connection refused: the node is down", node_id=target)
        answer = self.serve_now(source, target, method, request)
        back = links.get((target, source), self.default_link) if links else self.default_link
        latency = back.latency
        if type(latency) is tuple:
            state, draw = _split_mix(state)
            took = sent + (latency[0] + (latency[1] - latency[0]) * draw)
        else:
            took = sent + cast(float, latency)
        if back.loss > 0:
            state, draw = _split_mix(state)
            lost = draw < back.loss
        if lost or (cut and self.is_partitioned(target, source)) or took >= timeout:
            return timeout, _no_answer(method, timeout, target)
        size = 0
        if type(answer) is bytes:
            size = len(answer)
        elif type(answer) is list:
            size = sum(map(len, answer))
        counted[link] += size
        if shared:
            self.shared_bytes[link] += size
        return took, answer


_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _split_mix(state: int) -> tuple[int, float]:
    """One step of SplitMix64 (Steele, Lea, Flood 2014): the next state and its draw, uniform
    in [0, 1)."""
    state = z = (state + _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return state, ((z ^ (z >> 31)) >> 11) * (1.0 / (1 << 53))


def _no_answer(method: str, timeout: float, target: str) -> PeerUnavailable:
    return PeerUnavailable(f"no answer to {method} within {timeout:g} s", node_id=target)


class SimPeerClient(MemoryPeerClient):
    """A MemoryPeerClient whose calls are decided when sent (`SimNetwork.exchange`): one wait
    per call, or none when `deferred` (the time is added to `owed` for the caller to wait)."""

    def __init__(self, network: SimNetwork, source: str, target: str) -> None:
        super().__init__(network, source, target)
        self._sim = network
        self.deferred = False
        self.shared = False  # counted apart too (SimNetwork.shared_calls)
        self.owed = 0.0

    async def _call(self, method: str, request: Message, timeout: float) -> bytes | list[bytes]:
        if not timeout > 0:
            raise InputError(f"a call's timeout must be positive, not {timeout!r}")
        took, answer = self._sim.exchange(
            self.source,
            self._target,
            method,
            request.SerializeToString(),
            timeout,
            shared=self.shared,
        )
        if self.deferred:
            self.owed += took
        elif took > 0:
            await self._sim.sleep(took)
        if isinstance(answer, CctnsError):
            raise answer
        return answer

    def take_owed(self) -> float:
        """The simulated time the deferred calls took since the last take (and reset it)."""
        owed, self.owed = self.owed, 0.0
        return owed


class EquivocatingService:
    """Answers `deceived` callers from `forked`, every other caller from `honest`."""

    def __init__(self, honest: PeerService, forked: PeerService, deceived: set[str]) -> None:
        self.honest = honest
        self.forked = forked
        self.deceived = deceived

    def __getattr__(self, method: str) -> Any:
        honest = getattr(self.honest, method)
        forked = getattr(self.forked, method)

        def dispatch(caller: PeerIdentity, request: Any) -> Any:
            service = forked if caller.node_id in self.deceived else honest
            return service(caller, request)

        return dispatch
