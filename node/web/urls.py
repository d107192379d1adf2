"""Record references in URLs: "FIR No. 12/2026" is `/case/12-2026`, "ZERO FIR 3/2026" is
`/case/zero-3-2026`, anything else (a petition receipt, a GD reference) is percent-encoded.

Templates get `case_url` and `pdf_url` as globals (`node.web.app`); handlers read a reference
back with `parse_ref`. Must never: decide what a reference means (that is `node.records.refs`).
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["case_url", "parse_ref", "pdf_url", "ref_slug"]

# The digits 0-9 only (`\d` takes any script's), and no more than a serial can have.
_FIR_SLUG = re.compile(r"^\s*([0-9]{1,9})-([0-9]{4})\s*$")
_ZERO_SLUG = re.compile(r"^\s*zero-([0-9]{1,9})-([0-9]{4})\s*$", re.IGNORECASE)
_FIR_REF = re.compile(r"^FIR No\. (\d+)/(\d{4})$")
_ZERO_REF = re.compile(r"^ZERO FIR (\d+)/(\d{4})$")


def parse_ref(text: str) -> str:
    """A record reference from a URL: "12-2026" -> "FIR No. 12/2026", "zero-3-2026" ->
    "ZERO FIR 3/2026"; anything else as given ("FIR No. 12/2026", "PET/2026/000001")."""
    fir = _FIR_SLUG.match(text)
    if fir:
        return f"FIR No. {int(fir[1])}/{fir[2]}"
    zero = _ZERO_SLUG.match(text)
    if zero:
        return f"ZERO FIR {int(zero[1])}/{zero[2]}"
    return text.strip()


def ref_slug(ref: str) -> str:
    """The URL form of a reference: "FIR No. 12/2026" -> "12-2026", others percent-encoded."""
    fir = _FIR_REF.match(ref)
    if fir:
        return f"{fir[1]}-{fir[2]}"
    zero = _ZERO_REF.match(ref)
    if zero:
        return f"zero-{zero[1]}-{zero[2]}"
    return quote(ref, safe="")


def case_url(ref: str) -> str:
    """The case page of a record."""
    return f"/case/{ref_slug(ref)}"


def pdf_url(ref: str) -> str:
    """The FIR copy (PDF) of an FIR or Zero FIR."""
    return f"/fir/{ref_slug(ref)}/pdf"
