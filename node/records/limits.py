"""Every input bounded: the one table of limits on what a record, a peer's request or a form may
hold, and the check that walks a message against it.

The table is the documentation. Each string field has a most number of characters (`TEXT`, by
"Message.field" of protos/records.proto, ledger.proto and federation.proto), each bytes field a
most number of bytes (`BYTES`), each repeated field a most number of items (`COUNT`); a field not
listed gets the default of its kind. Times (int64 fields named `*_ms`) lie between the years
`FIRST_YEAR` and `LAST_YEAR` (node/records/validation.py, with the other facts of time),
coordinates on the globe, and a whole record within `MAX_RECORD_BYTES` once encoded. Every path
reads these numbers and no other: the station checks every record with `check` before it numbers
anything (node/station), the web pages and the JSON API read form fields and parameters with them
(node/web), the peer service checks each request (federation/service.py, through
`LocalNode.check_request`), and `cctns record add` goes through the station.

Why these numbers (characters, not bytes: Malayalam takes three bytes a character in UTF-8):
  CODE 40        codes and kinds from fixed lists (tighter where the index's column is)
  REFERENCE 40   record references ("FIR No. 123/2026", "PET/2026/000123")
  IDENTIFIER 60  engine and chassis numbers, person and property ids (OFFICER_ID 64)
  NAME 120       a person's name as written in the registers (the portal's limit since 2024)
  LINE 200       a subject, a court, an office's node id or a log's origin (ORIGIN), a query
  ADDRESS 400    a postal address with landmarks
  DESCRIPTION 1,000  a property item, a place of occurrence
  NOTE 2,000     a status note, a reason for closing or correcting, a GD entry's summary
  DETAILS 5,000  a petition's, a service request's or a grievance's account
  FACTS 20,000   an FIR's or NCR's brief facts, a case diary entry (about eight typed pages)
and counts: 100 persons and 100 property items in one FIR (a riot or a large seizure), 20 sections,
10 aliases or identifying marks a person. A record at every limit at once may still be larger than
the ledger takes (`MAX_RECORD_BYTES`, under `ledger.log.MAX_ENTRY_BYTES`): it is refused whole, with
its size, before anything is numbered.

`MAX_REQUEST_BYTES` bounds any HTTP request body: the FIR form with every field at its limit in
Malayalam, percent-encoded (9 bytes a character), is about 250 KiB, so 512 KiB refuses a megabyte
field (413) before it is parsed and never a real form. `PUBLIC_ROWS` and `PUBLIC_TEXT` bound the
public lists (missing persons, unidentified bodies, recovered vehicles and property): rows, and
the characters of each free-text cell, so that a record written before these limits cannot make
a public page large either.

Pure: no I/O. `check` lists every problem and never includes the offending value in a message.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from ledger.errors import InputError
from ledger.log import MAX_ENTRY_BYTES
from node.records.validation import FIRST_YEAR, LAST_YEAR, Problems, time_in_years
from protos import federation_pb2, ledger_pb2, records_pb2

__all__ = [
    "ADDRESS",
    "BLOB_BYTES",
    "BYTES",
    "CODE",
    "COUNT",
    "DEFAULT_BYTES",
    "DEFAULT_COUNT",
    "DEFAULT_TEXT",
    "DESCRIPTION",
    "DETAILS",
    "FACTS",
    "FIRST_YEAR",
    "IDENTIFIER",
    "LAST_YEAR",
    "LINE",
    "MAX_RECORD_BYTES",
    "MAX_REQUEST_BYTES",
    "NAME",
    "NOTE",
    "OFFICER_ID",
    "ORIGIN",
    "PROBE_BYTES",
    "PUBLIC_ROWS",
    "PUBLIC_TEXT",
    "REFERENCE",
    "TEXT",
    "UPLOAD_BYTES",
    "check",
    "check_text",
    "clip",
    "count",
    "problems",
    "size",
    "text",
    "whole_number",
]

CODE: Final = 40
REFERENCE: Final = 40
IDENTIFIER: Final = 60
NAME: Final = 120
LINE: Final = 200
ADDRESS: Final = 400
DESCRIPTION: Final = 1_000
NOTE: Final = 2_000
DETAILS: Final = 5_000
FACTS: Final = 20_000
# A log's origin line ("cctns.in/kerala/ernakulam-city/ps-kalamassery").
ORIGIN: Final = 200
# An officer's id (node/records/validation.py: a letter or digit and up to 63 more).
OFFICER_ID: Final = 64
# A case taken over from another station, named at the unit by the FIR number and the
# sender's node id ("FIR No. 12/2026 of kerala/ernakulam-city/ps-kalamassery":
# node/records/case_transfer.py case_key).
CASE_KEY: Final = REFERENCE + len(" of ") + ORIGIN

DEFAULT_TEXT: Final = LINE
DEFAULT_COUNT: Final = 20
DEFAULT_BYTES: Final = 1_024
# A signed note (a checkpoint with its cosignature lines).
NOTE_BYTES: Final = 16 * 1024
# A leaf as the ledger writes it: the body, its 64-byte signature and their framing.
LEAF_BYTES: Final = MAX_ENTRY_BYTES + 128
# Room in an entry for the envelope around the record (origin, index, time, officer).
_ENVELOPE: Final = 4 * 1024
MAX_RECORD_BYTES: Final = MAX_ENTRY_BYTES - _ENVELOPE
MAX_REQUEST_BYTES: Final = 512 * 1024
# A blob in the node's blob store (node/station/blobs.py): a photo is well under a megabyte, a
# ten-print card scanned at 500 ppi in 8-bit grey is about 16 MB raw, a few MB compressed.
BLOB_BYTES: Final = 16 * 1024 * 1024
# A probe image or template of a biometric search (SearchRequest.probe): a photo to search by
# face, a chance print; under gRPC's message limit (federation/grpc_server.py).
PROBE_BYTES: Final = 4 * 1024 * 1024
# A request that uploads a photo (node/web/pages/photos.py): one blob and a few form fields.
UPLOAD_BYTES: Final = BLOB_BYTES + 64 * 1024
PUBLIC_ROWS: Final = 200
PUBLIC_TEXT: Final = 500

# The most characters of each string field ("Message.field"); DEFAULT_TEXT for the others.
TEXT: Final[Mapping[str, int]] = {
    # records.proto (never wider than the index's column for the field: node/index/schema.py)
    "ActSection.act": 20,
    "ActSection.section": CODE,
    "Person.person_id": IDENTIFIER,
    "Person.name": NAME,
    "Person.aliases": NAME,
    "Person.relative_name": NAME,
    "Person.relation": 8,
    "Person.date_of_birth": 10,
    "Person.sex": 2,
    "Person.address": ADDRESS,
    "Person.identifying_marks": LINE,
    "Person.photo_ref": LINE,
    "Photo.purpose": CODE,
    "Photo.record_ref": REFERENCE,
    "Photo.person_id": IDENTIFIER,
    "Photo.subject": NAME,
    "Photo.sha256": 64,
    "Photo.content_type": CODE,
    "Photo.taken_by": OFFICER_ID,
    "Photo.note": NOTE,
    "StoredBlob.sha256": 64,
    "StoredBlob.content_type": CODE,
    "TenPrint.person_id": IDENTIFIER,
    "TenPrint.record_ref": REFERENCE,
    "TenPrint.subject": NAME,
    "ChancePrint.case_ref": REFERENCE,
    "ChancePrint.place": LINE,
    "ChancePrint.lifted_by": OFFICER_ID,
    "FingerprintSlip.matcher": CODE,
    "FingerprintSlip.note": NOTE,
    "BlobRequest.origin": ORIGIN,
    "BlobRequest.digest": 64,
    "Person.fingerprint_ref": LINE,
    "Person.mobile": 20,  # "+91 98470 12345", spaced as people write it
    "Person.nationality": NAME,
    "PersonInCase.accused_code": 8,
    "Vehicle.registration": CODE,
    "Vehicle.engine_number": IDENTIFIER,
    "Vehicle.chassis_number": IDENTIFIER,
    "Vehicle.make": IDENTIFIER,
    "Vehicle.model": IDENTIFIER,
    "Vehicle.colour": CODE,
    "Vehicle.vehicle_type": CODE,
    "PropertyItem.property_id": IDENTIFIER,
    "PropertyItem.category": 80,
    "PropertyItem.description": DESCRIPTION,
    "PropertyItem.identifiers": ADDRESS,
    "Place.description": DESCRIPTION,
    "Place.village": NAME,
    "Place.beat": NAME,
    "Place.direction_from_station": CODE,
    "GeneralDiaryEntry.gd_date": 10,
    "GeneralDiaryEntry.category": CODE,
    "GeneralDiaryEntry.summary": NOTE,
    "Petition.receipt_number": REFERENCE,
    "Petition.subject": LINE,
    "Petition.details": DETAILS,
    "Petition.channel": 20,
    "Petition.gd_reference": REFERENCE,
    "Petition.category": 20,
    "NonCognizableReport.ncr_number": REFERENCE,
    "NonCognizableReport.brief_facts": FACTS,
    "NonCognizableReport.gd_reference": REFERENCE,
    "Fir.fir_number": REFERENCE,
    "Fir.district": 80,
    "Fir.police_station": NAME,
    "Fir.brief_facts": FACTS,
    "Fir.gd_reference": REFERENCE,
    "Fir.information_type": 20,
    "Fir.zero_fir_number": REFERENCE,
    "Fir.jurisdiction_station": NAME,
    "Fir.crime_head": 80,
    "Fir.petition_receipt": REFERENCE,
    "InformationRecording.recorded_by_sex": 1,
    "InformationRecording.place": CODE,
    "InformationRecording.interpreter": NAME,
    "Amendment.record_ref": REFERENCE,
    "Amendment.reason": NOTE,
    # The corrected values as JSON: room for corrected brief facts, escaped.
    "Amendment.changes_json": 2 * FACTS + NOTE,
    "ZeroFirTransfer.zero_fir_number": REFERENCE,
    "ZeroFirTransfer.to_station": ORIGIN,
    "ZeroFirTransfer.direction": 10,
    "ZeroFirTransfer.assigned_fir_number": REFERENCE,
    "PetitionUpdate.receipt_number": REFERENCE,
    "PetitionUpdate.action": 24,
    "PetitionUpdate.note": NOTE,
    "PetitionUpdate.fir_number": REFERENCE,
    "PetitionUpdate.permitted_by": OFFICER_ID,
    "CaseEvent.fir_number": CASE_KEY,
    "CaseEvent.kind": 24,
    "CaseEvent.text": FACTS,
    "CaseEvent.report_type": 24,
    "CaseEvent.court": LINE,
    "CaseEvent.court_case_number": REFERENCE,
    "CaseEvent.next_hearing": 10,
    "CaseEvent.outcome": NOTE,
    "CaseEvent.io_officer_id": OFFICER_ID,
    "ArrestMemo.grounds": NOTE,
    "Mahazar.video_reference": LINE,
    "CustodyOrder.accused_code": 8,
    "CustodyOrder.order": 24,
    "PropertyMovement.item": REFERENCE,
    "PropertyMovement.movement": 24,
    "DiaryDay.day": 10,
    "DiaryDay.places_visited": LINE,
    "DiaryDay.documents": LINE,
    "DiaryStatement.summary": DETAILS,
    "Disposal.result": 24,
    "Disposal.accused_codes": 8,
    "Disposal.sentence": NOTE,
    "Disposal.judgment_date": 10,
    "Disposal.case_number": REFERENCE,
    "CaseTransfer.to_node_id": ORIGIN,
    "CaseTransfer.to_unit": LINE,
    "CaseTransfer.ordered_by": LINE,
    "CaseTransfer.order_reference": LINE,
    "CaseTransfer.order_date": 10,
    "CaseTransfer.reason": NOTE,
    "CaseTransfer.receiver_origin": ORIGIN,
    "SectionAlteration.reason": NOTE,
    "SectionAlteration.court": LINE,
    "SectionAlteration.report_date": 10,
    "SectionAlteration.report_reference": LINE,
    "CaseTakeover.from_origin": ORIGIN,
    "CaseTakeover.fir_number": REFERENCE,
    "LinkedPerson.origin": ORIGIN,
    "LinkedPerson.person_id": IDENTIFIER,
    "LinkedPerson.record_ref": REFERENCE,
    "LinkedPerson.name": NAME,
    "PersonLink.decision": 8,
    "PersonLink.reason": NOTE,
    "ServiceRequest.receipt_number": REFERENCE,
    "ServiceRequest.kind": CODE,
    "ServiceRequest.details": DETAILS,
    "ServiceRequestUpdate.receipt_number": REFERENCE,
    "ServiceRequestUpdate.status": 20,
    "ServiceRequestUpdate.note": NOTE,
    "Grievance.receipt_number": REFERENCE,
    "Grievance.against_office": ORIGIN,
    "Grievance.details": DETAILS,
    "GrievanceUpdate.receipt_number": REFERENCE,
    "GrievanceUpdate.status": 20,
    "GrievanceUpdate.note": NOTE,
    "CourtProcess.process_number": REFERENCE,
    "CourtProcess.process_type": 24,
    "CourtProcess.court": LINE,
    "CourtProcess.court_case_number": REFERENCE,
    "CourtProcess.returnable_date": 10,
    "CourtProcess.fir_number": REFERENCE,
    "CourtProcess.note": NOTE,
    "ProcessStep.process_number": REFERENCE,
    "ProcessStep.step": 24,
    "ProcessStep.note": NOTE,
    "NcrForwarding.ncr_numbers": REFERENCE,
    "NcrForwarding.magistrate": LINE,
    "NcrForwarding.note": NOTE,
    # history sheets and MO (node/records/history.py)
    "ModusOperandi.accused_codes": 8,
    "ModusOperandi.time_of_day": 24,
    "ModusOperandi.place_type": 24,
    "ModusOperandi.entry_method": 24,
    "ModusOperandi.property_taken": 24,
    "ModusOperandi.weapon": 24,
    "ModusOperandi.vehicle_used": 24,
    "ModusOperandi.note": NOTE,
    "SheetCase.office": ORIGIN,
    "SheetCase.fir_number": REFERENCE,
    "HistorySheet.sheet_number": REFERENCE,
    "HistorySheet.action": 24,
    "HistorySheet.category": 24,
    "HistorySheet.grounds": DETAILS,
    "HistorySheet.ordered_by": OFFICER_ID,
    "HistorySheet.ordered_by_rank": 24,
    "HistorySheet.order_reference": LINE,
    "HistorySheet.order_date": 10,
    "HistorySheet.note": NOTE,
    # beats, the duty roster and the beat book (node/records/duty.py)
    "Beat.code": 12,
    "Beat.name": NAME,
    "Beat.localities": NAME,
    "Beat.action": 24,
    "Beat.note": NOTE,
    "DutyAssignment.officer_id": OFFICER_ID,
    "DutyAssignment.duty": 24,
    "DutyAssignment.beat_code": 12,
    "DutyAssignment.place": LINE,
    "DutyAssignment.note": NOTE,
    "PatrolEntry.officer_id": OFFICER_ID,
    "PatrolEntry.beat_code": 12,
    "PatrolEntry.observations": DETAILS,
    "PatrolPoint.place": LINE,
    "PatrolPoint.note": NOTE,
    "PatrolCheck.place": LINE,
    "PatrolCheck.remarks": NOTE,
    # ledger.proto
    "EntryBody.origin": ORIGIN,
    "EntryBody.officer_id": OFFICER_ID,
    "NodeEvent.note": NOTE,
    "AuditEntry.asker_node_id": ORIGIN,
    "AuditEntry.asker_officer_id": OFFICER_ID,
    "AuditEntry.case_ref": LINE,
    "AuditEntry.query": 2 * LINE,
    "AuditEntry.returned_refs": REFERENCE,
    "Disclosure.record_ref": REFERENCE,
    "Disclosure.requester_node_id": ORIGIN,
    "Disclosure.requester_officer_id": OFFICER_ID,
    "Disclosure.authority": LINE,
    "ReplicationEvent.origin": ORIGIN,
    "ReplicationEvent.detail": NOTE,
    # federation.proto: what other nodes send
    "CheckpointRequest.origin": ORIGIN,
    "EntriesRequest.origin": ORIGIN,
    "ConsistencyRequest.origin": ORIGIN,
    "ZeroFirHandover.origin": ORIGIN,
    "CaseHandover.origin": ORIGIN,
    "RecordRequest.ref": REFERENCE,
    "RecordRequest.origin": ORIGIN,
    "SearchRequest.kind": CODE,
    "SearchRequest.query": LINE,
    "HitRequest.identifier_type": CODE,
    "HitRequest.value": LINE,
    "QueryContext.officer_id": OFFICER_ID,
    "QueryContext.purpose": LINE,
    "QueryContext.case_ref": LINE,
    # the directory (federation/directory.py): node ids and node-id prefixes
    "DirectoryRequest.subtree": ORIGIN,
    "LookupRequest.node_id": ORIGIN,
    # watch lists (docs/watch.md)
    "WatchItem.watcher_node_id": ORIGIN,
    "WatchItem.watch_id": CODE,
    "WatchItem.officer_id": OFFICER_ID,
    "WatchItem.kind": CODE,
    "WatchItem.value": LINE,
    "WatchAlert.watcher_node_id": ORIGIN,
    "WatchAlert.watch_id": CODE,
    "WatchAlert.origin": ORIGIN,
    "WatchAlert.ref": REFERENCE,
    "WatchAlert.detail": LINE,
}
# The most bytes of each bytes field; DEFAULT_BYTES for the others.
BYTES: Final[Mapping[str, int]] = {
    "Person.identity_commitment": 64,
    "SignedEntry.body": MAX_ENTRY_BYTES,
    "NodeEvent.public_key": 64,
    "Disclosure.commitment": 64,
    "Revocation.signed_revocation": NOTE_BYTES,
    "ReplicationEvent.checkpoint": NOTE_BYTES,
    "ReplicationEvent.conflicting_checkpoint": NOTE_BYTES,
    "CosignatureRequest.cosigned_note": NOTE_BYTES,
    "GossipRequest.notes": NOTE_BYTES,
    "ProvenEntry.leaf": LEAF_BYTES,
    "ZeroFirHandover.checkpoint": NOTE_BYTES,
    "ZeroFirAcceptance.checkpoint": NOTE_BYTES,
    "CaseHandover.checkpoint": NOTE_BYTES,
    "CaseAcceptance.checkpoint": NOTE_BYTES,
    "CaseTakeover.checkpoint": NOTE_BYTES,
    "SearchRequest.probe": PROBE_BYTES,
    "HitRequest.probe": PROBE_BYTES,
    # A directory entry: certificate chains (leaf and state authority, PEM) and a statement
    # (federation/directory.py MAX_CHAIN_BYTES, MAX_STATEMENT_BYTES).
    "DirectoryEntry.chain": 16 * 1024,
    "DirectoryEntry.signer_chain": 16 * 1024,
    "DirectoryEntry.statement": 4 * 1024,
}
# The most items of each repeated field; DEFAULT_COUNT for the others.
COUNT: Final[Mapping[str, int]] = {
    "Person.aliases": 10,
    "Person.identifying_marks": 10,
    "NonCognizableReport.sections": 20,
    "Fir.sections": 20,
    "Fir.persons": 100,
    "Fir.property": 100,
    "Petition.respondents": 20,
    "CaseEvent.persons": 100,
    "CaseEvent.property": 100,
    "CaseEvent.sections": 20,
    "CustodyOrder.sureties": 5,
    "DiaryDay.statements": 50,
    # A day's documents collected and a mahazar's witnesses (the forms grow: docs/web.md).
    "DiaryDay.documents": 100,
    "Mahazar.witnesses": 20,
    "Disposal.accused_codes": 100,
    "Disposal.sections": 20,
    "SectionAlteration.added": 20,
    "SectionAlteration.dropped": 20,
    "PetitionUpdate.sections": 20,
    # The NCRs of a fortnight at a busy station (BNSS s.174(1)(ii)), many times over.
    "NcrForwarding.ncr_numbers": 2000,
    "ModusOperandi.accused_codes": 100,
    "HistorySheet.cases": 100,
    # A beat's localities; a patrol's points and persons checked (a night's round).
    "Beat.localities": 100,
    "PatrolEntry.points": 100,
    "PatrolEntry.checks": 100,
    # A search answers at most 500 hits (federation/service.py MAX_SEARCH_LIMIT).
    "AuditEntry.returned_refs": 500,
    # A proof in a tree of up to 2^64 leaves.
    "ProvenEntry.inclusion_proof": 64,
    # The entries a child relays up in one announce (federation/directory.py MAX_RELAYED).
    "AnnounceRequest.relayed": 500,
    # The newest checkpoint of each log a reader saw (federation/gossip.py MAX_GOSSIP_NOTES).
    "GossipRequest.notes": 1000,
    # Watches handed up, alerts sent down, in one call (node/runtime.py sends at most these).
    "WatchRequest.watches": 2000,
    "AlertRequest.alerts": 500,
}
# Numeric fields with a range of their own, when set: (least, most).
_RANGES: Final[Mapping[str, tuple[float, float]]] = {
    "Place.latitude": (-90.0, 90.0),
    "Place.longitude": (-180.0, 180.0),
    "Place.distance_from_station_km": (0.0, 10_000.0),
    "Fir.fir_year": (FIRST_YEAR, LAST_YEAR),
    "PersonLink.match_probability": (0.0, 1.0),
}
_DIGITS: Final = re.compile(r"[0-9]+")
_MESSAGES: Final = (records_pb2.DESCRIPTOR, ledger_pb2.DESCRIPTOR, federation_pb2.DESCRIPTOR)


def text(field: str) -> int:
    """The most characters of the string field `field` ("Person.name")."""
    return TEXT.get(field, DEFAULT_TEXT)


def size(field: str) -> int:
    """The most bytes of the bytes field `field` ("ProvenEntry.leaf")."""
    return BYTES.get(field, DEFAULT_BYTES)


def count(field: str) -> int:
    """The most items of the repeated field `field` ("Fir.persons")."""
    return COUNT.get(field, DEFAULT_COUNT)


def clip(value: str, most: int) -> str:
    """`value` cut to `most` characters (an ellipsis marks the cut): for showing text written
    before these limits on a page whose size must stay bounded."""
    return value if len(value) <= most else value[: most - 1] + "…"


def problems(message: Message, what: str = "") -> list[str]:
    """Every field of `message` (and of the messages inside it) over its limit, one line each,
    named by its path ("persons 3 person name is longer than 120 characters"); never the value."""
    found: list[str] = []
    _walk(message, (None, what, 0) if what else None, found)
    return found


def check(record: Message, into: Problems, what: str = "") -> None:
    """Adds to `into` every limit the record `record` exceeds: its fields (`problems`) and its
    encoded size (at most MAX_RECORD_BYTES, so that its entry fits in the ledger)."""
    for line in problems(record, what):
        into.add(line)
    encoded = record.ByteSize()
    if encoded > MAX_RECORD_BYTES:
        into.add(
            f"{what or 'the record'} is {encoded:,} bytes encoded, at most {MAX_RECORD_BYTES:,}"
        )


def check_text(value: str, field: str, what: str, into: Problems) -> bool:
    """Whether `value`, given for the string field `field` outside a record (a receipt number to
    look up), is within its limit; adds a problem naming `what` when it is not."""
    if len(value) <= text(field):
        return True
    into.add(f"{what} is longer than {text(field):,} characters")
    return False


def whole_number(text_value: str, what: str, most: int) -> int:
    """A whole number as people type it: the digits 0-9 only, at most `most`; 0 when empty.
    InputError otherwise (digits of other scripts, signs, a value out of range)."""
    value = text_value.strip()
    if not value:
        return 0
    if not _DIGITS.fullmatch(value):
        raise InputError(f"{what}: write a whole number with the digits 0-9")
    if len(value) > len(str(most)) or int(value) > most:
        raise InputError(f"{what}: at most {most:,}")
    return int(value)


@dataclass(frozen=True, slots=True)
class _Rule:
    """What the table says of one field, looked up once per field (the check runs on every
    record the station writes)."""

    key: str  # "Message.field"
    name: str  # how a problem names it: "registered at", "brief facts"
    kind: int  # FieldDescriptor.CPPTYPE_*
    repeated: bool
    most_items: int
    most: float  # characters, bytes, or the highest number
    least: float
    time: bool


@functools.cache
def _rule(field: FieldDescriptor) -> _Rule:
    assert field.containing_type is not None  # a field of a message
    key = f"{field.containing_type.name}.{field.name}"
    kind = field.cpp_type
    least, most = _RANGES.get(key, (-math.inf, math.inf))
    if kind == FieldDescriptor.CPPTYPE_STRING:
        most = size(key) if field.type == FieldDescriptor.TYPE_BYTES else text(key)
    return _Rule(
        key=key,
        name=field.name.removesuffix("_ms").replace("_", " "),
        kind=kind,
        repeated=field.is_repeated,
        most_items=count(key),
        most=most,
        least=least,
        time=field.name.endswith("_ms"),
    )


# Where a field is: None at the top, else (where its message is, the message's field name, the
# item's number in a repeated field or 0). Made into words only for a problem.
_Path = tuple["_Path", str, int] | None
_MESSAGE: Final = FieldDescriptor.CPPTYPE_MESSAGE
_STRING: Final = FieldDescriptor.CPPTYPE_STRING
_BOOL: Final = FieldDescriptor.CPPTYPE_BOOL


def _walk(message: Message, path: _Path, found: list[str]) -> None:
    for field, value in message.ListFields():
        rule = _rule(field)
        if not rule.repeated:
            if rule.kind == _MESSAGE:
                _walk(value, (path, rule.name, 0), found)
            elif rule.kind != _BOOL:
                _check_value(rule, path, 0, value, found)
            continue
        items = value
        if len(value) > rule.most_items:
            found.append(
                f"{_label(path, rule.name)}: {len(value)} given, at most {rule.most_items}"
            )
            items = value[: rule.most_items]
        if rule.kind == _MESSAGE:
            for number, item in enumerate(items, 1):
                _walk(item, (path, rule.name, number), found)
        elif rule.kind != _BOOL:
            for number, item in enumerate(items, 1):
                _check_value(rule, path, number, item, found)


def _label(path: _Path, name: str, number: int = 0) -> str:
    """Where a field is, in words: "persons 3 person name"."""
    words = [name, str(number)] if number else [name]
    while path is not None:
        path, parent, position = path
        words[:0] = [parent, str(position)] if position else [parent]
    return " ".join(words)


def _check_value(rule: _Rule, path: _Path, number: int, value: Any, found: list[str]) -> None:
    if rule.kind == _STRING:
        if len(value) > rule.most:
            what, unit = ("longer", "characters") if isinstance(value, str) else ("larger", "bytes")
            found.append(f"{_label(path, rule.name, number)} is {what} than {rule.most:,} {unit}")
    elif rule.time and value and not time_in_years(int(value)):
        found.append(
            f"{_label(path, rule.name, number)} is not a time between the years "
            f"{FIRST_YEAR} and {LAST_YEAR}"
        )
    elif not (math.isfinite(value) and rule.least <= value <= rule.most):
        found.append(
            f"{_label(path, rule.name, number)} is out of range ({rule.least:g} to {rule.most:g})"
        )


def _field_names() -> set[str]:
    """Every "Message.field" of the protos (for the tests: the tables name real fields)."""
    names: set[str] = set()

    def add(descriptor: Descriptor) -> None:
        for field in descriptor.fields:
            names.add(f"{descriptor.name}.{field.name}")
        for nested in descriptor.nested_types:
            add(nested)

    for file in _MESSAGES:
        for descriptor in file.message_types_by_name.values():
            add(descriptor)
    return names
