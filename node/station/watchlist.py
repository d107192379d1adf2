"""A node's own watch lists (docs/watch.md): its officers' watches, handed up to the offices
above, and the alerts those offices send back when a record anywhere below them matches.

A SQLite file in the data directory (`watchlist.sqlite3`, owner-only), which nothing else can
rebuild: its schema moves by migration (node/index/migrations/watchlist), and backups copy it.
Watching is not a record of the station: nothing here enters the ledger. The reads it leads to
are audited where they are answered (the office above appends an audit entry for each alert it
delivers: node/peers/peer_node.py).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from ledger.errors import InputError, NotFound, StoreError
from ledger.log import now_ms
from node.index import migrations
from node.index.aggregate.watch import KINDS, match_key, standing_kind
from node.records import limits

STORE_NAME = "watchlist.sqlite3"

_metadata = sa.MetaData()
watches = sa.Table(
    "watches",
    _metadata,
    sa.Column("watch_id", sa.String(80), primary_key=True),
    sa.Column("officer_id", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("value", sa.String(400), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("cancelled_ms", sa.BigInteger, nullable=False),
    sa.Column("changed_ms", sa.BigInteger, nullable=False),
    sa.Column("sent_ms", sa.BigInteger, nullable=False),
)
alerts = sa.Table(
    "alerts",
    _metadata,
    sa.Column("watch_id", sa.String(80), primary_key=True),
    sa.Column("origin", sa.String(200), primary_key=True),
    sa.Column("idx", sa.BigInteger, primary_key=True),
    sa.Column("ref", sa.String(120), nullable=False),
    sa.Column("detail", sa.String(400), nullable=False),
    sa.Column("from_node", sa.String(200), nullable=False),
    sa.Column("found_at_ms", sa.BigInteger, nullable=False),
    sa.Column("received_ms", sa.BigInteger, nullable=False),
)

MAX_WATCHES_PER_OFFICER = 200


@dataclass(frozen=True, slots=True)
class Watch:
    watch_id: str
    officer_id: str
    kind: str
    value: str
    created_ms: int
    cancelled_ms: int


@dataclass(frozen=True, slots=True)
class Alert:
    watch_id: str
    officer_id: str
    kind: str
    value: str
    origin: str
    index: int
    ref: str
    detail: str
    from_node: str
    received_ms: int


@dataclass(frozen=True, slots=True)
class Received:
    """An alert as the office above sends it (federation_pb2.WatchAlert's fields)."""

    watch_id: str
    origin: str
    index: int
    ref: str
    detail: str
    found_at_ms: int


class WatchList:
    """The node's watches and alerts. Thread-safe (SQLite serialises the writes)."""

    def __init__(self, url: str, *, clock: Callable[[], int] = now_ms) -> None:
        # An in-memory list (tests, tools) is one connection shared by every thread.
        memory = url == "sqlite://"
        self._engine = (
            sa.create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
            if memory
            else sa.create_engine(url)
        )
        self._clock = clock
        self._lock = threading.Lock()
        try:
            with self._engine.begin() as conn:
                migrations.upgrade(conn, "watchlist")
        except sa.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open the watch list at {url}: {exc}") from exc

    @classmethod
    def open(cls, directory: Path) -> WatchList:
        path = directory / STORE_NAME
        created = not path.exists()
        found = cls(f"sqlite:///{path}")
        if created:
            path.chmod(0o600)
        return found

    def close(self) -> None:
        self._engine.dispose()

    # -- an officer's watches --------------------------------------------------------------------

    def add(self, officer_id: str, kind: str, value: str) -> Watch:
        """A new watch of `officer_id`; InputError for a kind or value that cannot be watched."""
        value = value.strip()
        if kind not in KINDS:
            raise InputError(f"a watch is on one of {', '.join(KINDS)}, not {kind!r}")
        if not officer_id.strip():
            raise InputError("a watch belongs to an officer")
        if len(value) > limits.text("WatchItem.value"):
            raise InputError(f"the value watched is longer than {limits.text('WatchItem.value')}")
        match_key(kind, value)  # refuses what cannot be matched (a one-letter name, no digits)
        now = self._clock()
        watch = Watch(f"w{secrets.token_hex(8)}", officer_id.strip(), kind, value, now, 0)
        with self._lock, self._engine.begin() as conn:
            running = conn.execute(
                sa.select(sa.func.count()).where(
                    watches.c.officer_id == watch.officer_id, watches.c.cancelled_ms == 0
                )
            ).scalar()
            if int(running or 0) >= MAX_WATCHES_PER_OFFICER:
                raise InputError(f"an officer keeps at most {MAX_WATCHES_PER_OFFICER} watches")
            conn.execute(
                watches.insert().values(
                    watch_id=watch.watch_id,
                    officer_id=watch.officer_id,
                    kind=kind,
                    value=value,
                    created_ms=now,
                    cancelled_ms=0,
                    changed_ms=now,
                    sent_ms=0,
                )
            )
        return watch

    def cancel(self, watch_id: str, officer_id: str) -> None:
        """Withdraws a watch of `officer_id` (NotFound for another officer's or none)."""
        now = self._clock()
        with self._lock, self._engine.begin() as conn:
            done = conn.execute(
                watches.update()
                .where(
                    watches.c.watch_id == watch_id,
                    watches.c.officer_id == officer_id,
                    watches.c.cancelled_ms == 0,
                )
                .values(cancelled_ms=now, changed_ms=now)
            )
            if not done.rowcount:
                raise NotFound(f"no running watch {watch_id} of {officer_id}")

    def watches(self, officer_id: str | None = None) -> list[Watch]:
        """The watches (running and withdrawn), newest first; of one officer when given."""
        stmt = sa.select(watches).order_by(watches.c.created_ms.desc())
        if officer_id is not None:
            stmt = stmt.where(watches.c.officer_id == officer_id)
        with self._engine.connect() as conn:
            return [
                Watch(r.watch_id, r.officer_id, r.kind, r.value, r.created_ms, r.cancelled_ms)
                for r in conn.execute(stmt)
            ]

    # -- handing them up -------------------------------------------------------------------------

    def unsent(self) -> list[Watch]:
        """Watches changed since they were last handed to the office above."""
        stmt = sa.select(watches).where(watches.c.changed_ms >= watches.c.sent_ms)
        with self._engine.connect() as conn:
            return [
                Watch(r.watch_id, r.officer_id, r.kind, r.value, r.created_ms, r.cancelled_ms)
                for r in conn.execute(stmt)
            ]

    def sent(self, items: Sequence[Watch], at_ms: int) -> None:
        """The office above acknowledged `items` at `at_ms`."""
        with self._lock, self._engine.begin() as conn:
            for watch in items:
                conn.execute(
                    watches.update()
                    .where(watches.c.watch_id == watch.watch_id)
                    .values(sent_ms=at_ms + 1)
                )

    # -- alerts ----------------------------------------------------------------------------------

    def receive(self, from_node: str, received: Sequence[Received]) -> int:
        """Keeps alerts sent by an office above; returns how many are new. An alert for a watch
        this node does not have is refused (InputError), but for the station's standing lists
        (a vehicle it reported stolen, a person missing or wanted: the office above made those
        watches from its records, `standing_kind`), which no officer here holds."""
        now = self._clock()
        new = 0
        with self._lock, self._engine.begin() as conn:
            known = {
                str(w)
                for w in conn.execute(
                    sa.select(watches.c.watch_id).where(
                        watches.c.watch_id.in_({r.watch_id for r in received})
                    )
                ).scalars()
            }
            for alert in received:
                if alert.watch_id not in known and not standing_kind(alert.watch_id):
                    raise InputError(f"no watch {alert.watch_id} here")
                exists = conn.execute(
                    sa.select(alerts.c.idx).where(
                        alerts.c.watch_id == alert.watch_id,
                        alerts.c.origin == alert.origin,
                        alerts.c.idx == alert.index,
                    )
                ).first()
                if exists is not None:
                    continue  # told again by another office above, or sent again
                conn.execute(
                    alerts.insert().values(
                        watch_id=alert.watch_id,
                        origin=alert.origin,
                        idx=alert.index,
                        ref=alert.ref,
                        detail=alert.detail,
                        from_node=from_node,
                        found_at_ms=alert.found_at_ms,
                        received_ms=now,
                    )
                )
                new += 1
        return new

    def alerts(self, officer_id: str | None = None, *, limit: int = 200) -> list[Alert]:
        """Alerts received, newest first; for one officer's watches when given, with the
        station's standing lists' (which every officer of the station sees: officer "", the
        value the detail of the alert)."""
        stmt = (
            sa.select(alerts, watches.c.officer_id, watches.c.kind, watches.c.value)
            .outerjoin(watches, watches.c.watch_id == alerts.c.watch_id)
            .order_by(alerts.c.received_ms.desc(), alerts.c.origin, alerts.c.idx)
            .limit(limit)
        )
        if officer_id is not None:
            stmt = stmt.where(
                sa.or_(watches.c.officer_id == officer_id, watches.c.watch_id.is_(None))
            )
        with self._engine.connect() as conn:
            return [
                Alert(
                    r.watch_id,
                    r.officer_id or "",
                    r.kind or standing_kind(r.watch_id),
                    r.value or r.detail,
                    r.origin,
                    r.idx,
                    r.ref,
                    r.detail,
                    r.from_node,
                    r.received_ms,
                )
                for r in conn.execute(stmt)
            ]


__all__ = ["STORE_NAME", "Alert", "Received", "Watch", "WatchList"]
