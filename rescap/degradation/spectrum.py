"""Radially averaged power spectrum of a gray image (Welch's method over Hann-windowed tiles)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as scipy_fft

TILE = 64
# A tile is textured when its std, beyond the noise and after removing its mean and plane, is at
# least this many 8-bit levels; fog, sky and gradients have few such tiles.
TEXTURE_STD = 4.0


@dataclass(frozen=True)
class RadialSpectrum:
    freq: np.ndarray  # bin centres, cycles/pixel
    power: np.ndarray  # per-pixel variance density: white noise of variance v gives v in every bin
    counts: np.ndarray  # FFT coefficients averaged into each bin (per tile)
    # per tile: variance left after removing its mean and a plane (its texture and noise, not its
    # shading), so a caller can tell a textured photo from fog, sky or a gradient
    tile_variance: np.ndarray | None = None

    def textured_share(self, noise_variance: float, min_std: float = TEXTURE_STD) -> float:
        """Share of tiles whose texture, beyond ``noise_variance``, has a std of at least ``min_std``."""
        if self.tile_variance is None or len(self.tile_variance) == 0:
            return 0.0
        return float(np.mean(self.tile_variance - noise_variance >= min_std * min_std))

    def texture_support(self, noise_variance: float, shares: tuple[float, float]) -> float:
        """How much texture there is to measure from, in [0, 1]: the textured share mapped linearly
        from ``shares[0]`` (0) to ``shares[1]`` (1)."""
        lo, hi = shares
        return float(np.clip((self.textured_share(noise_variance) - lo) / (hi - lo), 0.0, 1.0))


@lru_cache(maxsize=2)
def _window(tile: int) -> tuple[np.ndarray, float]:
    w = np.hanning(tile + 2)[1:-1]
    w2 = np.outer(w, w).astype(np.float32)
    return w2, float((w2.astype(np.float64) ** 2).sum())


@lru_cache(maxsize=2)
def _plane(tile: int) -> np.ndarray:
    """Orthonormal (tile*tile, 2) basis of the zero-mean ramps along y and x."""
    ramp = np.arange(tile, dtype=np.float64) - (tile - 1) / 2.0
    yy = np.repeat(ramp, tile)
    xx = np.tile(ramp, tile)
    basis = np.stack([yy / np.linalg.norm(yy), xx / np.linalg.norm(xx)], axis=1)
    return basis.astype(np.float32)


@lru_cache(maxsize=2)
def _bins(tile: int, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(tile)[:, None]
    fx = np.fft.rfftfreq(tile)[None, :]
    radius = np.sqrt(fy * fy + fx * fx).ravel()
    edges = np.linspace(1.5 / tile, 0.5, n_bins + 1)
    index = np.digitize(radius, edges) - 1
    index[(index < 0) | (index >= n_bins)] = n_bins  # overflow bin, dropped
    centres = 0.5 * (edges[1:] + edges[:-1])
    counts = np.bincount(index, minlength=n_bins + 1)[:n_bins]
    return index, centres, counts


def radial_power_spectrum(gray: np.ndarray, tile: int = TILE, n_bins: int = 48) -> RadialSpectrum | None:
    """Average periodogram of non-overlapping ``tile`` x ``tile`` tiles, binned by radial frequency.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.spectrum import radial_power_spectrum
        >>> white = np.random.default_rng(0).normal(0, 10, (256, 256))
        >>> spec = radial_power_spectrum(white)
        >>> bool(abs(spec.power.mean() - 100) < 10)
        True
    """
    h, w = gray.shape
    ny, nx = h // tile, w // tile
    if ny * nx == 0:
        return None
    tiles = np.asarray(gray[: ny * tile, : nx * tile], dtype=np.float32)
    tiles = tiles.reshape(ny, tile, nx, tile).transpose(0, 2, 1, 3).reshape(-1, tile, tile)
    tiles = tiles - tiles.mean(axis=(1, 2), keepdims=True)
    flat = tiles.reshape(len(tiles), -1)
    plane = _plane(tile)
    shading = flat @ plane  # (n, 2): the ramp coefficients
    tile_variance = (np.einsum("ij,ij->i", flat, flat) - np.einsum("ij,ij->i", shading, shading)) / (tile * tile)
    window, energy = _window(tile)
    f = scipy_fft.rfft2(tiles * window, workers=1)  # float32 throughout: ~7x numpy's float64 FFT
    periodogram = (f.real**2 + f.imag**2).mean(axis=0).ravel() / energy
    index, centres, counts = _bins(tile, n_bins)
    sums = np.bincount(index, weights=periodogram, minlength=n_bins + 1)[:n_bins]
    return RadialSpectrum(centres, sums / np.maximum(counts, 1), counts, np.maximum(tile_variance, 0.0))
