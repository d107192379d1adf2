"""The login pages (`node.web.pages.auth`) over HTTP: the login -> code -> session cookie flow,
wrong passwords and lockout, first-login TOTP setup, CSRF on every form, security headers, and
`next` never leaving the node. A small app stands in for the node's (its own templates for the
base and error pages)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, select_autoescape

from node.config import Limits
from node.web import errors, security
from node.web.auth import Accounts, Officer
from node.web.pages import auth as auth_pages
from node.web.throttle import Throttle
from tests.web.support import PASSWORD, Clock, TestClient, add_officer, code

WEB = Path(__file__).resolve().parents[3] / "node" / "web"


# Stands in for the app skeleton's base template and `app.state.render` (node/web/app.py).
BASE = (
    "<!doctype html><html><head><title>{% block title %}{% endblock %}</title></head>"
    "<body>{% block content %}{% endblock %}</body></html>"
)
STAND_INS = {
    "base.html": BASE,
    "error.html": '{% extends "base.html" %}{% block content %}{{ message }}{% endblock %}',
}


def _app(store: Accounts) -> FastAPI:
    english: dict[str, str] = json.loads((WEB / "i18n_auth.json").read_text("utf-8"))["en"]
    env = Environment(
        loader=ChoiceLoader([DictLoader(STAND_INS), FileSystemLoader(WEB / "templates")]),
        autoescape=select_autoescape(default=True),
    )

    def t(key: str, **params: Any) -> str:
        return english[key].format(**params)  # KeyError: a key missing from i18n_auth.json

    def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = env.get_template(name).render(
            t=t, csrf_token=security.csrf_token(request), request=request, **values
        )
        return HTMLResponse(html, status_code=status_code)

    app = FastAPI()
    app.state.accounts = store
    app.state.secret = b"test secret, not a real one"
    app.state.render = render
    app.state.throttle = Throttle(Limits())  # the default sign-in throttle
    app.add_middleware(security.SecurityHeadersMiddleware)
    errors.install(app)
    app.include_router(auth_pages.router)

    @app.get("/gd")
    def gd(officer: Officer = Depends(security.officer_required("gd.read"))) -> dict[str, str]:  # noqa: B008
        return {"officer": officer.officer_id}

    @app.post("/gd", dependencies=[Depends(security.csrf_protected)])
    def gd_write(
        officer: Officer = Depends(security.officer_required("gd.write")),  # noqa: B008
    ) -> dict[str, str]:
        return {"written_by": officer.officer_id}

    @app.get("/api/users")
    def users(officer: Officer = Depends(security.officer_required("users.manage"))) -> list[str]:  # noqa: B008
        return [o.officer_id for o in store.list_officers()]

    return app


@pytest.fixture
def client(store: Accounts) -> Iterator[TestClient]:
    with TestClient(_app(store), follow_redirects=False) as test_client:
        yield test_client


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _login(client: TestClient, clock: Clock, totp: pyotp.TOTP) -> None:
    """Logs in through the pages."""
    page = client.get("/login")
    form = {"officer_id": "PEN123456", "password": PASSWORD, "csrf_token": _token(page.text)}
    response = client.post("/login", data=form)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/login/totp"
    page = client.get("/login/totp")
    response = client.post(
        "/login/totp", data={"code": code(totp, clock.now), "csrf_token": _token(page.text)}
    )
    assert response.status_code == 303, response.text


def test_pages_login_totp_session_cookie_flow(
    client: TestClient, store: Accounts, clock: Clock
) -> None:
    _, totp = add_officer(store, clock)
    assert client.get("/gd").status_code == 303
    page = client.get("/login?next=/gd")
    assert page.status_code == 200
    assert "cctns_csrf" in page.cookies
    assert 'name="next" value="/gd"' in page.text
    form = {"officer_id": "PEN123456", "password": PASSWORD, "csrf_token": _token(page.text)}
    form["next"] = "/gd"
    response = client.post("/login", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/login/totp?next=%2Fgd"
    assert "cctns_session" not in client.cookies  # not before the second factor
    page = client.get("/login/totp?next=/gd")
    response = client.post(
        "/login/totp",
        data={"code": code(totp, clock.now), "csrf_token": _token(page.text), "next": "/gd"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/gd"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("cctns_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert client.get("/gd").json() == {"officer": "PEN123456"}


def test_pages_wrong_password_and_lockout_shown(
    client: TestClient, store: Accounts, clock: Clock
) -> None:
    add_officer(store, clock)
    for attempt in range(5):
        page = client.get("/login")
        form = {"officer_id": "PEN123456", "password": "wrong password!"}
        form["csrf_token"] = _token(page.text)
        response = client.post("/login", data=form)
        assert response.status_code == 401
        expected = "locked until" if attempt == 4 else "Wrong officer ID or password."
        assert expected in response.text
        assert 'value="PEN123456"' in response.text


def test_pages_post_without_csrf_token_is_403(
    client: TestClient, store: Accounts, clock: Clock
) -> None:
    _, totp = add_officer(store, clock)
    # The login form itself: no token, a forged token, a token without its cookie.
    form = {"officer_id": "PEN123456", "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/login", data={**form, "csrf_token": "forged"}).status_code == 403
    token = _token(client.get("/login").text)
    client.cookies.delete("cctns_csrf")
    assert client.post("/login", data={**form, "csrf_token": token}).status_code == 403
    # A logged-in officer's forms.
    _login(client, clock, totp)
    assert client.post("/gd").status_code == 403
    assert client.post("/gd", data={"csrf_token": token}).status_code == 403
    assert client.post("/logout").status_code == 403
    assert client.get("/gd").status_code == 200  # still logged in


def test_pages_session_csrf_token_accepted_in_form_or_header(
    client: TestClient, store: Accounts, clock: Clock
) -> None:
    _, totp = add_officer(store, clock)
    _login(client, clock, totp)
    session = store.session(client.cookies["cctns_session"])
    assert session is not None
    assert client.post("/gd", data={"csrf_token": session.csrf_token}).json() == {
        "written_by": "PEN123456"
    }
    response = client.post("/gd", headers={"X-CSRF-Token": session.csrf_token})
    assert response.status_code == 200
    response = client.post("/logout", data={"csrf_token": session.csrf_token})
    assert response.status_code == 303
    assert store.session(session.id) is None
    assert client.get("/gd").status_code == 303


def test_pages_api_401_and_role_403(client: TestClient, store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    response = client.get("/api/users")
    assert response.status_code == 401
    _login(client, clock, totp)
    response = client.get("/api/users")
    assert response.status_code == 403
    assert "users.manage" in response.json()["error"]["message"]


def test_pages_first_login_goes_through_totp_setup(
    client: TestClient, store: Accounts, clock: Clock
) -> None:
    _, totp = add_officer(store, clock, confirm=False)
    page = client.get("/login")
    form = {"officer_id": "PEN123456", "password": PASSWORD, "csrf_token": _token(page.text)}
    response = client.post("/login", data=form)
    assert response.headers["location"] == "/account/totp-setup"
    assert client.get("/login/totp").headers["location"] == "/account/totp-setup"
    page = client.get("/account/totp-setup")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert " ".join(totp.secret[i : i + 4] for i in range(0, 32, 4)) in page.text
    assert "otpauth://totp/CCTNS:PEN123456" in page.text
    response = client.post(
        "/account/totp-setup", data={"code": "000000", "csrf_token": _token(page.text)}
    )
    assert response.status_code == 401 and "Wrong or already used code" in response.text
    response = client.post(
        "/account/totp-setup",
        data={"code": code(totp, clock.now), "csrf_token": _token(page.text)},
    )
    assert response.status_code == 303
    assert client.get("/gd").status_code == 200
    assert client.get("/account/totp-setup").headers["location"] == "/login"


def test_pages_security_headers(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert headers["content-security-policy"] == security.CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_pages_next_never_leaves_the_node() -> None:
    assert auth_pages.safe_next("/fir/3") == "/fir/3"
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "", "gd"):
        assert auth_pages.safe_next(target) == "/"
