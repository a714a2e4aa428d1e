"""Sensor noise, on the 0-255 scale, from the pixels alone: its level function and its RMS std.

Model: each channel carries noise of variance ``a * I + b`` at intensity ``I`` (photon shot noise
``a``, read noise ``b``; ``a = 0`` is additive white Gaussian noise), possibly low-passed by the
camera pipeline (a Gaussian of std ``s`` pixels, ``s`` in ``BLUR_CANDIDATES``), then clipped to
[0, 255] and rounded.

The image is cut into 8x8 blocks and transformed by an orthonormal colour transform (opponent
colours) and the 8x8 DCT. Under i.i.d. noise of variance ``v`` every coefficient carries noise of
variance ``v``; after a Gaussian low-pass of std ``s`` band ``(u, v)`` keeps ``P_s(u, v)`` of it,
computed exactly from the kernel (``blur_profile``; it falls with frequency like a Gaussian, while
natural texture falls like a power law), and ``power / P_s`` is white again ("whitened").

* **Floor** (weak-texture blocks): the bands with the least (whitened) image energy form the noise
  subspace; a block's mean whitened power there is ``v * chi2_m / m`` plus whatever texture it
  holds. The bands are chosen on one half of the blocks and measured on the other (choosing and
  measuring on the same blocks biases the estimate low by a few %). Only bands keeping at least
  ``PROFILE_MIN`` of the noise are used, so whitening never amplifies rounding noise much. A low
  quantile of the statistic over blocks gives a global floor for each candidate ``s``.
* **Noise blur**: if the noise was low-passed with ``s0``, the white floor reads only what is left
  in the highest bands (a tenth of it for ``s0 = 0.7``). Each candidate's per-pixel variance
  ``v_s * mean(P_s)`` is a lower bound of the true one, reached at ``s = s0`` (the minimum over
  bands of a ratio is at most the ratio of the sums), so the largest floor is taken among the
  candidates that (1) read more than ``BLUR_MIN_FLOOR``, (2) predict for the white subspace, in
  their own flattest blocks, what the white statistic finds there (``BLUR_RATIO_RANGE``: less
  high-frequency noise than the model needs refutes it, as on blurred clean photos; more means
  whiter noise), and (3) are confirmed, not refuted, by the kurtosis (below): Gaussian-like
  texture (grass, gravel) fits a low-passed noise model too, but leaves no natural image kurtosis
  to dilute. At most two such candidates are tried, then white noise. A refuted candidate whose
  kurtosis fit still confirms a share of its floor (``KURTOSIS_PARTIAL`` up to the range) is
  measured at that share when white noise confirms less: over dense texture the floor holds
  texture and blurred noise together, and the confirmed part is the noise.
* **Noise level function** (NLF): blocks are binned by intensity (``LEVEL_BINS`` bins of width 32;
  the intensity is that of the channels the subspace's noise comes from). In each bin the noise
  variance is the fixed point of a truncated mean: the mean statistic of the blocks below the
  ``FLAT_TAIL`` quantile of ``chi2_m / m`` times the current level, divided by the truncated chi2
  mean, so flat blocks count in full and textured ones drop out; the blocks kept are the bin's
  flat blocks. ``(a, b)`` is a weighted least-squares line through the bins with
  ``MIN_FLAT_BLOCKS`` flat blocks or more (weights ``n / v^2``, the inverse variance of a variance
  estimate; ``a, b >= 0``). Texture can only raise a bin, so bins far above the line are weighted
  down and left out of the reported level function (a lower envelope). One usable bin gives
  ``a = 0``. Levels are reported per pixel (``v * mean(P_s)``), as measured in their bin.
* **Clipping**: blocks near 0 or 255 see clipped noise: each block's statistic is divided by the
  share of variance a clipped Gaussian of the NLF's std keeps at its brightness (censored-normal
  moments, per channel), a channel clipped away no longer counts in its intensity, and blocks with
  more clipped pixels than a flat region explains are left out; the NLF and the shares are iterated.
* **Kurtosis** (scale invariance of natural-image statistics, Zoran & Weiss 2009): clean photos
  have nearly the same excess kurtosis ``k`` in every band; Gaussian noise dilutes it to
  ``k * (1 - n / V)^2`` in a band of variance ``V`` holding noise ``n``. The coefficients are
  divided by the NLF's std at each block's intensity and by ``sqrt(P_s)``, so the noise has unit
  variance everywhere; a line fit of ``sqrt(kurtosis)`` against ``1 / V`` then gives the share of
  the NLF's noise the image statistics confirm. Fine texture raises the floor but not this.

* **Emptied chroma**: a JPEG (4:2:0) or video pipeline stores chroma at half resolution, and
  quantization empties what is left of it; the noise then lives in luma only and the opponent
  channels' flattest bands read none of it. When the chroma's upper bands hold almost none of the
  power luma's hold (``CHROMA_EMPTY``), the estimate is also made on BT.601 luma and rescaled to
  per-RGB-channel noise. It is taken on a JPEG (``jpeg_compressed``) and from
  ``LUMA_ONLY_SIGMA`` up; below, the colour estimate stands (a photo without chroma texture reads
  its luma texture on luma), no surer than luma's own and less sure the lower it reads than luma.
  On a JPEG only white noise is tried: quantization empties texture's high bands as a low-pass
  does, and dense texture then passes for low-passed noise. When the chroma's *low* bands are
  empty as well (``SHARED_NOISE_CHROMA``) and the chroma holds little power anywhere
  (``SHARED_NOISE_COLOUR``: a gray backdrop in a colour JPEG has no chroma left in its flat
  blocks either), the photo has no colour of its own: a toned monochrome (sepia, a tint), whose
  three channels carry the same noise. Luma then holds all of that noise, so its estimate is
  taken as it reads (``shared``) and not rescaled: the i.i.d. conversion read it 1.5x high. On a JPEG this needs its chroma steps (``chroma_table``):
  only steps that independent channel noise of that level would pass (``_chroma_would_show``)
  make its absence telling; coarser ones empty the chroma of a colour photo's noise as well.

Combination: ``sigma`` is the RMS noise std over the pixels, ``sqrt(a * mean(I) + b)`` (clipping
aside); for additive white noise (``a = 0``) it is the usual sigma. The floor-based NLF is the
estimate. When its ``sigma`` is below ``KURTOSIS_MAX_FLOOR`` (texture floors of clean photos were
seen up to ~8) and the kurtosis fit confirms less of it, the whole NLF (``a``, ``b`` and every
level) is scaled by the confirmed share: in full below ``KURTOSIS_TRUST[0]`` (a texture floor),
not at all above ``KURTOSIS_TRUST[1]`` (blurred and signal-dependent noise dilute the kurtosis a
little unevenly, and the fit is noisier than the floor), blended between. Above that level the
floor is kept, since the kurtosis fit loses power as noise swamps the image's own statistics.

``confidence`` (0-1): whether the flat blocks the NLF rests on look like noise alone, i.e. have as
much whitened power in their upper usable bands as in their lower ones (an F test: texture falls
with frequency), how many do, and how well the kurtosis fit agrees with the floor; a floor that is
small whatever it holds (``CONFIDENT_SIGMA``) is trusted as such. Dense foliage or gravel, where
texture and noise cannot be told apart, score low; photos with some sky or wall score high.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.special import chdtr, chdtri, fdtri, ndtr

from .transforms import BLOCK, dct_matrix, luma_noise_gain, luminance, opponent_colour, to_blocks

# Quantile of the per-block noise statistic used for the global floor: low enough to find the flat
# blocks of most photos, high enough to stay stable with a few thousand blocks.
FLOOR_QUANTILE = 0.02
# Share of the AC bands treated as the noise subspace.
NOISE_SUBSPACE_SHARE = 0.25
# Gaussian low-pass widths (pixels) the noise may have gone through; 0 = white noise.
BLUR_CANDIDATES = (0.0, 0.6, 0.65, 0.7)
# Bands keeping less than this share of the noise variance after the low-pass are not used.
PROFILE_MIN = 0.1
# A low-passed candidate stands when, in its flattest blocks (its statistic up to the
# BLUR_TEST_QUANTILE quantile), the white statistic is within BLUR_RATIO_RANGE of what its noise
# would put in the white subspace; when its kurtosis fit finds a share of its noise within
# BLUR_KURTOSIS_RANGE (far more is no confirmation either: the two models disagree); and when it
# reads more than BLUR_MIN_FLOOR (per-pixel variance: below the report's "none" threshold of std 2
# white noise is assumed, which keeps the grain of clean photos as it was).
BLUR_RATIO_RANGE = (0.3, 1.2)
BLUR_TEST_QUANTILE = 0.05
BLUR_KURTOSIS_RANGE = (0.5, 2.5)
BLUR_MIN_FLOOR = 2.0**2
# A refuted low-passed candidate whose kurtosis fit confirms at least this share of its floor
# (and less than BLUR_KURTOSIS_RANGE[0]) is measured at that share.
KURTOSIS_PARTIAL = 0.1
# Intensity bins of the noise level function (width 256 / LEVEL_BINS).
LEVEL_BINS = 8
# A bin needs this many flat blocks to enter the fit and the level function.
MIN_FLAT_BLOCKS = 10
# Blocks whose statistic is below this quantile of chi2_m / m (times the bin's level) are flat.
FLAT_TAIL = 0.9
# A bin this many standard errors above the line is texture.
TEXTURE_RESIDUAL = 3.0
# The kurtosis estimate may only lower NLFs whose RMS sigma is below this.
KURTOSIS_MAX_FLOOR = 12.0
# The kurtosis fit's share of the floor's noise is applied in full below the first value and not at
# all above the second (blurred or signal-dependent noise dilutes the kurtosis a little unevenly).
KURTOSIS_TRUST = (0.4, 0.75)
# Median sqrt(excess kurtosis) of Gaussian noise over the bands it dominates is ~0 (half the bands'
# sample kurtosis is negative); grass and gravel keep ~0.5. Natural photos: 1-5.
GAUSSIAN_ROOT_KURTOSIS = 0.25
NATURAL_ROOT_KURTOSIS = 1.0
# Blocks whose channel means sit closer than this many sigmas to 0 or 255 are left out of the
# kurtosis fit (clipped noise is not Gaussian).
KURTOSIS_CLIP_MARGIN = 2.5
# Confidence: flat blocks passing the noise-alone test for a count term of 1 - 1/e; the share of
# the flat blocks passing it mapped linearly from 0 to 1 between these two values; a floor below
# CONFIDENT_SIGMA is trusted as small in any case (confidence 1 - floor / CONFIDENT_SIGMA).
CONFIDENCE_BLOCKS = 40.0
PURE_SHARE = (0.05, 0.3)
CONFIDENT_SIGMA = 2.5
# Absolute slack (power per coefficient) of the confidence's flat-block test (faint gradients).
PURE_SLACK = 0.5
_ROUNDING_VARIANCE = 1.0 / 12.0  # of 8-bit integer pixels
MAX_BLOCKS = 2500
# Chroma whose upper bands (max(u, v) >= CHROMA_HIGH_BAND, above half the Nyquist frequency) hold
# less than CHROMA_EMPTY of luma's power there was subsampled (JPEG 4:2:0) or quantized away: it
# carries no noise, so the noise is measured on luma alone. i.i.d. RGB noise puts the same power
# in all three opponent channels (ratio ~1; Poisson-Gaussian and blurred noise >= 0.1); 4:2:0 JPEGs
# of noisy photos read 0.001-0.03.
CHROMA_HIGH_BAND = 5
CHROMA_EMPTY = 0.05
# A photo may simply lack chroma texture; on luma alone it then reads its luma texture as a gray
# photo would (up to ~4 on the benchmark's photos). Unless the image is known to be a JPEG, the
# luma estimate replaces the colour one only from this level up (noise whose chroma was removed).
LUMA_ONLY_SIGMA = 6.0
# Below this share of luma's upper-band power in the chroma's low bands (``_chroma_low_share``) the
# image has no chroma at all: the channels share their noise (toned monochrome: <= 0.03; JPEGs of
# it at quality 60-95 <= 0.01, up to 0.5 at <= 50, where the chroma steps decide anyway:
# ``_chroma_would_show``; i.i.d. noise under subsampled chroma >= 0.23, JPEGs of it >= 0.15).
SHARED_NOISE_CHROMA = 0.08
# ... and the chroma's AC power, summed over the blocks, must stay below this share of luma's: a
# toned photo's chroma follows its luma at a fixed small gain (gains (1, 0.85, 0.65): 0.03,
# (1, 0.8, 0.5): 0.072, their JPEGs <= 0.035; a tint: 0), while a colour photo whose flattest
# blocks hold no chroma (a gray backdrop in a JPEG, whose chroma quantization removed the noise
# there) has colour elsewhere (0.12 on such a crop of Grace Hopper's portrait, 0.10 on all of it).
SHARED_NOISE_COLOUR = 0.09
_LUMA_NOISE_GAIN = luma_noise_gain(3)  # variance of BT.601 luma of unit i.i.d. RGB noise
# each DCT coefficient's band, max(u, v), and the chroma's low AC bands ``_chroma_low_share`` reads
_BAND = np.maximum(*np.divmod(np.arange(BLOCK * BLOCK), BLOCK))
_CHROMA_LOW_BANDS = (_BAND >= 1) & (_BAND < CHROMA_HIGH_BAND - 1)
# std of a JPEG Cb coefficient per unit i.i.d. RGB noise, chroma subsampled 2 x 2 (4:2:0, the
# common case and the one that keeps least of it): the BT.601 Cb weights' norm, halved
CHROMA_NOISE_GAIN = float(np.sqrt(0.168736**2 + 0.331264**2 + 0.5**2)) / 2


@dataclass(frozen=True)
class NoiseEstimate:
    """Noise measured in one image; all stds and variances per input channel, 0-255 scale.

    ``sigma``: RMS noise std over the pixels, ``sqrt(shot * mean intensity + read)``.
    ``floor_sigma``: the same from the floor-based NLF, before any kurtosis correction.
    ``kurtosis_sigma``: what the kurtosis fit gives for it, or None when not run / not usable.
    ``level_function``: ``(intensity, sigma)`` pairs, increasing in intensity: the noise std
    measured in the flat blocks of each intensity bin (mean pixel value of those blocks, 0-255),
    for the bins with enough flat blocks that are not texture.
    ``shot``, ``read``: the fitted ``a`` and ``b`` (``a, b >= 0``) of the per-pixel noise variance
    ``a * I + b`` at intensity ``I`` (as the noise is in the image, after any low-pass).
    ``confidence``: 0 (texture and noise cannot be told apart) to 1 (many flat blocks, agreeing).
    ``noise_blur``: std (pixels) of the Gaussian low-pass the noise went through (0 = white).
    ``shared``: the channels carry the same noise (a toned monochrome photo), so luma holds all of
    its variance, not the ``_LUMA_NOISE_GAIN`` share i.i.d. channel noise leaves there.
    """

    sigma: float
    floor_sigma: float
    kurtosis_sigma: float | None
    level_function: tuple[tuple[float, float], ...] = ()
    shot: float = 0.0
    read: float = 0.0
    confidence: float = 0.0
    noise_blur: float = 0.0
    shared: bool = False


_EMPTY = NoiseEstimate(0.0, 0.0, None)

# One-sided censored-normal tables: for X = max(z + N(0, 1), 0), its mean and variance against z.
_Z = np.linspace(-6.0, 10.0, 1601)
_PHI = np.exp(-0.5 * _Z * _Z) / np.sqrt(2.0 * np.pi)
_CDF = ndtr(_Z)
_CENSORED_MEAN = _Z * _CDF + _PHI
_CENSORED_VAR = np.maximum((_Z * _Z + 1.0) * _CDF + _Z * _PHI - _CENSORED_MEAN**2, 0.0)


def clipped_variance_share(means: np.ndarray, sigma) -> np.ndarray:
    """Share of ``sigma^2`` left after clipping to [0, 255], for flat regions of observed mean ``means``."""
    return _clipping_model(means, sigma)[0]


def _clipping_model(means: np.ndarray, sigma) -> tuple[np.ndarray, np.ndarray]:
    """For flat regions of observed mean ``means`` and noise std ``sigma`` (scalar or per region):
    the share of variance kept after clipping to [0, 255], and the chance a pixel is clipped.

    Each side is a censored normal (the far side is ignored: both matter only for sigma > ~60)."""
    means = np.asarray(means, dtype=np.float64)
    sigma = np.maximum(np.asarray(sigma, dtype=np.float64), 1e-6)
    z_lo = np.interp(means / sigma, _CENSORED_MEAN, _Z)  # true mean / sigma, from the observed one
    z_hi = np.interp((255.0 - means) / sigma, _CENSORED_MEAN, _Z)
    share = np.interp(z_lo, _Z, _CENSORED_VAR) * np.interp(z_hi, _Z, _CENSORED_VAR)
    return share, ndtr(-z_lo) + ndtr(-z_hi)


@lru_cache(maxsize=16)
def blur_profile(width: float) -> tuple[np.ndarray, float]:
    """Noise variance of each 8x8 DCT band (natural order) of unit white noise low-passed by a
    Gaussian of std ``width`` pixels (scipy's ``gaussian_filter`` kernel), and its per-pixel variance."""
    if width <= 0:
        return np.ones(BLOCK * BLOCK), 1.0
    radius = int(4.0 * width + 0.5)
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / width) ** 2)
    k /= k.sum()
    auto = np.correlate(k, k, "full")  # lag 0 at index 2 * radius
    lags = np.abs(np.arange(BLOCK)[:, None] - np.arange(BLOCK)[None, :])
    padded = np.concatenate([auto[2 * radius :], np.zeros(BLOCK)])
    d = dct_matrix().astype(np.float64)
    g = np.diag(d @ padded[lags] @ d.T)
    profile = np.outer(g, g).reshape(-1)
    profile.setflags(write=False)
    return profile, float(auto[2 * radius] ** 2)


@lru_cache(maxsize=1)
def _dct2_matrix() -> np.ndarray:
    """``kron(D, D).T``: the 2-D DCT of flattened 8x8 blocks as one matrix product."""
    d = dct_matrix()
    return np.ascontiguousarray(np.kron(d, d).T)


def _opponent_dct(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, 64) pixel blocks -> (N, C * 64) opponent-colour DCT coefficients, (N, C) block means."""
    n, c, _ = pixels.shape
    coef = (pixels.reshape(n * c, -1) @ _dct2_matrix()).reshape(n, c, -1)
    means = coef[:, :, 0].astype(np.float64) / BLOCK  # the orthonormal DC is 8 x the mean
    if c != 3:
        return coef.reshape(n, -1), means
    out = np.matmul(opponent_colour(), coef)
    return out.reshape(n, -1), means


def _clipped_counts(pixels: np.ndarray) -> np.ndarray | None:
    """Per block and channel, how many pixels sit at 0 or 255; None when none does."""
    low, high = pixels.min() <= 0.0, pixels.max() >= 255.0
    if not (low or high):
        return None
    mask = (pixels <= 0.0) | (pixels >= 255.0) if low and high else (pixels <= 0.0) if low else (pixels >= 255.0)
    # count the 0/1 bytes eight at a time: sum the 64-bit words (no lane exceeds 8), then the lanes
    words = mask.view(np.uint64).sum(axis=2, dtype=np.uint64)
    return ((words * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.intp)


@lru_cache(maxsize=64)
def _chi2_constants(dof: int) -> tuple[float, float, float]:
    """For X ~ chi2_dof / dof: its FLOOR_QUANTILE quantile, its FLAT_TAIL quantile ``t``, and
    ``E[X | X <= t]`` (``E[chi2_m 1{chi2_m < x}] = m F_{m+2}(x)``)."""
    t = float(chdtri(dof, 1.0 - FLAT_TAIL) / dof)
    kept_mean = float(chdtr(dof + 2, t * dof) / chdtr(dof, t * dof))
    return float(chdtri(dof, 1.0 - FLOOR_QUANTILE) / dof), t, kept_mean


@lru_cache(maxsize=8)
def _candidate_profiles(channels: int) -> tuple[tuple[np.ndarray, np.ndarray, float], ...]:
    """Per candidate width: band profile tiled over the channels, usable AC bands, per-pixel variance."""
    is_dc = np.zeros(channels * BLOCK * BLOCK, bool)
    is_dc[:: BLOCK * BLOCK] = True
    out = []
    for width in BLUR_CANDIDATES:
        profile64, per_pixel = blur_profile(width)
        profile = np.tile(profile64, channels)
        out.append((profile, (profile >= PROFILE_MIN) & ~is_dc, per_pixel))
    return tuple(out)


@dataclass
class _Subspace:
    """The noise subspace for one candidate low-pass width."""

    width: float
    profile: np.ndarray  # (C * 64,) share of the pre-blur noise variance each band keeps
    per_pixel: float  # per-pixel variance of unit pre-blur noise after the low-pass
    usable: np.ndarray  # AC bands keeping at least PROFILE_MIN
    dof: int
    stat: np.ndarray  # per block: mean whitened power over the subspace (pre-blur variance units)
    weights: np.ndarray  # per block and input channel: its share of the subspace's noise
    floor: float  # global floor, per-pixel variance
    white_share: float  # mean profile over the white subspace's bands
    white_ratio: float  # white statistic / its prediction, in the flattest blocks


def _subspaces(power: np.ndarray, channels: int, mid: np.ndarray, transform: np.ndarray) -> list[_Subspace]:
    """The noise subspace, per-block statistic and global floor of every candidate low-pass width."""
    n, nb = power.shape
    rows = np.arange(nb) // (BLOCK * BLOCK)
    white_dof = max(3, round(NOISE_SUBSPACE_SHARE * (nb - channels)))
    ones = np.ones(n - n // 2, dtype=np.float32)
    half_power = (ones @ power[0::2], ones[: n // 2] @ power[1::2])  # band power sums, per half
    k = len(BLUR_CANDIDATES)
    # band weights of each candidate's statistic, for bands chosen on the even / odd blocks
    select = np.zeros((2, nb, k), dtype=np.float32)
    weights = np.zeros((2, k, channels))
    dofs, white_bands = [], None
    profiles = _candidate_profiles(channels)
    for j, (profile, usable, _) in enumerate(profiles):
        dof = int(min(white_dof, usable.sum() // 2))
        for h in (0, 1):
            bands = np.argpartition(np.where(usable, half_power[h] / profile, np.inf), dof)[:dof]
            select[h, bands, j] = 1.0 / (profile[bands] * dof)
            weights[h, j] = (transform[rows[bands]] ** 2).mean(axis=0)
            if j == 0:
                white_bands = bands if h == 0 else np.union1d(white_bands, bands)
        dofs.append(dof)
    stat = np.empty((n, k), dtype=np.float64)
    stat[1::2] = power[1::2] @ select[0]  # measured on the odd blocks, chosen on the even ones
    stat[0::2] = power[0::2] @ select[1]
    block_weights = np.empty((n, k, channels))
    block_weights[1::2] = weights[0]
    block_weights[0::2] = weights[1]
    sub_mid = stat[mid]
    kth = int(FLOOR_QUANTILE * (len(sub_mid) - 1))
    k_flat = int(BLUR_TEST_QUANTILE * (len(sub_mid) - 1))
    part = np.partition(sub_mid, [kth, k_flat], axis=0)
    out = []
    for j, (profile, usable, per_pixel) in enumerate(profiles):
        floor = float(part[kth, j] / _chi2_constants(dofs[j])[0] * per_pixel)
        white_share = float(profile[white_bands].mean())
        # in the blocks flattest for this candidate, the white statistic (weakest bands, mostly
        # high frequencies) against what low-passed noise of their level would put there
        flat = sub_mid[:, j] <= part[k_flat, j]
        predicted = floor / per_pixel * white_share + _ROUNDING_VARIANCE
        ratio = float(sub_mid[flat, 0].mean() / predicted)
        out.append(_Subspace(BLUR_CANDIDATES[j], profile, per_pixel, usable, dofs[j], stat[:, j], block_weights[:, j],
                             floor, white_share, ratio))
    return out


def _accepted(subs: list[_Subspace]) -> list[_Subspace]:
    """White noise, and the low-passed candidates whose noise, in their flattest blocks, predicts
    what the white statistic (weakest bands, mostly high frequencies) finds there; best floor first."""
    white = subs[0]
    ok = [white]
    for sub in subs[1:]:
        ratio = sub.white_ratio
        # below: the high bands hold less than the low-passed noise itself would put there;
        # above: more than it allows, so the noise is whiter than this width
        if BLUR_RATIO_RANGE[0] <= ratio <= BLUR_RATIO_RANGE[1] and sub.floor > max(white.floor, BLUR_MIN_FLOOR):
            ok.append(sub)
    return sorted(ok, key=lambda s: -s.floor)


def _per_bin_quantile(x: np.ndarray, bins: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The ``p[k]`` quantile of ``x`` within each bin ``k`` (nan for empty bins)."""
    counts = np.bincount(bins, minlength=LEVEL_BINS)
    order = np.argsort(bins * (2.0 * x.max() + 1.0) + x)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    idx = starts + np.minimum((p * counts).astype(int), np.maximum(counts - 1, 0))
    out = np.full(LEVEL_BINS, np.nan)
    has = counts > 0
    out[has] = x[order[idx[has]]]
    return out


def _bin_levels(x, bins, start, dof):
    """Fixed point of the truncated mean in each bin: level, flat-block count, flat-block mask."""
    _, t, kept_mean = _chi2_constants(dof)
    level = start
    for _ in range(8):
        flat = x <= t * level[bins]
        cnt = np.bincount(bins, weights=flat, minlength=LEVEL_BINS)
        tot = np.bincount(bins, weights=np.where(flat, x, 0.0), minlength=LEVEL_BINS)
        new = np.where(cnt > 0, tot / np.maximum(cnt, 1.0) / kept_mean, level)
        change = float(np.max(np.abs(new - level) / (level + 1e-9), initial=0.0, where=cnt > 0))
        level = new
        if change < 2e-3:
            break
    flat = x <= t * level[bins]
    return level, np.bincount(bins, weights=flat, minlength=LEVEL_BINS) / FLAT_TAIL, flat


def _nonneg_line(x, y, w) -> tuple[float, float]:
    """Weighted least squares ``y = a x + b`` with ``a, b >= 0``."""
    sw, sx, sy = w.sum(), w @ x, w @ y
    sxx, sxy = w @ (x * x), w @ (x * y)
    det = sw * sxx - sx * sx
    if len(x) >= 2 and det > 1e-9 * sw * sxx:
        a = (sw * sxy - sx * sy) / det
        b = (sy - a * sx) / sw
        if a >= 0 and b >= 0:
            return float(a), float(b)
        if b < 0 < sxx:
            return max(float(sxy / sxx), 0.0), 0.0
    return 0.0, float(max(sy / sw, 0.0))


def _fit_line(intensity, var, count, dof):
    """``var = a * intensity + b`` through the bins, weighted by the inverse variance of each
    bin's estimate; bins far above the line are weighted down (texture only adds). Returns a, b
    and each bin's standardised residual."""
    eps = 1e-4
    rel_se = np.sqrt(2.0 / (dof * count)) + 0.02
    w = count / np.maximum(var, eps) ** 2
    a = b = 0.0
    resid = np.zeros_like(var)
    for _ in range(4):
        a, b = _nonneg_line(intensity, var, w)
        model = np.maximum(a * intensity + b, eps)
        resid = (var - model) / (model * rel_se + eps)
        robust = np.where(resid > TEXTURE_RESIDUAL, (TEXTURE_RESIDUAL / np.maximum(resid, 1e-9)) ** 2, 1.0)
        w = count / model**2 * robust
    return a, b, resid


@dataclass
class _Levels:
    a: float  # per-pixel variance = a * intensity + b
    b: float
    level: np.ndarray  # per bin, pre-blur variance of the flat blocks
    counts: np.ndarray  # flat blocks per bin
    flat: np.ndarray  # per block
    intensity: np.ndarray  # per block, as the statistic's noise sees it
    bin_intensity: np.ndarray
    reported: np.ndarray  # bins in the level function


def _levels(sub: _Subspace, means: np.ndarray, clipped: np.ndarray | None) -> _Levels:
    """The noise level function on one subspace: per-bin levels and the fitted line."""
    n = len(means)
    base_intensity = np.einsum("nc,nc->n", means, sub.weights)
    intensity = base_intensity
    a, b = 0.0, sub.floor
    x = sub.stat
    level = counts = flat = None
    bin_intensity = resid = np.zeros(LEVEL_BINS)
    for _ in range(3):
        ok, share, intensity = _clip_shares(means, clipped, a, b, sub.weights, base_intensity)
        if not ok.any():  # every block clipped beyond correction
            break
        bins = _bins(intensity)
        x = sub.stat if share is None else sub.stat / share
        xk = np.where(ok, x, np.inf)
        if level is None:
            bin_n = np.bincount(bins[ok], minlength=LEVEL_BINS)
            p = np.maximum(FLOOR_QUANTILE, 3.0 / np.maximum(bin_n, 1))
            start = _per_bin_quantile(x[ok], bins[ok], p) / _chi2_quantile(sub.dof, p)
        else:
            start = np.where(np.isfinite(level), level, (a * (np.arange(LEVEL_BINS) + 0.5) * 32.0 + b) / sub.per_pixel)
        start = np.nan_to_num(start, nan=b / sub.per_pixel)
        level, counts, flat = _bin_levels(xk, bins, start, sub.dof)
        used = counts >= MIN_FLAT_BLOCKS
        if not used.any():
            break
        cnt = np.maximum(np.bincount(bins, weights=flat, minlength=LEVEL_BINS), 1.0)
        bin_intensity = np.bincount(bins, weights=np.where(flat, intensity, 0.0), minlength=LEVEL_BINS) / cnt
        a_pre, b_pre, res = _fit_line(bin_intensity[used], level[used], counts[used], sub.dof)
        resid = np.full(LEVEL_BINS, np.inf)
        resid[used] = res
        a_new, b_new = a_pre * sub.per_pixel, b_pre * sub.per_pixel
        settled = abs(a_new * 128.0 + b_new - (a * 128.0 + b)) < 0.02 * (a_new * 128.0 + b_new) + 1e-3
        a, b = a_new, b_new
        if settled or (share is None and _clip_shares(means, clipped, a, b, sub.weights, base_intensity)[1] is None):
            break
    if counts is None or not (counts >= MIN_FLAT_BLOCKS).any():
        empty = np.zeros(LEVEL_BINS, bool)
        return _Levels(0.0, sub.floor, np.zeros(LEVEL_BINS), np.zeros(LEVEL_BINS), np.zeros(n, bool), intensity,
                       bin_intensity, empty)
    reported = (counts >= MIN_FLAT_BLOCKS) & (resid <= TEXTURE_RESIDUAL)
    return _Levels(a, b, level, counts, flat, intensity, bin_intensity, reported)


def _chi2_quantile(dof: int, p: np.ndarray) -> np.ndarray:
    return chdtri(dof, 1.0 - p) / dof


def _clip_shares(means, clipped, a, b, weights, intensity):
    """Blocks usable for the NLF, each block's share of the noise variance kept after clipping
    (None when no block is near enough to 0 or 255 for it to matter), and the intensity its kept
    noise sees (a channel clipped away no longer counts)."""
    n = len(means)
    # a block with more clipped pixels than flat content explains is partly clipped texture, whose
    # noise the flat model cannot correct: leave it out (far from 0 and 255 flat content explains none)
    ok = np.ones(n, bool) if clipped is None else np.all(clipped <= 1, axis=1)
    sigma_max = float(np.sqrt(max(a * 255.0 + b, 0.0)))
    if sigma_max < 1.0:
        return ok, None, intensity
    near = np.flatnonzero((means.min(axis=1) < 4.0 * sigma_max) | (means.max(axis=1) > 255.0 - 4.0 * sigma_max))
    if not len(near):
        return ok, None, intensity
    m = means[near]
    share_c, chance = _clipping_model(m, np.sqrt(np.maximum(a * m + b, 1e-6)))
    kept = share_c * weights[near]
    share = np.ones(n)
    share[near] = kept.sum(axis=1)
    intensity = intensity.copy()
    intensity[near] = np.einsum("nc,nc->n", kept, m) / np.maximum(share[near], 1e-6)
    ok_near = share[near] > 0.3
    if clipped is not None:
        expected = chance * (BLOCK * BLOCK)
        ok_near &= np.all(clipped[near] <= expected + 3.0 * np.sqrt(expected * (1.0 - chance)) + 1.0, axis=1)
    ok[near] = ok_near
    return ok, np.maximum(share, 1e-6), intensity


def _kurtosis_ratio(power, sub: _Subspace, lv: _Levels, means, half: int | None = None) -> tuple[float | None, bool]:
    """Noise variance the kurtosis fit finds, as a share of what the NLF predicts (None when the
    fit cannot be made), and whether the kurtosis is consistent with the noise model.

    The coefficients are divided by the NLF's std at each block's intensity and the band's
    share of the noise, so that noise has unit variance in every band and block; the fit of
    sqrt(excess kurtosis) against 1 / band variance then gives the noise variance directly.
    Consistent: too few blocks to tell, a fit finding a share of the noise within
    ``BLUR_KURTOSIS_RANGE``, or (no fit: noise swamps nearly every band) the bands given to noise
    have the kurtosis of Gaussian noise, or far less than the bands a natural image still
    dominates; near-Gaussian texture (grass, gravel) read as noise keeps some kurtosis, has no
    natural bands, and fails."""
    sigma_c = np.sqrt(np.maximum(lv.a * means + lv.b, 1e-6))
    margin = KURTOSIS_CLIP_MARGIN * sigma_c
    keep = np.all((means > margin) & (means < 255.0 - margin), axis=1)
    if half is not None:  # the even (0) or odd (1) blocks only
        keep[1 - half :: 2] = False
    n_keep = int(keep.sum())
    if n_keep < 300:
        return None, True
    block_var = np.maximum(lv.a * lv.intensity + lv.b, 1e-6) / sub.per_pixel
    w1 = np.where(keep, 1.0 / (block_var * n_keep), 0.0).astype(np.float32)
    ac = sub.profile > 1e-6
    ac[:: BLOCK * BLOCK] = False
    var = (w1 @ power).astype(np.float64)[ac]
    m4 = ((w1 * (w1 * n_keep)) @ (power * power)).astype(np.float64)[ac]
    ok = var > 1e-9
    root_kurt = np.sqrt(np.clip(m4[ok] / var[ok] ** 2 - 3.0, 0.0, None))
    inv_var = sub.profile[ac][ok] / var[ok]  # 1 / (band variance in units of its noise)
    image = inv_var < 0.5  # bands the image dominates
    if np.count_nonzero(image) >= 4:
        design = np.stack([np.ones_like(inv_var), inv_var], axis=1)
        (intercept, slope), *_ = np.linalg.lstsq(design, root_kurt, rcond=None)
        if intercept > 0:
            ratio = float(max(-slope / intercept, 0.0))
            return ratio, BLUR_KURTOSIS_RANGE[0] <= ratio <= BLUR_KURTOSIS_RANGE[1]
    # no fit: the bands the model gives to noise must look Gaussian, or at least far less
    # kurtotic than the bands a natural image still dominates
    if image.all():
        return None, True
    noise_kurt = float(np.median(root_kurt[~image]))
    image_kurt = float(np.median(root_kurt[image])) if image.any() else 0.0
    natural = image_kurt >= NATURAL_ROOT_KURTOSIS and noise_kurt <= 0.5 * image_kurt
    return None, bool(noise_kurt <= GAUSSIAN_ROOT_KURTOSIS or natural)


def estimate_noise(
    img: np.ndarray, jpeg_compressed: bool = False, chroma_table: np.ndarray | None = None
) -> NoiseEstimate:
    """Estimate the noise level function and RMS noise std of ``img`` (H x W x C, float, 0-255).

    ``jpeg_compressed``: the image went through JPEG. Quantization empties the high bands of
    texture as a low-pass does, so only white noise is then measured (the caller reads the noise
    under JPEG from the quantized bands, ``jpeg_noise``); chroma emptied by subsampling or
    quantization is left out whatever the luma reads. ``chroma_table``: that JPEG's 64 chroma
    steps (natural order), when known; only with them can a JPEG's empty chroma show noise shared
    by the channels (``NoiseEstimate.shared``), since coarse chroma steps empty independent
    channel noise's chroma too.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.noise import estimate_noise
        >>> rng = np.random.default_rng(0)
        >>> ramp = np.tile(np.linspace(40, 200, 256), (256, 1))[..., None]
        >>> round(estimate_noise(ramp + rng.normal(0, 10, ramp.shape)).sigma)
        10
        >>> shot = ramp + rng.normal(0, 1, ramp.shape) * np.sqrt(0.5 * ramp)  # variance 0.5 * I
        >>> est = estimate_noise(shot)
        >>> round(est.shot, 1), [round(s) for _, s in est.level_function[::2]]
        (0.5, [5, 7, 9])
    """
    channels = img.shape[2]
    if min(img.shape[:2]) < 2 * BLOCK:
        return _EMPTY
    img_blocks = to_blocks(img)
    if len(img_blocks) > MAX_BLOCKS:  # an even subsample: the statistics need a few thousand blocks
        img_blocks = img_blocks[np.linspace(0, len(img_blocks) - 1, MAX_BLOCKS).astype(int)]
    n = len(img_blocks)
    pixels = img_blocks.reshape(n, channels, BLOCK * BLOCK)
    coef, means = _opponent_dct(pixels)
    clipped = _clipped_counts(pixels)
    transform = opponent_colour() if channels == 3 else np.eye(channels, dtype=np.float32)
    power = coef * coef

    mid = np.all((means > 20) & (means < 235), axis=1)
    if clipped is not None:
        mid &= clipped.sum(axis=1) == 0
    if mid.sum() < 50:
        mid = np.ones(n, bool)
    on_luma = None
    chosen = power[mid]
    if channels == 3 and _chroma_is_empty(chosen):
        on_luma = estimate_noise(luminance(img)[..., None], jpeg_compressed)
        no_colour = _chroma_low_share(chosen) < SHARED_NOISE_CHROMA
        no_colour = no_colour and _colour_share(chosen) < SHARED_NOISE_COLOUR
        if no_colour and (not jpeg_compressed or _chroma_would_show(chroma_table, on_luma.sigma)):
            # no chroma at any frequency: a toned monochrome photo, whose noise (film grain, a
            # gray sensor's) the three channels share; it is measured as its gray version is,
            # unless a JPEG's chroma steps would have emptied independent channel noise as well
            return replace(on_luma, shared=True)
        on_luma = _as_independent_channel_noise(on_luma)
        if jpeg_compressed or (on_luma.sigma >= LUMA_ONLY_SIGMA and on_luma.confidence >= 0.5):
            return on_luma
    subs = _subspaces(power, channels, mid, transform)
    mean_intensity = float(means.mean())

    def measure(sub: _Subspace):
        lv = _levels(sub, means, clipped)
        floor_sigma = float(np.sqrt(max(lv.a * mean_intensity + lv.b, 0.0)))
        kurt, consistent = None, True
        if floor_sigma >= 0.5 and (sub.width > 0 or floor_sigma < KURTOSIS_MAX_FLOOR):
            kurt, consistent = _kurtosis_ratio(power, sub, lv, means)
        return lv, floor_sigma, kurt, consistent

    refuted, partial = [], False
    # on a JPEG only white noise is tried: quantization empties texture's high bands as a low-pass
    # does, and dense texture then passes for low-passed noise (grass at quality 80-85 read 27)
    for sub in [subs[0]] if jpeg_compressed else _accepted(subs):
        lv, floor_sigma, kurt, consistent = measure(sub)
        # a low-passed noise model must not be refuted by the kurtosis: texture as Gaussian as
        # grass or gravel fits it too, and is no noise
        if sub.width == 0 or floor_sigma < 0.5 or consistent:
            break
        refuted.append((sub, lv, floor_sigma, kurt))
        if len(refuted) == 2:
            sub = subs[0]
            lv, floor_sigma, kurt, consistent = measure(sub)
            break

    scale = _kurtosis_scale(kurt) if kurt is not None and floor_sigma < KURTOSIS_MAX_FLOOR else 1.0
    sigma = float(np.sqrt(max((lv.a * mean_intensity + lv.b) * scale, 0.0)))
    # a low-passed model refuted only because its kurtosis fit confirms part of its floor (dense
    # texture over blurred noise: the floor holds both) still measures that part; keep the largest
    # such confirmed level when white noise confirms less (clean grass confirms none)
    for r_sub, r_lv, r_floor, r_kurt in refuted:
        if r_kurt is not None and KURTOSIS_PARTIAL <= r_kurt < BLUR_KURTOSIS_RANGE[0]:
            confirmed = float(np.sqrt(max((r_lv.a * mean_intensity + r_lv.b) * r_kurt, 0.0)))
            if confirmed > sigma:
                sub, lv, floor_sigma, kurt, scale, sigma = r_sub, r_lv, r_floor, r_kurt, r_kurt, confirmed
                partial = True
    a, b = lv.a * scale, lv.b * scale
    kurt_sigma = None if kurt is None else float(np.sqrt(kurt) * floor_sigma)

    # the level function, per input channel, at the blocks' plain mean intensity
    levels: list[tuple[float, float]] = []
    if lv.reported.any():
        plain = means.mean(axis=1)
        cnt = np.maximum(np.bincount(_bins(lv.intensity), weights=lv.flat, minlength=LEVEL_BINS), 1.0)
        plain_bin = np.bincount(_bins(lv.intensity), weights=plain * lv.flat, minlength=LEVEL_BINS) / cnt
        var_bin = (lv.level * sub.per_pixel + lv.a * (plain_bin - lv.bin_intensity)) * scale
        for k in np.flatnonzero(lv.reported):
            levels.append((round(float(plain_bin[k]), 2), round(float(np.sqrt(max(var_bin[k], 0.0))), 3)))
        levels.sort()

    return NoiseEstimate(
        sigma=sigma,
        floor_sigma=floor_sigma,
        kurtosis_sigma=kurt_sigma,
        level_function=tuple(levels),
        shot=float(a),
        read=float(b),
        confidence=_confidence(sub, lv, power, floor_sigma, sigma,
                               _split_agreement(power, sub, lv, means) if partial else None,
                               on_luma),
        noise_blur=float(sub.width),
    )


def _chroma_is_empty(power: np.ndarray) -> bool:
    """Whether the chroma channels' upper bands hold almost none of the power luma's hold there
    (median over the blocks ``power``, (N, 3 * 64), rows of opponent-colour DCT powers)."""
    per_channel = power.reshape(len(power), 3, BLOCK * BLOCK)[:, :, _BAND >= CHROMA_HIGH_BAND].mean(axis=2)
    luma = float(np.median(per_channel[:, 0]))
    chroma = float(np.median(per_channel[:, 1:].mean(axis=1)))
    return luma > 0.0 and chroma < CHROMA_EMPTY * luma


def _chroma_low_share(power: np.ndarray) -> float:
    """The chroma's power in its low AC bands (``1 <= max(u, v) < CHROMA_HIGH_BAND - 1``) over
    luma's in its upper bands, medians over the 20 % of blocks flattest in luma's upper bands.

    Chroma subsampled after i.i.d. noise keeps that noise at half resolution, in its low bands
    (0.23-1 on photos); noise the channels share leaves the chroma empty there too (<= 0.03)."""
    per = power.reshape(len(power), 3, BLOCK * BLOCK)
    luma_high = per[:, 0, _BAND >= CHROMA_HIGH_BAND].mean(axis=1)
    chroma_low = per[:, 1:, _CHROMA_LOW_BANDS].mean(axis=(1, 2))
    flat = luma_high <= np.quantile(luma_high, 0.2)
    luma = float(np.median(luma_high[flat]))
    return float(np.median(chroma_low[flat])) / luma if luma > 0.0 else np.inf


def _colour_share(power: np.ndarray) -> float:
    """The chroma channels' AC power over luma's, summed over the blocks and bands."""
    per = power.reshape(len(power), 3, BLOCK * BLOCK)[:, :, 1:]
    luma = float(per[:, 0].sum())
    return float(per[:, 1:].sum()) / luma if luma > 0.0 else np.inf


def _chroma_would_show(chroma_table: np.ndarray | None, luma_sigma: float) -> bool:
    """Whether independent RGB noise that reads ``luma_sigma`` on luma would leave its chroma
    through a JPEG's ``chroma_table``: its subsampled Cb coefficients' std reaching half the
    median step of the bands ``_chroma_low_share`` reads (then a third of them or more stay
    nonzero). Unknown steps: it cannot be told."""
    if chroma_table is None:
        return False
    step = float(np.median(np.asarray(chroma_table, dtype=float).reshape(BLOCK * BLOCK)[_CHROMA_LOW_BANDS]))
    return CHROMA_NOISE_GAIN * luma_sigma / np.sqrt(_LUMA_NOISE_GAIN) >= 0.5 * step


def _as_independent_channel_noise(est: NoiseEstimate) -> NoiseEstimate:
    """An estimate made on BT.601 luma (JPEG's full-resolution plane) as the per-RGB-channel noise
    of i.i.d. channel noise (luma holds ``_LUMA_NOISE_GAIN`` of its variance)."""
    std = float(np.sqrt(_LUMA_NOISE_GAIN))
    return NoiseEstimate(
        sigma=est.sigma / std,
        floor_sigma=est.floor_sigma / std,
        kurtosis_sigma=None if est.kurtosis_sigma is None else est.kurtosis_sigma / std,
        level_function=tuple((i, round(s / std, 3)) for i, s in est.level_function),
        shot=est.shot / _LUMA_NOISE_GAIN,
        read=est.read / _LUMA_NOISE_GAIN,
        confidence=est.confidence,
        noise_blur=est.noise_blur,
    )


def _kurtosis_scale(kurt: float) -> float:
    """Factor on the floor's NLF from the kurtosis fit's share of it: taken as is when low (a
    texture floor), ignored near 1, where the two agree within the fit's own error."""
    lo, hi = KURTOSIS_TRUST
    if kurt <= lo:
        return kurt
    return float(min(kurt + (1.0 - kurt) * min((kurt - lo) / (hi - lo), 1.0), 1.0))


def _bins(intensity: np.ndarray) -> np.ndarray:
    return np.clip((intensity * (LEVEL_BINS / 256.0)).astype(np.intp), 0, LEVEL_BINS - 1)


def _split_agreement(power, sub: _Subspace, lv: _Levels, means) -> float | None:
    """Agreement (0-1) of the kurtosis fit's share on the even and the odd blocks: how well the
    fit reproduces on independent halves of the image (None when a half cannot be fitted)."""
    shares = [_kurtosis_ratio(power, sub, lv, means, half)[0] for half in (0, 1)]
    if any(s is None for s in shares) or sum(shares) <= 0:
        return None
    return float(max(1.0 - abs(shares[0] - shares[1]) / (shares[0] + shares[1]), 0.0))


def _confidence(sub: _Subspace, lv: _Levels, power: np.ndarray, floor_sigma: float, sigma: float,
                split: float | None = None, on_luma: NoiseEstimate | None = None) -> float:
    """0-1: whether the blocks the NLF rests on look like noise alone, and agree with the kurtosis.

    A block looks like noise alone when its whitened power is as high in its upper usable bands as
    in its lower ones (F test at 1 %, plus a little for faint gradients): natural texture falls
    with frequency, so textured blocks fail, and in a photo without any flat area (foliage,
    gravel) nearly all of the NLF's flat blocks do. Evidence = (count of flat blocks passing) x
    (their share of the flat blocks) x (agreement of the kurtosis fit with the floor or, where the
    level is the fit's share of a refuted low-passed floor, with itself on the even and the odd
    blocks, ``split``, whichever is higher). A floor
    that is low whatever it holds (below ``CONFIDENT_SIGMA``) is trusted as such. Where the chroma
    was emptied (``on_luma``: what luma alone reads), the chroma channels could not show noise:
    the reading is no surer than luma's own, and a level below luma's lowers it as the kurtosis
    gap does."""
    small = max(1.0 - floor_sigma / CONFIDENT_SIGMA, 0.0)
    # cameras blur their noise a little (0.5 px and less is read as white): judge blocks against
    # the mildest blurred-noise profile, so such noise still counts as noise alone
    width = max(sub.width, BLUR_CANDIDATES[1])
    w_lo, w_hi = _confidence_bands(width, len(sub.profile) // (BLOCK * BLOCK))
    n_flat = int(np.count_nonzero(lv.flat))
    if w_lo is None or n_flat == 0:
        return float(small)
    limit = _f_limit(width, len(sub.profile) // (BLOCK * BLOCK))
    pure = lv.flat & ((power @ w_lo) <= limit * (power @ w_hi) + PURE_SLACK)
    n_pure = int(np.count_nonzero(pure))
    c_count = 1.0 - np.exp(-n_pure / CONFIDENCE_BLOCKS)
    c_share = min(max((n_pure / n_flat - PURE_SHARE[0]) / (PURE_SHARE[1] - PURE_SHARE[0]), 0.0), 1.0)
    c_kurt = 1.0 - max(floor_sigma - sigma, 0.0) / (floor_sigma + 2.0)
    if split is not None:  # the level is the kurtosis fit's share of the floor: the fit may vouch for itself
        c_kurt = max(c_kurt, split)
    if on_luma is not None:
        gap = 1.0 - max(on_luma.sigma - sigma, 0.0) / (on_luma.sigma + 2.0)
        return float(np.clip(min(max(c_count * c_share * c_kurt, small), gap, on_luma.confidence), 0.0, 1.0))
    return float(np.clip(max(c_count * c_share * c_kurt, small), 0.0, 1.0))


@lru_cache(maxsize=16)
def _confidence_bands(width: float, channels: int):
    """Band weights (mean whitened power) of the lower and upper halves, by frequency, of the
    usable bands above the gradient bands (u + v >= 3)."""
    j = BLUR_CANDIDATES.index(width)
    profile, usable, _ = _candidate_profiles(channels)[j]
    u, v = np.divmod(np.arange(channels * BLOCK * BLOCK) % (BLOCK * BLOCK), BLOCK)
    radius = np.hypot(u, v)
    test = usable & (u + v >= 3)
    if test.sum() < 8:
        return None, None
    split = np.median(radius[test])
    lo, hi = test & (radius <= split), test & (radius > split)
    w_lo = np.where(lo, 1.0 / (profile * lo.sum()), 0.0).astype(np.float32)
    w_hi = np.where(hi, 1.0 / (profile * hi.sum()), 0.0).astype(np.float32)
    return w_lo, w_hi


@lru_cache(maxsize=16)
def _f_limit(width: float, channels: int) -> float:
    """99 % quantile of the ratio of the two band groups' mean powers under noise alone."""
    w_lo, w_hi = _confidence_bands(width, channels)
    return float(fdtri(int(np.count_nonzero(w_lo)), int(np.count_nonzero(w_hi)), 0.99))
