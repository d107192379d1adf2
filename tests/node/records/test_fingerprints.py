"""The matcher's pure parts (`node.records.fingerprints`) on generated minutiae, without images:
templates read back as written, a moved and distorted copy of a finger scores far above another
finger, the 1:N gallery finds a partial copy first among three hundred, and the generator is
deterministic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.demo import fingerprints as synthetic
from node.records.fingerprints import mcc
from node.records.fingerprints.gallery import Gallery


def _moved(minutiae: np.ndarray, seed: int, keep: float = 1.0) -> np.ndarray:  # type: ignore[type-arg]
    """The minutiae rotated, shifted, jittered, some dropped (an impression, without its image)."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(-0.4, 0.4)
    c, s = math.cos(angle), math.sin(angle)
    x, y = minutiae[:, 0] - 128, minutiae[:, 1] - 160
    moved = np.column_stack(
        [
            c * x - s * y + 128 + rng.uniform(-20, 20) + rng.normal(0, 1.5, len(x)),
            s * x + c * y + 160 + rng.uniform(-20, 20) + rng.normal(0, 1.5, len(x)),
            np.mod(minutiae[:, 2] + angle + rng.normal(0, 0.1, len(x)), 2 * math.pi),
        ]
    ).astype(np.float32)
    if keep < 1.0:  # a partial print: the minutiae within a disc around one of them
        centre = moved[rng.integers(len(moved)), :2]
        moved = moved[
            np.hypot(*(moved[:, :2] - centre).T).argsort()[: max(8, int(len(moved) * keep))]
        ]
    return moved


def test_template_reads_back_as_written_and_refuses_other_bytes() -> None:
    minutiae = synthetic.fast_template_minutiae(1, 2, 3)
    data = mcc.encode_template(minutiae)
    assert data.startswith(b"MCC1") and len(data) == 6 + 12 * len(minutiae)
    assert np.array_equal(mcc.decode_template(data), minutiae)
    for bad in (b"", b"PNG....", data[:-1]):
        with pytest.raises(mcc.TemplateError):
            mcc.decode_template(bad)


def test_moved_copy_scores_far_above_another_finger() -> None:
    finger = synthetic.fast_template_minutiae(1, 0, 2)
    same = mcc.score(mcc.cylinders(_moved(finger, 5)), mcc.cylinders(finger))
    other = mcc.score(
        mcc.cylinders(synthetic.fast_template_minutiae(1, 1, 2)), mcc.cylinders(finger)
    )
    assert same > 0.3 > 0.08 > other


def test_gallery_finds_a_partial_copy_first_among_three_hundred() -> None:
    gallery = Gallery()
    for number in range(300):
        gallery.add(str(number), mcc.cylinders(synthetic.fast_template_minutiae(9, number, 1)))
    for number in (3, 150, 299):
        probe = _moved(synthetic.fast_template_minutiae(9, number, 1), number, keep=0.5)
        found = gallery.search(mcc.cylinders(probe), limit=3)
        assert found[0].key == str(number), (number, found)
    with pytest.raises(ValueError, match="enrolled already"):
        gallery.add("3", mcc.cylinders(probe))


def test_generator_is_deterministic_from_its_seed() -> None:
    master = synthetic.master_print(4, 1, 1)
    again = synthetic.master_print(4, 1, 1)
    assert np.array_equal(master.pattern, again.pattern)
    first = synthetic.impression(master, 7, number=1, chance=True)
    assert np.array_equal(first, synthetic.impression(master, 7, number=1, chance=True))
    assert not np.array_equal(first, synthetic.impression(master, 7, number=2, chance=True))
    assert np.array_equal(
        synthetic.fast_template_minutiae(1, 2, 3), synthetic.fast_template_minutiae(1, 2, 3)
    )
