"""Running one chain-of-thought step on the VLM for a batch of prepared images.

Each step renders its template per image, asks the backend once for the whole batch with a JSON
schema, and parses each answer into the image's record (a failed or unparseable answer fails only
that image).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from ..backends.base import BatchGenerationError, GenerationParams, GenerationResult, VLMBackend, text_message
from ..backends.structured import token_budget
from ..errors import one_line
from .bundle import CaptionFailure, StepTrace
from .config import CaptionerConfig
from .items import PreparedImage
from .steps import (
    ANSWERS,
    analysis_schema,
    caption_schema,
    chars_for_tokens,
    content_schema,
    degradation_schema,
    single_schema,
)
from .templates import PromptTemplates

# Degradation words are banned only where the caption is written alone: in ``single`` the same answer
# also holds the VLM's reading of the degradation, which must be free to name it (the filter still
# cleans that mode's caption afterwards).
BANNED_IN_STEPS = ("caption",)


class StepRunner:
    """Renders, asks and parses the steps ``degradation``, ``content``, ``analysis``, ``caption``, ``single``."""

    def __init__(self, backend: VLMBackend, templates: PromptTemplates, config: CaptionerConfig, caption_style: str,
                 banned_words: list[str] | None = None):  # fmt: skip
        self.backend = backend
        self.templates = templates
        self.config = config
        self.caption_style = caption_style
        self.banned_words = list(banned_words or [])

    def prompt_and_schema(self, step: str, item: PreparedImage) -> tuple[str, dict]:
        subjects = [s.model_dump() for s in item.content.subjects] if item.content else []
        harmed = ", ".join(item.content.harmed_names()) if item.content else ""
        max_subjects = self.config.max_subjects
        context = {
            "degradation": item.report, "analysis": item.assessment.assessment if item.assessment else None,
            "max_subjects": max_subjects, "scene": item.content.scene if item.content else None, "subjects": subjects,
            "target_words": self.config.policy.words_for(item.target), "style": self.caption_style, "harmed": harmed or None,
            "region": item.region,
        }  # fmt: skip
        schemas = {
            "degradation": lambda: degradation_schema(),
            "content": lambda: content_schema(max_subjects),
            "analysis": lambda: analysis_schema(max_subjects),
            "caption": lambda: caption_schema(chars_for_tokens(item.target)),
            "single": lambda: single_schema(max_subjects, chars_for_tokens(item.target)),
        }
        return self.templates.render(step, **context), schemas[step]()

    def params(self, step: str, schema: dict) -> GenerationParams:
        banned = self.banned_words if step in BANNED_IN_STEPS else []
        return GenerationParams(max_new_tokens=token_budget(schema), json_schema=schema, seed=self.config.seed, banned_words=banned)

    def run(self, items: list[PreparedImage], step: str, progress: Callable[[str], None] | None = None) -> None:
        live = [it for it in items if it.failure is None and (step != "caption" or it.target > 0)]
        if not live:
            return
        prompts = [self.prompt_and_schema(step, it)[0] for it in live]
        # one call for the whole batch: one schema, sized for the longest target (each prompt asks
        # for its own length, and control trims each caption to its own target)
        longest = max(live, key=lambda it: it.target)
        schema = self.prompt_and_schema(step, longest)[1]
        conversations = [[text_message("user", p, [it.picture])] for p, it in zip(prompts, live)]
        start = time.perf_counter()
        try:
            results: list[GenerationResult | None] = list(self.backend.generate(conversations, self.params(step, schema)))
        except BatchGenerationError as exc:
            results = list(exc.results)
        except Exception as exc:  # the backend as a whole failed: every item of this call fails
            results = [GenerationResult(index=i, error=f"{type(exc).__name__}: {exc}") for i in range(len(live))]
        share = (time.perf_counter() - start) / len(live)
        results = (results + [None] * len(live))[: len(live)]  # a backend answering fewer items fails the rest, never drops them
        for it, prompt, out in zip(live, prompts, results):
            trace = StepTrace(step=step, prompt=prompt, output=out.text if out else None, seconds=share)
            it.trace.append(trace)
            it.timings[f"vlm_{step}"] = share
            if out is None or not out.ok:
                trace.error = (out.error if out else None) or "no output"
                it.failure = CaptionFailure(image=it.name, stage=f"vlm:{step}", error=trace.error, unreachable=bool(out and out.unreachable))
                continue
            try:
                parsed = json.loads(out.text)
                trace.parsed = parsed if isinstance(parsed, dict) else {"answer": parsed}
                absorb(step, it, parsed)
            except Exception as exc:  # any wrong answer fails this image only
                kind = "unparseable" if isinstance(exc, json.JSONDecodeError) else "unusable"  # not JSON / JSON of the wrong shape
                trace.error = f"{kind} answer: {one_line(exc, with_type=True, limit=300)}"
                it.failure = CaptionFailure(image=it.name, stage=f"vlm:{step}", error=trace.error)
        if progress:
            progress(step)


def absorb(step: str, item: PreparedImage, parsed: Any) -> None:
    """Check a parsed answer against its step's model and put it into the image's record."""
    answer = ANSWERS[step].model_validate(parsed)
    if step == "degradation":
        item.assessment = answer
    elif step == "content":
        item.content = answer
    elif step == "caption":
        item.raw_caption = answer.caption
    else:  # analysis / single
        item.assessment, item.content = answer.degradation, answer.content
        if step == "single":
            item.raw_caption = answer.caption
