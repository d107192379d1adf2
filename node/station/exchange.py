"""Exchange with courts, prisons, prosecution and forensic laboratories: a case exported as a
JSON document with its provenance, and signed inbound messages appended as case events.

Export (`export_case`): the FIR as the node shows it beyond the station (`views.current_view`:
amendments applied, identities the law withholds left out, their names redacted), its events
redacted the same way, the documents it refers to, and for every part the ledger entry it was
drawn from, with its leaf hash and an RFC 9162 inclusion proof in the tree of the signed
checkpoint the export was taken at. A receiver checks it with `check_document` against the
origin's key (from the federation's directory), without the origin's log.

Trusted systems: a court, a prison or a laboratory is trusted once the node's operator adds its
Ed25519 key (`add_system`); adding and removing are NodeEvent entries in the log
("exchange_system_added", "exchange_system_removed"), so the registry is read from the log and
every change to it is on record with who made it. It is never kept anywhere else.

Import (`import_message`): a message is checked in full (the schema, listing every problem; its
dates; a known sender allowed to send its kind), then its signature, then the case it names (this
station's origin, an FIR here, the accused codes it names). Nothing is appended unless all hold.
It is appended once: the event's `imported_from` names the sender, the message id and the digest
of the signed bytes, so the same message imported again returns the first event, and another
message under an id already used is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from google.protobuf.json_format import MessageToDict

from ledger import merkle
from ledger.checkpoint import parse_note, verify_checkpoint
from ledger.errors import InputError, NotFound, ProofError, UsageError, VerificationError
from node.index import casework as casework_index
from node.index.schema import records as records_table
from node.records import limits
from node.records.exchange import inbound
from node.records.exchange.schemas import (
    CASE_FORMAT,
    CASE_SCHEMA,
    CASE_SCHEMA_ID,
    INBOUND_SCHEMA,
    require_valid,
)
from node.records.sealing import rewrite_free_text
from node.records.validation import Problems, check_officer
from node.station import casework, views
from node.station.core import Receipt, Station
from protos import ledger_pb2

SYSTEM_ADDED = "exchange_system_added"
SYSTEM_REMOVED = "exchange_system_removed"
_CASE_ENTRY_KINDS = ("fir", "amendment", "case_event")


# -- the registry of trusted external systems ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExternalSystem:
    """A court, prison, prosecution office or forensic laboratory whose messages are trusted."""

    system_id: str
    kind: str  # a key of inbound.SENDER_KINDS
    name: str
    public_key: bytes
    added_index: int  # the NodeEvent entry that added it
    added_by: str


def trusted_systems(station: Station) -> dict[str, ExternalSystem]:
    """The external systems trusted now, by id: the log's additions and removals in order."""
    t = records_table
    with station.index.engine.connect() as conn:
        indexes = [
            int(i)
            for i in conn.execute(
                sa.select(t.c.ledger_index)
                .where(t.c.kind == "node_event")
                .order_by(t.c.ledger_index)
            ).scalars()
        ]
    found: dict[str, ExternalSystem] = {}
    for position in indexes:
        body = station.ledger.body(position)
        event = body.node_event
        if event.kind not in (SYSTEM_ADDED, SYSTEM_REMOVED):
            continue
        fields = json.loads(event.note)
        if event.kind == SYSTEM_REMOVED:
            found.pop(fields["system_id"], None)
            continue
        found[fields["system_id"]] = ExternalSystem(
            system_id=fields["system_id"],
            kind=fields["kind"],
            name=fields["name"],
            public_key=base64.b64decode(fields["public_key"]),
            added_index=position,
            added_by=body.officer_id,
        )
    return found


def parse_public_key(text: str) -> bytes:
    """An Ed25519 public key given as base64 (44 characters) or hex (64); InputError else."""
    value = text.strip()
    try:
        key = bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise InputError("the public key is 32 bytes of Ed25519, as base64 or hex")
    return key


def add_system(
    station: Station, officer_id: str, system_id: str, kind: str, name: str, public_key: bytes
) -> Receipt:
    """Trusts an external system's key for the message kinds its `kind` may send: appends a
    NodeEvent "exchange_system_added". Adding a system already trusted replaces its kind, name
    and key (a new key) from this entry on."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        if not inbound.SYSTEM_ID.match(system_id):
            problems.add("the system id is 2 to 64 of a-z 0-9 . _ - (e.g. court.cjm-ernakulam)")
        if kind not in inbound.SENDER_KINDS:
            problems.add(f"the kind of system is one of {', '.join(inbound.SENDER_KINDS)}")
        problems.require(name, "the system's name")
        if len(name) > limits.LINE:
            problems.add(f"the system's name is longer than {limits.LINE} characters")
        if len(public_key) != 32:
            problems.add("the public key is 32 bytes of Ed25519")
        current = trusted_systems(station).get(system_id)
        if current is not None and current.public_key == public_key and current.kind == kind:
            problems.add(f"{system_id} is already trusted with this key")
        problems.raise_if_any("system not added")
        note = {
            "system_id": system_id,
            "kind": kind,
            "name": name.strip(),
            "public_key": base64.b64encode(public_key).decode(),
        }
        event = ledger_pb2.NodeEvent(kind=SYSTEM_ADDED, note=json.dumps(note, sort_keys=True))
        return station.append_records(officer_id, [event], ref=system_id)


def remove_system(station: Station, officer_id: str, system_id: str, reason: str) -> Receipt:
    """Stops trusting an external system: appends a NodeEvent "exchange_system_removed"."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.require(reason, "the reason for removing the system")
        if len(reason) > limits.LINE:
            problems.add(f"the reason is longer than {limits.LINE} characters")
        if system_id not in trusted_systems(station):
            problems.add(f"no trusted system {system_id!r}")
        problems.raise_if_any("system not removed")
        note = json.dumps({"system_id": system_id, "reason": reason.strip()}, sort_keys=True)
        event = ledger_pb2.NodeEvent(kind=SYSTEM_REMOVED, note=note)
        return station.append_records(officer_id, [event], ref=system_id)


# -- export -------------------------------------------------------------------------------------


def _event_item(station: Station, row: casework_index.CaseEventRow, redact: Any) -> dict[str, Any]:
    body = station.ledger.body(row.ledger_index)
    event = MessageToDict(body.case_event, preserving_proto_field_name=True)
    rewrite_free_text(event, "case_event", redact)
    item: dict[str, Any] = {
        "ledger_index": row.ledger_index,
        "officer_id": body.officer_id,
        "written_at_ms": body.written_at_ms,
        "event": event,
    }
    tag = inbound.parse_tag(body.imported_from)
    if tag is not None:
        item["external"] = {"sender": tag[0], "message_id": tag[1], "digest": tag[2]}
    return item


def _documents(
    number: str, fir_index: int, fir: Mapping[str, Any], events: list[dict[str, Any]]
) -> list[Any]:
    """The documents the case refers to, in the order they are met."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, ref: str, index: int | None) -> None:
        if ref and (kind, ref) not in seen:
            seen.add((kind, ref))
            found.append(
                {"kind": kind, "ref": ref, **({} if index is None else {"ledger_index": index})}
            )

    add("fir", fir.get("fir_number") or fir.get("zero_fir_number", ""), fir_index)
    add("general_diary", f"GD {fir['gd_reference']}" if fir.get("gd_reference") else "", None)
    add("petition", fir.get("petition_receipt", ""), None)
    for entry in fir.get("persons", []):
        person = entry.get("person", {})
        add("photo", person.get("photo_ref", ""), fir_index)
        add("fingerprint", person.get("fingerprint_ref", ""), fir_index)
    external_kinds = {
        "prison_admission": "prison_record",
        "prison_release": "prison_record",
        "forensic_result": "forensic_report",
    }
    for item in events:
        event, index = item["event"], item["ledger_index"]
        kind = event.get("kind", "")
        if kind == "final_report":
            add("final_report", f"{event.get('report_type', '')} in {number}, entry {index}", index)
        elif kind == "court_progress":
            appeal = event.get("outcome", "").startswith("appeal by ")
            add("appeal" if appeal else "court_case", event.get("court_case_number", ""), index)
        elif kind in external_kinds and "external" in item:
            external = item["external"]
            add(external_kinds[kind], f"{external['sender']}/{external['message_id']}", index)
    return found


def export_case(station: Station, fir_ref: str, *, exported_by: str = "") -> dict[str, Any]:
    """The exchange document of the case of FIR `fir_ref` ("FIR No. 12/2026" or a Zero FIR's
    number), valid against the case schema (checked before it is returned)."""
    with station.writing():  # one consistent moment: no entry is appended meanwhile
        kind, amended = views.amended_view(station, fir_ref)
        if kind != "fir":
            raise NotFound(f"{fir_ref!r} is not an FIR")
        indexes = station.index.lookups.history(fir_ref)
        fir = views.current_view(station, fir_ref)
        number = str(fir.get("fir_number") or fir.get("zero_fir_number") or "")
        redactor = views.protection(station, "fir", amended).redactor
        rows = casework_index.case_events(station.index, number)
        events = [_event_item(station, row, redactor) for row in rows]
        note = station.ledger.checkpoint()
        checkpoint, _ = parse_note(note)
        drawn = sorted({*indexes, *(row.ledger_index for row in rows)})
        if drawn and drawn[-1] >= checkpoint.size:
            raise UsageError("the latest checkpoint does not cover the case yet: try again")
        entries = []
        for position in drawn:
            body = station.ledger.body(position)
            entries.append(
                {
                    "ledger_index": position,
                    "leaf_hash": merkle.leaf_hash(station.ledger.leaf(position)).hex(),
                    "kind": body.WhichOneof("record") or "",
                    "written_at_ms": body.written_at_ms,
                    "officer_id": body.officer_id,
                    "inclusion_proof": [
                        h.hex() for h in station.ledger.inclusion_proof(position, checkpoint.size)
                    ],
                }
            )
        document: dict[str, Any] = {
            "$schema": CASE_SCHEMA_ID,
            "format": CASE_FORMAT,
            "exported_at_ms": station.now(),
            "origin": {
                "node_id": station.config.node_id,
                "origin": station.config.origin,
                "district": station.config.district,
                "police_station": station.config.station,
                "public_key": base64.b64encode(station.ledger.public_key).decode(),
            },
            "checkpoint": {
                "note": note.decode("utf-8"),
                "size": checkpoint.size,
                "root_hash": checkpoint.root.hex(),
            },
            "case": {
                "fir_ref": number,
                "fir_ledger_index": indexes[0],
                "amendment_indexes": indexes[1:],
                "fir": fir,
                "events": events,
                "documents": _documents(number, indexes[0], fir, events),
            },
            "entries": entries,
        }
        if exported_by:
            document["exported_by"] = exported_by
    require_valid(document, CASE_SCHEMA, "the exported case does not meet its schema")
    return document


def check_document(document: Any, public_key: bytes | None = None) -> None:
    """What a receiver checks of a case document, without the origin's log: the schema (every
    problem listed, InputError), the checkpoint's signature by the origin's key (`public_key`,
    taken from the federation's directory; the document's own when None), and each entry's
    inclusion in the checkpoint's tree (VerificationError naming the first that fails). Every
    part of the case must come from a listed entry."""
    require_valid(document, CASE_SCHEMA, "not a valid case document")
    origin = document["origin"]
    key = public_key if public_key is not None else base64.b64decode(origin["public_key"])
    checkpoint = verify_checkpoint(
        document["checkpoint"]["note"].encode("utf-8"), key, origin["origin"], origin["origin"]
    )
    if (checkpoint.size, checkpoint.root.hex()) != (
        document["checkpoint"]["size"],
        document["checkpoint"]["root_hash"],
    ):
        raise VerificationError("the checkpoint's size or root differs from its signed note")
    listed = set()
    for entry in document["entries"]:
        try:
            merkle.verify_inclusion(
                bytes.fromhex(entry["leaf_hash"]),
                entry["ledger_index"],
                checkpoint.size,
                [bytes.fromhex(h) for h in entry["inclusion_proof"]],
                checkpoint.root,
            )
        except ProofError as exc:
            raise VerificationError(f"entry {entry['ledger_index']}: {exc}") from None
        listed.add(entry["ledger_index"])
    case = document["case"]
    used = {case["fir_ledger_index"], *case.get("amendment_indexes", [])}
    used |= {item["ledger_index"] for item in case["events"]}
    if not used <= listed:
        missing = ", ".join(str(i) for i in sorted(used - listed))
        raise VerificationError(f"parts of the case come from entries not listed: {missing}")


# -- import ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Imported:
    """What importing one message did."""

    fir_number: str
    ledger_index: int
    appended: bool  # False: the message was imported before, at `ledger_index`
    digest: str  # SHA-256 of the signed bytes, hex


def _earlier(
    station: Station, fir_number: str, sender: str, message_id: str
) -> tuple[int, str] | None:
    """The event a message of `sender` with `message_id` was appended as, and its digest."""
    for row in casework_index.case_events(station.index, fir_number):
        tag = inbound.parse_tag(station.ledger.body(row.ledger_index).imported_from)
        if tag is not None and tag[:2] == (sender, message_id):
            return row.ledger_index, tag[2]
    return None


def import_message(station: Station, officer_id: str, message: Any) -> Imported:
    """Appends a signed inbound message as an event on its case (see the module docstring).
    InputError listing every problem, or VerificationError for a signature that does not hold;
    nothing is appended then."""
    problems = Problems()
    check_officer(officer_id, problems)
    try:
        require_valid(message, INBOUND_SCHEMA, "message")
    except InputError as exc:
        problems.items.extend(exc.problems)
    if isinstance(message, Mapping):
        inbound.check_message_dates(message, problems)
    problems.raise_if_any("message not imported")
    with station.writing():
        sender = trusted_systems(station).get(message["sender"])
        if sender is None:
            problems.add(
                f"unknown sender {message['sender']!r}: no trusted system of that id "
                "(`cctns case add-system`)"
            )
        elif message["kind"] not in inbound.SENDER_KINDS[sender.kind]:
            problems.add(f"a {sender.kind} ({sender.system_id}) may not send {message['kind']}")
        problems.raise_if_any("message not imported")
        assert sender is not None
        inbound.verify_signature(message, sender.public_key)
        digest = inbound.message_digest(message).hex()
        case = message["case"]
        if case["origin"] != station.config.origin:
            problems.add(f"the case is at {case['origin']}, not at this station")
        view = station.index.lookups.fir(case["fir_number"].strip())
        if view is None:
            problems.add(f"no FIR {case['fir_number']!r} at this station")
        problems.raise_if_any("message not imported")
        assert view is not None
        number = view.fir_number or view.zero_fir_number
        earlier = _earlier(station, number, sender.system_id, message["message_id"])
        if earlier is not None:
            if earlier[1] != digest:
                raise InputError(
                    f"message not imported: {sender.system_id} already sent a different "
                    f"message with id {message['message_id']!r} (entry {earlier[0]})"
                )
            return Imported(number, earlier[0], False, digest)
        fir = station.ledger.body(view.ledger_index).fir
        event = inbound.case_event(message, fir, number, problems)
        event.at_ms = station.event_time(event.at_ms, "/body: the date of the event", problems)
        limits.check(event, problems)
        problems.raise_if_any("message not imported")
        tag = inbound.import_tag(sender.system_id, message["message_id"], bytes.fromhex(digest))
        receipt = casework.append_external_event(station, officer_id, event, tag)
        return Imported(number, receipt.index, True, digest)


__all__ = [
    "SYSTEM_ADDED",
    "SYSTEM_REMOVED",
    "ExternalSystem",
    "Imported",
    "add_system",
    "check_document",
    "export_case",
    "import_message",
    "parse_public_key",
    "remove_system",
    "trusted_systems",
]
