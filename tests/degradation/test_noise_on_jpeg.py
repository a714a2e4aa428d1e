"""Noise on JPEG-compressed photos and on photos whose chroma was subsampled.

Expectations are the applied noise std (``add_gaussian_noise``) and the absence of any: never a
figure the estimator printed.
"""

import numpy as np
import pytest
from PIL import Image

from rescap import estimate_degradation
from rescap.degradation.noise import estimate_noise
from rescap.degradation.synthesize import add_gaussian_noise, jpeg_compress


def _chelsea() -> np.ndarray:
    from skimage import data

    from tests.conftest import _reduce

    return _reduce(data.chelsea())


def _subsample_chroma(rgb: np.ndarray) -> np.ndarray:
    """4:2:0 chroma as a JPEG encoder or a video pipeline stores it, with no quantization: the
    Cb and Cr planes box-averaged over 2 x 2 pixels and interpolated back."""
    im = Image.fromarray(rgb).convert("YCbCr")
    y, cb, cr = im.split()
    half = (im.width // 2, im.height // 2)
    cb, cr = (c.resize(half, Image.Resampling.BOX).resize(im.size, Image.Resampling.BILINEAR) for c in (cb, cr))
    return np.asarray(Image.merge("YCbCr", (y, cb, cr)).convert("RGB"))


@pytest.mark.parametrize("quality", [90, 95])
@pytest.mark.parametrize("sigma", [10, 20])
def test_noise_under_mild_jpeg_is_read(photos, sigma, quality):
    """A noisy photo saved at quality 90-95 keeps its noise; 4:2:0 empties the chroma, and the
    noise must then be read on luma (it read 0-1 when measured on all three channels)."""
    for name in ("astronaut", "coffee"):
        report = estimate_degradation(jpeg_compress(add_gaussian_noise(photos[name], sigma, seed=1), quality))
        assert abs(report.noise_sigma / sigma - 1) <= 0.15, (name, report.noise_sigma)
        assert report.noise_confidence >= 0.5, (name, report.noise_confidence)


@pytest.mark.parametrize("quality", [30, 50, 70, 90])
def test_fur_on_a_clean_jpeg_is_not_noise(quality):
    """Fur survives quantization as a noise-like floor; a clean JPEG of a cat is not noisy."""
    report = estimate_degradation(jpeg_compress(_chelsea(), quality))
    assert not report.found("noise"), (report.noise_sigma, report.noise_confidence)


def test_noise_on_a_jpeg_of_fur_is_still_found():
    """The counterpart of the test above: real noise on the same cat is read, and confidently."""
    report = estimate_degradation(jpeg_compress(add_gaussian_noise(_chelsea(), 20, seed=1), 70))
    assert abs(report.noise_sigma / 20 - 1) <= 0.15, report.noise_sigma
    assert report.found("noise"), report.noise_confidence


@pytest.mark.parametrize("quality", [80, 85])
def test_dense_grass_on_a_clean_jpeg_is_not_noise(photos, quality):
    """Quantization empties the high bands of grass as a low-pass would; it is no blurred noise
    (read as severe noise, sigma 27, before)."""
    report = estimate_degradation(jpeg_compress(photos["grass"], quality))
    assert report.noise_level.value == "none", (report.noise_sigma, report.noise_confidence)


@pytest.mark.parametrize("sigma", [10, 20])
def test_noise_with_subsampled_chroma_is_measured_on_luma(photos, sigma):
    for name in ("astronaut", "coffee"):
        est = estimate_noise(_subsample_chroma(add_gaussian_noise(photos[name], sigma, seed=2)).astype(float))
        assert abs(est.sigma / sigma - 1) <= 0.15, (name, est.sigma)
        assert est.confidence >= 0.5, (name, est.confidence)


def test_low_noise_with_subsampled_chroma_is_not_a_confident_none(photos):
    """At sigma 5 luma may not tell the noise from texture: the chroma cannot show it, so the
    reading must not claim a clean photo; the same photos without noise still do."""
    for name in ("astronaut", "coffee"):
        noisy = estimate_noise(_subsample_chroma(add_gaussian_noise(photos[name], 5, seed=2)).astype(float))
        assert abs(noisy.sigma / 5 - 1) <= 0.15 or noisy.confidence < 0.5, (name, noisy.sigma, noisy.confidence)
        clean = estimate_noise(_subsample_chroma(photos[name]).astype(float))
        assert clean.sigma < 1.0 and clean.confidence >= 0.5, (name, clean.sigma, clean.confidence)
