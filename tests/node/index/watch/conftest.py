"""The watch-list tests' fixtures: two real stations (A in Ernakulam City, B in Thrissur City)
and an aggregating node's index (`index`: on SQLite and on real PostgreSQL) over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import DataDir
from node.index.aggregate.index import AggregateIndex
from node.station.core import Station
from tests.node.index.watch.support import A, B


@pytest.fixture
def stations(tmp_path: Path) -> Iterator[dict[str, Station]]:
    opened = {}
    for origin, district, name in ((A, "Ernakulam City", "A"), (B, "Thrissur City", "B")):
        data_dir = DataDir(tmp_path / name)
        data_dir.create(origin=origin, district=district, station=name)
        opened[origin] = Station.open(data_dir)
    yield opened
    for station in opened.values():
        station.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AggregateIndex]:
    url = (
        f"sqlite:///{tmp_path / 'aggregate.sqlite3'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    opened = AggregateIndex(url)
    yield opened
    opened.close()
