"""``Captioner``: degradation -> chain of thought on a VLM -> richness, relevance, filters -> bundle.

Per batch of images, every VLM step is one batched backend call across the batch. Modes:

- ``chain`` (default, 3 calls): degradation, then content (seeing the degradation answer), then
  the caption at the length the richness policy set from the severity, the content categories and
  the restorer's budget;
- ``fused`` (2 calls): degradation and content in one answer (degradation first), then the caption;
- ``single`` (1 call): all three in one answer; the length is set before the content is known.

Why ``chain``: each step's prompt and answer stay short and simple, which small VLMs follow best,
and on ``benchmarks/captioner.py`` it was also the fastest (32 images batched: chain 17.8 img/s,
fused 16.1, single 15.4 - shorter answers mean shorter sequences, which outweighs the extra call).

Example:
    >>> from rescap.captioning.captioner import Captioner
    >>> captioner = Captioner(backend=None, restorer="supir")   # degradation-only bundles
    >>> bundle = captioner.caption("examples/images/coffee_q30.jpg")  # doctest: +SKIP
    >>> bundle.restoration_prompt  # doctest: +SKIP
    'remove JPEG artifacts at quality 30'
"""

from __future__ import annotations

import dataclasses

import io
import json
import time
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

from .._version import __version__
from ..backends.base import BatchGenerationError, GenerationParams, GenerationResult, VLMBackend, text_message
from ..backends.structured import token_budget
from ..text.degradation_words import remove_degradation_words
from ..control.relevance import DEFAULT_MARGIN, join_phrases, select_phrases, split_phrases
from ..control.richness import ContentMix, RichnessPolicy
from ..degradation.estimate import estimate_degradation
from ..degradation.report import DegradationReport
from ..restorers import RestorerProfile, get_restorer
from ..text.tokens import TokenCounter, counter_for, truncate_to_tokens
from .bundle import CaptionFailure, PhraseRelevance, PromptBundle, Richness, StepTrace, TokenCounts
from .restoration_prompts import degradation_vector, negative_prompt, restoration_prompt
from .steps import (
    ContentAnalysis,
    DegradationAssessment,
    analysis_schema,
    caption_schema,
    chars_for_tokens,
    content_schema,
    degradation_schema,
    single_schema,
)
from .templates import PromptTemplates

Mode = Literal["fused", "chain", "single"]
_DEFAULT = object()
# A caption may run this much over its target before phrases are cut (never over the budget).
TARGET_SLACK = 1.25


class CaptionError(RuntimeError):
    """Captioning one image failed; ``failure`` says at which stage and why."""

    def __init__(self, failure: CaptionFailure):
        super().__init__(f"{failure.image or 'image'}: {failure.stage}: {failure.error}")
        self.failure = failure


@dataclass
class _Item:
    source: Any
    name: str | None
    picture: Any = None
    report: DegradationReport | None = None
    assessment: DegradationAssessment | None = None
    content: ContentAnalysis | None = None
    raw_caption: str | None = None
    target: int = 0
    mix: ContentMix = field(default_factory=ContentMix)
    trace: list[StepTrace] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    failure: CaptionFailure | None = None


PreparedImage = _Item  # what ``Captioner.prepare`` returns (opaque to callers)


def _name_of(source: Any) -> str | None:
    import os

    return str(source) if isinstance(source, (str, os.PathLike)) else None


def load_picture(source: Any, max_pixels: int):
    """RGB PIL image for the VLM (EXIF orientation applied, 16-bit scaled), fitted to ``max_pixels``."""
    import numpy as np
    from PIL import Image, ImageOps

    from ..backends.media import fit_pixels
    from ..images import load_image

    if isinstance(source, Image.Image) and source.mode in ("RGB", "L", "RGBA", "P"):
        return fit_pixels(source.convert("RGB"), max_pixels)
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(bytes(source))
    if isinstance(source, (str, io.BytesIO)) or hasattr(source, "__fspath__"):
        with Image.open(source) as im:
            if im.mode in ("RGB", "L", "RGBA", "P", "LA", "CMYK", "YCbCr"):
                if im.format == "JPEG":
                    im.draft("RGB", (int(max_pixels**0.5) * 2, int(max_pixels**0.5) * 2))
                return fit_pixels(ImageOps.exif_transpose(im).convert("RGB"), max_pixels)
    pixels = load_image(source, max_analysis_pixels=max_pixels * 4).pixels
    array = np.clip(pixels, 0, 255).astype(np.uint8)
    array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
    return fit_pixels(Image.fromarray(array), max_pixels)


def _adapter_composer(name: str, tokenizer: str | None) -> Callable[[str], str] | None:
    """The registered adapter's own caption + quality-prompt join, when there is an adapter by that name."""
    from ..adapters.registry import available_adapters, get_adapter

    if name.strip().lower() not in available_adapters():
        return None
    return get_adapter(name, tokenizer=tokenizer).positive_for if tokenizer else get_adapter(name).positive_for


class Captioner:
    """Captions images for a restorer: ``caption(image)`` and ``caption_batch(images)``.

    ``backend``: a ``VLMBackend``, a model string (``"transformers:/models/smolvlm"``), or ``None``
    for degradation-only bundles (no caption; negative and restoration prompts only). By default the
    transformers backend with its default model. ``relevance``: ``"auto"`` (CLIP if it can be loaded,
    else no relevance filtering, with a warning), ``None`` (off), a CLIP model id/folder, or any
    object with ``score(images, phrases)``.

    Example:
        >>> from rescap import Captioner  # doctest: +SKIP
        >>> captioner = Captioner("transformers:/models/smolvlm", restorer="supir")  # doctest: +SKIP
        >>> bundles = captioner.caption_batch(["a.png", "b.jpg"])  # doctest: +SKIP
        >>> bundles[0].positive_prompt  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: VLMBackend | str | None = _DEFAULT,  # type: ignore[assignment]
        *,
        policy: RichnessPolicy | None = None,
        restorer: str | RestorerProfile = "sd",
        relevance: Any = "auto",
        relevance_margin: float = DEFAULT_MARGIN,
        templates: PromptTemplates | None = None,
        prompts_dir: str | None = None,
        mode: Mode = "chain",
        tokenizer: str | None = None,
        counter: TokenCounter | None = None,
        compose: Callable[[str], str] | None = None,
        max_subjects: int = 5,
        embeddings: bool = False,
        max_image_pixels: int = 448 * 448,
        seed: int | None = 0,
    ):
        from ..backends.registry import create_backend

        if backend is _DEFAULT:
            backend = create_backend("transformers:")
        elif isinstance(backend, str):
            backend = create_backend(backend)
        self.backend: VLMBackend | None = backend  # type: ignore[assignment]
        self.profile = get_restorer(restorer) if isinstance(restorer, str) else restorer
        if compose is None and isinstance(restorer, str):
            compose = _adapter_composer(restorer, tokenizer)
        self.policy = policy or RichnessPolicy()
        if mode not in ("fused", "chain", "single"):
            raise ValueError(f"mode must be fused, chain or single, not {mode!r}")
        self.mode = mode
        self.templates = templates or PromptTemplates.load(prompts_dir)
        self.counter: TokenCounter = counter or counter_for(self.profile.tokenizer, tokenizer)
        self._compose = compose  # a restorer adapter's own caption + quality-prompt join
        self.max_subjects = max_subjects
        self.embeddings = embeddings
        self.max_image_pixels = max_image_pixels
        self.seed = seed
        self.relevance_margin = relevance_margin
        self._relevance_spec = relevance
        self._scorer: Any = None
        self._scorer_ready = relevance is None or relevance is False or self.backend is None
        if not self._scorer_ready and relevance != "auto":
            _ = self.scorer  # an explicit CLIP model must load now: its errors belong to set-up
        self.budget = self._caption_budget()

    # -- configuration ------------------------------------------------------------------------
    def _caption_budget(self) -> int:
        """Tokens left for the caption once the restorer's own quality prompt is in the window."""
        probe = "fox"
        used = max(self.counter.count(self.compose_positive(probe)) - self.counter.count(probe), 0)
        margin = 0 if self.counter.exact else 2  # an approximate count may be a token or two short
        return max(self.profile.caption_window - used - margin, 0)

    @property
    def scorer(self):
        if not self._scorer_ready:
            self._scorer_ready = True
            spec = self._relevance_spec
            if hasattr(spec, "score"):
                self._scorer = spec
            else:
                from ..control.relevance import ClipRelevanceScorer

                try:
                    self._scorer = ClipRelevanceScorer() if spec == "auto" else ClipRelevanceScorer(str(spec))
                except Exception as exc:
                    if spec != "auto":
                        raise
                    warnings.warn(f"relevance scoring is off: the default CLIP model could not be loaded ({exc.__class__.__name__})", stacklevel=2)
        return self._scorer

    # -- public API ---------------------------------------------------------------------------
    def caption(self, image: Any) -> PromptBundle:
        """One image (path, PIL image or array) -> ``PromptBundle``; raises ``CaptionError``."""
        result = self.caption_batch([image])[0]
        if isinstance(result, CaptionFailure):
            raise CaptionError(result)
        return result

    def caption_batch(
        self, images: Sequence[Any], progress: Callable[[str], None] | None = None
    ) -> list[PromptBundle | CaptionFailure]:
        """Many images, one batched VLM call per step; a failed image gets a ``CaptionFailure``."""
        items = [self.prepare(im) for im in images]
        if progress:
            progress("estimate")
        return self.caption_prepared(items, progress)

    def prepare(self, image: Any, name: str | None = None) -> "PreparedImage":
        """The per-image work before the VLM (decoding, degradation estimate, fitting the picture).

        Thread-safe; ``caption_prepared`` then captions many prepared images in one batch, so a
        pipeline can prepare the next batch while the VLM works on this one.
        """
        item = _Item(source=image, name=name if name is not None else _name_of(image))
        self._estimate(item)
        return item

    def prepared_from(self, name: str | None, report: DegradationReport, picture: Any, estimate_seconds: float = 0.0) -> "PreparedImage":
        """A prepared image from work done elsewhere (another process or machine)."""
        item = _Item(source=None, name=name, picture=picture, report=report)
        item.timings["estimate"] = estimate_seconds
        return item

    def failed(self, name: str | None, stage: str, error: str) -> "PreparedImage":
        """A prepared image standing for one that could not even be read (``caption_prepared`` reports it)."""
        item = _Item(source=None, name=name)
        item.failure = CaptionFailure(image=name, stage=stage, error=error)
        return item

    def caption_prepared(
        self, items: Sequence["PreparedImage"], progress: Callable[[str], None] | None = None
    ) -> list[PromptBundle | CaptionFailure]:
        """Caption images made by ``prepare``: one batched VLM call per step, then control."""
        items = list(items)
        self.analyze(items, progress)
        return self.finish(items, progress)

    def analyze(self, items: Sequence["PreparedImage"], progress: Callable[[str], None] | None = None) -> None:
        """The steps before the caption (degradation and content, or the fused analysis), in place.

        Their answers do not depend on richness, so one analysis can serve captioners that differ
        only in their richness policy: ``other.finish(fork(items))`` for each.
        """
        if self.backend is None or self.mode == "single":
            return
        items = list(items)
        self._run_step(items, "analysis" if self.mode == "fused" else "degradation", progress)
        if self.mode == "chain":
            self._run_step(items, "content", progress)

    def finish(
        self, items: Sequence["PreparedImage"], progress: Callable[[str], None] | None = None
    ) -> list[PromptBundle | CaptionFailure]:
        """The caption step at this captioner's richness, then control (after ``analyze``)."""
        items = list(items)
        if self.backend is not None:
            if self.mode == "single":
                self._set_targets(items, content_known=False)
                self._run_step(items, "single", progress)
            else:
                self._set_targets(items, content_known=True)
                self._run_step(items, "caption", progress)
        else:
            self._set_targets(items, content_known=False)
        bundles = self._control(items)
        if progress:
            progress("control")
        return bundles

    @staticmethod
    def fork(items: Sequence["PreparedImage"]) -> list["PreparedImage"]:
        """Copies of analysed items, to finish at another richness (the picture is shared)."""
        return [
            dataclasses.replace(it, trace=list(it.trace), timings=dict(it.timings), mix=it.mix.model_copy())
            for it in items
        ]

    # -- stages -------------------------------------------------------------------------------
    def _estimate(self, item: _Item) -> None:
        start = time.perf_counter()
        try:
            item.report = estimate_degradation(item.source)
        except Exception as exc:
            item.failure = CaptionFailure(image=item.name, stage="estimate", error=str(exc) or type(exc).__name__)
            return
        item.timings["estimate"] = time.perf_counter() - start
        if self.backend is not None:
            try:
                item.picture = load_picture(item.source, self.max_image_pixels)
            except Exception as exc:
                item.failure = CaptionFailure(image=item.name, stage="read", error=str(exc) or type(exc).__name__)

    def _set_targets(self, items: list[_Item], content_known: bool) -> None:
        for item in items:
            if item.failure is not None or item.report is None:
                continue
            item.mix = item.content.mix() if (content_known and item.content is not None) else ContentMix()
            item.target = self.policy.target_tokens(item.report.overall_severity, item.mix, self.budget)

    def _prompt_and_schema(self, step: str, item: _Item) -> tuple[str, dict]:
        subjects = [s.model_dump() for s in item.content.subjects] if item.content else []
        harmed = ", ".join(item.content.harmed_names()) if item.content else ""
        words = self.policy.words_for(item.target)
        context = {
            "degradation": item.report, "analysis": item.assessment.assessment if item.assessment else None,
            "max_subjects": self.max_subjects, "scene": item.content.scene if item.content else None,
            "subjects": subjects, "target_words": words, "style": self.profile.caption_style, "harmed": harmed or None,
        }  # fmt: skip
        schemas = {
            "degradation": lambda: degradation_schema(),
            "content": lambda: content_schema(self.max_subjects),
            "analysis": lambda: analysis_schema(self.max_subjects),
            "caption": lambda: caption_schema(chars_for_tokens(item.target)),
            "single": lambda: single_schema(self.max_subjects, chars_for_tokens(item.target)),
        }
        return self.templates.render(step, **context), schemas[step]()

    def _run_step(self, items: list[_Item], step: str, progress: Callable[[str], None] | None) -> None:
        live = [it for it in items if it.failure is None and (step != "caption" or it.target > 0)]
        if not live:
            return
        prompts = [self._prompt_and_schema(step, it)[0] for it in live]
        # one call for the whole batch: one schema, sized for the longest target (each prompt asks
        # for its own length, and control trims each caption to its own target)
        longest = max(live, key=lambda it: it.target)
        schema = self._prompt_and_schema(step, longest)[1]
        conversations = [[text_message("user", p, [it.picture])] for p, it in zip(prompts, live)]
        params = GenerationParams(max_new_tokens=token_budget(schema), json_schema=schema, seed=self.seed)
        start = time.perf_counter()
        try:
            results: list[GenerationResult | None] = list(self.backend.generate(conversations, params))  # type: ignore[union-attr]
        except BatchGenerationError as exc:
            results = list(exc.results)
        except Exception as exc:  # the backend as a whole failed: every item of this call fails
            results = [GenerationResult(index=i, error=f"{type(exc).__name__}: {exc}") for i in range(len(live))]
        share = (time.perf_counter() - start) / len(live)
        for it, prompt, out in zip(live, prompts, results):
            trace = StepTrace(step=step, prompt=prompt, output=out.text if out else None, seconds=share)
            it.trace.append(trace)
            it.timings[f"vlm_{step}"] = share
            if out is None or not out.ok:
                trace.error = (out.error if out else None) or "no output"
                it.failure = CaptionFailure(image=it.name, stage=f"vlm:{step}", error=trace.error)
                continue
            try:
                parsed = json.loads(out.text)
                trace.parsed = parsed
                self._absorb(step, it, parsed)
            except (ValueError, TypeError) as exc:
                trace.error = f"unparseable answer: {exc}"
                it.failure = CaptionFailure(image=it.name, stage=f"vlm:{step}", error=trace.error)
        if progress:
            progress(step)

    @staticmethod
    def _absorb(step: str, item: _Item, parsed: dict) -> None:
        if step in ("degradation",):
            item.assessment = DegradationAssessment.model_validate(parsed)
        elif step == "content":
            item.content = ContentAnalysis.model_validate(parsed)
        elif step == "caption":
            item.raw_caption = str(parsed.get("caption", ""))
        else:  # analysis / single
            item.assessment = DegradationAssessment.model_validate(parsed["degradation"])
            item.content = ContentAnalysis.model_validate(parsed["content"])
            if step == "single":
                item.raw_caption = str(parsed.get("caption", ""))

    # -- control ------------------------------------------------------------------------------
    def _control(self, items: list[_Item]) -> list[PromptBundle | CaptionFailure]:
        start = time.perf_counter()
        filtered: dict[int, tuple[str, list[str]]] = {}
        for i, it in enumerate(items):
            if it.failure is None:
                filtered[i] = self._clean(it.raw_caption or "")
        relevance = self._relevance(items, filtered)
        control_share = (time.perf_counter() - start) / max(len(filtered), 1)
        out: list[PromptBundle | CaptionFailure] = []
        for i, it in enumerate(items):
            if it.failure is not None:
                out.append(it.failure)
                continue
            t0 = time.perf_counter()
            try:
                out.append(self._bundle(it, *filtered[i], relevance.get(i)))
            except Exception as exc:  # pragma: no cover - defensive: one image must not sink the batch
                out.append(CaptionFailure(image=it.name, stage="control", error=f"{type(exc).__name__}: {exc}"))
                continue
            out[-1].timings["control"] = control_share + (time.perf_counter() - t0)
            out[-1].timings["total"] = sum(v for k, v in out[-1].timings.items() if k != "total")
        return out

    def _clean(self, caption: str) -> tuple[str, list[str]]:
        removed: list[str] = []
        # control and private-use characters are never content (weak models emit them)
        text = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Cn") else " " for ch in caption)
        text = " ".join(text.split())
        if self.profile.caption_style == "tags":
            tags = [t.strip() for t in text.replace(";", ",").split(",")]
            kept = [t for t in tags if t and t.lower() not in ("none", "null", "n/a")]
            removed += [t for t in tags if t and t not in kept]
            text = ", ".join(kept)
        if text.strip().lower() in ("none", "null", "n/a"):
            removed.append(text)
            text = ""
        result = remove_degradation_words(text)
        removed += result.removed + [f"{a} -> {b}" for a, b in result.rewritten]
        return result.text, removed

    def _relevance(self, items: list[_Item], filtered: dict[int, tuple[str, list[str]]]) -> dict[int, list[PhraseRelevance]]:
        scorer = self.scorer if self.backend is not None else None
        if scorer is None:
            return {}
        chosen = [i for i, (text, _) in filtered.items() if text and len(split_phrases(text)) > 1]
        if not chosen:
            return {}
        phrases = [split_phrases(filtered[i][0]) for i in chosen]
        scores = scorer.score([items[i].picture for i in chosen], phrases)
        return {
            i: [PhraseRelevance(phrase=p.phrase, score=round(p.score, 4), kept=p.kept) for p in select_phrases(ph, sc, self.relevance_margin)]
            for i, ph, sc in zip(chosen, phrases, scores)
        }

    def _fit(self, caption: str, limit: int, removed: list[str]) -> str:
        """Drop trailing phrases, then words, until the caption fits ``limit`` tokens."""
        if self.counter.count(caption) <= limit:
            return caption
        phrases = split_phrases(caption)
        while len(phrases) > 1 and self.counter.count(join_phrases(caption, phrases)) > limit:
            removed.append(phrases.pop())
        fitted = join_phrases(caption, phrases)
        if self.counter.count(fitted) > limit:
            cut = truncate_to_tokens(self.counter, fitted, limit)
            removed.append(fitted[len(cut) :].strip())
            fitted = cut
        return fitted

    def compose_positive(self, caption: str) -> str:
        """The caption joined with the restorer's quality prompt the way the restorer joins them."""
        if self._compose is not None:
            return self._compose(caption)
        quality = self.profile.quality_prompt
        if not quality:
            return caption
        if not caption:
            return quality
        return caption + self.profile.joiner + quality

    def _bundle(self, it: _Item, caption: str, removed: list[str], relevance: list[PhraseRelevance] | None) -> PromptBundle:
        report = it.report
        assert report is not None
        if relevance:
            kept = [r.phrase for r in relevance if r.kept]
            removed += [r.phrase for r in relevance if not r.kept]
            caption = join_phrases(caption, kept)
        limit = min(self.budget, max(it.target, int(it.target * TARGET_SLACK))) if self.backend is not None else self.budget
        caption = self._fit(caption, limit, removed)
        positive = self.compose_positive(caption)
        while caption and self.counter.count(positive) > self.profile.caption_window:  # joins can add a token
            caption = self._fit(caption, self.counter.count(caption) - 1, removed)
            positive = self.compose_positive(caption)
        negative = negative_prompt(report, self.profile.negative_prompt)
        counts = TokenCounts(
            counter=self.counter.name, exact=self.counter.exact, caption=self.counter.count(caption),
            positive=self.counter.count(positive), negative=self.counter.count(negative),
            window=self.profile.window, positive_fits=self.counter.count(positive) <= self.profile.caption_window,
        )  # fmt: skip
        richness = None
        if self.backend is not None:
            richness = Richness(
                mode=str(self.policy.mode), target_tokens=it.target, target_words=self.policy.words_for(it.target),
                budget_tokens=self.budget, severity=report.overall_severity,
                benefits_share=it.mix.benefits, harmed_share=it.mix.harmed,
            )  # fmt: skip
        embedding = None
        if self.embeddings and self.scorer is not None and it.picture is not None:
            embedding = self.scorer.image_embeddings([it.picture])[0]
        return PromptBundle(
            image=it.name, restorer=self.profile.name, caption=caption, positive_prompt=positive,
            negative_prompt=negative, restoration_prompt=restoration_prompt(report), degradation=report,
            assessment=it.assessment, content=it.content, richness=richness, relevance_scores=relevance,
            removed=[r for r in removed if r], token_counts=counts, trace=it.trace, timings=dict(it.timings),
            model=self.backend.model_string if self.backend is not None else None, rescap_version=__version__,
            image_embedding=embedding, degradation_vector=degradation_vector(report),
        )  # fmt: skip
