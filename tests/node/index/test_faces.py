"""The face gallery's index and cache (`node.index.faces`) without the model: nearest first,
growing past its first capacity, the embedding cache kept across reopening and rebuilt when its
file is damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ledger.errors import InputError
from node.index.faces import (
    EMBEDDING_DIM,
    MATCH_DISTANCE,
    EmbeddingCache,
    FaceGallery,
    FaceMatch,
    FacePhoto,
    decode_image,
)


def _photo(index: int) -> FacePhoto:
    return FacePhoto("cctns.in/x/ps-y", index, f"FIR No. {index}/2026", "", "", "arrest", "")


def test_gallery_ranks_nearest_first_and_grows() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(0, 0.1, (300, EMBEDDING_DIM)).astype(np.float32)
    gallery = FaceGallery(capacity=16)
    assert gallery.search(vectors[0], 5) == []
    gallery.add_vectors([_photo(i) for i in range(300)], vectors)
    gallery.add_vectors([_photo(0)], vectors[:1])  # held already: ignored
    assert len(gallery) == 300
    probe = vectors[42] + rng.normal(0, 0.001, EMBEDDING_DIM).astype(np.float32)
    matches = gallery.search(probe, 5)
    assert matches[0].photo.index == 42
    assert [m.distance for m in matches] == sorted(m.distance for m in matches)
    exact = np.argsort(np.linalg.norm(vectors - probe, axis=1))[:5]
    assert [m.photo.index for m in matches] == [int(i) for i in exact]


def test_match_score_is_one_half_at_the_threshold() -> None:
    assert FaceMatch(_photo(1), MATCH_DISTANCE).score == pytest.approx(0.5)
    assert FaceMatch(_photo(1), 0.0).score == 1.0
    assert FaceMatch(_photo(1), 0.3).likely_same


def test_embedding_cache_kept_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    path = tmp_path / "faces" / "embeddings.sqlite3"
    cache = EmbeddingCache(path)
    vector = np.arange(EMBEDDING_DIM, dtype=np.float32)
    cache.put("a" * 64, vector)
    cache.put("b" * 64, None)
    cache.close()
    again = EmbeddingCache(path)
    found = again.get("a" * 64)
    assert isinstance(found, np.ndarray) and np.array_equal(found, vector)
    assert again.get("b" * 64) is False
    assert again.get("c" * 64) is None
    again.close()
    path.write_bytes(b"this is not a database" * 100)
    rebuilt = EmbeddingCache(path)
    assert rebuilt.get("a" * 64) is None
    rebuilt.close()


def test_decode_refuses_what_is_no_image() -> None:
    with pytest.raises(InputError, match="not an image"):
        decode_image(b"GIF89a not really")
    with pytest.raises(InputError):
        decode_image(b"")
