"""Rate limits and quotas: how often one caller may ask, counted by the `limits` library.

A `Quota` is one limit as `limits` writes it, "60/minute;1800/hour" (every window must have
room), counted per key (a peer's node id, a client's address, "*" for all callers together) in
moving windows kept in the process's memory. `spend(key)` counts one request or raises
`RateLimited` with the seconds until one more fits; `check(key)` only asks; `count(key)` counts
what has already happened (a failed sign-in) without refusing anything.

The peer service keeps a quota per peer on its audited calls; the web UI keeps the portal's
limits and the sign-in throttles. This module is the lowest layer both reach (`node.config`
checks the limits written in node.toml with `parse_limit`).

Moving windows rather than fixed ones: a fixed window lets a caller spend two windows' worth
across a boundary (the end of one minute and the start of the next). Memory rather than a
shared store: one node is one process, and its limits are its own.

Must never: let a refused request do anything; share one counter between two quotas (every
quota counts under its own name).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from federation.metrics import RATE_LIMIT_REFUSALS
from ledger.errors import InputError, RateLimited

__all__ = ["Limiter", "Quota", "new_limiter", "parse_limit"]

Limiter = MovingWindowRateLimiter


def new_limiter() -> Limiter:
    """A limiter with its own counters in memory (thread-safe: one lock per key)."""
    return MovingWindowRateLimiter(MemoryStorage())


def parse_limit(spec: str) -> list[RateLimitItem]:
    """The windows of `spec` ("5/minute;30/hour"); InputError when it is no such limit."""
    try:
        items = parse_many(spec) if spec.strip() else []
    except ValueError:
        items = []
    if not items or any(item.amount < 1 for item in items):
        raise InputError(
            f"{spec!r} is not a rate limit: write e.g. '5/minute;30/hour' "
            "(a positive number per second, minute, hour or day; ';' between windows)"
        )
    return items


class Quota:
    """One limit, counted per key. `name` keeps its counters apart from every other quota's;
    `refusal` begins the message of its RateLimited ("too many complaints from your address")."""

    def __init__(self, spec: str, name: str, refusal: str, limiter: Limiter | None = None) -> None:
        self.spec = spec
        self.name = name
        self.refusal = refusal
        self._items = parse_limit(spec)
        self._limiter = limiter if limiter is not None else new_limiter()

    def spend(self, key: str) -> None:
        """Counts one request of `key`; RateLimited (and nothing counted in the full window)
        when a window has no room left."""
        for item in self._items:
            if not self._limiter.hit(item, self.name, key):
                raise self._refused(item, key)

    def check(self, key: str) -> None:
        """RateLimited when `key` has no room left in some window; counts nothing."""
        for item in self._items:
            if not self._limiter.test(item, self.name, key):
                raise self._refused(item, key)

    def count(self, key: str) -> None:
        """Counts one event of `key` in every window that has room (refusing nothing)."""
        for item in self._items:
            self._limiter.hit(item, self.name, key)

    def _refused(self, item: RateLimitItem, key: str) -> RateLimited:
        RATE_LIMIT_REFUSALS.labels(self.name).inc()
        reset_at = self._limiter.get_window_stats(item, self.name, key).reset_time
        wait = max(1, math.ceil(reset_at - time.time()))
        return RateLimited(f"{self.refusal} (at most {item}): try again in {wait} s", wait)
