"""The ``rescap bench`` run: each image restored under each caption policy with the same seed,
scored, and logged one record at a time so that an interrupted run resumes where it stopped.

Layout of the report folder::

    bench.json          what was run (restorer, model, seed...): a rerun must match it
    records.jsonl       one line per (image, policy), appended and fsynced as each finishes
    outputs/<image>/<policy>.png   every restoration (and ``input.png``: the input, resized)
    results.csv, results.json, report.html   written from the records at the end

Example:
    >>> from rescap.bench.runner import BenchRecord
    >>> BenchRecord(image="a.png", file="/data/a.png", policy="none", status="ok").key
    ('a.png', 'none')
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field

from .._version import __version__
from ..durable import AppendLog, atomic_write
from ..text.degradation_words import find_degradation_words
from ..errors import error_text
from ..files import IMAGE_EXTENSIONS
from .metrics import MetricSet
from .policies import Policy, plain_captions, sidecar_caption

INPUT_ROW = "input"  # the input itself (resized to the output size): the floor every policy should beat
RECORDS = "records.jsonl"
CONFIG = "bench.json"


class BenchError(RuntimeError):
    """The bench cannot start (e.g. the report folder holds results of a different run)."""


class BenchConfig(BaseModel):
    """What makes two runs comparable; a rerun into the same folder must match it."""

    restorer: str
    restorer_path: str | None = None
    vlm: str | None = None
    seed: int = 0
    steps: int | None = None
    strength: float | None = None
    guidance: float | None = None
    gt: str | None = None
    captions: str | None = None
    relevance: str | None = None
    restorer_runs: bool = True  # False: the restorer cannot run here, captions and prompt files only
    rescap_version: str = __version__

    def differences(self, other: "BenchConfig") -> list[str]:
        mine, theirs = self.model_dump(exclude={"rescap_version"}), other.model_dump(exclude={"rescap_version"})
        changed = []
        for key in mine:
            if key == "vlm" and (mine[key] is None or theirs[key] is None):
                continue  # a run whose policies needed no VLM is comparable with one that used it
            if mine[key] != theirs[key]:
                changed.append(f"{key}: {theirs[key]!r} -> {mine[key]!r}")
        return changed

    def merged(self, other: "BenchConfig") -> "BenchConfig":
        """This config, keeping the earlier run's VLM when this run needs none."""
        return self if self.vlm is not None else self.model_copy(update={"vlm": other.vlm})


class BenchRecord(BaseModel):
    """One image under one policy: the text it got, the output, and its scores."""

    image: str  # the image's path relative to the input folder: the key with ``policy``
    file: str
    fingerprint: str = ""  # of the input file (size:mtime) when it was restored
    policy: str
    status: Literal["ok", "error"]
    error: str | None = None
    caption: str = ""
    positive: str = ""
    negative: str = ""
    caption_tokens: int | None = None
    positive_tokens: int | None = None
    window: int | None = None
    truncated: bool = False
    degradation_words: list[str] = Field(default_factory=list)
    severity: float | None = None
    degradation: dict[str, Any] | None = None
    output: str | None = None  # relative to the report folder
    prompt_files: list[str] = Field(default_factory=list)  # when the restorer cannot run here: what its scripts read
    reference: str | None = None  # the ground-truth file
    resized_for_reference: bool = False
    seed: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)
    metric_errors: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.image, self.policy)


@dataclass
class ImageItem:
    file: Path
    relative: Path
    root: Path | None = None  # the input folder ``relative`` is below
    reference: Path | None = None
    report: Any = None  # DegradationReport
    error: str | None = None
    _reference_image: Any = None
    _reference_error: str | None = None

    @property
    def key(self) -> str:
        return self.relative.as_posix()

    @property
    def fingerprint(self) -> str:
        """Size and modification time: a rerun must not reuse results made from another file."""
        try:
            stat = self.file.stat()
        except OSError:
            return "missing"
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def reference_image(self) -> Any:
        """The ground truth as RGB (EXIF applied, 16-bit scaled), read once; ``None`` when absent or
        unreadable (``reference_error`` says why)."""
        if self.reference is None or self._reference_error is not None:
            return None
        if self._reference_image is None:
            try:
                self._reference_image = open_rgb(self.reference)
            except Exception as exc:
                self._reference_error = f"cannot read the ground truth {self.reference}: {error_text(exc)}"
                return None
        return self._reference_image

    @property
    def reference_error(self) -> str | None:
        return self._reference_error


def find_references(items: list[ImageItem], gt_dir: Path) -> None:
    """Ground truth by the same relative path (any image extension), else by the same file stem."""
    by_relative: dict[str, Path] = {}
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(gt_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            rel = path.relative_to(gt_dir)
            by_relative.setdefault(rel.with_suffix("").as_posix(), path)
            by_stem.setdefault(path.stem, []).append(path)
    for item in items:
        found = by_relative.get(item.relative.with_suffix("").as_posix())
        if found is None and len(by_stem.get(item.file.stem, [])) == 1:
            found = by_stem[item.file.stem][0]
        item.reference = found


def open_rgb(path: Path):
    """The whole image as RGB PIL (EXIF orientation applied, 16-bit scaled, bombs refused)."""
    from ..captioning.pictures import load_picture
    from ..limits import DEFAULT_MAX_IMAGE_PIXELS

    return load_picture(path, DEFAULT_MAX_IMAGE_PIXELS)


@dataclass
class Bench:
    """One bench run. ``captioners`` maps each rescap policy name to its ``Captioner``; ``backend``
    serves the ``plain`` policy."""

    out_dir: Path
    adapter: Any
    runner: Any
    policies: list[Policy]
    metrics: MetricSet
    config: BenchConfig
    backend: Any = None
    captioners: dict[str, Any] = field(default_factory=dict)
    captions_dir: Path | None = None
    plain_prompt: str | None = None  # default: the ``plain`` prompt template
    batch_size: int = 4
    progress: Callable[[str], None] | None = None  # called once per finished (image, policy)
    records: dict[tuple[str, str], BenchRecord] = field(default_factory=dict)
    resumed: int = 0  # restorations (input rows aside) found done from an earlier run
    restored: int = 0  # restorations done by this run

    # -- set-up ---------------------------------------------------------------------------------
    def open(self, overwrite: bool = False) -> None:
        """Check the folder against this run's config, load earlier records, open the log."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.out_dir / CONFIG
        if overwrite:
            for name in (RECORDS, "results.csv", "results.json", "report.html"):
                (self.out_dir / name).unlink(missing_ok=True)
            shutil.rmtree(self.out_dir / "outputs", ignore_errors=True)
            shutil.rmtree(self.out_dir / "prompts", ignore_errors=True)
        elif config_path.exists():
            try:
                earlier = BenchConfig.model_validate_json(config_path.read_text(encoding="utf-8"))
            except ValueError:
                earlier = None
            changes = self.config.differences(earlier) if earlier else ["unreadable bench.json"]
            if changes:
                raise BenchError(
                    f"{self.out_dir} holds results of a different run ({'; '.join(changes)}): "
                    "choose another folder, or pass --overwrite to replace them"
                )
            if earlier is not None:
                self.config = self.config.merged(earlier)
        atomic_write(config_path, self.config.model_dump_json(indent=1).encode("utf-8"))
        self._log = AppendLog(self.out_dir / RECORDS)
        for row in self._log.read():
            try:
                record = BenchRecord.model_validate(row)
            except ValueError:
                continue
            self.records[record.key] = record  # the last line of a key wins

    def close(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()

    def is_done(self, item: "ImageItem", policy: str) -> bool:
        """Done before: recorded ok, from this very file, its output still there, and (sidecar)
        the same caption as now."""
        record = self.records.get((item.key, policy))
        if record is None or record.status != "ok":
            return False
        if record.file != str(item.file.resolve()) or record.fingerprint != item.fingerprint:
            return False
        if record.policy == "sidecar":
            try:
                if sidecar_caption(item.file, item.relative, self.captions_dir) != record.caption:
                    return False
            except (OSError, UnicodeDecodeError):
                return False
        return record.output is None or (self.out_dir / record.output).is_file()

    def _save(self, record: BenchRecord) -> None:
        self._log.append([record.model_dump_json()])
        self.records[record.key] = record
        self.restored += record.status == "ok" and record.policy != INPUT_ROW and record.output is not None
        if self.progress:
            self.progress(f"{record.image} [{record.policy}]")

    # -- the run ----------------------------------------------------------------------------------
    def run(self, items: list[ImageItem]) -> None:
        for start in range(0, len(items), self.batch_size):
            self._run_chunk(items[start : start + self.batch_size])
        self._rescore_missing_metrics(items)

    def _estimate(self, item: ImageItem) -> None:
        from ..degradation.estimate import estimate_degradation

        try:
            item.report = estimate_degradation(item.file)
        except Exception as exc:
            item.error = error_text(exc)

    def _run_chunk(self, chunk: list[ImageItem]) -> None:
        names = [p.name for p in self.policies] + [INPUT_ROW]
        pending = {it.key: [p for p in self.policies if not self.is_done(it, p.name)] for it in chunk}
        for it in chunk:
            for name in names:
                if self.is_done(it, name):
                    self.resumed += name != INPUT_ROW
                    if self.progress:
                        self.progress(f"{it.key} [{name}] (done before)")
        live = [it for it in chunk if pending[it.key] or not self.is_done(it, INPUT_ROW)]
        for it in live:
            self._estimate(it)
        captions = self._captions(live, pending)
        for it in live:
            lq = None
            if it.error is None:
                try:
                    lq = open_rgb(it.file)
                except Exception as exc:
                    it.error = error_text(exc)
            for policy in pending[it.key]:
                self._save(self._restore_one(it, policy, lq, captions.get((it.key, policy.name))))
            if not self.is_done(it, INPUT_ROW):
                self._save(self._input_row(it, lq))

    def _base(self, it: ImageItem, policy: str) -> dict[str, Any]:
        return {
            "image": it.key, "file": str(it.file.resolve()), "fingerprint": it.fingerprint, "policy": policy, "seed": self.config.seed,
            "severity": it.report.overall_severity if it.report is not None else None,
            "degradation": it.report.model_dump(mode="json") if it.report is not None else None,
            "reference": str(it.reference.resolve()) if it.reference else None,
        }  # fmt: skip

    # -- captions ---------------------------------------------------------------------------------
    def _captions(self, items: list[ImageItem], pending: dict[str, list[Policy]]) -> dict[tuple[str, str], Any]:
        """(image, policy) -> (FinalPrompts or the exception that stopped its caption, seconds)."""
        out: dict[tuple[str, str], Any] = {}
        rescap = [p for p in self.policies if p.kind == "rescap"]
        if rescap:
            out.update(self._rescap_all(rescap, items, pending))
        for policy in self.policies:
            todo = [it for it in items if it.error is None and policy in pending[it.key]]
            if not todo or policy.kind == "rescap":
                continue
            start = time.perf_counter()
            if policy.kind == "none":
                results: list[Any] = [self.adapter.final_prompts_for("") for _ in todo]
            elif policy.kind == "sidecar":
                results = []
                for it in todo:
                    try:
                        results.append(self.adapter.final_prompts_for(sidecar_caption(it.file, it.relative, self.captions_dir)))
                    except Exception as exc:
                        results.append(exc)
            else:
                results = self._plain(todo)
            share = (time.perf_counter() - start) / len(todo)
            for it, result in zip(todo, results):
                out[(it.key, policy.name)] = (result, share)
        return out

    def _rescap_all(self, policies: list[Policy], items: list[ImageItem], pending: dict[str, list[Policy]]) -> dict[tuple[str, str], Any]:
        """Every rescap richness from one analysis: the degradation and content steps do not depend
        on richness, so they run once per image and only the caption step runs per richness."""
        from ..captioning.bundle import CaptionFailure

        wanted = [it for it in items if it.error is None and any(p in pending[it.key] for p in policies)]
        if not wanted:
            return {}
        first = self.captioners[policies[0].name]
        start = time.perf_counter()
        prepared = {it.key: first.prepare(str(it.file)) for it in wanted}
        first.analyze(list(prepared.values()))
        # the shared work is split over every caption it served, so per-record times add up
        served = sum(policy in pending[it.key] for it in wanted for policy in policies)
        shared = (time.perf_counter() - start) / served
        out: dict[tuple[str, str], Any] = {}
        for policy in policies:
            todo = [it for it in wanted if policy in pending[it.key]]
            if not todo:
                continue
            start = time.perf_counter()
            bundles = self.captioners[policy.name].finish(first.fork([prepared[it.key] for it in todo]))
            share = shared + (time.perf_counter() - start) / len(todo)
            for it, bundle in zip(todo, bundles):
                if isinstance(bundle, CaptionFailure):
                    result: Any = RuntimeError(f"caption failed at {bundle.stage}: {bundle.error}")
                else:
                    result = self.adapter.final_prompts(bundle)
                out[(it.key, policy.name)] = (result, share)
        return out

    def _plain(self, items: list[ImageItem]) -> list[Any]:
        from ..captioning.pictures import load_picture

        pictures, results = [], []
        for it in items:
            try:
                pictures.append(load_picture(it.file, 448 * 448))
            except Exception as exc:
                pictures.append(exc)
        ok = [p for p in pictures if not isinstance(p, Exception)]
        if self.plain_prompt is None:
            from ..captioning.templates import PromptTemplates

            self.plain_prompt = PromptTemplates.load().render("plain")
        answers = iter(plain_captions(self.backend, ok, self.plain_prompt) if ok else [])
        for picture in pictures:
            if isinstance(picture, Exception):
                results.append(picture)
                continue
            answer = next(answers)
            results.append(answer if isinstance(answer, Exception) else self.adapter.final_prompts_for(answer))
        return results

    # -- restoring and scoring ------------------------------------------------------------------
    def _restore_one(self, it: ImageItem, policy: Policy, lq: Any, caption: Any) -> BenchRecord:
        base = self._base(it, policy.name)
        if it.error is not None or lq is None:
            return BenchRecord(**base, status="error", error=f"cannot read the image: {it.error}")
        prompts, caption_seconds = caption if caption is not None else (RuntimeError("no caption"), 0.0)
        if isinstance(prompts, Exception):
            return BenchRecord(**base, status="error", error=f"caption: {error_text(prompts)}")
        check = self.adapter.check(prompts)
        base.update(
            caption=prompts.caption, positive=prompts.positive, negative=prompts.negative,
            caption_tokens=self.adapter.counter.count(prompts.caption), positive_tokens=check.positive_tokens,
            window=self.adapter.usable, truncated=not all(s.fits for s in check.slots),
            degradation_words=find_degradation_words(prompts.caption),
        )  # fmt: skip
        timings = {"caption": caption_seconds}
        if self.runner is None:  # captions only: write the files the restorer's own scripts read
            try:
                files = self.adapter.export(prompts, it.file, self.out_dir / "prompts" / policy.name, it.root)
            except Exception as exc:
                return BenchRecord(**base, status="error", error=f"prompt files: {error_text(exc)}", timings=timings)
            return BenchRecord(**base, status="ok", prompt_files=[_inside(f, self.out_dir) for f in files], timings=timings)
        try:
            start = time.perf_counter()
            restored = self.adapter.restore(
                self.runner, lq, prompts, seed=self.config.seed, steps=self.config.steps, strength=self.config.strength,
                guidance_scale=self.config.guidance,
            )  # fmt: skip
            timings["restore"] = time.perf_counter() - start
            target = self._output_path(it, policy.name)
            restored.convert("RGB").save(target)
        except Exception as exc:  # one restoration must not stop the bench
            return BenchRecord(**base, status="error", error=f"restore: {error_text(exc)}", timings=timings)
        return self._scored(BenchRecord(**base, status="ok", output=target.relative_to(self.out_dir).as_posix(), timings=timings), restored, it)

    def _input_row(self, it: ImageItem, lq: Any) -> BenchRecord:
        """The input at the size it is compared at: the ground truth's, else the restorers' outputs'."""
        from PIL import Image

        base = self._base(it, INPUT_ROW)
        if it.error is not None or lq is None:
            return BenchRecord(**base, status="error", error=f"cannot read the image: {it.error}")
        reference = it.reference_image()
        outputs = (self.records.get((it.key, p.name)) for p in self.policies)
        output_sizes = (image_size(self.out_dir / r.output) for r in outputs if r is not None and r.status == "ok" and r.output)
        size = (reference.size if reference is not None else None) or next((s for s in output_sizes if s), None) or lq.size
        shown = lq if lq.size == tuple(size) else lq.resize(tuple(size), Image.Resampling.BICUBIC)
        target = self._output_path(it, INPUT_ROW)
        shown.save(target)
        return self._scored(BenchRecord(**base, status="ok", output=target.relative_to(self.out_dir).as_posix()), shown, it)

    def _output_path(self, it: ImageItem, policy: str) -> Path:
        folder = self.out_dir / "outputs" / it.relative.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{policy}.png"

    def _scored(self, record: BenchRecord, image: Any, it: ImageItem, only: list[str] | None = None) -> BenchRecord:
        from PIL import Image

        if not self.metrics.names:
            return record
        start = time.perf_counter()
        reference = None
        if it.reference is not None and any(self.metrics.info[n].full_reference for n in self.metrics.names):
            reference = it.reference_image()
            if reference is None:
                record.metric_errors["reference"] = it.reference_error or "cannot read the ground truth"
        scored = image
        if reference is not None and reference.size != image.size:
            scored = image.resize(reference.size, Image.Resampling.BICUBIC)
            record.resized_for_reference = True
        values, errors = self.metrics.score(scored, reference, only=only)
        record.metrics.update(values)
        record.metric_errors.update(errors)
        record.timings["metrics"] = record.timings.get("metrics", 0.0) + time.perf_counter() - start
        return record

    def _rescore_missing_metrics(self, items: list[ImageItem]) -> None:
        """Records of earlier runs lacking a metric asked for now (or lacking ground truth that has
        appeared since) are scored again from their saved outputs."""
        for it in items:
            for name in [INPUT_ROW, *(p.name for p in self.policies)]:
                record = self.records.get((it.key, name))
                if record is None or record.status != "ok" or not record.output:
                    continue
                reference = str(it.reference.resolve()) if it.reference else None
                gained_reference = reference is not None and record.reference != reference
                missing = [
                    n for n in self.metrics.names
                    if n not in record.metrics and (n not in record.metric_errors or gained_reference)
                ]  # fmt: skip
                if not missing:
                    continue
                try:
                    image = open_rgb(self.out_dir / record.output)
                except Exception as exc:  # the saved output is gone or damaged: restore it again next run
                    record = record.model_copy(update={"status": "error", "error": f"saved output unreadable: {error_text(exc)}"})
                    self._log.append([record.model_dump_json()])
                    self.records[record.key] = record
                    continue
                updated = record.model_copy(deep=True)
                updated.reference = reference
                for n in missing:
                    updated.metric_errors.pop(n, None)
                updated = self._scored(updated, image, it, only=missing)
                self._log.append([updated.model_dump_json()])
                self.records[updated.key] = updated

    def ordered_records(self, items: list[ImageItem]) -> list[BenchRecord]:
        """This run's records in image order, then policy order (the input row first)."""
        order = [INPUT_ROW, *(p.name for p in self.policies)]
        return [self.records[(it.key, name)] for it in items for name in order if (it.key, name) in self.records]


def _inside(path: Path, folder: Path) -> str:
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height from the header, or ``None`` when the file cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception:
        return None
