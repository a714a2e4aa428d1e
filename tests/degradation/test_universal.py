"""Exposure, haze and colour cast: known synthetic degradations of real photos are read back.

Every expectation comes from the parameters applied to the photo (a gain of 0.4 should read 0.4),
not from the estimators' own thresholds.
"""

from itertools import pairwise

import numpy as np
import pytest
from PIL import Image, ImageOps

from rescap.degradation.colour_cast import estimate_colour_cast
from rescap.degradation.exposure import estimate_exposure
from rescap.degradation.haze import estimate_haze
from rescap.degradation.histogram_traces import comb_gain
from rescap.degradation.synthesize import add_colour_cast, add_haze, change_exposure, jpeg_compress

WARM = {"red", "orange", "yellow"}
OBSERVED = 0.5  # the report's contract: a value with this confidence or more is stated as fact


def confidently_over_exposed(image: np.ndarray) -> bool:
    est = estimate_exposure(as_input(image))
    return est.gain > 1.25 and est.confidence >= OBSERVED


def confidently_cast(image: np.ndarray) -> bool:
    est = estimate_colour_cast(as_input(image))
    return est.strength >= 0.07 and est.confidence >= OBSERVED


def as_input(image: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> the estimators' float32 (H, W, C) on 0-255."""
    x = image.astype(np.float32)
    return x[..., None] if x.ndim == 2 else x


@pytest.fixture(scope="module")
def chelsea() -> np.ndarray:
    """scikit-image's cat, reduced like the shared fixtures (a warm-toned photo, no clipped white)."""
    from skimage import data

    im = Image.fromarray(data.chelsea())
    return np.asarray(im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def colour_photos(photos, chelsea) -> dict[str, np.ndarray]:
    return {"astronaut": photos["astronaut"], "coffee": photos["coffee"], "chelsea": chelsea}


# ---------------------------------------------------------------- synthesis definitions


def test_synthetic_degradations_follow_their_definitions(astronaut):
    x = astronaut.astype(np.float64)
    assert np.array_equal(change_exposure(astronaut, 0.4), np.clip(np.rint(x * 0.4), 0, 255).astype(np.uint8))
    assert change_exposure(astronaut, 3.0).max() == 255
    hazy = add_haze(astronaut, 0.5, (200.0, 220.0, 240.0))
    assert np.array_equal(hazy, np.clip(np.rint(x * 0.5 + np.array([100.0, 110.0, 120.0])), 0, 255).astype(np.uint8))
    assert add_haze(astronaut[..., 0], 0.5, (200.0, 220.0, 240.0)).shape == astronaut.shape[:2]
    cast = add_colour_cast(astronaut, (1.25, 1.0, 0.8))
    assert np.array_equal(cast[..., 1], astronaut[..., 1]) and cast[..., 2].max() <= 204
    gray = astronaut[..., 0]
    assert np.array_equal(add_colour_cast(gray, (1.25, 1.0, 0.8)), gray)


# ---------------------------------------------------------------- exposure


@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera", "grass"])
def test_underexposure_gain_is_read_within_15_percent(photos, name):
    gain = estimate_exposure(as_input(change_exposure(photos[name], 0.4))).gain
    assert gain == pytest.approx(0.4, rel=0.15), name


def test_underexposure_of_a_photo_without_white_is_read(chelsea):
    # no clipped highlight to anchor the gain: read from the brightest percentile
    assert estimate_exposure(as_input(change_exposure(chelsea, 0.4))).gain == pytest.approx(0.4, rel=0.15)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "grass", "chelsea"])
def test_exposure_gain_is_monotonic(photos, chelsea, name):
    image = chelsea if name == "chelsea" else photos[name]
    under = [estimate_exposure(as_input(change_exposure(image, g))).gain for g in (0.25, 0.4, 0.6, 0.8)]
    over = [estimate_exposure(as_input(change_exposure(image, g))).gain for g in (1.5, 2.0, 3.0)]
    assert all(b > a for a, b in pairwise(under)), under
    assert all(b > a for a, b in pairwise(over)), over
    assert under[-1] < 1.0 < over[0]


@pytest.mark.parametrize("gain", [1.5, 2.0, 3.0])
def test_overexposure_is_read(photos, gain):
    for name in ("astronaut", "coffee", "camera"):
        est = estimate_exposure(as_input(change_exposure(photos[name], gain)))
        assert est.gain == pytest.approx(gain, rel=0.15), name
        assert est.confidence >= OBSERVED, name  # the comb of empty levels is the evidence


def test_gain_comb_must_be_regular():
    # a gain of 1.5 uses two levels in three, evenly; the same share of levels at random is no gain
    levels = np.clip(np.rint(np.arange(256).repeat(50) * 1.5), 0, 255).astype(int)
    assert comb_gain(np.bincount(levels, minlength=256)) == pytest.approx(1.5, rel=0.02)
    rng = np.random.default_rng(3)
    sparse = rng.choice(np.arange(1, 255), 170, replace=False).repeat(75)
    assert comb_gain(np.bincount(sparse, minlength=256)) == 1.0


def _posterised(image: np.ndarray, levels: int) -> np.ndarray:
    """Each channel reduced to ``levels`` evenly spaced levels from 0 to 255 (as GIMP posterises)."""
    step = 255.0 / (levels - 1)
    return np.clip(np.rint(np.rint(image / step) * step), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def full_size() -> dict[str, np.ndarray]:
    """scikit-image's photos at full size, as a user would pass them (with their own white)."""
    from skimage import data

    return {"astronaut": data.astronaut(), "coffee": data.coffee()}


@pytest.mark.parametrize("colours", [256, 128, 64])
def test_palette_images_are_not_confidently_overexposed_or_cast(full_size, colours):
    # quantising to a palette changes no exposure and adds no cast; its sparse levels are no comb
    for name, photo in full_size.items():
        palette = np.asarray(Image.fromarray(photo).quantize(colours).convert("RGB"))
        assert not confidently_over_exposed(palette), (name, estimate_exposure(as_input(palette)))
        assert not confidently_cast(palette), (name, estimate_colour_cast(as_input(palette)))


@pytest.mark.parametrize("bits", [7, 6, 5])
def test_posterised_images_are_not_confidently_overexposed_or_cast(full_size, bits):
    # posterising leaves a regular comb (every 2 ** (8 - bits) levels) of a gain it never applied
    astronaut = full_size["astronaut"]
    images = [np.asarray(ImageOps.posterize(Image.fromarray(astronaut), bits))]  # levels down to 0, none at 255
    if bits < 7:  # levels spanning 0-255, the photo's own white at 255 (at 7 bits, a known limit:
        images.append(_posterised(astronaut, 2**bits))  # as a gain of 2 on a photo with little white)
    for image in images:
        assert not confidently_over_exposed(image), estimate_exposure(as_input(image))
        assert not confidently_cast(image), estimate_colour_cast(as_input(image))


def test_white_background_is_not_confident_overexposure(full_size):
    from skimage import data

    canvas = np.full((800, 800, 3), 255, np.uint8)  # a photo pasted on white: 62 % of it white
    canvas[200:600, 100:700] = full_size["coffee"]
    assert not confidently_over_exposed(canvas), estimate_exposure(as_input(canvas))
    for name in ("checkerboard", "horse"):  # black and white drawings
        image = getattr(data, name)()
        image = image.astype(np.uint8) * 255 if image.dtype == bool else image
        assert not confidently_over_exposed(image), (name, estimate_exposure(as_input(image)))
    # a gain on the pasted photo still leaves its comb, whatever the background
    gained = estimate_exposure(as_input(change_exposure(canvas, 2.0)))
    assert gained.gain == pytest.approx(2.0, rel=0.15) and gained.confidence >= OBSERVED


# ---------------------------------------------------------------- haze


@pytest.mark.parametrize("airlight", [200.0, 245.0])
@pytest.mark.parametrize("name", ["astronaut", "coffee", "camera", "grass", "chelsea"])
def test_haze_transmission_is_read(photos, chelsea, name, airlight):
    image = chelsea if name == "chelsea" else photos[name]
    clean = estimate_haze(as_input(image))
    hazy = estimate_haze(as_input(add_haze(image, 0.5, airlight)))
    assert clean.transmission > 0.85, name
    assert hazy.transmission == pytest.approx(0.5, abs=0.1), name
    assert hazy.confidence > 0.5


def test_haze_is_monotonic_in_transmission(photos, chelsea):
    for name, image in (("astronaut", photos["astronaut"]), ("grass", photos["grass"]), ("chelsea", chelsea)):
        reads = [estimate_haze(as_input(add_haze(image, t, 215.0))).transmission for t in (0.3, 0.45, 0.6, 0.8)]
        assert all(b > a for a, b in pairwise(reads)), (name, reads)


def test_coloured_airlight_haze_is_read(astronaut):
    est = estimate_haze(as_input(add_haze(astronaut, 0.4, (225.0, 235.0, 250.0))))
    assert est.transmission == pytest.approx(0.4, abs=0.1)
    assert 200.0 <= est.airlight <= 255.0


def test_clean_texture_is_not_hazy(photos):
    assert estimate_haze(as_input(photos["grass"])).transmission > 0.85


def test_bright_gray_scene_is_not_confidently_hazy():
    # scikit-image's clock: a gray photo of a pale clock face and wall, no haze, few dark pixels
    from skimage import data

    est = estimate_haze(as_input(data.clock()))
    assert est.transmission >= 0.69 or est.confidence < OBSERVED, est


def test_heavy_haze_on_a_gray_photo_is_still_observed(photos):
    est = estimate_haze(as_input(add_haze(photos["camera"], 0.4, 230.0)))
    assert est.transmission == pytest.approx(0.4, abs=0.1) and est.confidence >= OBSERVED, est


# ---------------------------------------------------------------- colour cast


def test_warm_cast_reads_warm(colour_photos):
    for name, image in colour_photos.items():
        est = estimate_colour_cast(as_input(add_colour_cast(image, (1.25, 1.0, 0.8))))
        assert est.hue in WARM, (name, est)
        r, g, b = est.gains
        assert r > g >= b and r > b, (name, est.gains)
        assert est.strength > 0.1 and est.confidence > 0.5, (name, est)


@pytest.mark.parametrize(("gains", "hues"), [((0.8, 1.0, 1.25), {"blue", "cyan"}), ((1.0, 0.8, 1.0), {"magenta"})])
def test_cool_and_magenta_casts_read_their_hue(photos, gains, hues):
    for name in ("astronaut", "coffee"):
        est = estimate_colour_cast(as_input(add_colour_cast(photos[name], gains)))
        assert est.hue in hues, (name, est)


def test_cast_gains_are_read_back(astronaut):
    applied = np.log([1.25, 1.0, 0.8])
    applied -= applied.mean()  # normalised to a geometric mean of 1, as reported
    est = estimate_colour_cast(as_input(add_colour_cast(astronaut, (1.25, 1.0, 0.8))))
    assert np.allclose(np.log(est.gains), applied, atol=0.05), est.gains
    assert np.prod(est.gains) == pytest.approx(1.0, abs=1e-6)


def test_cast_strength_is_monotonic(photos):
    for name in ("astronaut", "coffee"):
        reads = [
            estimate_colour_cast(as_input(add_colour_cast(photos[name], (1 + k, 1.0, 1 / (1 + k))))).strength
            for k in (0.05, 0.12, 0.2, 0.3)
        ]
        assert all(b > a for a, b in pairwise(reads)), (name, reads)


def test_clean_photos_are_not_confidently_cast(colour_photos):
    for name, image in colour_photos.items():
        est = estimate_colour_cast(as_input(image))
        assert est.confidence < 0.5 or est.strength < 0.1, (name, est)


def test_cast_direction_survives_jpeg(astronaut):
    # JPEG erases the 8-bit traces: the illuminant estimate must still point the right way
    warm = estimate_colour_cast(as_input(jpeg_compress(add_colour_cast(astronaut, (1.25, 1.0, 0.8)), 90)))
    cool = estimate_colour_cast(as_input(jpeg_compress(add_colour_cast(astronaut, (0.8, 1.0, 1.25)), 90)))
    assert warm.hue in WARM and cool.hue in {"blue", "cyan"}, (warm, cool)


def test_gray_images_certainly_have_no_cast(photos):
    camera = photos["camera"]
    assert estimate_colour_cast(as_input(camera)) == estimate_colour_cast(as_input(camera[..., None]))
    for image in (camera, np.repeat(camera[..., None], 3, axis=2), camera[:8, :8]):
        est = estimate_colour_cast(as_input(image))
        assert est.strength == 0.0 and est.hue == "" and est.gains == (1.0, 1.0, 1.0), est
        assert est.confidence == 1.0, est  # no colour: nothing uncertain left for the VLM to judge


def test_cast_on_a_gray_photo_is_read(photos):
    # a tinted gray photo has as few colours as a palette, one per gray level, yet its traces are a cast's
    tinted = add_colour_cast(np.repeat(photos["camera"][..., None], 3, axis=2), (1.25, 1.0, 0.8))
    est = estimate_colour_cast(as_input(tinted))
    assert est.hue in WARM and est.confidence >= OBSERVED, est


def test_an_empty_channel_gives_a_finite_cast(astronaut):
    no_red = astronaut.copy()
    no_red[..., 0] = 0  # white becomes cyan; the red gain is 0, its log unbounded
    est = estimate_colour_cast(as_input(no_red))
    assert np.isfinite(est.strength) and 0.0 < est.strength <= 3.0, est
    assert all(np.isfinite(g) and g > 0 for g in est.gains), est
    assert est.hue == "cyan", est


# ---------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize(
    "image",
    [
        np.full((64, 64, 3), (200.0, 50.0, 50.0), np.float32),  # solid colour
        np.full((64, 64, 3), 255.0, np.float32),
        np.zeros((64, 64, 3), np.float32),
        np.full((48, 48, 1), 77.0, np.float32),
        np.random.default_rng(0).uniform(0, 255, (8, 8, 3)).astype(np.float32),  # tiny
        np.zeros((1, 1, 3), np.float32),
        np.random.default_rng(1).uniform(0, 255, (12, 300, 3)).astype(np.float32),  # too thin
    ],
    ids=["solid-red", "white", "black", "solid-gray", "tiny", "one-pixel", "thin"],
)
def test_degenerate_images_are_neutral_with_no_confidence(image):
    exposure, haze, cast = estimate_exposure(image), estimate_haze(image), estimate_colour_cast(image)
    assert exposure.confidence == 0.0 and exposure.gain == 1.0
    assert haze.confidence == 0.0 and haze.transmission == 1.0
    assert cast.strength == 0.0 and cast.hue == ""
    gray = np.ptp(image, axis=2).max() == 0  # one channel, or three equal ones
    assert cast.confidence == (1.0 if gray else 0.0)  # a gray image certainly has no cast


def test_non_integer_values_are_accepted(astronaut):
    x = as_input(astronaut) * 0.537 + 0.25  # a 16-bit source, say: values between levels
    assert estimate_exposure(x).gain == pytest.approx(0.537, rel=0.15)
    assert estimate_haze(x).transmission > 0.85
    assert estimate_colour_cast(x).strength < 0.1
