"""One way to decode: 16-bit and float images reach restorers and VLMs scaled, not white, from
files and tar-member bytes alike; bomb limits are checked per call, Pillow's global left alone."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.captioning.pictures import load_picture
from rescap.images import _pillow_limit, open_rgb
from rescap.limits import DEFAULT_MAX_IMAGE_PIXELS

GRADIENT16 = np.linspace(0, 65535, 96 * 96).reshape(96, 96).astype(np.uint16)


def png16() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(GRADIENT16).save(buf, format="PNG")
    return buf.getvalue()


def tiff_float() -> bytes:
    buf = io.BytesIO()
    Image.fromarray((GRADIENT16 / 65535.0).astype(np.float32)).save(buf, format="TIFF")
    return buf.getvalue()


def check_scaled(image) -> None:
    pixels = np.asarray(image, dtype=np.float64)
    assert image.mode == "RGB"
    assert 110 < pixels.mean() < 145 and (pixels == 255).mean() < 0.05  # the gradient, not a white sheet


@pytest.mark.parametrize("data", [png16, tiff_float], ids=["16-bit PNG", "float TIFF"])
def test_deep_images_are_scaled_from_files_and_from_bytes(data, tmp_path):
    raw = data()
    path = tmp_path / "deep.img"
    path.write_bytes(raw)
    check_scaled(open_rgb(path))
    check_scaled(load_picture(raw, 448 * 448))  # tar-shard members arrive as bytes


def test_restore_hands_the_restorer_a_scaled_16_bit_image(tmp_path, monkeypatch):
    from rescap.adapters.diffusers_pipeline import DiffusersAdapter
    from rescap.cli.app import app

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "deep.png").write_bytes(png16())
    received = []
    monkeypatch.setattr(DiffusersAdapter, "load", lambda self, path, device="cpu", **k: "runner")
    monkeypatch.setattr(DiffusersAdapter, "restore", lambda self, runner, image, prompts, **k: received.append(image) or image)
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--restorer", "diffusers",
                                      "--restorer-model", "x", "--no-vlm"])  # fmt: skip
    assert result.exit_code == 0, result.output
    check_scaled(received[0])


def test_recaption_reads_deep_images_from_tar_shards(tmp_path):
    from rescap.captioning.captioner import Captioner
    from rescap.recaption.engine import run_local
    from rescap.recaption.sources import iter_source
    from rescap.recaption.writers import JsonlWriter
    from rescap.testing.scripted import ScriptedBackend

    with tarfile.open(tmp_path / "shard.tar", "w") as tar:
        for name, data in (("a.png", png16()), ("b.tif", tiff_float())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    seen = []

    def answer(prompt, step):
        return json.dumps({"caption": "A grey gradient."} if step == "caption" else
                          {"assessment": "-", "noise": "none", "blur": "none", "compression": "none", "resolution": "none", "other": []}
                          if step == "degradation" else {"scene": "-", "subjects": []})  # fmt: skip

    class Watching(ScriptedBackend):
        def _generate(self, conversations, params):
            seen.extend(part["image"] for c in conversations for m in c for part in m["content"] if isinstance(part, dict) and "image" in part)
            return super()._generate(conversations, params)

    writer = JsonlWriter(tmp_path / "r.jsonl")
    summary = run_local(iter_source(tmp_path / "shard.tar"), writer, Captioner(Watching(answer), relevance=None), batch_size=2)
    writer.close()
    assert summary.done == 2 and summary.failed == 0
    assert len(seen) >= 2
    for image in seen[:2]:
        check_scaled(image)


def test_the_bomb_limit_is_per_call_and_pillows_global_is_left_alone():
    before = Image.MAX_IMAGE_PIXELS
    with _pillow_limit(DEFAULT_MAX_IMAGE_PIXELS):
        assert Image.MAX_IMAGE_PIXELS == before  # never switched off for other threads
    with _pillow_limit(4 * DEFAULT_MAX_IMAGE_PIXELS):  # a limit the user raised above Pillow's
        assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS >= 2 * DEFAULT_MAX_IMAGE_PIXELS
    assert Image.MAX_IMAGE_PIXELS == before


def test_a_large_deep_image_reaches_the_vlm_whole_not_cropped():
    wide = np.zeros((600, 2400), np.uint16)
    wide[:, :100] = 65535  # a white band at the left edge: a centred crop would lose it
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, format="PNG")
    picture = load_picture(buf.getvalue(), 448 * 448)
    assert abs(picture.size[0] / picture.size[1] - 4.0) < 0.05  # the whole 4:1 picture
    assert np.asarray(picture)[:, :5].mean() > 200
