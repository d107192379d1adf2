"""The trio loop that keeps one replica following its child: poll, back off, never give up.

Store-and-forward falls out of pull replication: while the link is down the child keeps
appending to its own log; every round here starts from what the replica holds, so the first
round after the link returns fetches exactly what was missed. All decisions are in
federation/replication.py; this module only schedules rounds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import trio

from federation.interfaces import PeerClient
from federation.replication import (
    DEFAULT_CHUNK,
    DEFAULT_TIMEOUT,
    Progress,
    ReplicaFollower,
    follow_once,
)
from ledger.errors import PeerError, PeerUnavailable, VerificationError

log = logging.getLogger(__name__)

MAX_BACKOFF: Final = 300.0


async def follow_forever(
    follower: ReplicaFollower,
    client: PeerClient,
    *,
    poll_interval: float = 10.0,
    max_backoff: float = MAX_BACKOFF,
    chunk: int = DEFAULT_CHUNK,
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: Callable[[Progress], None] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Runs replication rounds until cancelled.

    After a round that moved the replica, the next starts at once (a long catch-up is many
    rounds of bounded work); after an idle round it waits `poll_interval`. An unreachable child
    or a wrong answer doubles the wait up to `max_backoff`. A quarantined replica is left alone
    (polling it would only collect the same evidence) until an operator clears it.
    """
    task_status.started()
    backoff = poll_interval
    while True:
        try:
            progress = await follow_once(
                follower, client, chunk=chunk, timeout=timeout, max_entries=16 * chunk
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
            if progress.fetched:
                backoff = poll_interval
                await trio.lowlevel.checkpoint()
                continue
            backoff = poll_interval
            await trio.sleep(poll_interval)
            continue
        await trio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
