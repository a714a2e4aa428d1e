import io

import numpy as np
import pytest
from PIL import Image

from rescap import estimate_degradation
from rescap.degradation.jpeg import estimate_jpeg_from_pixels, ijg_tables, quality_from_tables
from rescap.degradation.synthesize import add_gaussian_noise, down_up, gaussian_blur, jpeg_bytes, jpeg_compress


def hwc(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    return a if a.ndim == 3 else a[..., None]


def test_tables_give_exact_quality_for_every_libjpeg_quality(astronaut):
    for q in range(1, 101):
        tables = Image.open(io.BytesIO(jpeg_bytes(astronaut[:32, :32], q))).quantization
        got = quality_from_tables(tables)
        assert (got.quality, got.exact) == (q, True)


def test_custom_tables_give_nearest_quality():
    luma, chroma = ijg_tables()
    custom = {0: list(np.clip(luma[79] + 1, 1, 255)), 1: list(chroma[79])}  # quality 80, perturbed
    got = quality_from_tables(custom)
    assert not got.exact and abs(got.quality - 80) <= 3


def test_jpeg_file_quality_is_read_from_its_tables(tmp_path, astronaut):
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_bytes(astronaut, 37))
    assert estimate_degradation(path).jpeg_quality == 37


@pytest.mark.parametrize("quality", [15, 40, 75, 92])
def test_decoded_pixels_quality(photos, quality):
    for name in ("astronaut", "camera"):
        got = estimate_jpeg_from_pixels(hwc(jpeg_compress(photos[name], quality)))
        assert got.quality is not None and abs(got.quality - quality) <= 2, name


def test_decoded_pixels_with_shifted_grid_and_444_chroma(astronaut):
    decoded = jpeg_compress(astronaut, 60, subsampling=0)[3:, 5:]  # crop: grid no longer at (0, 0)
    got = estimate_jpeg_from_pixels(hwc(decoded))
    assert got.quality is not None and abs(got.quality - 60) <= 2
    assert got.grid == ((8 - 3) % 8, (8 - 5) % 8)


@pytest.mark.parametrize("quality", [85, 92, 96])
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_high_quality_grid_found_off_the_crop_origin(photos, name, quality):
    # at q85 and above the seams are too faint for a blockiness measure; every crop offset must
    # still find the grid (the crop of a shipped JPEG photo, as a user makes one). Dense grass
    # at q92+ keeps too few quantized-away coefficients to show it (a known limit, in jpeg.py).
    decoded = jpeg_compress(photos[name], quality)
    for dy, dx in ((0, 0), (3, 5), (6, 1)):
        got = estimate_jpeg_from_pixels(hwc(decoded[dy:, dx:]))
        assert got.grid == ((8 - dy) % 8, (8 - dx) % 8), (dy, dx)
        assert got.quality is not None and abs(got.quality - quality) <= 2, (dy, dx)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,
        lambda a: add_gaussian_noise(a, 12, seed=0),
        lambda a: gaussian_blur(a, 1.5),
        lambda a: down_up(a, 2),
        lambda a: down_up(a, 3),
    ],
    ids=["clean", "noisy", "blurred", "x2", "x3"],
)
def test_no_jpeg_reported_without_jpeg(photos, make):
    for name in ("astronaut", "camera", "grass"):
        assert estimate_degradation(make(photos[name])).jpeg_quality is None, name
