"""MemoryLogStore against the shared LogStore conformance suite."""

from __future__ import annotations

from pathlib import Path

from ledger.store import LogStore, MemoryLogStore
from tests.ledger.store_conformance import LogStoreConformance


class TestMemoryLogStore(LogStoreConformance):
    durable = False

    def make_store(self, path: Path) -> LogStore:
        return MemoryLogStore()
