"""The ASGI app: one FastAPI application per node, pages and JSON API side by side.

`create_app(context)` wires the parts: templates (Jinja2, autoescaped), the translator, the
officer accounts, security (sessions, CSRF, headers), the error mapping (`node.web.errors`) and
the routers of every area, named in one list (`ROUTERS`). Every page is rendered through
`app.state.render`, which adds what every template needs: the language, `t()`, the officer
signed in, the CSRF token, the station, date and number formats, and the record URLs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CollectorRegistry

from node.config import Metrics
from node.records import limits
from node.web import errors
from node.web.deps import WebContext, language
from node.web.forms import PORTAL_LIMITS
from node.web.pages import (
    api,
    auth,
    cases,
    citizen,
    dashboard,
    duty,
    fingerprints,
    history_sheets,
    home,
    linkage,
    metrics,
    network,
    photos,
    processes,
    register_exports,
    registers,
    reports,
    search,
    services,
    similar_cases,
    statistics,
    transfers,
    watch,
)
from node.web.request_size import RequestSizeMiddleware
from node.web.security import SecurityHeadersMiddleware, csrf_token, current_officer
from node.web.throttle import Throttle
from node.web.urls import case_url, pdf_url

__all__ = ["ROUTERS", "create_app", "create_metrics_app"]

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Every area of the UI, each a router of its own module (node.web.pages).
ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    auth.router,
    registers.router,
    register_exports.router,
    cases.router,
    transfers.router,
    search.router,
    citizen.router,
    services.router,
    dashboard.router,
    statistics.router,
    processes.router,
    history_sheets.router,
    similar_cases.router,
    linkage.router,
    photos.router,
    fingerprints.router,
    duty.router,
    reports.router,
    watch.router,
    network.router,
    metrics.router,
    api.router,
)

DESCRIPTION = """\
Crime and Criminal Tracking Network node: records, search, citizen services.

Every error under /api/ answers one JSON shape, with the HTTP status repeated:
`{"error": {"status": 404, "message": "no matching record", "problems": []}}`.
`problems` lists each bad input (400) or each invalid parameter (422), else it is empty.
401: no officer session; 403: the officer may not; 409: a record did not verify;
429: over a rate limit (the `Retry-After` header gives the seconds to wait);
502: another node failed; 503: the node's storage is unavailable.
"""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The table of limits, for maxlength attributes and "at most N characters" messages.
    env.globals.update(
        case_url=case_url, pdf_url=pdf_url, limit=limits.text, portal_limits=PORTAL_LIMITS
    )
    return env


def create_app(context: WebContext) -> FastAPI:
    """The node's web application."""
    app = FastAPI(
        title="cctns node",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    env = _environment()
    translator = context.translator
    app.state.context = context
    # What `node.web.security` reads.
    app.state.accounts = context.accounts
    app.state.secret = context.secret
    app.state.secure_cookies = context.secure_cookies
    app.state.throttle = Throttle(context.limits)
    # What `node.web.pages.metrics` reads.
    app.state.metrics = context.metrics
    app.state.metrics_allow = context.station.config.metrics

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        lang = language(request)

        def t(key: str, **params: Any) -> str:
            return translator.t(lang, key, **params)

        html = env.get_template(name).render(
            request=request,
            lang=lang,
            t=t,
            officer=current_officer(request),
            csrf_token=csrf_token(request),
            station=context.station.config,
            fmt_datetime=lambda ms: translator.format_datetime(lang, ms) if ms else "",
            fmt_date=lambda ms: translator.format_date(lang, ms) if ms else "",
            fmt_number=lambda n: translator.format_number(lang, n),
            **values,
        )
        return HTMLResponse(html, status_code=status_code)

    app.state.render = render
    # Added first, so it runs inside the security headers: a 413 carries them too.
    app.add_middleware(RequestSizeMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    return app


def create_metrics_app(registry: CollectorRegistry, allow: Metrics) -> FastAPI:
    """GET /metrics alone, for `cctns node serve --metrics HOST:PORT` (a node without its web
    UI): the same handler, the same allow list."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.metrics = registry
    app.state.metrics_allow = allow
    app.include_router(metrics.router)
    return app
