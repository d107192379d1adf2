"""The index fixture: every index test runs on SQLite and on PostgreSQL (its own schema)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.index.record_index import RecordIndex


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordIndex]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    idx = RecordIndex(url)
    try:
        yield idx
    finally:
        idx.close()
