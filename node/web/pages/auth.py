"""Officer login pages: password, then the authenticator code; first-time TOTP setup; logout.

    GET/POST /login              officer id + password      -> pending login (cookie cctns_login)
    GET/POST /login/totp         6-digit code               -> session (cookie cctns_session)
    GET/POST /account/totp-setup first login: show the secret, confirm one code -> session
    POST     /logout

Handlers are plain `def`: FastAPI runs them in worker threads, so argon2 and the accounts
database never block the event loop. Every POST depends on `csrf_protected`, and every
sign-in step then on `sign_in_attempt`, the client's throttle (`node.web.throttle`: 429 over
it); a step that fails (a wrong password or code, a locked account) is counted against the
client. Texts are translation keys (see `i18n_auth.json`); no page here is cached
(`Cache-Control: no-store`).

Must never: redirect off the node (`next` is a local path or "/"), or let a page holding the
TOTP secret be cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from node.web.auth import MAX_PASSWORD, LoginFailed, Session, clock_time
from node.web.deps import no_store, redirect, render
from node.web.security import (
    CSRF_HEADER,
    LOGIN_COOKIE,
    LOGIN_COOKIE_MAX_AGE_S,
    SESSION_COOKIE,
    SESSION_COOKIE_MAX_AGE_S,
    accounts,
    clear_cookie,
    csrf_protected,
    current_officer,
    current_pending,
    current_session,
    set_cookie,
    verify_csrf,
)
from node.web.throttle import sign_in_attempt, sign_in_failed

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)

OfficerIdField = Annotated[str, Form(max_length=64)]
PasswordField = Annotated[str, Form(max_length=MAX_PASSWORD)]
CodeField = Annotated[str, Form(max_length=16)]
NextField = Annotated[str, Form(max_length=2000)]
CsrfField = Annotated[str, Form(max_length=200)]


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this node, else "/" (no open redirects)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return "/"
    return target


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    return no_store(render(request, template, status_code, **context))


def _redirect(target: str) -> Response:
    return no_store(redirect(target))


# Failed steps a client is throttled for: not an expired login or a step taken out of turn.
_CLIENT_FAILURES = ("credentials", "code", "locked")
_SIGN_IN = [Depends(csrf_protected), Depends(sign_in_attempt)]


def _failed(request: Request, exc: LoginFailed) -> None:
    if exc.reason in _CLIENT_FAILURES:
        sign_in_failed(request)


def _error(exc: LoginFailed) -> dict[str, str]:
    time = clock_time(exc.locked_until_ms) if exc.locked_until_ms else ""
    return {"error_key": f"login.error.{exc.reason}", "error_time": time}


def _logged_in(request: Request, session: Session, target: str) -> Response:
    response = _redirect(safe_next(target))
    set_cookie(request, response, SESSION_COOKIE, session.id, SESSION_COOKIE_MAX_AGE_S)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


def _back_to_login(request: Request, exc: LoginFailed, target: str) -> Response:
    response = _page(
        request, "login.html", 401, next=safe_next(target), officer_id="", **_error(exc)
    )
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The officer id and password form."""
    if current_officer(request) is not None:
        return _redirect(safe_next(next))
    return _page(request, "login.html", next=safe_next(next), officer_id="", error_key="")


@router.post("/login", dependencies=_SIGN_IN)
def login(
    request: Request,
    officer_id: OfficerIdField = "",
    password: PasswordField = "",
    next: NextField = "/",
) -> Response:
    """Checks the password; on success, on to the code (or to first-time setup)."""
    target = safe_next(next)
    try:
        pending = accounts(request).begin_login(officer_id.strip(), password)
    except LoginFailed as exc:
        _failed(request, exc)
        return _page(request, "login.html", 401, next=target, officer_id=officer_id, **_error(exc))
    where = "/account/totp-setup" if pending.needs_totp_setup else "/login/totp"
    response = _redirect(f"{where}?{urlencode({'next': target})}" if target != "/" else where)
    set_cookie(request, response, LOGIN_COOKIE, pending.token, LOGIN_COOKIE_MAX_AGE_S)
    return response


@router.get("/login/totp")
def totp_page(request: Request, next: str = "/") -> Response:
    """The authenticator code form (after the password)."""
    pending = current_pending(request)
    if pending is None:
        return _redirect("/login")
    if pending.needs_totp_setup:
        return _redirect("/account/totp-setup")
    return _page(request, "login_totp.html", next=safe_next(next), error_key="")


def _second_factor(
    request: Request,
    code: str,
    next: str,
    *,
    check: Callable[[str, str], Session],
    elsewhere: str,
    again: Callable[[str, dict[str, str]], Response],
) -> Response:
    """A code posted after the password: `check(pending token, code)` makes the session; a
    wrong code shows the form `again` (with the officer id and the error), an account on the
    other path goes `elsewhere`, anything else back to the login."""
    pending = current_pending(request)
    if pending is None:
        return _redirect("/login")
    try:
        session = check(pending.token, code)
    except LoginFailed as exc:
        _failed(request, exc)
        if exc.reason == "setup":
            return _redirect(elsewhere)
        if exc.reason == "code":
            return again(pending.officer_id, _error(exc))
        return _back_to_login(request, exc, next)
    return _logged_in(request, session, next)


@router.post("/login/totp", dependencies=_SIGN_IN)
def totp(request: Request, code: CodeField = "", next: NextField = "/") -> Response:
    """Checks the code; on success the officer is logged in."""
    return _second_factor(
        request,
        code,
        next,
        check=accounts(request).complete_login,
        elsewhere="/account/totp-setup",
        again=lambda _, error: _page(
            request, "login_totp.html", 401, next=safe_next(next), **error
        ),
    )


@router.get("/account/totp-setup")
def totp_setup_page(request: Request, next: str = "/") -> Response:
    """First login: the otpauth URI and the secret, and a form to confirm one code."""
    pending = current_pending(request)
    if pending is None:
        return _redirect("/login")
    if not pending.needs_totp_setup:
        return _redirect("/login/totp")
    return _setup_page(request, pending.officer_id, next, 200, error_key="")


def _setup_page(
    request: Request, officer_id: str, next: str, status_code: int, **context: str
) -> Response:
    store = accounts(request)
    secret = store.totp_secret(officer_id)
    return _page(
        request,
        "totp_setup.html",
        status_code,
        next=safe_next(next),
        provisioning_uri=store.provisioning_uri(officer_id),
        # Groups of four are easier to type into an app by hand.
        secret_groups=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        pending_officer_id=officer_id,
        **context,
    )


@router.post("/account/totp-setup", dependencies=_SIGN_IN)
def totp_setup(request: Request, code: CodeField = "", next: NextField = "/") -> Response:
    """Confirms the first code: the account's second factor is set up and the officer is in."""
    return _second_factor(
        request,
        code,
        next,
        check=accounts(request).confirm_totp,
        elsewhere="/login/totp",
        again=lambda officer_id, error: _setup_page(request, officer_id, next, 401, **error),
    )


@router.post("/logout")
def logout(request: Request, csrf_token: CsrfField = "") -> Response:
    """Ends the session (and any pending login).

    With a live session the CSRF token is required like on every form; with none (it expired
    in the meantime) there is nothing to protect, and the stale cookies are just cleared.
    """
    if current_session(request) is not None or current_pending(request) is not None:
        verify_csrf(request, csrf_token or request.headers.get(CSRF_HEADER))
    store = accounts(request)
    for name in (SESSION_COOKIE, LOGIN_COOKIE):
        token = request.cookies.get(name)
        if token:
            store.logout(token)
    response = _redirect("/login")
    clear_cookie(request, response, SESSION_COOKIE)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response
