"""Face search as the federation asks it, and the replicas' photos in the node's gallery.

A search of kind "face" (SearchRequest.probe: the image) is answered from the node's face gallery
(node/station/photos.py `gallery`): the station's own photos and, on an aggregating node, the
photos of every replica whose image has arrived (`on_blob_held`, the BlobFollower's hook:
federation/blobs.py). Hits name the `Photo` entry (origin, ledger index), so a page can show the
photo and the record it belongs to; a quarantined replica's photos are never answered.
"""

from __future__ import annotations

from collections.abc import Callable

from federation.blobs import NamedBlob
from node.index.faces import FaceGallery, FaceMatch, FacePhoto
from node.station.blobs import BlobStore
from protos import federation_pb2


def on_blob_held(
    gallery: Callable[[], FaceGallery], blobs: BlobStore
) -> Callable[[NamedBlob], None]:
    """The hook a BlobFollower calls for each blob a replicated entry names once it is held:
    a `Photo`'s face goes into the gallery (`gallery` is called then: built on first use)."""

    def held(named: NamedBlob) -> None:
        if named.body.WhichOneof("record") != "photo":
            return
        photo = named.body.photo
        face = FacePhoto(
            named.origin,
            named.index,
            photo.record_ref,
            photo.person_id,
            photo.subject,
            photo.purpose,
            photo.sha256,
        )
        target = gallery()
        if (face.origin, face.index) not in target:
            target.add(face, blobs.get(photo.sha256))

    return held


def face_hits(
    gallery: FaceGallery, probe: bytes, limit: int, quarantined: set[str]
) -> list[federation_pb2.SearchHit]:
    """The photos nearest the face in `probe`, as search hits (best first). FaceNotFound (an
    InputError) when the probe shows no face."""
    matches = gallery.search_image(probe, limit + len(quarantined) * 4)
    return [_hit(m) for m in matches if m.photo.origin not in quarantined][:limit]


def _hit(match: FaceMatch) -> federation_pb2.SearchHit:
    photo = match.photo
    # The digest lets a page show the image from its own blob store when it holds it.
    detail = f"{photo.purpose} · distance {match.distance:.3f} · sha256:{photo.sha256}"
    return federation_pb2.SearchHit(
        origin=photo.origin,
        ref=photo.record_ref,
        index=photo.index,
        title=photo.subject or photo.person_id or photo.record_ref,
        detail=detail,
        score=match.score,
    )
