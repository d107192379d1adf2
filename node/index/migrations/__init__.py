"""Schema migrations (Alembic) for the databases the ledger cannot rebuild.

The query indexes are derived from the logs and simply projected again when their shape changes
(`node.index.schema.SCHEMA_VERSION`). Four databases hold what nothing else does, so their rows
must survive every upgrade of the software: each has its own line of Alembic revisions here,
applied when the database is opened (`upgrade`).

    accounts    the officer accounts, sessions and login events (node/web/auth.py)
    sealed      the identities the law withholds, sealed (node/station/sealed_store.py)
    aggregate   an aggregating node's bookkeeping: the number given to each state and office
                and how much of each log is indexed (node/index/aggregate/schema.py), and the
                watches it holds for the offices below with the records found for them
                (node/index/aggregate/watch.py)
    watchlist   a node's own officers' watches and the alerts it received
                (node/station/watchlist.py)

A database made before its line had revisions (its tables there, no version table) is stamped
with the first revision, which describes exactly those tables, and then upgraded. Each line
keeps its version in its own table (`alembic_version_<line>`), so two lines may share one
database without mistaking each other's revisions.

Revisions are written by hand (`op.create_table`, `op.add_column`, ...): never `create_all`,
never a drop of a table holding rows that cannot be made again. Tests: tests/node/index/
test_migrations.py upgrades populated databases and counts every row.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ledger.errors import StoreError

log = logging.getLogger(__name__)
# Alembic says "Context impl SQLiteImpl" for every database opened; one line of our own per
# migration actually made says what an operator needs (`upgrade`).
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

LINES: Final = ("accounts", "sealed", "aggregate", "watchlist")
_HERE = Path(__file__).resolve().parent


def version_table(line: str) -> str:
    return f"alembic_version_{line}"


def _config(line: str) -> Config:
    if line not in LINES:
        raise StoreError(f"no migrations for {line!r}: one of {', '.join(LINES)}")
    config = Config()
    config.set_main_option("script_location", str(_HERE / line))
    return config


def head(line: str) -> str:
    """The newest revision of a line."""
    found = ScriptDirectory.from_config(_config(line)).get_current_head()
    assert found is not None
    return found


def current(connection: Connection, line: str) -> str | None:
    """The revision a database is at (None: never migrated)."""
    table = version_table(line)
    if not sa.inspect(connection).has_table(table):
        return None
    found = connection.execute(sa.text(f'SELECT version_num FROM "{table}"')).scalar()
    return None if found is None else str(found)


def upgrade(
    connection: Connection, line: str, *, legacy_tables: tuple[str, ...] = (), to: str = "head"
) -> str:
    """Brings the database on `connection` to the head of `line` (or revision `to`: tests make
    an older database so), in the connection's transaction (the caller commits); returns the
    revision reached. A database holding
    `legacy_tables` (the tables of the line's first revision) but no version table is stamped
    at the first revision first; one holding only some of them is refused."""
    config = _config(line)
    script = ScriptDirectory.from_config(config)
    before = current(connection, line)
    if before is None and legacy_tables:
        inspector = sa.inspect(connection)
        present = [name for name in legacy_tables if inspector.has_table(name)]
        if present and len(present) != len(legacy_tables):
            raise StoreError(
                f"the {line} database holds {', '.join(present)} but not all of "
                f"{', '.join(legacy_tables)}: not a database this software made"
            )
        if present:
            with EnvironmentContext(config, script) as env:
                env.configure(connection=connection, version_table=version_table(line))
                env.get_context().stamp(script, script.get_base() or "base")

    def steps(revision: Any, context: Any) -> Any:
        return script._upgrade_revs(to, revision)

    with EnvironmentContext(config, script, fn=steps, destination_rev=to) as env:
        env.configure(connection=connection, version_table=version_table(line))
        env.run_migrations()
    reached = current(connection, line)
    if reached is None:
        raise StoreError(f"the {line} database has no revision after its upgrade")
    if reached != before:
        log.info("%s database migrated: %s -> %s", line, before or "new", reached)
    return reached
