"""How police records are named: the references officers and citizens quote.

"FIR No. 12/2026", "ZERO FIR 3/2026", "GD 2026-11-28/14", "PET/2026/000123", "NCR 4/2026".
One function derives a record's reference from its ledger body, so the station, the index and
the CLI always agree.
"""

from __future__ import annotations

from protos import ledger_pb2

RECORD_KINDS = ("general_diary", "petition", "ncr", "fir")


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
