"""A Zero FIR handed over to the station with jurisdiction (BNSS 173), recorded in both logs.

The sender appends a GD entry and ZeroFirTransfer{"sent"} and sends the hand-over (both entries
proven against its checkpoint); the receiver verifies it, registers an FIR in its own series and
appends ZeroFirTransfer{"received"} in the same commit; the sender records the receiver's
acceptance as ZeroFirTransfer{"accepted"}. The messages and their checks are pure
(`node.records.zero_fir`); this module runs them under the station's lock and appends the entries.
Every step is idempotent: repeated, it returns what it returned the first time.
"""

from __future__ import annotations

from typing import Any

from federation.logs import proven_at_checkpoint
from ledger.errors import InputError, VerificationError
from node.index.lookups import ZeroFirTransferRow
from node.records import limits
from node.records import zero_fir as zf
from node.records.refs import canonical_zero_fir_ref
from node.records.validation import Problems, check_officer
from node.station import registers
from node.station.core import Batch, Draft, Receipt, Station
from protos import federation_pb2, records_pb2


def prepare_zero_fir_transfer(
    station: Station, officer_id: str, zero_fir_ref: str, to_station_node_id: str
) -> federation_pb2.ZeroFirHandover:
    """Sends a Zero FIR to the station with jurisdiction: appends a GD entry and a
    ZeroFirTransfer{"sent"} entry, and returns the hand-over (both entries proven against
    the current checkpoint). Calling again for the same station re-sends the same entries."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.require(to_station_node_id, "the receiving station")
        limits.check(
            records_pb2.ZeroFirTransfer(
                zero_fir_number=zero_fir_ref, to_station=to_station_node_id
            ),
            problems,
        )
        problems.raise_if_any("Zero FIR not sent")
        found = _own_zero_fir(station, zero_fir_ref)
        if found is None:
            problems.add(f"no Zero FIR {zero_fir_ref!r} at this station")
        problems.raise_if_any("Zero FIR not sent")
        assert found is not None
        index, fir = found
        number = fir.zero_fir_number
        rows = _transfers(station, number, index)
        sent = [r for r in rows if r.direction == zf.SENT]
        if sent:
            if sent[0].to_station != to_station_node_id:
                raise InputError(f"{number} was already sent to {sent[0].to_station}")
            sent_index = sent[0].ledger_index
        else:
            transfer = records_pb2.ZeroFirTransfer(
                zero_fir_number=number,
                zero_fir_index=index,
                to_station=to_station_node_id,
                direction=zf.SENT,
            )
            gd = registers.draft_gd(
                station,
                officer_id,
                "other",
                f"{number} sent to {to_station_node_id}, the station with jurisdiction "
                f"({fir.jurisdiction_station})",
                None,
                Batch(),
            )
            draft = Draft(
                "zero_fir_transfer",
                number,
                [*gd.bodies, station.body(officer_id, transfer)],
                (gd.ref,),
            )
            sent_index = station.run(draft).index
        note, (proven_fir, proven_sent), handovers = proven_at_checkpoint(
            station.ledger, index, sent_index
        )
        return federation_pb2.ZeroFirHandover(
            origin=station.config.origin,
            zero_fir=proven_fir,
            sent=proven_sent,
            checkpoint=note,
            key_handovers=handovers,
        )


def accept_zero_fir(
    station: Station,
    officer_id: str,
    handover: federation_pb2.ZeroFirHandover,
    sender_public_key: bytes,
    sender_origin: str,
) -> federation_pb2.ZeroFirAcceptance:
    """Receives a Zero FIR sent to this station: checks the hand-over (note, signatures,
    proofs, that it is for this station), registers it as an FIR in this station's series
    and appends ZeroFirTransfer{"received"} in the same commit. A hand-over received before
    gets the same acceptance again (no second FIR).

    Raises VerificationError for a hand-over that does not verify, InputError for one not
    meant for this station or whose FIR fails validation here."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.raise_if_any("Zero FIR not received")
        verified = zf.verify_handover(handover, sender_public_key, sender_origin)
        zero = verified.zero_fir
        zf.check_transfer_target(
            zero,
            verified.sent,
            _station_keys(
                station,
            ),
        )
        earlier = _received(station, zero.zero_fir_number, sender_origin)
        if earlier is not None:
            if earlier.zero_fir_index != verified.zero_fir_index:
                raise VerificationError(
                    f"{zero.zero_fir_number} of {sender_origin} was received before as its "
                    f"entry {earlier.zero_fir_index}, now as entry {verified.zero_fir_index}"
                )
            return _acceptance(station, earlier.ledger_index, earlier.assigned_fir_number)
        batch = Batch()
        fir_draft = registers.draft_fir(
            station,
            officer_id,
            zf.transferred_fir(zero),
            batch,
            gd_note=f" on transfer of {zero.zero_fir_number} from {sender_origin}",
        )
        received = records_pb2.ZeroFirTransfer(
            zero_fir_number=zero.zero_fir_number,
            zero_fir_index=verified.zero_fir_index,
            to_station=sender_origin,
            direction=zf.RECEIVED,
            assigned_fir_number=fir_draft.ref,
        )
        transfer_draft = Draft(
            "zero_fir_transfer", zero.zero_fir_number, [station.body(officer_id, received)]
        )
        receipts = station.commit([fir_draft, transfer_draft])
        return _acceptance(station, receipts[1].index, fir_draft.ref)


def record_transfer_acceptance(
    station: Station,
    officer_id: str,
    acceptance: federation_pb2.ZeroFirAcceptance,
    receiver_public_key: bytes,
    receiver_origin: str,
) -> Receipt:
    """Records, at the sending station, that the receiver numbered the Zero FIR: appends
    ZeroFirTransfer{"accepted", assigned_fir_number} once (again: the same receipt)."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.raise_if_any("Zero FIR acceptance not recorded")
        verified = zf.verify_acceptance(acceptance, receiver_public_key, receiver_origin)
        received = verified.received
        if received.to_station != station.config.origin:
            raise VerificationError(
                f"the acceptance is for a Zero FIR of {received.to_station!r}, not this log"
            )
        found = _own_zero_fir(station, received.zero_fir_number)
        if found is None or found[0] != received.zero_fir_index:
            raise VerificationError(
                f"{received.zero_fir_number} is not entry {received.zero_fir_index} here"
            )
        index, _ = found
        rows = _transfers(station, received.zero_fir_number, index)
        sent = [r for r in rows if r.direction == zf.SENT]
        receiver_keys = zf.station_names(receiver_origin.split("/", 1)[-1], receiver_origin, "")
        if not sent:
            raise InputError(f"{received.zero_fir_number} was never sent from this station")
        if not zf.names_station(sent[0].to_station, receiver_keys):
            raise VerificationError(
                f"{received.zero_fir_number} was sent to {sent[0].to_station}, "
                f"not to {receiver_origin}"
            )
        accepted = [r for r in rows if r.direction == zf.ACCEPTED]
        if accepted:
            if accepted[0].assigned_fir_number != received.assigned_fir_number:
                raise VerificationError(
                    f"{received.zero_fir_number} was recorded as "
                    f"{accepted[0].assigned_fir_number}, now said to be "
                    f"{received.assigned_fir_number}"
                )
            return station.receipt_of(accepted[0].ledger_index, received.zero_fir_number)
        entry = records_pb2.ZeroFirTransfer(
            zero_fir_number=received.zero_fir_number,
            zero_fir_index=index,
            to_station=receiver_origin,
            direction=zf.ACCEPTED,
            assigned_fir_number=received.assigned_fir_number,
        )
        # The receiver's words, written here: held to the limits like any record.
        limits.check(entry, problems)
        problems.raise_if_any("Zero FIR acceptance not recorded")
        gd = registers.draft_gd(
            station,
            officer_id,
            "information",
            f"{received.zero_fir_number} received at {receiver_origin} and registered there "
            f"as {received.assigned_fir_number}",
            None,
            Batch(),
        )
        return station.run(
            Draft(
                "zero_fir_transfer",
                received.zero_fir_number,
                [*gd.bodies, station.body(officer_id, entry)],
                (gd.ref,),
            )
        )


def zero_fir_status(station: Station, zero_ref: str, *, from_origin: str = "") -> dict[str, Any]:
    """Where a Zero FIR stands, for the citizen holding its receipt: registered here, sent
    to a station, or received and numbered as an FIR there. On the receiving station, a
    Zero FIR of another station (name it with `from_origin` when several sent the same
    number) shows the FIR it was registered as."""
    number = canonical_zero_fir_ref(zero_ref)
    own = None if from_origin not in ("", station.config.origin) else _own_zero_fir(station, number)
    if own is not None:
        index, fir = own
        status: dict[str, Any] = {
            "zero_fir_number": fir.zero_fir_number,
            "state": "registered",
            "station": station.config.station,
            "origin": station.config.origin,
            "registered_at_ms": fir.registered_at_ms,
            "jurisdiction_station": fir.jurisdiction_station,
            "entries": [index],
            "message": f"{fir.zero_fir_number} registered at {station.config.station}; "
            f"to be sent to {fir.jurisdiction_station}",
        }
        for row in _transfers(station, fir.zero_fir_number, index):
            status["entries"].append(row.ledger_index)
            if row.direction == zf.SENT:
                status.update(
                    state="sent",
                    to_station=row.to_station,
                    sent_at_ms=station.ledger.body(row.ledger_index).written_at_ms,
                    message=f"{fir.zero_fir_number} sent to {row.to_station}",
                )
            elif row.direction == zf.ACCEPTED:
                status.update(
                    state="numbered",
                    fir_number=row.assigned_fir_number,
                    fir_origin=row.to_station,
                    message=f"{fir.zero_fir_number} received and numbered as "
                    f"{row.assigned_fir_number} at {status.get('to_station', row.to_station)}",
                )
        return status
    received = [
        r
        for r in station.index.lookups.zero_fir_transfers(number)
        if r.direction == zf.RECEIVED and from_origin in ("", r.to_station)
    ]
    if not received:
        raise InputError(f"no Zero FIR {zero_ref!r} registered or received at this station")
    if len({r.to_station for r in received}) > 1:
        origins = ", ".join(sorted({r.to_station for r in received}))
        raise InputError(f"{number} was received from several stations ({origins}): name one")
    row = received[0]
    return {
        "zero_fir_number": number,
        "state": "numbered",
        "station": station.config.station,
        "origin": station.config.origin,
        "from_origin": row.to_station,
        "fir_number": row.assigned_fir_number,
        "received_at_ms": station.ledger.body(row.ledger_index).written_at_ms,
        "entries": [row.ledger_index],
        "message": f"{number} of {row.to_station} received and numbered as "
        f"{row.assigned_fir_number} at {station.config.station}",
    }


def _own_zero_fir(station: Station, ref: str) -> tuple[int, records_pb2.Fir] | None:
    index = station.index.lookups.record_index(canonical_zero_fir_ref(ref))
    if index is None:
        return None
    body = station.ledger.body(index)
    if body.WhichOneof("record") != "fir" or not body.fir.zero_fir:
        return None
    return index, body.fir


def _transfers(station: Station, number: str, zero_index: int) -> list[ZeroFirTransferRow]:
    """This station's own transfer entries ("sent", "accepted") for its Zero FIR."""
    return [
        r
        for r in station.index.lookups.zero_fir_transfers(number)
        if r.zero_fir_index == zero_index and r.direction in (zf.SENT, zf.ACCEPTED)
    ]


def _received(station: Station, number: str, sender_origin: str) -> ZeroFirTransferRow | None:
    for row in station.index.lookups.zero_fir_transfers(number):
        if row.direction == zf.RECEIVED and row.to_station == sender_origin:
            return row
    return None


def _station_keys(station: Station) -> set[str]:
    config = station.config
    return zf.station_names(config.node_id, config.origin, config.station)


def _acceptance(
    station: Station, received_index: int, fir_number: str
) -> federation_pb2.ZeroFirAcceptance:
    note, (received,), handovers = proven_at_checkpoint(station.ledger, received_index)
    return federation_pb2.ZeroFirAcceptance(
        fir_number=fir_number, received=received, checkpoint=note, key_handovers=handovers
    )
