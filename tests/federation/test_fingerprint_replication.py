"""Fingerprint slips across the federation (docs/fingerprints.md), over a real gRPC server on
loopback: a district office's replica of a station fetches the images and templates a replicated
ten-print names (GetBlob, each checked against the entry's SHA-256); once a finger's template is
held it joins the district's gallery, so a chance print searched at the district finds the
station's ten-print, the hit naming the station's log; a replica's fingers are left out of the
answer when its log is excluded (quarantined), and told again after a restart, never twice.
"""

from __future__ import annotations

from pathlib import Path

import trio

from federation.blobs import BlobFollower, NamedBlob
from federation.logs import LedgerLogReader
from federation.verify import verify_receipt
from node.demo import fingerprints as synthetic
from node.peers.fingerprints import on_slip_held
from node.peers.peer_node import StationPeerNode
from node.station import fingerprints
from protos import federation_pb2
from tests.federation.test_history_search import CONTEXT, TIMEOUT, serve
from tests.federation.test_replication import LogPeer, follow
from tests.node.peers.district import YEAR, build_district

OFFICER = "PEN100001"
SEED = 4242
FINGERS = (2, 7)


def _print(person: int, finger: int, number: int, *, chance: bool = False) -> bytes:
    master = synthetic.master_print(SEED, person, finger)
    return synthetic.encode_png(
        synthetic.impression(master, SEED * 100 + person, number=number, chance=chance)
    )


def test_replica_ten_print_found_by_a_chance_print_at_the_district(tmp_path: Path) -> None:
    district = build_district(tmp_path)
    child_served = served = None
    try:
        child = district.children[0]
        origin = child.config.origin
        fir = child.index.lookups.fir(f"FIR No. 1/{YEAR}")
        assert fir is not None
        person_id = fir.persons[0].person_id
        kept = fingerprints.enrol_ten_print(
            child,
            OFFICER,
            {finger: _print(0, finger, finger) for finger in FINGERS},
            person_id=person_id,
            record_ref=fir.fir_number,
            subject="Accused of FIR 1",
        )
        templates = {i.template.sha256 for i in kept.slip.impressions}
        peer = LogPeer({origin: LedgerLogReader(child.ledger)}.__getitem__, "children")
        follow(district.replicas.get(origin).follower, peer)
        replica = district.replicas.get(origin)
        station = district.station
        assert len(fingerprints.gallery(station)) == 0  # the entry came, its blobs did not

        child_served = serve(StationPeerNode(child))
        follower = BlobFollower(replica, station.blobs, on_stored=on_slip_held(station))
        progress = trio.run(lambda: follower.round(child_served.client, timeout=TIMEOUT))
        assert (progress.fetched, progress.refused, progress.pending) == (4, 0, 0)
        assert all(station.blobs.has(digest) for digest in templates)
        assert len(fingerprints.gallery(station)) == len(FINGERS)

        # A restart tells of every blob held again: the fingers are not enrolled twice.
        told: list[NamedBlob] = []
        restarted = BlobFollower(replica, station.blobs, on_stored=told.append)
        assert restarted.scan() == 0 and len(told) == 2 * len(FINGERS)
        hook = on_slip_held(station)
        for named in told:
            hook(named)
        assert len(fingerprints.gallery(station)) == len(FINGERS)

        # The district's own search names the station's log and record.
        probe = _print(0, FINGERS[1], 9, chance=True)
        best = fingerprints.search(station, probe)[0]
        assert (best.origin, best.replica, best.record_ref, best.finger) == (
            origin,
            True,
            fir.fir_number,
            FINGERS[1],
        )
        assert best.hit and best.person_id == person_id
        assert best.reference == f"{fir.fir_number} @ {origin.split('/', 1)[-1]}"
        # A quarantined log's fingers are not answered.
        assert fingerprints.search(station, probe, excluded=frozenset({origin})) == []

        # Another office asks the district over gRPC: the hit names the station's entry.
        node = StationPeerNode(
            station, replicas=district.replicas, replica_indexes=district.indexes
        )
        served = serve(node)
        client = served.client
        request = federation_pb2.SearchRequest(
            kind="fingerprint", probe=probe, context=CONTEXT, limit=5
        )
        response = trio.run(lambda: client.search(request, timeout=TIMEOUT))
        hit = response.hits[0]
        assert (hit.origin, hit.ref, hit.index) == (origin, fir.fir_number, kept.receipt.index)
        assert "hit" in hit.detail
        receipt = verify_receipt(
            response.receipt,
            expected_origin=station.config.origin,
            owner_public_key=station.ledger.public_key,
        )
        assert receipt.audit.query_kind == "search:fingerprint"
        # A print of a finger nobody enrolled finds no hit.
        stranger = _print(5, 3, 9, chance=True)
        assert not [c for c in fingerprints.search(station, stranger) if c.hit]
    finally:
        for opened in (served, child_served):
            if opened is not None:
                opened.close()
        district.close()
