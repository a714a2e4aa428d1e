"""Scoring one output with the run's metrics, against the ground truth when there is one."""

from __future__ import annotations

import time
from typing import Any

from .items import ImageItem
from .metrics import MetricSet
from .records import BenchRecord


def score_record(metrics: MetricSet, record: BenchRecord, image: Any, it: ImageItem, only: list[str] | None = None) -> BenchRecord:
    """``record`` with the metric values (and errors) of ``image``; resized to the reference when needed."""
    from PIL import Image

    if not metrics.names:
        return record
    start = time.perf_counter()
    reference = None
    if it.reference is not None and any(metrics.info[n].full_reference for n in metrics.names):
        reference = it.reference_image()
        if reference is None:
            record.metric_errors["reference"] = it.reference_error or "cannot read the ground truth"
    scored = image
    if reference is not None and reference.size != image.size:
        scored = image.resize(reference.size, Image.Resampling.BICUBIC)
        record.resized_for_reference = True
    values, errors = metrics.score(scored, reference, only=only)
    record.metrics.update(values)
    record.metric_errors.update(errors)
    record.timings["metrics"] = record.timings.get("metrics", 0.0) + time.perf_counter() - start
    return record
