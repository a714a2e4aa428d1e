"""vLLM in-process: ``LLM.chat`` over the whole batch, with structured outputs.

- Engine options pass through: ``tensor_parallel_size``, ``max_model_len``,
  ``gpu_memory_utilization``, ``limit_images_per_prompt`` (vLLM's ``limit_mm_per_prompt``),
  ``enforce_eager``, ``dtype`` and any other ``vllm.LLM`` keyword.
- JSON schemas go through ``SamplingParams(structured_outputs=StructuredOutputsParams(json=...))``
  (vLLM's current API; the older ``guided_json`` is silently ignored by new vLLM). The engine runs
  xgrammar without optional whitespace, so weak models cannot stall in whitespace.
- ``GenerationParams.banned_words`` go to ``SamplingParams(bad_words=...)`` in their usual casings
  (lowercase, Capitalised, UPPER for acronyms); vLLM adds the forms with a leading space. The ban
  and the structured-output grammar apply together; words the schema spells itself (a key such
  as ``"noise"``) stay allowed (``GenerationParams.word_bans``). vLLM allows 128 banned token
  sequences per request (``VLLM_MAX_NUM_BAD_WORDS``), which ``degradation_words.banned_words`` fits.
- Scripts that create this backend need an ``if __name__ == "__main__":`` guard: vLLM starts its
  engine in a separate process.

Example:
    >>> from rescap.backends import create_backend
    >>> backend = create_backend("vllm:Qwen/Qwen2.5-VL-7B-Instruct", max_model_len=8192)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from ..extras import require
from .base import Conversation, GenerationParams, GenerationResult, VLMBackend
from .media import to_pil_messages
from .model_source import DEFAULT_GPU_MODEL, loading_error, resolve_model
from .structured import finish_json
from ..torch_compat import ensure_torchvision_importable


class VLLMBackend(VLMBackend):
    """vLLM offline engine in this process."""

    name = "vllm"
    default_model = DEFAULT_GPU_MODEL.repo_id

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        limit_images_per_prompt: int = 1,
        enforce_eager: bool = False,
        dtype: str = "auto",
        max_image_pixels: int | None = None,
        **engine_options: Any,
    ):
        options = {} if max_image_pixels is None else {"max_image_pixels": max_image_pixels}
        super().__init__(model, **options)
        ensure_torchvision_importable()
        vllm = require("vllm", "vllm")
        resolved = resolve_model(model, revision, self.name)
        engine: dict[str, Any] = {
            "model": resolved.source,
            "revision": resolved.revision,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "limit_mm_per_prompt": {"image": limit_images_per_prompt},
            "enforce_eager": enforce_eager,
            "dtype": dtype,
            "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
        }
        if max_model_len is not None:
            engine["max_model_len"] = max_model_len
        engine.update(engine_options)
        try:
            self.llm = vllm.LLM(**engine)
        except Exception as exc:
            raise loading_error(exc, model, resolved, self.name) from exc
        self._vllm = vllm

    def _sampling_params(self, params: GenerationParams):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        kwargs: dict[str, Any] = {
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            kwargs["stop"] = params.stop
        bad_words = params.word_bans()
        if bad_words:
            kwargs["bad_words"] = bad_words
        if params.json_schema is not None:
            kwargs["structured_outputs"] = StructuredOutputsParams(json=params.json_schema)
        return SamplingParams(**kwargs)

    def _generate(self, conversations: list[Conversation], params: GenerationParams) -> list[GenerationResult]:
        results = [GenerationResult(index=i) for i in range(len(conversations))]
        ready: list[tuple[int, Conversation]] = []
        for i, conversation in enumerate(conversations):
            try:
                ready.append((i, to_pil_messages(conversation, self.max_image_pixels)))
            except Exception as exc:  # a bad image fails its item only
                results[i].error = f"cannot prepare the conversation: {exc}"
        if not ready:
            return results
        sampling = self._sampling_params(params)
        try:
            with self._timed_model_call():
                outputs = self.llm.chat([m for _, m in ready], sampling, use_tqdm=False)
            pairs = list(zip(ready, outputs))
        except Exception as exc:
            if len(ready) == 1:
                results[ready[0][0]].error = f"generation failed: {type(exc).__name__}: {exc}"
                return results
            pairs = []  # one item (a too-long prompt, too many images) can sink the batch: find it
            for item in ready:
                try:
                    with self._timed_model_call():
                        pairs.append((item, self.llm.chat([item[1]], sampling, use_tqdm=False)[0]))
                except Exception as one_exc:
                    results[item[0]].error = f"generation failed: {type(one_exc).__name__}: {one_exc}"
        for (i, _), output in pairs:
            completion = output.outputs[0]
            result = results[i]
            result.text = completion.text
            result.finish_reason = completion.finish_reason
            result.prompt_tokens = len(output.prompt_token_ids or [])
            result.completion_tokens = len(completion.token_ids)
            if params.json_schema is not None:
                finish_json(result)
        return results

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is not None:
            engine = getattr(llm, "llm_engine", None)
            shutdown = getattr(engine, "shutdown", None)
            if callable(shutdown):
                shutdown()
            self.llm = None
