"""Any diffusers pipeline that takes ``prompt`` (and an ``image``), multi-encoder ones included.

Upstream: https://github.com/huggingface/diffusers (verified against v0.42.1): the SD x4 upscaler,
SD img2img and ControlNet img2img (one CLIP 77 ``prompt``); SDXL (``prompt`` -> CLIP-L 77,
``prompt_2`` -> OpenCLIP bigG 77); SD3/SD3.5 (``prompt`` CLIP-L 77, ``prompt_2`` CLIP-G 77,
``prompt_3`` T5 up to ``max_sequence_length`` 256); FLUX (``prompt`` CLIP-L 77, pooled;
``prompt_2`` T5 up to ``max_sequence_length`` 512; ``negative_prompt`` is read only when
``true_cfg_scale > 1``); or any other pipeline whose ``__call__`` has those arguments.

Once a pipeline is loaded (or given to ``use_pipeline``), its slots are read from it: one per
tokenizer it has and text argument its ``__call__`` takes, each counted with that tokenizer and
windowed by its ``model_max_length`` (T5: the call's ``max_sequence_length`` default). Each slot
gets the caption fitted to its own window at phrase boundaries, so a T5 slot carries a richer
caption than a CLIP slot. Before a pipeline is known, the adapter has one CLIP 77 ``prompt``.

Example:
    >>> from rescap.adapters import get_adapter
    >>> adapter = get_adapter("diffusers")
    >>> pipe = adapter.load("stabilityai/stable-diffusion-x4-upscaler")  # doctest: +SKIP
    >>> restored = adapter.restore(pipe, image, adapter.final_prompts_for("a red fox"), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import os

import inspect
import json
from pathlib import Path
from typing import Any

from .base import FinalPrompts, PromptSlot, RestorerAdapter, TextEncoder

# tokenizer attribute -> the __call__ argument its text comes from
_TOKENIZER_ARGUMENTS = (("tokenizer", "prompt"), ("tokenizer_2", "prompt_2"), ("tokenizer_3", "prompt_3"))


class _PipelineTokenCounter:
    exact = True

    def __init__(self, tokenizer: Any):
        self.name = f"pipeline tokenizer ({type(tokenizer).__name__})"
        self._tokenizer = tokenizer

    def count(self, text: str) -> int:
        # verbose=False: counting a long text is not feeding it to the model (no "sequence length" warning)
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def special_tokens(self) -> int:
        return len(self._tokenizer("a")["input_ids"]) - len(self._tokenizer("a", add_special_tokens=False)["input_ids"])


class _Everything:
    def __contains__(self, name: object) -> bool:
        return True


def _call_parameters(pipe: Any) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(pipe).parameters)
    except (TypeError, ValueError):
        return {}


class DiffusersAdapter(RestorerAdapter):
    name = "diffusers"
    description = "diffusers pipelines (SD, SDXL, SD3, FLUX...): each text argument fitted to its own encoder"
    paper = "diffusers pipelines (x4 upscaler, img2img, ControlNet img2img, SDXL, SD3, FLUX)"
    repository = "https://github.com/huggingface/diffusers"
    commit = "v0.42.1"
    runs_here = True

    def load(self, path: str | None, device: str = "cpu", dtype: str | None = None, **options: Any) -> Any:
        """``DiffusionPipeline.from_pretrained`` on a hub id or a saved pipeline folder."""
        from ..backends.model_source import loading_error, resolve_model
        from ..torch_compat import ensure_torchvision_importable
        from ..extras import require

        if not path:
            raise ValueError("the diffusers adapter needs --restorer-model: a hub id or a saved pipeline folder")
        ensure_torchvision_importable()
        diffusers = require("diffusers", "diffusers")
        torch = require("torch", "diffusers")
        if os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS", "").strip().lower() in ("1", "true", "yes", "on"):
            diffusers.utils.logging.disable_progress_bar()  # the hub's switch covers diffusers' loading bar too
        resolved = resolve_model(path, None, "diffusers", "--restorer-model /path/to/pipeline (a save_pretrained folder)")
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
        self.use_pipeline(pipe)
        return pipe

    def use_pipeline(self, pipe: Any) -> None:
        """Read the pipeline's text slots: its tokenizers count, their windows bound each slot."""
        tokenizers = {a: getattr(pipe, a, None) for a, _ in _TOKENIZER_ARGUMENTS}
        encoders = {a: type(getattr(pipe, "text_encoder" + a[len("tokenizer"):], None)).__name__ for a, _ in _TOKENIZER_ARGUMENTS}
        self._read_slots(_call_parameters(pipe), tokenizers, encoders)
        self.pipeline_class = type(pipe).__name__

    def use_folder(self, path: str | Path) -> None:
        """The same from a saved pipeline folder, reading only ``model_index.json`` and the tokenizers
        (no weights): what ``rescap prompt --restorer diffusers --restorer-model DIR`` needs."""
        from ..torch_compat import ensure_torchvision_importable
        from ..extras import require

        folder = Path(path).expanduser()
        index_file = folder / "model_index.json"
        if not index_file.is_file():
            raise FileNotFoundError(f"{folder} is not a saved diffusers pipeline (no model_index.json)")
        index = json.loads(index_file.read_text(encoding="utf-8"))
        ensure_torchvision_importable()
        diffusers = require("diffusers", "diffusers")
        transformers = require("transformers", "diffusers")
        pipeline_class = getattr(diffusers, index.get("_class_name", ""), None)
        parameters = _call_parameters(pipeline_class.__call__) if pipeline_class is not None else {}
        tokenizers, encoders = {}, {}
        for attribute, _ in _TOKENIZER_ARGUMENTS:
            entry = index.get(attribute)
            if isinstance(entry, list) and entry[-1] and (folder / attribute).is_dir():
                tokenizers[attribute] = transformers.AutoTokenizer.from_pretrained(str(folder / attribute))
                encoder = index.get("text_encoder" + attribute[len("tokenizer"):])
                encoders[attribute] = encoder[-1] if isinstance(encoder, list) else "text encoder"
        self._read_slots(parameters, tokenizers, encoders)
        self.pipeline_class = index.get("_class_name", "")

    def _read_slots(self, parameters: dict[str, inspect.Parameter], tokenizers: dict[str, Any], encoders: dict[str, str]) -> None:
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        max_sequence = parameters.get("max_sequence_length")
        sequence_default = max_sequence.default if max_sequence is not None and isinstance(max_sequence.default, int) else None
        slots, counters = [], {}
        for attribute, argument in _TOKENIZER_ARGUMENTS:
            tokenizer = tokenizers.get(attribute)
            if tokenizer is None or not callable(tokenizer) or (argument not in parameters and not takes_any and argument != "prompt"):
                continue
            counter = _PipelineTokenCounter(tokenizer)
            is_t5 = "t5" in type(tokenizer).__name__.lower()
            window = int(getattr(tokenizer, "model_max_length", 77) or 77)
            window = window if window < 100_000 else (512 if is_t5 else 77)
            if is_t5 and sequence_default:
                window = min(window, sequence_default)  # encode_prompt pads/truncates T5 to max_sequence_length
            encoder = TextEncoder(
                name=f"{encoders.get(attribute, 'text encoder')} ({attribute})", tokenizer="t5" if is_t5 else "clip",
                window=window, special_tokens=counter.special_tokens(),
            )  # fmt: skip
            slots.append(PromptSlot(argument=argument, encoders=(encoder,), quality=False))
            counters[argument] = counter
        if slots:
            self.slots = tuple(slots)
            self._counters = counters

    use_pipeline_tokenizer = use_pipeline  # the name wrap() and older callers use

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
            **{k: v for k, v in prompts.extra.items() if k.startswith("prompt_")},
            "negative_prompt": prompts.negative or None,
            "generator": torch.Generator(device="cpu").manual_seed(int(seed)),
            "output_type": "pil",
        }
        if "image" in accepts:
            kwargs["image"] = image
        if "max_sequence_length" in parameters and "height" in parameters and hasattr(image, "size"):
            # SD3/FLUX img2img default to the transformer's size, not the input's: keep the input's
            kwargs["width"], kwargs["height"] = (max(16, side // 16 * 16) for side in image.size)
        if "control_image" in accepts:
            kwargs["control_image"] = image  # tile ControlNet: the input steers the layout
        for name, value in (("num_inference_steps", steps), ("strength", strength), ("guidance_scale", guidance_scale)):
            if value is not None and name in accepts:
                kwargs[name] = value
        kwargs.update({k: v for k, v in options.items() if k in accepts})
        if "true_cfg_scale" in parameters and float(kwargs.get("true_cfg_scale", 1.0) or 1.0) <= 1.0:
            kwargs.pop("negative_prompt", None)  # FLUX reads a negative prompt only with true CFG
        return runner(**{k: v for k, v in kwargs.items() if k in accepts}).images[0]
