"""Officer accounts (`node.web.auth`): argon2 hashes, TOTP with replay refusal, lockout (counted
atomically: concurrent attempts on real threads), session expiry, account changes and their
audit events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from ledger.errors import InputError
from node.config import DataDir
from node.web.auth import (
    ABSOLUTE_MS,
    IDLE_MS,
    LOCKOUT_MS,
    MAX_FAILURES,
    Accounts,
    LoginFailed,
    accounts_for,
    clock_time,
)
from tests.processes import set_limits
from tests.web.browser import create_station, csrf_from, serve
from tests.web.support import NODE_ID, PASSWORD, Clock, add_officer, code

STATION = NODE_ID


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


def test_accounts_session_last_seen_written_at_most_once_a_minute(
    store: Accounts, clock: Clock
) -> None:
    """Requests within a minute of the last write leave the session row alone (no write per
    request); the idle timer still runs from the last write."""
    _, totp = add_officer(store, clock)
    session = store.complete_login(
        store.begin_login("PEN123456", PASSWORD).token, code(totp, clock.now)
    )
    written = clock.now
    clock.advance(30_000)
    seen = store.session(session.id)
    assert seen is not None and seen.last_seen_ms == written
    clock.advance(31_000)
    seen = store.session(session.id)
    assert seen is not None and seen.last_seen_ms == clock.now
    clock.advance(IDLE_MS)
    assert store.session(session.id) is None


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


# -- lockout under concurrency (real threads, one SQLite database) ------------------------------


class CountingHasher(PasswordHasher):
    """argon2id with the tests' cheap settings that counts the passwords it checks and can hold
    the check of one password until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.checked = 0
        self.hold: str | None = None  # a password whose check waits for `release`
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.checked += 1
        if password == self.hold:
            self.holding.set()
            assert self.release.wait(30), "the test never released the held check"
        return super().verify(hash, password)


@pytest.fixture
def counted(tmp_path: Path, clock: Clock) -> Any:
    hasher = CountingHasher()
    accounts = Accounts(f"sqlite:///{tmp_path / 'race.sqlite3'}", clock=clock, hasher=hasher)
    yield accounts, hasher
    accounts.close()


def at_once(count: int, attempt: Callable[[], Any]) -> list[BaseException | None]:
    """Runs `attempt` on `count` threads released together; what each raised (None: nothing)."""
    start = threading.Barrier(count)

    def one() -> BaseException | None:
        start.wait()
        try:
            attempt()
        except BaseException as exc:
            return exc
        return None

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def test_accounts_concurrent_wrong_passwords_stop_at_the_limit(counted: Any, clock: Clock) -> None:
    store, hasher = counted
    add_officer(store, clock)
    hasher.checked = 0
    outcomes = at_once(30, lambda: store.begin_login("PEN123456", "wrong password!"))
    assert all(isinstance(o, LoginFailed) for o in outcomes)
    assert hasher.checked == MAX_FAILURES  # of 30 wrong passwords, 5 were checked
    events = [e.event for e in store.events("PEN123456")]
    assert events.count("password_failed") == MAX_FAILURES
    assert events.count("login_while_locked") == 30 - MAX_FAILURES
    assert events.count("locked") == 1
    # Locked: the right password is refused, unchecked, until the lock expires.
    with pytest.raises(LoginFailed) as info:
        store.begin_login("PEN123456", PASSWORD)
    assert info.value.reason == "locked"
    assert hasher.checked == MAX_FAILURES
    clock.advance(LOCKOUT_MS)
    assert store.begin_login("PEN123456", PASSWORD).officer_id == "PEN123456"


def test_accounts_right_password_checked_as_the_lock_falls_is_refused(
    counted: Any, clock: Clock
) -> None:
    store, hasher = counted
    add_officer(store, clock)
    hasher.hold = PASSWORD
    with ThreadPoolExecutor(1) as pool:
        right = pool.submit(store.begin_login, "PEN123456", PASSWORD)
        assert hasher.holding.wait(30)  # the right password is being checked ...
        for _ in range(MAX_FAILURES - 1):  # ... while wrong ones lock the account
            with pytest.raises(LoginFailed):
                store.begin_login("PEN123456", "wrong password!")
        hasher.release.set()
        with pytest.raises(LoginFailed) as info:
            right.result(timeout=30)
    assert info.value.reason == "locked"
    events = [e.event for e in store.events("PEN123456")]
    assert events[:2] == ["login_while_locked", "locked"]  # newest first
    assert events.count("password_ok") == 1  # add_officer's own; none for the held check


def test_accounts_concurrent_wrong_codes_stop_at_the_limit(counted: Any, clock: Clock) -> None:
    store, _ = counted
    _, totp = add_officer(store, clock)
    pending = store.begin_login("PEN123456", PASSWORD)
    right = code(totp, clock.now)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    outcomes = at_once(30, lambda: store.complete_login(pending.token, wrong))
    assert all(isinstance(o, LoginFailed) for o in outcomes)
    events = [e.event for e in store.events("PEN123456")]
    assert events.count("code_failed") == MAX_FAILURES
    assert events.count("locked") == 1
    # The lock ended the pending login, and the right code is refused while locked.
    with pytest.raises(LoginFailed) as info:
        store.complete_login(pending.token, right)
    assert info.value.reason == "expired"
    with pytest.raises(LoginFailed, match="account locked until"):
        store.begin_login("PEN123456", PASSWORD)


@pytest.mark.slow
def test_accounts_concurrent_wrong_passwords_over_http_stop_at_the_limit(tmp_path: Path) -> None:
    """The node's own process (hypercorn, its accounts on a clock the test moves): 30 wrong
    passwords posted at once on 30 connections; then the right one, locked and unlocked."""
    data_dir = create_station(tmp_path / "station", records=0)
    # All from one address: the client's throttle must not be what stops them here.
    roomy = "1000/minute"
    set_limits(data_dir, login_attempts_per_client=roomy, login_failures_per_client=roomy)
    with serve(data_dir) as node:
        officer = node.officer

        def post_password(password: str, start: threading.Barrier) -> httpx.Response:
            with node.client() as client:
                page = client.get("/login")
                form = {"officer_id": officer.officer_id, "password": password}
                form["csrf_token"] = csrf_from(page.text)
                start.wait()
                return client.post("/login", data=form)

        together = threading.Barrier(30)
        with ThreadPoolExecutor(30) as pool:
            answers = list(pool.map(lambda _: post_password("wrong", together), range(30)))
        assert {a.status_code for a in answers} == {401}
        accounts = accounts_for(DataDir(data_dir))
        try:
            events = [e.event for e in accounts.events(officer.officer_id)]
        finally:
            accounts.close()
        assert events.count("password_failed") == MAX_FAILURES
        assert events.count("login_while_locked") == 30 - MAX_FAILURES
        alone = threading.Barrier(1)
        locked = post_password(officer.password, alone)
        assert locked.status_code == 401 and "locked until" in locked.text
        node.clock.advance(LOCKOUT_MS)
        assert post_password(officer.password, alone).status_code == 303
