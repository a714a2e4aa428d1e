"""PASD: "Pixel-Aware Stable Diffusion for Realistic Image Super-Resolution and Personalized
Stylization" (Yang et al., ECCV 2024). Upstream https://github.com/yangxy/PASD, verified at commit
396f9ac.

``test_pasd.py`` (caption mode, the default) captions with CoCa or BLIP, replaces "blurry"->"clear"
and "noisy"->"clean", sets ``validation_prompt = caption`` when ``--prompt`` is "" (test_pasd.py:
162/169), then ``validation_prompt += args.added_prompt`` (line 217) with no separator: upstream
sends "...on the grassclean, high-resolution, 8k", and CLIP merges the caption's last word into
"clean". rescap joins with ", " instead, as PASD's own classification/detection/none modes do
(their prompts end in ", "), so every word stays a word. A user's ``--prompt`` goes after the
caption, as upstream puts it (rescap's separator: ", "). Not done: upstream's
"blurry"->"clear" replacement (rescap removes degradation words instead). Added prompt "clean, high-resolution,
8k"; negative "blurry, dotted, noise, raster lines, unclear, lowres, over-smoothed"; SD1.5, CLIP-L
77. The pipeline call is ``pipeline(args, prompt, image, num_inference_steps, generator,
guidance_scale, negative_prompt, conditioning_scale)`` (``args`` first); it needs PASD's checkout
and weights, so rescap writes ``<stem>.txt`` prompt files otherwise.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("pasd").final_prompts_for("a red fox in the snow").positive
    'a red fox in the snow, clean, high-resolution, 8k'
"""

from __future__ import annotations

from ..text.phrases import strip_end_mark
from .base import RestorerAdapter

SD_ADDED_PROMPT = "clean, high-resolution, 8k"


class PASDAdapter(RestorerAdapter):
    name = "pasd"
    description = "PASD (SD1.5, CLIP 77): caption + added_prompt"
    paper = "Yang et al., Pixel-Aware Stable Diffusion for Realistic Image Super-Resolution, ECCV 2024"
    repository = "https://github.com/yangxy/PASD"
    commit = "396f9ac"

    user_prompt_first = False  # test_pasd.py:162: f"{caption}, {args.prompt}"
    default_quality_prompt = SD_ADDED_PROMPT
    default_negative_prompt = "blurry, dotted, noise, raster lines, unclear, lowres, over-smoothed"

    def prepare_caption(self, caption: str) -> str:
        return strip_end_mark(caption)

    def join(self, caption: str, quality: str) -> str:
        # a separator upstream's caption mode lacks (see the module docstring)
        return f"{caption}, {quality}" if (caption and quality) else (caption or quality)
