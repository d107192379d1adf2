"""A person's photos and ten-print fingers across the records linked to them, for the person's
profile (docs/linkage.md): the officer sees the faces and which prints are on file beside the
cases, whichever station took them.

The own log's come from the index (node/index/photos.py, node/index/fingerprints.py); a
replica's from the node's galleries, which hold every replicated photo showing a face and every
ten-print finger whose blobs have arrived (node/peers/faces.py, node/peers/fingerprints.py).
Nothing here is a search: the records are the profile's, already shown to the officer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from node.index.fingerprints import ten_prints_of_person
from node.index.photos import photos_of_person
from node.station import fingerprints, photos

if TYPE_CHECKING:
    from node.station.core import Station


@dataclass(frozen=True, slots=True)
class PhotoOnFile:
    sha256: str
    purpose: str
    record_ref: str


@dataclass(slots=True)
class PersonMedia:
    """What is on file of one person record (origin, person id)."""

    origin: str
    person_id: str
    photos: list[PhotoOnFile] = field(default_factory=list)
    fingers: list[int] = field(default_factory=list)  # NIST positions of ten-print fingers
    slip_refs: list[str] = field(default_factory=list)  # the records the slips were taken with

    @property
    def empty(self) -> bool:
        return not self.photos and not self.fingers


def person_media(station: Station, keys: Iterable[tuple[str, str]]) -> list[PersonMedia]:
    """For each (origin, person id) with something on file: its photos and ten-print fingers."""
    own = station.config.origin
    wanted = list(dict.fromkeys(keys))
    found = {key: PersonMedia(*key) for key in wanted}
    for origin, person_id in wanted:
        if origin != own or not person_id:
            continue
        own_media = found[(origin, person_id)]
        for row in photos_of_person(station.index.engine, person_id):
            own_media.photos.append(PhotoOnFile(row.sha256, row.purpose, row.record_ref))
        for impression in ten_prints_of_person(station.index.engine, person_id):
            _add_finger(own_media, impression.finger, impression.record_ref)
    if any(origin != own for origin, _ in wanted):
        for photo in photos.gallery(station).photos():
            shown = found.get((photo.origin, photo.person_id))
            if shown is not None and photo.origin != own:
                shown.photos.append(PhotoOnFile(photo.sha256, photo.purpose, photo.record_ref))
        for finger in fingerprints.replica_fingers(station):
            shown = found.get((finger.origin, finger.person_id))
            if shown is not None:
                _add_finger(shown, finger.finger, finger.record_ref)
    for media in found.values():
        media.fingers.sort()
    return [media for media in found.values() if not media.empty]


def _add_finger(media: PersonMedia, finger: int, record_ref: str) -> None:
    if finger not in media.fingers:
        media.fingers.append(finger)
    if record_ref not in media.slip_refs:
        media.slip_refs.append(record_ref)
