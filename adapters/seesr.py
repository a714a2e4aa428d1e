"""SeeSR and OSEDiff (tag-prompted SD restorers by the same group).

- SeeSR: "SeeSR: Towards Semantics-Aware Real-World Image Super-Resolution" (Wu et al., CVPR 2024).
  Upstream https://github.com/cswry/SeeSR, verified at commit 8edecc7. ``test_seesr.py``
  builds ``f"{tags}, {prompt},"`` then appends ``--added_prompt`` ("clean, high-resolution, 8k");
  negative "dotted, noise, blur, lowres, smooth"; CLIP window 77. Its shipped script passes
  ``--prompt None``, which puts a literal "None" in every prompt: rescap never writes one, and
  with no user prompt it drops the empty slot (``"tags, clean, ..."`` rather than ``"tags, ,clean"``).
- OSEDiff: "One-Step Effective Diffusion Network for Real-World Image Super-Resolution"
  (Wu et al., NeurIPS 2024). Upstream https://github.com/cswry/OSEDiff, verified at commit
  fcc4f09. ``f"{tags}, {prompt},"``, no added or negative prompt (one step).

rescap's captions for these restorers are tag lists (the captioner's ``tags`` style), replacing
the DAPE/RAM tags. Neither script reads per-image prompts; rescap writes ``<stem>.txt`` files (as
SeeSR's ``--save_prompts`` does) for use with a patched script.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("seesr").final_prompts_for("fox, snow, pine trees").positive
    'fox, snow, pine trees, clean, high-resolution, 8k'
"""

from __future__ import annotations

from .base import FinalPrompts, RestorerAdapter


class SeeSRAdapter(RestorerAdapter):
    name = "seesr"
    restorer = "seesr"
    paper = "Wu et al., SeeSR: Towards Semantics-Aware Real-World Image Super-Resolution, CVPR 2024"
    repository = "https://github.com/cswry/SeeSR"
    commit = "8edecc7"

    def final_prompts_for(self, caption: str, negative: str | None = None, restoration: str = "") -> FinalPrompts:
        return self._tags_prompt(caption, "", negative)

    def _tags_prompt(self, tags: str, user: str, negative: str | None) -> FinalPrompts:
        tags = ", ".join(t.strip() for t in tags.split(",") if t.strip() and t.strip() not in ("None", "none"))
        slots = [s for s in (tags, user.strip()) if s]
        text = ", ".join(slots)
        added = self.profile.quality_prompt
        if user.strip():  # upstream's exact form when a prompt is given: f"{tags}, {prompt}," + added
            positive = f"{text},{added}" if added else f"{text},"
        else:
            positive = f"{text}, {added}" if (text and added) else (text or added)
        return FinalPrompts(positive=positive, negative=self.profile.negative_prompt if negative is None else negative, caption=tags)

    def final_prompts(self, bundle, user_prompt: str | None = None, user_negative: str | None = None) -> FinalPrompts:
        negative = bundle.negative_prompt
        if user_negative:
            negative = f"{user_negative.strip().rstrip(',')}, {negative}" if negative else user_negative.strip()
        return self._tags_prompt(bundle.caption, user_prompt or "", negative)


class OSEDiffAdapter(SeeSRAdapter):
    name = "osediff"
    restorer = "osediff"
    paper = "Wu et al., One-Step Effective Diffusion Network for Real-World Image Super-Resolution, NeurIPS 2024"
    repository = "https://github.com/cswry/OSEDiff"
    commit = "fcc4f09"
