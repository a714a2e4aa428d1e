"""Per-tile captions: SUPIR's tile geometry and order, each tile captioned from its own crop with
the whole image as context, flat tiles kept short, every tile of every image in one batch."""

import json

import numpy as np
import pytest
from PIL import Image

from rescap.captioning.captioner import Captioner
from rescap.captioning.tiles import TileSpec, sliding_windows
from rescap.degradation.synthesize import add_gaussian_noise
from rescap.testing.scripted import ScriptedBackend

LONG = (
    "A red fox standing in tall golden grass, with a dense green forest behind it, soft morning light on its "
    "thick orange fur, dew drops on the blades of grass and a wooden fence on the left."
)


def supir_sliding_windows(h, w, tile_size, tile_stride):
    """Fanghua-Yu/SUPIR@bda91af2000042f8bedfec8897d92917e67c1d88, sgm/modules/diffusionmodules/sampling.py,
    _sliding_windows (lines 753-766), transcribed: the reference the geometry must equal."""
    hi_list = list(range(0, h - tile_size + 1, tile_stride))
    if (h - tile_size) % tile_stride != 0:
        hi_list.append(h - tile_size)
    wi_list = list(range(0, w - tile_size + 1, tile_stride))
    if (w - tile_size) % tile_stride != 0:
        wi_list.append(w - tile_size)
    coords = []
    for hi in hi_list:
        for wi in wi_list:
            coords.append((hi, hi + tile_size, wi, wi + tile_size))
    return coords


@pytest.mark.parametrize("h, w, size, stride", [(1024, 1024, 1024, 512), (1536, 2048, 1024, 512), (1000, 1300, 512, 256),
                                                 (640, 480, 128, 64), (777, 901, 200, 150), (512, 512, 96, 96)])  # fmt: skip
def test_geometry_and_order_are_supirs(h, w, size, stride):
    got = [(t.top, t.bottom, t.left, t.right) for t in sliding_windows(h, w, TileSpec(size=size, stride=stride))]
    assert got == supir_sliding_windows(h, w, size, stride)
    tiles = sliding_windows(h, w, TileSpec(size=size, stride=stride))
    assert [t.index for t in tiles] == list(range(len(tiles)))
    assert all(t.index == t.row * (max(x.column for x in tiles) + 1) + t.column for t in tiles)


def test_a_side_shorter_than_the_tile_gets_one_tile():
    tiles = sliding_windows(300, 2000, TileSpec(size=512, stride=256))
    assert {(t.top, t.bottom) for t in tiles} == {(0, 300)}
    assert [t.left for t in tiles] == [0, 256, 512, 768, 1024, 1280, 1488]


@pytest.mark.parametrize("text", ["0", "64:0", "64:128", "a:b", "64:"])
def test_bad_tile_specs_are_refused(text):
    if text == "64:":
        assert TileSpec.parse(text).stride == 32  # empty stride: half the size
        return
    with pytest.raises(ValueError):
        TileSpec.parse(text)


def _sky_over_texture(astronaut):
    """Top half a uniform sky (a slight gradient), bottom half a photo."""
    photo = np.asarray(Image.fromarray(astronaut).resize((256, 128)))
    sky = np.zeros((128, 256, 3), np.uint8) + np.array([110, 160, 225], np.uint8)
    sky = (sky + np.linspace(0, 12, 256)[None, :, None]).astype(np.uint8)
    # noisy, so that the whole image's severity asks for a rich caption (the sky must still be flat)
    return add_gaussian_noise(np.concatenate([sky, photo], axis=0), 15, seed=3)


def test_tiles_are_captioned_from_their_crops_with_the_whole_as_context(astronaut, tmp_path):
    prompts = []

    def answer(prompt, step):
        prompts.append((step, prompt))
        if step == "degradation":
            return json.dumps({"assessment": "clean", "noise": "none", "blur": "none", "compression": "none", "resolution": "none", "other": []})
        if step == "content":
            return json.dumps({"scene": "a portrait", "subjects": [{"name": "grass", "area": "large", "category": "benefits_from_detail"}]})
        return json.dumps({"caption": LONG})  # real VLMs ignore length requests: control must cut

    backend = ScriptedBackend(answer)
    paths = []
    for n in range(2):
        path = tmp_path / f"img{n}.png"
        Image.fromarray(_sky_over_texture(astronaut)).save(path)
        paths.append(str(path))
    captioner = Captioner(backend, restorer="supir", relevance=None)
    results = captioner.caption_tiles(paths, "128:128")
    assert [len(r.tiles) for r in results] == [4, 4]
    # the degradation step ran for the two whole images only; content and caption once for all 8 tiles
    assert backend.calls == [("degradation", 2), ("content", 2), ("caption", 2), ("content", 8), ("caption", 8)]
    tile_prompts = [p for step, p in prompts if step == "caption"][2:]
    whole = results[0].bundle.caption.rstrip(".")
    assert all("one tile cut from a larger photo" in p and whole in p for p in tile_prompts)
    r = results[0]
    flags = [t.flat for t in r.tiles]
    assert flags == [True, True, False, False]  # the sky row, then the photo row
    flat_tokens = [t.caption_tokens for t in r.tiles if t.flat]
    textured_tokens = [t.caption_tokens for t in r.tiles if not t.flat]
    assert max(flat_tokens) * 2 <= min(textured_tokens)  # a few words for the sky
    assert sum("nearly uniform" in p for p in tile_prompts) == 4
    # ComfyUI-SUPIR glues caption[0] to its positive prompt with no separator (nodes_v2.py
    # SUPIR_conditioner.condition: ''.join([caption[0], positive_prompt])): each must end in ". "
    assert [c[0].rstrip() for c in r.supir_captions()] == [t.caption.rstrip(".") + "." for t in r.tiles]
    assert all(len(c) == 1 and c[0].endswith(". ") for c in r.supir_captions())


def test_a_failing_tile_carries_its_error_and_the_others_go_on(astronaut, tmp_path):
    calls = {"n": 0}

    def answer(prompt, step):
        if step == "caption" and "one tile cut" in prompt:
            calls["n"] += 1
            if calls["n"] == 2:
                return None  # this tile's VLM call fails
        if step == "degradation":
            return json.dumps({"assessment": "clean", "noise": "none", "blur": "none", "compression": "none", "resolution": "none", "other": []})
        if step == "content":
            return json.dumps({"scene": "a portrait", "subjects": [{"name": "a face", "area": "large", "category": "harmed_by_detail"}]})
        return json.dumps({"caption": "A woman in a white space suit in front of a flag."})

    path = tmp_path / "a.png"
    Image.fromarray(_sky_over_texture(astronaut)).save(path)
    result = Captioner(ScriptedBackend(answer), restorer="supir", relevance=None).caption_tiles([str(path)], TileSpec(size=128, stride=128))[0]
    errors = [t.error for t in result.tiles]
    assert sum(e is not None for e in errors) == 1 and errors[1] is not None
    assert all(t.caption for t in result.tiles if t.error is None)
