"""Oriented Gabor filtering: each pixel filtered by the even Gabor filter tuned to its own
ridge direction and to the print's ridge period. The extractor enhances an impression with it;
the synthetic generator (node/demo/fingerprints.py) grows its master prints with it."""

from __future__ import annotations

import math
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt

ORIENTATION_BINS = 24
# Ridge periods of a 500 dpi impression, in pixels (a ridge and a valley).
PERIOD_BINS = (8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0)

FloatImage = npt.NDArray[np.float32]


@cache
def gabor_bank(period: float) -> tuple[FloatImage, ...]:
    """Even Gabor filters, one per orientation bin (0 to pi), tuned to a ridge period."""
    sigma = period * 0.45
    half = math.ceil(3 * sigma)
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    bank: list[FloatImage] = []
    for k in range(ORIENTATION_BINS):
        angle = math.pi * k / ORIENTATION_BINS
        # The coordinate across the ridges: the normal to a ridge running at `angle`.
        across = -xx * math.sin(angle) + yy * math.cos(angle)
        kernel = np.exp(-(xx**2 + yy**2) / (2 * sigma**2)) * np.cos(2 * math.pi * across / period)
        kernel -= kernel.mean()
        bank.append((kernel / np.abs(kernel).sum()).astype(np.float32))
    return tuple(bank)


def nearest_period(period: float) -> float:
    """The filter bank's period closest to an estimate."""
    return min(PERIOD_BINS, key=lambda p: abs(p - period))


def oriented_filter(image: FloatImage, orientation: FloatImage, period: float) -> FloatImage:
    """Each pixel filtered by the Gabor filter of its orientation bin (radians, 0 to pi)."""
    bank = gabor_bank(nearest_period(period))
    bins = np.round(orientation / math.pi * ORIENTATION_BINS).astype(np.int64) % ORIENTATION_BINS
    out = np.zeros_like(image, dtype=np.float32)
    for k, kernel in enumerate(bank):
        where = bins == k
        if where.any():
            response = cv2.filter2D(image, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
            out[where] = response[where]
    return out
