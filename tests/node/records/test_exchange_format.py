"""The exchange format's pure parts: the schema files (valid Draft 2020-12, the case schema as
generated from records.proto), validation that lists every problem, RFC 8785 canonical JSON and
the signature of an inbound message."""

from __future__ import annotations

import json
import re
from typing import Any

import nacl.signing
import pytest
from jsonschema import Draft202012Validator

from ledger.errors import InputError, VerificationError
from node.records.exchange import inbound
from node.records.exchange.jcs import canonical
from node.records.exchange.schemas import (
    CASE_SCHEMA,
    INBOUND_SCHEMA,
    build_case_schema,
    load_schema,
    problems_of,
    repository_proto,
    require_valid,
)

KEY = nacl.signing.SigningKey(b"\x05" * 32)


def hearing() -> dict[str, Any]:
    return {
        "format": "cctns-inbound/1",
        "message_id": "JFCM-KLMY/2026/000123",
        "sender": "court.jfcm-kalamassery",
        "sent_on": "2026-11-30",
        "case": {
            "origin": "cctns.in/kerala/ernakulam-city/ps-kalamassery",
            "fir_number": "FIR No. 12/2026",
        },
        "kind": "court_hearing",
        "body": {"court": "JFCM Kalamassery", "hearing_date": "2026-11-30"},
    }


@pytest.mark.parametrize("name", [CASE_SCHEMA, INBOUND_SCHEMA])
def test_exchange_schema_files_are_draft_2020_12_with_id_and_titles(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://cctns.in/schemas/exchange/")
    assert schema["title"] and schema["description"]
    assert all(
        "title" in part
        for part in schema["$defs"].values()
        if "type" in part and part["type"] == "object"
    )


def test_exchange_case_schema_file_is_what_records_proto_generates() -> None:
    """Run `python -m node.records.exchange.schemas` when records.proto gains a field."""
    built = build_case_schema(repository_proto().read_text("utf-8"))
    assert json.loads(json.dumps(built)) == load_schema(CASE_SCHEMA)
    # Comments of records.proto become descriptions.
    fir_number = load_schema(CASE_SCHEMA)["$defs"]["Fir"]["properties"]["fir_number"]
    assert "FIR No. 123/2026" in fir_number["description"]


@pytest.mark.parametrize("name", [CASE_SCHEMA, INBOUND_SCHEMA])
def test_exchange_schema_every_reference_is_defined(name: str) -> None:
    """A case event's arrest memo, disposal, transfer... each `$ref` has its definition (a
    validator fails on a document holding one that has none)."""
    text = json.dumps(load_schema(name))
    referenced = set(re.findall(r'"#/\$defs/([A-Za-z_]+)"', text))
    assert referenced <= set(load_schema(name)["$defs"]), referenced - set(
        load_schema(name)["$defs"]
    )
    assert {"ArrestMemo", "Disposal", "CaseTransfer"} <= referenced or name != CASE_SCHEMA


def test_exchange_validation_lists_every_problem() -> None:
    document = {
        "format": "cctns-case-exchange/2",
        "exported_at_ms": -1,
        "origin": {"node_id": "", "origin": "x", "public_key": "not a key"},
        "checkpoint": {"note": "n", "size": 0, "root_hash": "ab"},
        "case": {
            "fir_ref": "FIR No. 1/2026",
            "fir_ledger_index": 3,
            "fir": {"persons": [{"role": "CULPRIT"}], "registered_at_ms": 12},
            "events": [],
            "documents": [{"kind": "rumour", "ref": "x"}],
        },
        "entries": [],
    }
    found = [str(p) for p in problems_of(document, CASE_SCHEMA)]
    expected = [
        "/case/documents/0/kind",
        "/case/fir/persons/0/role",
        "/case/fir/registered_at_ms",
        "/checkpoint/root_hash",
        "/checkpoint/size",
        "/entries",
        "/exported_at_ms",
        "/format",
        "/origin/node_id",
        "/origin/public_key",
    ]
    assert [p.split(":")[0] for p in found] == expected, found
    with pytest.raises(InputError) as raised:
        require_valid(document, CASE_SCHEMA, "not a case document")
    assert raised.value.problems == found


def test_exchange_inbound_body_is_checked_by_its_kind() -> None:
    message = hearing()
    message["kind"] = "court_disposal"  # a hearing's body is no disposal
    message["signature"] = {"algorithm": "Ed25519", "value": "A" * 86 + "=="}
    found = {p.path for p in problems_of(message, INBOUND_SCHEMA)}
    assert found == {"/body"}
    assert len(problems_of(message, INBOUND_SCHEMA)) == 5  # four missing, one not allowed
    message["kind"] = "court_hearing"
    assert problems_of(message, INBOUND_SCHEMA) == []


def test_exchange_jcs_matches_rfc_8785() -> None:
    # RFC 8785 3.2.3: names sorted by UTF-16 code units (the emoji's surrogates before U+FB33).
    names = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    text = canonical({name: n for n, name in enumerate(names)}).decode("utf-8")
    assert text == '{"\\r":1,"1":3,"\u0080":5,"\u00f6":6,"\u20ac":0,"\U0001f600":4,"\ufb33":2}'
    assert canonical({"b": [True, None, 'x\u0007"\\/'], "a": -5}) == (
        b'{"a":-5,"b":[true,null,"x\\u0007\\"\\\\/"]}'
    )
    assert canonical("\u2028\u0d2e") == '"\u2028\u0d2e"'.encode()
    for value in (1.5, 2**53, {1: "x"}, "\ud800"):
        with pytest.raises(InputError):
            canonical(value)


def test_exchange_signature_covers_the_canonical_message() -> None:
    signed = inbound.sign_message(hearing(), KEY)
    public = bytes(KEY.verify_key)
    inbound.verify_signature(signed, public)
    # Member order and whitespace do not matter; content does.
    reordered = json.loads(json.dumps(dict(reversed(list(signed.items()))), indent=4))
    inbound.verify_signature(reordered, public)
    assert inbound.signed_bytes(signed).startswith(b"cctns/exchange-message/v1\n{")
    changed = json.loads(json.dumps(signed))
    changed["body"]["court"] = "JFCM Aluva"
    with pytest.raises(VerificationError, match="signature"):
        inbound.verify_signature(changed, public)
    with pytest.raises(VerificationError):
        inbound.verify_signature(signed, bytes(nacl.signing.SigningKey(b"\x06" * 32).verify_key))


def test_exchange_import_tag_round_trips() -> None:
    digest = inbound.message_digest(hearing())
    tag = inbound.import_tag("court.jfcm-kalamassery", "JFCM-KLMY/2026/000123", digest)
    assert len(tag) <= 200
    assert inbound.parse_tag(tag) == (
        "court.jfcm-kalamassery",
        "JFCM-KLMY/2026/000123",
        digest.hex(),
    )
    assert inbound.parse_tag("CCTNS 1.0 export, 2019-2023") is None
