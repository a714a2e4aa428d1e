"""Any diffusers pipeline that takes ``prompt`` and ``negative_prompt`` (and an ``image``).

Upstream: https://github.com/huggingface/diffusers (verified against v0.42.1): the SD x4 upscaler
(``StableDiffusionUpscalePipeline``), img2img (``StableDiffusionImg2ImgPipeline``) and
ControlNet img2img (``StableDiffusionControlNetImg2ImgPipeline``, the low-quality image doubling as
the tile control image), or any other pipeline whose ``__call__`` has those arguments.

The pipeline's own tokenizer counts the tokens (its ``model_max_length`` is the window), so the
caption budget is exact for whatever text encoder the pipeline has.

Example:
    >>> from rescap.adapters import get_adapter
    >>> adapter = get_adapter("diffusers")
    >>> pipe = adapter.load("stabilityai/stable-diffusion-x4-upscaler")  # doctest: +SKIP
    >>> restored = adapter.restore(pipe, image, adapter.final_prompts_for("a red fox"), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from typing import Any

from ..restorers import RestorerProfile
from .base import FinalPrompts, RestorerAdapter


class _PipelineTokenCounter:
    exact = True

    def __init__(self, tokenizer: Any):
        self.name = f"pipeline tokenizer ({type(tokenizer).__name__})"
        self._tokenizer = tokenizer

    def count(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])


class _Everything:
    def __contains__(self, name: object) -> bool:
        return True


class DiffusersAdapter(RestorerAdapter):
    name = "diffusers"
    restorer = "sd"
    paper = "Stable Diffusion pipelines of diffusers (x4 upscaler, img2img, ControlNet img2img)"
    repository = "https://github.com/huggingface/diffusers"
    commit = "v0.42.1"
    runs_here = True

    def load(self, path: str | None, device: str = "cpu", dtype: str | None = None, **options: Any) -> Any:
        """``DiffusionPipeline.from_pretrained`` on a hub id or a saved pipeline folder."""
        from ..backends.model_source import loading_error, resolve_model
        from ..backends.torch_compat import ensure_torchvision_importable
        from ..extras import require

        if not path:
            raise ValueError("the diffusers adapter needs --model/--restorer-path: a hub id or a pipeline folder")
        ensure_torchvision_importable()
        diffusers = require("diffusers", "diffusers")
        torch = require("torch", "diffusers")
        resolved = resolve_model(path, None, "diffusers", "--restorer-path /path/to/pipeline (a save_pretrained folder)")
        kwargs: dict[str, Any] = {"local_files_only": resolved.local_only}
        if dtype:
            kwargs["torch_dtype"] = getattr(torch, dtype)
        try:
            pipe = diffusers.DiffusionPipeline.from_pretrained(resolved.source, **kwargs)
        except Exception as exc:
            raise loading_error(exc, path, resolved, "diffusers") from exc
        pipe = pipe.to(device)
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        self.use_pipeline_tokenizer(pipe)
        return pipe

    def use_pipeline_tokenizer(self, pipe: Any) -> None:
        """Count tokens with the pipeline's tokenizer; its window becomes the budget."""
        tokenizer = getattr(pipe, "tokenizer", None)
        if tokenizer is None:
            return
        window = int(getattr(tokenizer, "model_max_length", 77) or 77)
        window = window if window < 10_000 else 77
        self.profile = RestorerProfile(name="diffusers", window=window, description=f"diffusers {type(pipe).__name__}")
        self.counter = _PipelineTokenCounter(tokenizer)

    def restore(
        self,
        runner: Any,
        image: Any,
        prompts: FinalPrompts,
        seed: int = 0,
        steps: int | None = None,
        strength: float | None = None,
        guidance_scale: float | None = None,
        **options: Any,
    ) -> Any:
        """Run the pipeline on one PIL image; arguments it does not take are left out."""
        import torch

        parameters = inspect.signature(runner).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        accepts = _Everything() if takes_any else set(parameters)
        kwargs: dict[str, Any] = {
            "prompt": prompts.positive,
            "negative_prompt": prompts.negative or None,
            "generator": torch.Generator(device="cpu").manual_seed(int(seed)),
            "output_type": "pil",
        }
        if "image" in accepts:
            kwargs["image"] = image
        if "control_image" in accepts:
            kwargs["control_image"] = image  # tile ControlNet: the input steers the layout
        for name, value in (("num_inference_steps", steps), ("strength", strength), ("guidance_scale", guidance_scale)):
            if value is not None and name in accepts:
                kwargs[name] = value
        kwargs.update({k: v for k, v in options.items() if k in accepts})
        return runner(**{k: v for k, v in kwargs.items() if k in accepts}).images[0]
