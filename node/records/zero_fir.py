"""Zero FIR hand-over between two stations' logs (BNSS 173): the messages and their checks.

A station registers information about a cognizable offence wherever it happened ("ZERO FIR
N/YYYY") and hands it over to the station with jurisdiction. Both logs record the hand-over:

1. sender: a `ZeroFirTransfer{direction: "sent", to_station: <receiver node id>}` entry; the
   `ZeroFirHandover` carries the Zero FIR entry and that entry with inclusion proofs to the
   sender's signed checkpoint.
2. receiver: verifies all of it, registers a regular FIR in its own series (the Zero FIR's
   number kept in `Fir.zero_fir_number`), and appends `ZeroFirTransfer{direction: "received",
   to_station: <sender origin>, assigned_fir_number}` in the same commit; the
   `ZeroFirAcceptance` carries that entry, proven.
3. sender: verifies the acceptance and appends `ZeroFirTransfer{direction: "accepted",
   to_station: <receiver origin>, assigned_fir_number}`, so the citizen's Zero FIR receipt
   leads to the new FIR.

In a "received" entry `to_station` names the counterparty (the sending log's origin): the
message has no other field for it, and that is what the receiver's idempotency check needs.

This module holds the pure parts (proofs, checks, the copy of the FIR); `node.station.transfer`
runs them under its lock and appends the entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.checkpoint import Checkpoint
from ledger.errors import InputError, VerificationError
from ledger.proof import verify_log_head, verify_proven
from protos import federation_pb2, records_pb2

SENT = "sent"
RECEIVED = "received"
ACCEPTED = "accepted"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_STATION_WORDS = re.compile(r"^(ps|policestation)|(ps|policestation)$")


@dataclass(frozen=True, slots=True)
class VerifiedHandover:
    """A hand-over whose note, signatures and proofs have been checked."""

    origin: str
    checkpoint: Checkpoint
    zero_fir_index: int
    zero_fir: records_pb2.Fir
    sent_index: int
    sent: records_pb2.ZeroFirTransfer
    officer_id: str


@dataclass(frozen=True, slots=True)
class VerifiedAcceptance:
    """An acceptance whose note, signature and proof have been checked."""

    origin: str
    checkpoint: Checkpoint
    received_index: int
    received: records_pb2.ZeroFirTransfer


def verify_handover(
    handover: federation_pb2.ZeroFirHandover, public_key: bytes, origin: str
) -> VerifiedHandover:
    """Checks a hand-over from the log `origin`, whose key `public_key` is trusted (followed
    through the log's key hand-overs the message carries); VerificationError if anything does
    not hold (note, leaf signatures, inclusion proofs, the entries' contents)."""
    if handover.origin != origin:
        raise VerificationError(f"the message is from log {handover.origin!r}, expected {origin!r}")
    head = verify_log_head(
        handover.checkpoint, handover.key_handovers, pinned_key=public_key, origin=origin
    )
    checkpoint, keys = head.checkpoint, head.keys
    zero_body = verify_proven(handover.zero_fir, checkpoint, keys=keys, origin=origin).body
    sent_body = verify_proven(handover.sent, checkpoint, keys=keys, origin=origin).body
    if zero_body.WhichOneof("record") != "fir" or not zero_body.fir.zero_fir:
        raise VerificationError(f"entry {handover.zero_fir.index} is not a Zero FIR")
    fir = zero_body.fir
    if not fir.zero_fir_number:
        raise VerificationError("the Zero FIR has no number")
    if sent_body.WhichOneof("record") != "zero_fir_transfer":
        raise VerificationError(f"entry {handover.sent.index} is not a Zero FIR transfer")
    sent = sent_body.zero_fir_transfer
    if sent.direction != SENT:
        raise VerificationError(f"the transfer entry says {sent.direction!r}, not 'sent'")
    if sent.zero_fir_index != handover.zero_fir.index or (
        sent.zero_fir_number != fir.zero_fir_number
    ):
        raise VerificationError("the transfer entry does not name the Zero FIR handed over")
    if handover.sent.index <= handover.zero_fir.index:
        raise VerificationError("the transfer entry precedes the Zero FIR")
    return VerifiedHandover(
        origin=origin,
        checkpoint=checkpoint,
        zero_fir_index=handover.zero_fir.index,
        zero_fir=fir,
        sent_index=handover.sent.index,
        sent=sent,
        officer_id=sent_body.officer_id,
    )


def verify_acceptance(
    acceptance: federation_pb2.ZeroFirAcceptance, public_key: bytes, origin: str
) -> VerifiedAcceptance:
    """Checks an acceptance from the log `origin`, whose key `public_key` is trusted (followed
    through the log's key hand-overs the message carries)."""
    head = verify_log_head(
        acceptance.checkpoint, acceptance.key_handovers, pinned_key=public_key, origin=origin
    )
    body = verify_proven(acceptance.received, head.checkpoint, keys=head.keys, origin=origin).body
    if body.WhichOneof("record") != "zero_fir_transfer":
        raise VerificationError(f"entry {acceptance.received.index} is not a Zero FIR transfer")
    received = body.zero_fir_transfer
    if received.direction != RECEIVED:
        raise VerificationError(f"the transfer entry says {received.direction!r}, not 'received'")
    if not received.assigned_fir_number or received.assigned_fir_number != acceptance.fir_number:
        raise VerificationError("the acceptance's FIR number is not the one its entry records")
    return VerifiedAcceptance(origin, head.checkpoint, acceptance.received.index, received)


def _station_key(name: str) -> str:
    key = _NOT_ALNUM.sub("", name.lower())
    return _STATION_WORDS.sub("", key) or key


def station_names(node_id: str, origin: str, station: str) -> set[str]:
    """The comparison keys under which a station may be named: its station name, node id,
    origin and the last part of its node id ("ps-aluva" -> "aluva")."""
    names = {station, node_id, origin, node_id.rsplit("/", 1)[-1]}
    return {_station_key(n) for n in names if n.strip()}


def names_station(name: str, keys: Iterable[str]) -> bool:
    """Whether `name` ("Aluva", "Aluva PS", "kerala/ernakulam-rural/ps-aluva") is one of `keys`."""
    return bool(name.strip()) and _station_key(name) in set(keys)


def transferred_fir(zero: records_pb2.Fir) -> records_pb2.Fir:
    """The FIR the receiving station registers from a Zero FIR: facts, sections, persons and
    property copied; its own numbers, GD entry, station and person ids to be assigned; the Zero
    FIR's number and the station with jurisdiction kept for traceability."""
    fir = records_pb2.Fir()
    fir.CopyFrom(zero)
    fir.zero_fir = False
    for name in (
        "fir_number",
        "fir_serial",
        "fir_year",
        "district",
        "police_station",
        "registered_at_ms",
        "gd_reference",
        "crime_head",
    ):
        fir.ClearField(name)
    for entry in fir.persons:
        entry.person.person_id = ""
    return fir


def check_transfer_target(
    fir: records_pb2.Fir, sent: records_pb2.ZeroFirTransfer, keys: set[str]
) -> None:
    """InputError unless the Zero FIR and the sent entry both name this station."""
    if not names_station(fir.jurisdiction_station, keys):
        raise InputError(
            f"{fir.zero_fir_number} is for {fir.jurisdiction_station!r}, not this station"
        )
    if not names_station(sent.to_station, keys):
        raise InputError(f"{fir.zero_fir_number} was sent to {sent.to_station!r}, not here")


__all__ = [
    "ACCEPTED",
    "RECEIVED",
    "SENT",
    "VerifiedAcceptance",
    "VerifiedHandover",
    "check_transfer_target",
    "names_station",
    "station_names",
    "transferred_fir",
    "verify_acceptance",
    "verify_handover",
]
