"""Noise that was in an image before JPEG compression, read from the quantized luma coefficients.

JPEG quantizes most of the noise's fine detail to zero, so pixel-domain estimates see almost none
of it, though the image still looks noisy. On the JPEG block grid every luma DCT coefficient is a
multiple of its table step ``q``; in flat blocks a band's coefficient was ``N(0, s^2)`` before
quantization, so the share of zeros, ``P0 = 2 Phi(q / 2s) - 1``, gives ``s`` for each band whose
``P0`` is informative (between 0.1 and 0.9). Flat blocks are chosen on the lowest AC bands and the
estimate is read on the others (independent under Gaussian noise, so the choice does not bias it).

Noise is white: its per-band estimates do not fall with frequency. When they do (slope of
log s against log frequency below ``TEXTURE_SLOPE``), what survived quantization is texture and no
estimate is given.

Fine texture (fur, gravel paths) can pass that test, so the estimate carries a confidence from two
properties noise has and texture lacks:

* **Gaussian shape.** The share within one step of zero (``|k| <= 1``) gives a second ``s`` per band,
  ``1.5 q / Phi^-1((1 + P1) / 2)``; for Gaussian coefficients it equals the first. Texture is
  heavy-tailed (a Gaussian scale mixture: faint and strong blocks), so its second ``s`` is larger.
* **Independence of the selection.** Noise in the estimation bands does not depend on how flat a
  block's lowest bands are, so the next-flattest blocks (``NEXT_SHARE``) read the same ``s``;
  texture's contrast is shared by all bands of a block, so they read more.

Each ratio (median over the bands) maps to a factor falling from 1 at ``RATIO_TRUST[0]`` to 0 at
``RATIO_TRUST[1]``, on either side of 1 (a ratio of 0.6 fits noise no better than one of 1.6). Those
limits hold for ``RATIO_TRUST_BLOCKS`` flat blocks; with fewer, the ratios of pure noise spread wider
(1.4-1.6 on a noisy 64 x 64 gray JPEG, 7 flat blocks), so both limits move out by the standard error
``1 / sqrt(n)`` in log scale beyond theirs. Few flat blocks also tell noise from texture poorly
whatever the ratios read (clean brick at 64 x 64 reads 1.03 on both), so the confidence is the two
factors' product times ``1 - exp(-n / EVIDENCE_BLOCKS)``: at most ~0.45 for a 64 x 64 image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .pooling import clipped_per_block
from .transforms import BLOCK, block_dct, luma_noise_gain, luminance, to_blocks

_ROW, _COL = np.divmod(np.arange(64), 8)
# zigzag order of the 64 natural-order indices
ZIGZAG = np.array(sorted(range(64), key=lambda i: (_ROW[i] + _COL[i], _ROW[i] if (_ROW[i] + _COL[i]) % 2 else _COL[i])))
SELECTION_BANDS = ZIGZAG[1:6]
ESTIMATION_BANDS = ZIGZAG[6:]
FLAT_SHARE = 0.1
# the next-flattest blocks, read for the independence test: flatness quantiles FLAT_SHARE-NEXT_SHARE
NEXT_SHARE = 0.2
BAND_QUANTILE = 50  # median of the per-band estimates
TEXTURE_SLOPE = -0.3
# A shape or selection ratio up to the first value is noise's (sampling spread on a few hundred
# blocks reaches ~1.15); at the second, texture's (fur and gravel read 1.4-2).
RATIO_TRUST = (1.1, 1.5)
RATIO_TRUST_BLOCKS = 230  # flat blocks of a 384 x 384 image, where RATIO_TRUST was set
EVIDENCE_BLOCKS = 12.0
# Factor for a test that cannot be made (fewer than three bands informative for it): one such test
# still lets a reading be observed, two do not.
UNTESTED_TRUST = 0.6
# Clipping censors the noise, so blocks with clipped values are left out; a block may keep up to
# this many values clipped, over its channels (1 % of an RGB block's 192, 3 % of a gray one's 64):
# the flattest blocks are often dark or bright, and on a small photo under strong noise leaving
# out every touched block kept 8 of 25 (noise 20 on astronaut at 128 x 128), too few to be
# confident, while two values barely move a band's spread.
CLIPPED_ALLOWED = 2


@dataclass(frozen=True)
class NoiseUnderJpeg:
    """``sigma``: std (0-255, per RGB channel) of the noise before compression; ``confidence``
    (0-1): how well the quantized coefficients fit Gaussian noise independent of the block's
    flatness (low on fine texture that passed for noise)."""

    sigma: float
    confidence: float


def _band_sigmas(coef: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per band: ``s`` from the share of zeros and from the share within one step (nan where the
    share is not informative)."""
    k = np.rint(coef / steps)
    zero = (k == 0).mean(axis=0)
    near = (np.abs(k) <= 1).mean(axis=0)
    usable = steps >= 2
    from_zero = np.full(len(steps), np.nan)
    ok = usable & (zero >= 0.1) & (zero <= 0.9)
    from_zero[ok] = steps[ok] / (2.0 * ndtri((1.0 + zero[ok]) / 2.0))
    from_near = np.full(len(steps), np.nan)
    ok &= near <= 0.98
    from_near[ok] = 1.5 * steps[ok] / ndtri((1.0 + near[ok]) / 2.0)
    return from_zero, from_near


def _trust(ratio: float, blocks: int) -> float:
    """1 for a ratio noise gives, 0 for one texture gives, read on ``blocks`` flat blocks."""
    if not np.isfinite(ratio):
        return UNTESTED_TRUST
    spread = max(0.0, 1.0 / np.sqrt(blocks) - 1.0 / np.sqrt(RATIO_TRUST_BLOCKS))
    lo, hi = (np.log(r) + spread for r in RATIO_TRUST)
    return float(np.clip((hi - abs(np.log(ratio))) / (hi - lo), 0.0, 1.0))


def estimate_noise_under_jpeg(
    img: np.ndarray,
    luma_table: np.ndarray,
    grid: tuple[int, int],
    luma: np.ndarray | None = None,
    shared: bool = False,
) -> NoiseUnderJpeg | None:
    """The noise before JPEG compression, with its confidence, or None when none is seen.

    ``img`` is H x W x C (0-255), ``luma_table`` the 64 luma steps in natural order, ``grid`` the
    (row, column) offset of the 8x8 block grid; ``luma``, ``transforms.luminance(img)`` when the
    caller has it; ``shared``: the channels carry the same noise (``NoiseEstimate.shared``), so luma
    holds all of it, not the share i.i.d. channel noise leaves there.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.jpeg import ijg_tables
        >>> from rescap.degradation.jpeg_noise import estimate_noise_under_jpeg
        >>> from rescap.degradation.synthesize import add_gaussian_noise, jpeg_compress
        >>> flat = np.full((256, 256), 120, np.uint8)
        >>> noisy = jpeg_compress(add_gaussian_noise(flat, 20, seed=0), 70).astype(np.float32)[..., None]
        >>> found = estimate_noise_under_jpeg(noisy, ijg_tables()[0][69], (0, 0))
        >>> round(found.sigma), found.confidence > 0.9
        (20, True)
    """
    table = np.asarray(luma_table, dtype=np.float32).reshape(64)
    y = (luminance(img) if luma is None else luma)[..., None] - 128.0
    blocks = to_blocks(y, grid)[:, 0]
    blocks = blocks[(clipped_per_block(img[grid[0] :, grid[1] :], BLOCK) <= CLIPPED_ALLOWED).ravel()]
    if len(blocks) < 40:
        return None
    coef = block_dct(blocks).reshape(len(blocks), 64)
    flatness = (coef[:, SELECTION_BANDS] ** 2).sum(axis=1)
    flat_limit, next_limit = np.quantile(flatness, [FLAT_SHARE, NEXT_SHARE])
    steps = table[ESTIMATION_BANDS]
    flat = flatness <= flat_limit
    sigmas, near = _band_sigmas(coef[flat][:, ESTIMATION_BANDS], steps)
    informative = np.isfinite(sigmas)
    if informative.sum() < 3:
        return None
    radius = np.hypot(_ROW[ESTIMATION_BANDS], _COL[ESTIMATION_BANDS])[informative]
    if informative.sum() >= 4 and np.polyfit(np.log(radius), np.log(sigmas[informative]), 1)[0] < TEXTURE_SLOPE:
        return None
    sigma = float(np.percentile(sigmas[informative], BAND_QUANTILE))
    shape = near / sigmas
    next_sigmas, _ = _band_sigmas(coef[(flatness > flat_limit) & (flatness <= next_limit)][:, ESTIMATION_BANDS], steps)
    both = informative & np.isfinite(next_sigmas)
    selection = float(np.median(next_sigmas[both])) / sigma if both.sum() >= 3 else np.nan
    shape_ratio = float(np.median(shape[np.isfinite(shape)])) if np.isfinite(shape).sum() >= 3 else np.nan
    gain = luma_noise_gain(img.shape[2], shared)
    n = int(flat.sum())
    evidence = float(1.0 - np.exp(-n / EVIDENCE_BLOCKS))
    confidence = _trust(shape_ratio, n) * _trust(selection, n) * evidence
    return NoiseUnderJpeg(sigma / float(np.sqrt(gain)), confidence)
