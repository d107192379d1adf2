"""The forger's tools: entries appended as a key holder would, without the Ledger's checks, to
show that readers refuse what the Ledger would never write."""

from __future__ import annotations

import nacl.signing

from ledger import merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.entry import encode_leaf, sign_body
from ledger.keys import KEY_ROTATION, META_KEYS, Era, LogKeys, sign_possession, stored_keys
from ledger.store import CommitBatch, LogStore
from protos import ledger_pb2

FORGED_AT_MS = 1_800_000_000_000


def forge(
    store: LogStore,
    origin: str,
    body: ledger_pb2.EntryBody,
    *,
    entry_key: nacl.signing.SigningKey,
    checkpoint_key: nacl.signing.SigningKey,
    meta: dict[str, bytes] | None = None,
) -> int:
    """Appends `body` signed by `entry_key`, with a checkpoint by `checkpoint_key`, in one
    commit; returns its index."""
    start = store.size()
    body.origin, body.index, body.written_at_ms = origin, start, FORGED_AT_MS
    raw = body.SerializeToString(deterministic=True)
    leaf = encode_leaf(raw, sign_body(raw, bytes(entry_key) + bytes(entry_key.verify_key)))
    nodes = merkle.new_nodes(start, [merkle.leaf_hash(leaf)], store)
    root = merkle.MerkleTree(merkle.PendingNodes(store, nodes)).root(start + 1)
    note = sign_checkpoint(Checkpoint(origin, start + 1, root), checkpoint_key)
    store.commit(CommitBatch(start, [leaf], nodes, checkpoint=note, meta=meta or {}))
    return start


def forge_handover(
    store: LogStore,
    origin: str,
    *,
    previous: bytes,
    new: nacl.signing.SigningKey,
    possession_by: nacl.signing.SigningKey,
    entry_key: nacl.signing.SigningKey,
    checkpoint_key: nacl.signing.SigningKey | None = None,
) -> int:
    """A hand-over from `previous` to `new`, its possession signature made by `possession_by`
    (the new key, in an honest one), the entry signed by `entry_key` (the key in force, in an
    honest one), the checkpoint by `checkpoint_key` (default: the new key); the store's key
    list updated as the Ledger would. Returns its index."""
    index = store.size()
    event = ledger_pb2.NodeEvent(
        kind=KEY_ROTATION,
        previous_key=previous,
        public_key=bytes(new.verify_key),
        possession=sign_possession(possession_by, origin, index, previous),
    )
    known = stored_keys(store.meta(META_KEYS), previous)
    keys = LogKeys((*known.eras, Era(index + 1, bytes(new.verify_key), FORGED_AT_MS)))
    return forge(
        store,
        origin,
        ledger_pb2.EntryBody(officer_id="PEN1", node_event=event),
        entry_key=entry_key,
        checkpoint_key=checkpoint_key or new,
        meta={META_KEYS: keys.encode()},
    )
