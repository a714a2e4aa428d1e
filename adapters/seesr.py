"""SeeSR and OSEDiff (tag-prompted SD restorers by the same group).

- SeeSR: "SeeSR: Towards Semantics-Aware Real-World Image Super-Resolution" (Wu et al., CVPR 2024).
  Upstream https://github.com/cswry/SeeSR, verified at commit 8edecc7. ``test_seesr.py``
  builds ``f"{tags}, {prompt},"`` then appends ``--added_prompt`` ("clean, high-resolution, 8k");
  negative "dotted, noise, blur, lowres, smooth"; OpenCLIP (SD2-base) window 77; guidance 5.5
  (6.5 before 3a16b9d). With the README's ``--prompt ''`` upstream sends ``"tags, ,clean, ..."``,
  and ``scripts/test_seesr.sh`` passes ``--prompt None``, a literal "None" in every prompt: rescap
  never writes one, and with no user prompt it drops the empty slot (``"tags, clean, ..."``); a
  user prompt goes after the tags in upstream's exact form (``"tags, user,clean, ..."``;
  gradio_seesr.py puts it first instead).
- OSEDiff: "One-Step Effective Diffusion Network for Real-World Image Super-Resolution"
  (Wu et al., NeurIPS 2024). Upstream https://github.com/cswry/OSEDiff, verified at commit
  fcc4f09. ``f"{tags}, {prompt},"``, no added or negative prompt (one step); with an empty
  prompt rescap writes the tags alone (upstream: ``"tags, ,"``).

rescap's captions for these restorers are tag lists (the captioner's ``tags`` style), replacing
the DAPE/RAM tags. Neither script reads per-image prompts; rescap writes ``<stem>.txt`` files (as
SeeSR's ``--save_prompts`` does) for use with a patched script.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("seesr").final_prompts_for("fox, snow, pine trees").positive
    'fox, snow, pine trees, clean, high-resolution, 8k'
"""

from __future__ import annotations

from ..text.phrases import split_at_commas, strip_end_mark
from .base import OPENCLIP_H, FinalPrompts, PromptSlot, RestorerAdapter
from .pasd import SD_ADDED_PROMPT


class SeeSRAdapter(RestorerAdapter):
    name = "seesr"
    description = "SeeSR (SD2-base, OpenCLIP 77): tags, prompt and added_prompt joined by commas"
    paper = "Wu et al., SeeSR: Towards Semantics-Aware Real-World Image Super-Resolution, CVPR 2024"
    repository = "https://github.com/cswry/SeeSR"
    commit = "8edecc7"
    slots = (PromptSlot(encoders=(OPENCLIP_H,)),)
    caption_style = "tags"
    default_quality_prompt = SD_ADDED_PROMPT
    default_negative_prompt = "dotted, noise, blur, lowres, smooth"

    def prepare_caption(self, caption: str) -> str:
        user_form = caption.rstrip().endswith(",")  # f"{tags}, {prompt}," as upstream builds it
        pieces = (strip_end_mark(t) for t in split_at_commas(caption))  # "1,000-year-old" is one tag
        tags = ", ".join(t for t in pieces if t and t.lower() not in ("none", "null"))
        return f"{tags}," if (user_form and tags) else tags

    def join(self, caption: str, quality: str) -> str:
        if caption.endswith(","):
            return caption + quality  # upstream: f"{tags}, {prompt}," + added_prompt
        return f"{caption}, {quality}" if (caption and quality) else (caption or quality)

    def final_prompts(self, bundle, user_prompt: str | None = None, user_negative: str | None = None) -> FinalPrompts:
        user = (user_prompt or "").strip().rstrip(",")
        negative = self.merged_negative(bundle.negative_prompt, user_negative)
        if not user:
            return self.final_prompts_for(bundle.caption, negative, bundle.restoration_prompt)
        # the user's text comes after the tags upstream: the tags are cut to leave it room
        room = self.caption_budget() - self.counter.count(f", {user},")
        tags, dropped = self.fit_caption(bundle.caption, limit=max(room, 0))
        tags = self.prepare_caption(tags)
        final = self.final_prompts_for(f"{tags}, {user}," if tags else f"{user},", negative, bundle.restoration_prompt)
        final.dropped = dropped + final.dropped
        return final


class OSEDiffAdapter(SeeSRAdapter):
    name = "osediff"
    description = "OSEDiff (SD2.1 one step, OpenCLIP 77): DAPE-style tags, f'{tags}, {prompt},'"
    paper = "Wu et al., One-Step Effective Diffusion Network for Real-World Image Super-Resolution, NeurIPS 2024"
    repository = "https://github.com/cswry/OSEDiff"
    commit = "fcc4f09"
    default_quality_prompt = ""
    default_negative_prompt = ""
