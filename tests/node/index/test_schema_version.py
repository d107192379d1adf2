"""An index written with an older shape is dropped and projected again from the ledger when the
station opens it (real RocksDB ledger, real SQLite index)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from node.config import DataDir
from node.index.schema import SCHEMA_VERSION, index_meta, records
from node.station import registers
from node.station.core import Station
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"


def test_an_index_of_an_older_shape_is_projected_again(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "node")
    data_dir.create(origin=ORIGIN)
    station = Station.open(data_dir)
    receipt = registers.register_fir(station, "PEN100001", theft_fir())
    size = station.ledger.size()
    url = str(station.index.engine.url)
    station.close()
    # As an earlier version left it: no schema row, and a table without today's column.
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(index_meta.delete().where(index_meta.c.key == "schema"))
        conn.execute(sa.text("ALTER TABLE records DROP COLUMN imported"))
    engine.dispose()

    again = Station.open(data_dir)
    try:
        assert again.index.indexed_size() == again.ledger.size() == size
        with again.index.engine.connect() as conn:
            version = conn.execute(
                sa.select(index_meta.c.value).where(index_meta.c.key == "schema")
            ).scalar()
            imported = conn.execute(
                sa.select(records.c.imported).where(records.c.ref == receipt.ref)
            ).scalar()
        assert version == SCHEMA_VERSION
        assert imported is False
        assert again.index.lookups.record_index(receipt.ref) == receipt.index
    finally:
        again.close()
