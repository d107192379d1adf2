"""Fingerprint slips (`node.station.fingerprints`) over a real station, and the bureau's answers
to other offices (`node.peers.peer_node` through `federation.service.PeerService`): a chance
print (partial, distorted) finds its ten-print at rank 1 among a few hundred enrolled fingers; a
print of a finger never enrolled is no hit; an office not entitled to full records gets hit/no-hit
only, and every search is an audited read.

The prints are synthetic (node/demo/fingerprints.py). Three ten-prints go through the whole
pipeline (images, minutiae, blob store, ledger entry, index, gallery); the other fingers of the
gallery are generated templates added to it directly, as image generation costs a second each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from federation.blobs import referenced_blobs
from federation.interfaces import PeerIdentity
from federation.service import PeerService
from ledger.errors import InputError, NotPermitted
from node.config import DataDir
from node.demo import fingerprints as synthetic
from node.index.fingerprints import slips_of_record
from node.peers.peer_node import StationPeerNode
from node.records.fingerprints import mcc
from node.station import fingerprints, registers
from node.station.core import Station
from protos import federation_pb2, records_pb2
from tests.node.support import theft_fir

ORIGIN = "cctns.in/kerala/fingerprint-bureau/sfb-thiruvananthapuram"
OFFICER = "PEN100001"
SEED = 2026
PERSONS = 3
FINGERS = (2, 7)  # right and left index
DISTRACTORS = 300
STATION = PeerIdentity("kerala/ernakulam-city/ps-aluva", "station", "kerala/ernakulam-city", b"")
LAB = PeerIdentity("kerala/forensic-lab/fsl-tvm", "forensic-lab", "kerala", b"")
CONTEXT = federation_pb2.QueryContext(
    officer_id="PEN300003", purpose="investigation", case_ref="FIR No. 4/2026 of ps-aluva"
)


@dataclass
class Bureau:
    station: Station
    refs: list[str]  # the FIR of each enrolled person
    service: PeerService


def _chance_print(person: int, finger: int, number: int = 9) -> bytes:
    master = synthetic.master_print(SEED, person, finger)
    return synthetic.encode_png(
        synthetic.impression(master, SEED * 100 + person, number=number, chance=True)
    )


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bureau]:
    root: Path = tmp_path_factory.mktemp("bureau")
    data_dir = DataDir(root / "node")
    data_dir.create(
        origin=ORIGIN, district="Thiruvananthapuram City", station="State Fingerprint Bureau"
    )
    station = Station.open(data_dir)
    refs = []
    for person in range(PERSONS):
        fir = theft_fir()
        ref = registers.register_fir(station, OFFICER, fir).ref
        images = {
            finger: synthetic.encode_png(
                synthetic.impression(
                    synthetic.master_print(SEED, person, finger), SEED * 100 + person, number=finger
                )
            )
            for finger in FINGERS
        }
        fingerprints.enrol_ten_print(
            station,
            OFFICER,
            images,
            person_id=f"P{person}",
            record_ref=ref,
            subject=f"Person {person}",
        )
        refs.append(ref)
    gallery = fingerprints.gallery(station)
    for number in range(DISTRACTORS):
        minutiae = synthetic.fast_template_minutiae(SEED + 1, number, 1 + number % 10)
        gallery.add(f"distractor:{number}", mcc.cylinders(minutiae))
    try:
        yield Bureau(station, refs, PeerService(StationPeerNode(station)))
    finally:
        station.close()


def test_ten_print_entry_names_images_and_templates_kept_in_the_blob_store(bureau: Bureau) -> None:
    rows = slips_of_record(bureau.station.index.engine, bureau.refs[0])
    assert [row.finger for row in rows] == list(FINGERS)
    entry = bureau.station.ledger.body(rows[0].ledger_index)
    slip = entry.fingerprint_slip
    assert slip.ten_print.person_id == "P0" and slip.matcher == "mcc1"
    for impression in slip.impressions:
        assert bureau.station.blobs.get(impression.image.sha256).startswith(b"\x89PNG")
        template = mcc.decode_template(bureau.station.blobs.get(impression.template.sha256))
        assert len(template) == impression.minutiae >= fingerprints.MIN_MINUTIAE
    assert len(entry.SerializeToString()) < 2048  # images and templates are not in the entry
    # Replicas fetch what the entry names (federation/blobs.py): both blobs of every finger.
    named = {blob.digest for blob in referenced_blobs(entry)}
    assert named == {d for i in slip.impressions for d in (i.image.sha256, i.template.sha256)}


def test_chance_print_finds_its_ten_print_at_rank_one(bureau: Bureau) -> None:
    assert len(fingerprints.gallery(bureau.station)) == PERSONS * len(FINGERS) + DISTRACTORS
    for person in range(PERSONS):
        candidates = fingerprints.search(bureau.station, _chance_print(person, FINGERS[1]))
        assert candidates, person
        best = candidates[0]
        assert (best.person_id, best.finger, best.record_ref) == (
            f"P{person}",
            FINGERS[1],
            bureau.refs[person],
        )
        assert best.hit


def test_print_never_enrolled_is_no_hit(bureau: Bureau) -> None:
    stranger = _chance_print(PERSONS + 5, 3)
    assert fingerprints.hits(bureau.station, stranger) == []


def test_chance_print_kept_with_its_case(bureau: Bureau) -> None:
    kept = fingerprints.record_chance_print(
        bureau.station,
        OFFICER,
        _chance_print(0, FINGERS[0]),
        case_ref=bureau.refs[1],
        place="window pane",
    )
    assert kept.slip.chance_print.lifted_by == OFFICER
    (row,) = [
        r
        for r in slips_of_record(bureau.station.index.engine, bureau.refs[1])
        if r.slip == "chance_print"
    ]
    assert row.finger == 0 and row.subject == "window pane"
    with pytest.raises(InputError) as refused:
        fingerprints.record_chance_print(
            bureau.station, OFFICER, b"no image", case_ref="FIR 1", place=""
        )
    message = str(refused.value)
    assert "PNG or JPEG" in message and "says where it was lifted" in message


def test_entitled_office_gets_ranked_candidates_and_the_read_is_audited(bureau: Bureau) -> None:
    request = federation_pb2.SearchRequest(
        kind="fingerprint", probe=_chance_print(1, FINGERS[1]), limit=5, context=CONTEXT
    )
    response = bureau.service.search(STATION, request)
    assert response.hits[0].ref == bureau.refs[1]
    assert response.hits[0].title == "Person 1"
    audit = bureau.station.ledger.body(bureau.station.ledger.size() - 1).audit
    assert audit.query_kind == "search:fingerprint" and audit.full_record
    assert "probe sha256:" in audit.query and bureau.refs[1] in audit.returned_refs


def test_office_not_entitled_gets_hit_or_no_hit_only(bureau: Bureau) -> None:
    probe = _chance_print(2, FINGERS[1])
    with pytest.raises(NotPermitted):
        bureau.service.search(
            LAB, federation_pb2.SearchRequest(kind="fingerprint", probe=probe, context=CONTEXT)
        )
    hit = bureau.service.hit_no_hit(
        LAB, federation_pb2.HitRequest(identifier_type="chance_print", probe=probe, context=CONTEXT)
    )
    assert hit.hit and list(hit.refs) == [bureau.refs[2]]
    audit = bureau.station.ledger.body(bureau.station.ledger.size() - 1).audit
    assert audit.query_kind == "hit:chance_print" and not audit.full_record
    miss = bureau.service.hit_no_hit(
        LAB,
        federation_pb2.HitRequest(
            identifier_type="chance_print", probe=_chance_print(PERSONS + 7, 4), context=CONTEXT
        ),
    )
    assert not miss.hit and not miss.refs


def test_no_ten_print_kept_of_a_child_the_law_protects(bureau: Bureau) -> None:
    """A ten-print is searched across the network: an accused child's (JJ Act s.74) is refused
    with the law named, and nothing is written."""
    fir = theft_fir()
    fir.persons.append(
        records_pb2.PersonInCase(
            role=records_pb2.ACCUSED,
            person=records_pb2.Person(name="Arjun K.", age=16, sex="M"),
        )
    )
    station = bureau.station
    ref = registers.register_fir(station, OFFICER, fir).ref
    view = station.index.lookups.fir(ref)
    assert view is not None
    (child,) = [p for p in view.persons if p.withheld]  # sealed at registration
    size = station.ledger.size()
    image = synthetic.encode_png(
        synthetic.impression(synthetic.master_print(SEED, 0, 1), SEED * 100 + 77, number=1)
    )
    with pytest.raises(InputError) as refused:
        fingerprints.enrol_ten_print(
            station, OFFICER, {1: image}, person_id=child.person_id, record_ref=ref
        )
    assert "JJ Act" in str(refused.value)
    assert station.ledger.size() == size
