"""The replicas' ten-prints in the node's fingerprint gallery (docs/fingerprints.md).

A node holding replicas (a district, the State Fingerprint Bureau) answers chance-print
searches from its own slips and its replicas': a replicated `FingerprintSlip` entry names its
images and templates by SHA-256, the blob follower fetches them (federation/blobs.py) and, once
a ten-print's template is held, `on_slip_held` enrols that finger (node/station/fingerprints.py
`enrol_replica_slip`). After a restart the follower tells again of every blob held, so the
gallery, derived data, is whole again without a store of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from federation.blobs import NamedBlob
from node.station import fingerprints

if TYPE_CHECKING:
    from node.station.core import Station


def on_slip_held(station: Station) -> Callable[[NamedBlob], None]:
    """The hook a BlobFollower calls for each blob a replicated entry names once it is held:
    a ten-print's template puts its finger into the gallery (an image, or a chance print, is
    only kept)."""

    def held(named: NamedBlob) -> None:
        if named.body.WhichOneof("record") != "fingerprint_slip":
            return
        fingerprints.enrol_replica_slip(
            station, named.origin, named.index, named.body.fingerprint_slip, named.blob.digest
        )

    return held
