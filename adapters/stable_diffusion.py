"""Plain Stable Diffusion restorers (``sd``) and S3Diff (``s3diff``): one CLIP window, the caption alone
or with a fixed prompt.

- ``sd``: any SD 1.x/2.x pipeline or script that takes one prompt (77 CLIP tokens); the caption
  goes alone. Use ``diffusers`` instead to run a diffusers pipeline in-process (its own tokenizers
  then count).
- S3Diff: "Degradation-Guided One-Step Image Super-Resolution with Diffusion Priors" (Zhang et al.,
  2024). Upstream https://github.com/ArcticHare105/S3Diff, verified at commit 6a2e0a4. One step on
  SD-Turbo (SD2.1 base, OpenCLIP 77); upstream feeds one fixed positive and negative prompt to every
  image (``pos_prompt`` / ``neg_prompt`` in ``src/my_utils/testing_utils.py``), and a learned
  network reads the degradation from the pixels. rescap puts the caption before that fixed prompt
  (``", ".join``) for a script patched to take per-image text, and writes ``<stem>.txt``.
  Upstream's guidance is fixed at 1.07 (s3diff_tile.py:54; not modelled: rescap does not run it).

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("sd").final_prompts_for("a red fox in the snow").positive
    'a red fox in the snow'
"""

from __future__ import annotations

from .base import OPENCLIP_H, PromptSlot, RestorerAdapter

S3DIFF_POS_PROMPT = "A high-resolution, 8K, ultra-realistic image with sharp focus, vibrant colors, and natural lighting."
S3DIFF_NEG_PROMPT = "oil painting, cartoon, blur, dirty, messy, low quality, deformation, low resolution, oversmooth"


class StableDiffusionAdapter(RestorerAdapter):
    name = "sd"
    description = "any Stable Diffusion pipeline or script taking one prompt (CLIP 77): the caption alone"
    paper = "Rombach et al., High-Resolution Image Synthesis with Latent Diffusion Models, CVPR 2022"
    repository = "https://github.com/Stability-AI/stablediffusion"
    commit = "-"


class S3DiffAdapter(RestorerAdapter):
    name = "s3diff"
    description = "S3Diff (SD-Turbo one step, OpenCLIP 77): the caption, then upstream's fixed prompt"
    paper = "Zhang et al., Degradation-Guided One-Step Image Super-Resolution with Diffusion Priors (S3Diff), 2024"
    repository = "https://github.com/ArcticHare105/S3Diff"
    commit = "6a2e0a4"
    slots = (PromptSlot(encoders=(OPENCLIP_H,)),)
    default_quality_prompt = S3DIFF_POS_PROMPT
    default_negative_prompt = S3DIFF_NEG_PROMPT
