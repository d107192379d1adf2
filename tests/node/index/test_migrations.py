"""Migrations of the databases the ledger cannot rebuild (node/index/migrations): a populated
database of an older revision, or made before migrations existed, is upgraded in place and keeps
every row (real SQLite files, and real PostgreSQL for the aggregate's bookkeeping)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.errors import StoreError
from node.index import migrations
from node.index.aggregate.index import AggregateIndex
from node.station.sealed_store import STORE_NAME, SealedStore
from node.web import auth
from tests.node.index.test_aggregate import logs_of, stations  # noqa: F401  (fixture)


def test_accounts_made_before_migrations_are_stamped_and_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    engine = sa.create_engine(url)
    auth.metadata.create_all(engine)  # how the accounts were made before migrations
    with engine.begin() as conn:
        conn.execute(
            auth.officers.insert().values(
                officer_id="PEN123456",
                name="Anitha K",
                sex="F",
                role="sho",
                station_node_id="kerala/ernakulam-city/ps-kalamassery",
                jurisdiction="",
                password_hash="x",
                totp_secret="y",
                totp_confirmed=True,
                totp_last_step=7,
                failed_attempts=0,
                locked_until_ms=0,
                disabled=False,
                created_ms=1,
            )
        )
        for n in range(3):
            conn.execute(
                auth.login_events.insert().values(
                    at_ms=n, officer_id="PEN123456", event="login", actor="", detail=""
                )
            )
    engine.dispose()
    accounts = auth.Accounts(url)
    accounts.close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert migrations.current(conn, "accounts") == migrations.head("accounts")
        officer = conn.execute(sa.select(auth.officers)).one()
        assert officer.totp_last_step == 7 and officer.name == "Anitha K"
        assert conn.execute(sa.select(sa.func.count()).select_from(auth.login_events)).scalar() == 3
    engine.dispose()


def test_a_database_with_only_some_of_the_tables_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    engine = sa.create_engine(url)
    auth.officers.create(engine)
    engine.dispose()
    with pytest.raises(StoreError, match="not a database this software made"):
        auth.Accounts(url)


def test_sealed_identities_made_before_migrations_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "sealed"
    folder.mkdir()
    old = sqlite3.connect(folder / STORE_NAME)
    old.execute(
        "CREATE TABLE sealed (commitment BLOB PRIMARY KEY, salt BLOB NOT NULL,"
        " identity BLOB NOT NULL, record_ref TEXT NOT NULL, person_id TEXT NOT NULL)"
    )
    old.executemany(
        "INSERT INTO sealed VALUES (?, ?, ?, ?, ?)",
        [(bytes([n]) * 32, b"s", b"identity", f"FIR No. {n}/2026", f"P{n}") for n in range(5)],
    )
    old.commit()
    old.close()
    store = SealedStore.open(folder)
    store.close()
    check = sqlite3.connect(folder / STORE_NAME)
    try:
        assert check.execute("SELECT count(*) FROM sealed").fetchone() == (5,)
        version = check.execute("SELECT version_num FROM alembic_version_sealed").fetchone()
        assert version == (migrations.head("sealed"),)
    finally:
        check.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aggregate.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))


def test_aggregate_bookkeeping_upgraded_keeps_every_office_number(
    url: str,
    stations: list,  # noqa: F811
) -> None:
    engine = sa.create_engine(url)
    offices = [
        (s.config.origin, 1 << 16 if "kerala" in s.config.origin else 2 << 16) for s in stations
    ]
    offices[1] = (offices[1][0], (1 << 16) + 1)
    with engine.begin() as conn:
        assert migrations.upgrade(conn, "aggregate", to="aggregate_0001") == "aggregate_0001"
        conn.execute(sa.text("INSERT INTO agg_states VALUES ('kerala', 1), ('tamil-nadu', 2)"))
        for origin, number in offices:
            state = "kerala" if "kerala" in origin else "tamil-nadu"
            conn.execute(
                sa.text("INSERT INTO agg_origins VALUES (:o, :n, :s, 0, 5)"),
                {"o": origin, "n": number, "s": state},
            )
    engine.dispose()

    index = AggregateIndex(url)  # upgrades to the head on open
    try:
        with index.engine.connect() as conn:
            assert migrations.current(conn, "aggregate") == migrations.head("aggregate")
        assert [(o.origin, o.origin_no) for o in index.offices()] == sorted(
            offices, key=lambda o: o[1]
        )
        index.catch_up(logs_of(stations))
        for origin, number in offices:
            office = index.office(origin)
            assert office.origin_no == number and office.indexed_size > 0
        with index.engine.connect() as conn:
            stamped = conn.execute(sa.text("SELECT min(indexed_at_ms) FROM agg_origins")).scalar()
        assert stamped is not None and stamped > 0
    finally:
        index.close()
