"""How police records are named: the references officers and citizens quote.

"FIR No. 12/2026", "ZERO FIR 3/2026", "GD 2026-11-28/14", "PET/2026/000123", "NCR 4/2026",
"SR/2026/000012" (service requests), "GRV/2026/000003" (grievances). The `canonical_*` functions
read a reference as people type it.
One function derives a record's reference from its ledger body, so the station, the index and
the CLI always agree.
"""

from __future__ import annotations

import re

from protos import ledger_pb2

# Numbers are the digits 0-9 (`\d` would take any script's digits) and no longer than a serial.
_PETITION = re.compile(r"^\s*PET\s*/\s*([0-9]{4})\s*/\s*([0-9]{1,9})\s*$", re.IGNORECASE)
_SR = re.compile(r"^\s*SR\s*/\s*([0-9]{4})\s*/\s*([0-9]{1,9})\s*$", re.IGNORECASE)
_GRV = re.compile(r"^\s*GRV\s*/\s*([0-9]{4})\s*/\s*([0-9]{1,9})\s*$", re.IGNORECASE)
_ZERO_REF = re.compile(
    r"^\s*zero\s*fir\s*(?:no\.?\s*)?([0-9]{1,9})\s*/\s*([0-9]{4})\s*$", re.IGNORECASE
)
_SERIAL = re.compile(r"[0-9]{1,9}")


def fir_number(serial: int, year: int) -> str:
    return f"FIR No. {serial}/{year}"


def zero_fir_number(serial: int, year: int) -> str:
    return f"ZERO FIR {serial}/{year}"


def gd_ref(gd_date: str, number: int) -> str:
    """The diary reference cited by FIRs ("2026-11-28/14")."""
    return f"{gd_date}/{number}"


def petition_receipt(serial: int, year: int) -> str:
    return f"PET/{year}/{serial:06d}"


def ncr_number(serial: int, year: int) -> str:
    return f"NCR {serial}/{year}"


def record_ref(body: ledger_pb2.EntryBody) -> str:
    """The reference of the record an entry carries ("" for entries that are not records)."""
    kind = body.WhichOneof("record")
    if kind == "fir":
        return body.fir.fir_number or body.fir.zero_fir_number
    if kind == "general_diary":
        return "GD " + gd_ref(body.general_diary.gd_date, body.general_diary.gd_number)
    if kind == "petition":
        return body.petition.receipt_number
    if kind == "ncr":
        return body.ncr.ncr_number
    if kind == "amendment":
        return body.amendment.record_ref
    if kind == "zero_fir_transfer":
        return body.zero_fir_transfer.zero_fir_number
    return ""


def canonical_zero_fir_ref(ref: str) -> str:
    """ "zero fir 4/2026", "ZERO FIR No. 4 / 2026" -> "ZERO FIR 4/2026"; others as given."""
    match = _ZERO_REF.match(ref)
    return zero_fir_number(int(match[1]), int(match[2])) if match else ref.strip()


def request_receipt(serial: int, year: int) -> str:
    return f"SR/{year}/{serial:06d}"


def grievance_receipt(serial: int, year: int) -> str:
    return f"GRV/{year}/{serial:06d}"


def canonical_petition(text: str) -> str | None:
    """'pet/2026/123' -> 'PET/2026/000123'; None when it is no petition receipt."""
    match = _PETITION.match(text or "")
    return petition_receipt(int(match[2]), int(match[1])) if match else None


def canonical_request(text: str) -> str | None:
    """'sr/2026/12' -> 'SR/2026/000012'; None when it is no service request receipt."""
    match = _SR.match(text or "")
    return request_receipt(int(match[2]), int(match[1])) if match else None


def canonical_grievance(text: str) -> str | None:
    """'grv/2026/3' -> 'GRV/2026/000003'; None when it is no grievance receipt."""
    match = _GRV.match(text or "")
    return grievance_receipt(int(match[2]), int(match[1])) if match else None


def year_serial(receipt: str) -> tuple[int, int]:
    """ "SR/2026/000012" -> (2026, 12); (0, 0) for text of another form."""
    parts = receipt.split("/")
    if len(parts) == 3 and _SERIAL.fullmatch(parts[1]) and _SERIAL.fullmatch(parts[2]):
        return int(parts[1]), int(parts[2])
    return 0, 0
