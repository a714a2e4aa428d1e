"""The node classes (ComfyUI's V1 node API at a125cd84b054a57729b5eecab930ca9408719832, ``nodes.py``
and ``execution.py``): ComfyUI calls ``getattr(node(), FUNCTION)(**inputs)`` and reads a tuple of
outputs; an output in ``OUTPUT_IS_LIST`` is a list, one item per image of the batch, and ComfyUI
runs the nodes below it once per item. A node's exception is what ComfyUI shows the user, so every
failure is one ``RescapNodeError`` line.

Example:
    >>> import numpy as np
    >>> report, severity, _ = RescapEstimate().estimate(np.full((1, 64, 64, 3), 0.5, np.float32))
    >>> report[0].startswith("noise"), 0 <= severity[0] <= 1
    (True, True)
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, get_args

from ..errors import one_line
from .images import pictures_from_images

CATEGORY = "rescap"
NO_VLM = "none"
MAX_LOADED = 2  # VLMs kept loaded across runs (two Caption nodes with different models do not thrash)
# ComfyUI-SUPIR (kijai/ComfyUI-SUPIR 0613a9239f49b062adba6c12072942e1724a7cbd, nodes_v2.py):
# SUPIR_first_stage resizes the image to sides that are multiples of 32 (bicubic), and SUPIR_sample
# tiles its latents with sampler_tile_size // 8 and sampler_tile_stride // 8 (defaults 1024, 512).
SUPIR_SIDE_MULTIPLE = 32
LATENT_SCALE = 8


class RescapNodeError(RuntimeError):
    """A one-line message ComfyUI shows on the node (whitespace collapsed here, whatever its source)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def _restorers() -> list[str]:
    from ..adapters.registry import available_adapters

    return sorted(available_adapters())


_services: OrderedDict[tuple, Any] = OrderedDict()


def _service(vlm: str, base_url: str, api_key_env: str, relevance: str):
    """The loaded VLM (a ``CaptionService``), made once per settings and reused across runs."""
    from ..serve.service import CaptionService
    from ..serve.settings import ServeSettings

    vlm = (vlm or "").strip()
    vlm = "" if vlm.lower() == NO_VLM else vlm  # "none", "None" and "" are one service
    key = (vlm, base_url.strip(), api_key_env.strip(), relevance)
    if key in _services:
        _services.move_to_end(key)
        return _services[key]
    options = {"api_key_env": key[2]} if key[2] else {}
    settings = ServeSettings(vlm=vlm or None, base_url=key[1] or None, backend_options=options,
                             relevance=relevance, estimate_workers=0)  # fmt: skip
    service = CaptionService(settings)
    _services[key] = service
    while len(_services) > MAX_LOADED:
        _services.popitem(last=False)[1].close()
    return service


def _fail(exc: BaseException) -> RescapNodeError:
    return RescapNodeError(one_line(exc))


def _richness(richness: str, max_tokens: int) -> Any:
    return int(max_tokens) if max_tokens and max_tokens > 0 else richness


def supir_tile_grid(picture, tile_size: int, tile_stride: int):
    """The picture as ComfyUI-SUPIR's sampler sees it (sides down to multiples of 32) and the
    ``TileSpec`` of its latent tiles in pixels, so tile i here is tile i of SUPIR_sample."""
    from PIL import Image

    from ..captioning.tiles import TileSpec

    w, h = picture.size
    w2, h2 = max(w - w % SUPIR_SIDE_MULTIPLE, SUPIR_SIDE_MULTIPLE), max(h - h % SUPIR_SIDE_MULTIPLE, SUPIR_SIDE_MULTIPLE)
    if (w2, h2) != (w, h):
        picture = picture.resize((w2, h2), Image.BICUBIC)
    size = max(tile_size // LATENT_SCALE, 1) * LATENT_SCALE
    stride = max(tile_stride // LATENT_SCALE, 1) * LATENT_SCALE  # a stride over the size too: the sampler takes it as given
    return picture, TileSpec(size=size, stride=stride)


class RescapEstimate:
    """IMAGE -> the degradation report (one line, and JSON) and the overall severity, per image."""

    DESCRIPTION = "rescap's degradation estimate: noise, blur, JPEG, scale, exposure, haze, colour cast ('?' = not observed)."
    CATEGORY = CATEGORY
    FUNCTION = "estimate"
    RETURN_TYPES = ("STRING", "FLOAT", "STRING")
    RETURN_NAMES = ("report", "severity", "report_json")
    OUTPUT_IS_LIST = (True, True, True)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE", {"tooltip": "one image or a batch: one report per image"})}}

    def estimate(self, image):
        from ..cli.degradation_view import one_line as reading
        from ..degradation.estimate import estimate_degradation

        reports = []
        for n, picture in enumerate(_pictures(image)):
            try:
                reports.append(estimate_degradation(picture))
            except Exception as exc:
                raise RescapNodeError(f"image {n + 1}: {_fail(exc)}") from None
        return ([reading(r) for r in reports], [float(r.overall_severity) for r in reports], [r.model_dump_json() for r in reports])


class RescapCaption:
    """IMAGE -> caption, positive, negative and restoration prompts per image, and the captions in
    the form ComfyUI-SUPIR's ``SUPIR_conditioner`` takes (per tile with ``tile_size`` > 0)."""

    DESCRIPTION = (
        "rescap's degradation-aware caption for a restorer. captions: connect to SUPIR Conditioner's captions input "
        "(one per image, or one per sampler tile when tile_size > 0: feed the image SUPIR First Stage gets and use "
        "SUPIR Sampler's tile size and stride). For a batch into SUPIR Conditioner connect captions only: a per-image "
        "output such as negative makes ComfyUI run the conditioner once per image."
    )
    CATEGORY = CATEGORY
    FUNCTION = "caption"
    RETURN_TYPES = ("STRING", "STRING", "STRING", "STRING", "STRING")
    RETURN_NAMES = ("caption", "positive", "negative", "restoration_prompt", "captions")
    OUTPUT_IS_LIST = (True, True, True, True, False)

    @classmethod
    def INPUT_TYPES(cls):
        from ..captioning.config import Mode
        from ..cli.options import DEFAULT_VLM
        from ..control.richness import NAMED_TOKENS

        return {
            "required": {
                "image": ("IMAGE",),
                "restorer": (_restorers(), {"default": "supir"}),
                "vlm": ("STRING", {"default": DEFAULT_VLM, "tooltip": "source:model (transformers:<hub id or folder>, vllm:<...>, openai:<name>) or none"}),
                "richness": (["auto", *NAMED_TOKENS], {"default": "auto"}),
                "max_tokens": ("INT", {"default": 0, "min": 0, "max": 4096, "tooltip": "0: richness decides; N: a cap of N tokens"}),
                "mode": (list(get_args(Mode)), {"default": "chain"}),
                "tile_size": ("INT", {"default": 0, "min": 0, "max": 8192, "step": 32, "tooltip": "0: whole image; else SUPIR Sampler's sampler_tile_size"}),
                "tile_stride": ("INT", {"default": 512, "min": 32, "max": 8192, "step": 32}),
            },
            "optional": {
                "prompt": ("STRING", {"multiline": True, "default": "", "tooltip": "your own text, merged with every caption"}),
                "base_url": ("STRING", {"default": "", "tooltip": "OpenAI-compatible server for openai: models"}),
                "api_key_env": ("STRING", {"default": "", "tooltip": "environment variable holding that server's key"}),
                "relevance": ("STRING", {"default": "auto", "tooltip": "CLIP relevance filter: auto, off, or a CLIP hub id/folder"}),
            },
        }  # fmt: skip

    def caption(self, image, restorer, vlm, richness, max_tokens, mode, tile_size, tile_stride, prompt="", base_url="", api_key_env="", relevance="auto"):
        from ..captioning.bundle import CaptionFailure
        from ..captioning.prompt_record import prompt_record
        from ..captioning.tiles import supir_captions

        pictures = _pictures(image)
        try:
            captioner = _service(vlm, base_url, api_key_env, relevance).captioner(restorer, _richness(richness, max_tokens), mode)
        except Exception as exc:
            raise _fail(exc) from None
        if tile_size > 0 and len(pictures) > 1:
            raise RescapNodeError("per-tile captions are for one image at a time (ComfyUI-SUPIR tiles one image); set tile_size 0 for a batch")
        try:
            if tile_size > 0:
                picture, spec = supir_tile_grid(pictures[0], tile_size, tile_stride)
                results = captioner.caption_tiles([picture], spec)
            else:
                results = captioner.caption_batch(pictures)
        except Exception as exc:
            raise _fail(exc) from None
        for n, result in enumerate(results):
            if isinstance(result, CaptionFailure):
                raise RescapNodeError(f"image {n + 1}: {result.stage}: {result.error}")
            for tile in getattr(result, "tiles", []):  # a tile the VLM failed on would reach SUPIR as ""
                if tile.error:
                    raise RescapNodeError(f"tile {tile.box.index}: {tile.error}")
        bundles = [getattr(r, "bundle", r) for r in results]
        user = prompt if prompt.strip() else None
        adapter = captioner.adapter
        # with the user's text, each bundle's strings are merged once, as --prompt merges them
        finals = [prompt_record(adapter, b.caption, b.negative_prompt, b.restoration_prompt, user) if user else None for b in bundles]
        positive = [f["positive_prompt"] if f else b.positive_prompt for b, f in zip(bundles, finals)]
        negative = [f["negative_prompt"] if f else b.negative_prompt for b, f in zip(bundles, finals)]
        # the captions SUPIR's conditioner reads carry the user's text too
        if tile_size > 0:
            texts = [prompt_record(adapter, t.caption, user_prompt=user)["caption"] if user else t.caption for t in results[0].tiles]
        else:
            texts = [f["caption"] if f else b.caption for b, f in zip(bundles, finals)]
        return ([b.caption for b in bundles], positive, negative, [b.restoration_prompt for b in bundles], supir_captions(texts))


class RescapPrompt:
    """caption STRING + restorer -> the final strings and a token report (what ``rescap prompt`` prints)."""

    DESCRIPTION = "The exact strings a restorer gets for a caption, and their tokens against each text window."
    CATEGORY = CATEGORY
    FUNCTION = "prompt"
    RETURN_TYPES = ("STRING", "STRING", "STRING", "STRING")
    RETURN_NAMES = ("positive", "negative", "tokens", "record_json")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {"caption": ("STRING", {"multiline": True, "default": ""}), "restorer": (_restorers(), {"default": "supir"})},
            "optional": {"prompt": ("STRING", {"multiline": True, "default": ""}), "negative": ("STRING", {"multiline": True, "default": ""})},
        }

    def prompt(self, caption, restorer, prompt="", negative=""):
        from ..adapters.registry import get_adapter
        from ..captioning.prompt_record import prompt_record, token_report

        try:
            record = prompt_record(get_adapter(restorer), caption, user_prompt=prompt or None, user_negative=negative or None)
        except Exception as exc:
            raise _fail(exc) from None
        return (record["positive_prompt"], record["negative_prompt"], token_report(record), json.dumps(record))


def _pictures(image) -> list:
    try:
        return pictures_from_images(image)
    except ValueError as exc:
        raise RescapNodeError(str(exc)) from None


NODE_CLASS_MAPPINGS = {"RescapEstimate": RescapEstimate, "RescapCaption": RescapCaption, "RescapPrompt": RescapPrompt}
NODE_DISPLAY_NAME_MAPPINGS = {"RescapEstimate": "Rescap Estimate", "RescapCaption": "Rescap Caption", "RescapPrompt": "Rescap Prompt"}
