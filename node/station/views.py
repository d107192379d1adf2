"""Reading a station's records: a record's history, its current view (amendments applied), and
the unsealed view that only this station's officers see.

`current_view` is the shared record as the withholding policy (`node.records.withholding`) lets
it be shown: sealed identities stay sealed, protected persons of older entries lose their
identity too, and their names are redacted from the free text. `unsealed_view` fills sealed
identities back in from the station's sealed store and must never be sent to another node.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict

from ledger.errors import NotFound
from node.index import transfers as moved
from node.records.refs import canonical_petition
from node.records.sealing import (
    WITHHELD_FIELDS,
    Redactor,
    SealedIdentity,
    restore,
    rewrite_free_text,
    unsealed_person,
)
from node.records.withholding import Assessment, assess_view
from node.station.core import Station
from protos import ledger_pb2, records_pb2

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
    """The original record and every amendment to it, in the order they were appended. A case
    taken over from another station (`ref` its key, "FIR No. 12/2026 of kerala/.../ps-x") is
    its FIR as the sender's proven entry in the CaseTakeover entry holds it: one item, the
    take-over's index, the sender's officer and time (the sender's amendments are not
    carried)."""
    indexes = station.index.lookups.history(ref)
    if not indexes:
        took = moved.taken_over_case(station.index, ref)
        if took is not None:
            return [_taken_over(station, took.ledger_index)]
        raise NotFound(f"no record {ref!r} at this station")
    items = []
    for position in indexes:
        body = station.ledger.body(position)
        kind = body.WhichOneof("record") or ""
        record = MessageToDict(getattr(body, kind), preserving_proto_field_name=True)
        items.append(HistoryItem(position, kind, body.officer_id, body.written_at_ms, record))
    return items


def _taken_over(station: Station, ledger_index: int) -> HistoryItem:
    """The FIR a CaseTakeover entry holds (verified when it was taken over)."""
    took = station.ledger.body(ledger_index).case_takeover
    signed = ledger_pb2.SignedEntry.FromString(took.fir.leaf)
    body = ledger_pb2.EntryBody.FromString(signed.body)
    record = MessageToDict(body.fir, preserving_proto_field_name=True)
    return HistoryItem(ledger_index, "fir", body.officer_id, body.written_at_ms, record)


def amended_view(station: Station, ref: str) -> tuple[str, dict[str, Any]]:
    """The record's kind and the record as signed with each amendment applied in order: no
    policy applied (`current_view` is what may be shown)."""
    items = history(station, ref)
    view = dict(items[0].record)
    for item in items[1:]:
        for path, value in json.loads(item.record.get("changes_json", "{}")).items():
            _apply_change(view, path, value)
    return items[0].kind, view


@dataclass(frozen=True, slots=True)
class Protection:
    """What the withholding policy protects in one record's view: its answer (for an FIR), the
    identities this station holds behind the record's commitments, the protected persons that
    stand in clear (entries written before the policy), and what redacts all of them."""

    assessment: Assessment | None
    sealed: list[SealedIdentity]
    clear: list[records_pb2.Person]
    redactor: Redactor


def protection(station: Station, kind: str, view: dict[str, Any]) -> Protection:
    """Asks the policy about `view` (an `amended_view`) and gathers what redacts it. A GD entry
    is redacted with the identities of the FIRs registered on it (their information was first
    written there)."""
    commitments = _commitments(view)
    if kind == "general_diary":
        gd = f"{view.get('gd_date', '')}/{view.get('gd_number', '')}"
        for position in station.index.lookups.firs_citing_gd(gd):
            fir = station.ledger.body(position).fir
            commitments += [e.person.identity_commitment for e in fir.persons]
    sealed = station.sealed.get_many(c for c in commitments if c)
    assessment = assess_view(view, station.statutes) if kind == "fir" else None
    clear: list[records_pb2.Person] = []
    if assessment is not None:
        for position, entry in enumerate(view.get("persons", [])):
            person = entry.get("person", {})
            if assessment.protected(position) and not assessment.parties[position].sealed:
                clear.append(ParseDict(_identity_part(person), records_pb2.Person()))
    return Protection(assessment, sealed, clear, Redactor(sealed, clear))


def protected_person(station: Station, ref: str, person_id: str) -> str:
    """The law that withholds the identity of the person `person_id` of the FIR `ref` (a child,
    a victim of a sexual offence, ...: `node.records.withholding`), or "" when none does, or
    when `ref` is no FIR of this station or does not name that person."""
    if not person_id or station.index.lookups.record_index(ref) is None:
        return ""
    kind, view = amended_view(station, ref)
    if kind != "fir":
        return ""
    assessment = assess_view(view, station.statutes)
    for position, entry in enumerate(view.get("persons", [])):
        person = entry.get("person", {})
        if isinstance(person, dict) and person.get("person_id") == person_id:
            ground = assessment.grounds[position]
            return ground.law if ground is not None else ""
    return ""


def current_view(station: Station, ref: str) -> dict[str, Any]:
    """The record as it reads now, as it may be shown beyond this station's officers: the
    original with each amendment applied in order, every person the withholding policy protects
    without their identity (sealed ones carry only the commitment; one standing in clear in an
    older entry loses the identifying fields and is marked `identity_withheld`), and their names
    redacted from every free-text field (`node.records.sealing.FREE_TEXT`)."""
    kind, view = amended_view(station, ref)
    found = protection(station, kind, view)
    if found.assessment is not None:
        for position, entry in enumerate(view.get("persons", [])):
            person = entry.get("person", {})
            if found.assessment.protected(position) and not person.get("identity_commitment"):
                for name in WITHHELD_FIELDS:
                    person.pop(name, None)
                person["identity_withheld"] = True
    rewrite_free_text(view, kind, found.redactor)
    return view


def unsealed_view(station: Station, ref: str) -> dict[str, Any]:
    """The record with sealed identities filled back in and their placeholders restored in the
    free text, for this station's officers only: never to be sent to another node.
    `current_view` stays sealed."""
    kind, view = amended_view(station, ref)
    commitments = _commitments(view)
    if not commitments:
        return view
    found = {item.commitment: item for item in station.sealed.get_many(commitments)}
    for person in _person_dicts(view):
        encoded = person.get("identity_commitment")
        item = found.get(base64.b64decode(encoded)) if encoded else None
        if item is not None:
            person.update(
                MessageToDict(item.identity, preserving_proto_field_name=True),
                identity_sealed=True,
            )
    rewrite_free_text(view, kind, lambda text: restore(text, found.values()))
    return view


def sealed_person(station: Station, person: records_pb2.Person) -> records_pb2.Person:
    """`person` as in an entry, with its identity filled in when this station holds it."""
    item = station.sealed.get(person.identity_commitment) if person.identity_commitment else None
    return person if item is None else unsealed_person(person, item.identity)


def _person_dicts(node: Any) -> list[dict[str, Any]]:
    """Every person of a view (a dict holding a commitment or a name), wherever it stands:
    an FIR's persons, an NCR's informant, a petition's petitioner and respondents."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "identity_commitment" in node or "person_id" in node:
            found.append(node)
        for value in node.values():
            found += _person_dicts(value)
    elif isinstance(node, list):
        for value in node:
            found += _person_dicts(value)
    return found


def _commitments(view: dict[str, Any]) -> list[bytes]:
    return [
        base64.b64decode(person["identity_commitment"])
        for person in _person_dicts(view)
        if isinstance(person.get("identity_commitment"), str)
    ]


def _identity_part(person: dict[str, Any]) -> dict[str, Any]:
    """The identifying fields of a person's dict that parse as a Person (amended values may
    be anything)."""
    out: dict[str, Any] = {}
    for name in ("name", "relative_name", "address"):
        if isinstance(person.get(name), str):
            out[name] = person[name]
    aliases = person.get("aliases")
    if isinstance(aliases, list):
        out["aliases"] = [a for a in aliases if isinstance(a, str)]
    return out


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
    return None if idx is None else petition_at(station, idx)


def petition_at(station: Station, idx: int) -> FoundPetition | None:
    """The petition at ledger index `idx` (None when the entry there is no petition)."""
    body = station.ledger.body(idx)
    if body.WhichOneof("record") != "petition":
        return None
    pet = body.petition
    mobile = sealed_person(station, pet.petitioner).mobile
    return FoundPetition(pet.receipt_number, idx, pet.received_at_ms, mobile)


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
