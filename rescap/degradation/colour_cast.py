"""Colour cast: per-channel gains that tint the whole image (a white-balance error), from pixels alone.

The degradation measured is a gain per RGB channel on the stored values, then rounding and clipping
(``synthesize.add_colour_cast``). The gains are reported normalised to a geometric mean of 1 (a
common factor is exposure, not colour); the correction divides by them. ``strength`` is the largest
``abs(ln gain)``: 0.22 for gains (1.25, 1, 0.8), 0.15 for (1, 0.8, 1), 0.14 for (1.15, 1, 0.87).

Two sources of evidence; the first decides whether there is a cast when it speaks:

* **Re-quantisation traces** (exact, when present; ``histogram_traces``). A gain above 1 on 8-bit
  values leaves a regular comb of empty levels in that channel's histogram (the levels
  ``rint(k * gain)``: ``1 / gain`` of them, evenly spaced); a gain below 1 moves the pile of clipped
  highlights from 255 to ``rint(255 * gain)``. Sparse histograms without a lattice's regularity
  (smooth artwork) are no comb, and images with few distinct colours (palettes, posterised images)
  are read from the illuminant estimate alone: their sparse levels and piles are their own. Each channel's histogram bounds
  its gain: a comb fixes it, a pile below 255 fixes it, an uncombed histogram reaching 255 puts it
  at 1 (a raised channel would show a comb), one ending at ``top`` in [top / 255, 1]. If one common
  gain fits every channel's bounds there is no cast (or only exposure); otherwise the traced
  channels keep their gains and the others (a lowered channel without clipped highlights to move)
  take the illuminant estimate below, held within their bounds. Clean photos show no comb (at most 8 %
  of dense levels empty) and their clipped highlights sit at 255. Noise or JPEG after the cast
  erase these traces; a cast made before quantisation (in the camera) never leaves them.
* **Illuminant estimate** (otherwise). Four classic estimates of the illuminant colour, gray world,
  shades of gray (Minkowski p = 4, Finlayson and Trezzi 2004), gray edge (mean gradient magnitude,
  van de Weijer et al. 2007) and bright pixels (the brightest 5 % unclipped, Joze et al. 2012),
  are read in log-chromaticity (ln R/G, ln B/G), where a cast is a translation; their median is
  the cast. Large uniformly coloured objects (a meadow, a sky, a flower filling the frame) pull
  them all, each in its own way: then they disagree (their spread, which a cast leaves unchanged,
  is large) or point far from gray (an intrinsic colour, as Gasparini and Schettini 2004 call a
  dominant colour that is no cast). Both lower the confidence, which stays below
  ``FALLBACK_MAX_CONFIDENCE``, itself below ``CONFIDENT``: without a trace, a warm-toned photo
  cannot be told from a warm cast (a blue sea wallpaper and a green wood agree as well as a cast
  photo compressed with JPEG), so the cast is reported, unobserved, for the VLM to judge.

Gray images (one channel, or three equal ones) have no colour, so certainly no cast: strength 0,
hue "", confidence 1.
``strength`` is at most ``MAX_STRENGTH`` (an empty channel would read without bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .histogram_traces import COMB_MIN_GAIN, clipped_pile, comb_gain, few_colours
from .pooling import MIN_SIDE
from .report import COLOUR_CAST_ANCHORS, CONFIDENT  # the severity scale; its first anchor is the detection threshold

# --- re-quantisation traces (``histogram_traces``)
UNCOMBED_MAX_GAIN = 1.0  # an uncombed channel was not raised
HISTOGRAM_PIXELS = 32768  # the histograms are read on an even sample of about this many pixels
TRACE_CONFIDENCE = 0.9
# --- illuminant estimate
SAMPLE_PIXELS = 16384
CLIP_LEVEL = 250.0  # pixels with a channel at or above this are clipped: their colour is not kept
DARK_LEVEL = 20.0  # pixels whose brightest channel is below this are too dark (rounding) to use
BRIGHT_SHARE = 0.05
MINKOWSKI_P = 4.0
SPREAD_SCALE = 0.06  # estimator spread (log-chromaticity) at which the confidence halves
INTRINSIC_CHROMA = 0.45  # log-chroma beyond which an estimate is likely coloured content (conf 0 at 2x)
# Without a trace the cast is never observed: consistent clean photos of a blue sea or a green wood
# agree as well (their spread is as small) as photos given a cast and then JPEG-compressed.
FALLBACK_MAX_CONFIDENCE = 0.9 * CONFIDENT
GRAY_TOLERANCE = 1.0  # channels within this many levels everywhere: a gray picture stored as RGB

DETECTION_STRENGTH = COLOUR_CAST_ANCHORS[1][0]
# Strength is clamped here (a channel 4.5x off; the severity scale tops out at 0.6): an empty
# channel (all 0) would otherwise read without bound.
MAX_STRENGTH = 1.5

# Hue words by the HSV hue (degrees) of the colour white takes under the cast.
HUES = ((15.0, "red"), (45.0, "orange"), (70.0, "yellow"), (160.0, "green"), (200.0, "cyan"),
        (260.0, "blue"), (330.0, "magenta"), (360.0, "red"))


@dataclass(frozen=True)
class ColourCastEstimate:
    strength: float  # max abs(ln gain) of the normalised gains; 0 = neutral
    gains: tuple[float, float, float]  # per-channel multipliers the cast applied, geometric mean 1
    hue: str  # colour word for the cast's direction, "" when below the detection strength
    confidence: float


NEUTRAL = ColourCastEstimate(strength=0.0, gains=(1.0, 1.0, 1.0), hue="", confidence=0.0)
GRAY = ColourCastEstimate(strength=0.0, gains=(1.0, 1.0, 1.0), hue="", confidence=1.0)


def hue_name(gains: tuple[float, float, float] | np.ndarray) -> str:
    """Plain colour word for the tint that gains (r, g, b) give to white.

    Example:
        >>> from rescap.degradation.colour_cast import hue_name
        >>> hue_name((1.25, 1.0, 0.8)), hue_name((0.8, 1.0, 1.25)), hue_name((1.0, 0.8, 1.0))
        ('orange', 'blue', 'magenta')
    """
    r, g, b = (float(x) for x in gains)
    hi, lo = max(r, g, b), min(r, g, b)
    if hi - lo <= 1e-9:
        return ""
    if hi == r:
        h = (60.0 * (g - b) / (hi - lo)) % 360.0
    elif hi == g:
        h = 60.0 * (b - r) / (hi - lo) + 120.0
    else:
        h = 60.0 * (r - g) / (hi - lo) + 240.0
    return next(name for limit, name in HUES if h < limit)


def _channel_bounds(hist: np.ndarray) -> tuple[float, float, bool]:
    """Bounds on the gain applied to one channel, from its 256-level histogram, and whether one is a trace."""
    top = int(np.nonzero(hist)[0][-1])
    if top == 0:
        return 0.0, np.inf, False
    comb = comb_gain(hist)
    if comb is not None and comb >= COMB_MIN_GAIN:
        return comb, comb, True
    pile = clipped_pile(hist)
    if pile is not None and pile < 255:  # clipped highlights moved down: a lowered channel
        return top / 255.0, top / 255.0, True
    if comb is not None:  # dense and uncombed: not raised
        return top / 255.0, UNCOMBED_MAX_GAIN, False
    return top / 255.0, np.inf, False


def _histograms(levels: np.ndarray) -> list[np.ndarray]:
    """Per-channel 256-level histograms of an even sample of about ``HISTOGRAM_PIXELS`` pixels."""
    step = max(1, int(np.sqrt(levels.shape[0] * levels.shape[1] / HISTOGRAM_PIXELS)))
    sample = levels[::step, ::step]
    return [np.bincount(sample[..., c].ravel(), minlength=256) for c in range(3)]


def _trace_bounds(hists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Log-gain bounds (lo, hi) per channel and which are exact traces; None when one common gain fits."""
    bounds = [_channel_bounds(h) for h in hists]
    exact = np.array([b[2] for b in bounds])
    if not exact.any():
        return None
    lo = np.log(np.maximum([b[0] for b in bounds], 1e-3))
    hi = np.log(np.maximum([b[1] for b in bounds], 1e-3))
    if lo.max() <= hi.min():
        return None
    return lo, hi, exact


def _trace_gains(lo: np.ndarray, hi: np.ndarray, exact: np.ndarray, guess: np.ndarray | None) -> np.ndarray:
    """Gains within the bounds: exact ones as traced, the others from ``guess`` (log gains up to a
    common factor, from the illuminant estimate), or as close to the traced ones as the bounds allow."""
    if guess is None or exact.all():
        return np.exp(np.clip(0.5 * (lo.max() + hi.min()), lo, hi))
    offset = float(np.mean(lo[exact] - guess[exact]))
    return np.exp(np.where(exact, lo, np.clip(guess + offset, lo, hi)))


def _log_chroma(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) positive RGB -> (..., 2) log chromaticity (ln R/G, ln B/G)."""
    lg = np.log(np.maximum(rgb, 1e-3))
    return np.stack([lg[..., 0] - lg[..., 1], lg[..., 2] - lg[..., 1]], axis=-1)


def _illuminant(levels: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Median log-chromaticity of four illuminant estimates, and their spread; None if no usable pixel."""
    step = max(1, round(np.sqrt(levels.shape[0] * levels.shape[1] / SAMPLE_PIXELS)))
    grid = levels[::step, ::step].astype(np.float32)
    h, w = grid.shape[:2]
    flat = grid.reshape(-1, 3)
    r, g, b = flat[:, 0], flat[:, 1], flat[:, 2]
    hi = np.maximum(np.maximum(r, g), b)
    ok = (hi < CLIP_LEVEL) & (hi >= DARK_LEVEL)
    count = int(np.count_nonzero(ok))
    if count < 64:
        return None
    weight = ok.astype(np.float32)  # sums over usable pixels as dot products (fast)
    mean = weight @ flat / count
    squared = flat * flat
    minkowski = (weight @ (squared * squared) / count) ** (1.0 / MINKOWSKI_P)
    total = r + g + b
    k = int((1.0 - BRIGHT_SHARE) * (count - 1))
    bright_weight = weight * (total >= np.partition(total[ok], k)[k])
    bright = bright_weight @ flat / max(float(bright_weight.sum()), 1.0)
    # gray edge on the sampled grid, over pairs of usable neighbours
    wgrid = weight.reshape(h, w)
    dx = np.abs(grid[:, 1:] - grid[:, :-1]).reshape(-1, 3)
    dy = np.abs(grid[1:] - grid[:-1]).reshape(-1, 3)
    edges = (wgrid[:, 1:] * wgrid[:, :-1]).ravel() @ dx + (wgrid[1:] * wgrid[:-1]).ravel() @ dy
    uv = _log_chroma(np.stack([mean, minkowski, edges + 1e-3, bright]))
    centre = np.median(uv, axis=0)
    spread = float(np.median(np.hypot(*(uv - centre).T)))
    return centre, spread


def _is_gray(rgb: np.ndarray) -> bool:
    """Whether the three channels of ``rgb`` are equal (within ``GRAY_TOLERANCE``) everywhere."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return bool(np.abs(r - g).max() <= GRAY_TOLERANCE and np.abs(g - b).max() <= GRAY_TOLERANCE)


def _normalised(gains: np.ndarray) -> np.ndarray:
    return gains / np.exp(np.mean(np.log(gains)))


def estimate_colour_cast(pixels: np.ndarray) -> ColourCastEstimate:
    """Estimate the colour cast of ``pixels`` (H x W x C float on 0-255; C = 1 certainly has none).

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.colour_cast import estimate_colour_cast
        >>> from rescap.degradation.synthesize import add_colour_cast
        >>> rng = np.random.default_rng(0)
        >>> scene = rng.integers(0, 256, (64, 64, 1)).repeat(3, axis=2).astype(np.uint8)  # gray
        >>> estimate_colour_cast(scene.astype(np.float32)).strength
        0.0
        >>> cast = estimate_colour_cast(add_colour_cast(scene, (1.25, 1.0, 0.8)).astype(np.float32))
        >>> cast.hue, [round(g, 2) for g in cast.gains]
        ('orange', [1.25, 1.0, 0.8])
        >>> estimate_colour_cast(scene[..., :1].astype(np.float32)).confidence  # one channel: no cast
        1.0
    """
    if pixels.ndim != 3 or pixels.size == 0 or pixels.shape[2] not in (1, 3):
        return NEUTRAL
    if pixels.shape[2] == 1 or _is_gray(pixels[::4, ::4].astype(np.float32)):
        return GRAY  # no colour, so certainly no colour cast
    if min(pixels.shape[:2]) < MIN_SIDE:
        return NEUTRAL
    levels = pixels.astype(np.uint8)  # values on 0-255: floors them to 8-bit levels
    hists = _histograms(levels)
    spans = [np.nonzero(h)[0] for h in hists]
    if max(int(s[-1] - s[0]) for s in spans) <= 2:  # a solid colour
        return NEUTRAL
    traced = _trace_bounds(hists)
    if traced is not None and few_colours(levels):
        traced = None  # a palette or posterised image: its sparse levels and piles are its own
    found = _illuminant(levels)
    if traced is not None:
        guess = None if found is None else np.array([found[0][0], 0.0, found[0][1]])
        gains, confidence = _normalised(_trace_gains(*traced, guess)), TRACE_CONFIDENCE
    else:
        if found is None:
            return NEUTRAL
        (u, v), spread = found
        gains = _normalised(np.exp(np.array([u, 0.0, v])))
        chroma = float(np.hypot(u, v))
        agreement = 1.0 / (1.0 + (spread / SPREAD_SCALE) ** 2)
        plausible = float(np.clip((2.0 * INTRINSIC_CHROMA - chroma) / INTRINSIC_CHROMA, 0.0, 1.0))
        confidence = FALLBACK_MAX_CONFIDENCE * agreement * plausible
    log_gains = np.log(gains)
    strength = float(np.max(np.abs(log_gains)))
    if not strength <= MAX_STRENGTH:  # clamped along the cast's direction (NaN: neutral)
        log_gains = log_gains * (MAX_STRENGTH / strength) if np.isfinite(strength) else np.zeros(3)
        gains, strength = np.exp(log_gains), float(np.max(np.abs(log_gains)))
    hue = hue_name(gains) if strength >= DETECTION_STRENGTH else ""
    return ColourCastEstimate(
        strength=strength,
        gains=(float(gains[0]), float(gains[1]), float(gains[2])),
        hue=hue,
        confidence=float(confidence),
    )
