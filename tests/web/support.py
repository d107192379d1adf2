"""What the in-process web tests share: a hand-moved clock for the accounts, cheap argon2
settings, the CSRF token of a page, and signing an officer in as a browser does."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pyotp
from argon2 import PasswordHasher

from ledger.log import now_ms
from node.web.auth import Accounts

with warnings.catch_warnings():
    # Starlette 1.x asks for `httpx2` under its TestClient; httpx (a dev dependency) works.
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

NODE_ID = "kerala/ernakulam-city/ps-kalamassery"
PASSWORD = "correct horse battery"
# Cheap argon2id settings: the tests check the flow, not the cost parameters.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Clock:
    """The accounts' clock, moved by hand so that each login uses a fresh TOTP step."""

    def __init__(self) -> None:
        self.now = now_ms() // 30_000 * 30_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def csrf(html: str) -> str:
    """The CSRF token a page carries (the meta tag every page has)."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match[1]


def sign_in(
    accounts: Accounts,
    clock: Clock,
    app: Any,
    officer_id: str,
    role: str,
    *,
    name: str = "",
    sex: str = "M",
    station_node_id: str = NODE_ID,
    jurisdiction: str = "",
) -> TestClient:
    """A client signed in as a new officer: password, then the authenticator code."""
    _, secret = accounts.create_officer(
        officer_id,
        name or f"Officer {officer_id}",
        sex,
        role,
        station_node_id,
        jurisdiction,
        PASSWORD,
    )
    totp = pyotp.TOTP(secret)
    # First-time setup spends this step's code; the login below uses the next step's.
    pending = accounts.begin_login(officer_id, PASSWORD)
    accounts.logout(accounts.confirm_totp(pending.token, totp.at(clock() // 1000)).id)
    clock.advance(30_000)
    client = TestClient(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"officer_id": officer_id, "password": PASSWORD, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login/totp")
    page = client.get("/login/totp")
    response = client.post(
        "/login/totp",
        data={"code": totp.at(clock() // 1000), "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client
