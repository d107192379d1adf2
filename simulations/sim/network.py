"""The simulated network: federation/memory.py's MemoryNetwork, counted and cut by groups.

`SimNetwork` is a MemoryNetwork (every message serialised, carried with its link's latency and
loss, parsed on the other side, errors mapped as over gRPC) that also counts the bytes each link
carries, and can cut a whole group of nodes (a district) off from the rest in one step instead
of one partition per pair (17,000 stations make that millions of pairs).

`EquivocatingService` stands where an office's PeerService stands on the network: it answers
the readers it was told to deceive from a forked log, everyone else from the true one. That is
the misbehaviour a witness policy and gossip must catch; nothing in federation/ knows of it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from federation.interfaces import PeerIdentity
from federation.memory import MemoryNetwork
from federation.service import PeerService


class SimNetwork(MemoryNetwork):
    """A MemoryNetwork that counts bytes per link and cuts groups of nodes off."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bytes: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.calls = 0
        self._group_of: dict[str, str] = {}
        self._cut_groups: set[str] = set()

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
        return super().is_partitioned(a, b)

    async def deliver(
        self, source: str, target: str, method: str, request: bytes
    ) -> bytes | list[bytes]:
        link = (source, target) if source < target else (target, source)
        self.calls += 1
        self.bytes[link] += len(request)
        answer = await super().deliver(source, target, method, request)
        self.bytes[link] += (
            sum(len(part) for part in answer) if isinstance(answer, list) else len(answer)
        )
        return answer


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
