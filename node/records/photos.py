"""Photos kept with records: what a `Photo` entry may say (docs/photos.md).

A photo is kept for one of three purposes, each tied to the record it belongs to:
  arrest             an arrested person, photographed at arrest; the record is the case (an FIR)
                     and `person_id` the accused as the FIR names them
  unidentified_body  an unidentified body; the record is the General Diary entry that records
                     its finding ("GD 2026-11-28/14")
  missing_person     a person reported missing; the record is the petition reporting it
                     ("PET/2026/000123"), the photo the one the family gave
The image itself is never in the entry: its SHA-256, content type and size are, and the image is
in the node's blob store. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Final

from node.records.validation import Problems
from protos import records_pb2

PURPOSES: Final = ("arrest", "unidentified_body", "missing_person")
# What each purpose's record reference looks like (the record must also exist: the station
# checks that in its index).
_RECORD_PATTERNS: Final = {
    "arrest": re.compile(r"^(FIR No\. |ZERO FIR )[0-9]{1,9}/[0-9]{4}$"),
    "unidentified_body": re.compile(r"^GD [0-9]{4}-[0-9]{2}-[0-9]{2}/[0-9]{1,9}$"),
    "missing_person": re.compile(r"^PET/[0-9]{4}/[0-9]{1,9}$"),
}
_RECORD_EXAMPLES: Final = {
    "arrest": '"FIR No. 12/2026"',
    "unidentified_body": '"GD 2026-11-28/14"',
    "missing_person": '"PET/2026/000123"',
}
CONTENT_TYPES: Final = ("image/jpeg", "image/png")
_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")
SUBJECT_BY_PURPOSE: Final = {
    "unidentified_body": "unidentified body",
    "missing_person": "missing person",
}


def check_photo(photo: records_pb2.Photo, problems: Problems) -> None:
    """Every problem of a Photo record (its limits are `limits.check`'s)."""
    if photo.purpose not in PURPOSES:
        problems.add(f"purpose must be one of {', '.join(PURPOSES)}")
    else:
        pattern = _RECORD_PATTERNS[photo.purpose]
        if not pattern.match(photo.record_ref):
            problems.add(
                f"a photo for {photo.purpose.replace('_', ' ')} belongs to a record such as "
                f"{_RECORD_EXAMPLES[photo.purpose]}"
            )
    if photo.purpose == "arrest" and not photo.person_id:
        problems.add("an arrest photo names the person (person id) the FIR names")
    if not _DIGEST.match(photo.sha256):
        problems.add("sha256 must be 64 lowercase hexadecimal digits")
    if photo.content_type not in CONTENT_TYPES:
        problems.add(f"content type must be one of {', '.join(CONTENT_TYPES)}")
    if photo.byte_size == 0:
        problems.add("byte size is required")
    if photo.taken_at_ms <= 0:
        problems.add("the time the photo was taken is required")
