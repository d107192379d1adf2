"""An impression's minutiae: ridge endings and bifurcations, each a position and a direction.

The classical pipeline (Maltoni et al., "Handbook of Fingerprint Recognition", ch. 3):
normalise; find the print (the foreground: where the local contrast is high); estimate the ridge
orientation from the gradients' structure tensor and the ridge period from the spectrum;
enhance with oriented Gabor filters (`ridges.py`); binarise, thin to one-pixel ridges
(scikit-image's skeletonize) and read the minutiae off the crossing number (1: ending,
3: bifurcation). False minutiae are dropped: those near the print's border, in incoherent
areas, and pairs closer than a ridge period (spurs, bridges, broken ridges). The direction is
the ridge orientation, pointed away from the ridge for an ending and towards the fork for a
bifurcation, so the same minutia points the same way in every impression.

Input: an 8-bit grey image, dark ridges on a light ground, about 500 dpi.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt
from skimage.morphology import skeletonize

from node.records.fingerprints.ridges import FloatImage, nearest_period, oriented_filter

MinutiaeArray = npt.NDArray[np.float32]  # (n, 3): x, y, direction in radians [0, 2 pi)

_BORDER = 12  # pixels of foreground to ignore at the print's edge
_MIN_SPACING = 7.0  # closer pairs are false (spurs, bridges, breaks)
_MIN_COHERENCE = 0.35
MAX_MINUTIAE = 90


def normalise(image: npt.NDArray[np.uint8]) -> FloatImage:
    """Zero local mean, unit local deviation, ridges positive."""
    img = 255.0 - image.astype(np.float32)
    mean = cv2.GaussianBlur(img, (0, 0), 8)
    centred = img - mean
    deviation = np.sqrt(cv2.GaussianBlur(centred * centred, (0, 0), 8)) + 1e-3
    return (centred / deviation).astype(np.float32)


def foreground(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Where the print is: high local ridge contrast, as one smooth region."""
    # The anisotropic part of the structure tensor: high on ridges, low on isotropic noise
    # and on the smudges and texture of the surface a chance print was lifted from.
    img = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.5)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), 8)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), 8)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), 8)
    energy = np.sqrt(np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2))
    level = 0.4 * float(np.percentile(energy, 99))
    background = float(np.percentile(energy, 5))
    mask = (energy > max(level, background * 2.5)).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count <= 1:
        return np.zeros(image.shape, dtype=bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    filled: npt.NDArray[np.bool_] = labels == largest
    return filled


def orientation_field(normalised: FloatImage, sigma: float = 7.0) -> tuple[FloatImage, FloatImage]:
    """Ridge direction (radians, 0 to pi) and its coherence (0 to 1), from the structure tensor."""
    gx = cv2.Sobel(normalised, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(normalised, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
    # The gradient runs across the ridges; the ridge runs at a right angle to it.
    gradient = 0.5 * np.arctan2(2 * gxy, gxx - gyy)
    orientation = np.mod(gradient + math.pi / 2, math.pi).astype(np.float32)
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / (gxx + gyy + 1e-6)
    return orientation, coherence.astype(np.float32)


def ridge_period(normalised: FloatImage, mask: npt.NDArray[np.bool_]) -> float:
    """The dominant ridge period (pixels) of the print: the peak of its radial spectrum."""
    window = np.where(mask, normalised, 0).astype(np.float32)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(window)))
    h, w = window.shape
    yy, xx = np.mgrid[0:h, 0:w]
    fy = (yy - h // 2) / h
    fx = (xx - w // 2) / w
    radius = np.sqrt(fx * fx + fy * fy)
    best, best_energy = 9.0, -1.0
    for period in np.arange(7.0, 12.51, 0.25):
        ring = np.abs(radius - 1.0 / period) < 0.004
        energy = float(spectrum[ring].mean()) if ring.any() else 0.0
        if energy > best_energy:
            best, best_energy = float(period), energy
    return best


def _crossing_number(skeleton: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Half the number of 0/1 transitions around each pixel's eight neighbours."""
    padded = np.pad(skeleton.astype(np.int64), 1)
    h, w = skeleton.shape
    ring = [(-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1)]
    values = [padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in ring]
    transitions = sum(np.abs(values[i] - values[(i + 1) % 8]) for i in range(8))
    result: npt.NDArray[np.int64] = np.asarray(transitions, dtype=np.int64) // 2
    return result


def extract(image: npt.NDArray[np.uint8]) -> MinutiaeArray:
    """The minutiae of one impression: (n, 3) float32 of x, y, direction (radians)."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("a fingerprint image is one 8-bit grey channel")
    normalised = normalise(image)
    mask = foreground(image)
    if mask.sum() < 400:
        return np.zeros((0, 3), dtype=np.float32)
    orientation, coherence = orientation_field(normalised)
    period = nearest_period(ridge_period(normalised, mask))
    enhanced = oriented_filter(normalised, orientation, period)
    ridges = (enhanced > 0) & mask
    skeleton: npt.NDArray[np.bool_] = skeletonize(ridges)  # type: ignore[no-untyped-call]
    crossing = _crossing_number(skeleton)
    inner = (
        cv2.erode(mask.astype(np.uint8), np.ones((2 * _BORDER + 1, 2 * _BORDER + 1), np.uint8)) > 0
    )
    candidates = (
        skeleton & inner & (coherence > _MIN_COHERENCE) & ((crossing == 1) | (crossing == 3))
    )
    ys, xs = np.nonzero(candidates)
    if len(xs) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    points = np.column_stack([xs, ys]).astype(np.float32)
    # Drop every minutia with another closer than the spacing: both ends of a short break,
    # the two ends of a spur, the two forks of a bridge.
    distances = np.hypot(
        points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1]
    )
    np.fill_diagonal(distances, np.inf)
    keep = distances.min(axis=1) >= _MIN_SPACING
    xs, ys, points = xs[keep], ys[keep], points[keep]
    kinds = crossing[ys, xs]
    # Where the nearby ridge lies: the mean offset of the skeleton in a small disc.
    radius = 6
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float32)
    disc = (xx * xx + yy * yy <= radius * radius).astype(np.float32)
    sk = skeleton.astype(np.float32)
    mean_x = cv2.filter2D(sk, cv2.CV_32F, xx * disc, borderType=cv2.BORDER_CONSTANT)[ys, xs]
    mean_y = cv2.filter2D(sk, cv2.CV_32F, yy * disc, borderType=cv2.BORDER_CONSTANT)[ys, xs]
    toward = np.arctan2(mean_y, mean_x)
    theta = orientation[ys, xs].astype(np.float32)
    # An ending points away from its ridge; a bifurcation towards its two branches.
    pointing = np.where(kinds == 1, toward + np.pi, toward)
    flip = np.cos(theta - pointing) < 0
    direction = np.mod(theta + np.pi * flip, 2 * np.pi)
    quality = coherence[ys, xs]
    order = np.argsort(-quality)[:MAX_MINUTIAE]
    result = np.column_stack([points[:, 0], points[:, 1], direction])[order]
    return result.astype(np.float32)
