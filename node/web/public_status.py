"""What a citizen learns about a receipt or an FIR number, on the portal and in the JSON API
alike (`node.web.pages.citizen`, `node.web.pages.api`).

Two rules hold for every answer made here:
  * no enumeration: an unknown number, a known number with the wrong mobile number, and a
    record the withholding policy keeps from the public (`node.records.withholding`: a sexual
    offence, a protected person standing in clear) get the same answer (None), whichever the
    reason. A withheld record answers exactly as a number that does not exist, even to the
    holder of its mobile number: anyone holding a victim's mobile must not learn that she filed
    such a case. The portal's "no match" text tells everyone that such records are given only
    at the station;
  * the same work on every path: a lookup reads the record asked about, or a stand-in record
    of the same kind when there is none (`node.index.public.stand_ins`: the latest petition, a
    recent FIR with a withheld person), and does every check on it before deciding, so the time
    an answer takes does not tell a withheld case from an unknown number.

Must never: return a person's name or mobile number, or anything of a withheld record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ledger.errors import InputError
from node.index import public
from node.index import services as services_index
from node.index.lookups import FirView
from node.records import limits, refs
from node.records.refs import canonical_petition
from node.records.validation import mobile_matches
from node.records.withholding import assess_view
from node.station import services, transfer, views
from node.station.core import Station

__all__ = [
    "NO_MATCH",
    "CitizenStatus",
    "HeldFir",
    "ServiceStatus",
    "fir_for_holder",
    "is_service_receipt",
    "lookup_service_status",
    "lookup_status",
]

NO_MATCH = "no matching record"


@dataclass(frozen=True, slots=True)
class CitizenStatus:
    """What a citizen who proved the mobile number learns about a receipt or FIR number.

    `kind`: "petition" or "fir". `state`: for a petition "under_enquiry" or "fir_registered";
    for an FIR its status ("registered", "transferred", ...).
    """

    kind: Literal["petition", "fir"]
    reference: str
    station: str
    district: str
    date_ms: int = 0
    state: str = ""
    fir_number: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class HeldFir:
    """An FIR its complainant or informant may see online: its index view, its reference and
    its sealed current view (`node.station.views.current_view`)."""

    fir: FirView
    ref: str
    view: dict[str, Any]


def lookup_status(station: Station, reference: str, mobile: str) -> CitizenStatus | None:
    """The status of a petition receipt or an FIR number for the holder of `mobile` (as
    normalised by `normalise_mobile`); None when there is no match, whichever the reason (a
    record the law withholds included). Both kinds are looked up on every call."""
    reference = reference.strip()[: limits.REFERENCE]
    if not reference or not mobile:
        return None
    petition_stand_in, fir_stand_in = public.stand_ins(station.index)
    petition = _petition_status(station, reference, mobile, petition_stand_in)
    held = _fir_for_holder(station, reference, mobile, fir_stand_in)
    if petition is not None:
        return petition
    if held is None:
        return None
    config, fir = station.config, held.fir
    message = ""
    if fir.zero_fir:
        try:
            message = str(transfer.zero_fir_status(station, fir.zero_fir_number)["message"])
        except InputError:
            message = ""
    return CitizenStatus(
        kind="fir",
        reference=held.ref,
        station=config.station,
        district=config.district,
        date_ms=fir.registered_at_ms,
        state=fir.status,
        fir_number=fir.fir_number,
        message=message,
    )


def _petition_status(
    station: Station, reference: str, mobile: str, stand_in: int | None
) -> CitizenStatus | None:
    """A petition's status for the holder of its mobile number; the same reads and checks on
    the stand-in petition when `reference` names none."""
    found = views.find_petition(station, reference)
    subject = found
    if subject is None and stand_in is not None:
        subject = views.petition_at(station, stand_in)
    if subject is None:
        return None
    linked = public.fir_on_petition(station.index, station.statutes, subject.receipt_number)
    matches = mobile_matches([subject.petitioner_mobile], mobile)
    if found is None or not matches or (linked is not None and linked.sensitive):
        return None
    config = station.config
    return CitizenStatus(
        kind="petition",
        reference=found.receipt_number,
        station=config.station,
        district=config.district,
        date_ms=found.received_at_ms,
        state="under_enquiry" if linked is None else "fir_registered",
        fir_number="" if linked is None else linked.fir_number,
    )


def fir_for_holder(station: Station, reference: str, mobile: str) -> HeldFir | None:
    """The FIR called `reference` when `mobile` is its complainant's or informant's and the
    withholding policy lets it be shown online; None otherwise, whichever the reason. The same
    reads and checks are made on a stand-in FIR when `reference` names none."""
    reference = reference.strip()[: limits.REFERENCE]
    if not reference or not mobile:
        return None
    return _fir_for_holder(station, reference, mobile, public.stand_ins(station.index)[1])


def _fir_for_holder(
    station: Station, reference: str, mobile: str, stand_in: int | None
) -> HeldFir | None:
    position = None
    if canonical_petition(reference) is None:
        position = station.index.lookups.record_index(reference)
    subject = position if position is not None else stand_in
    if subject is None:
        return None
    body = station.ledger.body(subject)
    if body.WhichOneof("record") != "fir":  # the number of a GD entry, an NCR...
        if stand_in is None or subject == stand_in:
            return None
        position, subject, body = None, stand_in, station.ledger.body(stand_in)
    ref = body.fir.fir_number or body.fir.zero_fir_number
    matches = mobile_matches(views.fir_contact_mobiles(station, subject), mobile)
    view = views.current_view(station, ref)
    withheld = assess_view(view, station.statutes).public_withholding is not None
    if position is None or not matches or withheld:
        return None
    fir = station.index.lookups.fir(ref)
    if fir is None:
        return None
    return HeldFir(fir, ref, view)


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """What the holder of a service request or grievance receipt learns: its state, the date
    it was received and, for a request, when it is due. Never the applicant's details."""

    kind: Literal["service_request", "grievance"]
    reference: str
    station: str
    district: str
    received_ms: int
    state: str
    due_ms: int = 0
    request_kind: str = ""
    overdue: bool = False


def lookup_service_status(station: Station, reference: str, mobile: str) -> ServiceStatus | None:
    """The status of a service request ("SR/...") or grievance ("GRV/...") receipt for the
    holder of `mobile`; None when there is no match, whichever the reason (the same rule as
    `lookup_status`: no enumeration)."""
    reference = reference.strip()[: limits.REFERENCE]
    if not reference or not mobile:
        return None
    config = station.config
    request = services_index.find_request(station.index, reference)
    if request is not None:
        record = services.request_record(station, request)
        if not mobile_matches([record.applicant.mobile], mobile):
            return None
        return ServiceStatus(
            kind="service_request",
            reference=request.receipt,
            station=config.station,
            district=config.district,
            received_ms=request.received_ms,
            state=request.status,
            due_ms=request.due_ms,
            request_kind=request.kind,
            overdue=request.overdue,
        )
    grievance = services_index.find_grievance(station.index, reference)
    if grievance is not None:
        found = services.grievance_record(station, grievance)
        if not mobile_matches([found.complainant.mobile], mobile):
            return None
        return ServiceStatus(
            kind="grievance",
            reference=grievance.receipt,
            station=config.station,
            district=config.district,
            received_ms=grievance.received_ms,
            state=grievance.status,
        )
    return None


def is_service_receipt(reference: str) -> bool:
    """Whether `reference` is a service request ("SR/...") or grievance ("GRV/...") receipt."""
    return bool(refs.canonical_request(reference) or refs.canonical_grievance(reference))
