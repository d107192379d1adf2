"""What a citizen learns about a receipt or an FIR number, on the portal and in the JSON API
alike (`node.web.pages.citizen`, `node.web.pages.api`).

Two rules hold for every answer made here:
  * no enumeration: an unknown number and a known number with the wrong mobile number get the
    same answer (None), whichever the reason;
  * a record the law keeps from the public (sexual offences, juveniles, sealed identities)
    shows nothing of itself: its own complainant, proving the mobile number, learns only that
    it is withheld by law.

Must never: return a person's name or mobile number, or anything of a withheld record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledger.errors import InputError
from node.index import public
from node.index import services as services_index
from node.index.lookups import FirView
from node.records import limits, refs
from node.records.refs import canonical_petition
from node.records.sealing import withheld_in_view
from node.records.validation import mobile_matches
from node.station import services, transfer, views
from node.station.core import Station
from node.web.pdf import withheld_from_public

__all__ = [
    "NO_MATCH",
    "CitizenStatus",
    "ServiceStatus",
    "find_fir",
    "is_service_receipt",
    "lookup_service_status",
    "lookup_status",
    "withheld",
]

NO_MATCH = "no matching record"


@dataclass(frozen=True, slots=True)
class CitizenStatus:
    """What a citizen who proved the mobile number learns about a receipt or FIR number.

    `kind`: "petition", "fir", or "withheld" (a record the law keeps from the public: nothing
    else is filled in). `state`: for a petition "under_enquiry" or "fir_registered"; for an FIR
    its status ("registered", "transferred", ...).
    """

    kind: Literal["petition", "fir", "withheld"]
    reference: str
    station: str
    district: str
    date_ms: int = 0
    state: str = ""
    fir_number: str = ""
    message: str = ""


def lookup_status(station: Station, reference: str, mobile: str) -> CitizenStatus | None:
    """The status of a petition receipt or an FIR number for the holder of `mobile` (as
    normalised by `normalise_mobile`); None when there is no match, whichever the
    reason."""
    reference = reference.strip()[: limits.REFERENCE]
    if not reference or not mobile:
        return None
    config = station.config
    petition = views.find_petition(station, reference)
    if petition is not None:
        if not mobile_matches([petition.petitioner_mobile], mobile):
            return None
        linked = public.fir_on_petition(station.index, station.statutes, petition.receipt_number)
        return CitizenStatus(
            kind="petition",
            reference=petition.receipt_number,
            station=config.station,
            district=config.district,
            date_ms=petition.received_at_ms,
            state="under_enquiry" if linked is None else "fir_registered",
            fir_number="" if linked is None or linked.sensitive else linked.fir_number,
        )
    found = find_fir(station, reference)
    if found is None:
        return None
    view, ref = found
    if not mobile_matches(views.fir_contact_mobiles(station, view.ledger_index), mobile):
        return None
    if withheld(station, ref) is not None:
        return CitizenStatus(
            kind="withheld", reference="", station=config.station, district=config.district
        )
    message = ""
    if view.zero_fir:
        try:
            message = str(transfer.zero_fir_status(station, view.zero_fir_number)["message"])
        except InputError:
            message = ""
    return CitizenStatus(
        kind="fir",
        reference=ref,
        station=config.station,
        district=config.district,
        date_ms=view.registered_at_ms,
        state=view.status,
        fir_number=view.fir_number,
        message=message,
    )


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


def find_fir(station: Station, reference: str) -> tuple[FirView, str] | None:
    """The FIR (index view) called `reference` and its record reference."""
    if canonical_petition(reference) is not None:
        return None
    view = station.index.lookups.fir(reference)
    if view is None:
        return None
    return view, view.fir_number or view.zero_fir_number


def withheld(station: Station, ref: str) -> str | None:
    """Why the law withholds FIR `ref` from the public (both tests: the sealing rules' and the
    PDF module's), or None."""
    view = views.current_view(station, ref)
    reason = withheld_in_view(view, station.statutes)
    if reason is not None:
        return reason
    return withheld_from_public(view, station.statutes)
