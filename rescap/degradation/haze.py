"""Haze: the transmission of a uniform veil of scattered light, by the dark channel prior.

The degradation measured is Koschmieder's scattering model with the same depth everywhere,
``I = J * t + A * (1 - t)`` (``synthesize.add_haze``): the scene ``J`` is dimmed to a share ``t``
(the transmission, 1 = clear) and the airlight ``A`` (the haze's own brightness) fills the rest.

Dark channel prior (He, Sun and Tang 2009): in clear outdoor photos, most local patches hold a
pixel that is nearly black in some channel (shadows, dark or saturated objects), so the dark
channel, the minimum over channels and a patch, is near 0. Haze lifts every pixel by
``A * (1 - t)``, so the floor ``F`` of the dark channel reads ``1 - t = F / A``.

* The dark channel is taken on ``BLOCK`` x ``BLOCK`` tiles (block minima, not a sliding 15x15
  filter), and ``F`` is its lowest tile: a uniform veil lifts every tile, and the lowest one is the
  most conservative read (clear photos of bright materials, white wood or a gray wall, hold only a
  few dark specks, which any higher quantile would miss).
* The airlight is between the image's bright level ``T`` (the 99th percentile of tile maxima of
  the brightest channel) and white: ``A = T + 0.6 (255 - T)``. ``T`` alone is right when the haze
  is the brightest thing in the picture; when the scene holds white, ``T`` exceeds ``A`` and a veil
  of ``t = 0.6`` reads up to 0.69; white alone errs the other way for dim haze (on 900 synthetic
  cases the weight 0.6 kept clear photos and ``t = 0.6`` furthest apart). A coloured airlight is
  read as one level: the floor is set by its darkest channel.

Clear photos read ``t`` = 0.70 or more (a white-wood close-up and a gray brick wall, with no dark
pixel at all, are the lowest, as He et al. warn for objects as bright as the airlight); foggy
scenes with some dark object in them read clear, since their fog is not uniform. Sensor noise
lowers the floor, so a noisy veil reads thinner than it is. ``confidence`` grows with the contrast
left across the image and with how many tiles sit at the floor (a floor set by a handful of specks
is less sure than a lifted shadow). A gray image cannot tell a veil from a bright gray scene (a
clock face on a pale wall reads ``t`` = 0.6): its confidence is squared (``GRAY_CONFIDENCE_POWER``),
so only overwhelming evidence counts as observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pooling import MIN_SIDE, block_extrema
from .report import HAZE_ANCHORS

BLOCK = 4
BRIGHT_QUANTILE = 0.99
MIN_TRANSMISSION = 0.05
# Contrast left (T - F, 0-255 scale) at which the confidence is full.
FULL_RANGE = 48.0
# Share of tiles within a few levels of the floor at which the floor counts as well supported.
FLOOR_SUPPORT = 0.01
MAX_BLOCKS_SIDE = 256  # larger images are pooled with larger tiles

AIRLIGHT_WHITE_WEIGHT = 0.6
# A gray image has no colour to tell a veil from a bright gray scene (a pale wall, a clock face):
# its confidence is raised to this power, so only overwhelming evidence stays above CONFIDENT.
GRAY_CONFIDENCE_POWER = 2.0
# Transmission below which haze counts as detected: the haze severity scale's first level.
CLEAR_TRANSMISSION = 1.0 - HAZE_ANCHORS[1][0]


@dataclass(frozen=True)
class HazeEstimate:
    transmission: float  # in (0, 1]; 1 = clear
    airlight: float  # brightness of the haze, 0-255
    confidence: float


NEUTRAL = HazeEstimate(transmission=1.0, airlight=255.0, confidence=0.0)


def estimate_haze(pixels: np.ndarray) -> HazeEstimate:
    """Estimate the uniform haze transmission of ``pixels`` (H x W x C float on 0-255, C = 1 or 3).

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.haze import estimate_haze
        >>> rng = np.random.default_rng(0)
        >>> scene = rng.uniform(0, 255, (64, 64, 3)).astype(np.float32)
        >>> round(estimate_haze(scene).transmission, 2)
        1.0
        >>> round(estimate_haze(scene * 0.5 + 230 * 0.5).transmission, 1)
        0.5
    """
    if pixels.ndim != 3 or min(pixels.shape[:2]) < MIN_SIDE:
        return NEUTRAL
    block = max(BLOCK, -(-max(pixels.shape[:2]) // MAX_BLOCKS_SIDE))
    dark, bright = block_extrema(pixels, block)
    floor = float(dark.min())
    low, top = (float(x) for x in np.quantile(bright, [1.0 - BRIGHT_QUANTILE, BRIGHT_QUANTILE]))
    airlight = top + AIRLIGHT_WHITE_WEIGHT * (255.0 - top)
    # contrast left across the image (a solid colour has none, whatever its channels)
    contrast = min(top - floor, top - low)
    if contrast <= 2.0:
        return HazeEstimate(1.0, airlight, 0.0)
    transmission = float(np.clip(1.0 - floor / airlight, MIN_TRANSMISSION, 1.0))
    near_floor = np.count_nonzero(dark <= floor + max(3.0, 0.05 * (top - floor))) / dark.size
    support = min(1.0, near_floor / FLOOR_SUPPORT)
    confidence = min(1.0, contrast / FULL_RANGE) * (0.5 + 0.5 * support)
    if pixels.shape[2] == 1:
        confidence **= GRAY_CONFIDENCE_POWER
    return HazeEstimate(transmission=transmission, airlight=airlight, confidence=float(confidence))
