"""Upsampling factor: how much an image was enlarged from a lower resolution.

Interpolation leaves a periodic trace: output pixels sit at a repeating set of phases between the
source samples, so the mean size of neighbour differences along a row (or column) repeats with
period ``s`` pixels. Averaging ``|first difference|`` and ``|second difference|`` over all rows gives a
profile whose spectrum has a sharp line at frequency ``1/s`` (folded into [0, 0.5]) that natural
content, blur and noise do not make. Differences of order 1, 2 and 3 are all used: with centred
pixel grids the two phases of 2x upsampling are mirror images, which even-order (symmetric)
differences cannot tell apart, and the third difference sees OpenCV's sharper cubic kernel
best. The line must appear along both axes. A folded line at ``f`` means ``s = 1/f`` or ``s = 1/(1-f)``; the true one is where
the power spectrum of the image falls off (content above ``0.5/s`` was never there).

JPEG's 8x8 grid makes lines at multiples of 1/8 of its own; when the image is known to be JPEG
compressed those frequencies are ignored, so 2x, 4x and 8x upsampling are then not detectable
from this trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as scipy_fft
from scipy.ndimage import maximum_filter1d, median_filter

from .spectrum import RadialSpectrum, radial_power_spectrum

# Line strength (peak over local median of the profile spectrum) needed on both axes.
LINE_THRESHOLD = 4.5
MIN_FREQ = 0.08  # lines below this (factors above ~12) are not looked for
GRID_STEP = 0.002
JPEG_GRID_TOLERANCE = 0.02
MIN_PROFILE = 48


@dataclass(frozen=True)
class ScaleEstimate:
    factor: float  # 1.0 = native resolution
    line_strength: float  # of the interpolation line found (0 when none was looked for)
    confidence: float = 0.0  # in the factor, [0, 1]


# Confidence: a line at LINE_THRESHOLD gives 0.5 and one twice as strong 1. "No upsampling" is as
# sure as the strongest line is weak, and as the image has texture for the trace to show in
# (``RadialSpectrum.texture_support`` between these shares of textured tiles).
TEXTURED_SHARE = (0.2, 0.5)


def _confidence(factor: float, strength: float, spectrum: RadialSpectrum | None, noise_variance: float) -> float:
    if factor > 1.0:
        return round(float(np.clip(strength / (2 * LINE_THRESHOLD), 0.0, 1.0)), 3)
    absent = 1.0 - strength / (2 * LINE_THRESHOLD)
    texture = spectrum.texture_support(noise_variance, TEXTURED_SHARE) if spectrum is not None else 0.0
    return round(float(np.clip(min(absent, texture), 0.0, 1.0)), 3)


LINE_STRIDE = 2


def _line_strength(gray: np.ndarray, axis: int, grid: np.ndarray) -> np.ndarray | None:
    """Strength of a spectral line at each grid frequency, along one axis."""
    if gray.shape[axis] - 3 < MIN_PROFILE:
        return None
    best = None
    # every other line is enough for the mean step profile and halves the work
    lines = gray[:, ::LINE_STRIDE] if axis == 0 else gray[::LINE_STRIDE]
    difference = np.diff(lines, axis=axis)
    for order in (1, 2, 3):
        if order > 1:
            difference = np.diff(difference, axis=axis)  # each order from the last: one pass per order
        profile = np.abs(difference).mean(axis=1 - axis)
        profile = (profile - profile.mean()) * np.hanning(len(profile))
        spec = np.abs(scipy_fft.rfft(profile, workers=1))
        freq = np.fft.rfftfreq(len(profile))
        # local background: median over a window of ~0.1 cycles/pixel
        width = max(5, int(0.1 * len(profile)) | 1)
        background = median_filter(spec, size=width, mode="mirror")
        ratio = maximum_filter1d(spec / (background + 1e-9), size=5, mode="nearest")
        at_grid = np.interp(grid, freq, ratio)
        best = at_grid if best is None else np.maximum(best, at_grid)
    return best


# A true cutoff leaves far less power just above 0.5/s than below it; the alias's "cutoff" lies
# in the pass band (true: < 0.02, alias: > 0.045 on bicubic 1.4x-3.5x of photos; 2.5x vs 1.67x is
# the least separable pair).
CUTOFF_DROP = 0.03
# A factor whose line could be a JPEG grid's (8, 4, 2, 8/3, ...) must show a cutoff: an enlargement
# leaves < 0.02 of its power above it (bicubic, noise-free); a q94 JPEG of the Hubble deep field,
# whose lattice is too fine to find, 0.12.
GRID_CUTOFF_DROP = 0.08


def _cutoff_drop(spec: RadialSpectrum | None, factor: float) -> float:
    """Power above the cutoff 0.5/factor relative to below it (small means a true cutoff)."""
    if spec is None:
        return 1.0
    cut = 0.5 / factor
    below = (spec.freq >= 0.5 * cut) & (spec.freq <= 0.8 * cut)
    above = (spec.freq >= 1.2 * cut) & (spec.freq <= min(1.6 * cut, 0.5))
    if not below.any() or not above.any():
        return 1.0
    return float(spec.power[above].mean() / (spec.power[below].mean() + 1e-9))


def estimate_scale(
    gray: np.ndarray,
    jpeg_compressed: bool = False,
    spectrum: RadialSpectrum | None = None,
    noise_variance: float = 1.0 / 12.0,
) -> ScaleEstimate:
    """Estimate the upsampling factor of a gray image (H x W, 0-255).

    ``spectrum`` is ``radial_power_spectrum(gray)``, when the caller already has it;
    ``noise_variance``, that of the plane's white noise (for the confidence).

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> from rescap.degradation.scale import estimate_scale
        >>> rng = np.random.default_rng(0)
        >>> small = Image.fromarray(np.uint8(rng.integers(0, 255, (64, 64))))
        >>> big = np.asarray(small.resize((128, 128), Image.Resampling.BICUBIC), dtype=np.float32)
        >>> estimate_scale(big).factor
        2.0
    """
    grid = np.arange(MIN_FREQ, 0.5 + 1e-9, GRID_STEP)
    strengths = [_line_strength(gray, axis, grid) for axis in (0, 1)]
    if strengths[0] is None or strengths[1] is None:
        return ScaleEstimate(1.0, 0.0, 0.0)
    strength = np.minimum(strengths[0], strengths[1])
    if jpeg_compressed:
        eighths = np.abs(grid * 8 - np.rint(grid * 8)) / 8 <= JPEG_GRID_TOLERANCE
        strength = np.where(eighths, 0.0, strength)
    significant = np.flatnonzero(strength >= LINE_THRESHOLD)
    if len(significant) == 0:
        weakest = float(strength.max(initial=0.0))
        spectrum = spectrum if spectrum is not None else radial_power_spectrum(gray)
        return ScaleEstimate(1.0, weakest, _confidence(1.0, weakest, spectrum, noise_variance))
    # the fundamental is the lowest significant line; higher ones are its harmonics
    first = significant[0]
    run_end = first
    while run_end + 1 < len(grid) and strength[run_end + 1] >= LINE_THRESHOLD:
        run_end += 1
    peak = first + int(np.argmax(strength[first : run_end + 1]))
    f = float(grid[peak])
    factor = 1.0 / f
    alias = 1.0 / (1.0 - f)  # the same folded line
    if alias >= 1.2:
        spectrum = spectrum if spectrum is not None else radial_power_spectrum(gray)
    if alias >= 1.2 and _cutoff_drop(spectrum, factor) >= CUTOFF_DROP:
        factor = alias
    found = float(strength[peak])
    on_jpeg_grid = abs(f * 8 - round(f * 8)) / 8 <= JPEG_GRID_TOLERANCE
    if on_jpeg_grid and _cutoff_drop(spectrum, factor) >= GRID_CUTOFF_DROP:
        # a line at a multiple of 1/8 over a spectrum with no cutoff: an unseen JPEG's 8x8 grid
        # (JPEG above quality ~95 leaves no lattice to find), not an enlargement
        return ScaleEstimate(1.0, found, round(min(0.5, _confidence(1.0, 0.0, spectrum, noise_variance)), 3))
    return ScaleEstimate(_snap(factor), found, _confidence(factor, found, spectrum, noise_variance))


def _snap(factor: float) -> float:
    """Report common factors exactly: the line's position is only known to an FFT bin (~2 %)."""
    for step, tolerance in ((1.0, 0.05), (0.5, 0.03)):
        nearest = round(factor / step) * step
        if abs(factor - nearest) <= tolerance * factor:
            return float(nearest)
    return round(factor, 2)
