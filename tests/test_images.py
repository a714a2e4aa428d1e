import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from rescap import ImageLoadError, ImageTooLargeError, estimate_degradation, load_image


@pytest.fixture
def rgb(astronaut) -> Image.Image:
    return Image.fromarray(astronaut)


@pytest.mark.parametrize("mode, channels", [("1", 1), ("L", 1), ("LA", 1), ("P", 3), ("RGB", 3), ("RGBA", 3), ("CMYK", 3), ("YCbCr", 3), ("I", 1), ("F", 1)])
def test_modes(rgb, mode, channels):
    im = rgb.convert(mode)
    loaded = load_image(im)
    assert loaded.pixels.shape == (rgb.height, rgb.width, channels)
    assert loaded.pixels.dtype == np.float32
    assert 0 <= loaded.pixels.min() and loaded.pixels.max() <= 255


def test_16_bit_png_is_scaled_to_0_255(tmp_path, astronaut):
    gray16 = (astronaut[..., 1].astype(np.uint16) * 257)
    path = tmp_path / "g16.png"
    Image.fromarray(gray16).save(path)
    assert Image.open(path).mode.startswith("I")
    px = load_image(path).pixels[..., 0]
    assert np.allclose(px, astronaut[..., 1], atol=0.01)


def test_cmyk_jpeg_file(tmp_path, rgb):
    path = tmp_path / "cmyk.jpg"
    rgb.convert("CMYK").save(path, quality=70)
    report = estimate_degradation(path)
    assert report.jpeg_quality == 70


@pytest.mark.parametrize("orientation, swapped", [(1, False), (3, False), (6, True), (8, True)])
def test_exif_orientation_is_applied(tmp_path, orientation, swapped):
    im = Image.new("RGB", (40, 20), "white")
    im.paste((255, 0, 0), (0, 0, 10, 10))  # red mark in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert (loaded.height, loaded.width) == ((40, 20) if swapped else (20, 40))
    assert loaded.pixels.shape[:2] == (loaded.height, loaded.width)
    expected = np.asarray(Image.open(path).transpose(Image.Transpose.ROTATE_180)) if orientation == 3 else None
    if expected is not None:
        assert np.allclose(loaded.pixels, expected, atol=1)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (9, 9, 3), (16, 300, 3), (300, 16)])
def test_very_small_images(shape):
    rng = np.random.default_rng(0)
    report = estimate_degradation(rng.integers(0, 255, shape, dtype=np.uint8))
    assert report.noise_sigma >= 0 and report.scale_factor >= 1


def test_large_images_are_analysed_on_a_bounded_crop(tmp_path):
    big = np.random.default_rng(0).integers(0, 255, (3000, 2000, 3), dtype=np.uint8)
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path, compress_level=1)
    loaded = load_image(path, max_analysis_pixels=512 * 512)
    assert loaded.cropped and loaded.pixels.shape[0] * loaded.pixels.shape[1] <= 512 * 512
    assert (loaded.width, loaded.height) == (2000, 3000)
    # the crop is centred and starts on the 8x8 grid
    h, w = loaded.pixels.shape[:2]
    x0, y0 = (2000 - w) // 2 // 8 * 8, (3000 - h) // 2 // 8 * 8
    assert np.array_equal(loaded.pixels, big[y0 : y0 + h, x0 : x0 + w].astype(np.float32))


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG header that declares a huge canvas, followed by a tiny (truncated) data stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_declaring(100_000, 100_000))
    with pytest.raises(ImageTooLargeError, match="decompression bomb|pixels"):
        load_image(path)


def test_pixel_limit_is_configurable(tmp_path, rgb):
    path = tmp_path / "a.png"
    rgb.save(path)
    with pytest.raises(ImageTooLargeError, match="over the limit"):
        load_image(path, max_image_pixels=1000)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty file"), (b"not an image at all", "not a readable image")],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=message):
        load_image(path)


def test_truncated_file(tmp_path, rgb):
    buf = io.BytesIO()
    rgb.save(buf, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError):
        load_image(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="directory"):
        load_image(tmp_path)


@pytest.mark.parametrize(
    "array",
    [np.zeros((8, 8, 5)), np.zeros((4,)), np.full((8, 8), np.nan)],
    ids=["5-channels", "1-d", "nan"],
)
def test_bad_arrays(array):
    with pytest.raises(ImageLoadError):
        load_image(array)


def test_array_scales(astronaut):
    as_float = astronaut.astype(np.float32) / 255.0
    as_16 = astronaut.astype(np.uint16) * 257
    for arr in (as_float, as_16):
        assert np.allclose(load_image(arr).pixels, astronaut, atol=0.01)


def test_nan_in_a_float_file_is_a_clear_error(tmp_path):
    a = np.full((32, 32), 0.5, np.float32)
    a[3, 3] = np.nan
    path = tmp_path / "nan.tif"
    Image.fromarray(a, mode="F").save(path)
    with pytest.raises(ImageLoadError, match="NaN"):
        load_image(path)


def test_limit_can_be_raised_above_pillows(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png_declaring(20_000, 10_000))  # 200 MP, over Pillow's own bomb threshold
    with pytest.raises(ImageLoadError) as info:
        load_image(path, max_image_pixels=300_000_000)
    assert not isinstance(info.value, ImageTooLargeError)  # allowed: it fails later, on the truncated data


def test_empty_array_is_refused():
    with pytest.raises(ImageLoadError, match="non-empty"):
        load_image(np.zeros((0, 0, 3), np.uint8))


def test_large_arrays_are_cropped_before_conversion():
    big = np.zeros((4000, 3000, 3), np.uint8)
    loaded = load_image(big, max_analysis_pixels=256 * 256)
    assert loaded.cropped and loaded.pixels.size <= 256 * 256 * 3
