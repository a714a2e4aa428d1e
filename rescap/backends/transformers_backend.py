"""The embedded default backend: any ``AutoModelForImageTextToText`` model, in-process, CPU or GPU.

- One ``generate()`` call per micro-batch of ``batch_size`` conversations, left-padded, so a batch
  costs little more than its longest item.
- JSON-schema constrained decoding with xgrammar (its batch matcher, see ``grammar.py``): the
  grammar masks every token that would leave the schema, so even a random-weights model emits
  valid JSON.
- Images are fitted to ``max_image_pixels`` before the model's processor sees them.
- ``GenerationParams.banned_words`` become ``bad_words_ids`` for ``generate``: every casing of a
  word (lowercase, Capitalised, UPPER), at the start of a text or a JSON string and after a space,
  as the tokenizer writes it there; built once per word list. Transformers masks them before the
  grammar masks what would leave the schema, so both apply; words the schema spells itself (a
  key such as ``"noise"``) stay allowed (``GenerationParams.word_bans``). A ban covers the
  tokenizations the tokenizer produces; a model could still spell a word in other pieces, rarely.

Example:
    >>> from rescap.backends import create_backend
    >>> backend = create_backend("transformers:/path/to/model", device="cpu")  # doctest: +SKIP
    >>> backend.generate([[{"role": "user", "content": "Say hi"}]])[0].text  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

from ..extras import require
from .base import Conversation, GenerationParams, GenerationResult, VLMBackend
from .media import split_conversation
from .model_source import DEFAULT_CPU_MODEL, loading_error, resolve_model
from .structured import finish_json
from ..torch_compat import ensure_torchvision_importable


class TransformersBackend(VLMBackend):
    """Hugging Face transformers, in-process.

    Options: ``revision``, ``device`` ("auto", "cpu", "cuda", "cuda:1", ...), ``dtype`` ("auto":
    bfloat16 on GPU, float32 on CPU), ``batch_size`` (conversations per ``generate`` call),
    ``max_image_pixels``, ``trust_remote_code``, ``attn_implementation``, ``cache_implementation``
    (``"static"`` speeds up long batched generation on some architectures).
    """

    name = "transformers"
    default_model = DEFAULT_CPU_MODEL.repo_id

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        trust_remote_code: bool = False,
        attn_implementation: str | None = None,
        cache_implementation: str | None = None,
        **options: Any,
    ):
        super().__init__(model, **options)
        torch = require("torch", "transformers")
        transformers = require("transformers", "transformers")
        ensure_torchvision_importable()
        self.batch_size = max(1, int(batch_size))
        self.cache_implementation = cache_implementation  # e.g. "static": faster long batches on some models
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        else:
            torch_dtype = getattr(torch, dtype)
        resolved = resolve_model(model, revision, self.name)
        kwargs: dict[str, Any] = {
            "revision": resolved.revision,
            "trust_remote_code": trust_remote_code,
            "local_files_only": resolved.local_only,
        }
        try:
            self.processor = transformers.AutoProcessor.from_pretrained(resolved.source, **kwargs)
            model_kwargs = dict(kwargs, dtype=torch_dtype)
            if attn_implementation:
                model_kwargs["attn_implementation"] = attn_implementation
            self.hf_model = transformers.AutoModelForImageTextToText.from_pretrained(resolved.source, **model_kwargs)
        except Exception as exc:
            raise loading_error(exc, model, resolved, self.name) from exc
        self.hf_model.to(device).eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.hf_model.generation_config.eos_token_id
        eos_ids = list(eos) if isinstance(eos, (list, tuple)) else ([eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in eos_ids:
            eos_ids.append(self.tokenizer.eos_token_id)
        self.eos_token_ids = eos_ids
        self._torch = torch
        self._grammar_compiler = None
        self._grammars: dict[str, Any] = {}
        self._bans: dict[tuple[str, ...], list[list[int]]] = {}

    # -- constrained decoding -------------------------------------------------------------------
    def _compiled_grammar(self, schema: dict[str, Any]):
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            xgr = require("xgrammar", "transformers")
            if self._grammar_compiler is None:
                vocab_size = self.hf_model.get_output_embeddings().weight.shape[0]
                info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=vocab_size, stop_token_ids=self.eos_token_ids
                )
                self._grammar_compiler = xgr.GrammarCompiler(info)
            # no optional whitespace: a weak model would otherwise fill max_new_tokens with it
            self._grammars[key] = self._grammar_compiler.compile_json_schema(
                json.dumps(schema), any_whitespace=False, strict_mode=True
            )
        return self._grammars[key]

    # -- banned words ---------------------------------------------------------------------------
    def bad_words_ids(self, params: GenerationParams) -> list[list[int]]:
        """The token id sequences ``generate`` must not produce for ``params.banned_words``."""
        words = tuple(params.word_bans(upper=True))
        if words and words not in self._bans:
            self._bans[words] = banned_token_sequences(self.tokenizer, words)
        return self._bans.get(words, [])

    # -- generation -----------------------------------------------------------------------------
    def _generate(self, conversations: list[Conversation], params: GenerationParams) -> list[GenerationResult]:
        results: list[GenerationResult] = [GenerationResult(index=i) for i in range(len(conversations))]
        prepared: list[tuple[int, str, list]] = []
        for i, conversation in enumerate(conversations):
            try:
                messages, images = split_conversation(conversation, self.max_image_pixels)
                text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
                prepared.append((i, text, images))
            except Exception as exc:  # a bad image or message fails its item only
                results[i].error = f"cannot prepare the conversation: {exc}"
        for start in range(0, len(prepared), self.batch_size):
            chunk = prepared[start : start + self.batch_size]
            try:
                outcomes = list(zip([c[0] for c in chunk], self._generate_chunk(chunk, params)))
            except Exception as exc:
                if len(chunk) == 1:
                    results[chunk[0][0]].error = f"generation failed: {type(exc).__name__}: {exc}"
                    continue
                # one item can sink a padded batch (an odd image, a too-long prompt): find it
                outcomes = []
                for single in chunk:
                    try:
                        outcomes.append((single[0], self._generate_chunk([single], params)[0]))
                    except Exception as one_exc:
                        results[single[0]].error = f"generation failed: {type(one_exc).__name__}: {one_exc}"
            for index, outcome in outcomes:
                results[index] = outcome.model_copy(update={"index": index})
        return results

    def _generate_chunk(self, chunk: list[tuple[int, str, list]], params: GenerationParams) -> list[GenerationResult]:
        torch = self._torch
        texts = [text for _, text, _ in chunk]
        has_images = any(images for _, _, images in chunk)
        inputs = self.processor(
            text=texts,
            images=[images for _, _, images in chunk] if has_images else None,
            padding=True,
            return_tensors="pt",
        ).to(self.device)
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.hf_model.dtype)
        generate_kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "do_sample": params.temperature > 0,
            "eos_token_id": self.eos_token_ids,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if params.temperature > 0:
            generate_kwargs.update(temperature=params.temperature, top_p=params.top_p)
        if self.cache_implementation:
            generate_kwargs["cache_implementation"] = self.cache_implementation
        if params.stop:
            generate_kwargs.update(stop_strings=params.stop, tokenizer=self.tokenizer)
        bad_words = self.bad_words_ids(params)
        if bad_words:
            generate_kwargs["bad_words_ids"] = bad_words
        if params.json_schema is not None:
            from .grammar import BatchJsonLogitsProcessor

            generate_kwargs["logits_processor"] = [BatchJsonLogitsProcessor(self._compiled_grammar(params.json_schema))]
        if params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.inference_mode(), self._timed_model_call():
            output = self.hf_model.generate(**inputs, **generate_kwargs)
        prompt_len = inputs["input_ids"].shape[1]
        new_tokens = output[:, prompt_len:]
        results = []
        for row, (_, _, _) in zip(new_tokens, chunk):
            ids = row.tolist()
            stop_at = next((k for k, t in enumerate(ids) if t in self.eos_token_ids), None)
            kept = ids if stop_at is None else ids[:stop_at]
            kept = [t for t in kept if t != self.tokenizer.pad_token_id]
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            finish = "stop" if stop_at is not None else "length"
            cut = min((p for p in (text.find(s) for s in params.stop) if p >= 0), default=-1)
            if cut >= 0:  # like the other backends: the text ends before the stop string
                text, finish = text[:cut], "stop"
            result = GenerationResult(
                index=0,
                text=text,
                finish_reason=finish,
                prompt_tokens=int(inputs["attention_mask"][len(results)].sum()),
                completion_tokens=len(kept),
            )
            if params.json_schema is not None:
                finish_json(result)
            results.append(result)
        return results

    def close(self) -> None:
        if getattr(self, "hf_model", None) is not None:
            del self.hf_model
            self.hf_model = None
            if self._torch.cuda.is_available():
                self._torch.cuda.empty_cache()


def banned_token_sequences(tokenizer: Any, words: Any) -> list[list[int]]:
    """Token id sequences that spell each of ``words`` where a model would write it: at the start
    of the text or of a JSON string (after ``"``) and mid-sentence (after a space). Each is read
    off the tokenization of the word in that context, so tokenizers that mark word starts
    (``Ġ``, ``▁``) get the right pieces; a sequence that does not decode back to the word is
    dropped, and so is any holding a special token."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])

    def encode(text: str) -> list[int]:
        return list(tokenizer.encode(text, add_special_tokens=False))

    found: dict[tuple[int, ...], None] = {}
    for word in words:
        word = word.strip()
        if not word:
            continue
        candidates = [encode(word), encode(" " + word)]
        for anchor, joiner in (('"', ""), ("a", " "), ("\n", "")):
            base = encode(anchor)
            ids = encode(anchor + joiner + word)
            if ids[: len(base)] == base and len(ids) > len(base):
                candidates.append(ids[len(base) :])
        for ids in candidates:
            if not ids or special.intersection(ids):
                continue
            if tokenizer.decode(ids).strip() != word:
                continue
            found.setdefault(tuple(ids), None)
    return [list(ids) for ids in found]


__all__ = ["TransformersBackend", "banned_token_sequences"]
