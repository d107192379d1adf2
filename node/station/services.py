"""Citizen services commands: service requests (verification, NOC, permission) received and
updated; grievances against the police received and updated by the supervising office (see
`node.records.services` for the rules).

Receipts are numbered per year, under `Station.writing()`, from the highest serial in the index
(`node.index.services`), which the commit keeps current.
"""

from __future__ import annotations

import sqlalchemy as sa

from federation.trust.identity import valid_node_id
from ledger.errors import InputError, NotFound
from node.index import services as index
from node.records import limits
from node.records.refs import (
    canonical_grievance,
    canonical_request,
    grievance_receipt,
    request_receipt,
)
from node.records.services import (
    DUE_DAYS,
    GRIEVANCE_UPDATES,
    REQUEST_CLOSED,
    REQUEST_KINDS,
    REQUEST_UPDATES,
    check_applicant,
    due_ms,
    holds_grievances,
)
from node.records.validation import Problems, check_officer, ist_date
from node.station.core import Receipt, Station
from protos import records_pb2


def receive_request(
    station: Station, officer_id: str, given: records_pb2.ServiceRequest
) -> Receipt:
    """Receives a service request: checks it, numbers it SR/YYYY/NNNNNN, sets its due date."""
    sr = records_pb2.ServiceRequest()
    sr.CopyFrom(given)
    problems = Problems()
    limits.check(sr, problems)
    problems.raise_if_any("service request not received")
    check_officer(officer_id, problems)
    if sr.kind not in DUE_DAYS:
        problems.add(f"kind must be one of {', '.join(REQUEST_KINDS)}")
    check_applicant(sr.applicant, "applicant", problems)
    if sr.receipt_number:
        problems.add("the receipt number is assigned by the station, not given")
    if sr.due_ms:
        problems.add("the due date is computed by the station, not given")
    received = station.entry_time(sr.received_at_ms, "time received", problems)
    problems.raise_if_any("service request not received")
    year = ist_date(received).year
    with station.writing():
        serial = _next_serial(station, "request", index.service_requests, year)
        sr.receipt_number = request_receipt(serial, year)
        sr.received_at_ms = received
        sr.due_ms = due_ms(sr.kind, received)
        return station.append_records(officer_id, [sr], ref=sr.receipt_number)


def update_request(
    station: Station, officer_id: str, receipt: str, status: str, note: str = ""
) -> Receipt:
    """Records a step of a service request: in progress, completed or rejected."""
    canonical = canonical_request(receipt) or receipt.strip()
    update = records_pb2.ServiceRequestUpdate(
        receipt_number=canonical, status=status, note=note.strip()
    )
    _update_problems(officer_id, update, REQUEST_UPDATES).raise_if_any(
        "service request not updated"
    )
    with station.writing():
        row = index.find_request(station.index, canonical)
        if row is None:
            raise NotFound(f"no service request {receipt!r} at this station")
        if row.status in REQUEST_CLOSED:
            raise InputError(f"{canonical} is already {row.status}")
        return station.append_records(officer_id, [update], ref=canonical)


def receive_grievance(station: Station, officer_id: str, given: records_pb2.Grievance) -> Receipt:
    """Receives a grievance against a police office, on the office that supervises it.

    Refused (InputError) on a node that supervises no one (a station: the grievance goes to its
    supervising office) and for a grievance against this office itself."""
    g = records_pb2.Grievance()
    g.CopyFrom(given)
    problems = Problems()
    limits.check(g, problems)
    problems.raise_if_any("grievance not received")
    check_officer(officer_id, problems)
    config = station.config
    if not holds_grievances(config.role):
        problems.add(
            f"a {config.role} node does not keep grievances: they are filed with the office "
            "that supervises the one complained about"
        )
    if not valid_node_id(g.against_office):
        problems.add("the office complained about must be a node id (state/district/office)")
    elif g.against_office == config.node_id:
        problems.add("a grievance against this office is filed with the office supervising it")
    check_applicant(g.complainant, "complainant", problems)
    problems.require(g.details.strip(), "details of the grievance")
    if g.receipt_number:
        problems.add("the receipt number is assigned by the office, not given")
    received = station.entry_time(g.received_at_ms, "time received", problems)
    problems.raise_if_any("grievance not received")
    year = ist_date(received).year
    with station.writing():
        serial = _next_serial(station, "grievance", index.grievances, year)
        g.receipt_number = grievance_receipt(serial, year)
        g.received_at_ms = received
        return station.append_records(officer_id, [g], ref=g.receipt_number)


def update_grievance(
    station: Station, officer_id: str, receipt: str, status: str, note: str = ""
) -> Receipt:
    """Records a step of a grievance: under enquiry, or closed with its result."""
    canonical = canonical_grievance(receipt) or receipt.strip()
    update = records_pb2.GrievanceUpdate(receipt_number=canonical, status=status, note=note.strip())
    problems = _update_problems(officer_id, update, GRIEVANCE_UPDATES)
    if status == "closed" and not note.strip():
        problems.add("closing a grievance needs the result of the enquiry")
    problems.raise_if_any("grievance not updated")
    with station.writing():
        row = index.find_grievance(station.index, canonical)
        if row is None:
            raise NotFound(f"no grievance {receipt!r} at this office")
        if row.status == "closed":
            raise InputError(f"{canonical} is already closed")
        return station.append_records(officer_id, [update], ref=canonical)


def _next_serial(station: Station, series: str, table: sa.Table, year: int) -> int:
    """The next receipt serial of `series` in `year`, from the station's counters (the highest
    in `table` the first time)."""
    return station.numbers.next(
        series, str(year), lambda: index.max_serial(station.index, table, year)
    )


def _update_problems(
    officer_id: str,
    update: records_pb2.ServiceRequestUpdate | records_pb2.GrievanceUpdate,
    allowed: tuple[str, ...],
) -> Problems:
    """The problems of a status update (officer, its limits, status), every one listed."""
    problems = Problems()
    check_officer(officer_id, problems)
    limits.check(update, problems)
    if update.status not in allowed:
        problems.add(f"status must be one of {', '.join(allowed)}")
    return problems


def request_record(station: Station, row: index.RequestRow) -> records_pb2.ServiceRequest:
    """The request as written in the ledger (the applicant's mobile is read from here)."""
    return station.ledger.body(row.ledger_index).service_request


def grievance_record(station: Station, row: index.GrievanceRow) -> records_pb2.Grievance:
    """The grievance as written in the ledger."""
    return station.ledger.body(row.ledger_index).grievance
