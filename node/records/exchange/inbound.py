"""Inbound exchange messages: the bytes a sending system signs, the check of its signature, and
the case event a message becomes.

A court (or the prosecution) reports hearings, disposals and appeals; a prison admissions and
releases of an accused; a forensic laboratory its result on an exhibit. Each message names one
case (the station's origin and the FIR number) and is signed by the sending system's Ed25519 key
over

    "cctns/exchange-message/v1\\n" || JCS(message without its "signature" member)

(JCS: RFC 8785, `node.records.exchange.jcs`). The context line keeps a signature made for this
format from being taken for one made for anything else the key signs.

A message becomes one `CaseEvent`: court messages are "court_progress" events (as an officer
records them), prison and laboratory messages events of their own kinds (`EXTERNAL_KINDS`).
Persons are named by their accused codes in the FIR and carried by code and person id only,
never with an identity the message might hold; an exhibit that is a property item of the FIR
brings that item. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

import nacl.exceptions
import nacl.signing

from ledger.errors import VerificationError
from node.records.exchange.jcs import canonical
from node.records.validation import IST, Problems, check_date, utc_ms
from protos import records_pb2

SIGNING_CONTEXT = b"cctns/exchange-message/v1\n"
COURT_KINDS = ("court_hearing", "court_disposal", "court_appeal")
PRISON_KINDS = ("prison_admission", "prison_release")
LAB_KINDS = ("forensic_result",)
# What each kind of external system may send.
SENDER_KINDS: Mapping[str, tuple[str, ...]] = {
    "court": COURT_KINDS,
    "prosecution": COURT_KINDS,
    "prison": PRISON_KINDS,
    "forensic_lab": LAB_KINDS,
}
# Case event kinds only an inbound message writes (beside "court_progress").
EXTERNAL_KINDS = ("prison_admission", "prison_release", "forensic_result")
SYSTEM_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# EntryBody.imported_from of an event appended from a message: sender, message id and the
# SHA-256 of the signed bytes. A message imported again is found by it (docs/exchange.md).
_TAG = re.compile(r"^exchange:([a-z0-9][a-z0-9._-]{1,63})/(\S{1,56}) sha256:([0-9a-f]{64})$")
# The date a message's event happened on, by kind (the body's field).
_EVENT_DATE = {
    "court_hearing": "hearing_date",
    "court_disposal": "judgment_date",
    "court_appeal": "date",
    "prison_admission": "date",
    "prison_release": "date",
    "forensic_result": "date",
}
_OTHER_DATES = {"court_hearing": ("next_hearing",)}
_DATE_FORM = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def signed_bytes(message: Mapping[str, Any]) -> bytes:
    """What the sender signs: the context line and the canonical JSON of the message without
    its signature."""
    return SIGNING_CONTEXT + canonical({k: v for k, v in message.items() if k != "signature"})


def message_digest(message: Mapping[str, Any]) -> bytes:
    """SHA-256 of the message's signed bytes: what the ledger entry names it by."""
    return hashlib.sha256(signed_bytes(message)).digest()


def sign_message(message: Mapping[str, Any], key: nacl.signing.SigningKey) -> dict[str, Any]:
    """`message` with its signature by `key` (what a sending system does; tests and tools)."""
    signature = key.sign(signed_bytes(message)).signature
    out = {k: v for k, v in message.items() if k != "signature"}
    out["signature"] = {"algorithm": "Ed25519", "value": base64.b64encode(signature).decode()}
    return out


def verify_signature(message: Mapping[str, Any], public_key: bytes) -> None:
    """Returns when the message's signature holds under `public_key`; VerificationError
    otherwise (the message is taken as schema-valid)."""
    sender = message.get("sender", "?")
    try:
        signature = base64.b64decode(message["signature"]["value"], validate=True)
        nacl.signing.VerifyKey(bytes(public_key)).verify(signed_bytes(message), signature)
    except (nacl.exceptions.CryptoError, binascii.Error, ValueError, KeyError, TypeError):
        raise VerificationError(
            f"message {message.get('message_id', '?')!r}: the signature is not {sender}'s "
            "(bad signature, or the message was changed after signing)"
        ) from None


def import_tag(sender: str, message_id: str, digest: bytes) -> str:
    """The EntryBody.imported_from of the event a message becomes."""
    return f"exchange:{sender}/{message_id} sha256:{digest.hex()}"


def parse_tag(imported_from: str) -> tuple[str, str, str] | None:
    """(sender, message id, digest hex) of an event's imported_from; None for other entries."""
    match = _TAG.match(imported_from)
    return (match[1], match[2], match[3]) if match else None


def check_message_dates(message: Mapping[str, Any], problems: Problems) -> None:
    """The dates of a message are real calendar dates (the schema checks their form only)."""
    dates = [("/sent_on", message.get("sent_on"))]
    kind, body = str(message.get("kind", "")), message.get("body")
    if isinstance(body, Mapping):
        for name in (_EVENT_DATE.get(kind, ""), *_OTHER_DATES.get(kind, ())):
            dates.append((f"/body/{name}", body.get(name)))
    for where, value in dates:
        # A value not of the form YYYY-MM-DD is the schema's problem, listed once there.
        if isinstance(value, str) and _DATE_FORM.match(value):
            check_date(value, where, problems)


def event_time_ms(message: Mapping[str, Any]) -> int:
    """The start (Indian time) of the day the message's event happened."""
    day = date.fromisoformat(message["body"][_EVENT_DATE[message["kind"]]])
    return utc_ms(datetime.combine(day, time(0, 0), IST))


def _accused(fir: records_pb2.Fir, codes: Sequence[str], problems: Problems) -> list[Any]:
    by_code = {p.accused_code: p for p in fir.persons if p.accused_code}
    out: list[records_pb2.PersonInCase] = []
    for code in codes:
        found = by_code.get(code)
        if found is None:
            problems.add(f"/body: the FIR names no accused {code}")
            continue
        out.append(
            records_pb2.PersonInCase(
                role=records_pb2.ACCUSED,
                accused_code=code,
                person=records_pb2.Person(person_id=found.person.person_id),
            )
        )
    return out


def _sections(body: Mapping[str, Any]) -> list[records_pb2.ActSection]:
    return [
        records_pb2.ActSection(act=s["act"], section=s["section"]) for s in body.get("sections", [])
    ]


def _cited(sections: Sequence[records_pb2.ActSection]) -> str:
    return ", ".join(f"{s.act} {s.section}" for s in sections)


def _sentence(sentence: Mapping[str, Any]) -> str:
    parts = []
    if sentence.get("life"):
        parts.append("imprisonment for life")
    if sentence.get("imprisonment_days"):
        parts.append(f"imprisonment for {sentence['imprisonment_days']} days")
    if sentence.get("fine_inr"):
        parts.append(f"fine of Rs. {sentence['fine_inr']:,}")
    if sentence.get("text"):
        parts.append(str(sentence["text"]))
    return "; ".join(parts)


def _joined(*parts: str) -> str:
    return ". ".join(p for p in parts if p)


def case_event(
    message: Mapping[str, Any], fir: records_pb2.Fir, fir_number: str, problems: Problems
) -> records_pb2.CaseEvent:
    """The case event a schema-valid, verified message becomes on the FIR `fir` (as signed:
    the accused codes and property ids it names are looked up there). What does not fit the
    case (an accused code the FIR does not name) is added to `problems`."""
    kind, body = message["kind"], message["body"]
    event = records_pb2.CaseEvent(fir_number=fir_number, at_ms=event_time_ms(message))
    note = str(body.get("note", "")).strip()
    if kind in COURT_KINDS:
        event.kind = "court_progress"
    else:
        event.kind = kind
    if kind == "court_hearing":
        event.court = body["court"]
        event.court_case_number = body.get("court_case_number", "")
        event.next_hearing = body.get("next_hearing", "")
        event.text = _joined(f"Hearing on {body['hearing_date']}", note)
    elif kind == "court_disposal":
        event.court = body["court"]
        event.court_case_number = body["court_case_number"]
        event.persons.extend(_accused(fir, body["accused"], problems))
        event.sections.extend(_sections(body))
        outcome = f"{body['disposal']} of {', '.join(body['accused'])}"
        if event.sections:
            outcome += f" u/s {_cited(event.sections)}"
        sentence = _sentence(body.get("sentence", {}))
        event.outcome = outcome + (f": {sentence}" if sentence else "")
        event.text = _joined(f"Judgment of {body['judgment_date']}", note)
    elif kind == "court_appeal":
        event.court = body["court"]
        event.court_case_number = body["appeal_number"]
        event.persons.extend(_accused(fir, body.get("accused", []), problems))
        event.outcome = f"appeal by the {body['appellant']} against {body['against']}: " + body[
            "status"
        ].replace("_", " ")
        event.text = _joined(f"Appeal {body['status'].replace('_', ' ')} on {body['date']}", note)
    elif kind == "prison_admission":
        event.persons.extend(_accused(fir, [body["accused_code"]], problems))
        event.court = body.get("committed_by", "")
        head = (
            f"{body['accused_code']} admitted to {body['prison']} on {body['date']} as "
            f"{body['status']} prisoner {body['prisoner_number']}"
        )
        if body.get("warrant_reference"):
            head += f", warrant {body['warrant_reference']}"
        if body.get("committed_by"):
            head += f", committed by {body['committed_by']}"
        event.text = _joined(head, note)
    elif kind == "prison_release":
        event.persons.extend(_accused(fir, [body["accused_code"]], problems))
        head = (
            f"{body['accused_code']} released from {body['prison']} on {body['date']} "
            f"(prisoner {body['prisoner_number']}): {body['reason'].replace('_', ' ')}"
        )
        if body.get("order_reference"):
            head += f", order {body['order_reference']}"
        event.text = _joined(head, note)
    elif kind == "forensic_result":
        for item in fir.property:
            if item.property_id and item.property_id == body["exhibit_reference"]:
                event.property.add().CopyFrom(item)
        event.text = (
            f"{body['lab']}: {body['examination']} of exhibit {body['exhibit_reference']}, "
            f"report {body['report_reference']} of {body['date']}: {body['result']}"
        )
    return event
