"""What every page and API handler takes from its request, written once: the node's context and
station, the page renderer, the page language and translator, the form, redirects, the worker
thread for blocking station calls, and the guard "an officer of this station".

`WebContext` is what the node gives its web UI (built by `node.runtime`, the composition root);
`create_app` keeps it on `app.state.context` and the rest of the UI reads it only through here.
Must never: keep state between requests, or hand data from one page module to another.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool

from federation.metrics import OfficeStatus
from node.config import Limits
from node.station.core import Station
from node.web.auth import Accounts
from node.web.i18n import LANGUAGES, Translator
from node.web.rules import CaseFacts, Officer, require
from node.web.security import officer_required

__all__ = [
    "LANG_COOKIE",
    "WebContext",
    "blocking",
    "context",
    "form",
    "language",
    "no_store",
    "not_found",
    "redirect",
    "render",
    "require_this_station",
    "station",
    "station_officer",
    "t",
]

LANG_COOKIE = "cctns_lang"
T = TypeVar("T")

FederatedSearch = Callable[[str, str, str], Awaitable[Any]]


@dataclass
class WebContext:
    """What the web UI needs from the node it runs in."""

    station: Station
    accounts: Accounts
    translator: Translator = field(default_factory=Translator)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # (kind, query, officer_id) -> FederatedSearchResult; None on a node with no federation.
    federated_search: FederatedSearch | None = None
    # (probe image, officer_id, case_ref, purpose) -> FederatedSearchResult: a search by photo
    # asked of the offices this node knows (node/web/pages/photos.py); None with no federation.
    federated_face_search: Callable[[bytes, str, str, str], Awaitable[Any]] | None = None
    # (zero FIR ref, receiving station's node id, officer_id) -> status message; None on a node
    # with no federation (the command line `cctns peer transfer-zero-fir` is shown instead).
    transfer_zero_fir: Callable[[str, str, str], Awaitable[str]] | None = None
    # (FIR number, the transfer order, officer_id) -> status message: a case's investigation
    # transferred to another unit (node/peers/clients.py hand_over_case); None on a node with
    # no federation (the command line `cctns case transfer` is shown instead).
    transfer_case: Callable[[str, Any, str], Awaitable[str]] | None = None
    secure_cookies: bool = False
    data_dir: Path | None = None
    # On district, state and national nodes: the verified replicas' indexes (ReplicaIndexes),
    # so that dashboards cover the office's whole subtree.
    replica_indexes: Any = None
    # The portal's and sign-in's rate limits (node.toml [limits]; `node.web.throttle`).
    limits: Limits = field(default_factory=Limits)
    # The node's Prometheus registry (`node.metrics`), served at GET /metrics; None: no metrics.
    metrics: CollectorRegistry | None = None
    # The offices under this node, attention first (`federation.metrics.office_statuses`), for
    # the staff page /network; None on a node that holds no replicas and keeps no directory.
    offices: Callable[[], list[OfficeStatus]] | None = None
    # The offices this station sits under, nearest first (its directory); None: none known.
    offices_above: Callable[[], tuple[str, ...]] | None = None


# -- the node ------------------------------------------------------------------------------------


def context(request: Request) -> WebContext:
    """The node's web context."""
    found: WebContext = request.app.state.context
    return found


def station(request: Request) -> Station:
    """The station whose records this node's UI shows."""
    return context(request).station


# -- language and pages --------------------------------------------------------------------------


def language(request: Request) -> str:
    """The page language: ?lang=, else the cookie, else English."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "en"
    return wanted if wanted in LANGUAGES else "en"


def t(request: Request, key: str, **params: Any) -> str:
    """The catalog text `key` in the page language (for text made outside a template)."""
    return context(request).translator.t(language(request), key, **params)


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    """A page from `template`, with what every page has (`node.web.app` makes the renderer)."""
    page: Callable[..., HTMLResponse] = request.app.state.render
    return page(request, template, status_code=status_code, **values)


def no_store(response: Response) -> Response:
    """`response`, marked never to be cached (a citizen's answers, a TOTP secret, figures)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found(request: Request, message: str) -> Response:
    """The error page, 404."""
    return render(request, "error.html", status_code=404, status=404, message=message)


def redirect(path: str, **params: str) -> RedirectResponse:
    """303 to `path` (a saved form's answer: a reload never writes twice); empty params left out."""
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


async def form(request: Request) -> dict[str, str]:
    """The text fields of a submitted form, stripped, without the CSRF token (the last value of
    a repeated name wins)."""
    submitted = await request.form()
    return {
        k: v.strip() for k, v in submitted.multi_items() if isinstance(v, str) and k != "csrf_token"
    }


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking call (the station's commands and reads: RocksDB, the index) in a worker
    thread, so that an async handler does not stall the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


# -- who may ---------------------------------------------------------------------------------------


def station_facts(request: Request, io_officer_id: str = "") -> CaseFacts:
    """A case of this station as the rules see it: the station's node id, the case's
    investigating officer, and the offices the station sits under (its directory)."""
    ctx = context(request)
    above = ctx.offices_above() if ctx.offices_above is not None else ()
    return CaseFacts(
        station_node_id=ctx.station.config.node_id,
        io_officer_id=io_officer_id,
        offices_above=above,
    )


def require_this_station(officer: Officer, action: str, request: Request) -> None:
    """Refuses (Forbidden) an officer whose jurisdiction does not cover this station: another
    station's officer, a supervisor of another district. The node's own administrator (whose
    account exists only on this node) is not bound to a station."""
    if officer.role == "node_admin":
        return
    require(officer, action, station_facts(request))


def station_officer(action: str) -> Callable[[Request], Officer]:
    """A FastAPI dependency: the signed-in officer, if their role may do `action` and this
    station lies within their jurisdiction (another station's officer is refused, 403)."""
    signed_in = officer_required(action)

    def dependency(request: Request) -> Officer:
        officer = signed_in(request)
        require_this_station(officer, action, request)
        return officer

    return dependency
