"""Photos across the federation (docs/photos.md), over a real gRPC server on loopback: a district
office's replica of a station fetches the image a replicated `Photo` entry names (GetBlob),
checks it against the entry's SHA-256 and keeps it; bytes that do not hash to it are refused and
never stored; the district then finds the photo by a second photo of the same synthetic face,
the answer's receipt naming the read "search:face" with the probe's digest in the station's
audit entry.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import trio

from federation.blobs import BlobFollower, NamedBlob, referenced_blobs
from federation.logs import LedgerLogReader
from federation.verify import verify_receipt
from ledger.errors import InputError, NotFound
from node.demo import faces as synthetic
from node.index.faces import FaceModel
from node.peers.faces import on_blob_held
from node.peers.peer_node import StationPeerNode
from node.station import photos
from protos import federation_pb2
from tests.federation.test_history_search import CONTEXT, TIMEOUT, serve
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import YEAR, build_district

OFFICER = "PEN100001"


class TamperingClient:
    """A child that answers GetBlob with other bytes than the entry's image."""

    node_id = "tampering"

    async def get_blob(self, origin: str, digest: str, *, timeout: float) -> bytes:
        await trio.lowlevel.checkpoint()
        return b"\xff\xd8\xff" + b"another image" * 100


def test_photo_blob_replicated_checked_and_found_by_face(tmp_path: Path) -> None:
    district = build_district(tmp_path)
    served = child_served = None
    try:
        child = district.children[0]
        origin = child.config.origin
        fir_ref = child.index.lookups.fir(f"FIR No. 1/{YEAR}")
        assert fir_ref is not None
        person = synthetic.detectable(1, FaceModel.shared(), start=200)[0]
        image = synthetic.photo_jpeg(person, 0)
        kept = photos.add_photo(
            child,
            OFFICER,
            image,
            purpose="arrest",
            record_ref=fir_ref.fir_number,
            person_id=fir_ref.persons[0].person_id,
        )
        peer = LogPeer({origin: LedgerLogReader(child.ledger)}.__getitem__, "children")
        follow(district.replicas.get(origin).follower, peer)
        replica = district.replicas.get(origin)
        body = child.ledger.body(kept.receipt.index)
        assert [r.digest for r in referenced_blobs(body)] == [kept.sha256]
        blobs = district.station.blobs
        assert not blobs.has(kept.sha256)  # the entry came, the image did not

        # A child sending other bytes: refused, nothing stored, still pending.
        tampered = BlobFollower(replica, blobs)
        progress = trio.run(lambda: tampered.round(TamperingClient(), timeout=TIMEOUT))  # type: ignore[arg-type]
        assert (progress.fetched, progress.refused, progress.pending) == (0, 1, 1)
        assert not blobs.has(kept.sha256)

        # The real child over gRPC: fetched, checked, kept, and its face in the gallery.
        child_served = serve(StationPeerNode(child))
        follower = BlobFollower(
            replica,
            blobs,
            on_stored=on_blob_held(lambda: photos.gallery(district.station), blobs),
        )
        progress = trio.run(lambda: follower.round(child_served.client, timeout=TIMEOUT))
        assert (progress.fetched, progress.refused, progress.pending) == (1, 0, 0)
        assert blobs.get(kept.sha256) == image
        assert hashlib.sha256(blobs.get(kept.sha256)).hexdigest() == kept.sha256
        again = trio.run(lambda: follower.round(child_served.client, timeout=TIMEOUT))
        assert (again.fetched, again.pending) == (0, 0)
        # After a restart, a blob held before is told once (its face back into the gallery).
        told: list[NamedBlob] = []
        restarted = BlobFollower(replica, blobs, on_stored=told.append)
        assert restarted.scan() == 0
        assert [(n.origin, n.index) for n in told] == [(origin, kept.receipt.index)]

        # The district answers a face search from its replicas' photos, audited.
        node = StationPeerNode(
            district.station, replicas=district.replicas, replica_indexes=district.indexes
        )
        served = serve(node)
        probe = synthetic.photo_jpeg(person, 1)
        request = federation_pb2.SearchRequest(kind="face", probe=probe, context=CONTEXT, limit=5)
        client = served.client
        response = trio.run(lambda: client.search(request, timeout=TIMEOUT))
        best = response.hits[0]
        assert (best.origin, best.index, best.ref) == (
            origin,
            kept.receipt.index,
            fir_ref.fir_number,
        )
        assert f"sha256:{kept.sha256}" in best.detail
        receipt = verify_receipt(
            response.receipt,
            expected_origin=district.station.config.origin,
            owner_public_key=district.station.ledger.public_key,
        )
        assert receipt.audit.query_kind == "search:face"
        assert hashlib.sha256(probe).hexdigest() in receipt.audit.query
        assert fir_ref.fir_number in receipt.audit.returned_refs

        # A face search without a probe, or whose probe shows no face, is refused.
        with pytest.raises(InputError, match="needs a probe"):
            empty = federation_pb2.SearchRequest(kind="face", context=CONTEXT)
            trio.run(lambda: client.search(empty, timeout=TIMEOUT))
        # GetBlob of a digest nobody holds: NotFound.
        with pytest.raises(NotFound):
            trio.run(lambda: client.get_blob(origin, "0" * 64, timeout=TIMEOUT))
    finally:
        for opened in (served, child_served):
            if opened is not None:
                opened.close()
        district.close()
