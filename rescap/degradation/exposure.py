"""Exposure: the gain by which the stored 8-bit values look scaled from a normal exposure.

The degradation measured is a gain on the stored sRGB values, not in linear light:
``clip(rint(image * gain), 0, 255)`` (``synthesize.change_exposure``). A gain below 1 is
under-exposure, above 1 over-exposure. Everything is read from the 256-level histogram of each
pixel's brightest channel.

* **Under-exposure**. Normally exposed photos put their highlights near white, and a gain scales
  every level. If clipped highlights pile up at the top level (at least 0.1 % of the pixels there),
  that level is white and ``gain = level / 255`` exactly (not in a palette image: its brightest
  colour always piles up). Otherwise the 99.9th percentile divided by
  ``HIGHLIGHT_REFERENCE`` gives the gain (at most 1). On 45 clean photos (scikit-image samples,
  wallpapers) without clipped highlights that percentile lay between 199 and 254, except for two
  foggy lakes (183): scenes with no highlight at all (fog, dusk) read somewhat dark, and cannot be
  told from an under-exposed bright scene.
* **Over-exposure**. A gain above 1 on 8-bit values leaves a comb of empty levels: the levels
  ``rint(k * gain)``, evenly spaced (``histogram_traces``). Where the histogram is dense enough that
  a natural one leaves no level empty, a regular comb gives the gain exactly, when the darkest
  channel is combed too (a comb in one channel only is a colour cast) and clipped white piles up at
  255 in at least about the share the gain explains (``COMB_CLIP_STOPS``; a smaller pile, from a
  posterised image or a dark photo gained 3x or more, leaves the comb's gain in doubt: its
  confidence stays below ``CONFIDENT``; a photo posterised to 7 bits spread over 0-255, with some
  white of its own, still reads as a gain of 2). Sparse histograms without
  a lattice's regularity (palette images, smooth artwork) are no comb; nor is a regular one without
  clipped white (posterised images, a dim photo stretched to fill the range), and images with few
  distinct colours are never read from combs or piles. Noise or JPEG after the gain fill the comb,
  and an over-exposure made in the camera never leaves one; then the share ``c`` of pixels with a
  channel at 255 is matched to ``TYPICAL_BRIGHTNESS``, the median quantile curve of the brightest
  channel over clean photos: the clean ``1 - c`` quantile was lifted to 255, so
  ``gain = 255 / TYPICAL_BRIGHTNESS(1 - c)``. That read is coarse (a photo's own brightness varies
  by about a stop around the typical curve) and cannot tell a white background or a blown sky from
  over-exposure, so its confidence stays below ``CONFIDENT`` once it reaches the detection threshold.

``confidence`` is otherwise the relative contrast ``(P99 - P1) / P99`` (which a gain leaves
unchanged) of the brightest or, if larger, the darkest channel, mapped to [0, 1]: a nearly uniform
image (a gray wall) cannot tell a dark wall from an under-exposed white one, and an image clipped to
white almost everywhere has little left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .histogram_traces import COMB_MIN_GAIN, clipped_pile, comb_gain, few_colours
from .pooling import MIN_SIDE, channel_extrema, histogram_u8, quantile_from_histogram
from .report import CONFIDENT, EXPOSURE_ANCHORS

# A normally exposed photo's 99.9th percentile of the brightest channel, without clipped highlights:
# midway (in log) between the lowest clean highlights (199) and white, so every such clean photo
# but the two foggy ones reads an under-exposure within 15 %.
HIGHLIGHT_REFERENCE = 225.0
HIGHLIGHT_QUANTILE = 0.999
# Median quantile curve (quantile, level) of the brightest channel over 40 clean photos, rounded.
TYPICAL_BRIGHTNESS = (
    (0.0, 0.0), (0.1, 68.0), (0.2, 95.0), (0.3, 113.0), (0.4, 140.0), (0.5, 156.0), (0.6, 172.0),
    (0.7, 188.0), (0.8, 203.0), (0.9, 218.0), (0.95, 228.0), (0.99, 240.0), (1.0, 255.0),
)
MAX_GAIN = 8.0
MIN_GAIN = 1.0 / 64.0
# A comb's gain may exceed the one the clipped share explains by this many stops, or the read is in
# doubt (confidence below CONFIDENT); more clipping than explained is a white background, no doubt.
# Gains up to 2 on 45 clean photos exceeded it by at most 0.9 stops; dark photos gained 3-4x clip
# less (a space photo gained 4x clips 5 % of its pixels, 1.8 stops less than a typical photo would),
# as little as a photo posterised to 6 bits (a regular comb of period 4) whose own white piles up
# at 255. A comb without clipped white at 255 (posterised images, a dim photo stretched to fill the
# range) is no over-exposure.
COMB_CLIP_STOPS = 1.0
# Without a comb, the clipped share alone (a white background, a blown sky) is weak evidence: the
# confidence of such a read falls from full at gain 1 to CLIPPED_ONLY_CONFIDENCE, below CONFIDENT,
# at the detection threshold (EXPOSURE_ANCHORS' first level, in stops), and stays there.
CLIPPED_ONLY_CONFIDENCE = 0.9 * CONFIDENT
DETECTION_STOPS = EXPOSURE_ANCHORS[1][0]
# Gains read from the highlights alone in this range are mild darkness that a dusk, fog or
# low-key scene shows by nature (the foggy-lake wallpapers read 0.78-0.8): not confident. Below
# it the darkness is too strong to be the scene's own; above it the level is none anyway.
AMBIGUOUS_DARK = (0.7, 2.0 ** -DETECTION_STOPS)
MAX_PIXELS = 262144  # larger images are read on an even sample of about this many pixels
# Relative contrast (P99 - P1) / P99 at which the confidence is full.
FULL_CONTRAST = 0.5


@dataclass(frozen=True)
class ExposureEstimate:
    gain: float  # stored values look scaled by this from a normal exposure; 1 = normal
    dark_clipped_share: float  # share of pixels with a channel at 0
    bright_clipped_share: float  # share of pixels with a channel at 255
    confidence: float


NEUTRAL = ExposureEstimate(gain=1.0, dark_clipped_share=0.0, bright_clipped_share=0.0, confidence=0.0)


def _clipped_gain(bright: float) -> float:
    """Gain > 1 that lifts a typical photo's ``1 - bright`` quantile to 255 (1 when nothing clips)."""
    if bright <= 0.0:
        return 1.0
    qs, levels = zip(*TYPICAL_BRIGHTNESS)
    lifted = float(np.interp(1.0 - bright, qs, levels))
    return max(1.0, 255.0 / max(lifted, 255.0 / MAX_GAIN))


def _exposure_comb(hist: np.ndarray, lo_hist: np.ndarray, clipped_gain: float) -> tuple[float | None, bool]:
    """Over-exposure gain read from a regular comb in the brightest channel (None if there is none),
    and whether the clipped share leaves it in doubt.

    An exposure gain combs every channel: a comb in the brightest channel only, with the darkest
    one dense and uncombed, is a raised colour channel (a cast). A gain above 1 also clips: without
    a pile of clipped white at 255 the comb is a posterised or stretched image, and a pile much
    smaller than the gain explains (``COMB_CLIP_STOPS``) may be a posterised image's own white.
    (A larger one is a white background or sky, clipped further.)
    """
    comb = comb_gain(hist)
    if comb is None or comb < COMB_MIN_GAIN or clipped_pile(hist) != 255:
        return None, False
    darkest = comb_gain(lo_hist)
    if darkest is not None and darkest < COMB_MIN_GAIN:
        return None, False
    return comb, bool(np.log2(comb / clipped_gain) > COMB_CLIP_STOPS)


def estimate_exposure(pixels: np.ndarray) -> ExposureEstimate:
    """Estimate the exposure gain of ``pixels`` (H x W x C float on 0-255, C = 1 or 3).

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.exposure import estimate_exposure
        >>> ramp = np.tile(np.linspace(0, 255, 256), (64, 1))[..., None].astype(np.float32)
        >>> round(estimate_exposure(np.rint(ramp * 0.4)).gain, 2)
        0.4
        >>> round(estimate_exposure(np.minimum(np.rint(ramp * 2), 255)).gain, 2)
        2.0
        >>> estimate_exposure(np.full((64, 64, 3), 90.0, np.float32)).confidence
        0.0
    """
    if pixels.ndim != 3 or min(pixels.shape[:2]) < MIN_SIDE:
        return NEUTRAL
    step = int(np.ceil(np.sqrt(pixels.shape[0] * pixels.shape[1] / MAX_PIXELS)))  # large images: a sample
    levels = pixels[::step, ::step].astype(np.uint8)  # values on 0-255: floored to levels
    lo, hi = channel_extrema(levels)
    hist = histogram_u8(hi)
    n = float(hi.size)
    bright = float(hist[255]) / n
    dark = float(np.count_nonzero(lo == 0)) / n
    occupied = np.nonzero(hist)[0]
    lo_hist = histogram_u8(lo[::2, ::2])  # the darkest channel varies where the brightest is clipped
    lo_occupied = np.nonzero(lo_hist)[0]
    if occupied[-1] - occupied[0] <= 1 and lo_occupied[-1] - lo_occupied[0] <= 1:  # a solid colour
        return ExposureEstimate(1.0, dark, bright, 0.0)
    p01, p99, top = quantile_from_histogram(hist, [0.01, 0.99, HIGHLIGHT_QUANTILE])
    contrast = max(p99 - p01 - 1.0, 0.0) / max(p99, 1.0)  # less the one level a flat image spans
    q01, q99 = quantile_from_histogram(lo_hist, [0.01, 0.99])
    contrast = max(contrast, max(q99 - q01 - 1.0, 0.0) / max(q99, 1.0))
    confidence = float(np.clip(contrast / FULL_CONTRAST, 0.0, 1.0))

    pile = clipped_pile(hist)
    comb, doubt = _exposure_comb(hist, lo_hist, _clipped_gain(bright)) if top >= 250.0 else (None, False)
    if (comb is not None or (pile is not None and pile < 255)) and pixels.shape[2] == 3:
        # a palette or posterised image: its combs and piles are its own, not a gain's
        if few_colours(levels):
            comb, doubt, pile = None, False, None
    if pile is not None:  # clipped highlights, scaled to ``pile`` if below 255
        under = min(1.0, pile / 255.0)
    else:
        under = min(1.0, max(top, 0.5) / HIGHLIGHT_REFERENCE)
    if comb is not None:
        over = comb
        if doubt:
            confidence = min(confidence, CLIPPED_ONLY_CONFIDENCE)
    else:
        over = _clipped_gain(bright)
        weak = np.interp(np.log2(over), [0.0, DETECTION_STOPS], [1.0, CLIPPED_ONLY_CONFIDENCE])
        confidence = min(confidence, float(weak))
    if pile is None and AMBIGUOUS_DARK[0] < under < AMBIGUOUS_DARK[1]:
        # slightly dark with no clipped highlight to anchor it: dusk, fog and low-key scenes read
        # the same as a mild under-exposure, so this is not an observation
        confidence = min(confidence, CLIPPED_ONLY_CONFIDENCE)
    gain = float(np.clip(under * over, MIN_GAIN, MAX_GAIN))
    return ExposureEstimate(
        gain=gain, dark_clipped_share=dark, bright_clipped_share=bright, confidence=confidence
    )
