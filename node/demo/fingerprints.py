"""Synthetic fingerprints in the SFinGe manner, for tests, demos and benchmarks.

No public fingerprint set may be shipped with the project, so the slips the tests enrol and the
chance prints they search are made here, after Cappelli, Maio and Maltoni's SFinGe
("Synthetic fingerprint-image generation", ICPR 2000; "Handbook of Fingerprint Recognition",
ch. 6):

1. the finger's shape: an elliptical silhouette;
2. the orientation field from the singular points (cores and deltas) of the finger's class, by
   the zero-pole model (Sherlock and Monro 1993) plus a smooth random bend;
3. the ridge frequency: a period of 8 to 10.5 pixels (a 500 dpi scan), varying slowly;
4. the master print: a ridge pattern grown from a few random seeds by iterated Gabor filtering,
   each pixel filtered by the Gabor filter tuned to its orientation and frequency; minutiae
   appear where the pattern must break to follow the field, as in a real finger;
5. impressions of the master: a contact region, a plastic (elastic) distortion that is nil at the
   centre of contact and grows outward, rotation, translation, skin condition (dry: thin,
   broken ridges; wet: thick, merged ones), blur and sensor noise; and chance prints, the
   partial, smudged, low-contrast impressions lifted at a scene.

Everything is deterministic from the seed. `fast_template_minutiae` makes minutiae sets without
images (for galleries of 100,000 in `simulations/bench_fingerprints.py`): points spread over
the same silhouette, directed along the same kind of orientation field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from node.records.fingerprints.ridges import PERIOD_BINS, oriented_filter

HEIGHT = 320
WIDTH = 256
FINGERS = 10  # 1 right thumb ... 5 right little, 6 left thumb ... 10 left little (NIST order)

FloatImage = npt.NDArray[np.float32]
GrayImage = npt.NDArray[np.uint8]

_GROWTH_ROUNDS = 6


@dataclass(frozen=True, slots=True)
class MasterPrint:
    """A finger's ridge pattern (values in [-1, 1], ridges positive) and how it was made."""

    pattern: FloatImage
    mask: npt.NDArray[np.bool_]
    orientation: FloatImage  # ridge direction, radians in [0, pi)
    period: float
    finger_class: str


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([abs(k) for k in key]))


def _silhouette(rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    cx = WIDTH / 2 + rng.uniform(-6, 6)
    cy = HEIGHT / 2 + rng.uniform(-4, 10)
    ax = WIDTH * rng.uniform(0.40, 0.46)
    ay = HEIGHT * rng.uniform(0.42, 0.47)
    # A flatter bottom, as a finger pressed to the slip: the lower half is a wider ellipse.
    ay_lower = np.where(yy > cy, ay * 1.15, ay)
    inside = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay_lower) ** 2 <= 1.0
    result: npt.NDArray[np.bool_] = np.asarray(inside & (yy < HEIGHT - 4), dtype=bool)
    return result


def _smooth_noise(rng: np.random.Generator, sigma: float, shape: tuple[int, int]) -> FloatImage:
    """Gaussian-smoothed white noise scaled to unit peak: a slow random field."""
    field = rng.standard_normal(shape).astype(np.float32)
    field = np.asarray(cv2.GaussianBlur(field, (0, 0), sigma), dtype=np.float32)
    peak = float(np.abs(field).max()) or 1.0
    return (field / peak).astype(np.float32)


def _orientation_field(
    rng: np.random.Generator,
    points: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
) -> tuple[FloatImage, str]:
    """The ridge direction at every pixel (or at the points given), from the singular points of
    a random class."""
    finger_class = str(
        rng.choice(
            ["left_loop", "right_loop", "whorl", "arch", "tented_arch"],
            p=[0.3, 0.3, 0.25, 0.05, 0.1],
        )
    )
    cx = WIDTH / 2 + rng.uniform(-20, 20)
    cy = HEIGHT * rng.uniform(0.38, 0.48)
    cores: list[complex] = []
    deltas: list[complex] = []
    if finger_class == "left_loop":
        cores = [complex(cx, cy)]
        deltas = [complex(cx + rng.uniform(50, 80), cy + rng.uniform(70, 100))]
    elif finger_class == "right_loop":
        cores = [complex(cx, cy)]
        deltas = [complex(cx - rng.uniform(50, 80), cy + rng.uniform(70, 100))]
    elif finger_class == "whorl":
        spread = rng.uniform(10, 20)
        cores = [
            complex(cx - spread / 2, cy - spread / 2),
            complex(cx + spread / 2, cy + spread / 2),
        ]
        deltas = [
            complex(cx - rng.uniform(60, 85), cy + rng.uniform(70, 100)),
            complex(cx + rng.uniform(60, 85), cy + rng.uniform(70, 100)),
        ]
    elif finger_class == "tented_arch":
        cores = [complex(cx, cy)]
        deltas = [complex(cx + rng.uniform(-5, 5), cy + rng.uniform(55, 75))]
    if points is None:
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    else:
        xx, yy = points
    # Image rows grow downward; the model is written with y upward.
    z = xx - 1j * yy
    theta = np.zeros_like(xx)
    for delta in deltas:
        theta += 0.5 * np.angle(z - (delta.real - 1j * delta.imag))
    for core in cores:
        theta -= 0.5 * np.angle(z - (core.real - 1j * core.imag))
    if finger_class == "arch":
        s = WIDTH * 0.35
        u = (xx - cx) / s
        amplitude = rng.uniform(0.6, 1.2) * np.clip((HEIGHT * 0.75 - yy) / HEIGHT, 0, 1)
        theta = np.arctan(-2 * amplitude * u * np.exp(-(u**2)))
    # A slow random bend, as no finger follows the model exactly.
    if points is None:
        theta = theta + 0.18 * _smooth_noise(rng, 40, (HEIGHT, WIDTH)).astype(np.float64)
    # Directions are read in the image's frame (y downward): flip the sign of the angle.
    return np.mod(-theta, np.pi).astype(np.float32), finger_class


def master_print(seed: int, person: int, finger: int) -> MasterPrint:
    """The master print of one finger of one synthetic person: the same for the same key."""
    rng = _rng(seed, person, finger, 1)
    mask = _silhouette(rng)
    orientation, finger_class = _orientation_field(rng)
    base_period = float(rng.choice(PERIOD_BINS[:-1]))
    # Dense seeds: white noise, which the filters organise into ridges in a few rounds.
    pattern = rng.standard_normal((HEIGHT, WIDTH)).astype(np.float32)
    for _ in range(_GROWTH_ROUNDS):
        pattern = oriented_filter(pattern, orientation, base_period)
        scale = float(np.percentile(np.abs(pattern), 90)) or 1.0
        pattern = np.clip(pattern * (1.5 / scale), -1, 1)
    # A final round without clipping: soft ridges, rounded ends.
    pattern = oriented_filter(pattern, orientation, base_period)
    pattern = np.tanh(2.0 * pattern / (float(np.abs(pattern).mean()) or 1.0))
    return MasterPrint(pattern.astype(np.float32), mask, orientation, base_period, finger_class)


def _warp_maps(
    rng: np.random.Generator, *, rotation_deg: float, shift: tuple[float, float], distortion: float
) -> tuple[FloatImage, FloatImage, tuple[float, float]]:
    """Maps from impression pixels back to master pixels: rotation, translation and a plastic
    distortion, nil within the close-contact region and growing outward (Cappelli, Maio and
    Maltoni, "Modelling plastic distortion in fingerprint images", ICAPR 2001)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    centre = (WIDTH / 2 + rng.uniform(-25, 25), HEIGHT / 2 + rng.uniform(-30, 30))
    radius = np.hypot(xx - centre[0], yy - centre[1])
    contact = rng.uniform(35, 60)
    brake = np.clip((radius - contact) / 90.0, 0, 1) ** 1.5
    dx = distortion * _smooth_noise(rng, 35, (HEIGHT, WIDTH)) * brake
    dy = distortion * _smooth_noise(rng, 35, (HEIGHT, WIDTH)) * brake
    a = math.radians(rotation_deg)
    u = xx - centre[0] - shift[0]
    v = yy - centre[1] - shift[1]
    map_x = centre[0] + math.cos(a) * u + math.sin(a) * v + dx
    map_y = centre[1] - math.sin(a) * u + math.cos(a) * v + dy
    return map_x.astype(np.float32), map_y.astype(np.float32), centre


def impression(
    master: MasterPrint,
    seed: int,
    *,
    number: int,
    chance: bool = False,
) -> GrayImage:
    """One impression of a master print: a ten-print slip's roll (`chance=False`) or a chance
    print lifted at a scene (partial, distorted, smudged, low contrast). Deterministic from the
    seed and the impression's number; dark ridges on a light ground, like an inked slip."""
    rng = _rng(seed, number, 2 if chance else 3)
    rotation = rng.uniform(-25, 25) if chance else rng.uniform(-12, 12)
    shift = (rng.uniform(-15, 15), rng.uniform(-15, 15))
    distortion = rng.uniform(4, 9) if chance else rng.uniform(1, 5)
    map_x, map_y, centre = _warp_maps(
        rng, rotation_deg=rotation, shift=shift, distortion=distortion
    )
    pattern = cv2.remap(master.pattern, map_x, map_y, cv2.INTER_LINEAR, borderValue=-1.0)
    inside = cv2.remap(
        master.mask.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0
    )
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    # The contact region: where the finger touched the slip.
    ax = WIDTH * rng.uniform(0.36, 0.5)
    ay = HEIGHT * rng.uniform(0.38, 0.5)
    contact = ((xx - centre[0]) / ax) ** 2 + ((yy - centre[1]) / ay) ** 2 <= 1.0
    if chance:
        # A partial print: a blob of a third to a half of the finger, off-centre.
        bx = centre[0] + rng.uniform(-30, 30)
        by = centre[1] + rng.uniform(-40, 40)
        rx, ry = rng.uniform(50, 75), rng.uniform(60, 90)
        blob = ((xx - bx) / rx) ** 2 + ((yy - by) / ry) ** 2 + 0.25 * _smooth_noise(
            rng, 12, (HEIGHT, WIDTH)
        ) <= 1.0
        contact &= blob
    region = contact & (inside > 0.5)
    # Skin: dry fingers leave thin, broken ridges; wet ones thick, merged ridges.
    moisture = rng.uniform(-0.45, 0.45)
    threshold = moisture + 0.35 * _smooth_noise(rng, 6, (HEIGHT, WIDTH)) * abs(moisture)
    ink = 1.0 / (1.0 + np.exp(-(pattern + threshold) * 4.0))
    if moisture > 0.2:
        pores = _smooth_noise(rng, 1.2, (HEIGHT, WIDTH)) > 0.45
        ink[pores] *= 0.3
    contrast = rng.uniform(0.35, 0.7) if chance else rng.uniform(0.75, 1.0)
    background = 235.0 if not chance else rng.uniform(150, 220)
    gray = background - contrast * 200.0 * ink * region
    gray = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), rng.uniform(0.6, 1.3))
    noise = rng.uniform(6, 14) if not chance else rng.uniform(12, 25)
    gray = gray + noise * rng.standard_normal((HEIGHT, WIDTH)).astype(np.float32)
    if chance:
        # The surface under the print: smudges and a texture of its own.
        gray = gray + 25 * _smooth_noise(rng, 8, (HEIGHT, WIDTH))
    out: GrayImage = np.clip(gray, 0, 255).astype(np.uint8)
    return out


def fast_template_minutiae(seed: int, person: int, finger: int) -> npt.NDArray[np.float32]:
    """A finger's minutiae without its image, for galleries too large to draw (100,000 in the
    benchmark): 35 to 60 points spread with a minimum spacing over a silhouette, directed along
    a zero-pole orientation field (either way along the ridge). Columns: x, y, direction."""
    rng = _rng(seed, person, finger, 4)
    cx, cy = WIDTH / 2 + rng.uniform(-6, 6), HEIGHT / 2 + rng.uniform(-4, 10)
    ax, ay = WIDTH * rng.uniform(0.34, 0.40), HEIGHT * rng.uniform(0.36, 0.42)
    angle = rng.uniform(0, 2 * np.pi, 400)
    reach = np.sqrt(rng.uniform(0, 1, 400))
    xs = cx + ax * reach * np.cos(angle)
    ys = cy + ay * reach * np.sin(angle)
    wanted = int(rng.integers(35, 61))
    chosen = np.zeros(len(xs), dtype=bool)
    for index in range(len(xs)):
        if ((xs[chosen] - xs[index]) ** 2 + (ys[chosen] - ys[index]) ** 2 >= 14.0**2).all():
            chosen[index] = True
            if chosen.sum() == wanted:
                break
    xs, ys = xs[chosen], ys[chosen]
    orientation, _ = _orientation_field(rng, (xs, ys))
    directions = np.mod(orientation + np.pi * rng.integers(0, 2, len(xs)), 2 * np.pi)
    return np.column_stack([xs, ys, directions]).astype(np.float32)


def encode_png(image: GrayImage) -> bytes:
    """An impression as PNG bytes, as a slip's scan is stored."""
    ok, data = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any 8-bit grey image
        raise RuntimeError("PNG encoding failed")
    return bytes(data.tobytes())
