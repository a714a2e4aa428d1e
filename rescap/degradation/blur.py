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

from .spectrum import RadialSpectrum

SHARP_SIGMA = 0.3
UPSAMPLED_SIGMA = 0.6  # per unit of upsampling factor: bicubic from sharp photos gave 0.52-0.6 (sd 0.14)
SIGNAL_TO_FLOOR = 1.0
MAX_FREQ = 0.45


@dataclass(frozen=True)
class BlurEstimate:
    sigma: float  # blur beyond what sharp capture and upsampling explain, in pixels
    total_sigma: float | None  # fitted equivalent Gaussian std, None when no fit was possible


def estimate_blur(
    spectrum: RadialSpectrum | None, floor_variance: float, scale_factor: float = 1.0
) -> BlurEstimate:
    """Fit the Gaussian blur std from a radial spectrum (see ``radial_power_spectrum``).

    ``floor_variance`` is the white-noise variance of the analysed plane, 8-bit rounding included
    (1/12 for an 8-bit gray image with no other noise).

    Example:
        >>> import numpy as np
        >>> from scipy.ndimage import gaussian_filter
        >>> from rescap.degradation.blur import estimate_blur
        >>> from rescap.degradation.spectrum import radial_power_spectrum
        >>> rng = np.random.default_rng(0)
        >>> field = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(256, 256)))
        ...     / np.maximum(np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256))), 1 / 256)))
        >>> img = gaussian_filter(np.interp(field, (field.min(), field.max()), (0, 255)), 2.0)
        >>> round(estimate_blur(radial_power_spectrum(img), 1 / 12).sigma, 1)
        2.0
    """
    if spectrum is None:
        return BlurEstimate(0.0, None)
    floor = max(floor_variance, 1e-6)
    signal = spectrum.power - floor
    max_freq = MAX_FREQ if scale_factor <= 1.0 else 0.9 * 0.5 / scale_factor
    use = (signal > SIGNAL_TO_FLOOR * floor) & (spectrum.freq <= max_freq) & (spectrum.counts > 0)
    if use.sum() < 4:
        return BlurEstimate(0.0, None)
    f = spectrum.freq[use]
    snr = signal[use] / floor
    # weights ~ 1/std of log(signal): more coefficients and less noise make a bin surer
    weight = np.sqrt(spectrum.counts[use]) * snr / (1.0 + snr)
    design = np.stack([np.ones_like(f), -np.log(f), -4.0 * np.pi**2 * f * f], axis=1)
    coef, *_ = np.linalg.lstsq(design * weight[:, None], np.log(signal[use]) * weight, rcond=None)
    total = float(np.sqrt(max(coef[2], 0.0)))
    explained = SHARP_SIGMA if scale_factor <= 1.0 else UPSAMPLED_SIGMA * scale_factor
    return BlurEstimate(float(np.sqrt(max(total * total - explained * explained, 0.0))), total)
