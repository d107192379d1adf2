"""The web UI's guards: session cookies, the officer of a request, CSRF, security headers.

Starlette only (FastAPI for the dependency signatures). The app provides
`app.state.accounts` (a `node.web.auth.Accounts`), `app.state.secret` (bytes or str, the key that
signs anonymous CSRF tokens) and may set `app.state.secure_cookies` (True/False; when unset the
Secure flag follows the request's scheme, so http://127.0.0.1 tests work). `LoginRequired` is an
HTTPException: a 303 to /login for pages, 401 for /api/. `Forbidden` (from the rules) is 403;
both are answered by the web boundary's one error mapping (`node.web.errors`).

CSRF: every state-changing POST depends on `csrf_protected`. A logged-in officer's token is their
session's; during a login it is the pending login's; an anonymous visitor (a citizen's form, the
login form) gets a signed double-submit token: a random nonce in an HttpOnly SameSite=Strict
cookie, and the form carries the nonce signed with the app secret.

Must never: accept a state-changing request without a CSRF check; put a session id anywhere but
an HttpOnly cookie; let a rules refusal through as anything but 403.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.web.auth import Accounts, PendingLogin, Session
from node.web.rules import Forbidden, Officer, allowed, check_action

SESSION_COOKIE = "cctns_session"
LOGIN_COOKIE = "cctns_login"  # the pending login between password and TOTP code
CSRF_COOKIE = "cctns_csrf"  # the anonymous double-submit nonce
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_MAX_AGE_S = 2 * 60 * 60
SESSION_COOKIE_MAX_AGE_S = 12 * 60 * 60
LOGIN_COOKIE_MAX_AGE_S = 5 * 60
# The most fields a submitted form may have (Starlette's default is 1,000); the request body
# is bounded first (node.records.limits.MAX_REQUEST_BYTES).
MAX_FORM_FIELDS = 2_000
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
_CSRF_REFUSED = "the form has expired or did not come from this site: reload the page and retry"
# Keys on request.state (cached per request).
_SESSION_KEY = "cctns_session"
_OFFICER_KEY = "cctns_officer"
_NEW_NONCE_KEY = "cctns_csrf_nonce"


class LoginRequired(HTTPException):
    """The request needs a logged-in officer and has none: 303 to /login, or 401 for /api/."""

    def __init__(self, request: Request) -> None:
        if is_api(request):
            super().__init__(401, "login required")
            return
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='/')}"
        super().__init__(303, "login required", headers={"Location": location})


# -- the request's officer ---------------------------------------------------------------------


def accounts(request: Request) -> Accounts:
    """The app's account store."""
    store: Accounts = request.app.state.accounts
    return store


def current_session(request: Request) -> Session | None:
    """The request's live session (looked up once per request). Blocking: a DB read."""
    state = request.state
    if not hasattr(state, _SESSION_KEY):
        session_id = request.cookies.get(SESSION_COOKIE, "")
        setattr(state, _SESSION_KEY, accounts(request).session(session_id) if session_id else None)
    session: Session | None = getattr(state, _SESSION_KEY)
    return session


def current_officer(request: Request) -> Officer | None:
    """The officer logged in on this request, or None. Blocking: a DB read."""
    state = request.state
    if not hasattr(state, _OFFICER_KEY):
        session = current_session(request)
        officer = None if session is None else accounts(request).officer(session.officer_id)
        if officer is not None and officer.disabled:
            officer = None
        setattr(state, _OFFICER_KEY, officer)
    result: Officer | None = getattr(state, _OFFICER_KEY)
    return result


def current_pending(request: Request) -> PendingLogin | None:
    """The pending login (password checked, second factor to come), or None."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return accounts(request).pending(token) if token else None


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (answers JSON, never redirects)."""
    return request.url.path.startswith("/api/")


def officer_required(action: str) -> Callable[[Request], Officer]:
    """A FastAPI dependency: the logged-in officer, if their role may do `action`.

    No officer: LoginRequired (303 to /login for pages, 401 for /api/). A role that may not:
    Forbidden (403). Case-level rules are the handler's: once it has the case it calls
    `rules.require(officer, action, case=CaseFacts(...))`.
    """
    check_action(action)  # a typo fails when the route is defined, not when it is used

    def dependency(request: Request) -> Officer:
        # A sync dependency: FastAPI runs it in a worker thread, so the DB read does not block.
        officer = current_officer(request)
        if officer is None:
            raise LoginRequired(request)
        if not allowed(officer, action):
            raise Forbidden(
                f"{officer.officer_id}: the role {officer.role!r} may not do {action!r}"
            )
        return officer

    return dependency


# -- cookies -----------------------------------------------------------------------------------


def _secure(request: Request) -> bool:
    return _secure_scope(request.scope)


def _secure_scope(scope: Scope) -> bool:
    app = scope.get("app")
    configured = getattr(getattr(app, "state", None), "secure_cookies", None)
    return scope.get("scheme") == "https" if configured is None else bool(configured)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age_s: int) -> None:
    """Sets one of our cookies: HttpOnly, SameSite=Strict, Secure as configured, path /."""
    response.set_cookie(
        name,
        value,
        max_age=max_age_s,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Deletes one of our cookies."""
    response.delete_cookie(
        name, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )


# -- CSRF --------------------------------------------------------------------------------------


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="cctns-csrf")


def csrf_token(request: Request) -> str:
    """The token to put in this page's forms (hidden field `csrf_token`). Blocking: a DB read.

    Anonymous visitors get a fresh nonce cookie if they have none; `SecurityHeadersMiddleware`
    sets it on the response.
    """
    session = current_session(request)
    if session is not None:
        return session.csrf_token
    pending = current_pending(request)
    if pending is not None:
        return pending.csrf_token
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, _NEW_NONCE_KEY, None)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
        setattr(request.state, _NEW_NONCE_KEY, nonce)
    token: str = _serializer(request).dumps(nonce)
    return token


def verify_csrf(request: Request, form_token: str | None) -> None:
    """Raises Forbidden unless `form_token` is this visitor's CSRF token. Blocking: a DB read."""
    if not form_token:
        raise Forbidden(_CSRF_REFUSED)
    session = current_session(request)
    if session is not None:
        expected: str | None = session.csrf_token
    else:
        pending = current_pending(request)
        expected = None if pending is None else pending.csrf_token
    if expected is not None:
        if not hmac.compare_digest(form_token.encode(), expected.encode()):
            raise Forbidden(_CSRF_REFUSED)
        return
    nonce = request.cookies.get(CSRF_COOKIE, "")
    try:
        signed = _serializer(request).loads(form_token, max_age=CSRF_MAX_AGE_S)
    except BadSignature as exc:
        raise Forbidden(_CSRF_REFUSED) from exc
    if not (
        nonce and isinstance(signed, str) and hmac.compare_digest(signed.encode(), nonce.encode())
    ):
        raise Forbidden(_CSRF_REFUSED)


async def csrf_protected(request: Request) -> None:
    """A FastAPI dependency for every state-changing POST: checks the form field `csrf_token`
    or the `X-CSRF-Token` header, 403 otherwise."""
    token = request.headers.get(CSRF_HEADER)
    if not token:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            # Cached: the handler reads the same form. Room for the FIR form at its limits
            # (100 persons and 100 property items, about 1,500 fields); the body is bounded.
            form = await request.form(max_fields=MAX_FORM_FIELDS)
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    await run_in_threadpool(verify_csrf, request, token)


# -- middleware ----------------------------------------------------------------


class SecurityHeadersMiddleware:
    """Pure ASGI middleware: adds the security headers to every HTTP response (unless the
    response set its own), and the anonymous CSRF nonce cookie when a page issued one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # request.state lives in scope["state"]; make sure it is one dict we can read back.
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
                nonce = state.get(_NEW_NONCE_KEY)
                if nonce:
                    secure = _secure_scope(scope)
                    cookie = (
                        f"{CSRF_COOKIE}={nonce}; Path=/; Max-Age={CSRF_MAX_AGE_S}; HttpOnly; "
                        "SameSite=Strict" + ("; Secure" if secure else "")
                    )
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)
