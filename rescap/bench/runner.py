"""The ``rescap bench`` run: each image restored under each caption policy with the same seed,
scored, and logged one record at a time so that an interrupted run resumes where it stopped.

Layout of the report folder::

    bench.json          what was run (restorer, model, seed...): a rerun must match it
    metrics.json        each metric's kind (full-reference, lower is better): a rerun with nothing
                        left to do reports from it without loading any model
    records.jsonl       one line per (image, policy), appended and fsynced as each finishes
    outputs/<image>/<policy>.png   every restoration (and ``input.png``: the input, resized)
    results.csv, results.json, report.html   written from the records at the end

Planning what each policy gives the restorer is ``prompting``, scoring is ``scoring``, the images
and records are ``items`` and ``records``; this module restores and logs.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..durable import AppendLog, atomic_write, save_image
from ..outputs import inside, unique_names
from ..errors import error_text
from ..text.degradation_words import find_degradation_words
from .items import ImageItem, _inside, image_size, open_rgb
from .metrics import MetricSet
from .policies import Policy, sidecar_caption
from .prompting import PolicyPrompts
from .records import CONFIG, INPUT_ROW, METRICS, RECORDS, BenchConfig, BenchError, BenchRecord, earlier_config
from .scoring import score_record

__all__ = ["Bench", "BenchConfig", "BenchError", "BenchRecord", "ImageItem", "INPUT_ROW", "image_size", "open_rgb"]


def records_of(rows: list[dict[str, Any]]) -> dict[tuple[str, str], BenchRecord]:
    """The log's records by (image, policy); the last line of a key wins, unreadable lines are skipped."""
    records: dict[tuple[str, str], BenchRecord] = {}
    for row in rows:
        try:
            record = BenchRecord.model_validate(row)
        except ValueError:
            continue
        records[record.key] = record
    return records


def is_done(records: dict, item: "ImageItem", policy: str, out_dir: Path, captions_dir: Path | None) -> bool:
    """Done before: recorded ok, from this very file, its output still there, and (sidecar) the
    same caption as now."""
    record = records.get((item.key, policy))
    if record is None or record.status != "ok":
        return False
    if record.file != str(item.file.resolve()) or record.fingerprint != item.fingerprint:
        return False
    if record.policy == "sidecar":
        try:
            if sidecar_caption(item.file, item.relative, captions_dir) != record.caption:
                return False
        except (OSError, UnicodeDecodeError):
            return False
    return record.output is None or (out_dir / record.output).is_file()


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
    output_names: dict[Path, str] = field(default_factory=dict)  # input -> its outputs/ folder (unique per input)
    restored: int = 0  # restorations done by this run

    def __post_init__(self) -> None:
        self.prompts = PolicyPrompts(
            adapter=self.adapter, policies=self.policies, captioners=self.captioners, backend=self.backend,
            captions_dir=self.captions_dir, plain_prompt=self.plain_prompt,
        )  # fmt: skip

    # -- set-up ---------------------------------------------------------------------------------
    def open(self, overwrite: bool = False) -> None:
        """Check the folder against this run's config, load earlier records, open the log."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.out_dir / CONFIG
        if overwrite:
            for name in (RECORDS, METRICS, "results.csv", "results.json", "report.html"):
                (self.out_dir / name).unlink(missing_ok=True)
            shutil.rmtree(self.out_dir / "outputs", ignore_errors=True)
            shutil.rmtree(self.out_dir / "prompts", ignore_errors=True)
        elif config_path.exists():
            earlier = earlier_config(self.out_dir)
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
        self.records = records_of(self._log.read())
        if self.metrics.info:  # what a rerun needs to report without loading any metric
            atomic_write(self.out_dir / METRICS, json.dumps({n: vars(i) for n, i in self.metrics.info.items()}, indent=1).encode("utf-8"))

    def close(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()

    def is_done(self, item: "ImageItem", policy: str) -> bool:
        return is_done(self.records, item, policy, self.out_dir, self.captions_dir)

    def _save(self, record: BenchRecord) -> None:
        self._log.append([record.model_dump_json()])
        self.records[record.key] = record
        self.restored += record.status == "ok" and record.policy != INPUT_ROW and record.output is not None
        if self.progress:
            self.progress(f"{record.image} [{record.policy}]")

    # -- the run ----------------------------------------------------------------------------------
    def run(self, items: list[ImageItem]) -> None:
        self.output_names = unique_names([it.relative for it in items])
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
        captions = self.prompts.for_items(live, pending)
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
            caption=prompts.caption, positive_prompt=prompts.positive, negative_prompt=prompts.negative,
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
            save_image(restored.convert("RGB"), target)
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
        save_image(shown, target)
        return self._scored(BenchRecord(**base, status="ok", output=target.relative_to(self.out_dir).as_posix()), shown, it)

    def _output_path(self, it: ImageItem, policy: str) -> Path:
        """``outputs/<image>/<policy>.png``: one folder per input (``photo.jpg`` and ``photo.png``
        get ``photo.jpg/`` and ``photo.png/``), never outside the report folder."""
        name = self.output_names.get(it.relative) or it.relative.with_suffix("").as_posix()
        folder = inside(self.out_dir / "outputs", name, "", replace_suffix=False)
        folder.mkdir(parents=True, exist_ok=True)
        return inside(self.out_dir / "outputs", f"{name}/{policy}", ".png", replace_suffix=False)

    def _scored(self, record: BenchRecord, image: Any, it: ImageItem, only: list[str] | None = None) -> BenchRecord:
        return score_record(self.metrics, record, image, it, only)

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
