"""Audited reads, in the station's own log: who asked (the node and the officer), for which case
and purpose, what was asked and which records left (`federation.audit.audit_entry` builds the
entry; another office's reads come through the peer service, an officer's own through the JSON
API).

A name asked for is sealed like an identity the law withholds: a search for a person may name a
victim, and the audit entry replicates to every office above the station. The entry keeps a
placeholder naming the salted commitment (`[withheld:1a2b3c4d]`, node/records/sealing.py); the
name stays in the station's sealed store, and is released only by a logged disclosure
(`node.station.disclosure.disclose`), as any sealed identity is.
"""

from __future__ import annotations

from federation.audit import audit_entry, describe_search
from node.records.sealing import placeholder, seal_person
from node.station.core import SYSTEM_OFFICER, Draft, Receipt, Station
from protos import federation_pb2, ledger_pb2, records_pb2

# Query kinds whose query is a person's name (federation/service.py, node/web/pages/api.py).
# A phone number watched is sealed the same way: it names a person as surely as a name does.
NAME_QUERIES = ("search:person", "hit:person_name", "watch:person", "watch:phone")


def append_audit(station: Station, entry: ledger_pb2.AuditEntry) -> Receipt:
    """Appends the audit entry of one read, the name asked for sealed; its receipt."""
    audit = ledger_pb2.AuditEntry()
    audit.CopyFrom(entry)
    sealed = []
    if audit.query_kind in NAME_QUERIES and audit.query:
        asked = records_pb2.Person(name=audit.query)
        item = seal_person(asked, record_ref=f"audit {audit.query_kind}")
        audit.query = placeholder(item.commitment)
        sealed.append(item)
    with station.writing():
        body = station.body(SYSTEM_OFFICER, audit)
        # Durable before the answer leaves (its receipt is signed for); indexed just after.
        return station.run(Draft("audit", "", [body], sealed=sealed), index_later=True)


def append_probe_search_audit(
    station: Station,
    checked: federation_pb2.QueryContext,
    kind: str,
    probe: bytes,
    refs: list[str],
) -> Receipt:
    """The audit entry of an officer's search by image on this node (kind "face" or
    "fingerprint"): the probe named by its SHA-256, the records returned; its receipt."""
    asked = federation_pb2.SearchRequest(kind=kind, probe=probe)
    entry = audit_entry(
        station.config.node_id,
        checked,
        f"search:{kind}",
        describe_search(asked),
        refs,
        full_record=True,
    )
    return append_audit(station, entry)
