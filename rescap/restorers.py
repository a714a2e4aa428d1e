"""How each restorer takes text: its encoder window, its own quality and negative prompts, how it
joins them with a caption, and whether it wants sentences or tags.

The captioner uses these to budget captions (a long caption silently pushes a restorer's quality
prompt out of a 77-token CLIP window); the restorer adapters build the exact final strings from
them. Defaults follow each upstream repository (see ``rescap.adapters`` for the commits).

Example:
    >>> from rescap.restorers import get_restorer
    >>> supir = get_restorer("supir")
    >>> supir.window, supir.caption_style
    (77, 'sentence')
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict

SUPIR_A_PROMPT = (
    "Cinematic, High Contrast, highly detailed, taken using a Canon EOS R camera, hyper detailed photo - "
    "realistic maximum detail, 32k, Color Grading, ultra HD, extreme meticulous detailing, skin pore detailing, "
    "hyper sharpness, perfect without deformations."
)
SUPIR_N_PROMPT = (
    "painting, oil painting, illustration, drawing, art, sketch, oil painting, cartoon, CG Style, 3D render, "
    "unreal engine, blurring, dirty, messy, worst quality, low quality, frames, watermark, signature, "
    "jpeg artifacts, deformed, lowres, over-smooth"
)
SD_ADDED_PROMPT = "clean, high-resolution, 8k"


class RestorerProfile(BaseModel):
    """What a restorer's text encoder accepts and what it adds to the caption."""

    model_config = ConfigDict(frozen=True)

    name: str
    window: int  # tokens of its text encoder, special tokens included
    special_tokens: int = 2  # start/end tokens inside the window
    tokenizer: Literal["clip", "t5"] = "clip"
    quality_prompt: str = ""  # appended to the caption by the restorer itself
    negative_prompt: str = ""
    joiner: str = ", "  # between caption and quality prompt ("" when the restorer glues them)
    caption_style: Literal["sentence", "tags"] = "sentence"
    description: str = ""

    @property
    def caption_window(self) -> int:
        """Tokens left for text once the special tokens are counted."""
        return self.window - self.special_tokens


_PROFILES = {
    p.name: p
    for p in (
        RestorerProfile(
            name="supir", window=77, quality_prompt=SUPIR_A_PROMPT, negative_prompt=SUPIR_N_PROMPT, joiner="",
            description="SUPIR (SDXL; CLIP-L + OpenCLIP bigG): caption + a_prompt, no separator",
        ),
        RestorerProfile(
            name="seesr", window=77, quality_prompt=SD_ADDED_PROMPT, caption_style="tags",
            negative_prompt="dotted, noise, blur, lowres, smooth",
            description="SeeSR (SD2-base): tags, prompt and added_prompt joined by commas",
        ),
        RestorerProfile(
            name="pasd", window=77, quality_prompt=SD_ADDED_PROMPT, joiner="",
            negative_prompt="blurry, dotted, noise, raster lines, unclear, lowres, over-smoothed",
            description="PASD (SD1.5): caption + added_prompt, no separator",
        ),
        RestorerProfile(
            name="diffbir", window=77, quality_prompt=SUPIR_A_PROMPT, negative_prompt=SUPIR_N_PROMPT,
            description="DiffBIR v2.1 (SD2.1, OpenCLIP): ', '.join([caption, pos_prompt])",
        ),
        RestorerProfile(
            name="osediff", window=77, caption_style="tags",
            description="OSEDiff (SD2.1, one step): DAPE-style tags",
        ),
        RestorerProfile(name="s3diff", window=77, description="S3Diff (SD-Turbo): one prompt for all images"),
        RestorerProfile(name="hypir", window=77, description="HYPIR (SD2.1): the prompt alone, per-image text files"),
        RestorerProfile(
            name="spire", window=77,
            description="SPIRE: semantic prompt plus a numeric restoration prompt",
        ),
        RestorerProfile(
            name="dreamclear", window=120, special_tokens=1, tokenizer="t5",
            description="DreamClear (PixArt DiT, T5-XXL 120 tokens): the caption alone",
        ),
        RestorerProfile(name="sd", window=77, description="any Stable Diffusion pipeline: the caption alone"),
    )  # fmt: skip
}
DEFAULT_RESTORER = "sd"


def restorer_names() -> list[str]:
    return sorted(_PROFILES)


def get_restorer(name: str) -> RestorerProfile:
    """The profile of a restorer by name (case-insensitive), with a suggestion on typos."""
    key = name.strip().lower()
    if key not in _PROFILES:
        close = difflib.get_close_matches(key, list(_PROFILES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown restorer {name!r}{hint} (known: {', '.join(restorer_names())})")
    return _PROFILES[key]
