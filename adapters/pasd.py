"""PASD: "Pixel-Aware Stable Diffusion for Realistic Image Super-Resolution and Personalized
Stylization" (Yang et al., ECCV 2024). Upstream https://github.com/yangxy/PASD, verified at commit
396f9ac.

``test_pasd.py`` builds the caption-based prompt (CoCa/BLIP captions with "blurry"->"clear" and
"noisy"->"clean" replaced), then ``validation_prompt += args.added_prompt`` with no separator;
added prompt "clean, high-resolution, 8k"; negative "blurry, dotted, noise, raster lines, unclear,
lowres, over-smoothed"; CLIP window 77. rescap ends the caption with ", " (as PASD's own
category prompts do, ``f"{name}, "``) so the glued prompt reads "caption, clean, ...".
The pipeline call is ``pipeline(args, prompt, image, num_inference_steps, generator,
guidance_scale, negative_prompt, conditioning_scale)`` (``args`` first); it needs PASD's checkout
and weights, so rescap writes ``<stem>.txt`` prompt files otherwise.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("pasd").final_prompts_for("a red fox in the snow").positive
    'a red fox in the snow, clean, high-resolution, 8k'
"""

from __future__ import annotations

from .base import FinalPrompts, RestorerAdapter


class PASDAdapter(RestorerAdapter):
    name = "pasd"
    restorer = "pasd"
    paper = "Yang et al., Pixel-Aware Stable Diffusion for Realistic Image Super-Resolution, ECCV 2024"
    repository = "https://github.com/yangxy/PASD"
    commit = "396f9ac"

    def final_prompts_for(self, caption: str, negative: str | None = None, restoration: str = "") -> FinalPrompts:
        caption = caption.strip().rstrip(".").strip()
        caption = f"{caption}, " if caption else ""
        return FinalPrompts(
            positive=caption + self.profile.quality_prompt,  # PASD's own: validation_prompt += added_prompt
            negative=self.profile.negative_prompt if negative is None else negative,
            caption=caption,
        )
