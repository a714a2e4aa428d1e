"""SPIRE: "SPIRE: Semantic Prompt-Driven Image Restoration" (Qi et al., ECCV 2024). The code is not
public; the interface follows the paper: a semantic prompt ``c_s`` (what the image shows) and a
restoration prompt ``c_r`` naming each degradation with its parameters ("denoise with sigma 25;
deblur with sigma 1.5; remove JPEG artifacts at quality 30; upsample 4x"); in blind mode
``c_r = "Remove all degradation"`` and ``c_s`` is empty.

rescap fills ``c_s`` with the caption and ``c_r`` with the restoration prompt built from the measured
degradation; both are written per image (``<stem>.txt`` and ``<stem>.restoration.txt``).

Example:
    >>> from rescap.adapters import get_adapter
    >>> final = get_adapter("spire").final_prompts_for("a red fox", restoration="denoise with sigma 25")
    >>> final.positive, final.extra["restoration_prompt"]
    ('a red fox', 'denoise with sigma 25')
"""

from __future__ import annotations

from pathlib import Path

from ..durable import atomic_write
from ..outputs import inside
from ..captioning.restoration_prompts import BLIND_RESTORATION_PROMPT
from .base import FinalPrompts, RestorerAdapter, _relative


class SPIREAdapter(RestorerAdapter):
    name = "spire"
    description = "SPIRE: semantic prompt (the caption) plus a numeric restoration prompt"
    reads_files = "rescap writes <stem>.txt (semantic prompt) and <stem>.restoration.txt per image"
    paper = "Qi et al., SPIRE: Semantic Prompt-Driven Image Restoration, ECCV 2024"
    repository = "(code not public; interface from the paper)"
    commit = "-"

    def final_prompts_for(self, caption: str, negative: str | None = None, restoration: str = "", head: str = "") -> FinalPrompts:
        final = super().final_prompts_for(caption, "" if negative is None else negative, restoration, head)
        final.extra["restoration_prompt"] = restoration or BLIND_RESTORATION_PROMPT
        return final

    def export(self, prompts: FinalPrompts, image: Path, out_dir: Path, relative_to: Path | None = None) -> list[Path]:
        written = super().export(prompts, image, out_dir, relative_to)
        second = inside(out_dir, _relative(image, relative_to).with_suffix("").as_posix(), ".restoration.txt", replace_suffix=False)
        atomic_write(second, (prompts.extra["restoration_prompt"] + "\n").encode("utf-8"))
        return written + [second]
