"""The ComfyUI node pack: its contract as ComfyUI (Comfy-Org/ComfyUI a125cd84b054a57729b5eecab930ca9408719832)
reads it, and the nodes called with ComfyUI-format tensors.

What ComfyUI does with a pack, from its source at that commit: ``nodes.py load_custom_node`` imports
the folder's ``__init__.py`` as a package (named from its path) and reads NODE_CLASS_MAPPINGS and
NODE_DISPLAY_NAME_MAPPINGS; ``execution.py`` calls ``getattr(obj, obj.FUNCTION)(**inputs)`` with
the inputs of INPUT_TYPES()'s "required"/"optional" sections by name; an input spec is a tuple
(type name or a list of combo choices, options); IMAGE is a (B, H, W, C) float32 tensor in [0, 1].
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import rescap
from rescap.comfyui import nodes
from rescap.testing.openai_standin import StandInServer

PACK = Path(__file__).resolve().parents[2] / "integrations" / "comfyui"
WIDGETS = {"INT", "FLOAT", "STRING", "BOOLEAN"}
SECTIONS = {"required", "optional", "hidden"}


def _load_pack():
    """The pack imported the way load_custom_node does: spec_from_file_location(folder name, __init__.py)."""
    spec = importlib.util.spec_from_file_location(PACK.name, PACK / "__init__.py", submodule_search_locations=[str(PACK)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK.name] = module
    spec.loader.exec_module(module)
    return module


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "images"


def _photo(h=96, w=128, seed=0) -> np.ndarray:
    """A crop of the shipped clean photo (``seed`` picks where), resized when larger than it."""
    full = Image.open(EXAMPLES / "astronaut_clean.png").convert("RGB")
    if h > full.height or w > full.width:
        full = full.resize((max(w, full.width), max(h, full.height)), Image.LANCZOS)
    top, left = (seed * 37) % (full.height - h + 1), (seed * 53) % (full.width - w + 1)
    return np.asarray(full)[top : top + h, left : left + w].copy()


def _comfy_image(*arrays: np.ndarray) -> torch.Tensor:
    """What LoadImage gives: float32 (B, H, W, C) in [0, 1]."""
    return torch.from_numpy(np.stack([a.astype(np.float32) / 255.0 for a in arrays]))


def test_the_pack_loads_as_comfyui_loads_it_and_its_contract_holds():
    pack = _load_pack()
    assert set(pack.NODE_CLASS_MAPPINGS) == set(pack.NODE_DISPLAY_NAME_MAPPINGS) == {"RescapEstimate", "RescapCaption", "RescapPrompt"}
    for name, cls in pack.NODE_CLASS_MAPPINGS.items():
        spec = cls.INPUT_TYPES()
        assert set(spec) <= SECTIONS and "required" in spec, name
        assert isinstance(cls.RETURN_TYPES, tuple) and all(isinstance(t, str) for t in cls.RETURN_TYPES)
        assert len(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)) == len(cls.RETURN_TYPES)
        assert len(getattr(cls, "OUTPUT_IS_LIST", cls.RETURN_TYPES)) == len(cls.RETURN_TYPES)
        assert isinstance(cls.CATEGORY, str) and cls.CATEGORY
        fn = getattr(cls(), cls.FUNCTION)
        params = inspect.signature(fn).parameters
        for section in ("required", "optional"):
            for key, value in spec.get(section, {}).items():
                assert key in params, (name, key)  # inputs go in as keyword arguments
                assert isinstance(value, tuple) and 1 <= len(value) <= 2
                kind, options = value[0], (value[1] if len(value) > 1 else {})
                if isinstance(kind, list):  # a combo: its default must be one of its choices
                    assert kind and all(isinstance(c, str) for c in kind)
                    assert options.get("default", kind[0]) in kind
                elif kind in WIDGETS and "default" in options:
                    d = options["default"]
                    assert options.get("min", d) <= d <= options.get("max", d) if kind in ("INT", "FLOAT") else True
                if section == "required" and params[key].default is not inspect.Parameter.empty:
                    raise AssertionError(f"{name}.{key} is required but has a default in the function")
        for key, p in params.items():  # every argument without a default is a required input
            if p.default is inspect.Parameter.empty:
                assert key in spec["required"], (name, key)


def test_the_pack_is_installable_by_the_registry_at_rescaps_version():
    config = tomllib.loads((PACK / "pyproject.toml").read_text())
    assert config["tool"]["comfy"]["PublisherId"] and config["tool"]["comfy"]["DisplayName"]
    assert config["project"]["version"] == rescap.__version__
    assert any(d.startswith("rescap") and d.endswith("==" + rescap.__version__) for d in config["project"]["dependencies"])
    assert (PACK / "requirements.txt").read_text().strip() == config["project"]["dependencies"][0]


def test_estimate_gives_one_report_per_image_of_the_batch():
    from rescap.degradation.estimate import estimate_degradation

    clean = np.asarray(Image.open(EXAMPLES / "astronaut_clean.png").convert("RGB"))
    noisy = np.asarray(Image.open(EXAMPLES / "astronaut_noise20.png").convert("RGB"))
    report, severity, as_json = nodes.RescapEstimate().estimate(_comfy_image(clean, noisy))
    assert len(report) == len(severity) == len(as_json) == 2
    expected = [estimate_degradation(a) for a in (clean, noisy)]  # the Python API on the same pixels
    assert [round(s, 6) for s in severity] == [round(r.overall_severity, 6) for r in expected]
    assert json.loads(as_json[1])["noise_sigma"] == pytest.approx(expected[1].noise_sigma)
    assert severity[1] > severity[0] and "noise" in report[1]


def test_tensors_convert_as_saveimage_writes_them():
    x = torch.tensor([[[[0.0, 0.5, 1.0], [0.999, 1.5, -0.2]]]])  # (1, 1, 2, 3)
    pixels = np.asarray(nodes.pictures_from_images(x)[0])
    # SaveImage: np.clip(255. * i.cpu().numpy(), 0, 255).astype(np.uint8)
    assert pixels.tolist() == [[[0, 127, 255], [254, 255, 0]]]


@pytest.fixture(scope="module")
def standin():
    with StandInServer(per_image=True) as server:
        yield server


def _caption_inputs(standin, **kw):
    return {"restorer": "supir", "vlm": "openai:standin-vlm", "richness": "auto", "max_tokens": 0, "mode": "chain",
            "tile_size": 0, "tile_stride": 512, "base_url": standin.url, "relevance": "off", **kw}  # fmt: skip


def test_caption_matches_the_python_api_for_each_image_and_feeds_supirs_conditioner(standin):
    from rescap.captioning.captioner import Captioner
    from rescap.backends import create_backend

    a, b = _photo(seed=3), _photo(seed=4)
    caption, positive, negative, restoration, captions = nodes.RescapCaption().caption(_comfy_image(a, b), **_caption_inputs(standin))
    direct = Captioner(create_backend("openai:standin-vlm", base_url=standin.url), restorer="supir", relevance="off").caption_batch(
        [Image.open(io.BytesIO(_png(x))) for x in (a, b)]
    )
    assert caption == [d.caption for d in direct] and positive == [d.positive_prompt for d in direct]
    assert negative == [d.negative_prompt for d in direct] and restoration == [d.restoration_prompt for d in direct]
    assert all(c for c in caption) and caption[0] != caption[1]
    # ComfyUI-SUPIR's batch path reads captions_list[i][0] and joins it to its positive prompt, no separator
    assert len(captions) == 2 and all(len(c) == 1 and c[0].startswith(d.caption.rstrip(".")) and c[0].endswith(". ") for c, d in zip(captions, direct))


def _png(array) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


def _supir_sampler_tiles(h_pixels, w_pixels, tile_size, tile_stride):
    """ComfyUI-SUPIR 0613a92: SUPIR_first_stage rounds sides down to multiples of 32, SUPIR_sample
    tiles the latent (pixels / 8) with tile_size // 8 and tile_stride // 8 (SUPIR's _sliding_windows)."""
    h, w = (h_pixels - h_pixels % 32) // 8, (w_pixels - w_pixels % 32) // 8
    t, s = tile_size // 8, tile_stride // 8
    rows = list(range(0, h - t + 1, s)) + ([h - t] if (h - t) % s else [])
    cols = list(range(0, w - t + 1, s)) + ([w - t] if (w - t) % s else [])
    return [(r, c) for r in rows for c in cols]


@pytest.mark.parametrize("size, stride, count", [(256, 128, 2 * 3), (128, 256, 2 * 3), (96, 100, 3 * 5)])
def test_tile_captions_match_supirs_sampler_tiles(standin, size, stride, count):
    photo = _photo(h=300, w=420, seed=5)  # not multiples of 32: the first stage resizes to 288 x 416
    *_, captions = nodes.RescapCaption().caption(_comfy_image(photo), **_caption_inputs(standin, tile_size=size, tile_stride=stride))
    assert len(captions) == len(_supir_sampler_tiles(300, 420, size, stride)) == count
    assert all(len(c) == 1 and c[0].endswith(". ") for c in captions)
    grid_picture, spec = nodes.supir_tile_grid(Image.fromarray(photo), size, stride)
    from rescap.captioning.tiles import sliding_windows

    boxes = sliding_windows(grid_picture.height, grid_picture.width, spec)
    assert [(b.top // 8, b.left // 8) for b in boxes] == _supir_sampler_tiles(300, 420, size, stride)  # same tiles, same order


def test_user_prompt_is_merged(standin):
    _, positive, *_, captions = nodes.RescapCaption().caption(_comfy_image(_photo(seed=6)), **_caption_inputs(standin, prompt="a photo of Kyoto"))
    assert positive[0].startswith("a photo of Kyoto") and captions[0][0].startswith("a photo of Kyoto")
    *_, tiled = nodes.RescapCaption().caption(_comfy_image(_photo(h=128, w=192, seed=6)), **_caption_inputs(standin, prompt="Kyoto", tile_size=64, tile_stride=64))
    assert len(tiled) == 2 * 3 and all(c[0].startswith("Kyoto") and c[0].endswith(". ") for c in tiled)


def test_prompt_node_reports_tokens_as_clips_reference_tokenizer_counts():
    open_clip = pytest.importorskip("open_clip")  # CLIP's reference tokenizer counts the positive independently
    pos, neg, tokens, record = nodes.RescapPrompt().prompt("A red fox in deep snow", "supir")
    count = int((open_clip.tokenize([pos])[0] != 0).sum()) - 2  # without the start and end tokens
    assert f"prompt {count}/75 tokens" in tokens and json.loads(record)["positive_prompt"] == pos and neg


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nodes.RescapEstimate().estimate(torch.zeros(2, 3, 5)), "expected an IMAGE tensor"),
        (lambda: nodes.RescapCaption().caption(_comfy_image(_photo()), "supir", "nosuch:model", "auto", 0, "chain", 0, 512), "nosuch"),
        (lambda: nodes.RescapCaption().caption(_comfy_image(_photo(), _photo()), "supir", "none", "auto", 0, "chain", 256, 128), "one image at a time"),
        (lambda: nodes.RescapPrompt().prompt("a fox", "supirr"), "supir"),
    ],
)
def test_errors_are_one_line_node_errors(call, message):
    with pytest.raises(nodes.RescapNodeError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_degradation_only_without_a_vlm():
    caption, positive, negative, restoration, captions = nodes.RescapCaption().caption(
        _comfy_image(np.asarray(Image.open(EXAMPLES / "astronaut_noise20.png").convert("RGB"))),
        "supir", "none", "auto", 0, "chain", 0, 512,
    )
    assert caption == [""] and "noise" in (negative[0] + restoration[0]).lower() and captions == [[""]]


# The inputs of the ComfyUI-SUPIR nodes the example uses, read from kijai/ComfyUI-SUPIR at
# 0613a9239f49b062adba6c12072942e1724a7cbd (nodes_v2.py INPUT_TYPES, required + optional), and
# their outputs (RETURN_TYPES); ComfyUI's own nodes from nodes.py at a125cd8.
OTHER_NODES = {
    "CheckpointLoaderSimple": ({"ckpt_name"}, 3),
    "LoadImage": ({"image"}, 2),
    "ImageScaleBy": ({"image", "upscale_method", "scale_by"}, 1),
    "SaveImage": ({"images", "filename_prefix"}, 0),
    "SUPIR_model_loader_v2": ({"model", "clip", "vae", "supir_model", "fp8_unet", "diffusion_dtype", "high_vram"}, 2),
    "SUPIR_first_stage": ({"SUPIR_VAE", "image", "use_tiled_vae", "encoder_tile_size", "decoder_tile_size", "encoder_dtype"}, 3),
    "SUPIR_encode": ({"SUPIR_VAE", "image", "use_tiled_vae", "encoder_tile_size", "encoder_dtype"}, 1),
    "SUPIR_conditioner": ({"SUPIR_model", "latents", "positive_prompt", "negative_prompt", "captions"}, 2),
    "SUPIR_sample": ({"SUPIR_model", "latents", "positive", "negative", "seed", "steps", "cfg_scale_start", "cfg_scale_end", "EDM_s_churn",
                      "s_noise", "DPMPP_eta", "control_scale_start", "control_scale_end", "restore_cfg", "keep_model_loaded", "sampler",
                      "sampler_tile_size", "sampler_tile_stride"}, 1),  # fmt: skip
    "SUPIR_decode": ({"SUPIR_VAE", "latents", "use_tiled_vae", "decoder_tile_size", "decoder_dtype"}, 1),
}


def test_the_example_workflow_wires_rescap_caption_into_supirs_conditioner():
    workflow = json.loads((PACK / "workflows" / "rescap_supir_tiles_api.json").read_text())
    for node_id, node in workflow.items():
        cls = nodes.NODE_CLASS_MAPPINGS.get(node["class_type"])
        if cls is not None:
            spec = cls.INPUT_TYPES()
            allowed, outputs = set(spec["required"]) | set(spec.get("optional", {})), len(cls.RETURN_TYPES)
            assert set(spec["required"]) <= set(node["inputs"]), node_id
            for key, value in node["inputs"].items():
                kind = (spec["required"].get(key) or spec["optional"][key])[0]
                if isinstance(kind, list) and not isinstance(value, list):
                    assert value in kind, (node_id, key)
        else:
            allowed, outputs = OTHER_NODES[node["class_type"]]
        assert set(node["inputs"]) <= allowed, node_id
        for value in node["inputs"].values():
            if isinstance(value, list):  # a link: [source node id, output index]
                source = workflow[value[0]]["class_type"]
                count = len(nodes.NODE_CLASS_MAPPINGS[source].RETURN_TYPES) if source in nodes.NODE_CLASS_MAPPINGS else OTHER_NODES[source][1]
                assert 0 <= value[1] < count, (node_id, value)
    caption = next(n for n in workflow.values() if n["class_type"] == "RescapCaption")
    sample = next(n for n in workflow.values() if n["class_type"] == "SUPIR_sample")
    conditioner = next(n for n in workflow.values() if n["class_type"] == "SUPIR_conditioner")
    assert nodes.RescapCaption.RETURN_NAMES[conditioner["inputs"]["captions"][1]] == "captions"
    # the caption node sees the image the first stage gets, with the sampler's tile geometry
    first = next(k for k, n in workflow.items() if n["class_type"] == "SUPIR_first_stage")
    assert caption["inputs"]["image"] == workflow[first]["inputs"]["image"]
    assert (caption["inputs"]["tile_size"], caption["inputs"]["tile_stride"]) == (sample["inputs"]["sampler_tile_size"], sample["inputs"]["sampler_tile_stride"])
