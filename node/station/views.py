"""Reading a station's records: a record's history, its current view (amendments applied), and
the unsealed view that only this station's officers see.

`current_view` is the shared record: sealed identities stay sealed. `unsealed_view` fills them
back in from the station's sealed store and must never be sent to another node.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict

from ledger.errors import NotFound
from node.records.refs import canonical_petition
from node.records.sealing import restore, unsealed_person
from node.station.core import Station
from protos import records_pb2

_INFORMANT_ROLES = (records_pb2.COMPLAINANT, records_pb2.INFORMANT)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One entry in a record's history: the original, then each amendment in order."""

    index: int
    kind: str
    officer_id: str
    written_at_ms: int
    record: dict[str, Any]


def history(station: Station, ref: str) -> list[HistoryItem]:
    """The original record and every amendment to it, in the order they were appended."""
    indexes = station.index.lookups.history(ref)
    if not indexes:
        raise NotFound(f"no record {ref!r} at this station")
    items = []
    for position in indexes:
        body = station.ledger.body(position)
        kind = body.WhichOneof("record") or ""
        record = MessageToDict(getattr(body, kind), preserving_proto_field_name=True)
        items.append(HistoryItem(position, kind, body.officer_id, body.written_at_ms, record))
    return items


def current_view(station: Station, ref: str) -> dict[str, Any]:
    """The record as it reads now: the original with each amendment applied in order."""
    items = history(station, ref)
    view = dict(items[0].record)
    for item in items[1:]:
        for path, value in json.loads(item.record.get("changes_json", "{}")).items():
            _apply_change(view, path, value)
    return view


def unsealed_view(station: Station, ref: str) -> dict[str, Any]:
    """The current view with sealed identities filled back in, for this station's officers
    only: never to be sent to another node. `current_view` stays sealed."""
    view = current_view(station, ref)
    entries = view.get("persons", [])
    commitments = [
        base64.b64decode(e["person"]["identity_commitment"])
        for e in entries
        if e.get("person", {}).get("identity_commitment")
    ]
    if not commitments:
        return view
    found = {item.commitment: item for item in station.sealed.get_many(commitments)}
    for entry in entries:
        person = entry.get("person", {})
        encoded = person.get("identity_commitment")
        item = found.get(base64.b64decode(encoded)) if encoded else None
        if item is not None:
            person.update(
                MessageToDict(item.identity, preserving_proto_field_name=True),
                identity_sealed=True,
            )
    if isinstance(view.get("brief_facts"), str):
        view["brief_facts"] = restore(view["brief_facts"], found.values())
    return view


def sealed_person(station: Station, person: records_pb2.Person) -> records_pb2.Person:
    """`person` as in an entry, with its identity filled in when this station holds it."""
    item = station.sealed.get(person.identity_commitment) if person.identity_commitment else None
    return person if item is None else unsealed_person(person, item.identity)


def _apply_change(view: dict[str, Any], path: str, value: Any) -> None:
    """Applies one amendment path to a record dict (persons are addressed by person_id)."""
    parts = path.split(".")
    if parts[0] == "persons" and len(parts) == 3:
        for entry in view.get("persons", []):
            if entry.get("person", {}).get("person_id") == parts[1]:
                entry["person"][parts[2]] = value
        return
    if parts[0] == "sections" and isinstance(value, list):
        view["sections"] = [
            dict(zip(("act", "section"), str(item).split(":", 1), strict=False)) for item in value
        ]
        return
    target = view
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


@dataclass(frozen=True, slots=True)
class FoundPetition:
    receipt_number: str
    ledger_index: int
    received_at_ms: int
    petitioner_mobile: str


def find_petition(station: Station, receipt: str) -> FoundPetition | None:
    """The petition with this receipt number, from its ledger entry."""
    canonical = canonical_petition(receipt)
    if canonical is None:
        return None
    idx = station.index.lookups.record_index(canonical)
    if idx is None:
        return None
    body = station.ledger.body(idx)
    if body.WhichOneof("record") != "petition":
        return None
    pet = body.petition
    return FoundPetition(pet.receipt_number, idx, pet.received_at_ms, pet.petitioner.mobile)


def fir_contact_mobiles(station: Station, ledger_index: int) -> list[str]:
    """Mobile numbers of the complainants and informants of the FIR at `ledger_index`, sealed
    identities included (read from this station's sealed store, for the comparison only)."""
    body = station.ledger.body(ledger_index)
    if body.WhichOneof("record") != "fir":
        return []
    out: list[str] = []
    for entry in body.fir.persons:
        if entry.role in _INFORMANT_ROLES:
            person = sealed_person(station, entry.person)
            if person.mobile:
                out.append(person.mobile)
    return out
