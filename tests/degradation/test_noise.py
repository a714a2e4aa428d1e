import numpy as np
import pytest

from rescap.degradation.noise import clipped_variance_share, estimate_noise
from rescap.degradation.synthesize import add_gaussian_noise


def sigma_of(img: np.ndarray) -> float:
    a = img.astype(np.float32)
    return estimate_noise(a if a.ndim == 3 else a[..., None]).sigma


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera"])
def test_clean_photos_read_as_nearly_noiseless(photos, name):
    assert sigma_of(photos[name]) < 1.5


@pytest.mark.parametrize("sigma", [5, 15, 30])
def test_known_noise_levels(photos, sigma):
    for name in ("astronaut", "camera"):
        est = sigma_of(add_gaussian_noise(photos[name], sigma, seed=1))
        assert est == pytest.approx(sigma, rel=0.12, abs=0.8), name


def test_monotonic_in_applied_noise(astronaut):
    estimates = [sigma_of(add_gaussian_noise(astronaut, s, seed=2)) for s in (0, 3, 6, 12, 24, 48)]
    assert all(b > a for a, b in zip(estimates, estimates[1:])), estimates


def test_texture_is_not_read_as_noise(photos):
    assert sigma_of(photos["grass"]) < 3.0


def test_clipped_strong_noise_on_dark_image_is_not_underestimated(astronaut):
    dark = (astronaut.astype(np.float32) * 0.35).astype(np.uint8)  # mostly near 0
    est = sigma_of(add_gaussian_noise(dark, 40, seed=3))
    assert est == pytest.approx(40, rel=0.12)


def test_flat_noise_free_image_is_zero():
    assert sigma_of(np.full((64, 64, 3), 77, np.uint8)) == pytest.approx(0.0, abs=0.05)


def test_tiny_images_do_not_fail():
    for shape in [(1, 1, 1), (5, 7, 3), (15, 15, 1)]:
        assert estimate_noise(np.zeros(shape, np.float32)).sigma >= 0.0


def test_clipped_variance_share_limits():
    share = clipped_variance_share(np.array([128.0, 0.0, 255.0, 5.0]), 10.0)
    assert share[0] == pytest.approx(1.0, abs=1e-6)
    assert share[1] < 0.2 and share[2] < 0.2  # fully clipped regions keep little variance
    assert 0.2 < share[3] < 1.0


@pytest.mark.parametrize("sigma", [5, 15])
def test_gray_photo_stored_as_rgb(photos, sigma):
    from rescap import estimate_degradation

    gray = add_gaussian_noise(photos["camera"], sigma, seed=4)
    as_rgb = np.repeat(gray[..., None], 3, axis=2)
    assert estimate_degradation(as_rgb).noise_sigma == pytest.approx(estimate_degradation(gray).noise_sigma, abs=0.3)


def test_clipped_variance_share_per_region_sigma():
    means = np.array([128.0, 5.0, 250.0])
    per_region = clipped_variance_share(means, np.array([10.0, 10.0, 3.0]))
    assert per_region[1] == pytest.approx(clipped_variance_share(means[1:2], 10.0)[0])
    assert per_region[2] == pytest.approx(clipped_variance_share(means[2:3], 3.0)[0])
    assert per_region[0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("lo, hi, a, b", [(150, 250, 2.0, 4.0), (2, 80, 0.0, 100.0), (2, 80, 1.0, 36.0)])
def test_level_function_near_clipping(lo, hi, a, b):
    """Ramps running into 0 or 255: the levels there are corrected for the clipped noise."""
    from rescap.degradation.synthesize import add_poisson_gaussian_noise

    ramp = np.tile(np.linspace(lo, hi, 384), (256, 1)).round().astype(np.uint8)
    est = estimate_noise(add_poisson_gaussian_noise(ramp, a, b, seed=1).astype(np.float32)[..., None])
    levels = np.array(est.level_function)
    assert len(levels) >= 3
    expected = np.sqrt(a * levels[:, 0] + b)
    assert np.all(np.abs(levels[:, 1] - expected) <= 0.1 * expected), (levels, expected)
    assert levels[:, 0].min() < lo + 20 or levels[:, 0].max() > hi - 25  # a level near the clipped end
    assert est.sigma == pytest.approx(np.sqrt(a * ramp.mean() + b), rel=0.05)


def test_new_fields_on_tiny_and_flat_images():
    tiny = estimate_noise(np.zeros((5, 7, 3), np.float32))
    assert tiny.level_function == () and tiny.shot == 0.0 and tiny.read == 0.0 and tiny.confidence == 0.0
    flat = estimate_noise(np.full((64, 64, 3), 77.0, np.float32))
    assert flat.sigma == pytest.approx(0.0, abs=0.05) and flat.noise_blur == 0.0
