"""Record references in URLs (`node.web.urls`)."""

from __future__ import annotations

from node.web.urls import case_url, parse_ref, ref_slug


def test_staff_refs_round_trip_through_urls() -> None:
    assert parse_ref("12-2026") == "FIR No. 12/2026"
    assert parse_ref("zero-3-2026") == "ZERO FIR 3/2026"
    assert parse_ref("FIR No. 12/2026") == "FIR No. 12/2026"
    assert ref_slug("FIR No. 12/2026") == "12-2026"
    assert case_url("ZERO FIR 3/2026") == "/case/zero-3-2026"
    assert case_url("PET/2026/000001") == "/case/PET%2F2026%2F000001"
