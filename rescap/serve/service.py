"""The work behind the HTTP API: one VLM backend shared by captioners for every restorer.

A captioner is made per (restorer, richness, mode) the first time a request asks for it, on the
one backend (and one relevance scorer), so a request for ``rescap-hypir`` and one for
``rescap-supir`` share the loaded model. The per-image work before the VLM (decoding, the
degradation estimate, fitting the picture) runs in worker processes, in parallel, before the
image joins a batch: in threads it would contend for the interpreter lock with the VLM's own
Python loop (on 2 cores, 32 clients: 6.6 images/s in threads, see benchmarks/serve.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import OrderedDict
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, get_args

from ..captioning.items import prepare_image
from .requests import RequestError
from .settings import ServeSettings

MODEL_PREFIX = "rescap-"
MAX_CAPTIONERS = 32  # captioners kept (restorer x richness x mode); they share the backend, so they are light
MAX_RICHNESS = 4096  # tokens: beyond any restorer's window


def _ignore_signals() -> None:
    """Worker processes leave SIGINT and SIGTERM to the server (Ctrl-C reaches the whole process
    group): the server drains, then shuts the workers down itself."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _measure(data: bytes, name: str | None, picture_pixels: int | None):
    """Worker process: ``prepare_image`` without sending the encoded bytes back."""
    item = prepare_image(data, name, picture_pixels)
    item.source = None
    return item


def _estimate(data: bytes, max_pixels: int):
    from ..degradation.estimate import estimate_degradation

    return estimate_degradation(data, max_image_pixels=max_pixels)


def _noop(_: int) -> None:
    import rescap.degradation.estimate  # noqa: F401  (the import is the warm-up)


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
        self._captioners: OrderedDict[tuple, Any] = OrderedDict()
        self._adapters: dict[str, Any] = {}  # adapters set up beyond their defaults (use_adapter), by name
        self._lock = threading.Lock()
        self._scorer: Any = None
        self.prepare_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rescap-work")  # light work off the event loop
        self.measure_pool = self._new_pool() if settings.estimate_workers > 0 else None
        self.default = self.captioner(settings.restorer, settings.richness, settings.mode)  # bad settings fail at start

    # -- models --------------------------------------------------------------------------------
    def model_ids(self) -> list[str]:
        from ..adapters.registry import available_adapters

        return [MODEL_PREFIX + name for name in sorted(available_adapters())]

    def restorer_of_model(self, model: str | None) -> str:
        """``rescap-supir`` -> ``supir``; ``rescap``, empty or a foreign name (``gpt-4o-mini``, what
        HYPIR's demo sends by default) -> the server's ``--restorer``."""
        from ..adapters.registry import available_adapters

        if model is not None and not isinstance(model, str):
            raise RequestError(400, "'model' must be a string")
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
    def use_adapter(self, adapter: Any) -> None:
        """Every captioner for ``adapter.name``'s restorer uses this adapter from now on (one set up
        from a pipeline's own tokenizers, say: its counts and budget then hold at every richness);
        the captioners already made for it are made again."""
        with self._lock:
            self._adapters[adapter.name.lower()] = adapter
            for key in [k for k in self._captioners if adapter.name in k[:2]]:
                del self._captioners[key]
        if self.default.adapter.name == adapter.name:
            self.default = self.captioner(self.settings.restorer, self.settings.richness, self.settings.mode)

    def key(self, restorer: str | None = None, richness: Any = None, mode: str | None = None) -> tuple:
        """The captioner a request needs, normalised (``" 5"``, ``"05"`` and ``5`` are one), made now:
        an unknown restorer, a bad richness or mode fail here."""
        key = self._normalised(restorer, richness, mode)
        self._captioner(key)
        return key

    def captioner(self, restorer: str | None = None, richness: Any = None, mode: str | None = None):
        return self._captioner(self._normalised(restorer, richness, mode))

    def _normalised(self, restorer: str | None, richness: Any, mode: str | None) -> tuple:
        from ..captioning.config import Mode
        from ..control.richness import parse_richness

        text = str(richness if richness is not None else self.settings.richness).strip().lower()
        try:
            parsed = parse_richness(int(text) if text.isdigit() else text)
        except ValueError as exc:
            raise RequestError(400, f"richness: {exc}") from None
        if isinstance(parsed, int) and parsed > MAX_RICHNESS:
            raise RequestError(400, f"richness: at most {MAX_RICHNESS} tokens")
        mode = mode or self.settings.mode
        if mode not in get_args(Mode):
            raise RequestError(400, f"mode must be {', '.join(get_args(Mode))}, not {mode[:40]!r}")
        return ((restorer or self.settings.restorer).strip().lower(), parsed, mode)  # adapter names are lower case (get_adapter ignores case)

    def _captioner(self, key: tuple):
        from ..captioning.captioner import Captioner
        from ..control.richness import RichnessPolicy

        with self._lock:
            found = self._captioners.get(key)
            if found is not None:
                self._captioners.move_to_end(key)
                return found
            policy = RichnessPolicy(mode=key[1])
            try:
                captioner = Captioner(self.backend, restorer=self._adapters.get(key[0], key[0]), policy=policy, mode=key[2], relevance=self._relevance(), max_image_pixels=self.settings.max_image_pixels)
            except (KeyError, ValueError) as exc:
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
                raise RequestError(404 if isinstance(exc, KeyError) else 400, str(message), "model_not_found" if isinstance(exc, KeyError) else "invalid_request_error") from None
            if self.backend is None:
                captioner.uncaptioned_reason = "the server runs without a captioning model (degradation-only prompts)"
            self._captioners[key] = captioner
            while len(self._captioners) > MAX_CAPTIONERS:  # the least recently used goes (never the default)
                oldest = next(k for k in self._captioners if self._captioners[k] is not getattr(self, "default", None))
                del self._captioners[oldest]
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
    async def prepare(self, data: bytes, name: str | None = None):
        """Decode, estimate and fit one image, in a worker process (a thread without workers)."""
        pixels = self.default.config.max_image_pixels if self.backend is not None else None
        return await self._in_worker(_measure, data, name, pixels)

    async def estimate(self, data: bytes):
        """The degradation report of one image, in a worker process."""
        return await self._in_worker(_estimate, data, self.settings.max_pixels)

    async def _in_worker(self, fn, *args):
        loop = asyncio.get_running_loop()
        if self.measure_pool is None:
            return await loop.run_in_executor(self.prepare_pool, fn, *args)
        for attempt in (1, 2):
            pool = self.measure_pool
            try:
                return await loop.run_in_executor(pool, fn, *args)
            except BrokenProcessPool:  # a worker died (out of memory...): the images it took down get one retry
                with self._lock:
                    if self.measure_pool is pool:
                        self.measure_pool = self._new_pool()
                if attempt == 2:
                    raise RequestError(500, "the image worker process died while measuring this image", "server_error") from None
            except RequestError:
                raise
            except Exception as exc:
                raise RequestError(400, f"the image could not be read: {type(exc).__name__}", "invalid_image") from None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawned, not forked: the parent holds the VLM's threads (a fork copies their locks mid-use)
        return ProcessPoolExecutor(self.settings.estimate_workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_signals)

    def warm_up(self) -> None:
        """Start the worker processes now (each imports rescap's estimator once), not on the first request."""
        if self.measure_pool is not None:
            list(self.measure_pool.map(_noop, range(self.settings.estimate_workers)))

    def run_batch(self, key: tuple, items: list) -> list:
        """Caption prepared images together: one batched VLM call per step."""
        return self.captioner(*key).caption_prepared(items)

    def prompt(self, caption: str, restorer: str | None, user_prompt: str | None, user_negative: str | None, data: bytes | None) -> dict:
        """The final strings and token counts a restorer gets for ``caption`` (what ``rescap prompt
        --caption`` prints); with an image, its degradation-aware negative and restoration prompts."""
        from ..captioning.prompt_record import prompt_record

        adapter = self.captioner(restorer).adapter
        negative, restoration = None, ""
        if data is not None:
            bundle = self._degradation_only(restorer).caption_batch([data])[0]
            if not hasattr(bundle, "caption"):
                raise RequestError(400, f"the image could not be read: {bundle.error}")
            negative, restoration = bundle.negative_prompt, bundle.restoration_prompt
        return prompt_record(adapter, caption, negative, restoration, user_prompt, user_negative)

    def _degradation_only(self, restorer: str | None):
        from ..captioning.captioner import Captioner

        key = ("no-vlm", (restorer or self.settings.restorer).strip().lower())
        with self._lock:
            if key not in self._captioners:
                self._captioners[key] = Captioner(None, restorer=self._adapters.get(key[1], key[1]), max_image_pixels=self.settings.max_image_pixels)
            return self._captioners[key]

    def close(self) -> None:
        self.prepare_pool.shutdown(wait=False, cancel_futures=True)
        if self.measure_pool is not None:
            self.measure_pool.shutdown(wait=False, cancel_futures=True)
        if self.backend is not None:
            self.backend.close()
