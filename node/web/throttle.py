"""The web UI's rate limits (node.toml [limits], `node.config.Limits`), counted by
`federation.quota`: the citizens' portal per client and in total, and sign-in per client.

    submissions  POST /citizen/complaint (complaints, e-FIRs, missing persons),
                 POST /citizen/request, POST /citizen/grievance
    lookups      POST /citizen/status and GET /api/status/{receipt} (one budget for both)
    fir_copies   POST /citizen/fir-copy
    sign-in      POST /login, /login/totp, /account/totp-setup: every attempt from a client is
                 counted before it is checked, and the failures from a client after

Over a limit the request is answered 429 with Retry-After (`RateLimited`, mapped by
`node.web.errors`) before anything else is done: no CSRF check, no lookup, nothing written.
A portal request counts against its client's budget first and then against the total, so one
client refused does not spend what everyone shares. Staff pages and the officers' API count
against nothing here: a flood of the portal refuses citizens, never officers at work.

Sign-in is throttled per client, not per account: an outsider trying passwords is slowed down
wherever he aims, while each account's own lock (`node.web.auth`) stays short (15 minutes), so
he cannot keep an officer out for good. Failures are counted after the fact (`Quota.count`):
officers signing in rightly spend only the attempts budget, which is wide enough for a station
whose officers share one address.

A client is the address the connection comes from; an IPv6 address is counted by its /64 (one
subscriber holds the whole /64). Behind a reverse proxy every request would come from the
proxy: run the node's web UI facing the network, or give the proxy its own limits.

Must never: count an officer's staff page or API call against the portal's budget.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from federation.quota import Quota, new_limiter
from ledger.errors import UsageError
from node.config import Limits

__all__ = [
    "FIR_COPIES",
    "LOOKUPS",
    "SUBMISSIONS",
    "PortalBudget",
    "Throttle",
    "client_address",
    "portal_limit",
    "sign_in_attempt",
    "sign_in_failed",
    "throttle",
]

SUBMISSIONS = "submissions"
LOOKUPS = "lookups"
FIR_COPIES = "fir_copies"
_EVERYONE = "*"


@dataclass(frozen=True, slots=True)
class PortalBudget:
    """One kind of portal request: its limit per client and its limit in total."""

    per_client: Quota
    total: Quota

    def spend(self, client: str) -> None:
        """Counts one request of `client`, or raises RateLimited."""
        self.per_client.spend(client)
        self.total.spend(_EVERYONE)


class Throttle:
    """Every rate limit of one web app, counted in one limiter (in this process's memory)."""

    def __init__(self, limits: Limits) -> None:
        limiter = new_limiter()

        def budget(kind: str, what: str, per_client: str, total: str) -> PortalBudget:
            return PortalBudget(
                Quota(per_client, f"portal.{kind}", f"too many {what} from your address", limiter),
                Quota(
                    total,
                    f"portal.{kind}.total",
                    f"the portal is receiving too many {what} just now",
                    limiter,
                ),
            )

        self.portal = {
            SUBMISSIONS: budget(
                SUBMISSIONS,
                "complaints and requests",
                limits.portal_submissions,
                limits.portal_submissions_total,
            ),
            LOOKUPS: budget(
                LOOKUPS, "status lookups", limits.portal_lookups, limits.portal_lookups_total
            ),
            FIR_COPIES: budget(
                FIR_COPIES,
                "FIR copy requests",
                limits.portal_fir_copies,
                limits.portal_fir_copies_total,
            ),
        }
        self.sign_in_attempts = Quota(
            limits.login_attempts_per_client,
            "login.attempts",
            "too many sign-in attempts from your address",
            limiter,
        )
        self.sign_in_failures = Quota(
            limits.login_failures_per_client,
            "login.failures",
            "too many failed sign-ins from your address",
            limiter,
        )


def throttle(request: Request) -> Throttle:
    """The app's rate limits (`create_app` keeps them on `app.state.throttle`)."""
    found: Throttle = request.app.state.throttle
    return found


def client_address(request: Request) -> str:
    """Whom a request is counted against: its address, an IPv6 address by its /64."""
    host = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def portal_limit(kind: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency for a portal route of `kind` (SUBMISSIONS, LOOKUPS, FIR_COPIES):
    counts the request, or refuses it with 429 before anything else runs."""
    if kind not in (SUBMISSIONS, LOOKUPS, FIR_COPIES):
        raise UsageError(f"no portal budget {kind!r}")  # a typo fails when the route is defined

    async def dependency(request: Request) -> None:
        throttle(request).portal[kind].spend(client_address(request))

    return dependency


async def sign_in_attempt(request: Request) -> None:
    """A FastAPI dependency for every sign-in step: 429 when the client has no failures left
    or has made too many attempts; otherwise the attempt is counted."""
    limits = throttle(request)
    client = client_address(request)
    limits.sign_in_failures.check(client)
    limits.sign_in_attempts.spend(client)


def sign_in_failed(request: Request) -> None:
    """Counts a failed sign-in step (wrong password or code, a locked account) of the client."""
    throttle(request).sign_in_failures.count(client_address(request))
