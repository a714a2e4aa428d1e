"""Additive white Gaussian noise level, on the 0-255 scale, from the pixels alone.

The image is cut into 8x8 blocks and transformed by an orthonormal colour transform (opponent
colours) and the 8x8 DCT. Under i.i.d. Gaussian noise of std ``sigma`` every coefficient then
carries noise of variance ``sigma^2``, whatever the band. Two estimates are read from those bands:

* **Floor** (weak-texture blocks): the bands with the least image energy form the noise subspace;
  a block's mean square there is ``sigma^2 * chi2_m / m`` plus whatever texture it holds. A low
  quantile of that value over blocks, divided by the same quantile of ``chi2_m / m``, estimates
  ``sigma^2`` from the flattest blocks. The bands are chosen on one half of the blocks and measured
  on the other (choosing and measuring on the same blocks biases the estimate low by a few %).
  Blocks near 0 or 255 see clipped noise: each is weighted by the share of variance a clipped
  Gaussian keeps at its brightness (censored-normal moments), iterated with the current sigma.
* **Kurtosis** (scale invariance of natural-image statistics, Zoran & Weiss 2009): clean photos
  have nearly the same excess kurtosis ``k`` in every band; Gaussian noise dilutes it to
  ``k * (1 - sigma^2 / v)^2`` in a band of variance ``v``. A line fit of ``sqrt(kurtosis)`` against
  ``1 / v`` gives sigma, and fine texture (grass, gravel), which raises the floor, does not fool it.

The floor is accurate wherever a photo has some flat area. When it is low (texture floors of clean
photos were seen up to ~8), the kurtosis estimate may lower it; above that the floor is kept, since
the kurtosis fit loses power as noise swamps the image's own statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import chdtri, ndtr

from .transforms import BLOCK, block_dct, opponent_colour, to_blocks

# Quantile of the per-block noise statistic used for the floor: low enough to find the flat blocks
# of most photos, high enough to stay stable with a few thousand blocks.
FLOOR_QUANTILE = 0.02
# Share of the AC bands treated as the noise subspace.
NOISE_SUBSPACE_SHARE = 0.25
# The kurtosis estimate may only lower floors below this.
KURTOSIS_MAX_FLOOR = 12.0
# Blocks whose channel means sit closer than this many sigmas to 0 or 255 are left out of the
# kurtosis fit (clipped noise is not Gaussian).
KURTOSIS_CLIP_MARGIN = 2.5
MAX_BLOCKS = 2500


@dataclass(frozen=True)
class NoiseEstimate:
    sigma: float
    floor_sigma: float
    kurtosis_sigma: float | None


_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _clipped_moments(mu: np.ndarray, sigma: float, lo: float = 0.0, hi: float = 255.0):
    """Mean and variance of clip(N(mu, sigma^2), lo, hi)."""
    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    pa, pb = ndtr(a), ndtr(b)
    fa, fb = np.exp(-0.5 * a * a) / _SQRT_2PI, np.exp(-0.5 * b * b) / _SQRT_2PI
    inside = pb - pa
    m1 = lo * pa + hi * (1 - pb) + mu * inside + sigma * (fa - fb)
    m2 = lo * lo * pa + hi * hi * (1 - pb) + mu * mu * inside + 2 * mu * sigma * (fa - fb)
    m2 = m2 + sigma * sigma * (inside + a * fa - b * fb)
    return m1, np.maximum(m2 - m1 * m1, 0.0)


def clipped_variance_share(means: np.ndarray, sigma: float) -> np.ndarray:
    """Share of ``sigma^2`` left after clipping to [0, 255], for flat regions of observed mean ``means``."""
    return _clipping_model(means, sigma)[0]


def _clipping_model(means: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """For flat regions of observed mean ``means``: variance share kept, and chance a pixel is clipped."""
    share = np.ones(means.shape, dtype=np.float64)
    clip_chance = np.zeros(means.shape, dtype=np.float64)
    near = (means < 4 * sigma) | (means > 255 - 4 * sigma)
    if near.any():
        grid = np.linspace(-3 * sigma, 255 + 3 * sigma, 256)
        observed_mean, _ = _clipped_moments(grid, sigma)
        mu = np.interp(means[near], observed_mean, grid)
        share[near] = _clipped_moments(mu, sigma)[1] / (sigma * sigma)
        clip_chance[near] = ndtr(-mu / sigma) + ndtr((mu - 255.0) / sigma)
    return share, clip_chance


def _noise_band_statistic(power: np.ndarray, is_dc: np.ndarray, dof: int):
    """Per-block mean power over the ``dof`` weakest bands, chosen on the other half of the blocks."""
    stat = np.empty(len(power), dtype=np.float64)
    even, odd = slice(0, None, 2), slice(1, None, 2)
    bands = None
    for choose, measure in ((even, odd), (odd, even)):
        band_power = power[choose].mean(axis=0)
        band_power[is_dc] = np.inf
        bands = np.argsort(band_power)[:dof]
        stat[measure] = power[measure][:, bands].mean(axis=1)
    return stat, bands


def _floor_sigma(
    stat: np.ndarray, means: np.ndarray, clipped: np.ndarray, weights: np.ndarray, dof: int
) -> float:
    """``clipped``: per block and channel, how many of its pixels sit at 0 or 255."""
    q = chdtri(dof, 1.0 - FLOOR_QUANTILE) / dof  # the FLOOR_QUANTILE quantile of chi2_dof / dof
    mid = np.all((means > 20) & (means < 235), axis=1) & (clipped.sum(axis=1) == 0)
    start = stat[mid] if mid.sum() >= 50 else stat
    sigma = float(np.sqrt(np.quantile(start, FLOOR_QUANTILE) / q))
    n = BLOCK * BLOCK
    for _ in range(6):
        if sigma < 1.0:
            break
        share_c, chance = _clipping_model(means, sigma)
        share = share_c @ weights
        # a block with more clipped pixels than flat content explains is partly clipped texture,
        # whose noise the flat model cannot correct: leave it out
        expected = chance * n
        explained = np.all(clipped <= expected + 3.0 * np.sqrt(expected * (1.0 - chance)) + 1.0, axis=1)
        usable = (share > 0.3) & explained
        if usable.sum() < 30:
            break
        new = float(np.sqrt(np.quantile(stat[usable] / share[usable], FLOOR_QUANTILE) / q))
        converged = abs(new - sigma) < 0.01 * sigma + 0.01
        sigma = new
        if converged:
            break
    return sigma


def _kurtosis_sigma(coef: np.ndarray) -> float | None:
    """Line fit of sqrt(excess kurtosis) against 1/variance over the AC bands."""
    if len(coef) < 300:
        return None
    power = coef * coef
    var = power.mean(axis=0, dtype=np.float64)
    m4 = (power * power).mean(axis=0, dtype=np.float64)
    ok = var > 1e-6
    if ok.sum() < 4:
        return None
    root_kurt = np.sqrt(np.clip(m4[ok] / var[ok] ** 2 - 3.0, 0.0, None))
    inv_var = 1.0 / var[ok]
    design = np.stack([np.ones_like(inv_var), inv_var], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, root_kurt, rcond=None)
    if intercept <= 0:
        return None
    return float(np.sqrt(max(-slope / intercept, 0.0)))


def estimate_noise(img: np.ndarray) -> NoiseEstimate:
    """Estimate the std of additive white Gaussian noise in ``img`` (H x W x C, float, 0-255).

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.noise import estimate_noise
        >>> rng = np.random.default_rng(0)
        >>> ramp = np.tile(np.linspace(40, 200, 256), (256, 1))[..., None]
        >>> round(estimate_noise(ramp + rng.normal(0, 10, ramp.shape)).sigma)
        10
    """
    channels = img.shape[2]
    if min(img.shape[:2]) < 2 * BLOCK:
        return NoiseEstimate(0.0, 0.0, None)
    img_blocks = to_blocks(img)
    if len(img_blocks) > MAX_BLOCKS:  # an even subsample: the statistics need a few thousand blocks
        img_blocks = img_blocks[np.linspace(0, len(img_blocks) - 1, MAX_BLOCKS).astype(int)]
    blocks = img_blocks
    means = img_blocks.mean(axis=(2, 3))  # (N, C) per-channel block means
    clipped = ((img_blocks <= 0.0) | (img_blocks >= 255.0)).sum(axis=(2, 3))
    transform = opponent_colour() if channels == 3 else np.eye(channels, dtype=np.float32)
    if channels == 3:
        blocks = np.einsum("jc,ncxy->njxy", transform, img_blocks)
    coef = block_dct(blocks).reshape(len(blocks), -1)
    is_dc = np.zeros((channels, BLOCK * BLOCK), bool)
    is_dc[:, 0] = True
    is_dc = is_dc.reshape(-1)

    power = coef * coef
    dof = max(3, round(NOISE_SUBSPACE_SHARE * (coef.shape[1] - channels)))
    stat, bands = _noise_band_statistic(power, is_dc, dof)
    # how much of the noise subspace each input channel carries, for the clipping correction
    weights = (transform[bands // (BLOCK * BLOCK)] ** 2).mean(axis=0)
    floor = _floor_sigma(stat, means, clipped, weights, dof)

    kurt = None
    if 0.5 <= floor < KURTOSIS_MAX_FLOOR:
        margin = KURTOSIS_CLIP_MARGIN * floor
        keep = np.all((means > margin) & (means < 255 - margin), axis=1)
        kurt = _kurtosis_sigma(coef[keep][:, ~is_dc])
    sigma = min(floor, kurt) if kurt is not None else floor
    return NoiseEstimate(sigma=sigma, floor_sigma=floor, kurtosis_sigma=kurt)

