"""What ``rescap ui`` does, without Gradio: measure, analyse, caption at a richness, the final
strings for each restorer, tile captions, a restoration, and a folder re-captioned.

The app's handlers call these; tests call them too. Everything runs on one ``CaptionService``
(the one ``rescap serve`` uses): one VLM backend shared by a captioner per (restorer, richness),
so moving the richness slider re-runs only the caption step on the analysis already made.

Example:
    >>> from rescap.serve.settings import ServeSettings
    >>> work = UiWork.start(ServeSettings(vlm=None, restorer="supir", estimate_workers=0))
    >>> [r["restorer"] for r in work.strings("A red fox in the snow", None, ["supir", "hypir"])]
    ['supir', 'hypir']
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import one_line


def _richness(value: Any) -> Any:
    """The slider's value as a captioner's richness: tokens, or ``auto`` for 0."""
    return int(value) if value and int(value) > 0 else "auto"


class UiError(Exception):
    """A one-line message the app shows in place of the result."""


def failed(failure: Any) -> UiError:
    """A ``CaptionFailure`` as the app says it: the stage, then why."""
    return UiError(f"{failure.stage}: {failure.error}")


class UiWork:
    """The work behind the app, on one ``CaptionService``.

    ``restorer_model``: a diffusers pipeline (hub id or saved folder) the Restore tab runs; None:
    no restoration. ``device``: where it runs.
    """

    def __init__(self, service: Any, restorer_model: str | None = None, device: str = "cpu", batch_root: str | Path | None = None):
        self.service = service
        self.restorer_model = restorer_model
        self.device = device
        self.batch_root = Path(batch_root).expanduser().resolve() if batch_root is not None else None
        self._runner: Any = None
        self._vlm = threading.Lock()  # Gradio runs handlers in threads; the backend takes one batch at a time
        self._restoring = threading.Lock()
        if restorer_model and Path(restorer_model).expanduser().is_dir():
            # the pipeline's own tokenizers count its strings and set its budget, at every richness
            from ..adapters.registry import get_adapter

            adapter = get_adapter("diffusers")
            adapter.use_folder(restorer_model)
            service.use_adapter(adapter)

    @classmethod
    def start(
        cls, settings: Any, backend: Any = "settings", restorer_model: str | None = None, device: str = "cpu", batch_root: str | Path | None = None
    ) -> "UiWork":
        """The work on a new ``CaptionService`` (``backend``: an already made ``VLMBackend``, or the
        one ``settings.vlm`` names). ``batch_root``: the folder the Batch tab may read and write in
        (None: no Batch tab)."""
        from ..serve.service import CaptionService

        return cls(CaptionService(settings, backend), restorer_model, device, batch_root)

    # -- what there is ---------------------------------------------------------------------------
    @property
    def captions(self) -> bool:
        """Whether a VLM captions (False: degradation-only prompts, no caption)."""
        return self.service.backend is not None

    @property
    def default_restorer(self) -> str:
        return self.service.settings.restorer

    def restorers(self) -> list[str]:
        from ..adapters.registry import available_adapters

        return sorted(available_adapters())

    def adapter(self, restorer: str):
        return self._captioner(restorer).adapter

    def budget(self, restorer: str) -> int:
        """The most caption tokens ``restorer``'s window leaves (the slider's end)."""
        return int(self._captioner(restorer).budget)

    def _captioner(self, restorer: str, richness: Any = None):
        try:
            return self.service.captioner(restorer, richness)
        except Exception as exc:
            raise UiError(one_line(exc)) from None

    # -- one image ---------------------------------------------------------------------------------
    def measure(self, image: Any, name: str | None = None):
        """Decode the image, estimate its degradation and fit the picture the VLM sees."""
        item = self._captioner(self.default_restorer).prepare(image, name)
        if item.failure is not None:
            raise UiError(item.failure.error)
        return item

    def analyse(self, items: Sequence[Any], restorer: str) -> list[Any]:
        """The chain-of-thought steps before the caption for several measured images in one batch.
        Returns analysed copies (each ``trace`` holds the steps' answers; a failed step sets its
        ``failure``): the measured images stay as they were, so a failure that passes (a server
        down for a moment) is not kept, and the analysis can be asked for again."""
        from ..captioning.captioner import Captioner

        analysed = Captioner.fork(list(items))
        with self._vlm:
            self._captioner(restorer).analyze(analysed)
        return analysed

    def caption(self, items: Sequence[Any], restorer: str, richness: int = 0) -> list[Any]:
        """The bundles of analysed images at ``richness`` caption tokens (0: the policy's own choice
        for each image's degradation and content), in one batched caption step (the steps before it
        are not re-run). An image that failed gets a ``UiError`` in its place."""
        from ..captioning.captioner import Captioner

        captioner = self._captioner(restorer, _richness(richness))
        with self._vlm:
            results = captioner.finish(Captioner.fork(list(items)))
        return [r if hasattr(r, "caption") else failed(r) for r in results]

    def strings(
        self, caption: str, report: Any, restorers: Sequence[str], user_prompt: str | None = None, user_negative: str | None = None
    ) -> list[dict[str, Any]]:
        """Per restorer, the prompt record (``rescap prompt --caption``'s) of ``caption``: each text
        argument's string and tokens, the quality prompt kept, what was cut, and the warnings. With a
        degradation ``report``, each negative carries its measured terms and the restoration prompt
        names them."""
        from ..captioning.assemble import degradation_negative
        from ..captioning.prompt_record import prompt_record
        from ..captioning.restoration_prompts import restoration_prompt

        records = []
        for name in restorers:
            adapter = self.adapter(name)
            negative = degradation_negative(report, adapter) if report is not None else None
            restoration = restoration_prompt(report) if report is not None else ""
            records.append(prompt_record(adapter, caption, negative, restoration, user_prompt or None, user_negative or None))
        return records

    def tiles(self, image: Any, whole: Any, restorer: str, richness: int, size: Any, stride: Any):
        """One caption per tile of ``image``, in the restorer's tile order, each written with the
        whole-image bundle ``whole`` (the caption shown) as its context. Sizes in the image's pixels."""
        from ..captioning.tiles import TileSpec

        if size in (None, "") or stride in (None, ""):
            raise UiError("tile size and stride: enter a number of pixels in each")
        try:
            spec = TileSpec.of(int(size), int(stride))
        except ValueError as exc:
            raise UiError(str(exc)) from None
        captioner = self._captioner(restorer, _richness(richness))
        try:
            with self._vlm:
                result = captioner.caption_tiles([image], spec, wholes=[whole])[0]
        except ValueError as exc:
            raise UiError(one_line(exc)) from None
        if not hasattr(result, "tiles"):
            raise failed(result)
        return result

    # -- restoration -------------------------------------------------------------------------------
    @property
    def can_restore(self) -> bool:
        return bool(self.restorer_model)

    def restore(self, image: Any, caption: str, report: Any, seed: int = 0, steps: int | None = None):
        """The image restored by the diffusers pipeline with ``caption``'s final strings: (PIL image,
        the prompt record of the strings it got, cut to the pipeline's own windows)."""
        from ..images import open_rgb

        if not self.restorer_model:
            raise UiError("no restorer to run: start rescap ui with --restorer-model (a diffusers pipeline)")
        adapter = self.adapter("diffusers")
        record = self.strings(caption, report, ["diffusers"])[0]
        final = adapter.final_prompts_for(record["caption"], record["negative_prompt"], record["restoration_prompt"])
        with self._restoring:
            try:
                if self._runner is None:
                    self._runner = adapter.load(self.restorer_model, device=self.device)
                return adapter.restore(self._runner, open_rgb(image), final, seed=seed, steps=steps), record
            except Exception as exc:
                raise UiError(f"restoration failed: {one_line(exc)}") from None

    # -- a folder ----------------------------------------------------------------------------------
    def inside_root(self, text: str, what: str) -> Path:
        """``text`` (absolute, or relative to the batch root) as a path inside the batch root."""
        if self.batch_root is None:
            raise UiError("the Batch tab is off: start rescap ui with --batch-root FOLDER")
        text = str(text or "").strip()
        if not text:
            raise UiError(f"{what}: enter a path inside {self.batch_root}")
        try:
            path = (self.batch_root / Path(text).expanduser()).resolve()
        except (RuntimeError, ValueError, OSError) as exc:  # ~nosuchuser, a NUL byte, a loop of links
            raise UiError(f"{what} {text[:200]}: not a usable path ({one_line(exc)})") from None
        if not self._inside(path):
            raise UiError(f"{what} {text[:200]}: outside {self.batch_root}, the only folder this app reads and writes (--batch-root)")
        return path

    def _inside(self, path: Path) -> bool:
        return path == self.batch_root or self.batch_root in path.parents

    def recaption(
        self, source: str | Path, output: str | Path, restorer: str, richness: int = 0, batch_size: int = 8,
        on_progress: Callable[[int, int], None] | None = None,
    ):  # fmt: skip
        """``rescap recaption FOLDER -o OUTPUT`` (JSONL) on this app's VLM, inside the batch root:
        resumable (what the file records is skipped), one record per image, bad files recorded as
        errors. Returns (summary, the JSONL file)."""
        from ..files import NoImageFiles
        from ..recaption.engine import plan, run_local
        from ..recaption.sources import SourceError, iter_source
        from ..recaption.writers import holds_records_only, make_writer, output_path
        from ..run_lock import OutputLocked, lock_for

        folder = self.inside_root(str(source or ""), "folder")
        try:
            if not folder.is_dir():
                raise UiError(f"folder {source}: no such folder")
            # an image linked from outside the root is not read: the root is all the app reads
            items = [it for it in iter_source(folder) if it.path is None or self._inside(it.path.resolve())]
        except (SourceError, OSError) as exc:
            raise UiError(f"folder {source}: {one_line(exc)}") from None
        raw = str(output or "").strip()
        path = self.inside_root(raw, "output")
        target = output_path(f"{path}/" if raw.endswith("/") else path, "jsonl")  # "out/": records.jsonl in it
        if target.suffix != ".jsonl":
            raise UiError(f"output {output}: name a .jsonl file (or a folder/, for records.jsonl in it)")
        try:
            if target.is_dir() or not holds_records_only(target):
                raise UiError(f"output {output}: an existing file that is not rescap's records; name a new one")
        except OSError as exc:
            raise UiError(f"output {output}: {one_line(exc)}") from None
        if not items:
            raise UiError(str(NoImageFiles([source])))
        captioner = _OneBatchAtATime(self._captioner(restorer, _richness(richness)), self._vlm)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            lock = lock_for(target, is_file=True).acquire()
        except (OSError, OutputLocked) as exc:
            raise UiError(one_line(exc)) from None
        try:
            try:
                writer = make_writer(target, "jsonl")
                work = plan(items, writer)
                todo = list(work.todo)
            except (SourceError, ValueError, OSError) as exc:
                raise UiError(f"output {output}: {one_line(exc)}") from None
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                if on_progress:
                    on_progress(done, len(todo))

            if on_progress:
                on_progress(0, len(todo))
            retries_before = getattr(self.service.backend, "retries", 0)
            try:
                summary = run_local(todo, writer, captioner, batch_size=batch_size, on_batch=advance)
            except OSError as exc:  # the records cannot be written (a full disk): what is written is kept
                raise UiError(f"cannot write records to {target}: {exc.strerror or exc}; every record written before is kept") from None
            finally:
                writer.close()
            summary.retries = max(0, summary.retries - retries_before)  # this run's (the backend counts the app's life)
            summary.skipped = work.skipped
            return summary, target
        finally:
            lock.release()

    def close(self) -> None:
        self.service.close()


class _OneBatchAtATime:
    """A captioner whose batches take the app's VLM lock one at a time, so that a long folder
    lets the Caption tab's requests in between its batches."""

    def __init__(self, captioner: Any, lock: threading.Lock):
        self._captioner, self._lock = captioner, lock

    def caption_prepared(self, items, progress=None):
        with self._lock:
            return self._captioner.caption_prepared(items, progress)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._captioner, name)
