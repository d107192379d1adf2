"""A station of Kalamassery, on real RocksDB and SQLite files, for the station's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.config import DataDir
from node.station.core import Station

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    return data_dir


@pytest.fixture
def station(data_dir: DataDir) -> Iterator[Station]:
    opened = Station.open(data_dir)
    yield opened
    opened.close()
