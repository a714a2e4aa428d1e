"""Blur: the std of the Gaussian blur that best explains how fast the image's spectrum falls off.

Photos have power spectra close to a power law, ``P0(f) ~ A / f^alpha``, and a Gaussian blur of
std ``sigma`` multiplies them by ``exp(-4 pi^2 sigma^2 f^2)``. So over the frequencies where the
image rises clearly above its noise floor (the estimated noise plus 8-bit rounding),

    log(P(f) - floor) = log A - alpha log f - 4 pi^2 sigma^2 f^2,

which is linear in (log A, alpha, sigma^2): one least-squares fit on the radially averaged spectrum.
Unlike edge-width measures it needs no isolated step edges, so it holds on texture (grass,
gravel) and on photos whose edges crowd each other.

Under strong noise (sigma > ~20) the fine detail sinks below the noise and blur under ~1.5 px can
no longer be told from sharpness; the fit then rests on the low frequencies alone.

Even sharp photos measure about ``SHARP_SIGMA`` (lens, sensor and resampling to their pixel grid);
that much is not reported as blur. An image upsampled ``s`` times is fitted below its cutoff and
measures about ``UPSAMPLED_SIGMA * s``, all of it the resampling; only blur beyond that is reported,
in the image's own pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spectrum import RadialSpectrum, radial_power_spectrum

SHARP_SIGMA = 0.3
UPSAMPLED_SIGMA = 0.6  # per unit of upsampling factor: bicubic from sharp photos gave 0.52-0.6 (sd 0.14)
SIGNAL_TO_FLOOR = 1.0
MAX_FREQ = 0.45
# Above this fitted std the 64-pixel tiles leave too few bins below the cutoff and their window
# leaks power from the strong low frequencies into the weak ones (biasing the fit low): the fit is
# redone on 128-pixel tiles, kept unless it explains the spectrum much worse.
REFIT_SIGMA = 1.3
FINE_TILE = 128
MISFIT_RATIO = 3.0

# Confidence. Texture: the share of textured 64-pixel tiles (``RadialSpectrum.textured_share``);
# a spectrum made mostly of fog, sky or gradient says nothing about blur. The share maps linearly
# from TEXTURED_SHARE[0] (confidence 0) to TEXTURED_SHARE[1] (1). Fit: the one-standard-error interval of the fitted std (from the weighted
# least squares) must be narrow: width FIT_SPREAD[0] px or less gives 1, FIT_SPREAD[1] or more 0.
TEXTURED_SHARE = (0.42, 0.72)
FULL_TILES = 4  # confidence is capped at tiles / FULL_TILES (a 64x64 image: 0.25)
FIT_SPREAD = (0.3, 1.2)


@dataclass(frozen=True)
class BlurEstimate:
    sigma: float  # blur beyond what sharp capture and upsampling explain, in pixels
    total_sigma: float | None  # fitted equivalent Gaussian std, None when no fit was possible
    confidence: float = 0.0  # how much the image's texture and the fit support ``sigma``, [0, 1]


@dataclass(frozen=True)
class _Fit:
    total: float
    spread: float  # width of the one-standard-error interval of ``total``, pixels
    misfit: float  # residual variance per degree of freedom (1 = as noisy as the weights say)


def _fit(spectrum: RadialSpectrum, floor: float, max_freq: float) -> _Fit | None:
    signal = spectrum.power - floor
    use = (signal > SIGNAL_TO_FLOOR * floor) & (spectrum.freq <= max_freq) & (spectrum.counts > 0)
    if use.sum() < 4:
        return None
    f = spectrum.freq[use]
    snr = signal[use] / floor
    # weights ~ 1/std of log(signal): more coefficients and less noise make a bin surer
    weight = np.sqrt(spectrum.counts[use]) * snr / (1.0 + snr)
    design = np.stack([np.ones_like(f), -np.log(f), -4.0 * np.pi**2 * f * f], axis=1) * weight[:, None]
    target = np.log(signal[use]) * weight
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    misfit = float(residual @ residual) / max(len(target) - 3, 1)
    cov = np.linalg.pinv(design.T @ design) * max(misfit, 1.0)
    variance, se = max(float(coef[2]), 0.0), float(np.sqrt(max(cov[2, 2], 0.0)))
    spread = float(np.sqrt(variance + se) - np.sqrt(max(variance - se, 0.0)))
    return _Fit(float(np.sqrt(variance)), spread, misfit)


def _ramp(value: float, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def estimate_blur(
    spectrum: RadialSpectrum | None,
    floor_variance: float,
    scale_factor: float = 1.0,
    gray: np.ndarray | None = None,
) -> BlurEstimate:
    """Fit the Gaussian blur std from a radial spectrum (see ``radial_power_spectrum``).

    ``floor_variance`` is the white-noise variance of the analysed plane, 8-bit rounding included
    (1/12 for an 8-bit gray image with no other noise). ``gray``, the plane the spectrum was taken
    of, lets strong blur be refitted on larger tiles.

    Example:
        >>> import numpy as np
        >>> from scipy.ndimage import gaussian_filter
        >>> from rescap.degradation.blur import estimate_blur
        >>> from rescap.degradation.spectrum import radial_power_spectrum
        >>> rng = np.random.default_rng(0)
        >>> field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(256, 256)))
        ...     / np.maximum(np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256))), 1 / 256)))
        >>> img = gaussian_filter(np.interp(field, (field.min(), field.max()), (0, 255)), 2.0)
        >>> blur = estimate_blur(radial_power_spectrum(img), 1 / 12, gray=img)
        >>> abs(blur.sigma - 2.0) < 0.2, blur.confidence > 0.5
        (True, True)
    """
    if spectrum is None:
        return BlurEstimate(0.0, None)
    floor = max(floor_variance, 1e-6)
    max_freq = MAX_FREQ if scale_factor <= 1.0 else 0.9 * 0.5 / scale_factor
    fit = _fit(spectrum, floor, max_freq)
    if fit is None:
        return BlurEstimate(0.0, None)
    if fit.total > REFIT_SIGMA and gray is not None and min(gray.shape) >= 2 * FINE_TILE:
        fine = _fit(radial_power_spectrum(gray, tile=FINE_TILE, n_bins=64), floor, max_freq)
        if fine is not None and fine.misfit <= MISFIT_RATIO * max(fit.misfit, 1.0):
            fit = fine
    explained = SHARP_SIGMA if scale_factor <= 1.0 else UPSAMPLED_SIGMA * scale_factor
    sigma = float(np.sqrt(max(fit.total * fit.total - explained * explained, 0.0)))
    texture = spectrum.texture_support(floor, TEXTURED_SHARE)
    precision = 1.0 - _ramp(fit.spread, FIT_SPREAD)
    tiles = len(spectrum.tile_variance) if spectrum.tile_variance is not None else 0
    size = min(1.0, tiles / FULL_TILES)  # one 64-pixel tile is a thin basis for any verdict
    return BlurEstimate(sigma, fit.total, round(min(texture, precision, size), 3))
