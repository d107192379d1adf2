"""What a `FingerprintSlip` entry may say (docs/fingerprints.md). Pure: no I/O.

A ten-print names the person (`person_id`) and the record naming them ("FIR No. 12/2026"), with
one impression per finger, fingers 1 to 10 (NIST order: 1 right thumb ... 5 right little,
6 left thumb ... 10 left little), each at most once. A chance print names its case and where
it was lifted, with one impression of an unknown finger (0) or of a finger the expert names.
"""

from __future__ import annotations

import re
from typing import Final

from node.records.validation import Problems
from protos import records_pb2

FINGERS: Final = {
    1: "right thumb",
    2: "right index",
    3: "right middle",
    4: "right ring",
    5: "right little",
    6: "left thumb",
    7: "left index",
    8: "left middle",
    9: "left ring",
    10: "left little",
}
MATCHER: Final = "mcc1"
CONTENT_TYPES: Final = ("image/png", "image/jpeg")
TEMPLATE_TYPE: Final = "application/octet-stream"
_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")
_CASE: Final = re.compile(r"^(FIR No\. |ZERO FIR )[0-9]{1,9}/[0-9]{4}$")


def check_slip(slip: records_pb2.FingerprintSlip, problems: Problems) -> None:
    """Every problem of a FingerprintSlip record (its lengths are `limits.check`'s)."""
    kind = slip.WhichOneof("slip")
    if kind is None:
        problems.add("a fingerprint slip is a ten-print or a chance print")
    elif kind == "ten_print":
        if not slip.ten_print.person_id:
            problems.add("a ten-print names the person (person id)")
        if not _CASE.match(slip.ten_print.record_ref):
            problems.add('a ten-print belongs to a record such as "FIR No. 12/2026"')
    else:
        if not _CASE.match(slip.chance_print.case_ref):
            problems.add('a chance print belongs to a case such as "FIR No. 12/2026"')
        if not slip.chance_print.place:
            problems.add("a chance print says where it was lifted")
        if not slip.chance_print.lifted_by:
            problems.add("a chance print names who lifted it")
        if len(slip.impressions) != 1:
            problems.add("a chance print is one impression")
    if not slip.impressions:
        problems.add("a fingerprint slip holds at least one impression")
    seen: set[int] = set()
    for impression in slip.impressions:
        finger = impression.finger
        if kind == "ten_print" and finger not in FINGERS:
            problems.add(f"finger {finger} is not a finger position (1 to 10)")
        elif kind == "chance_print" and finger and finger not in FINGERS:
            problems.add(f"finger {finger} is not a finger position (0 unknown, 1 to 10)")
        if finger and finger in seen:
            problems.add(f"the {FINGERS.get(finger, str(finger))} appears twice")
        seen.add(finger)
        if not (
            _DIGEST.match(impression.image.sha256) and _DIGEST.match(impression.template.sha256)
        ):
            problems.add("image and template digests are 64 lowercase hexadecimal digits")
        if impression.template.content_type != TEMPLATE_TYPE:
            problems.add(f"a template is stored as {TEMPLATE_TYPE}")
        if impression.image.content_type not in CONTENT_TYPES:
            problems.add(f"an impression's image is one of {', '.join(CONTENT_TYPES)}")
    if slip.matcher != MATCHER:
        problems.add(f"templates are made by the {MATCHER!r} matcher")
