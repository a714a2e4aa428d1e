"""Bench results: the per-policy summary, ``results.csv`` and ``results.json``.

Example:
    >>> from rescap.bench.results import summarize
    >>> from rescap.bench.records import BenchRecord
    >>> rows = [BenchRecord(image="a", file="a", policy=p, status="ok", metrics={"psnr": v}) for p, v in (("none", 20.0), ("plain", 21.0))]
    >>> summary = summarize(rows, ["none", "plain"], {"psnr": False})
    >>> summary["plain"].delta_vs_none["psnr"], summary["plain"].better_than_none["psnr"]
    (1.0, 1.0)
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..durable import atomic_write
from .records import INPUT_ROW, BenchRecord

CSV_FIXED = (
    "image", "policy", "status", "error", "caption", "caption_tokens", "positive_tokens", "window", "truncated",
    "degradation_words", "severity", "noise_sigma", "blur_sigma", "jpeg_quality", "scale_factor", "output",
    "reference", "seed", "restore_seconds",
)  # fmt: skip


class PolicySummary(BaseModel):
    """One policy over every image: how often it ran, its mean scores, and its captions."""

    policy: str
    images: int = 0
    failed: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)  # mean over images
    std: dict[str, float] = Field(default_factory=dict)
    delta_vs_none: dict[str, float] = Field(default_factory=dict)  # mean of (policy - none), same images
    better_than_none: dict[str, float] = Field(default_factory=dict)  # share of images where it beat none
    ties_with_none: dict[str, float] = Field(default_factory=dict)  # share of images where it scored the same
    common_mean: dict[str, float] = Field(default_factory=dict)  # mean over the images every policy has
    degradation_word_share: float | None = None  # share of captions naming the degradation
    mean_caption_tokens: float | None = None
    truncated_share: float | None = None
    mean_restore_seconds: float | None = None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(records: list[BenchRecord], policies: list[str], lower_better: dict[str, bool]) -> dict[str, PolicySummary]:
    """Per-policy means; deltas and win shares against ``none`` on the images both have."""
    out: dict[str, PolicySummary] = {}
    none = {r.image: r for r in records if r.policy == "none" and r.status == "ok"}
    for policy in [INPUT_ROW, *policies]:
        rows = [r for r in records if r.policy == policy]
        ok = [r for r in rows if r.status == "ok"]
        summary = PolicySummary(policy=policy, images=len(ok), failed=len(rows) - len(ok))
        for metric, lower in lower_better.items():
            values = [r.metrics[metric] for r in ok if metric in r.metrics]
            if not values:
                continue
            mean = sum(values) / len(values)
            summary.metrics[metric] = mean
            summary.std[metric] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
            if policy != "none" and none:
                pairs = [(r.metrics[metric], none[r.image].metrics[metric]) for r in ok if r.image in none and metric in r.metrics and metric in none[r.image].metrics]
                if pairs:
                    summary.delta_vs_none[metric] = sum(a - b for a, b in pairs) / len(pairs)
                    summary.better_than_none[metric] = sum((a < b) if lower else (a > b) for a, b in pairs) / len(pairs)
                    summary.ties_with_none[metric] = sum(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in pairs) / len(pairs)
        if policy != INPUT_ROW and ok:
            summary.degradation_word_share = sum(bool(r.degradation_words) for r in ok) / len(ok)
            summary.mean_caption_tokens = _mean([r.caption_tokens for r in ok if r.caption_tokens is not None])
            summary.truncated_share = sum(r.truncated for r in ok) / len(ok)
            summary.mean_restore_seconds = _mean([r.timings["restore"] for r in ok if "restore" in r.timings])
        out[policy] = summary
    # means over the images every policy scored: a policy that failed on the hard images must not
    # look best for it
    compared = [p for p in policies if out[p].images]
    for metric in lower_better:
        scored = [{r.image for r in records if r.policy == p and r.status == "ok" and metric in r.metrics} for p in compared]
        common = set.intersection(*scored) if scored else set()
        if not common:
            continue
        for policy in compared:
            values = [r.metrics[metric] for r in records if r.policy == policy and r.image in common and r.status == "ok" and metric in r.metrics]
            out[policy].common_mean[metric] = sum(values) / len(values)
    return out


def best_policies(summary: dict[str, PolicySummary], lower_better: dict[str, bool]) -> dict[str, str]:
    """The best policy per metric, judged on the images every policy has."""
    best = {}
    for metric, lower in lower_better.items():
        candidates = [(s.common_mean[metric], p) for p, s in summary.items() if p != INPUT_ROW and metric in s.common_mean]
        if candidates:
            best[metric] = (min if lower else max)(candidates)[1]
    return best


def csv_row(record: BenchRecord, metric_names: list[str]) -> dict[str, Any]:
    degradation = record.degradation or {}
    row: dict[str, Any] = {
        "image": record.image, "policy": record.policy, "status": record.status, "error": record.error or "",
        "caption": record.caption, "caption_tokens": record.caption_tokens, "positive_tokens": record.positive_tokens,
        "window": record.window, "truncated": record.truncated, "degradation_words": ";".join(record.degradation_words),
        "severity": record.severity, "noise_sigma": degradation.get("noise_sigma"), "blur_sigma": degradation.get("blur_sigma"),
        "jpeg_quality": degradation.get("jpeg_quality"), "scale_factor": degradation.get("scale_factor"),
        "output": record.output or "", "reference": record.reference or "", "seed": record.seed,
        "restore_seconds": record.timings.get("restore"),
    }  # fmt: skip
    for name in metric_names:
        row[name] = record.metrics.get(name)
    return row


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading quote (captions are model output)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(path: Path, records: list[BenchRecord], metric_names: list[str]) -> None:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CSV_FIXED, *metric_names])
    writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(v) for k, v in csv_row(record, metric_names).items()})
    atomic_write(path, buffer.getvalue().encode("utf-8"))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(payload, ensure_ascii=False, indent=1, allow_nan=False, default=str).encode("utf-8"))
