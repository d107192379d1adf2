"""The exchange schemas (JSON Schema, Draft 2020-12) and validation that lists every problem.

Two schema files ship with the package: `case-exchange.schema.json` (the document a station
exports for one case) and `inbound-message.schema.json` (what a court, a prison or a forensic
laboratory sends back). The inbound schema is written by hand. The case schema's record parts are
the protobuf JSON mapping of protos/records.proto (what `views.current_view` shows), so they are
generated from the protos' descriptors and comments by `build_case_schema`; a test fails when
the file in the package differs from what it builds (`python -m node.records.exchange.schemas`
writes it again).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from jsonschema import Draft202012Validator

from ledger.errors import InputError
from protos import records_pb2

CASE_SCHEMA = "case-exchange.schema.json"
INBOUND_SCHEMA = "inbound-message.schema.json"
CASE_FORMAT = "cctns-case-exchange/1"
INBOUND_FORMAT = "cctns-inbound/1"
CASE_SCHEMA_ID = "https://cctns.in/schemas/exchange/case-exchange-v1.schema.json"
INBOUND_SCHEMA_ID = "https://cctns.in/schemas/exchange/inbound-message-v1.schema.json"
# The record messages a case document carries, as protobuf JSON (views.current_view).
CASE_MESSAGES = (
    "Fir",
    "ActSection",
    "Place",
    "InformationRecording",
    "PersonInCase",
    "Person",
    "PropertyItem",
    "Vehicle",
    "CaseEvent",
)


def _case_messages() -> list[Descriptor]:
    """`CASE_MESSAGES` and every message their fields hold, however deep (a CaseEvent's arrest
    memo, disposal, transfer...), so that every `$ref` of the schema has its definition."""
    found: dict[str, Descriptor] = {}
    pending = [records_pb2.DESCRIPTOR.message_types_by_name[name] for name in CASE_MESSAGES]
    while pending:
        message = pending.pop(0)
        if message.full_name in found:
            continue
        found[message.full_name] = message
        pending += [f.message_type for f in message.fields if f.message_type is not None]
    return list(found.values())


# Keys a shown view adds to a person beyond the proto's fields (node.station.views).
_VIEW_PERSON_KEYS = {
    "identity_withheld": {
        "type": "boolean",
        "description": "The law withholds this person's identity and the entry holds it in "
        "clear (written before the withholding policy): the identifying fields are left out.",
    },
}
_PROBLEM_LIMIT = 200  # a document with more problems than this is listed up to here


@dataclass(frozen=True, slots=True)
class Problem:
    """One way a document fails its schema: where (a JSON Pointer) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """One of the package's schema files (`CASE_SCHEMA`, `INBOUND_SCHEMA`), parsed."""
    text = resources.files(__package__).joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def problems_of(document: Any, schema_name: str) -> list[Problem]:
    """Every way `document` fails the schema `schema_name`, in document order (each failing
    subschema of an `if`/`then` named where it fails, not once for the whole document)."""
    found: list[Problem] = []
    for error in _validator(schema_name).iter_errors(document):
        found.append(Problem(_pointer(error.absolute_path), error.message))
        if len(found) >= _PROBLEM_LIMIT:
            found.append(Problem("", f"more than {_PROBLEM_LIMIT} problems: stopped listing"))
            break
    return sorted(found, key=lambda p: (p.path, p.message))


def require_valid(document: Any, schema_name: str, what: str) -> None:
    """Raises InputError `what: ...` listing every problem (path: message) when `document`
    fails the schema."""
    found = problems_of(document, schema_name)
    if found:
        listed = [str(p) for p in found]
        raise InputError(f"{what}: {'; '.join(listed)}", listed)


# -- building the case schema from the protos ----------------------------------------------------

_MESSAGE = re.compile(r"^message\s+(\w+)\s*\{")
_FIELD = re.compile(r"^\s*(?:repeated\s+)?[\w.]+\s+(\w+)\s*=\s*\d+;\s*(?://\s*(.*))?$")
_COMMENT = re.compile(r"^\s*//\s?(.*)$")


def proto_comments(proto_text: str) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The comments of records.proto: each message's (the lines just above it) and each field's
    (its trailing comment), for the schema's descriptions."""
    messages: dict[str, str] = {}
    fields: dict[tuple[str, str], str] = {}
    above: list[str] = []
    current = ""
    for line in proto_text.splitlines():
        if (m := _MESSAGE.match(line)) is not None:
            current = m[1]
            if above:
                messages[current] = " ".join(above)
            above = []
        elif current and (f := _FIELD.match(line)) is not None:
            if f[2]:
                fields[(current, f[1])] = f[2].strip()
        elif (c := _COMMENT.match(line)) is not None:
            above.append(c[1].strip())
        else:
            above = []
            if line.startswith("}"):
                current = ""
    return messages, fields


_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "minimum": 0, "maximum": 4294967295},
    FieldDescriptor.TYPE_INT32: {"type": "integer"},
    # The protobuf JSON mapping writes 64-bit integers as decimal strings.
    FieldDescriptor.TYPE_INT64: {"type": "string", "pattern": "^-?[0-9]{1,19}$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "pattern": "^[0-9]{1,20}$"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_BYTES: {
        "type": "string",
        "contentEncoding": "base64",
        "pattern": "^[A-Za-z0-9+/]*={0,2}$",
    },
}


def _field_schema(field: FieldDescriptor, comment: str) -> dict[str, Any]:
    if field.message_type is not None:
        item: dict[str, Any] = {"$ref": f"#/$defs/{field.message_type.name}"}
    elif field.enum_type is not None:
        names = [v.name for v in field.enum_type.values]
        item = {"enum": names}
    else:
        item = dict(_SCALARS[field.type])
    repeated = field.is_repeated
    out: dict[str, Any] = {"type": "array", "items": item} if repeated else item
    if comment:
        out = (
            {"description": comment, **out}
            if "$ref" not in out
            else {"description": comment, "allOf": [out]}
        )
    return out


def _message_schema(
    message: Descriptor, comments: tuple[dict[str, str], dict[tuple[str, str], str]]
) -> dict[str, Any]:
    properties = {
        f.name: _field_schema(f, comments[1].get((message.name, f.name), ""))
        for f in message.fields
    }
    if message.name == "Person":
        properties.update(_VIEW_PERSON_KEYS)
    schema: dict[str, Any] = {
        "title": message.name,
        "description": comments[0].get(message.name, "")
        or f"records.proto `{message.name}`, in the protobuf JSON mapping.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    return schema


def build_case_schema(proto_text: str) -> dict[str, Any]:
    """The case exchange schema: the document's own parts, and the record messages of
    `CASE_MESSAGES` from records.proto (`proto_text` gives their comments)."""
    comments = proto_comments(proto_text)
    defs = {message.name: _message_schema(message, comments) for message in _case_messages()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": CASE_SCHEMA_ID,
        "title": "CCTNS case exchange document, version 1",
        "description": (
            "One case as a police station's node shows it to those outside the station: the "
            "FIR with its amendments applied, its events (investigation, court, prison, "
            "forensic), the documents it refers to, and the provenance of every part: the "
            "ledger entry it was drawn from (index, leaf hash, inclusion proof) and the signed "
            "checkpoint of the station's log it was taken at. Identities the law withholds "
            "stay withheld (only their commitments appear). Records are in the protobuf JSON "
            "mapping of protos/records.proto (64-bit integers as decimal strings, enums by "
            "name, bytes in base64, fields at their default left out). docs/exchange.md."
        ),
        "type": "object",
        "required": ["format", "exported_at_ms", "origin", "checkpoint", "case", "entries"],
        "additionalProperties": False,
        "properties": {
            "$schema": {"description": "This schema's $id.", "const": CASE_SCHEMA_ID},
            "format": {"title": "Format", "const": CASE_FORMAT},
            "exported_at_ms": {
                "title": "Exported at",
                "description": "Unix milliseconds (UTC) when the node made the document.",
                "type": "integer",
                "minimum": 0,
            },
            "exported_by": {
                "title": "Exported by",
                "description": "The officer (or operator) id the export was made for.",
                "type": "string",
                "maxLength": 64,
            },
            "origin": {"$ref": "#/$defs/origin"},
            "checkpoint": {"$ref": "#/$defs/checkpoint"},
            "case": {"$ref": "#/$defs/case"},
            "entries": {
                "title": "Ledger entries drawn from",
                "description": "Every ledger entry the case part was drawn from, in log order.",
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/entry"},
            },
        },
        "$defs": {
            "hash": {
                "title": "SHA-256 hash",
                "description": "32 bytes as 64 lower-case hexadecimal digits.",
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
            },
            "origin": {
                "title": "Origin office",
                "description": "The police station whose log holds the case.",
                "type": "object",
                "required": ["node_id", "origin", "public_key"],
                "additionalProperties": False,
                "properties": {
                    "node_id": {
                        "title": "Node id",
                        "description": "The station's node id in the federation's directory.",
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 200,
                    },
                    "origin": {
                        "title": "Log origin",
                        "description": "The origin line of the station's log, which names its "
                        "checkpoints and their signing key, e.g. "
                        '"cctns.in/kerala/ernakulam-city/ps-kalamassery".',
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 200,
                    },
                    "district": {"title": "District", "type": "string"},
                    "police_station": {"title": "Police station", "type": "string"},
                    "public_key": {
                        "title": "Log key",
                        "description": "The Ed25519 public key that signed the checkpoint, "
                        "base64. Check it against the federation's directory before trusting it.",
                        "type": "string",
                        "pattern": "^[A-Za-z0-9+/]{43}=$",
                    },
                },
            },
            "checkpoint": {
                "title": "Checkpoint",
                "description": "The signed checkpoint (C2SP signed note) of the station's log the "
                "document was taken at: every entry below is in the tree it commits to.",
                "type": "object",
                "required": ["note", "size", "root_hash"],
                "additionalProperties": False,
                "properties": {
                    "note": {"title": "Signed note", "type": "string", "minLength": 1},
                    "size": {"title": "Tree size", "type": "integer", "minimum": 1},
                    "root_hash": {"$ref": "#/$defs/hash"},
                },
            },
            "entry": {
                "title": "Ledger entry",
                "type": "object",
                "required": ["ledger_index", "leaf_hash", "kind", "inclusion_proof"],
                "additionalProperties": False,
                "properties": {
                    "ledger_index": {"title": "Ledger index", "type": "integer", "minimum": 0},
                    "leaf_hash": {"$ref": "#/$defs/hash"},
                    "kind": {
                        "title": "Record kind",
                        "enum": ["fir", "amendment", "case_event"],
                    },
                    "written_at_ms": {"title": "Written at", "type": "integer"},
                    "officer_id": {"title": "Written by", "type": "string"},
                    "inclusion_proof": {
                        "title": "Inclusion proof",
                        "description": "RFC 9162 inclusion proof of the leaf in the checkpoint's "
                        "tree.",
                        "type": "array",
                        "items": {"$ref": "#/$defs/hash"},
                    },
                },
            },
            "case": {
                "title": "Case",
                "type": "object",
                "required": ["fir_ref", "fir_ledger_index", "fir", "events", "documents"],
                "additionalProperties": False,
                "properties": {
                    "fir_ref": {
                        "title": "FIR reference",
                        "description": '"FIR No. 12/2026", or a Zero FIR\'s number.',
                        "type": "string",
                        "minLength": 1,
                    },
                    "fir_ledger_index": {"type": "integer", "minimum": 0},
                    "amendment_indexes": {
                        "title": "Amendments applied",
                        "description": "Ledger indexes of the amendments applied to the FIR, in "
                        "order.",
                        "type": "array",
                        "items": {"type": "integer", "minimum": 0},
                    },
                    "fir": {"$ref": "#/$defs/Fir"},
                    "events": {
                        "title": "Events",
                        "description": "The case's events in log order: investigating officer, "
                        "arrests, seizures, case diary, final reports, court progress, and "
                        "those imported from courts, prisons and laboratories.",
                        "type": "array",
                        "items": {"$ref": "#/$defs/event"},
                    },
                    "documents": {
                        "title": "Documents referred to",
                        "type": "array",
                        "items": {"$ref": "#/$defs/document"},
                    },
                },
            },
            "event": {
                "title": "Case event",
                "type": "object",
                "required": ["ledger_index", "officer_id", "written_at_ms", "event"],
                "additionalProperties": False,
                "properties": {
                    "ledger_index": {"type": "integer", "minimum": 0},
                    "officer_id": {"title": "Recorded by", "type": "string"},
                    "written_at_ms": {"type": "integer"},
                    "event": {"$ref": "#/$defs/CaseEvent"},
                    "external": {"$ref": "#/$defs/external"},
                },
            },
            "external": {
                "title": "Imported from an external system",
                "description": "The event came in a signed inbound message (docs/exchange.md).",
                "type": "object",
                "required": ["sender", "message_id", "digest"],
                "additionalProperties": False,
                "properties": {
                    "sender": {"title": "Sending system", "type": "string"},
                    "message_id": {"title": "Sender's message id", "type": "string"},
                    "digest": {
                        "description": "SHA-256 of the message's signed bytes.",
                        "$ref": "#/$defs/hash",
                    },
                },
            },
            "document": {
                "title": "Document referred to",
                "description": "A document the case refers to, by its reference: the FIR, its "
                "GD entry and petition, final reports, court cases, prison records, forensic "
                "reports, photographs and fingerprints (content references).",
                "type": "object",
                "required": ["kind", "ref"],
                "additionalProperties": False,
                "properties": {
                    "kind": {
                        "enum": [
                            "fir",
                            "general_diary",
                            "petition",
                            "final_report",
                            "court_case",
                            "appeal",
                            "prison_record",
                            "forensic_report",
                            "photo",
                            "fingerprint",
                        ]
                    },
                    "ref": {"type": "string", "minLength": 1},
                    "ledger_index": {
                        "description": "The entry that names it (absent for the FIR's own GD "
                        "entry or petition, which are other records).",
                        "type": "integer",
                        "minimum": 0,
                    },
                },
            },
            **defs,
        },
    }


def repository_proto() -> Path:
    return Path(__file__).resolve().parents[3] / "protos" / "records.proto"


def _write_case_schema() -> None:
    schema = build_case_schema(repository_proto().read_text("utf-8"))
    target = Path(__file__).with_name(CASE_SCHEMA)
    target.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    _write_case_schema()
