"""Face search: the embedding model and the vector index over the photos a node holds.

Derived data, like every index: the photos are ledger entries (`Photo`, the image's SHA-256) and
blobs (node/station/blobs.py); this module turns images into 128-number face embeddings and
keeps them in an approximate nearest-neighbour index, which can always be built again from the
ledger and the blobs (node/station/photos.py for a station's own photos, node/peers/faces.py for
the replicas an aggregating node holds).

The model (docs/photos.md): dlib's face detector (HOG + linear SVM; its CNN detector, MMOD,
when that finds none), its 5-point shape
predictor to align the face, and its ResNet-34 face embedding (Davis King, 99.38% on LFW;
two photos of one person lie within `MATCH_DISTANCE` of each other), all from packages: the
compiled `dlib` of the `dlib-bin` wheel, the model files of `face-recognition-models`. Nothing is
downloaded at run time. The model files are found through the package's location only: its
`__init__` imports `pkg_resources`, which current setuptools no longer ships.

The index: hnswlib's HNSW graph in L2 space (Malkov and Yashunin 2016). A query asks `ef` =
max(64, 4 k) candidates: at 100,000 photos recall of the true nearest neighbour stays at the
brute-force scan's, at a fraction of its time (simulations/bench_faces.py measures both).
Embeddings are kept by image digest in a small SQLite cache beside the index, so a rebuild after a
restart re-reads no image it has embedded before.

Never stores an image; never decides who a person is: it ranks photos, an officer looks.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from ledger.errors import InputError, StoreError, UsageError

EMBEDDING_DIM: Final = 128
# dlib's own threshold: two photos closer than this show one person (99.38% on LFW).
MATCH_DISTANCE: Final = 0.6
MODEL_PACKAGE: Final = "face_recognition_models"
SHAPE_PREDICTOR: Final = "shape_predictor_5_face_landmarks.dat"
LANDMARKS_68: Final = "shape_predictor_68_face_landmarks.dat"
RECOGNITION_MODEL: Final = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR: Final = "mmod_human_face_detector.dat"
# Images are scaled down to at most this many pixels on their longer side before detection:
# a mugshot needs no more, and detection time grows with the area.
MAX_SIDE: Final = 800
# Faces smaller than about 80 pixels are found only with one upsampling of the image.
SMALL_SIDE: Final = 400
THUMBNAIL_SIDE: Final = 160
_HNSW_M: Final = 16
_HNSW_EF_CONSTRUCTION: Final = 200

Vector = npt.NDArray[np.float32]
RGBImage = npt.NDArray[np.uint8]


class FaceNotFound(InputError):
    """No face in the image (or none large enough to embed)."""


def model_path(name: str) -> Path:
    """A model file of the `face-recognition-models` package (UsageError when not installed)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"the face model package {MODEL_PACKAGE!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise UsageError(f"the face model file {name} is missing from {MODEL_PACKAGE}")
    return path


def decode_image(data: bytes) -> RGBImage:
    """An RGB array of an encoded image (JPEG, PNG, ...); InputError when it is not one."""
    raw = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
    if image is None:
        raise InputError("the file is not an image this node can read (JPEG or PNG)")
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def encode_jpeg(image: RGBImage, quality: int = 90) -> bytes:
    """`image` (RGB) as JPEG bytes."""
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise InputError("the image could not be encoded")
    return bytes(encoded.tobytes())


def thumbnail(data: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A JPEG of the image scaled to at most `side` pixels (for result lists)."""
    image = decode_image(data)
    scale = side / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return encode_jpeg(image, 85)


class FaceModel:
    """dlib's detector, aligner and embedding, loaded once per process (`shared`). Thread-safe
    (dlib's objects are not: calls are serialised by a lock)."""

    _shared: FaceModel | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        import dlib  # noqa: PLC0415 (heavy: loaded with the model, not with the index)

        self._dlib: Any = dlib
        self._detector: Any = dlib.get_frontal_face_detector()
        self._cnn: Any = dlib.cnn_face_detection_model_v1(str(model_path(CNN_DETECTOR)))
        self._shape: Any = dlib.shape_predictor(str(model_path(SHAPE_PREDICTOR)))
        self._embedding: Any = dlib.face_recognition_model_v1(str(model_path(RECOGNITION_MODEL)))
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> FaceModel:
        """The process's model (loading it takes about a second)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def embed(self, data: bytes) -> Vector:
        """The embedding of the largest face in an encoded image; FaceNotFound when none."""
        return self.embed_image(decode_image(data))

    def embed_image(self, image: RGBImage) -> Vector:
        """The embedding of the largest face in an RGB image; FaceNotFound when none."""
        scale = MAX_SIDE / max(image.shape[:2])
        if scale < 1:
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            image = np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        upsample = 1 if max(image.shape[:2]) <= SMALL_SIDE else 0
        with self._lock:
            faces = list(self._detector(image, upsample))
            if not faces:
                # The CNN detector finds faces the HOG one misses (turned, unevenly lit) at
                # about twenty times its cost: only when the fast one found none.
                faces = [found.rect for found in self._cnn(image, upsample)]
            if not faces:
                raise FaceNotFound("no face found in the photo")
            face = max(faces, key=lambda rect: rect.area())
            shape = self._shape(image, face)
            values = self._embedding.compute_face_descriptor(image, shape)
        return np.asarray(values, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class FacePhoto:
    """A photo in the gallery: the entry that holds it and what it shows."""

    origin: str
    index: int  # the Photo entry's ledger index in `origin`'s log
    record_ref: str
    person_id: str
    subject: str
    purpose: str
    sha256: str


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """A photo ranked for a probe: the nearer, the likelier the same person."""

    photo: FacePhoto
    distance: float

    @property
    def score(self) -> float:
        """1 at distance 0, 0.5 at `MATCH_DISTANCE`, towards 0 beyond."""
        return 1.0 / (1.0 + (self.distance / MATCH_DISTANCE) ** 2)

    @property
    def likely_same(self) -> bool:
        return self.distance < MATCH_DISTANCE


class EmbeddingCache:
    """Face embeddings by image digest (an image without a face keeps an empty row, so it is
    not tried again). SQLite; in memory when `path` is None."""

    def __init__(self, path: Path | None) -> None:
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError:
            # Derived data (a backup may copy the file mid-write): start again empty.
            assert path is not None
            path.unlink(missing_ok=True)
            self._db = self._open(path)
        self._lock = threading.Lock()

    @staticmethod
    def _open(path: Path | None) -> sqlite3.Connection:
        try:
            if path is not None:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = sqlite3.connect(":memory:" if path is None else str(path), check_same_thread=False)
            db.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (sha256 TEXT PRIMARY KEY, vector BLOB)"
            )
            db.execute("SELECT count(*) FROM embeddings").fetchone()
        except sqlite3.DatabaseError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the face embedding cache {path}: {exc}") from exc
        return db

    def get(self, digest: str) -> Vector | bool | None:
        """The embedding; False when the image has no face; None when not computed yet."""
        with self._lock:
            row = self._db.execute(
                "SELECT vector FROM embeddings WHERE sha256 = ?", (digest,)
            ).fetchone()
        if row is None:
            return None
        if not row[0]:
            return False
        return np.frombuffer(row[0], dtype=np.float32).copy()

    def put(self, digest: str, vector: Vector | None) -> None:
        blob = b"" if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO embeddings (sha256, vector) VALUES (?, ?)", (digest, blob)
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


class FaceGallery:
    """The photos a node searches by face: an HNSW index of their embeddings. Thread-safe."""

    def __init__(
        self,
        cache: EmbeddingCache | None = None,
        model: FaceModel | None = None,
        *,
        capacity: int = 1024,
    ) -> None:
        import hnswlib  # noqa: PLC0415 (compiled; loaded when a gallery is first made)

        self.cache = cache if cache is not None else EmbeddingCache(None)
        self._model = model
        self._index: Any = hnswlib.Index(space="l2", dim=EMBEDDING_DIM)
        self._index.init_index(
            max_elements=max(capacity, 16), ef_construction=_HNSW_EF_CONSTRUCTION, M=_HNSW_M
        )
        self._photos: list[FacePhoto] = []
        self._held: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    @property
    def model(self) -> FaceModel:
        if self._model is None:
            self._model = FaceModel.shared()
        return self._model

    def __len__(self) -> int:
        return len(self._photos)

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def embedding(self, digest: str, image: bytes) -> Vector | None:
        """The embedding of an image (from the cache, else computed and cached); None when the
        image shows no face."""
        cached = self.cache.get(digest)
        if cached is False:
            return None
        if cached is not None and not isinstance(cached, bool):
            return cached
        try:
            vector = self.model.embed(image)
        except FaceNotFound:
            self.cache.put(digest, None)
            return None
        self.cache.put(digest, vector)
        return vector

    def add(self, photo: FacePhoto, image: bytes) -> bool:
        """Adds a photo by its image; False when already held or when it shows no face."""
        if (photo.origin, photo.index) in self._held:
            return False
        vector = self.embedding(photo.sha256, image)
        if vector is None:
            return False
        self.add_vectors([photo], vector.reshape(1, -1))
        return True

    def add_vectors(self, photos: Sequence[FacePhoto], vectors: npt.NDArray[np.float32]) -> None:
        """Adds photos with their embeddings already computed (rebuilds, benchmarks)."""
        if len(photos) != len(vectors):
            raise UsageError("one embedding per photo")
        with self._lock:
            fresh = [
                (p, v)
                for p, v in zip(photos, vectors, strict=True)
                if (p.origin, p.index) not in self._held
            ]
            if not fresh:
                return
            needed = len(self._photos) + len(fresh)
            capacity = self._index.get_max_elements()
            if needed > capacity:
                self._index.resize_index(max(needed, capacity * 2))
            labels = np.arange(len(self._photos), needed)
            self._index.add_items(np.stack([v for _, v in fresh]).astype(np.float32), labels)
            for photo, _ in fresh:
                self._photos.append(photo)
                self._held.add((photo.origin, photo.index))

    def search(self, probe: Vector, limit: int = 10) -> list[FaceMatch]:
        """The `limit` photos nearest a probe embedding, nearest first."""
        with self._lock:
            count = len(self._photos)
            if count == 0 or limit <= 0:
                return []
            k = min(limit, count)
            self._index.set_ef(max(64, 4 * k))
            labels, distances = self._index.knn_query(
                np.asarray(probe, dtype=np.float32).reshape(1, -1), k=k
            )
            photos = [self._photos[int(label)] for label in labels[0]]
        return [
            FaceMatch(photo, float(np.sqrt(max(float(d), 0.0))))
            for photo, d in zip(photos, distances[0], strict=True)
        ]

    def search_image(self, image: bytes, limit: int = 10) -> list[FaceMatch]:
        """The photos nearest the face in a probe image; FaceNotFound when it shows none."""
        return self.search(self.model.embed(image), limit)

    def photos(self) -> Iterable[FacePhoto]:
        with self._lock:
            return list(self._photos)
