"""SUPIR: "Scaling Up to Excellence: Practicing Model Scaling for Photo-Realistic Image Restoration
In the Wild" (Yu et al., CVPR 2024). Upstream https://github.com/Fanghua-Yu/SUPIR, interface
verified at commit bda91af.

How SUPIR takes text (``SUPIR/models/SUPIR_model.py``, ``SUPIRModel.prepare_condition``): the
positive text is ``''.join([caption, p_p])`` - caption and quality prompt glued with no separator -
and the negative text is ``n_p``; both go through CLIP-L and OpenCLIP bigG, truncated at 77 tokens.
So rescap ends the caption with ". " (the join then reads naturally). Under the default
``quality_prompt="fit"`` the caption gets its richness first and ``p_p`` is trimmed at a comma to
what is left (SUPIR's own pipeline, with long LLaVA captions, truncates ``p_p`` too, mid-word);
``keep`` keeps all of ``p_p`` (~53 tokens) and leaves the caption ~20.

Upstream captions the stage-1 denoised 512-px copy with LLaVA (test.py:84-92); rescap captions
the input it is given. test.py's seed default is 1234; rescap uses ``--seed`` (default 0).

In-process: with ``--restorer-model`` pointing at a SUPIR checkout (its weights set up as its README
says), rescap calls ``create_SUPIR_model(config, SUPIR_sign)`` and
``batchify_sample(x, p, p_p=..., n_p=..., ...)`` with test.py's defaults, replacing the LLaVA step.
Otherwise it writes one caption file per image (``<stem>.txt``, mirrored layout).

Example:
    >>> from rescap.adapters import get_adapter
    >>> final = get_adapter("supir").final_prompts_for("A red fox in the snow.")
    >>> final.positive[:40]
    'A red fox in the snow. Cinematic, High C'
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..text.phrases import ends_sentence
from .base import CLIP_L, OPENCLIP_BIGG, FinalPrompts, PromptSlot, RestorerAdapter, RestorerUnavailable

# test.py's defaults (SUPIR bda91af); gradio_demo.py has the same strings
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

# Sampler settings as batchify_sample keywords, mapped the way test.py maps its flags
# (test.py:98-102: num_steps=edm_steps, restoration_scale=s_stage1, cfg_scale=s_cfg,
# control_scale=s_stage2, use_linear_CFG=linear_CFG, cfg_scale_start=spt_linear_CFG, ...).
# "fidelity": test.py at bda91af (since 1c3bb2a, 2025-05-12; README "Fidelity-oriented"): s_cfg 4.0,
#   spt_linear_CFG 1.0, s_noise 1.01.
# "quality": test.py from bca9a72 (2024-03-05) until 1c3bb2a, and the gradio demo's Quality preset
#   (SUPIR_v0.yaml default_setting): s_cfg 7.5, spt_linear_CFG 4.0, s_noise 1.003.
# Both: edm_steps 50, s_stage1 -1, s_churn 5, s_stage2 1.0, Wavelet colour fix, linear CFG on.
# batchify_sample's own signature defaults differ again (num_steps 100, restoration_scale 4.0,
# s_churn 0, s_noise 1.003, use_linear_CFG False, colour fix None): rescap never relies on them.
_COMMON = {
    "num_steps": 50, "restoration_scale": -1, "s_churn": 5, "control_scale": 1.0, "num_samples": 1,
    "color_fix_type": "Wavelet", "use_linear_CFG": True, "use_linear_control_scale": False, "control_scale_start": 0.0,
}  # fmt: skip
SAMPLER_PRESETS = {
    "fidelity": {**_COMMON, "s_noise": 1.01, "cfg_scale": 4.0, "cfg_scale_start": 1.0},
    "quality": {**_COMMON, "s_noise": 1.003, "cfg_scale": 7.5, "cfg_scale_start": 4.0},
}
TEST_DEFAULTS = SAMPLER_PRESETS["fidelity"]  # test.py at the verified commit


class SUPIRAdapter(RestorerAdapter):
    name = "supir"
    description = "SUPIR (SDXL; CLIP-L + OpenCLIP bigG, 77 tokens): caption + a_prompt glued, no separator"
    paper = "Yu et al., Scaling Up to Excellence (SUPIR), CVPR 2024"
    repository = "https://github.com/Fanghua-Yu/SUPIR"
    commit = "bda91af"
    slots = (PromptSlot(argument="prompt", encoders=(CLIP_L, OPENCLIP_BIGG)),)
    default_quality_prompt = SUPIR_A_PROMPT
    default_negative_prompt = SUPIR_N_PROMPT
    reads_files = "no per-image prompt files (test.py captions with LLaVA or --no_llava); rescap writes <stem>.txt per image"

    def prepare_caption(self, caption: str) -> str:
        caption = caption.strip().rstrip(",;:")
        if caption and not ends_sentence(caption):
            caption += "."
        return caption + " " if caption else ""

    def join(self, caption: str, quality: str) -> str:
        return "".join([caption, quality])  # SUPIR's own join, no separator

    def load(self, path: str | None, device: str = "cuda", sign: str = "Q", config: str = "options/SUPIR_v0.yaml", **options: Any) -> Any:
        if not path:
            return super().load(path, device)
        checkout = Path(path).expanduser()
        if not (checkout / "SUPIR" / "util.py").is_file():
            raise RestorerUnavailable(f"{checkout} is not a SUPIR checkout (no SUPIR/util.py)")
        if str(checkout) not in sys.path:
            sys.path.insert(0, str(checkout))
        from SUPIR.util import PIL2Tensor, Tensor2PIL, create_SUPIR_model  # type: ignore[import-not-found]

        model = create_SUPIR_model(str(checkout / config), SUPIR_sign=sign)
        if hasattr(model, "to"):
            model = model.to(device)
        return {"model": model, "to_tensor": PIL2Tensor, "to_pil": Tensor2PIL, "device": device}

    def restore(self, runner: Any, image: Any, prompts: FinalPrompts, seed: int = 0, steps: int | None = None,
                upscale: int = 1, min_size: int = 1024, guidance_scale: float | None = None, preset: str = "fidelity",
                **options: Any) -> Any:  # fmt: skip
        """``preset``: "fidelity" (test.py at bda91af, default) or "quality" (gradio's Quality preset)."""
        lq, h0, w0 = runner["to_tensor"](image, upsacle=upscale, min_size=min_size)  # sic: SUPIR's spelling
        lq = lq.unsqueeze(0)[:, :3]
        if hasattr(lq, "to"):
            lq = lq.to(runner["device"])
        if preset not in SAMPLER_PRESETS:
            raise ValueError(f"SUPIR preset must be one of {', '.join(SAMPLER_PRESETS)}, not {preset!r}")
        settings = dict(SAMPLER_PRESETS[preset], seed=seed)
        if steps is not None:
            settings["num_steps"] = steps
        if guidance_scale is not None:
            settings["cfg_scale"] = guidance_scale
        samples = runner["model"].batchify_sample(
            lq, [prompts.caption], p_p=prompts.quality, n_p=prompts.negative, **settings
        )
        return runner["to_pil"](samples[0], h0, w0)
