"""Photos kept with records (`node.station.photos`) over a real station: the entry holds the
image's digest, the blob store the image, the face gallery finds the person by a second photo
of the same synthetic face among 10,000 enrolled."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest

from ledger.errors import InputError
from node.demo import faces as synthetic
from node.index.faces import EMBEDDING_DIM, FaceModel, FaceNotFound, FacePhoto
from node.index.photos import photos_of_record
from node.station import photos, registers
from node.station.core import Station
from protos import records_pb2
from tests.node.support import theft_fir

OFFICER = "PEN100001"
ENROLLED = 10_000
EMBEDDED = 30  # distractors embedded through the model, to fit the rest to


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return FaceModel.shared()


def _accused_fir(station: Station) -> tuple[str, str]:
    fir = theft_fir()
    fir.persons.append(
        records_pb2.PersonInCase(
            role=records_pb2.ACCUSED,
            person=records_pb2.Person(name="Muhammed Shafi M.", age=21, sex="M"),
        )
    )
    receipt = registers.register_fir(station, OFFICER, fir)
    view = station.index.lookups.fir(receipt.ref)
    assert view is not None
    accused = [p for p in view.persons if p.name == "Muhammed Shafi M."]
    return receipt.ref, accused[0].person_id


def test_photo_entry_holds_the_digest_and_the_blob_store_the_image(station: Station) -> None:
    ref, person_id = _accused_fir(station)
    image = synthetic.photo_jpeg(synthetic.identity(3), 0)
    kept = photos.add_photo(
        station, OFFICER, image, purpose="arrest", record_ref=ref, person_id=person_id
    )
    assert kept.sha256 == hashlib.sha256(image).hexdigest()
    assert station.blobs.get(kept.sha256) == image
    entry = station.ledger.body(kept.receipt.index)
    assert entry.WhichOneof("record") == "photo"
    assert entry.photo.sha256 == kept.sha256
    assert entry.photo.byte_size == len(image)
    assert entry.photo.content_type == "image/jpeg"
    assert len(entry.SerializeToString()) < 1024  # the image is not in the entry
    (row,) = photos_of_record(station.index.engine, ref)
    assert (row.person_id, row.sha256, row.purpose) == (person_id, kept.sha256, "arrest")
    assert kept.face_found


def test_photo_refused_with_every_problem_listed(station: Station) -> None:
    with pytest.raises(InputError) as refused:
        photos.add_photo(
            station, OFFICER, b"not an image", purpose="selfie", record_ref="FIR No. 99/2026"
        )
    message = str(refused.value)
    assert "JPEG or PNG" in message
    assert "purpose must be one of" in message
    assert "no record FIR No. 99/2026" in message
    assert station.ledger.size() == 1  # only the genesis entry
    assert list(station.blobs.digests()) == []


def test_face_found_rank_one_among_ten_thousand(station: Station, model: FaceModel) -> None:
    """The mate (photo 0) is enrolled through the full pipeline (station command, blob store,
    detector, aligner, embedding, HNSW index), and the probe (photo 1 of the same synthetic face)
    searched through it. Distractors: EMBEDDED synthetic faces through the model as well; the
    rest (embedding 10,000 images takes about 12 minutes on two cores) are drawn from a normal
    distribution fitted to those real embeddings (mean and shrunk covariance), so they are as
    spread as the model's embeddings of different faces are."""
    ref, person_id = _accused_fir(station)
    (target,) = synthetic.detectable(1, model, start=100)
    others: list[synthetic.Identity] = []
    found: list[np.ndarray] = []
    number = target.number + 1
    while len(found) < EMBEDDED:
        person = synthetic.identity(number)
        number += 1
        try:
            found.append(model.embed(synthetic.photo_jpeg(person, 0)))
        except FaceNotFound:
            continue
        others.append(person)
    gallery = photos.gallery(station)
    real = np.stack(found)
    mean = real.mean(axis=0)
    covariance = np.cov(real, rowvar=False)
    covariance = 0.7 * covariance + 0.3 * np.diag(np.diag(covariance))
    rng = np.random.default_rng(7)
    drawn = rng.multivariate_normal(mean, covariance, ENROLLED - 1 - EMBEDDED).astype(np.float32)
    vectors = np.vstack([real, drawn]).astype(np.float32)
    distractors = [
        FacePhoto("distractor", i, f"FIR No. {i + 1}/2025", "", f"person {i}", "arrest", "")
        for i in range(len(vectors))
    ]
    assert vectors.shape == (ENROLLED - 1, EMBEDDING_DIM)
    gallery.add_vectors(distractors, vectors)
    kept = photos.add_photo(
        station,
        OFFICER,
        synthetic.photo_jpeg(target, 0),
        purpose="arrest",
        record_ref=ref,
        person_id=person_id,
    )
    assert kept.face_found
    assert len(gallery) == ENROLLED
    started = time.perf_counter()
    matches = gallery.search_image(synthetic.photo_jpeg(target, 1), 10)
    assert time.perf_counter() - started >= 0  # not a timed assertion: the search ran
    best = matches[0]
    assert (best.photo.origin, best.photo.index) == (
        station.config.origin,
        kept.receipt.index,
    )
    assert best.likely_same
    # Synthetic faces are all made from one face: different ones lie nearer each other than
    # different people do (0.3 to 0.7, against dlib's 0.6), so only the ranking is asserted.
    assert best.distance < matches[1].distance
    # And a different face's photo does not find it first.
    stranger = synthetic.photo_jpeg(others[0], 1)
    assert gallery.search_image(stranger, 1)[0].photo.index != kept.receipt.index


def test_gallery_rebuilt_from_ledger_and_blobs(data_dir: object, station: Station) -> None:
    ref, person_id = _accused_fir(station)
    person = synthetic.identity(5)
    kept = photos.add_photo(
        station,
        OFFICER,
        synthetic.photo_jpeg(person, 0),
        purpose="arrest",
        record_ref=ref,
        person_id=person_id,
    )
    assert kept.face_found
    fresh = photos.FaceGallery(photos.EmbeddingCache(None))
    assert photos.rebuild_gallery(station, fresh) == 1
    match = fresh.search_image(synthetic.photo_jpeg(person, 1), 1)[0]
    assert match.photo.index == kept.receipt.index


def test_no_photo_kept_of_a_child_the_law_protects(station: Station) -> None:
    """A photo is searched for across the network: one of an accused child (JJ Act s.74) would
    disclose them, so none is kept, and nothing is written."""
    fir = theft_fir()
    fir.persons.append(
        records_pb2.PersonInCase(
            role=records_pb2.ACCUSED,
            person=records_pb2.Person(name="Arjun K.", age=16, sex="M"),
        )
    )
    ref = registers.register_fir(station, OFFICER, fir).ref
    view = station.index.lookups.fir(ref)
    assert view is not None
    (child,) = [p for p in view.persons if p.withheld]  # sealed at registration
    size, held = station.ledger.size(), set(station.blobs.digests())
    image = synthetic.photo_jpeg(synthetic.identity(5), 0)
    with pytest.raises(InputError) as refused:
        photos.add_photo(
            station, OFFICER, image, purpose="arrest", record_ref=ref, person_id=child.person_id
        )
    assert "JJ Act" in str(refused.value)
    assert station.ledger.size() == size and set(station.blobs.digests()) == held
