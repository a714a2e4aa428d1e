"""``--engine ray``: the same pipeline on Ray Data, for datasets one machine cannot handle.

Stages: (1) read + estimate, as Ray tasks (CPU): each image is decoded, its degradation measured
and its picture fitted to the VLM's pixel budget (sent on as PNG bytes); (2) caption, in a pool
of Ray actors, each holding one ``Captioner`` and its model - the transformers or vLLM backend
in-process (give actors GPUs with ``--ray-gpus-per-actor``), or the openai backend posting to
``vllm serve`` replicas. The driver streams the records back and writes them with the same
durable writers as the local engine, so the output formats, resume and exactly-once records are
identical. Resume is by record: images already recorded are left out of the dataset up front.

Tasks and actors reserve half a CPU each: on a small machine, actors holding whole CPUs can
starve the read stage and stall the job.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from .engine import Summary, caption_or_fail, plan, stop_after_for, to_record
from .sources import iter_source
from .writers import make_writer


def _estimate_rows(batch: dict[str, Any], max_pixels: int) -> dict[str, Any]:
    """Ray task: decode, estimate, fit; failures travel as rows with an error."""
    from ..images import load_picture
    from ..degradation.estimate import estimate_degradation
    from .sources import SourceItem

    out: dict[str, list] = {"key": [], "report": [], "picture": [], "error": [], "seconds": []}
    for key, path, tar, member in zip(batch["key"], batch["path"], batch["tar"], batch["member"]):
        item = SourceItem(key=key, path=Path(path) if path else None, tar=Path(tar) if tar else None, member=member or None)
        start = time.perf_counter()
        report, picture, error = "", b"", ""  # empty, not None: Ray's columns turn None into NaN
        try:
            source = item.open()
            report = estimate_degradation(source).model_dump_json()
            buf = io.BytesIO()
            load_picture(source, max_pixels).save(buf, format="PNG", compress_level=1)
            picture = buf.getvalue()
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            report, picture = "", b""
        out["key"].append(key)
        out["report"].append(report)
        out["picture"].append(picture)
        out["error"].append(error)
        out["seconds"].append(time.perf_counter() - start)
    return out


class _CaptionActor:
    """Ray actor: one Captioner (and its model) for the life of the job."""

    def __init__(self, settings: dict[str, Any]):
        from ..backends.registry import create_backend
        from ..captioning.captioner import Captioner
        from ..control.richness import RichnessPolicy, parse_richness

        backend = None
        if settings["model"]:
            options = dict(settings.get("backend_options") or {})
            if settings["base_url"]:
                options["base_url"] = settings["base_url"]
            backend = create_backend(settings["model"], **options)
        relevance = None if settings["relevance"] in ("off", "none", "no") else settings["relevance"]
        self._retries = 0  # the backend's retries already reported
        self.captioner = Captioner(
            backend, restorer=settings["restorer"], policy=RichnessPolicy(mode=parse_richness(settings["richness"])),
            relevance=relevance, mode=settings["mode"], quality_prompt=settings.get("quality_prompt", "fit"),
        )  # fmt: skip

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from ..images import load_picture
        from ..degradation.report import DegradationReport

        prepared = []
        for key, report, picture, error, seconds in zip(batch["key"], batch["report"], batch["picture"], batch["error"], batch["seconds"]):
            if isinstance(error, str) and error:
                prepared.append(self.captioner.failed(key, "estimate", error))
            else:
                image = load_picture(bytes(picture), 1 << 40)  # the read stage's own fitted RGB PNG, back as it was
                prepared.append(self.captioner.prepared_from(key, DegradationReport.model_validate_json(report), image, seconds))
        outcomes = caption_or_fail(self.captioner, prepared)
        # an image the server could not be reached for is not recorded (a plain rerun does it)
        retries = getattr(self.captioner.backend, "retries", 0)
        new_retries, self._retries = retries - self._retries, retries
        return {
            "key": [str(k) for k in batch["key"]],
            "record": ["" if getattr(o, "unreachable", False) else to_record(key, o).model_dump_json() for key, o in zip(batch["key"], outcomes)],
            "unreachable": [o.error if getattr(o, "unreachable", False) else "" for o in outcomes],
            "retries": [new_retries] + [0] * (len(outcomes) - 1),  # this batch's, once
        }  # fmt: skip


def run_ray(
    source: Path, target: Path, *, fmt: str, model: str | None, base_url: str | None, restorer: str, richness: str,
    relevance: str, mode: str, batch_size: int, limit: int | None, shard: tuple[int, int] | None, retry_failed: bool,
    path_column: str | None, address: str | None, actors: int, gpus_per_actor: float, max_pixels: int = 448 * 448,
    backend_options: dict[str, Any] | None = None, quality_prompt: str = "fit",
) -> Summary:  # fmt: skip
    """Run the whole job on Ray (a local cluster unless ``address`` is given); see the module docstring."""
    from ..extras import require
    from .writers import RecaptionRecord

    ray = require("ray", "ray")
    decide_start = time.perf_counter()
    writer = make_writer(target, fmt)
    work = plan(iter_source(source, path_column), writer, retry_failed=retry_failed, shard=shard, limit=limit)
    rows = [
        {"key": i.key, "path": str(i.path) if i.path else "", "tar": str(i.tar) if i.tar else "", "member": i.member or ""}
        for i in work.todo
    ]
    summary = Summary(skipped=work.skipped, decide_seconds=time.perf_counter() - decide_start)
    if not rows:
        writer.close()
        return summary
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False, ignore_reinit_error=True)
    import logging

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False
    settings = {"model": model, "base_url": base_url, "restorer": restorer, "quality_prompt": quality_prompt, "richness": richness, "relevance": relevance,
                "mode": mode, "backend_options": backend_options or {}}  # fmt: skip
    start = time.perf_counter()
    dataset = ray.data.from_items(rows, override_num_blocks=max(1, len(rows) // batch_size))
    dataset = dataset.map_batches(_estimate_rows, fn_kwargs={"max_pixels": max_pixels}, batch_size=batch_size, num_cpus=0.5)
    dataset = dataset.map_batches(
        _CaptionActor, fn_constructor_kwargs={"settings": settings}, batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=0.5, num_gpus=gpus_per_actor,
    )  # fmt: skip
    try:
        for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
            records = [RecaptionRecord.model_validate_json(text) for text in batch["record"] if text]
            records = writer.write(records) or records  # durable before the next batch is taken
            summary.count(records)
            summary.retries += int(sum(batch["retries"]))
            lost = [(str(key), str(reason)) for key, reason in zip(batch["key"], batch["unreachable"]) if reason]
            if summary.unreachable_batch([k for k, _ in lost], lost[0][1] if lost else "", len(records), stop_after_for(batch_size)):
                summary.stopped = True  # the server is down: stop, keep what is done
                summary.left = len(rows) - summary.done - summary.failed - summary.unreachable
                break
    finally:
        writer.close()
    summary.seconds = time.perf_counter() - start
    return summary
