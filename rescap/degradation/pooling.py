"""Fast block extrema, clip counts and brightness histograms shared by the estimators (exposure, haze,
colour cast, noise under JPEG).

(The re-quantisation traces read from those histograms, combs and piles, are in ``histogram_traces``.)

Reductions over a short last axis (the colour channels, or an 8-pixel block row) are slow in numpy;
these helpers reduce over long contiguous axes first and combine the few remaining slices with
``np.minimum`` / ``np.maximum``, so a 384x384 RGB image is pooled in a fraction of a millisecond.
"""

from __future__ import annotations

import numpy as np

# Images with a side shorter than this are too small to say anything about: estimators return
# neutral values with confidence 0.
MIN_SIDE = 16


def channel_extrema(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel min and max over the channels of an (H, W, C) array, each (H, W).

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.pooling import channel_extrema
        >>> lo, hi = channel_extrema(np.array([[[10, 200, 30]]], np.uint8))
        >>> int(lo[0, 0]), int(hi[0, 0])
        (10, 200)
    """
    lo = pixels[..., 0]
    hi = lo
    for c in range(1, pixels.shape[2]):
        lo = np.minimum(lo, pixels[..., c])
        hi = np.maximum(hi, pixels[..., c])
    return lo, hi


def block_extrema(pixels: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max over channels and non-overlapping ``block`` x ``block`` tiles, each (H/b, W/b).

    Ragged edges are dropped. Example:
        >>> import numpy as np
        >>> from rescap.degradation.pooling import block_extrema
        >>> img = np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3)
        >>> lo, hi = block_extrema(img, 8)
        >>> lo.shape, float(lo[0, 0]), float(hi[0, 0])
        ((4, 4), 0.0, 695.0)
    """
    h, w, c = pixels.shape
    nh, nw = h // block, w // block
    rows = pixels[: nh * block, : nw * block].reshape(nh, block, nw * block * c)
    lo = rows.min(axis=1).reshape(nh, nw * block, c)  # long contiguous reduction over block rows
    hi = rows.max(axis=1).reshape(nh, nw * block, c)
    lo, hi = channel_extrema(lo)[0], channel_extrema(hi)[1]
    lo = lo.reshape(nh, nw, block)
    hi = hi.reshape(nh, nw, block)
    out_lo, out_hi = lo[..., 0], hi[..., 0]
    for i in range(1, block):  # a loop over the block's columns, not over pixels
        out_lo = np.minimum(out_lo, lo[..., i])
        out_hi = np.maximum(out_hi, hi[..., i])
    return out_lo, out_hi


def clipped_per_block(pixels: np.ndarray, block: int) -> np.ndarray:
    """How many values (over the channels) of each non-overlapping ``block`` x ``block`` tile are
    at 0 or 255 or beyond, (H/b, W/b); ragged edges are dropped, tiles in ``to_blocks`` order.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.pooling import clipped_per_block
        >>> img = np.full((16, 8, 3), 128.0)
        >>> img[9, 2] = 255
        >>> clipped_per_block(img, 8).tolist()
        [[0], [3]]
    """
    h, w = pixels.shape[0] // block * block, pixels.shape[1] // block * block
    crop = pixels[:h, :w]
    clipped = ((crop <= 0) | (crop >= 255)).sum(axis=2)
    return clipped.reshape(h // block, block, w // block, block).sum(axis=(1, 3))


def histogram_u8(values: np.ndarray) -> np.ndarray:
    """256-bin histogram of values on 0-255 (each value floored to its integer level).

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.pooling import histogram_u8
        >>> hist = histogram_u8(np.array([0.0, 1.5, 1.9, 255.0]))
        >>> int(hist[0]), int(hist[1]), int(hist[255]), int(hist.sum())
        (1, 2, 1, 4)
    """
    return np.bincount(values.astype(np.uint8, copy=False).ravel(), minlength=256)


def quantile_from_histogram(hist: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """Levels at quantiles ``q`` of a 256-bin histogram, linearly interpolated within a level.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.pooling import quantile_from_histogram
        >>> hist = np.bincount(np.arange(100, 200), minlength=256)
        >>> [round(float(x), 1) for x in quantile_from_histogram(hist, [0.0, 0.5, 1.0])]
        [99.5, 149.5, 199.5]
    """
    used = np.nonzero(hist)[0]
    q = np.asarray(q, dtype=np.float64)
    if used.size == 0:
        return np.zeros_like(q)
    below = np.cumsum(hist[used], dtype=np.float64) - hist[used]  # mass below each used level
    below /= float(hist[used].sum())
    # the mass of used level k spreads over [k - 0.5, k + 0.5] (over the gap above it, if any)
    xp = np.concatenate([below, [1.0]])
    fp = np.concatenate([used - 0.5, [used[-1] + 0.5]])
    return np.interp(q, xp, fp).clip(0.0, 255.0)
