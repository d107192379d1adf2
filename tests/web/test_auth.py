"""Officer accounts and the login pages: argon2 hashes, TOTP with replay refusal, lockout,
session expiry, CSRF, and the login -> code -> session cookie flow over HTTP."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import StarletteDeprecationWarning

from ledger.errors import InputError
from node.web import auth_pages, security
from node.web.auth import (
    ABSOLUTE_MS,
    IDLE_MS,
    LOCKOUT_MS,
    Accounts,
    LoginFailed,
    Officer,
    clock_time,
)

with warnings.catch_warnings():
    # Starlette 1.x asks for `httpx2` under its TestClient; httpx (a dev dependency) still works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

WEB = Path(__file__).resolve().parents[2] / "node" / "web"
STATION = "kerala/ernakulam-city/ps-kalamassery"
PASSWORD = "correct horse battery"
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a step boundary
# Cheap argon2id parameters keep the tests fast; one test checks the real defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Accounts]:
    accounts = Accounts(f"sqlite:///{tmp_path / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    yield accounts
    accounts.close()


def add_officer(
    store: Accounts, clock: Clock, officer_id: str = "PEN123456", confirm: bool = True
) -> tuple[Officer, pyotp.TOTP]:
    officer, secret = store.create_officer(
        officer_id, "Anitha K", "F", "sho", STATION, "", PASSWORD
    )
    totp = pyotp.TOTP(secret)
    if confirm:
        # Confirming during setup spends the code of this step; later logins use the next one.
        pending = store.begin_login(officer_id, PASSWORD)
        store.logout(store.confirm_totp(pending.token, code(totp, clock.now)).id)
        clock.advance(30_000)
    return officer, totp


def code(totp: pyotp.TOTP, now_ms: int) -> str:
    return totp.at(now_ms // 1000)


# -- accounts ----------------------------------------------------------------------------------


def test_accounts_store_argon2id_hashes_not_passwords(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    store = Accounts(url)  # the real argon2 parameters
    try:
        store.create_officer("PEN123456", "Anitha K", "F", "sho", STATION, "", PASSWORD)
    finally:
        store.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        (row,) = conn.execute(sa.text("SELECT * FROM officers")).mappings().all()
        events = conn.execute(sa.text("SELECT * FROM login_events")).mappings().all()
    engine.dispose()
    assert row["password_hash"].startswith("$argon2id$")
    dumped = repr(dict(row)) + repr([dict(e) for e in events])
    assert PASSWORD not in dumped
    assert [e["event"] for e in events] == ["created"]


def test_accounts_create_officer_validates(store: Accounts, clock: Clock) -> None:
    with pytest.raises(InputError) as info:
        store.create_officer("P", "", "X", "constable", STATION, "", "123456789012345")
    problems = " | ".join(info.value.problems)
    for fragment in ("officer id", "name", "sex", "role", "digits only"):
        assert fragment in problems
    with pytest.raises(InputError, match="at least 12"):
        store.create_officer("PEN1", "A", "F", "sho", STATION, "", "short")
    with pytest.raises(InputError, match="jurisdiction"):
        store.create_officer("PEN2", "A", "F", "sdpo", STATION, "", PASSWORD)
    add_officer(store, clock)
    with pytest.raises(InputError, match="already"):
        add_officer(store, clock)


def test_accounts_provisioning_uri(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock, confirm=False)
    uri = store.provisioning_uri("PEN123456")
    assert uri.startswith("otpauth://totp/CCTNS:PEN123456?")
    assert f"secret={totp.secret}" in uri
    assert "issuer=CCTNS" in uri


def test_accounts_login_with_totp(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    pending = store.begin_login("PEN123456", PASSWORD)
    assert not pending.needs_totp_setup
    assert store.session(pending.token) is None  # a pending login is not a session
    session = store.complete_login(pending.token, code(totp, clock.now))
    assert session.id != pending.token
    live = store.session(session.id)
    assert live is not None and live.officer_id == "PEN123456" and live.csrf_token
    assert store.pending(pending.token) is None  # spent
    store.logout(session.id)
    assert store.session(session.id) is None


def test_accounts_first_login_needs_totp_confirmation(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock, confirm=False)
    pending = store.begin_login("PEN123456", PASSWORD)
    assert pending.needs_totp_setup
    with pytest.raises(LoginFailed) as info:
        store.complete_login(pending.token, code(totp, clock.now))
    assert info.value.reason == "setup"
    session = store.confirm_totp(pending.token, code(totp, clock.now))
    assert store.session(session.id) is not None
    officer = store.officer("PEN123456")
    assert officer is not None and officer.totp_confirmed


def test_accounts_code_of_neighbouring_step_accepted(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    clock.advance(30_000)
    pending = store.begin_login("PEN123456", PASSWORD)
    store.complete_login(pending.token, code(totp, clock.now - 30_000))  # the phone is slow


def test_accounts_replayed_code_refused(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    used = code(totp, clock.now)
    store.complete_login(store.begin_login("PEN123456", PASSWORD).token, used)
    pending = store.begin_login("PEN123456", PASSWORD)
    with pytest.raises(LoginFailed) as info:
        store.complete_login(pending.token, used)
    assert info.value.reason == "code"
    # The previous step's code is older than the one used: refused as well.
    with pytest.raises(LoginFailed):
        store.complete_login(pending.token, code(totp, clock.now - 30_000))
    clock.advance(30_000)
    store.complete_login(pending.token, code(totp, clock.now))
    events = [e.event for e in store.events("PEN123456")]
    assert events.count("code_replayed") == 2


def test_accounts_lockout_after_five_failures_then_unlock(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    for _ in range(4):
        with pytest.raises(LoginFailed, match="wrong officer id or password"):
            store.begin_login("PEN123456", "wrong password!")
    with pytest.raises(LoginFailed) as info:
        store.begin_login("PEN123456", "wrong password!")
    assert info.value.reason == "locked"
    until = clock.now + LOCKOUT_MS
    assert str(info.value) == f"account locked until {clock_time(until)} IST"
    # Locked: even the right password is refused, with the same notice.
    with pytest.raises(LoginFailed, match="account locked until"):
        store.begin_login("PEN123456", PASSWORD)
    clock.advance(LOCKOUT_MS - 1)
    with pytest.raises(LoginFailed, match="account locked until"):
        store.begin_login("PEN123456", PASSWORD)
    clock.advance(1)
    pending = store.begin_login("PEN123456", PASSWORD)
    store.complete_login(pending.token, code(totp, clock.now))
    assert "locked" in [e.event for e in store.events("PEN123456")]


def test_accounts_wrong_codes_count_toward_lockout(store: Accounts, clock: Clock) -> None:
    add_officer(store, clock)
    pending = store.begin_login("PEN123456", PASSWORD)
    for _ in range(2):
        with pytest.raises(LoginFailed, match="wrong code"):
            store.complete_login(pending.token, "12345x")
    for _ in range(2):
        with pytest.raises(LoginFailed):
            store.begin_login("PEN123456", "wrong password!")
    with pytest.raises(LoginFailed) as info:
        store.complete_login(pending.token, "12345x")
    assert info.value.reason == "locked"
    # The lock also spent the pending login.
    assert store.pending(pending.token) is None


def test_accounts_success_resets_failure_count(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    for _ in range(4):
        with pytest.raises(LoginFailed):
            store.begin_login("PEN123456", "wrong password!")
    store.complete_login(store.begin_login("PEN123456", PASSWORD).token, code(totp, clock.now))
    for _ in range(4):
        with pytest.raises(LoginFailed, match="wrong officer id"):
            store.begin_login("PEN123456", "wrong password!")


def test_accounts_unknown_and_disabled_get_the_generic_message(
    store: Accounts, clock: Clock
) -> None:
    add_officer(store, clock)
    with pytest.raises(LoginFailed, match=r"^wrong officer id or password$"):
        store.begin_login("PEN999999", PASSWORD)
    store.disable("PEN123456", actor="PEN000001")
    with pytest.raises(LoginFailed, match=r"^wrong officer id or password$"):
        store.begin_login("PEN123456", PASSWORD)


def test_accounts_session_idle_expiry_slides(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    session = store.complete_login(
        store.begin_login("PEN123456", PASSWORD).token, code(totp, clock.now)
    )
    for _ in range(3):
        clock.advance(IDLE_MS - 60_000)
        assert store.session(session.id) is not None  # each use restarts the idle timer
    clock.advance(IDLE_MS)
    assert store.session(session.id) is None
    assert store.session(session.id) is None  # and it stays gone


def test_accounts_session_absolute_expiry(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    session = store.complete_login(
        store.begin_login("PEN123456", PASSWORD).token, code(totp, clock.now)
    )
    end = clock.now + ABSOLUTE_MS
    while clock.now + 20 * 60_000 < end:
        clock.advance(20 * 60_000)
        assert store.session(session.id) is not None
    clock.now = end
    assert store.session(session.id) is None


def test_accounts_pending_login_expires(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    pending = store.begin_login("PEN123456", PASSWORD)
    clock.advance(5 * 60_000)
    with pytest.raises(LoginFailed) as info:
        store.complete_login(pending.token, code(totp, clock.now))
    assert info.value.reason == "expired"


def test_accounts_set_password_and_disable_end_sessions(store: Accounts, clock: Clock) -> None:
    _, totp = add_officer(store, clock)
    session = store.complete_login(
        store.begin_login("PEN123456", PASSWORD).token, code(totp, clock.now)
    )
    store.set_password("PEN123456", "another long passphrase", actor="PEN000001")
    assert store.session(session.id) is None
    with pytest.raises(LoginFailed):
        store.begin_login("PEN123456", PASSWORD)
    with pytest.raises(InputError):
        store.set_password("PEN123456", "000000000000000")
    clock.advance(30_000)
    session = store.complete_login(
        store.begin_login("PEN123456", "another long passphrase").token, code(totp, clock.now)
    )
    store.disable("PEN123456")
    assert store.session(session.id) is None
    officer = store.officer("PEN123456")
    assert officer is not None and officer.disabled
    assert [o.officer_id for o in store.list_officers()] == ["PEN123456"]
    events = [e.event for e in store.events("PEN123456")]
    assert {"created", "totp_confirmed", "login", "password_set", "disabled"} <= set(events)


# -- over HTTP ---------------------------------------------------------------------------------

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
    import json

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
    security.install(app)
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
    assert "users.manage" in response.json()["detail"]


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
