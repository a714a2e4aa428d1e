"""The one small interface every VLM backend implements.

OpenAI-format chat messages (text and images) go in, text comes out; a list of conversations is
one batch. Image parts may be ``{"type": "image_url", "image_url": {"url": ...}}`` (a data URL, a
file path or ``file://`` URL, or an http(s) URL for HTTP backends) or, in Python,
``{"type": "image", "image": <PIL image, array or path>}``.

Example:
    >>> from rescap.backends.base import GenerationParams, text_message
    >>> params = GenerationParams(max_new_tokens=32, json_schema={"type": "object"})
    >>> text_message("user", "Describe the photo.")["content"][0]["type"]
    'text'
"""

from __future__ import annotations

import abc
import time
from typing import Any, ClassVar, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

Message = dict[str, Any]
Conversation = list[Message]

DEFAULT_MAX_IMAGE_PIXELS = 448 * 448


class BackendError(RuntimeError):
    """A backend failed as a whole (not one item of a batch)."""


class ModelNotFoundError(BackendError):
    """The model's weights are not where rescap looked; the message says where, and what to do."""


class GenerationParams(BaseModel):
    """Sampling parameters shared by every backend (a validated object, as vLLM's are)."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(256, ge=1, le=32768)
    temperature: float = Field(0.0, ge=0.0, le=5.0, description="0 means greedy decoding")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = None
    json_schema: dict[str, Any] | None = Field(
        None, description="constrain the output to JSON valid against this schema"
    )
    stop: list[str] = Field(default_factory=list)
    banned_words: list[str] = Field(
        default_factory=list,
        description="words the model may not write, each in its usual casings (see word_bans); empty: no ban",
    )

    def word_bans(self, *, upper: bool = False) -> list[str]:
        """``banned_words`` in the casings a model writes them (lowercase, Capitalised, UPPER for
        acronyms, and UPPER for every single word when ``upper``), less the words ``json_schema``
        spells itself: a key or an enum value such as ``"noise"`` must stay writable, or the grammar
        is left with odd tokenizations of it or none at all.

        >>> GenerationParams(banned_words=["blurry", "noise"], json_schema={
        ...     "type": "object", "properties": {"noise": {"enum": ["none", "mild"]}}}).word_bans()
        ['blurry', 'Blurry']
        """
        if not self.banned_words:
            return []
        import re

        from ..text.degradation_words import ban_variants

        spelled: list[str] = []  # what the schema makes the output spell: property names, enum/const values

        def collect(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("properties"), dict):
                    spelled.extend(str(k).lower() for k in node["properties"])
                values = node.get("enum") if isinstance(node.get("enum"), list) else []
                spelled.extend(v.lower() for v in [*values, node.get("const")] if isinstance(v, str))
                for value in node.values():
                    collect(value)
            elif isinstance(node, list):
                for value in node:
                    collect(value)

        collect(self.json_schema)
        words = [
            w
            for w in self.banned_words
            if not any(re.search(rf"(?<![a-z]){re.escape(w.strip().lower())}(?![a-z])", lit) for lit in spelled)
        ]
        return ban_variants(words, upper=upper)


class GenerationResult(BaseModel):
    """One conversation's output: its text, or the error that stopped it (the batch goes on)."""

    index: int
    text: str | None = None
    error: str | None = None
    finish_reason: str | None = None  # "stop", "length", or the backend's own word
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None
    unreachable: bool = False  # the server could not be reached or answered 502/503/504: not this item's fault

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class BatchGenerationError(BackendError):
    """Some items of a batch could not be generated; ``results`` holds every item, done or not."""

    def __init__(self, message: str, results: list[GenerationResult]):
        super().__init__(message)
        self.results = results

    @property
    def failed_indices(self) -> list[int]:
        return [r.index for r in self.results if not r.ok]


def retried_note(retries: int) -> str:
    """What a run says about requests a server made it send again ("" for none)."""
    if not retries:
        return ""
    many = retries != 1
    return (f"{retries} request{'s' if many else ''} to the captioning server {'were' if many else 'was'} retried "
            "(server errors, rate limits or dropped connections)")  # fmt: skip


class BackendStats(BaseModel):
    """Where a backend's time went: in the model (or server) and everything else."""

    items: int = 0
    model_seconds: float = 0.0  # inside generate()/LLM.chat()/HTTP requests (wall clock)
    total_seconds: float = 0.0  # whole generate() calls

    @property
    def overhead_seconds(self) -> float:
        return max(self.total_seconds - self.model_seconds, 0.0)


class VLMBackend(abc.ABC):
    """Base class of VLM backends. Subclasses implement ``_generate`` for a batch.

    ``name`` is the source prefix of model strings (``transformers:<model>``). Constructors take
    the model (hub id, local path or served name) and backend options as keywords.
    """

    name: ClassVar[str] = ""

    def __init__(self, model: str, *, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS, **options: Any):
        if not model:
            raise ValueError(f"the {self.name or type(self).__name__} backend needs a model")
        if options:  # a typo in -O KEY=VALUE must not pass silently
            import inspect

            known = sorted(
                p.name for p in inspect.signature(type(self).__init__).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY or (p.default is not inspect.Parameter.empty and p.name != "model")
            )  # fmt: skip
            known = sorted({*known, "max_image_pixels"})
            raise BackendError(
                f"unknown option{'s' if len(options) > 1 else ''} for the {self.name or type(self).__name__} backend: "
                f"{', '.join(sorted(options))} (it takes: {', '.join(known)})"
            )
        self.model = model
        self.max_image_pixels = int(max_image_pixels)
        self.stats = BackendStats()

    @property
    def model_string(self) -> str:
        return f"{self.name}:{self.model}"

    def generate(
        self, conversations: Sequence[Conversation], params: GenerationParams | None = None
    ) -> list[GenerationResult]:
        """Generate one reply per conversation, as one batch.

        Returns a result per conversation, in order. Items that fail carry ``error``; when any
        item fails, ``BatchGenerationError`` is raised with every result attached (done ones kept).
        """
        params = params or GenerationParams()
        conversations = [list(c) for c in conversations]
        if not conversations:
            return []
        start = time.perf_counter()
        results = self._generate(conversations, params)
        elapsed = time.perf_counter() - start
        self.stats.items += len(results)
        self.stats.total_seconds += elapsed
        for r in results:
            if r.seconds is None:
                r.seconds = elapsed / len(results)
        failed = [r for r in results if not r.ok]
        if failed:
            names = ", ".join(str(r.index) for r in failed)
            first = failed[0].error or "no output"
            raise BatchGenerationError(
                f"{len(failed)} of {len(results)} items failed on {self.model_string} (items {names}): {first}",
                results,
            )
        return results

    def close(self) -> None:
        """Release the model (GPU memory, engine processes, HTTP clients)."""

    def _timed_model_call(self):
        """Context manager adding the enclosed wall time to ``stats.model_seconds``."""
        return _ModelTimer(self.stats)

    def __enter__(self) -> "VLMBackend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def _generate(self, conversations: list[Conversation], params: GenerationParams) -> list[GenerationResult]:
        """Generate for a whole batch; per-item failures go in ``GenerationResult.error``."""


class _ModelTimer:
    def __init__(self, stats: BackendStats):
        self.stats = stats

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.stats.model_seconds += time.perf_counter() - self.start


def text_message(role: str, text: str, images: Iterable[Any] = ()) -> Message:
    """An OpenAI-format message: the images first, then the text."""
    content: list[dict[str, Any]] = [{"type": "image", "image": image} for image in images]
    content.append({"type": "text", "text": text})
    return {"role": role, "content": content}
