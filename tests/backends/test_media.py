import base64
import io

import numpy as np
import pytest
from PIL import Image

from rescap.backends.media import data_url, fit_pixels, split_conversation, to_openai_messages


def test_images_are_fitted_to_the_pixel_budget():
    big = Image.new("RGB", (1000, 500))
    small = fit_pixels(big, 100 * 100)
    assert small.width * small.height <= 100 * 100 and abs(small.width / small.height - 2) < 0.05
    tiny = Image.new("L", (10, 10))
    assert fit_pixels(tiny, 100 * 100).size == (10, 10)  # never upscaled
    assert fit_pixels(tiny, 100 * 100).mode == "RGB"


def test_every_image_form_is_accepted(tmp_path):
    im = Image.new("RGB", (64, 32), "red")
    path = tmp_path / "a.png"
    im.save(path)
    parts = [
        {"type": "image", "image": im},
        {"type": "image", "image": np.zeros((32, 64, 3), np.uint8)},
        {"type": "image", "image": str(path)},
        {"type": "image_url", "image_url": {"url": f"file://{path}"}},
        {"type": "image_url", "image_url": {"url": data_url(im)}},
        {"type": "text", "text": "what is this?"},
    ]
    messages, images = split_conversation([{"role": "user", "content": parts}], 16 * 16)
    assert len(images) == 5 and all(i.width * i.height <= 256 for i in images)
    assert [p["type"] for p in messages[0]["content"]] == ["image"] * 5 + ["text"]


def test_openai_messages_carry_fitted_data_urls():
    im = Image.new("RGB", (400, 400), "blue")
    out = to_openai_messages([{"role": "user", "content": [{"type": "image", "image": im}, {"type": "text", "text": "hi"}]}], 100 * 100)
    url = out[0]["content"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert decoded.size == (100, 100)
    web = to_openai_messages([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}], 10)
    assert web[0]["content"][0]["image_url"]["url"] == "https://x/y.png"


def test_unknown_parts_are_refused():
    with pytest.raises(ValueError, match="audio"):
        split_conversation([{"role": "user", "content": [{"type": "audio"}]}], 100)


def test_pil_messages_keep_order_and_fit():
    from rescap.backends.media import to_pil_messages

    a, b = Image.new("RGB", (300, 300), "red"), Image.new("RGB", (20, 20), "blue")
    conv = [{"role": "user", "content": [{"type": "image", "image": a}, {"type": "text", "text": "x"}, {"type": "image", "image": b}]}]
    parts = to_pil_messages(conv, 100 * 100)[0]["content"]
    assert [p["type"] for p in parts] == ["image_pil", "text", "image_pil"]
    assert parts[0]["image_pil"].size == (100, 100) and parts[2]["image_pil"].getpixel((0, 0)) == (0, 0, 255)


def test_exif_orientation_is_applied_for_the_model(tmp_path):
    from rescap.backends.media import load_image_part

    im = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif.tobytes())
    assert load_image_part({"type": "image", "image": str(path)}, 10**6).size == (100, 200)


def test_16_bit_and_single_channel_arrays():
    from rescap.backends.media import load_image_part

    ramp16 = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    got = np.asarray(load_image_part({"type": "image", "image": ramp16}, 10**6))
    assert abs(got.mean() - 127.5) < 2
    single = np.full((16, 16, 1), 200, np.uint8)
    assert np.asarray(load_image_part({"type": "image", "image": single}, 10**6))[0, 0].tolist() == [200, 200, 200]
    with pytest.raises(ValueError, match="NaN"):
        load_image_part({"type": "image", "image": np.full((8, 8), np.nan)}, 10**6)
