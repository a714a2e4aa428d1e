"""Small shared transforms: 8x8 blocks, the orthonormal DCT-II, colour transforms."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

BLOCK = 8
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # BT.601, as JPEG/JFIF computes luma


@lru_cache(maxsize=4)
def dct_matrix(n: int = BLOCK) -> np.ndarray:
    """Orthonormal DCT-II matrix ``D`` (``D @ x`` transforms a column; JPEG's FDCT for n = 8)."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d.astype(np.float32)


def to_blocks(img: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """(H, W, C) -> (N, C, 8, 8) non-overlapping blocks starting at ``offset`` (ragged edges dropped)."""
    oy, ox = offset
    x = np.asarray(img[oy:, ox:], dtype=np.float32)
    h, w, c = x.shape
    h, w = h // BLOCK * BLOCK, w // BLOCK * BLOCK
    x = x[:h, :w]
    return x.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK, c).transpose(0, 2, 4, 1, 3).reshape(-1, c, BLOCK, BLOCK)


def block_dct(blocks: np.ndarray) -> np.ndarray:
    """2-D orthonormal DCT of every 8x8 block in ``(..., 8, 8)``."""
    d = dct_matrix(blocks.shape[-1])
    return d @ blocks @ d.T


@lru_cache(maxsize=1)
def opponent_colour() -> np.ndarray:
    """Orthonormal RGB -> (luminance, red-blue, green-magenta): keeps i.i.d. noise i.i.d."""
    t = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], dtype=np.float32)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def luminance(img: np.ndarray) -> np.ndarray:
    """JPEG/JFIF luma (BT.601) of an (H, W, C) array as (H, W) float32; gray passes through."""
    if img.shape[2] == 1:
        return np.asarray(img[..., 0], dtype=np.float32)
    r, g, b = (np.asarray(img[..., i], dtype=np.float32) for i in range(3))
    wr, wg, wb = LUMA_WEIGHTS
    return wr * r + wg * g + wb * b


def luma_noise_gain(channels: int, shared: bool = False) -> float:
    """The share of per-channel noise variance that ``luminance`` keeps: the sum of the squared
    weights for independent RGB noise, 1 for gray or for noise the channels share.

    Example:
        >>> from rescap.degradation.transforms import luma_noise_gain
        >>> round(luma_noise_gain(3), 3), luma_noise_gain(3, shared=True), luma_noise_gain(1)
        (0.447, 1.0, 1.0)
    """
    if channels == 1 or shared:
        return 1.0
    return float(sum(w * w for w in LUMA_WEIGHTS))
