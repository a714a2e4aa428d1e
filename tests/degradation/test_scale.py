import pytest

from rescap import estimate_degradation
from rescap.degradation.synthesize import add_gaussian_noise, down_up, gaussian_blur, jpeg_compress


@pytest.mark.parametrize("factor", [1.5, 2, 3, 4])
def test_upsampling_factor(photos, factor):
    for name in ("astronaut", "camera", "grass"):
        assert estimate_degradation(down_up(photos[name], factor)).scale_factor == factor, name


@pytest.mark.parametrize("method", ["bilinear", "lanczos"])
def test_other_interpolators(astronaut, method):
    assert estimate_degradation(down_up(astronaut, 2, method)).scale_factor == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,
        lambda a: gaussian_blur(a, 3.5),
        lambda a: add_gaussian_noise(a, 20, seed=0),
        lambda a: jpeg_compress(a, 20),
        lambda a: jpeg_compress(a, 85),
    ],
    ids=["clean", "blur3.5", "noise20", "jpeg20", "jpeg85"],
)
def test_native_resolution_is_one(photos, make):
    for name in ("astronaut", "camera", "grass"):
        assert estimate_degradation(make(photos[name])).scale_factor == 1, name
