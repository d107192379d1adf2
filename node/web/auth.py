"""Officer accounts for the node's web UI: passwords, a second factor, sessions, lockout, audit.

Accounts live in a small SQLite database of their own (`<data dir>/web/accounts.sqlite3`), apart
from the ledger: they are the node's local access control, not police records.

Logging in takes two steps. `begin_login` checks the officer id and password (argon2id) and
returns a short-lived pending login; `complete_login` checks a TOTP code and turns it into a
session with a new id (so a token seen before the second factor is worth nothing after). An
account whose TOTP secret was never confirmed finishes its first login with `confirm_totp`.

Five failures in a row (passwords or codes) lock the account for 15 minutes. Every attempt is
counted before it is checked, in the one statement that decides whether it may be checked
(`_count_attempt`): of any number of concurrent attempts at most five are checked and none after
the lock, and a right password or code whose check overlapped the lock is refused too. The lock
is time-bound on purpose: anyone can lock an account by trying it, so the lock must not keep
the officer out for long; the web UI's throttle per client (`node.web.throttle`) is what slows
the one trying. A TOTP code is
accepted once: the time step of the last accepted code is stored, and a code from that step or
an earlier one is refused. Sessions end after 30 minutes idle or 12 hours in all.
Every account change and every login event is written to `login_events`.

Must never: store or log a password or a TOTP code; tell a caller whether an officer id exists
(beyond the lockout notice); run inside an event loop's thread without `to_thread` (it blocks).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine

from ledger.errors import CctnsError, InputError
from ledger.log import now_ms
from node.config import DataDir
from node.index import migrations
from node.web.rules import (
    ANALYST_ROLES,
    NATIONAL,
    ROLES,
    STATION_ROLES,
    SUPERVISOR_ROLES,
    Officer,
    jurisdiction_prefix,
)

__all__ = [
    "Accounts",
    "LoginFailed",
    "Officer",
    "PendingLogin",
    "Session",
    "accounts_for",
    "session_secret",
]

MAX_FAILURES = 5
LOCKOUT_MS = 15 * 60 * 1000
PENDING_MS = 5 * 60 * 1000
IDLE_MS = 30 * 60 * 1000
TOUCH_EVERY_MS = 60 * 1000  # a session's last-seen time is written at most this often
ABSOLUTE_MS = 12 * 60 * 60 * 1000
TOTP_STEP_S = 30
ISSUER = "CCTNS"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
OFFICER_SEXES = ("M", "F", "T")
IST = timezone(timedelta(hours=5, minutes=30), "IST")
_OFFICER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{1,63}$")
_GENERIC = "wrong officer id or password"

metadata = sa.MetaData()

officers = sa.Table(
    "officers",
    metadata,
    sa.Column("officer_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sex", sa.String(1), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("station_node_id", sa.String(200), nullable=False),
    sa.Column("jurisdiction", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("totp_secret", sa.String(64), nullable=False),
    sa.Column("totp_confirmed", sa.Boolean, nullable=False, default=False),
    # The time step of the last accepted code: a code from it or earlier is a replay.
    sa.Column("totp_last_step", sa.BigInteger, nullable=False, default=0),
    sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until_ms", sa.BigInteger, nullable=False, default=0),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("officer_id", sa.String(64), nullable=False, index=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    # False while only the password has been checked (a pending login).
    sa.Column("second_factor_done", sa.Boolean, nullable=False),
)

login_events = sa.Table(
    "login_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
    sa.Column("officer_id", sa.String(64), nullable=False, index=True),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False, default=""),
    sa.Column("detail", sa.String(400), nullable=False, default=""),
)


_TABLES = ("officers", "sessions", "login_events")


class LoginFailed(CctnsError):
    """A login step failed. The message is safe to show; `reason` names the case for
    translated text: "credentials", "locked", "code", "expired", "setup"."""

    def __init__(self, message: str, reason: str, locked_until_ms: int = 0) -> None:
        self.reason = reason
        self.locked_until_ms = locked_until_ms
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A login whose password was right and whose second factor is still to come."""

    token: str
    officer_id: str
    expires_ms: int
    csrf_token: str
    needs_totp_setup: bool


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in officer's session (the id travels in the session cookie)."""

    id: str
    officer_id: str
    created_ms: int
    last_seen_ms: int
    expires_ms: int
    csrf_token: str


@dataclass(frozen=True, slots=True)
class LoginEvent:
    """One row of the accounts audit trail."""

    at_ms: int
    officer_id: str
    event: str
    actor: str
    detail: str


def web_dir(data_dir: DataDir) -> Path:
    """`<data dir>/web/`, owner-only: the accounts database and the session secret."""
    path = data_dir.path / "web"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def accounts_for(data_dir: DataDir, *, clock: Callable[[], int] = now_ms) -> Accounts:
    """The officer accounts of the node in `data_dir` (on `clock`, Unix ms: tests move it)."""
    return Accounts(f"sqlite:///{(web_dir(data_dir) / 'accounts.sqlite3').resolve()}", clock=clock)


def session_secret(data_dir: DataDir) -> bytes:
    """The node's cookie-signing secret, made once and kept owner-only."""
    path = web_dir(data_dir) / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def clock_time(ms: int) -> str:
    """Milliseconds as HH:MM in India Standard Time, for messages to officers."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(IST).strftime("%H:%M")


def check_password(password: str) -> None:
    """Raises InputError unless the password is acceptable."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password must have at most {MAX_PASSWORD} characters")
    if password.isdigit():
        raise InputError("password must not be digits only")


def _officer(row: Any) -> Officer:
    return Officer(
        officer_id=row.officer_id,
        name=row.name,
        sex=row.sex,
        role=row.role,
        station_node_id=row.station_node_id,
        jurisdiction=row.jurisdiction,
        totp_confirmed=bool(row.totp_confirmed),
        disabled=bool(row.disabled),
        created_ms=row.created_ms,
    )


def _new_id() -> str:
    return secrets.token_urlsafe(32)


class Accounts:
    """The officer accounts of one node. Synchronous: call from a worker thread in async code."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], int] = now_ms,
        hasher: PasswordHasher | None = None,
    ) -> None:
        """`hasher` defaults to argon2id with argon2-cffi's recommended parameters (RFC 9106
        low-memory profile); tests pass cheaper ones."""
        self._clock = clock
        self._engine: Engine = sa.create_engine(url)
        self._hasher = hasher or PasswordHasher()
        # The accounts cannot be made again: their schema moves by migration (node/index/
        # migrations), a database made before migrations existed is stamped, never recreated.
        with self._engine.begin() as conn:
            migrations.upgrade(conn, "accounts", legacy_tables=_TABLES)
        # Verified against when the officer id is unknown, so both paths cost one argon2 hash.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def close(self) -> None:
        self._engine.dispose()

    # -- accounts --------------------------------------------------------------------------

    def create_officer(
        self,
        officer_id: str,
        name: str,
        sex: str,
        role: str,
        station_node_id: str,
        jurisdiction: str,
        password: str,
        *,
        actor: str = "",
    ) -> tuple[Officer, str]:
        """Adds an account; returns it and its new TOTP secret (base32), to be shown once."""
        problems: list[str] = []
        if not _OFFICER_ID.match(officer_id):
            problems.append(
                "officer id must be 2-64 letters, digits, '.', '_', '/', '-' (e.g. PEN123456)"
            )
        if not name.strip():
            problems.append("name is required")
        if sex not in OFFICER_SEXES:
            problems.append(f"sex must be one of {', '.join(OFFICER_SEXES)}")
        if role not in ROLES:
            problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
        if role in STATION_ROLES and not station_node_id.strip():
            problems.append(f"a {role} needs the station's node id")
        if role in SUPERVISOR_ROLES | ANALYST_ROLES:
            if jurisdiction == NATIONAL and role != "ncrb_analyst":
                problems.append("only an NCRB analyst may have the national jurisdiction '*'")
            elif not jurisdiction_prefix(jurisdiction):
                problems.append(f"a {role} needs a jurisdiction, e.g. kerala/ernakulam-city/")
        try:
            check_password(password)
        except InputError as exc:
            problems.append(str(exc))
        if problems:
            raise InputError(f"officer {officer_id}: {'; '.join(problems)}", problems)
        if jurisdiction != NATIONAL:
            jurisdiction = jurisdiction_prefix(jurisdiction)
        secret = pyotp.random_base32()
        now = self._clock()
        row = {
            "officer_id": officer_id,
            "name": name.strip(),
            "sex": sex,
            "role": role,
            "station_node_id": station_node_id.strip(),
            "jurisdiction": jurisdiction,
            "password_hash": self._hasher.hash(password),
            "totp_secret": secret,
            "totp_confirmed": False,
            "totp_last_step": 0,
            "failed_attempts": 0,
            "locked_until_ms": 0,
            "disabled": False,
            "created_ms": now,
        }
        with self._engine.begin() as conn:
            exists = conn.execute(
                sa.select(officers.c.officer_id).where(officers.c.officer_id == officer_id)
            ).first()
            if exists is not None:
                raise InputError(f"officer {officer_id} already has an account")
            conn.execute(officers.insert().values(**row))
            self._event(conn, officer_id, "created", actor, f"role={role}")
        officer = self.officer(officer_id)
        assert officer is not None
        return officer, secret

    def officer(self, officer_id: str) -> Officer | None:
        """The account, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(officers).where(officers.c.officer_id == officer_id)
            ).first()
        return None if row is None else _officer(row)

    def list_officers(self) -> list[Officer]:
        """Every account, by officer id."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(officers).order_by(officers.c.officer_id)).all()
        return [_officer(row) for row in rows]

    def provisioning_uri(self, officer_id: str) -> str:
        """The otpauth:// URI an authenticator app reads (issuer "CCTNS")."""
        secret = self._secret(officer_id)
        return pyotp.TOTP(secret).provisioning_uri(name=officer_id, issuer_name=ISSUER)

    def totp_secret(self, officer_id: str) -> str:
        """The base32 secret, for typing into an authenticator app during first-time setup."""
        return self._secret(officer_id)

    def set_password(self, officer_id: str, password: str, *, actor: str = "") -> None:
        """Replaces the password, clears the failure count and ends the officer's sessions."""
        check_password(password)
        password_hash = self._hasher.hash(password)
        with self._engine.begin() as conn:
            self._require_row(conn, officer_id)
            conn.execute(
                officers.update()
                .where(officers.c.officer_id == officer_id)
                .values(password_hash=password_hash, failed_attempts=0, locked_until_ms=0)
            )
            conn.execute(sessions.delete().where(sessions.c.officer_id == officer_id))
            self._event(conn, officer_id, "password_set", actor)

    def disable(self, officer_id: str, *, actor: str = "") -> None:
        """Disables the account and ends its sessions."""
        with self._engine.begin() as conn:
            self._require_row(conn, officer_id)
            conn.execute(
                officers.update().where(officers.c.officer_id == officer_id).values(disabled=True)
            )
            conn.execute(sessions.delete().where(sessions.c.officer_id == officer_id))
            self._event(conn, officer_id, "disabled", actor)

    def events(self, officer_id: str | None = None, limit: int = 100) -> list[LoginEvent]:
        """The latest audit events, newest first (of one officer, when given)."""
        query = sa.select(login_events).order_by(login_events.c.id.desc()).limit(limit)
        if officer_id is not None:
            query = query.where(login_events.c.officer_id == officer_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [LoginEvent(r.at_ms, r.officer_id, r.event, r.actor, r.detail) for r in rows]

    # -- logging in ------------------------------------------------------------------------

    def begin_login(self, officer_id: str, password: str) -> PendingLogin:
        """Checks the password; returns a pending login awaiting the second factor.

        Raises LoginFailed with one generic message for an unknown id, a wrong password or a
        disabled account, and "account locked until HH:MM" while locked (the password is then
        not checked at all, and a right one that was being checked as the lock fell is refused).
        """
        now = self._clock()
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(officers).where(officers.c.officer_id == officer_id)
            ).first()
        if row is None or row.disabled:
            # The same argon2 cost as any other attempt: the answer's time tells nothing.
            self._verify_hash(self._dummy_hash if row is None else row.password_hash, password)
            with self._engine.begin() as conn:
                if row is None:
                    self._event(conn, officer_id[:64], "login_unknown_officer")
                else:
                    self._event(conn, officer_id, "login_disabled")
            raise LoginFailed(_GENERIC, "credentials")
        self._count_attempt(officer_id, now)
        if not self._verify_hash(row.password_hash, password):
            self._failed(officer_id, "password_failed")
        if self._hasher.check_needs_rehash(row.password_hash):
            with self._engine.begin() as conn:
                conn.execute(
                    officers.update()
                    .where(officers.c.officer_id == officer_id)
                    .values(password_hash=self._hasher.hash(password))
                )
        pending = PendingLogin(
            token=_new_id(),
            officer_id=officer_id,
            expires_ms=now + PENDING_MS,
            csrf_token=_new_id(),
            needs_totp_setup=not row.totp_confirmed,
        )
        with self._engine.begin() as conn:
            # A right password was no failure: its count is taken back, in the same statement
            # that makes sure the account did not lock while it was being checked.
            taken_back = conn.execute(
                officers.update()
                .where(officers.c.officer_id == officer_id, officers.c.locked_until_ms <= now)
                .values(failed_attempts=sa.func.max(officers.c.failed_attempts - 1, 0))
            ).rowcount
            if taken_back:
                conn.execute(
                    sessions.insert().values(
                        id=pending.token,
                        officer_id=officer_id,
                        created_ms=now,
                        last_seen_ms=now,
                        expires_ms=pending.expires_ms,
                        csrf_token=pending.csrf_token,
                        second_factor_done=False,
                    )
                )
                self._event(conn, officer_id, "password_ok")
            else:
                self._event(conn, officer_id, "login_while_locked")
        if not taken_back:
            raise self._locked(self._locked_until(officer_id, now))
        return pending

    def pending(self, token: str) -> PendingLogin | None:
        """The pending login with this token, if it has not expired."""
        now = self._clock()
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions, officers.c.totp_confirmed, officers.c.disabled)
                .join(officers, officers.c.officer_id == sessions.c.officer_id)
                .where(sessions.c.id == token, sessions.c.second_factor_done.is_(False))
            ).first()
        if row is None or row.expires_ms <= now or row.disabled:
            return None
        return PendingLogin(
            token=row.id,
            officer_id=row.officer_id,
            expires_ms=row.expires_ms,
            csrf_token=row.csrf_token,
            needs_totp_setup=not row.totp_confirmed,
        )

    def complete_login(self, pending_token: str, totp_code: str) -> Session:
        """Checks the TOTP code of a pending login; returns the new session."""
        pending = self._live_pending(pending_token)
        if pending.needs_totp_setup:
            raise LoginFailed("two-factor setup is not finished", "setup")
        return self._second_factor(pending, totp_code, confirming=False)

    def confirm_totp(self, pending_token: str, totp_code: str) -> Session:
        """First-time setup: a right code confirms the secret and completes the login."""
        pending = self._live_pending(pending_token)
        if not pending.needs_totp_setup:
            raise LoginFailed("two-factor authentication is already set up", "setup")
        return self._second_factor(pending, totp_code, confirming=True)

    def session(self, session_id: str) -> Session | None:
        """The live session with this id, its idle timer restarted; None when unknown or over."""
        if not session_id:
            return None
        now = self._clock()
        with self._engine.begin() as conn:
            row = conn.execute(
                sa.select(sessions, officers.c.disabled)
                .join(officers, officers.c.officer_id == sessions.c.officer_id)
                .where(sessions.c.id == session_id, sessions.c.second_factor_done.is_(True))
            ).first()
            if row is None:
                return None
            if row.disabled or now >= row.expires_ms or now - row.last_seen_ms >= IDLE_MS:
                conn.execute(sessions.delete().where(sessions.c.id == session_id))
                self._event(conn, row.officer_id, "session_expired")
                return None
            # The idle timer restarts at most once a minute: not a write and a database commit
            # on every request (they were about a tenth of a page's server time in a profile),
            # for a timer of 30 minutes.
            seen = row.last_seen_ms
            if now - seen >= TOUCH_EVERY_MS:
                conn.execute(
                    sessions.update().where(sessions.c.id == session_id).values(last_seen_ms=now)
                )
                seen = now
        return Session(
            id=row.id,
            officer_id=row.officer_id,
            created_ms=row.created_ms,
            last_seen_ms=seen,
            expires_ms=row.expires_ms,
            csrf_token=row.csrf_token,
        )

    def logout(self, session_id: str) -> None:
        """Ends the session (or pending login); unknown ids are ignored."""
        with self._engine.begin() as conn:
            row = conn.execute(
                sa.select(sessions.c.officer_id).where(sessions.c.id == session_id)
            ).first()
            if row is not None:
                conn.execute(sessions.delete().where(sessions.c.id == session_id))
                self._event(conn, row.officer_id, "logout")

    def purge_expired(self) -> int:
        """Deletes sessions past their end; returns how many."""
        now = self._clock()
        with self._engine.begin() as conn:
            result = conn.execute(
                sessions.delete().where(
                    sa.or_(sessions.c.expires_ms <= now, sessions.c.last_seen_ms <= now - IDLE_MS)
                )
            )
        return int(result.rowcount)

    # -- internals -------------------------------------------------------------------------

    def _secret(self, officer_id: str) -> str:
        with self._engine.connect() as conn:
            return str(self._require_row(conn, officer_id).totp_secret)

    @staticmethod
    def _require_row(conn: sa.Connection, officer_id: str) -> Any:
        row = conn.execute(sa.select(officers).where(officers.c.officer_id == officer_id)).first()
        if row is None:
            raise InputError(f"no account for officer {officer_id}")
        return row

    def _verify_hash(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _locked(self, until_ms: int) -> LoginFailed:
        return LoginFailed(f"account locked until {clock_time(until_ms)} IST", "locked", until_ms)

    def _live_pending(self, token: str) -> PendingLogin:
        pending = self.pending(token)
        if pending is None:
            raise LoginFailed("the login has expired: enter your password again", "expired")
        return pending

    def _count_attempt(self, officer_id: str, now: int) -> None:
        """Counts an attempt before its password or code is checked, in one statement that
        also decides whether it may be checked at all: not while the account is locked, and
        not when as many attempts as the limit allows are counted already (checked and failed,
        or still being checked). That one locks the account and, like every attempt while it is
        locked, is refused with LoginFailed("locked"), unchecked.

        So of any number of concurrent attempts at most MAX_FAILURES are checked, and none
        after the lock: the count and the decision are one UPDATE ... RETURNING, which SQLite
        runs under its write lock."""
        with self._engine.begin() as conn:
            counted = conn.execute(
                officers.update()
                .where(
                    officers.c.officer_id == officer_id,
                    officers.c.locked_until_ms <= now,
                    officers.c.failed_attempts < MAX_FAILURES,
                )
                .values(failed_attempts=officers.c.failed_attempts + 1)
                .returning(officers.c.failed_attempts)
            ).first()
            if counted is None:
                until = self._lock(conn, officer_id, now)
                self._event(conn, officer_id, "login_while_locked")
        # Raised outside the transaction, which would otherwise roll the lock back.
        if counted is None:
            raise self._locked(until)

    def _lock(self, conn: sa.Connection, officer_id: str, now: int) -> int:
        """Locks the account if its count has reached the limit and it is not locked yet (and
        ends its pending logins, so codes cannot be tried on regardless). Returns until when it
        is locked (Unix ms), or 0 when it is not."""
        until = now + LOCKOUT_MS
        locked = conn.execute(
            officers.update()
            .where(
                officers.c.officer_id == officer_id,
                officers.c.locked_until_ms <= now,
                officers.c.failed_attempts >= MAX_FAILURES,
            )
            .values(failed_attempts=0, locked_until_ms=until)
        ).rowcount
        if locked:
            conn.execute(
                sessions.delete().where(
                    sessions.c.officer_id == officer_id,
                    sessions.c.second_factor_done.is_(False),
                )
            )
            self._event(conn, officer_id, "locked", detail=f"until_ms={until}")
            return until
        current = conn.execute(
            sa.select(officers.c.locked_until_ms).where(officers.c.officer_id == officer_id)
        ).scalar_one()
        return int(current) if current > now else 0

    def _locked_until(self, officer_id: str, now: int) -> int:
        """Until when the account is locked (Unix ms), or 0."""
        with self._engine.connect() as conn:
            current = conn.execute(
                sa.select(officers.c.locked_until_ms).where(officers.c.officer_id == officer_id)
            ).scalar_one()
        return int(current) if current > now else 0

    def _failed(self, officer_id: str, event: str) -> NoReturn:
        """A counted attempt failed: its count stays, the account locks if the count is at the
        limit, and LoginFailed is raised ("locked" once the account is)."""
        now = self._clock()
        with self._engine.begin() as conn:
            failures = conn.execute(
                sa.select(officers.c.failed_attempts).where(officers.c.officer_id == officer_id)
            ).scalar_one()
            self._event(conn, officer_id, event, detail=f"failures={failures}")
            until = self._lock(conn, officer_id, now)
        # Raised outside the transaction, which would otherwise roll the lock back.
        if until:
            raise self._locked(until)
        if event == "password_failed":
            raise LoginFailed(_GENERIC, "credentials")
        raise LoginFailed("wrong code", "code")

    def _second_factor(self, pending: PendingLogin, code: str, *, confirming: bool) -> Session:
        now = self._clock()
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(officers).where(officers.c.officer_id == pending.officer_id)
            ).first()
        if row is None or row.disabled:
            raise LoginFailed("the login has expired: enter your password again", "expired")
        self._count_attempt(pending.officer_id, now)
        step = self._matching_step(row.totp_secret, code.strip(), now)
        if step is None:
            self._failed(pending.officer_id, "code_failed")
        session = Session(
            id=_new_id(),
            officer_id=pending.officer_id,
            created_ms=now,
            last_seen_ms=now,
            expires_ms=now + ABSOLUTE_MS,
            csrf_token=_new_id(),
        )
        with self._engine.begin() as conn:
            # Conditional on the stored step, so two requests racing with one code cannot both
            # win, and on the account not having locked while the code was being checked.
            accepted = conn.execute(
                officers.update()
                .where(
                    officers.c.officer_id == pending.officer_id,
                    officers.c.totp_last_step < step,
                    officers.c.locked_until_ms <= now,
                )
                .values(
                    totp_last_step=step,
                    failed_attempts=0,
                    **({"totp_confirmed": True} if confirming else {}),
                )
            ).rowcount
            if accepted:
                # The pending token is spent; the session gets a fresh id.
                conn.execute(sessions.delete().where(sessions.c.id == pending.token))
                conn.execute(
                    sessions.insert().values(
                        id=session.id,
                        officer_id=session.officer_id,
                        created_ms=now,
                        last_seen_ms=now,
                        expires_ms=session.expires_ms,
                        csrf_token=session.csrf_token,
                        second_factor_done=True,
                    )
                )
                if confirming:
                    self._event(conn, pending.officer_id, "totp_confirmed")
                self._event(conn, pending.officer_id, "login")
        if not accepted:
            until = self._locked_until(pending.officer_id, now)
            if until:
                raise self._locked(until)
            # A replayed code counts as a failure, like any other wrong code.
            self._failed(pending.officer_id, "code_replayed")
        return session

    @staticmethod
    def _matching_step(secret: str, code: str, now: int) -> int | None:
        """The time step (now, one before or one after) whose code this is, or None."""
        if not (len(code) == 6 and code.isdigit()):
            return None
        totp = pyotp.TOTP(secret)
        current = now // 1000 // TOTP_STEP_S
        for step in (current - 1, current, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    def _event(
        self, conn: sa.Connection, officer_id: str, event: str, actor: str = "", detail: str = ""
    ) -> None:
        conn.execute(
            login_events.insert().values(
                at_ms=self._clock(), officer_id=officer_id, event=event, actor=actor, detail=detail
            )
        )
