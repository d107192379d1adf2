"""A case's investigation transferred to another unit (the Crime Branch...), recorded in both
logs; a case's sections altered and reported to the court (the rules and the hand-over's checks:
`node.records.case_transfer`).

The sender appends CaseEvent{"transferred"} and sends the hand-over (the FIR entry and that event,
proven against its checkpoint); the receiver verifies it and appends a CaseTakeover entry holding
the proven entries, with a GD entry, in one commit; the sender verifies the receiver's acceptance
and appends CaseEvent{"transfer_accepted"}. Every step is idempotent: repeated, it returns what it
returned the first time. Once transferred, the sending station refuses further investigation in
the case (`node.station.casework.record_case_event`, `AFTER_TRANSFER_KINDS`).
"""

from __future__ import annotations

from typing import Any

from federation.logs import proven_at_checkpoint
from ledger.errors import InputError, VerificationError
from node.index import transfers as moved
from node.records import case_transfer as rules
from node.records import limits
from node.records.validation import Problems, check_officer, check_sections, ist_date
from node.station import casework, registers, views
from node.station.core import Batch, Draft, Receipt, Station
from protos import federation_pb2, records_pb2

# The roles whose nodes keep a station's registers and may take an investigation over: a
# specialised unit (Crime Branch, cyber police station, women's cell) runs as a "station" node
# (docs/decisions.md, "Specialised units are station nodes").
RECEIVING_ROLES = frozenset({"station"})


def _fir(station: Station, fir_number: str, problems: Problems) -> tuple[str, int]:
    """The case's number as recorded and its FIR entry's index ("", -1 with a problem)."""
    if not limits.check_text(fir_number, "CaseEvent.fir_number", "the FIR number", problems):
        return "", -1
    view = station.index.lookups.fir(fir_number.strip()) if fir_number.strip() else None
    if view is None:
        if moved.taken_over_case(station.index, fir_number) is not None:
            problems.add(
                f"{fir_number.strip()} was taken over by this unit: a transfer back or on to "
                "another unit is not modelled"
            )
        else:
            problems.add(f"no FIR {fir_number!r} at this station")
        return "", -1
    if not view.fir_number:
        problems.add(f"{view.zero_fir_number} is a Zero FIR: hand it over to the station with "
                     "jurisdiction instead")  # fmt: skip
        return "", -1
    return view.fir_number, view.ledger_index


def transfer_case(
    station: Station, officer_id: str, fir_number: str, transfer: records_pb2.CaseTransfer
) -> federation_pb2.CaseHandover:
    """Transfers the investigation of FIR `fir_number` on an order: appends CaseEvent
    {"transferred"} and returns the hand-over for the receiving unit (the FIR entry and the
    event, proven against the current checkpoint). Asked again for the same unit, it re-sends
    the same entries; another unit is refused (the case was transferred already)."""
    asked = records_pb2.CaseTransfer()
    asked.CopyFrom(transfer)
    for name in ("to_node_id", "to_unit", "ordered_by", "order_reference", "order_date", "reason"):
        setattr(asked, name, getattr(asked, name).strip())
    asked.ClearField("receiver_origin")
    asked.ClearField("takeover_index")
    asked.ClearField("transfer_index")
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        limits.check(asked, problems)
        number, fir_index = _fir(station, fir_number, problems)
        problems.raise_if_any("investigation not transferred")
        earlier = moved.transfer_out(station.index, number)
        if earlier is not None:
            if earlier.to_node_id != asked.to_node_id:
                raise InputError(
                    f"the investigation of {number} was transferred to {earlier.to_unit} "
                    f"({earlier.to_node_id}) already"
                )
            event_index = earlier.ledger_index
        else:
            rules.check_transfer(asked, ist_date(station.now()), problems)
            if asked.to_node_id and asked.to_node_id == station.config.node_id:
                problems.add("the case is this station's already: name another unit")
            event = records_pb2.CaseEvent(
                fir_number=number, kind=rules.TRANSFERRED, at_ms=station.now()
            )
            event.transfer.CopyFrom(asked)
            limits.check(event, problems)
            problems.raise_if_any("investigation not transferred")
            event_index = casework.append_case_event(station, officer_id, event).index
        note, (proven_fir, proven_transfer), handovers = proven_at_checkpoint(
            station.ledger, fir_index, event_index
        )
        return federation_pb2.CaseHandover(
            origin=station.config.origin,
            fir=proven_fir,
            transfer=proven_transfer,
            checkpoint=note,
            key_handovers=handovers,
        )


def accept_case(
    station: Station,
    officer_id: str,
    handover: federation_pb2.CaseHandover,
    sender_public_key: bytes,
    sender_origin: str,
) -> federation_pb2.CaseAcceptance:
    """Takes over a case whose investigation another station transferred here: checks the
    hand-over (note, signatures, proofs, that the order names this unit) and appends a
    CaseTakeover entry holding the proven entries, with a GD entry, in one commit. A hand-over
    taken over before gets the same acceptance again.

    VerificationError for a hand-over that does not verify or contradicts an earlier one;
    InputError for one not meant for this unit, or a node that keeps no station's registers."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.raise_if_any("case not taken over")
        verified = rules.verify_case_handover(handover, sender_public_key, sender_origin)
        order = verified.event.transfer
        config = station.config
        if order.to_node_id not in (config.node_id, config.origin):
            raise InputError(
                f"the investigation of {verified.fir.fir_number} was transferred to "
                f"{order.to_node_id!r}, not to this unit"
            )
        if config.role not in RECEIVING_ROLES:
            raise InputError(f"a {config.role!r} node takes over no investigation")
        number = verified.fir.fir_number
        earlier = moved.taken_over(station.index, sender_origin, number)
        if earlier is not None:
            if earlier.transfer_index != verified.transfer_index:
                raise VerificationError(
                    f"{number} of {sender_origin} was taken over on its entry "
                    f"{earlier.transfer_index}, now handed over as entry "
                    f"{verified.transfer_index}"
                )
            return _acceptance(station, earlier.ledger_index)
        takeover = records_pb2.CaseTakeover(
            from_origin=sender_origin,
            fir_number=number,
            fir=_proven(handover.fir),
            transfer=_proven(handover.transfer),
            checkpoint=handover.checkpoint,
            key_handovers=[_proven(k) for k in handover.key_handovers],
        )
        limits.check(takeover, problems, "the case handed over")
        problems.raise_if_any("case not taken over")
        gd = registers.draft_gd(
            station,
            officer_id,
            "information",
            f"Investigation of {number} of {verified.fir.police_station or sender_origin} "
            f"taken over by {order.to_unit} on the order of {order.ordered_by} "
            f"({order.order_reference}, {order.order_date})",
            None,
            Batch(),
        )
        receipt = station.run(
            Draft(
                "case_takeover",
                number,
                [*gd.bodies, station.body(officer_id, takeover)],
                (gd.ref,),
            )
        )
        return _acceptance(station, receipt.index)


def record_case_acceptance(
    station: Station,
    officer_id: str,
    acceptance: federation_pb2.CaseAcceptance,
    receiver_public_key: bytes,
    receiver_origin: str,
) -> Receipt:
    """Records, at the sending station, that the receiving unit took the case over: appends
    CaseEvent{"transfer_accepted"} once (again: the same receipt)."""
    with station.writing():
        problems = Problems()
        check_officer(officer_id, problems)
        problems.raise_if_any("acceptance not recorded")
        verified = rules.verify_case_acceptance(acceptance, receiver_public_key, receiver_origin)
        took = verified.takeover
        if took.from_origin != station.config.origin:
            raise VerificationError(f"the take-over is of a case of {took.from_origin!r}")
        sent = moved.transfer_out(station.index, took.fir_number)
        if sent is None:
            raise InputError(f"the investigation of {took.fir_number} was never transferred")
        if took.transfer.index != sent.ledger_index:
            raise VerificationError(
                f"the take-over answers entry {took.transfer.index}, the transfer here is "
                f"entry {sent.ledger_index}"
            )
        if receiver_origin.split("/", 1)[-1] != sent.to_node_id and receiver_origin != (
            sent.to_node_id
        ):
            raise VerificationError(
                f"{took.fir_number} was transferred to {sent.to_node_id}, not {receiver_origin}"
            )
        if sent.accepted:
            if sent.takeover_index != verified.takeover_index:
                raise VerificationError(
                    f"the take-over of {took.fir_number} was recorded as entry "
                    f"{sent.takeover_index} of {sent.receiver_origin}, now said to be "
                    f"{verified.takeover_index}"
                )
            return station.receipt_of(sent.accepted_index, took.fir_number)
        original = station.ledger.body(sent.ledger_index).case_event.transfer
        event = records_pb2.CaseEvent(
            fir_number=took.fir_number, kind=rules.TRANSFER_ACCEPTED, at_ms=station.now()
        )
        event.transfer.CopyFrom(original)
        event.transfer.receiver_origin = receiver_origin
        event.transfer.takeover_index = verified.takeover_index
        event.transfer.transfer_index = sent.ledger_index
        limits.check(event, problems)
        problems.raise_if_any("acceptance not recorded")
        return casework.append_case_event(station, officer_id, event)


def alter_sections(
    station: Station,
    officer_id: str,
    fir_number: str,
    alteration: records_pb2.SectionAlteration,
    *,
    text: str = "",
) -> Receipt:
    """Alters the case's sections (added, dropped) as reported to the court: the FIR entry is
    never changed; the case's sections now follow the alterations in order. Each added section
    is checked against the law tables (in force on the day of the offence)."""
    asked = records_pb2.SectionAlteration()
    asked.CopyFrom(alteration)
    for name in ("reason", "court", "report_date", "report_reference"):
        setattr(asked, name, getattr(asked, name).strip())
    problems = Problems()
    limits.check(asked, problems)
    problems.raise_if_any("sections not altered")
    with station.writing():
        check_officer(officer_id, problems)
        # A case this unit took over is altered here too (named by its key), on the FIR's facts
        # as the sending station's proven entry holds them.
        took = moved.taken_over_case(station.index, fir_number)
        number = took.case_key if took is not None else _fir(station, fir_number, problems)[0]
        if number:
            _, fir = views.amended_view(station, number)
            occurred_ms = int(fir.get("occurrence_from_ms", 0) or 0)
            occurred = ist_date(occurred_ms) if occurred_ms else None
            if asked.added:
                check_sections(asked.added, occurred, station.statutes, problems)
            sent = moved.transfer_out(station.index, number)
            if sent is not None:
                problems.add(moved.refusal(sent))
            rules.check_alteration(
                asked,
                moved.current_sections(station.index, number),
                ist_date(int(fir.get("registered_at_ms", 0) or 0)),
                ist_date(station.now()),
                problems,
            )
        event = records_pb2.CaseEvent(
            fir_number=number, kind=rules.SECTIONS_ALTERED, at_ms=station.now(), text=text.strip()
        )
        event.alteration.CopyFrom(asked)
        limits.check(event, problems)
        problems.raise_if_any("sections not altered")
        return casework.append_case_event(station, officer_id, event)


def case_state(station: Station, fir_number: str) -> dict[str, Any]:
    """What the case page shows: the transfer (if any), the FIR's sections, the sections now,
    and the alterations in order."""
    sent = moved.transfer_out(station.index, fir_number)
    return {
        "transfer": sent,
        "transferred_day": ist_date(sent.at_ms).isoformat() if sent else "",
        "fir_sections": moved.fir_sections(station.index, fir_number),
        "sections_now": moved.current_sections(station.index, fir_number),
        "alterations": moved.alterations(station.index, fir_number),
    }


def _proven(entry: federation_pb2.ProvenEntry) -> federation_pb2.ProvenEntry:
    copy = federation_pb2.ProvenEntry()
    copy.CopyFrom(entry)
    return copy


def _acceptance(station: Station, takeover_index: int) -> federation_pb2.CaseAcceptance:
    note, (taken_over,), handovers = proven_at_checkpoint(station.ledger, takeover_index)
    return federation_pb2.CaseAcceptance(
        taken_over=taken_over, checkpoint=note, key_handovers=handovers
    )


__all__ = [
    "RECEIVING_ROLES",
    "accept_case",
    "alter_sections",
    "case_state",
    "record_case_acceptance",
    "transfer_case",
]
