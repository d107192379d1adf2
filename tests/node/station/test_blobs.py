"""The node's blob store: content-addressed, durable across reopening, bounded, tamper-refusing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.errors import InputError, NotFound, TamperError, TooLarge
from node.config import DataDir
from node.records import limits
from node.station.blobs import BLOBS_DIR, BlobStore
from node.station.core import Station


@pytest.mark.parametrize("kind", ["files", "memory"])
def test_blob_store_put_get_has(tmp_path: Path, kind: str) -> None:
    store = BlobStore.open(tmp_path / "blobs") if kind == "files" else BlobStore.memory()
    data = b"\xff\xd8\xff" + bytes(range(256)) * 10
    digest = store.put(data, "image/jpeg")
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.has(digest)
    assert store.get(digest) == data
    assert store.content_type(digest) == "image/jpeg"
    assert store.size(digest) == len(data)
    assert store.put(data, "image/jpeg") == digest  # idempotent
    assert list(store.digests()) == [digest]
    assert store.verify(digest)
    absent = hashlib.sha256(b"other").hexdigest()
    assert not store.has(absent)
    assert not store.has("not-a-digest")
    with pytest.raises(KeyError):
        store.get(absent)
    with pytest.raises(NotFound):
        store.get(absent)


def test_blob_store_keeps_blobs_across_reopen(tmp_path: Path) -> None:
    digest = BlobStore.open(tmp_path / "blobs").put(b"photo", "image/png")
    again = BlobStore.open(tmp_path / "blobs")
    assert again.get(digest) == b"photo"
    assert again.content_type(digest) == "image/png"
    path = tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == b"photo"
    assert not list((tmp_path / "blobs").rglob("*.tmp"))


def test_blob_store_refuses_bad_blobs() -> None:
    store = BlobStore.memory()
    with pytest.raises(InputError, match="empty"):
        store.put(b"", "image/jpeg")
    with pytest.raises(InputError, match="content type"):
        store.put(b"x", "jpeg")
    with pytest.raises(TooLarge):
        store.put(bytes(limits.BLOB_BYTES + 1), "image/jpeg")
    with pytest.raises(InputError):
        store.get("../../etc/passwd")


def test_blob_store_refuses_tampered_bytes_from_a_peer() -> None:
    store = BlobStore.memory()
    digest = hashlib.sha256(b"the real photo").hexdigest()
    with pytest.raises(TamperError):
        store.put_verified(digest, b"another photo", "image/jpeg")
    assert not store.has(digest)
    assert store.put_verified(digest, b"the real photo", "image/jpeg") == digest


def test_station_opens_its_blob_store_in_the_data_directory(
    data_dir: DataDir, station: Station
) -> None:
    digest = station.blobs.put(b"mugshot", "image/jpeg")
    assert (data_dir.path / BLOBS_DIR / digest[:2] / digest[2:4] / digest).is_file()


def test_replace_verified_moves_a_damaged_blob_aside_and_keeps_a_good_one(tmp_path: Path) -> None:
    store = BlobStore.open(tmp_path / "blobs")
    data = b"\xff\xd8\xff" + bytes(range(256)) * 40
    digest = store.put(data, "image/jpeg")
    assert store.replace_verified(digest, data, "image/jpeg") is None  # sound: left as it is
    with pytest.raises(TamperError):
        store.replace_verified(digest, data + b"x", "image/jpeg")
    path = tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    path.write_bytes(data[:100])  # damaged on disk
    aside = store.replace_verified(digest, data, "image/jpeg")
    assert aside is not None and aside.startswith(f"damaged/{digest}.")
    assert (tmp_path / "blobs" / aside).read_bytes() == data[:100]  # kept: the incident's record
    assert store.get(digest) == data and store.verify(digest)
    assert list(store.digests()) == [digest]  # what was moved aside is no blob of the store
    path.unlink()  # lost
    assert store.replace_verified(digest, data, "image/jpeg") is None
    assert store.get(digest) == data
