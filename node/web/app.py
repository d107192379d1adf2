"""The ASGI app: one FastAPI application per node, pages and JSON API side by side.

`create_app(context)` wires the parts: templates (Jinja2, autoescaped), the translator, the
officer accounts, security (sessions, CSRF, headers) and the routers of each area. Every page is
rendered through `app.state.render`, which adds what every template needs: the language, `t()`,
the officer signed in, the CSRF token. Errors of the project's tree map to pages (or JSON under
/api/) in one place.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ledger.errors import CctnsError, InputError
from node.station.core import Station
from node.web.auth import Accounts
from node.web.i18n import Translator
from node.web.rules import Forbidden
from node.web.security import SecurityHeadersMiddleware, csrf_token, current_officer

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "cctns_lang"

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
    # (zero FIR ref, receiving station's node id, officer_id) -> status message; None on a node
    # with no federation (the command line `cctns peer transfer-zero-fir` is shown instead).
    transfer_zero_fir: Callable[[str, str, str], Awaitable[str]] | None = None
    secure_cookies: bool = False
    data_dir: Path | None = None
    # On district, state and national nodes: the verified replicas' indexes (ReplicaIndexes),
    # so that dashboards cover the office's whole subtree.
    replica_indexes: Any = None


def language(request: Request) -> str:
    """The page language: ?lang=, else the cookie, else English."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "en"
    return wanted if wanted in ("en", "ml") else "en"


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(("html", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(context: WebContext) -> FastAPI:
    """The node's web application."""
    app = FastAPI(
        title="cctns node",
        version="0.1.0",
        description="Crime and Criminal Tracking Network node: records, search, citizen services.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    env = _environment()
    translator = context.translator
    app.state.context = context
    app.state.station = context.station
    app.state.accounts = context.accounts
    app.state.secret = context.secret
    app.state.translator = translator
    app.state.secure_cookies = context.secure_cookies

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
    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        return render(request, "home.html")

    @app.get("/lang/{code}", include_in_schema=False)
    def switch_language(code: str, request: Request) -> Response:
        target = request.query_params.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"  # never redirect off the node
        response = RedirectResponse(target, status_code=303)
        if code in ("en", "ml"):
            response.set_cookie(
                LANG_COOKIE, code, max_age=365 * 86400, samesite="strict", httponly=True
            )
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "node": context.station.config.node_id,
            "entries": context.station.ledger.size(),
        }

    _include_routers(app)
    _error_pages(app, render)
    return app


def _include_routers(app: FastAPI) -> None:
    """Each area of the UI is a router in its own module; absent ones are skipped."""
    import importlib

    for module in (
        "node.web.auth_pages",
        # Before staff: its /petitions and /case pages add casework to the staff ones.
        "node.web.casework_pages",
        "node.web.staff",
        "node.web.citizen",
        "node.web.services_pages",
        "node.web.dashboard",
        "node.web.api",
    ):
        try:
            router = importlib.import_module(module).router
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        app.include_router(router)


def _error_pages(app: FastAPI, render: Callable[..., HTMLResponse]) -> None:
    def page(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        return render(request, "error.html", status_code=status, status=status, message=message)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, 403, str(exc))

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return page(request, 400, str(exc))

    @app.exception_handler(CctnsError)
    async def failed(request: Request, exc: CctnsError) -> Response:
        return page(request, 409, str(exc))
