"""SUPIR: "Scaling Up to Excellence: Practicing Model Scaling for Photo-Realistic Image Restoration
In the Wild" (Yu et al., CVPR 2024). Upstream https://github.com/Fanghua-Yu/SUPIR, interface
verified at commit bda91af.

How SUPIR takes text (``SUPIR/models/SUPIR_model.py``, ``SUPIRModel.prepare_condition``): the
positive text is ``''.join([caption, p_p])`` - caption and quality prompt glued with no separator -
and the negative text is ``n_p``; both go through CLIP-L and OpenCLIP bigG, truncated at 77 tokens.
So rescap ends the caption with ". " (the join then reads naturally) and budgets it so that the
whole of ``p_p`` still fits: a long caption would silently push SUPIR's quality prompt out.

In-process: with ``--restorer-path`` pointing at a SUPIR checkout (its weights set up as its README
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

from .base import FinalPrompts, RestorerAdapter, RestorerUnavailable

# test.py's sampling defaults (SUPIR bda91af)
TEST_DEFAULTS = {
    "num_steps": 50, "restoration_scale": -1, "s_churn": 5, "s_noise": 1.01, "cfg_scale": 4.0, "control_scale": 1.0,
    "num_samples": 1, "color_fix_type": "Wavelet", "use_linear_CFG": True, "use_linear_control_scale": False,
    "cfg_scale_start": 1.0, "control_scale_start": 0.0,
}  # fmt: skip


class SUPIRAdapter(RestorerAdapter):
    name = "supir"
    restorer = "supir"
    paper = "Yu et al., Scaling Up to Excellence (SUPIR), CVPR 2024"
    repository = "https://github.com/Fanghua-Yu/SUPIR"
    commit = "bda91af"

    def final_prompts_for(self, caption: str, negative: str | None = None, restoration: str = "") -> FinalPrompts:
        caption = caption.strip()
        if caption and not caption.endswith((".", ",", ";")):
            caption += "."
        caption = caption + " " if caption else ""
        return FinalPrompts(
            positive="".join([caption, self.profile.quality_prompt]),  # SUPIR's own join, no separator
            negative=self.profile.negative_prompt if negative is None else negative,
            caption=caption,
        )

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
                upscale: int = 1, min_size: int = 1024, guidance_scale: float | None = None, **options: Any) -> Any:  # fmt: skip
        lq, h0, w0 = runner["to_tensor"](image, upsacle=upscale, min_size=min_size)  # sic: SUPIR's spelling
        lq = lq.unsqueeze(0)[:, :3]
        if hasattr(lq, "to"):
            lq = lq.to(runner["device"])
        settings = dict(TEST_DEFAULTS, seed=seed)
        if steps is not None:
            settings["num_steps"] = steps
        if guidance_scale is not None:
            settings["cfg_scale"] = guidance_scale
        samples = runner["model"].batchify_sample(
            lq, [prompts.caption], p_p=self.profile.quality_prompt, n_p=prompts.negative, **settings
        )
        return runner["to_pil"](samples[0], h0, w0)
