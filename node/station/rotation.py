"""Handing the station's log over to a new signing key (docs/ledger.md, "Key rotation").

Three steps, each durable before the next, so that a crash between any two leaves a node that
opens and verifies (`Station.open` reads the key the log says is in force and finishes or
forgets the rotation: `DataDir.key_in_force`):

1. a fresh key is written to `keys/node.ed25519.next` (owner-only, synced);
2. the hand-over entry is appended (`Ledger.rotate_key`): signed by the old key, carrying the new
   key's possession signature, committed with a checkpoint signed by the new key and the log's
   key list, in one atomic commit;
3. the key file is replaced by the new key (one rename): the old key is gone.

Crash after 1: the log was never handed over; the next open deletes the unused key. Crash after
2: the log is handed over; the next open moves the new key into place. The node's certificate
still names the old key until it is re-enrolled (`cctns ca enrol`); peers follow the log's
hand-over either way.
"""

from __future__ import annotations

import nacl.signing

from ledger.errors import UsageError
from node.config import DataDir
from node.index.record_index import IndexedEntry
from node.records.validation import Problems, check_officer
from node.station.core import Receipt, Station


def rotate_key(station: Station, data_dir: DataDir, officer_id: str, *, note: str = "") -> Receipt:
    """Hands the station's log over to a fresh key and makes it the node's key; returns the
    receipt of the hand-over entry. `data_dir` is the directory the station was opened from."""
    problems = Problems()
    check_officer(officer_id, problems)
    problems.raise_if_any("key not rotated")
    with station.writing():
        ledger = station.ledger
        if bytes(data_dir.load_key().verify_key) != ledger.public_key:
            raise UsageError(f"{data_dir.key_path} does not hold the key this station signs with")
        new_key = nacl.signing.SigningKey.generate()
        data_dir.write_next_key(new_key)
        appended = ledger.rotate_key(new_key, officer_id=officer_id, note=note)
        station.index.apply([IndexedEntry(appended.index, appended.body)])
        data_dir.key_in_force(ledger.public_key)
    return Receipt(
        "node_event", "", appended.index, appended.leaf_hash, appended.body.written_at_ms
    )


__all__ = ["rotate_key"]
