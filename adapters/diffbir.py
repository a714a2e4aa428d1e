"""DiffBIR: "DiffBIR: Towards Blind Image Restoration with Generative Diffusion Prior" (Lin et al.,
ECCV 2024). Upstream https://github.com/XPixelGroup/DiffBIR, verified at commit 3f8b530.

DiffBIR asks a captioner object for a caption (``captioner(image: PIL.Image) -> str``, created in
``InferenceLoop.load_captioner``; built-ins: none, llava, ram), then joins it with its positive
prompt as ``", ".join([t for t in [caption, pos_prompt] if t])`` (empty strings dropped); the
negative prompt goes as is. Defaults (inference.py, v2.1): pos_prompt = SUPIR's a_prompt, neg_prompt
= SUPIR's n_prompt ending in "over-smooth."; the v2 README runs ``--pos_prompt ''`` with neg_prompt
"low quality, blurry, low-resolution, noisy, unsharp, weird textures". OpenCLIP, 77 tokens.
Upstream keeps a caption's final "." before the join ("snow., Cinematic"); rescap drops it. Not
modelled (rescap does not run DiffBIR): cfg_scale 6.0 in inference.py, 8 in the v2.1 README and
gradio, 4 in the v2 README.

``RescapCaptioner`` is such a captioner object: ``loop.captioner = RescapCaptioner(...)`` in a
DiffBIR process replaces LLaVA with rescap's budgeted, filtered captions.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("diffbir", version="v2").final_prompts_for("a red fox in the snow").positive
    'a red fox in the snow'
"""

from __future__ import annotations

from typing import Any

from ..text.phrases import strip_end_mark
from .base import OPENCLIP_H, PromptSlot, RestorerAdapter
from .supir import SUPIR_A_PROMPT, SUPIR_N_PROMPT

DIFFBIR_NEG_PROMPT = SUPIR_N_PROMPT + "."  # inference.py's default ends with a period, SUPIR's does not
V2_NEG_PROMPT = "low quality, blurry, low-resolution, noisy, unsharp, weird textures"


class DiffBIRAdapter(RestorerAdapter):
    name = "diffbir"
    description = "DiffBIR v2.1 (SD2.1, OpenCLIP 77): ', '.join([caption, pos_prompt]); version='v2': no pos_prompt"
    paper = "Lin et al., DiffBIR: Towards Blind Image Restoration with Generative Diffusion Prior, ECCV 2024"
    repository = "https://github.com/XPixelGroup/DiffBIR"
    commit = "3f8b530"
    slots = (PromptSlot(encoders=(OPENCLIP_H,)),)
    default_quality_prompt = SUPIR_A_PROMPT
    default_negative_prompt = DIFFBIR_NEG_PROMPT
    reads_files = "no per-image prompt files (inference.py captions itself; RescapCaptioner replaces its captioner)"

    def __init__(self, version: str = "v2.1", **options: Any):
        if version not in ("v2", "v2.1"):
            raise ValueError("DiffBIR version must be v2 or v2.1")
        super().__init__(**options)
        self.version = version
        if version == "v2":  # the v2 README: --pos_prompt '' with its own neg_prompt
            self.quality_prompt, self.negative_prompt = "", V2_NEG_PROMPT

    def prepare_caption(self, caption: str) -> str:
        return strip_end_mark(caption)  # it is followed by ", " and the pos_prompt

    def join(self, caption: str, quality: str) -> str:
        return ", ".join(t for t in [caption, quality] if t)  # DiffBIR's own join


class RescapCaptioner:
    """A DiffBIR captioner (``__call__(image) -> str``) backed by a rescap ``Captioner``.

    The caption is returned alone: DiffBIR joins it with its own pos_prompt. Build the rescap
    captioner with ``restorer="diffbir"`` so the caption leaves room for that prompt.
    """

    def __init__(self, captioner: Any = None, device: str | None = None, **captioner_options: Any):
        from ..captioning.captioner import Captioner

        if captioner is None or isinstance(captioner, str):
            captioner_options.setdefault("restorer", "diffbir")
            captioner = Captioner(captioner, **captioner_options) if captioner else Captioner(**captioner_options)
        self.captioner = captioner
        self.device = device

    def __call__(self, image: Any) -> str:
        return self.captioner.caption(image).caption
