"""Each quantity says how sure it is: confident on textured photos, abstaining on flat pictures
(sky, fog, gradients, solid colour), and nothing unobserved reaches the prompts."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from rescap import estimate_degradation
from rescap.degradation.synthesize import gaussian_blur, jpeg_compress


def _fog(size: int = 256, seed: int = 0) -> np.ndarray:
    """A foggy lake: a vertical gradient with faint, very smooth variations (std ~1 level)."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(150, 205, size)[:, None] * np.ones((1, size))
    faint = gaussian_filter(rng.normal(0, 1, (size, size)), 12) * 30
    gray = np.clip(yy + faint, 0, 255)
    return np.uint8(np.stack([gray * 0.95, gray, gray * 1.05], axis=2).clip(0, 255))


def _ramp(size: int = 256) -> np.ndarray:
    ramp = np.tile(np.linspace(20, 235, size), (size, 1))
    return np.uint8(np.repeat(ramp[..., None], 3, axis=2))


@pytest.mark.parametrize("sigma", [0.0, 1.0, 2.5, 3.5])
def test_blur_on_textured_photos_is_confident(photos, sigma):
    for name in ("astronaut", "coffee", "grass"):
        img = photos[name] if sigma == 0 else gaussian_blur(photos[name], sigma)
        report = estimate_degradation(img)
        assert report.blur_confidence >= 0.5, (name, sigma, report.blur_confidence)
        assert report.observed("blur")


@pytest.mark.parametrize("sigma", [0.0, 1.5, 3.0])
def test_blur_abstains_on_flat_pictures(sigma):
    for name, img in (("fog", _fog()), ("ramp", _ramp()), ("solid", np.full((128, 128, 3), 90, np.uint8))):
        img = img if sigma == 0 else gaussian_blur(img, sigma)
        report = estimate_degradation(img)
        assert report.blur_confidence < 0.5, (name, sigma, report.blur_confidence)
        assert not report.observed("blur")
        # an unobservable blur weighs nothing in the severity
        assert report.blur_severity < 0.1


def test_confidence_is_lower_on_fog_than_on_texture(astronaut):
    fog = estimate_degradation(gaussian_blur(_fog(), 2.0)).blur_confidence
    texture = estimate_degradation(gaussian_blur(astronaut, 2.0)).blur_confidence
    assert fog < texture


def test_strong_blur_is_not_biased_low(photos):
    """At sigma 3.5 the small tiles' window leaks power and the fit read ~0.4 px low."""
    estimates = [estimate_degradation(gaussian_blur(photos[n], 3.5)).blur_sigma for n in ("astronaut", "coffee", "grass")]
    assert abs(np.mean(estimates) - 3.5) <= 0.25, estimates


@pytest.mark.parametrize(
    "picture",
    [
        np.full((64, 64, 3), (200, 30, 40), np.uint8),
        np.full((256, 256, 3), (10, 200, 90), np.uint8),
        np.full((12, 12, 3), 128, np.uint8),
        _ramp(64),
        _ramp(384),
        np.uint8(np.clip(np.hypot(*np.mgrid[-128:128, -128:128]) * 1.4, 0, 255)),
        np.uint8(np.rint(np.tile(np.linspace(0, 255, 2000), (256, 1)))),  # a staircase: blocks repeat down columns
    ],
    ids=["solid-red", "solid-green", "tiny", "ramp64", "ramp384", "radial", "slow-ramp"],
)
def test_flat_pictures_are_never_jpeg(picture):
    report = estimate_degradation(picture)
    assert report.jpeg_quality is None
    assert report.jpeg_level.value == "none"


def test_no_jpeg_on_flat_picture_is_not_a_confident_no():
    solid = estimate_degradation(np.full((128, 128, 3), (200, 30, 40), np.uint8))
    assert solid.jpeg_confidence < 0.5


def test_jpeg_found_on_photos_or_not_claimed_absent_on_fog(photos):
    for name in ("astronaut", "camera"):
        for q in (30, 60, 90):
            report = estimate_degradation(jpeg_compress(photos[name], q))
            assert report.jpeg_quality is not None and abs(report.jpeg_quality - q) <= 2, (name, q)
            assert report.jpeg_confidence >= 0.5
    # fog this smooth keeps no AC coefficient at q50: the lattice cannot show, and the report must
    # not claim "no JPEG" with confidence
    fog = estimate_degradation(jpeg_compress(_fog(), 50))
    assert (fog.jpeg_quality is not None and abs(fog.jpeg_quality - 50) <= 2) or fog.jpeg_confidence < 0.5


def test_clean_photo_is_a_confident_no_jpeg(astronaut):
    report = estimate_degradation(astronaut)
    assert report.jpeg_quality is None and report.jpeg_confidence >= 0.5


def test_upsampling_confidence(astronaut):
    from rescap.degradation.synthesize import down_up

    up = estimate_degradation(down_up(astronaut, 3))
    assert up.scale_factor == 3 and up.scale_confidence >= 0.5
    native = estimate_degradation(astronaut)
    assert native.scale_factor == 1 and native.scale_confidence >= 0.5
    flat = estimate_degradation(_ramp())
    assert flat.scale_factor == 1 and flat.scale_confidence < 0.5


@pytest.mark.parametrize("sigma, blur", [(10, 0.5), (20, 0.6), (15, 0.7)])
def test_noise_then_mild_blur_is_observed_noise(photos, sigma, blur):
    """Camera pipelines blur their noise a little; it must still be reported, and with confidence."""
    from rescap.degradation.synthesize import add_gaussian_noise

    for name in ("astronaut", "coffee"):
        report = estimate_degradation(gaussian_blur(add_gaussian_noise(photos[name], sigma, seed=1), blur))
        assert report.noise_confidence >= 0.5, (name, report.noise_confidence)
        assert report.noise_level.value != "none", (name, report.noise_sigma)


def test_noise_on_dense_foliage_without_flat_areas_is_not_confident(photos):
    assert estimate_degradation(photos["grass"]).noise_confidence < 0.5


def test_mild_darkness_without_highlights_is_not_called_underexposure(photos):
    """Dusk, fog and low-key scenes are a little dark by nature; only clear under-exposure counts."""
    from rescap.degradation.synthesize import change_exposure

    for name in ("astronaut", "coffee"):
        # a dim scene: no clipped highlight anywhere (a blur spreads the photo's white pile), all a bit dark
        dim = change_exposure(gaussian_blur(photos[name], 1.5), 0.7)
        mild = estimate_degradation(dim)
        assert not mild.found("exposure"), (name, mild.exposure_gain, mild.exposure_confidence)
        strong = estimate_degradation(change_exposure(photos[name], 0.4))
        assert strong.found("exposure") and abs(strong.exposure_gain / 0.4 - 1) <= 0.15, (name, strong.exposure_gain)
