"""Photos kept with records: the station's command, and the node's face gallery (docs/photos.md).

`add_photo` keeps the image in the blob store (durable first, like a sealed identity before the
entry that commits to it), then appends a `Photo` entry holding its SHA-256, and adds the face to
the gallery. An image that shows no face is still kept (an unidentified body may be past
recognition); it is only not searchable by face.

`gallery` is the node's face gallery (node/index/faces.py): derived data, built on first use from
the photos in the index and the images in the blob store, with the embeddings cached by digest
in `<data dir>/faces/embeddings.sqlite3`; an aggregating node adds its replicas' photos to the
same gallery as their images arrive (node/peers/faces.py).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.errors import InputError
from node.index.faces import EmbeddingCache, FaceGallery, FacePhoto, decode_image
from node.index.photos import all_photos
from node.records.photos import SUBJECT_BY_PURPOSE, check_photo
from node.records.validation import Problems
from node.station import views
from node.station.blobs import BlobNotFound, digest_of
from protos import records_pb2

if TYPE_CHECKING:
    from node.station.core import Receipt, Station

FACES_DIR = "faces"
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))

_galleries: weakref.WeakKeyDictionary[Station, FaceGallery] = weakref.WeakKeyDictionary()
_galleries_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class PhotoReceipt:
    """What `add_photo` returns: the entry's receipt, the image's digest, and whether a face was
    found in it (searchable by face)."""

    receipt: Receipt
    sha256: str
    face_found: bool


def content_type_of(image: bytes) -> str:
    """The image's type by its first bytes (JPEG or PNG); InputError for anything else."""
    for magic, content_type in _MAGIC:
        if image.startswith(magic):
            return content_type
    raise InputError("a photo must be a JPEG or PNG image")


def add_photo(
    station: Station,
    officer_id: str,
    image: bytes,
    *,
    purpose: str,
    record_ref: str,
    person_id: str = "",
    subject: str = "",
    taken_at_ms: int = 0,
    taken_by: str = "",
    note: str = "",
) -> PhotoReceipt:
    """Keeps a photo with a record of this station (see the module's header). InputError listing
    every problem: an image that is no JPEG/PNG or too large, a purpose or record reference that
    does not fit, a record this station does not hold."""
    problems = Problems()
    content_type = ""
    try:
        content_type = content_type_of(image)
        decode_image(image)
    except InputError as exc:
        problems.add(str(exc))
    record_ref = record_ref.strip()
    photo = records_pb2.Photo(
        purpose=purpose,
        record_ref=record_ref,
        person_id=person_id.strip(),
        subject=subject.strip() or SUBJECT_BY_PURPOSE.get(purpose, ""),
        content_type=content_type,
        byte_size=len(image),
        taken_at_ms=taken_at_ms or station.clock(),
        taken_by=taken_by.strip() or officer_id,
        note=note.strip(),
    )
    photo.sha256 = digest_of(image)
    check_photo(photo, problems)
    if record_ref and station.index.lookups.record_index(record_ref) is None:
        problems.add(f"no record {record_ref} in this station's registers")
    withheld = views.protected_person(station, record_ref, photo.person_id)
    if withheld:  # a photo is searched for across the network: it would disclose the person
        problems.add(f"the law withholds this person's identity ({withheld}): no photo is kept")
    problems.raise_if_any("photo not kept")
    with station.writing():
        station.blobs.put(image, content_type)
        receipt = station.append_records(officer_id, [photo], ref=record_ref)
    faces = gallery(station)  # built on first use: it may hold this photo already
    face = _face_photo(station.config.origin, receipt.index, photo)
    faces.add(face, image)
    face_found = (face.origin, face.index) in faces
    return PhotoReceipt(receipt, photo.sha256, face_found)


def _face_photo(origin: str, index: int, photo: records_pb2.Photo) -> FacePhoto:
    return FacePhoto(
        origin,
        index,
        photo.record_ref,
        photo.person_id,
        photo.subject,
        photo.purpose,
        photo.sha256,
    )


def gallery(station: Station) -> FaceGallery:
    """The node's face gallery, built on first use from the station's photos and blobs."""
    with _galleries_lock:
        found = _galleries.get(station)
        if found is not None:
            return found
        root = station.blobs.root
        cache = EmbeddingCache(
            None if root is None else root.parent / FACES_DIR / "embeddings.sqlite3"
        )
        made = FaceGallery(cache)
        _galleries[station] = made
    rebuild_gallery(station, made)
    return made


def rebuild_gallery(station: Station, into: FaceGallery) -> int:
    """Adds every photo of the station's own log whose image is held; returns how many show a
    face."""
    added = 0
    origin = station.config.origin
    for row in all_photos(station.index.engine):
        if (origin, row.ledger_index) in into:
            continue
        try:
            image = station.blobs.get(row.sha256)
        except BlobNotFound:
            continue
        photo = FacePhoto(
            origin,
            row.ledger_index,
            row.record_ref,
            row.person_id,
            row.subject,
            row.purpose,
            row.sha256,
        )
        added += into.add(photo, image)
    return added
