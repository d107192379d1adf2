"""Synthetic faces with known identity, for tests, demos and benchmarks of face search.

No set of real people's faces may be shipped with the project, and none may be downloaded. The
one photograph of a face that a package ships is scikit-image's `astronaut` (Eileen Collins,
NASA, public domain). Identities are made from it by moving the parts of the face the way
faces differ between people, then photographed under varying conditions:

1. landmarks: dlib's 68-point shape predictor (from `face-recognition-models`) finds the jaw,
   brows, nose, eyes and mouth of the base face once;
2. an identity (deterministic from its number): each of those seven parts is scaled (about 12%
   on each axis) and shifted (about 3 pixels) on its own, and the skin's tone moved; the image
   is warped to the moved landmarks by a thin-plate spline (scipy's RBFInterpolator, evaluated
   on a coarse grid and interpolated by OpenCV's remap);
3. a photo of an identity (deterministic from its number): a small rotation (about 4 degrees),
   scale (4%) and shift (4 pixels), brightness (x0.75 to x1.2), a side light (a horizontal
   gradient), sensor noise, JPEG compression.

dlib's embedding puts two photos of one identity about 0.11 apart and different identities about
0.55 apart (its same-person threshold is 0.6): the geometry of the face is what the model reads,
which is what the warp changes. About one photo in twelve has no face dlib's fast HOG detector
finds (its CNN detector, the fallback, finds them); `detectable` picks identities whose first
two photos show a face.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from node.index.faces import LANDMARKS_68, FaceModel, FaceNotFound, encode_jpeg, model_path

SIDE: Final = 220  # the photos' width and height, in pixels
_CROP: Final = (110, 20)  # where the base face's square lies in the astronaut image (x, y)
_GROUPS: Final = (
    range(0, 17),  # jaw
    range(17, 22),  # brows
    range(22, 27),
    range(27, 36),  # nose
    range(36, 42),  # eyes
    range(42, 48),
    range(48, 68),  # mouth
)
_GRID: Final = 32  # the warp is computed on a grid this many points a side

FloatArray = npt.NDArray[np.float64]
RGBImage = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Identity:
    """One synthetic person: the warped face and the skin tone."""

    number: int
    face: RGBImage
    tone: FloatArray


@functools.cache
def _base() -> tuple[RGBImage, FloatArray]:
    """The base face (a SIDE x SIDE crop of the astronaut) and its 68 landmarks."""
    import dlib  # noqa: PLC0415
    from skimage import data  # noqa: PLC0415

    load_astronaut: Any = data.astronaut  # untyped in scikit-image
    image = np.ascontiguousarray(load_astronaut())
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_path(LANDMARKS_68)))
    rect = max(detector(image, 1), key=lambda r: r.area())
    points = np.array([(p.x, p.y) for p in predictor(image, rect).parts()], dtype=np.float64)
    x, y = _CROP
    face = np.ascontiguousarray(image[y : y + SIDE, x : x + SIDE])
    return face, points - (x, y)


def identity(number: int, seed: int = 0) -> Identity:
    """Synthetic person `number` (the same person for the same number and seed)."""
    from scipy.interpolate import RBFInterpolator  # noqa: PLC0415

    base, points = _base()
    rng = np.random.default_rng([seed, number, 1])
    moved = points.copy()
    for group in _GROUPS:
        part = list(group)
        centre = points[part].mean(axis=0)
        moved[part] = (
            centre + (points[part] - centre) * (1 + rng.normal(0, 0.12, 2)) + rng.normal(0, 3, 2)
        )
    tone = rng.normal(0, 18, 3)
    edge = np.linspace(0, SIDE - 1, 6)
    border = np.array(
        [(x, y) for x in edge for y in (0, SIDE - 1)]
        + [(x, y) for y in edge for x in (0, SIDE - 1)]
    )
    warp = RBFInterpolator(
        np.vstack([moved, border]),
        np.vstack([points - moved, np.zeros_like(border)]),
        kernel="thin_plate_spline",
        smoothing=1.0,
    )
    step = SIDE / _GRID
    grid_y, grid_x = np.mgrid[0:SIDE:step, 0:SIDE:step]
    shift = warp(np.c_[grid_x.ravel(), grid_y.ravel()]).reshape(_GRID, _GRID, 2)
    dx = cv2.resize(shift[..., 0].astype(np.float32), (SIDE, SIDE))
    dy = cv2.resize(shift[..., 1].astype(np.float32), (SIDE, SIDE))
    map_x, map_y = np.meshgrid(np.arange(SIDE, dtype=np.float32), np.arange(SIDE, dtype=np.float32))
    face = cv2.remap(base, map_x + dx, map_y + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return Identity(number, np.ascontiguousarray(face), tone)


def photo(person: Identity, number: int, seed: int = 0) -> RGBImage:
    """Photo `number` of a synthetic person (RGB): pose, light and noise vary with `number`."""
    rng = np.random.default_rng([seed, person.number, 2, number])
    toned = person.face.astype(np.float64) + person.tone
    matrix = np.asarray(
        cv2.getRotationMatrix2D((SIDE / 2, SIDE / 2), rng.normal(0, 4), 1 + rng.normal(0, 0.04)),
        dtype=np.float64,
    )
    matrix[:, 2] += rng.normal(0, 4, 2)
    posed = np.asarray(
        cv2.warpAffine(toned, matrix, (SIDE, SIDE), borderMode=cv2.BORDER_REFLECT),
        dtype=np.float64,
    )
    side_light = np.linspace(-1, 1, SIDE)[None, :, None] * rng.normal(0, 25)
    lit = posed * rng.uniform(0.75, 1.2) + side_light + rng.normal(0, 6, posed.shape)
    return np.clip(lit, 0, 255).astype(np.uint8)


def photo_jpeg(person: Identity, number: int, seed: int = 0) -> bytes:
    """`photo` as the JPEG a camera would hand over."""
    return encode_jpeg(photo(person, number, seed))


def detectable(count: int, model: FaceModel, *, seed: int = 0, start: int = 0) -> list[Identity]:
    """The first `count` identities from `start` on whose photos 0 and 1 show a face the model
    finds."""
    found: list[Identity] = []
    number = start
    while len(found) < count:
        person = identity(number, seed)
        try:
            for number_of_photo in (0, 1):
                model.embed(photo_jpeg(person, number_of_photo, seed))
        except FaceNotFound:
            pass
        else:
            found.append(person)
        number += 1
    return found
