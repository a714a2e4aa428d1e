"""HYPIR: "Harnessing Diffusion-Yielded Score Priors for Image Restoration" (Lin et al., 2025).
Upstream https://github.com/XPixelGroup/HYPIR, verified at commit b61d107.

HYPIR (one step, SD2.1 base, no classifier-free guidance) takes the prompt alone: no quality or
negative prompt. Per image, ``test.py --txt_dir DIR`` reads ``DIR / path.relative_to(lq_dir)
.with_suffix(".txt")`` (nested folders kept, last suffix replaced, content stripped; a missing file
aborts the run). rescap writes exactly that layout, one file per image, so
``python test.py --lq_dir IN --txt_dir OUT ...`` uses rescap's captions.
In Python: ``SD2Enhancer(...).enhance(lq, prompt, scale_by="factor", upscale=1, ...)``.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("hypir").final_prompts_for("a red fox in the snow").positive
    'a red fox in the snow'
"""

from __future__ import annotations

from .base import OPENCLIP_H, PromptSlot, RestorerAdapter


class HYPIRAdapter(RestorerAdapter):
    name = "hypir"
    description = "HYPIR (SD2.1, OpenCLIP 77): the prompt alone; test.py --txt_dir reads per-image text files"
    slots = (PromptSlot(encoders=(OPENCLIP_H,)),)
    reads_files = "test.py --txt_dir DIR reads DIR/<path relative to --lq_dir>.txt per image"
    paper = "Lin et al., Harnessing Diffusion-Yielded Score Priors for Image Restoration (HYPIR), 2025"
    repository = "https://github.com/XPixelGroup/HYPIR"
    commit = "b61d107"
