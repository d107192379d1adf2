"""Reading logs for other nodes: the own Ledger as a LogReader, and entries with their proofs.

Every message that carries entries of a log (a fetched record, a receipt, a Zero FIR hand-over,
a key history) builds them here, from any LogReader (the own log or a verified replica), so
each entry travels with its inclusion proof and the log's key hand-overs travel with them
(docs/ledger.md, "Key rotation").
"""

from __future__ import annotations

from federation.interfaces import LogReader
from ledger.checkpoint import parse_note
from ledger.errors import InputError
from ledger.log import Ledger
from protos import federation_pb2

__all__ = ["LedgerLogReader", "proven_at_checkpoint", "proven_entry", "proven_key_handovers"]


class LedgerLogReader:
    """A LogReader over a node's own Ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @property
    def origin(self) -> str:
        return self._ledger.origin

    def size(self) -> int:
        return self._ledger.size()

    def checkpoint(self) -> bytes:
        return self._ledger.checkpoint()

    def leaves(self, start: int, end: int) -> list[bytes]:
        if not 0 <= start <= end <= self._ledger.size():
            raise InputError(f"entry range {start}..{end} is outside the log")
        return list(self._ledger.store.entries(start, end))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return self._ledger.inclusion_proof(index, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        return self._ledger.consistency_proof(size1, size2)

    def key_handovers(self) -> list[int]:
        return self._ledger.keys.handover_indexes()


def proven_entry(
    log: LogReader, index: int, size: int, *, leaf: bytes | None = None
) -> federation_pb2.ProvenEntry:
    """Entry `index` of `log` with its inclusion proof in the tree of `size` (`leaf`: the
    entry's bytes when the caller holds them already)."""
    raw = leaf if leaf is not None else log.leaves(index, index + 1)[0]
    return federation_pb2.ProvenEntry(
        index=index, leaf=raw, inclusion_proof=log.inclusion_proof(index, size)
    )


def proven_key_handovers(log: LogReader, size: int) -> list[federation_pb2.ProvenEntry]:
    """The log's key hand-over entries below `size`, each proven for the tree of `size`: what a
    reader trusting an earlier key needs to follow the log to the key of that tree."""
    return [proven_entry(log, index, size) for index in log.key_handovers() if index < size]


def proven_at_checkpoint(
    ledger: Ledger, *indexes: int
) -> tuple[bytes, list[federation_pb2.ProvenEntry], list[federation_pb2.ProvenEntry]]:
    """The ledger's newest checkpoint, entries `indexes` proven in its tree, and the key
    hand-overs below it: what a message carrying entries of this log to another node (a Zero
    FIR or a case handed over, their acceptance) holds."""
    log = LedgerLogReader(ledger)
    note = log.checkpoint()
    size = parse_note(note)[0].size
    return note, [proven_entry(log, i, size) for i in indexes], proven_key_handovers(log, size)
