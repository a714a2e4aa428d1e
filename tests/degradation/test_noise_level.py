"""Noise level function, signal-dependent noise, noise after a mild blur, and the confidence.

Every expected value is computed here from the synthetic parameters applied (the variance
``a * I + b`` of Poisson-Gaussian noise, the std left after a blur from its kernel), never taken
from the estimator's constants.
"""

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter1d

from rescap.degradation.noise import estimate_noise
from rescap.degradation.synthesize import add_gaussian_noise, add_poisson_gaussian_noise, gaussian_blur


def estimate(img: np.ndarray):
    a = img.astype(np.float32)
    return estimate_noise(a if a.ndim == 3 else a[..., None])


def true_rms(clean: np.ndarray, a: float, b: float) -> float:
    return float(np.sqrt(a * clean.astype(np.float64).mean() + b))


def std_left_after_blur(sigma: float, width: float) -> float:
    """Std of white noise of std ``sigma`` after the 2-D Gaussian blur ``gaussian_blur`` applies:
    ``sigma * sqrt(sum of the 2-D kernel^2)``, the kernel being that of scipy's filter."""
    impulse = np.zeros(41)
    impulse[20] = 1.0
    k1 = gaussian_filter1d(impulse, width, mode="constant", truncate=4.0)
    return float(sigma * np.sqrt((np.outer(k1, k1) ** 2).sum()))


@pytest.fixture(scope="module")
def gravel() -> np.ndarray:
    from skimage import data

    im = Image.fromarray(data.gravel())
    im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
    return np.asarray(im)[:256, :256]


@pytest.fixture(scope="module")
def ramp() -> np.ndarray:
    """A smooth gray ramp over most of the 8-bit range: every block is flat."""
    return np.tile(np.linspace(12, 243, 384), (256, 1)).round().astype(np.uint8)


# --- synthesize.add_poisson_gaussian_noise


@pytest.mark.parametrize("a, b", [(0.5, 4.0), (2.0, 0.0), (0.0, 25.0)])
def test_poisson_gaussian_variance_is_a_x_plus_b(a, b):
    for level in (40, 120, 200):
        flat = np.full((200, 200), level, np.uint8)
        noisy = add_poisson_gaussian_noise(flat, a, b, seed=level).astype(np.float64)
        expected = a * level + b + 1.0 / 12.0  # rounding to 8 bits adds 1/12
        assert noisy.var() == pytest.approx(expected, rel=0.05)
        assert noisy.mean() == pytest.approx(level, abs=0.2)


def test_poisson_gaussian_is_seeded_and_typed(astronaut):
    one = add_poisson_gaussian_noise(astronaut, 1.0, 4.0, seed=3)
    assert one.dtype == np.uint8 and one.shape == astronaut.shape
    assert np.array_equal(one, add_poisson_gaussian_noise(astronaut, 1.0, 4.0, seed=3))
    assert not np.array_equal(one, add_poisson_gaussian_noise(astronaut, 1.0, 4.0, seed=4))
    with pytest.raises(ValueError):
        add_poisson_gaussian_noise(astronaut, -1.0, 4.0)


# --- the level function


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_level_function_rises_with_intensity_under_shot_noise(photos, name):
    a, b = 1.5, 4.0
    est = estimate(add_poisson_gaussian_noise(photos[name], a, b, seed=5))
    levels = np.array(est.level_function)
    assert len(levels) >= 3
    intensity, sigma = levels[:, 0], levels[:, 1]
    assert np.all(np.diff(intensity) > 0)
    assert np.corrcoef(intensity, sigma)[0, 1] > 0.9
    expected = np.sqrt(a * intensity + b)
    assert np.all(np.abs(sigma - expected) <= np.maximum(0.15 * expected, 1.0)), (levels, expected)
    # the brightest reported level is noisier than the darkest, as much as the model says
    assert sigma[-1] / sigma[0] == pytest.approx(expected[-1] / expected[0], rel=0.2)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_level_function_is_flat_under_white_noise(photos, name):
    sigma = 10.0
    est = estimate(add_gaussian_noise(photos[name], sigma, seed=6))
    levels = np.array(est.level_function)
    assert len(levels) >= 1
    assert np.all(np.abs(levels[:, 1] - sigma) <= 0.2 * sigma), levels
    # flat: under the shot noise above the same range of intensities would give a ratio over 2
    assert levels[:, 1].max() / levels[:, 1].min() < 1.3, levels
    # read noise carries (nearly) all of it: over the whole range the line's std varies < 10 %
    assert est.shot * 255.0 < 0.2 * est.read
    assert est.read == pytest.approx(sigma**2, rel=0.2)


@pytest.mark.parametrize("a, b", [(0.3, 4.0), (1.0, 0.0), (2.0, 25.0)])
def test_shot_and_read_read_back_on_a_ramp(ramp, a, b):
    est = estimate(add_poisson_gaussian_noise(ramp, a, b, seed=7))
    assert est.shot == pytest.approx(a, rel=0.15)
    assert est.read == pytest.approx(b, abs=max(0.25 * b, 0.08 * a * 255.0))
    assert est.sigma == pytest.approx(true_rms(ramp, a, b), rel=0.05)


@pytest.mark.parametrize("name, a, b", [("astronaut", 0.6, 9.0), ("coffee", 1.0, 4.0), ("camera", 0.3, 16.0)])
def test_shot_and_read_read_back_on_photos(photos, name, a, b):
    clean = photos[name]
    est = estimate(add_poisson_gaussian_noise(clean, a, b, seed=8))
    assert est.sigma == pytest.approx(true_rms(clean, a, b), rel=0.1)
    # the line through the levels: its value at two intensities, rather than a and b one by one
    for intensity in (50.0, 180.0):
        expected = np.sqrt(a * intensity + b)
        assert np.sqrt(est.shot * intensity + est.read) == pytest.approx(expected, rel=0.15)


def test_sigma_is_the_rms_of_the_level_function(photos):
    clean = photos["coffee"]
    est = estimate(add_poisson_gaussian_noise(clean, 2.0, 0.0, seed=9))
    mean_intensity = clean.astype(np.float64).mean()
    assert est.sigma == pytest.approx(np.sqrt(est.shot * mean_intensity + est.read), rel=0.02)
    assert est.sigma == pytest.approx(true_rms(clean, 2.0, 0.0), rel=0.1)


@pytest.mark.parametrize("sigma", [5.0, 20.0])
def test_white_noise_sigma_unchanged(photos, sigma):
    for name in ("astronaut", "coffee", "camera"):
        est = estimate(add_gaussian_noise(photos[name], sigma, seed=10))
        assert est.sigma == pytest.approx(sigma, rel=0.1, abs=0.6), name
        assert est.noise_blur == 0.0


# --- noise after a mild blur, blur without noise


@pytest.mark.parametrize("width", [0.5, 0.6, 0.7])
@pytest.mark.parametrize("sigma", [10.0, 20.0, 30.0])
def test_noise_then_mild_blur_is_still_noise(photos, sigma, width):
    left = std_left_after_blur(sigma, width)
    for name in ("astronaut", "coffee", "camera"):
        est = estimate(gaussian_blur(add_gaussian_noise(photos[name], sigma, seed=11), width))
        assert est.sigma >= 0.5 * left, (name, est.sigma, left)
        assert est.sigma > 3.0, name  # well above the report's "none" threshold of 2
        assert est.sigma < 1.4 * left, (name, est.sigma, left)


@pytest.mark.parametrize("sigma", [15.0, 20.0, 30.0])
def test_blurred_noise_over_dense_texture_is_measured(photos, sigma):
    """Grass has no flat block: the floor of a low-passed noise model holds texture and noise, and
    the kurtosis confirms only part of it. That part is the noise (the clean photo confirms none)."""
    left = std_left_after_blur(sigma, 0.7)
    for seed in (11, 12, 13):
        est = estimate(gaussian_blur(add_gaussian_noise(photos["grass"], sigma, seed=seed), 0.7))
        assert 0.7 * left <= est.sigma <= 1.3 * left, (seed, est.sigma, left)
        assert est.confidence >= 0.5, (seed, est.confidence)  # the fit reproduces on both halves
    assert estimate(photos["grass"]).sigma < 1.0


def test_jpeg_of_dense_texture_is_not_read_as_blurred_noise(photos, gravel):
    """Quantization empties texture's high bands as a low-pass does: on pixels alone, the share of
    a low-passed floor the kurtosis confirms reads as noise; the report, knowing the JPEG, does not."""
    from rescap import estimate_degradation
    from rescap.degradation.synthesize import jpeg_compress

    for name, img in (("grass", photos["grass"]), ("gravel", gravel)):
        report = estimate_degradation(jpeg_compress(img, 90))
        assert report.jpeg_quality == 90, name
        assert report.noise_level.value == "none", (name, report.noise_sigma)


@pytest.mark.parametrize("width", [0.8, 1.5, 3.0])
def test_blurred_clean_photo_is_not_noisy(photos, width):
    for name in ("astronaut", "coffee", "camera", "grass"):
        assert estimate(gaussian_blur(photos[name], width)).sigma < 1.0, name


# --- confidence


def test_confidence_low_without_flat_area(photos, gravel):
    for name, img in (("gravel", gravel), ("grass", photos["grass"])):
        for sigma in (0.0, 3.0):
            noisy = add_gaussian_noise(img, sigma, seed=12) if sigma else img
            assert estimate(noisy).confidence < 0.3, (name, sigma)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_confidence_high_with_flat_areas(photos, name):
    clean = photos[name]
    assert estimate(clean).confidence > 0.6
    assert estimate(add_gaussian_noise(clean, 5.0, seed=13)).confidence > 0.8
    assert estimate(add_poisson_gaussian_noise(clean, 0.5, 4.0, seed=14)).confidence > 0.8


def test_confidence_and_fields_in_range(photos):
    est = estimate(add_poisson_gaussian_noise(photos["astronaut"], 1.0, 9.0, seed=15))
    assert 0.0 <= est.confidence <= 1.0
    assert est.shot >= 0.0 and est.read >= 0.0
    for intensity, sigma in est.level_function:
        assert 0.0 <= intensity <= 255.0 and sigma >= 0.0
