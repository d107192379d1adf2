"""Fan-out: one question to many nodes at once, each under its own deadline.

`fan_out` runs one task per peer in a trio nursery. Every peer ends up in exactly one of
`answers` or `unanswered`; an unanswered peer is named with a reason:
- "timeout": no answer within the deadline (slow, or a message lost on the way: from the
  asker's side the two look the same, so both are reported as a timeout);
- "unavailable": the peer refused the connection or said it cannot answer now;
- "refused": the peer does not accept the asker, or the asker is not entitled to the answer;
- "error": the peer answered with an error or with something that did not verify.
`details` holds the message for each unanswered peer. Nothing is ever silently dropped.

`federated_search` is the station's search over a set of nodes (a district, the state): it
merges the hits of every answer (best score first, each keeping the office that wrote it),
collects how fresh each part is, checks receipts when given a verifier, and names the peers
that did not answer. Given a witness check, it holds every verified answer to the reader's
witness policy and to the checkpoints seen before (federation/seen.py), within the same
deadline: an answer that fails is kept and flagged (`witness`), never silently accepted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

import trio

from federation.interfaces import PeerClient
from federation.witness import AnswerCheck, WitnessVerdict
from ledger.errors import (
    AuthenticationError,
    CctnsError,
    InputError,
    NotPermitted,
    PeerUnavailable,
    VerificationError,
)
from protos import federation_pb2

__all__ = [
    "REASONS",
    "FanOutResult",
    "FederatedSearchResult",
    "SearchVerifier",
    "fan_out",
    "federated_search",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
REASONS: Final = ("timeout", "unavailable", "refused", "error")
# The share of a fan-out's deadline kept for the answer when a witness check runs after it.
_ANSWER_MARGIN: Final = 0.1
# Checks one peer's search answer (e.g. its receipt with federation.verify.verify_receipt);
# called with the peer's node id and its response; raises VerificationError to reject it.
SearchVerifier = Callable[[str, federation_pb2.SearchResponse], object]
# Holds one peer's verified answer to the witness policy and the checkpoints seen before: called
# with the peer's client, its response and what the verifier returned (federation/seen.py).
WitnessCheck = Callable[[PeerClient, federation_pb2.SearchResponse, object], Awaitable[AnswerCheck]]


@dataclass(slots=True)
class FanOutResult(Generic[T]):
    """Answers by node id, and every peer that did not answer with why."""

    answers: dict[str, T] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)  # node id -> one of REASONS
    details: dict[str, str] = field(default_factory=dict)  # node id -> what happened

    @property
    def complete(self) -> bool:
        """Whether every peer answered."""
        return not self.unanswered


async def fan_out(
    clients: Sequence[PeerClient],
    call: Callable[[PeerClient], Awaitable[T]],
    *,
    deadline: float,
) -> FanOutResult[T]:
    """Calls `call(client)` for every client at once, each under `deadline` seconds.

    The caller's `call` should pass the same deadline as its timeout to the client. Answers and
    unanswered peers are listed in the order of `clients`.
    """
    if not deadline > 0 or math.isinf(deadline) or math.isnan(deadline):
        raise InputError(f"a fan-out deadline must be a positive number of seconds: {deadline!r}")
    ids = [client.node_id for client in clients]
    if len(set(ids)) != len(ids):
        raise InputError("a fan-out names one peer more than once")
    answers: dict[str, T] = {}
    unanswered: dict[str, tuple[str, str]] = {}

    async def ask(client: PeerClient) -> None:
        node_id = client.node_id
        started = trio.current_time()
        try:
            with trio.fail_after(deadline):
                answers[node_id] = await call(client)
        except trio.TooSlowError:
            unanswered[node_id] = ("timeout", f"no answer within {deadline:g} s")
        except PeerUnavailable as exc:
            # A transport that gives up at the deadline says "unavailable": it was a timeout.
            timed_out = trio.current_time() - started >= deadline
            unanswered[node_id] = ("timeout" if timed_out else "unavailable", str(exc))
        except (AuthenticationError, NotPermitted) as exc:
            unanswered[node_id] = ("refused", str(exc))
        except CctnsError as exc:
            unanswered[node_id] = ("error", str(exc))
        except Exception as exc:
            # One peer's unexpected failure must not lose every other peer's answer.
            log.warning("fan-out call to %s failed", node_id, exc_info=True)
            unanswered[node_id] = ("error", f"{type(exc).__name__}: {exc}")

    async with trio.open_nursery() as nursery:
        for client in clients:
            nursery.start_soon(ask, client)
    result: FanOutResult[T] = FanOutResult()
    for node_id in ids:
        if node_id in answers:
            result.answers[node_id] = answers[node_id]
        else:
            result.unanswered[node_id], result.details[node_id] = unanswered[node_id]
    return result


@dataclass(frozen=True, slots=True)
class FederatedSearchResult:
    """A search over many nodes: merged hits, freshness per answering node, who did not answer.

    Each hit keeps `origin` (the office that wrote the record); `answered_by` names the node
    whose answer it came from (the owner itself, or an aggregating node's replica).
    """

    hits: tuple[tuple[str, federation_pb2.SearchHit], ...]  # (answered_by, hit), best first
    freshness: dict[str, tuple[federation_pb2.Freshness, ...]]  # answered_by -> freshness
    receipts: dict[str, federation_pb2.ProvenEntry]  # answered_by -> signed audit receipt
    unanswered: dict[str, str]
    details: dict[str, str]
    # answered_by -> the answer's witness verdict and consistency (with a witness check)
    witness: dict[str, AnswerCheck] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every node asked answered (and verified)."""
        return not self.unanswered

    @property
    def flagged(self) -> dict[str, str]:
        """The answering nodes whose answer failed the witness policy or consistency, and why."""
        return {node: check.reason for node, check in self.witness.items() if not check.ok}


async def federated_search(
    clients: Sequence[PeerClient],
    request: federation_pb2.SearchRequest,
    *,
    deadline: float,
    verify: SearchVerifier | None = None,
    witness: WitnessCheck | None = None,
) -> FederatedSearchResult:
    """Asks every client the same search; merges what comes back within the deadline.

    With `verify`, an answer whose check raises VerificationError is not used: its peer is
    named unanswered with reason "error". With `witness` (which needs `verify`), every
    verified answer is also held to the witness policy: the verdict is in `witness`, the
    answer kept. The same record found through two nodes (its owner and a replica) is listed
    once, from the answer with the best score.
    """

    async def ask(
        client: PeerClient,
    ) -> tuple[federation_pb2.SearchResponse, AnswerCheck | None]:
        # The witness check must not cost the answer itself: it gets what is left of the
        # deadline but a margin, and an unfinished check is reported as such.
        check_by = trio.current_time() + deadline * (1 - _ANSWER_MARGIN)
        response = await client.search(request, timeout=deadline)
        if verify is None:
            return response, None
        try:
            verified = verify(client.node_id, response)
        except VerificationError as exc:
            raise VerificationError(f"the answer does not verify: {exc}") from exc
        if witness is None:
            return response, None
        with trio.move_on_at(check_by):
            return response, await witness(client, response, verified)
        unchecked = WitnessVerdict(False, "the witness check did not finish within the deadline")
        return response, AnswerCheck(client.node_id, unchecked, "unchecked")

    result = await fan_out(clients, ask, deadline=deadline)
    unanswered = dict(result.unanswered)
    details = dict(result.details)
    accepted = {node_id: answer[0] for node_id, answer in result.answers.items()}
    checks = {
        node_id: answer[1] for node_id, answer in result.answers.items() if answer[1] is not None
    }
    best: dict[tuple[str, str, int, str], tuple[str, federation_pb2.SearchHit]] = {}
    for node_id, response in accepted.items():
        for hit in response.hits:
            key = (hit.origin, hit.ref, hit.index, hit.title)
            if key not in best or hit.score > best[key][1].score:
                best[key] = (node_id, hit)
    merged = sorted(best.values(), key=lambda item: (-item[1].score, item[1].origin, item[1].index))
    if request.limit:
        merged = merged[: request.limit]
    order = [client.node_id for client in clients]
    return FederatedSearchResult(
        hits=tuple(merged),
        freshness={n: tuple(accepted[n].freshness) for n in order if n in accepted},
        receipts={n: accepted[n].receipt for n in order if n in accepted},
        unanswered={n: unanswered[n] for n in order if n in unanswered},
        details={n: details[n] for n in order if n in details},
        witness={n: checks[n] for n in order if n in checks},
    )
