"""The 1:N gallery's stages (node/records/fingerprints/gallery.py): the batched local
similarities and LSS-R scores equal the 1:1 comparison's, and a chance print lifted from a
generated finger finds its roll first among generated distractors through the hash pre-filter."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from node.demo import fingerprints as synthetic
from node.records.fingerprints import gallery as fp_gallery
from node.records.fingerprints import mcc
from node.records.fingerprints.minutiae import extract

DISTRACTORS = 400


@pytest.fixture(scope="module")
def finger() -> tuple[mcc.Cylinders, mcc.Cylinders]:
    """(first roll, chance print) of one generated finger, read off their images."""
    master = synthetic.master_print(31, 3, 4)
    roll = synthetic.impression(master, 5, number=1)
    chance = synthetic.impression(master, 5, number=3, chance=True)
    return mcc.cylinders(extract(roll)), mcc.cylinders(extract(chance))


@pytest.fixture(scope="module")
def distractors() -> list[mcc.Cylinders]:
    return [
        mcc.cylinders(synthetic.fast_template_minutiae(32, n, 1 + n % 10))
        for n in range(DISTRACTORS)
    ]


def _word_major(
    templates: list[mcc.Cylinders],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.float32]]:
    bits = np.concatenate([t.bits for t in templates])
    masks = np.concatenate([t.masks for t in templates])
    minutiae = np.concatenate([t.minutiae for t in templates])
    return np.ascontiguousarray(bits.T), np.ascontiguousarray(masks.T), minutiae


def test_batched_local_similarities_equal_the_one_to_one(
    finger: tuple[mcc.Cylinders, mcc.Cylinders], distractors: list[mcc.Cylinders]
) -> None:
    roll, chance = finger
    templates = [roll, *distractors[:20]]
    for probe in (roll, chance):
        expected = np.concatenate([mcc.local_similarities(probe, t) for t in templates], axis=1)
        got = mcc.local_similarities_many(probe, *_word_major(templates))
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < 1e-6


def test_batched_scores_equal_the_one_to_one(
    finger: tuple[mcc.Cylinders, mcc.Cylinders], distractors: list[mcc.Cylinders]
) -> None:
    roll, chance = finger
    templates = [roll, *distractors[:40]]
    counts = np.array([len(t) for t in templates])
    width = int(counts.max())
    for probe in (roll, chance):
        lsm = np.full((len(templates), len(probe), width), -1.0, np.float32)
        minutiae = np.zeros((len(templates), width, 3), np.float32)
        for k, template in enumerate(templates):
            lsm[k, :, : len(template)] = mcc.local_similarities(probe, template)
            minutiae[k, : len(template)] = template.minutiae
        got = mcc.score_many(probe, lsm, minutiae, counts)
        expected = np.array([mcc.score(probe, t) for t in templates])
        # Equal but where similarities tie at the cut (then either pair may be taken).
        assert np.mean(np.abs(got - expected) < 1e-9) > 0.9
        assert np.abs(got - expected).max() < 0.01
        assert got[0] == pytest.approx(expected[0]) and got.argmax() == 0


def test_chance_print_finds_its_roll_first_through_the_prefilter(
    finger: tuple[mcc.Cylinders, mcc.Cylinders], distractors: list[mcc.Cylinders]
) -> None:
    roll, chance = finger
    gallery = fp_gallery.Gallery()
    for number, template in enumerate(distractors[: DISTRACTORS // 2]):
        gallery.add(f"generated:{number}", template)
    gallery.add("finger", roll)
    for number, template in enumerate(distractors[DISTRACTORS // 2 :]):
        gallery.add(f"generated:{number + DISTRACTORS // 2}", template)
    # A shortlist shorter than the gallery: the hash pre-filter must pass the mate on.
    assert DISTRACTORS // 2 in gallery.prefilter(chance, 40).tolist()
    found = gallery.search(chance, limit=3, shortlist=40)
    assert found[0].key == "finger", found
    assert found[0].score == pytest.approx(mcc.score(chance, roll))
    assert found[0].score >= 0.08 > found[1].score
