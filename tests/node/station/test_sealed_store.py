"""The station's sealed store: identities kept durably, across reopening."""

from __future__ import annotations

from pathlib import Path

from node.records.sealing import (
    seal_person,
)
from node.station.sealed_store import SealedStore
from tests.node.support import victim


def test_sealed_store_keeps_items_across_reopen(tmp_path: Path) -> None:
    store = SealedStore.open(tmp_path / "sealed")
    item = seal_person(victim(), record_ref="FIR No. 1/2026")
    store.put_many([item])
    store.close()
    again = SealedStore.open(tmp_path / "sealed")
    try:
        found = again.get(item.commitment)
        assert found is not None
        assert (found.salt, found.identity, found.record_ref) == (
            item.salt,
            item.identity,
            "FIR No. 1/2026",
        )
        assert again.get(bytes(32)) is None
    finally:
        again.close()
