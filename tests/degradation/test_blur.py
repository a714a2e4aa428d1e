import pytest

from rescap import estimate_degradation
from rescap.degradation.synthesize import down_up, gaussian_blur


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_known_blur(photos, sigma):
    for name in ("astronaut", "coffee", "grass"):
        est = estimate_degradation(gaussian_blur(photos[name], sigma)).blur_sigma
        assert est == pytest.approx(sigma, abs=0.45), name


def test_monotonic_in_applied_blur(astronaut):
    estimates = [estimate_degradation(gaussian_blur(astronaut, s)).blur_sigma for s in (0.8, 1.4, 2.0, 2.6, 3.4)]
    assert all(b > a for a, b in zip(estimates, estimates[1:])), estimates


def test_sharp_photo_reads_sharp(photos):
    for name in ("astronaut", "camera", "grass"):
        assert estimate_degradation(photos[name]).blur_sigma < 0.6, name


@pytest.mark.parametrize("factor", [2, 3])
def test_resampling_is_not_read_as_blur(photos, factor):
    report = estimate_degradation(down_up(photos["astronaut"], factor))
    assert report.scale_factor == factor
    assert report.blur_sigma < 0.3 * factor + 0.3
