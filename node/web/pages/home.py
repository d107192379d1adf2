"""The front page, the language switch and the health check.

GET /                 the front page (links by role)
GET /lang/{code}?next=  sets the language cookie ("en" or "ml"), back to `next` on this node
GET /healthz          {"status": "ok", "node": ..., "entries": ...} for probes and tests
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from node.web.deps import LANG_COOKIE, render, station
from node.web.i18n import LANGUAGES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return render(request, "home.html")


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> Response:
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never redirect off the node
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 86400, samesite="strict", httponly=True
        )
    return response


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    node = station(request)
    return {"status": "ok", "node": node.config.node_id, "entries": node.ledger.size()}
