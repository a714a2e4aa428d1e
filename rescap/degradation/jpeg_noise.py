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
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from .pooling import block_extrema
from .transforms import BLOCK, block_dct, luminance, to_blocks

_ROW, _COL = np.divmod(np.arange(64), 8)
# zigzag order of the 64 natural-order indices
ZIGZAG = np.array(sorted(range(64), key=lambda i: (_ROW[i] + _COL[i], _ROW[i] if (_ROW[i] + _COL[i]) % 2 else _COL[i])))
SELECTION_BANDS = ZIGZAG[1:6]
ESTIMATION_BANDS = ZIGZAG[6:]
FLAT_SHARE = 0.1
BAND_QUANTILE = 50  # median of the per-band estimates
TEXTURE_SLOPE = -0.3
_LUMA_NOISE_GAIN = 0.299**2 + 0.587**2 + 0.114**2


def estimate_noise_under_jpeg(
    img: np.ndarray, luma_table: np.ndarray, grid: tuple[int, int], luma: np.ndarray | None = None
) -> float | None:
    """Std (0-255, per RGB channel) of the noise before JPEG compression, or None when none is seen.

    ``img`` is H x W x C (0-255), ``luma_table`` the 64 luma steps in natural order, ``grid`` the
    (row, column) offset of the 8x8 block grid; ``luma``, ``transforms.luminance(img)`` when the
    caller has it.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.jpeg import ijg_tables
        >>> from rescap.degradation.jpeg_noise import estimate_noise_under_jpeg
        >>> from rescap.degradation.synthesize import add_gaussian_noise, jpeg_compress
        >>> flat = np.full((256, 256), 120, np.uint8)
        >>> noisy = jpeg_compress(add_gaussian_noise(flat, 20, seed=0), 70).astype(np.float32)[..., None]
        >>> round(estimate_noise_under_jpeg(noisy, ijg_tables()[0][69], (0, 0)))
        20
    """
    table = np.asarray(luma_table, dtype=np.float32).reshape(64)
    y = (luminance(img) if luma is None else luma)[..., None] - 128.0
    blocks = to_blocks(y, grid)[:, 0]
    lo, hi = block_extrema(img[grid[0] :, grid[1] :], BLOCK)  # the same blocks, in the same order
    blocks = blocks[((lo > 0) & (hi < 255)).ravel()]
    if len(blocks) < 40:
        return None
    coef = block_dct(blocks).reshape(len(blocks), 64)
    flatness = (coef[:, SELECTION_BANDS] ** 2).sum(axis=1)
    flat = coef[flatness <= np.quantile(flatness, FLAT_SHARE)]
    steps = table[ESTIMATION_BANDS]
    zero_share = (np.rint(flat[:, ESTIMATION_BANDS] / steps) == 0).mean(axis=0)
    informative = (steps >= 2) & (zero_share >= 0.1) & (zero_share <= 0.9)
    if informative.sum() < 3:
        return None
    sigmas = steps[informative] / (2.0 * ndtri((1.0 + zero_share[informative]) / 2.0))
    radius = np.hypot(_ROW[ESTIMATION_BANDS], _COL[ESTIMATION_BANDS])[informative]
    if informative.sum() >= 4 and np.polyfit(np.log(radius), np.log(sigmas), 1)[0] < TEXTURE_SLOPE:
        return None
    gain = _LUMA_NOISE_GAIN if img.shape[2] == 3 else 1.0
    return float(np.percentile(sigmas, BAND_QUANTILE) / np.sqrt(gain))
