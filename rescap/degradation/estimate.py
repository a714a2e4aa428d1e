"""``estimate_degradation``: noise, blur, JPEG, upsampling, exposure, haze and colour cast of one image,
from its pixels alone."""

from __future__ import annotations

import numpy as np

from .blur import estimate_blur
from .colour_cast import estimate_colour_cast
from .exposure import estimate_exposure
from .haze import estimate_haze
from .jpeg import estimate_jpeg_from_pixels, ijg_tables, quality_from_tables
from .jpeg_noise import estimate_noise_under_jpeg
from .noise import estimate_noise
from .report import DegradationReport, NoiseLevel
from .scale import estimate_scale
from .spectrum import radial_power_spectrum
from .transforms import luma_noise_gain, luminance
from ..images import ImageInput, load_image
from ..limits import DEFAULT_MAX_ANALYSIS_PIXELS, DEFAULT_MAX_IMAGE_PIXELS

_ROUNDING_VARIANCE = 1.0 / 12.0  # of 8-bit integer pixels


def _is_gray(pixels: np.ndarray) -> bool:
    sample = pixels[::4, ::4]
    return bool(np.abs(sample[..., 0] - sample[..., 1]).max() <= 1.0 and np.abs(sample[..., 1] - sample[..., 2]).max() <= 1.0)


def estimate_degradation(
    image: ImageInput,
    *,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_analysis_pixels: int = DEFAULT_MAX_ANALYSIS_PIXELS,
) -> DegradationReport:
    """Measure how ``image`` (a path, PIL image or array) is degraded. No model weights needed.

    JPEG files get their quality from their quantization tables (exact for libjpeg tables); other
    inputs are searched for JPEG traces in their pixels. Images over ``max_analysis_pixels`` are
    analysed on a centred crop of that size; files declaring more than ``max_image_pixels`` are
    refused with ``ImageTooLargeError``. Every value comes with a confidence; see
    ``DegradationReport``.

    Example:
        >>> import numpy as np
        >>> from rescap import estimate_degradation
        >>> from rescap.degradation.synthesize import add_gaussian_noise
        >>> ramp = np.tile(np.linspace(30, 220, 256), (256, 1)).astype(np.uint8)
        >>> report = estimate_degradation(add_gaussian_noise(ramp, 15, seed=0))
        >>> round(report.noise_sigma), report.noise_level.value, report.jpeg_quality
        (15, 'moderate', None)
        >>> report.observed("blur")  # a smooth ramp has no texture to measure blur from
        False
    """
    loaded = load_image(image, max_image_pixels=max_image_pixels, max_analysis_pixels=max_analysis_pixels)
    pixels = loaded.pixels
    if pixels.shape[2] == 3 and _is_gray(pixels):
        # a gray picture stored as RGB: its noise, if any, is the same in all three channels
        pixels = pixels[..., 1:2]
    gray = luminance(pixels)
    # searched for JPEG files too: its grid finds the blocks after EXIF rotation moved them
    from_pixels = estimate_jpeg_from_pixels(pixels, gray)
    if loaded.jpeg_quantization:
        jpeg_quality: int | None = quality_from_tables(loaded.jpeg_quantization).quality
        jpeg_confidence = 1.0  # read from the file, not inferred
        first = min(loaded.jpeg_quantization)
        luma_table, chroma_table = loaded.jpeg_quantization[first], loaded.jpeg_quantization.get(first + 1)
    else:
        jpeg_quality, jpeg_confidence = from_pixels.quality, from_pixels.confidence
        luma_table = chroma_table = None
        if jpeg_quality is not None:
            luma_table, chroma_table = (table[jpeg_quality - 1] for table in ijg_tables())
    noise = estimate_noise(pixels, jpeg_compressed=luma_table is not None, chroma_table=chroma_table)
    noise_sigma, noise_confidence = noise.sigma, noise.confidence
    levels = noise.level_function
    if luma_table is not None:
        # JPEG removes most of the noise's fine detail; read what was there from the quantized bands
        table = np.asarray(luma_table)
        before = estimate_noise_under_jpeg(pixels, table, from_pixels.grid, gray, noise.shared)
        if before is not None and before.sigma > noise_sigma:
            levels = ()  # measured after compression: the level function no longer describes the sensor
            noise_sigma, noise_confidence = before.sigma, before.confidence
    gain = luma_noise_gain(pixels.shape[2], noise.shared)
    floor_variance = (noise_sigma**2 + _ROUNDING_VARIANCE) * gain
    spectrum = radial_power_spectrum(gray)
    scale = estimate_scale(
        gray, jpeg_compressed=jpeg_quality is not None, spectrum=spectrum, noise_variance=floor_variance
    )
    blur = estimate_blur(spectrum, floor_variance, scale.factor, gray)
    exposure = estimate_exposure(pixels)
    haze = estimate_haze(pixels)
    cast = estimate_colour_cast(pixels)
    return DegradationReport.from_measurements(
        noise_sigma=noise_sigma,
        noise_confidence=noise_confidence,
        noise_level_function=[NoiseLevel(intensity=round(i, 1), sigma=round(s, 2)) for i, s in levels],
        noise_shot=round(noise.shot, 4) if levels else 0.0,
        noise_read=round(noise.read, 3) if levels else 0.0,
        blur_sigma=blur.sigma,
        blur_confidence=blur.confidence,
        jpeg_quality=jpeg_quality,
        jpeg_confidence=jpeg_confidence,
        scale_factor=scale.factor,
        scale_confidence=scale.confidence,
        exposure_gain=exposure.gain,
        exposure_confidence=exposure.confidence,
        dark_clipped_share=round(exposure.dark_clipped_share, 4),
        bright_clipped_share=round(exposure.bright_clipped_share, 4),
        haze_transmission=haze.transmission,
        haze_confidence=haze.confidence,
        colour_cast_strength=cast.strength,
        colour_cast_hue=cast.hue,
        colour_cast_confidence=cast.confidence,
    )
