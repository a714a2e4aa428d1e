"""The work behind the HTTP API: one VLM backend shared by captioners for every restorer.

A captioner is made per (restorer, richness, mode) the first time a request asks for it, on the
one backend (and one relevance scorer), so a request for ``rescap-hypir`` and one for
``rescap-supir`` share the loaded model. The per-image work before the VLM (decoding, the
degradation estimate, fitting the picture) runs on a thread pool, in parallel, before the image
joins a batch.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .requests import RequestError
from .settings import ServeSettings

MODEL_PREFIX = "rescap-"


class CaptionService:
    """Captioners on one backend, by restorer, richness and mode.

    ``backend``: an already made ``VLMBackend`` (tests, embedding); by default the one
    ``settings.vlm`` names (None: degradation-only prompts).

    Example:
        >>> service = CaptionService(ServeSettings(vlm=None, restorer="supir"))
        >>> "rescap-supir" in service.model_ids()
        True
    """

    def __init__(self, settings: ServeSettings, backend: Any = "settings"):
        self.settings = settings
        if backend == "settings":
            backend = None
            if settings.vlm:
                from ..backends import create_backend

                options = {"max_image_pixels": settings.max_image_pixels, **settings.backend_options}
                if settings.base_url:
                    options["base_url"] = settings.base_url
                backend = create_backend(settings.vlm, **options)
        self.backend = backend
        self._captioners: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        self._scorer: Any = None
        self.prepare_pool = ThreadPoolExecutor(max_workers=settings.estimate_workers, thread_name_prefix="rescap-prepare")
        self.default = self.captioner(settings.restorer, settings.richness, settings.mode)  # bad settings fail at start

    # -- models --------------------------------------------------------------------------------
    def model_ids(self) -> list[str]:
        from ..adapters.registry import available_adapters

        return [MODEL_PREFIX + name for name in sorted(available_adapters())]

    def restorer_of_model(self, model: str | None) -> str:
        """``rescap-supir`` -> ``supir``; ``rescap``, empty or a foreign name (``gpt-4o-mini``, what
        HYPIR's demo sends by default) -> the server's ``--restorer``."""
        from ..adapters.registry import available_adapters

        name = (model or "").strip()
        if name.startswith(MODEL_PREFIX):
            restorer = name[len(MODEL_PREFIX) :]
            if restorer not in available_adapters():
                raise RequestError(404, f"no such model: {name} (GET /v1/models lists them)", "model_not_found")
            return restorer
        if name in available_adapters():
            return name
        return self.settings.restorer

    # -- captioners ----------------------------------------------------------------------------
    def captioner(self, restorer: str | None = None, richness: str | None = None, mode: str | None = None):
        from ..captioning.captioner import Captioner
        from ..control.richness import RichnessPolicy, parse_richness

        key = (restorer or self.settings.restorer, str(richness or self.settings.richness), mode or self.settings.mode)
        with self._lock:
            found = self._captioners.get(key)
            if found is not None:
                return found
            try:
                policy = RichnessPolicy(mode=parse_richness(key[1]))
            except ValueError as exc:
                raise RequestError(400, f"richness: {exc}") from None
            if key[2] not in ("chain", "fused", "single"):
                raise RequestError(400, f"mode must be chain, fused or single, not {key[2]!r}")
            try:
                captioner = Captioner(self.backend, restorer=key[0], policy=policy, mode=key[2], relevance=self._relevance(), max_image_pixels=self.settings.max_image_pixels)
            except (KeyError, ValueError) as exc:
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
                raise RequestError(404 if isinstance(exc, KeyError) else 400, str(message), "model_not_found" if isinstance(exc, KeyError) else "invalid_request_error") from None
            if self.backend is None:
                captioner.uncaptioned_reason = "the server runs without a captioning model (degradation-only prompts)"
            self._captioners[key] = captioner
            return captioner

    def _relevance(self):
        spec = self.settings.relevance
        if spec.lower() in ("off", "none", "no") or self.backend is None:
            return "off"
        if self._scorer is None:  # one CLIP model for every captioner
            from ..control.relevance import ClipRelevanceScorer

            self._scorer = ClipRelevanceScorer() if spec == "auto" else ClipRelevanceScorer(spec)
        return self._scorer

    # -- work ----------------------------------------------------------------------------------
    def prepare(self, data: bytes, name: str | None = None):
        """Decode, estimate and fit one image (thread-safe; runs on ``prepare_pool``)."""
        return self.default.prepare(data, name=name)

    def run_batch(self, key: tuple, items: list) -> list:
        """Caption prepared images together: one batched VLM call per step."""
        return self.captioner(*key).caption_prepared(items)

    def estimate(self, data: bytes):
        from ..degradation.estimate import estimate_degradation

        return estimate_degradation(data, max_image_pixels=self.settings.max_pixels)

    def prompt(self, caption: str, restorer: str | None, user_prompt: str | None, user_negative: str | None, data: bytes | None) -> dict:
        """The final strings and token counts a restorer gets for ``caption`` (what ``rescap prompt
        --caption`` prints); with an image, its degradation-aware negative and restoration prompts."""
        from ..captioning.bundle import PromptBundle
        from ..cli.restore import prompt_fields

        captioner = self.captioner(restorer)
        adapter = captioner.adapter
        if data is not None:
            bundle = self._degradation_only(restorer).caption_batch([data])[0]
            if not hasattr(bundle, "caption"):
                raise RequestError(400, f"the image could not be read: {bundle.error}")
            negative, restoration = bundle.negative_prompt, bundle.restoration_prompt
        else:
            negative, restoration = adapter.negative_prompt, ""
        bundle = PromptBundle.model_construct(caption=caption, negative_prompt=negative, restoration_prompt=restoration)
        final = adapter.final_prompts(bundle, user_prompt, user_negative)
        check = adapter.check(final)
        return {"restorer": adapter.name, **prompt_fields(adapter, final), "restoration_prompt": restoration, "check": check.model_dump()}

    def _degradation_only(self, restorer: str | None):
        from ..captioning.captioner import Captioner

        key = ("no-vlm", restorer or self.settings.restorer)
        with self._lock:
            if key not in self._captioners:
                self._captioners[key] = Captioner(None, restorer=key[1], max_image_pixels=self.settings.max_image_pixels)
            return self._captioners[key]

    def close(self) -> None:
        self.prepare_pool.shutdown(wait=False, cancel_futures=True)
        if self.backend is not None:
            self.backend.close()
