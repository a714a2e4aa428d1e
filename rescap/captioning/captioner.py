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

The restorer's adapter (``restorer=``, a name or a ``RestorerAdapter``) is the one source of its
text rules: window(s), tokenizer(s), quality and negative prompts, join, sentences or tags.

Example:
    >>> from rescap.captioning.captioner import Captioner
    >>> captioner = Captioner(backend=None, restorer="supir")   # degradation-only bundles
    >>> bundle = captioner.caption("examples/images/coffee_q30.jpg")  # doctest: +SKIP
    >>> bundle.restoration_prompt  # doctest: +SKIP
    'remove JPEG artifacts at quality 30'
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Sequence

from ..backends.base import VLMBackend
from ..errors import SentenceError
from ..control.richness import ContentMix
from ..degradation.report import DegradationReport
from ..text.degradation_words import banned_words
from .assemble import assemble
from .bundle import CaptionFailure, PromptBundle
from .config import CaptionerConfig
from .items import PreparedImage, name_of, prepare_image
from .tiles import FLAT_TILE_TOKENS, TiledCaptions
from .templates import PromptTemplates
from .text_control import apply_relevance, clean_caption, score_relevance
from .vlm_steps import StepRunner

_DEFAULT = object()


class CaptionError(SentenceError):
    """Captioning one image failed; ``failure`` says at which stage and why."""

    def __init__(self, failure: CaptionFailure, with_name: bool = True):
        super().__init__(f"{failure.image or 'image'}: {failure.stage}: {failure.error}" if with_name else f"caption failed at {failure.stage}: {failure.error}")
        self.failure = failure


def resolve_adapter(restorer: Any, tokenizer: str | None = None, quality_prompt: str = "fit") -> Any:
    """A restorer adapter from a name (or the adapter itself)."""
    if not isinstance(restorer, str):
        return restorer
    from ..adapters.registry import get_adapter

    options: dict[str, Any] = {"quality_prompt": quality_prompt}
    if tokenizer:
        options["tokenizer"] = tokenizer
    return get_adapter(restorer, **options)


class Captioner:
    """Captions images for a restorer: ``caption(image)`` and ``caption_batch(images)``.

    ``backend``: a ``VLMBackend``, a model string (``"transformers:/models/smolvlm"``), or ``None``
    for degradation-only bundles (no caption; negative and restoration prompts only); by default the
    transformers backend with its default model. ``restorer``: an adapter name (``rescap adapters
    list``) or a ``RestorerAdapter``. ``config`` (a ``CaptionerConfig``) and/or its fields as
    keywords (``policy=``, ``mode=``, ``relevance=``...) set the rest.

    Example:
        >>> from rescap import Captioner  # doctest: +SKIP
        >>> captioner = Captioner("transformers:/models/smolvlm", restorer="supir", mode="fused")  # doctest: +SKIP
        >>> bundles = captioner.caption_batch(["a.png", "b.jpg"])  # doctest: +SKIP
        >>> bundles[0].positive_prompt  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: VLMBackend | str | None = _DEFAULT,  # type: ignore[assignment]
        restorer: Any = "sd",
        config: CaptionerConfig | None = None,
        *,
        templates: PromptTemplates | None = None,
        **settings: Any,
    ):
        from ..backends.registry import create_backend

        if settings.get("policy", 0) is None:
            settings.pop("policy")
        self.config = CaptionerConfig(**{**(dict(config) if config else {}), **settings})
        if backend is _DEFAULT:
            backend = create_backend("transformers:")
        elif isinstance(backend, str):
            backend = create_backend(backend)
        self.backend: VLMBackend | None = backend  # type: ignore[assignment]
        self.uncaptioned_reason: str | None = None  # why there is no backend, for the bundles (None: not asked for)
        self.adapter = resolve_adapter(restorer, self.config.tokenizer, self.config.quality_prompt)
        self.policy = self.config.policy
        self.mode = self.config.mode
        self.templates = templates or PromptTemplates.load(self.config.prompts_dir)
        self.budget = self.adapter.caption_budget()
        self._steps = None
        if self.backend is not None:
            bans = banned_words() if self.config.ban_degradation_words else []
            self._steps = StepRunner(self.backend, self.templates, self.config, self.adapter.caption_style, bans)
        relevance = self.config.relevance
        self._scorer: Any = None
        self._scorer_ready = relevance is None or relevance is False or self.backend is None
        if not self._scorer_ready and relevance != "auto":
            _ = self.scorer  # an explicit CLIP model must load now: its errors belong to set-up

    @property
    def counter(self):
        return self.adapter.counter

    @property
    def scorer(self):
        if not self._scorer_ready:
            self._scorer_ready = True
            spec = self.config.relevance
            if hasattr(spec, "score"):
                self._scorer = spec
            else:
                from ..control.relevance import ClipRelevanceScorer

                try:
                    self._scorer = ClipRelevanceScorer() if spec == "auto" else ClipRelevanceScorer(str(spec))
                except Exception as exc:
                    if spec != "auto":
                        raise
                    warnings.warn(
                        f"relevance scoring is off: the default CLIP model could not be loaded ({exc.__class__.__name__}); "
                        "--relevance off (Python: relevance='off') skips it, --relevance <CLIP folder> uses a local copy",
                        stacklevel=2,
                    )  # fmt: skip
        return self._scorer

    # -- public API ---------------------------------------------------------------------------
    def caption(self, image: Any) -> PromptBundle:
        """One image (path, PIL image or array) -> ``PromptBundle``; raises ``CaptionError``."""
        result = self.caption_batch([image])[0]
        if isinstance(result, CaptionFailure):
            raise CaptionError(result)
        return result

    def caption_batch(self, images: Sequence[Any], progress: Callable[[str], None] | None = None) -> list[PromptBundle | CaptionFailure]:
        """Many images, one batched VLM call per step; a failed image gets a ``CaptionFailure``."""
        items = [self.prepare(im) for im in images]
        if progress:
            progress("estimate")
        return self.caption_prepared(items, progress)

    def prepare(self, image: Any, name: str | None = None) -> PreparedImage:
        """The per-image work before the VLM (decoding, degradation estimate, fitting the picture).

        Thread-safe; ``caption_prepared`` then captions many prepared images in one batch, so a
        pipeline can prepare the next batch while the VLM works on this one.
        """
        return prepare_image(image, name if name is not None else name_of(image), self.config.max_image_pixels if self.backend is not None else None)

    def prepared_from(self, name: str | None, report: DegradationReport, picture: Any, estimate_seconds: float = 0.0) -> PreparedImage:
        """A prepared image from work done elsewhere (another process or machine)."""
        item = PreparedImage(source=None, name=name, picture=picture, report=report)
        item.timings["estimate"] = estimate_seconds
        return item

    def failed(self, name: str | None, stage: str, error: str) -> PreparedImage:
        """A prepared image standing for one that could not even be read (``caption_prepared`` reports it)."""
        item = PreparedImage(source=None, name=name)
        item.failure = CaptionFailure(image=name, stage=stage, error=error)
        return item

    def caption_prepared(self, items: Sequence[PreparedImage], progress: Callable[[str], None] | None = None) -> list[PromptBundle | CaptionFailure]:
        """Caption images made by ``prepare``: one batched VLM call per step, then control."""
        items = list(items)
        self.analyze(items, progress)
        return self.finish(items, progress)

    def analyze(self, items: Sequence[PreparedImage], progress: Callable[[str], None] | None = None) -> None:
        """The steps before the caption (degradation and content, or the fused analysis), in place.

        Their answers do not depend on richness, so one analysis can serve captioners that differ
        only in their richness policy: ``other.finish(Captioner.fork(items))`` for each.
        """
        if self._steps is None or self.mode == "single":
            return
        items = list(items)
        if self.mode == "fused":
            self._steps.run(items, "analysis", progress)
        else:  # tiles carry their whole image's assessment already
            self._steps.run([it for it in items if it.assessment is None], "degradation", progress)
        if self.mode == "chain":
            self._steps.run(items, "content", progress)

    def finish(self, items: Sequence[PreparedImage], progress: Callable[[str], None] | None = None) -> list[PromptBundle | CaptionFailure]:
        """The caption step at this captioner's richness, then control (after ``analyze``)."""
        items = list(items)
        content_known = self._steps is not None and self.mode != "single"
        self._set_targets(items, content_known)
        if self._steps is not None:
            self._steps.run(items, "single" if self.mode == "single" else "caption", progress)
        bundles = self._control(items)
        if progress:
            progress("control")
        return bundles

    def caption_tiles(
        self, images: Sequence[Any], tiles: Any, progress: Callable[[str], None] | None = None, wholes: Sequence[Any] | None = None
    ) -> list[TiledCaptions | CaptionFailure]:
        """The whole-image bundle plus one caption per tile, in the restorer's tile order (SUPIR's
        ``_sliding_windows``, see ``rescap.captioning.tiles``), for each image.

        ``tiles``: a ``TileSpec`` or ``"SIZE[:STRIDE]"`` in the image's pixels. Each tile is
        captioned from its own crop, told the whole image's caption as context, relevance-checked
        against the crop and fitted to the window; nearly uniform tiles get a few words and no
        subject. All tiles of all images go to the VLM together, so each step's calls are full
        batches. An image that fails gets a ``CaptionFailure``; a tile that fails carries its error.
        ``wholes``: the images' whole-image bundles when they are made already (the caption a user
        has seen is then the tiles' context, and the whole-image steps are not run again).

        Example:
            >>> captioner = Captioner(backend=None, restorer="supir")  # doctest: +SKIP
            >>> tiled = captioner.caption_tiles(["photo.png"], "512:256")[0]  # doctest: +SKIP
            >>> tiled.supir_captions()  # ComfyUI-SUPIR's captions input  # doctest: +SKIP
        """
        from ..backends.media import fit_pixels
        from ..images import load_picture
        from .tiles import TileCaption, TiledCaptions, TileSpec, is_flat, sliding_windows

        spec = tiles if isinstance(tiles, TileSpec) else TileSpec.parse(tiles)
        images = list(images)
        results: list[Any] = list(wholes) if wholes is not None else list(self.caption_batch(images, progress))
        if len(results) != len(images):
            raise ValueError(f"{len(images)} images but {len(results)} whole-image bundles")
        tile_items, owners = [], []
        for n, (image, bundle) in enumerate(zip(images, results)):
            if isinstance(bundle, CaptionFailure):
                continue
            try:
                whole = load_picture(image, 1 << 40)  # every pixel: the tiles are cut from the image itself
            except Exception as exc:
                results[n] = CaptionFailure(image=bundle.image, stage="read", error=str(exc) or type(exc).__name__)
                continue
            boxes = sliding_windows(whole.height, whole.width, spec)
            owners.append((n, whole.size, boxes, len(tile_items)))
            for box in boxes:
                crop = whole.crop((box.left, box.top, box.right, box.bottom))
                flat = is_flat(crop, bundle.degradation.noise_sigma)
                item = self.prepared_from(f"{bundle.image or 'image'}#tile{box.index}", bundle.degradation, fit_pixels(crop, self.config.max_image_pixels))
                item.assessment = bundle.assessment
                item.region = {"whole": bundle.caption or None, "flat": flat}
                tile_items.append(item)
        done = self.caption_prepared(tile_items, progress) if tile_items else []
        for n, size, boxes, first in owners:
            rows = []
            for box, item, out in zip(boxes, tile_items[first:], done[first:]):
                if isinstance(out, CaptionFailure):
                    rows.append(TileCaption(box=box, flat=item.region["flat"], caption="", positive_prompt="", caption_tokens=0, error=f"{out.stage}: {out.error}"))
                else:
                    rows.append(TileCaption(box=box, flat=item.region["flat"], caption=out.caption, positive_prompt=out.positive_prompt,
                                            caption_tokens=out.token_counts.caption, removed=out.removed))  # fmt: skip
            bundle = results[n]
            results[n] = TiledCaptions(image=bundle.image, width=size[0], height=size[1], tile_size=spec.size, tile_stride=spec.stride, bundle=bundle, tiles=rows)
        return results

    @staticmethod
    def fork(items: Sequence[PreparedImage]) -> list[PreparedImage]:
        """Copies of analysed items, to finish at another richness (the picture is shared)."""
        return [it.fork() for it in items]

    # -- stages -------------------------------------------------------------------------------
    def _set_targets(self, items: list[PreparedImage], content_known: bool) -> None:
        for item in items:
            if item.failure is not None or item.report is None:
                continue
            item.mix = item.content.mix() if (content_known and item.content is not None) else ContentMix()
            item.target = self.policy.target_tokens(item.report.overall_severity, item.mix, self.budget)
            if item.region and item.region.get("flat"):
                item.target = min(item.target, FLAT_TILE_TOKENS)

    def _control(self, items: list[PreparedImage]) -> list[PromptBundle | CaptionFailure]:
        start = time.perf_counter()
        cleaned = {}
        for i, it in enumerate(items):  # any error while handling one image fails that image only
            if it.failure is None:
                try:
                    cleaned[i] = clean_caption(it.raw_caption or "", self.adapter.caption_style)
                except Exception as exc:  # pragma: no cover - defensive
                    it.failure = CaptionFailure(image=it.name, stage="control", error=f"{type(exc).__name__}: {exc}")
        live = [i for i, it in enumerate(items) if it.failure is None]
        scorer = self.scorer if self.backend is not None else None
        margin = self.config.relevance_margin
        try:
            relevance = dict(zip(live, score_relevance(scorer, [items[i].picture for i in live], [cleaned[i][0] for i in live], margin)))
        except Exception:  # the batch failed: image by image, so that one bad image fails alone
            relevance = {}
            for i in live:
                try:
                    relevance[i] = score_relevance(scorer, [items[i].picture], [cleaned[i][0]], margin)[0]
                except Exception as exc:
                    items[i].failure = CaptionFailure(image=items[i].name, stage="relevance", error=f"{type(exc).__name__}: {exc}")
        control_share = (time.perf_counter() - start) / max(len(live), 1)
        model = self.backend.model_string if self.backend is not None else None
        out: list[PromptBundle | CaptionFailure] = []
        for i, it in enumerate(items):
            if it.failure is not None:
                out.append(it.failure)
                continue
            t0 = time.perf_counter()
            try:
                caption, removed = cleaned[i]
                caption = apply_relevance(caption, relevance[i], removed)
                embedding = None
                if self.config.embeddings and self.scorer is not None and it.picture is not None:
                    embedding = self.scorer.image_embeddings([it.picture])[0]
                bundle = assemble(
                    it, caption, removed, relevance[i], adapter=self.adapter, budget=self.budget, policy=self.policy,
                    model=model, embedding=embedding, uncaptioned_reason=self.uncaptioned_reason,
                )  # fmt: skip
            except Exception as exc:  # pragma: no cover - defensive: one image must not sink the batch
                out.append(CaptionFailure(image=it.name, stage="control", error=f"{type(exc).__name__}: {exc}"))
                continue
            bundle.timings["control"] = control_share + (time.perf_counter() - t0)
            bundle.timings["total"] = sum(v for k, v in bundle.timings.items() if k != "total")
            out.append(bundle)
        return out
