"""``report.html``: one self-contained page (images inlined, no network) showing what the captions did.

Per image: the input, the ground truth when given, and each policy's output side by side with its
caption; the same crop of each, zoomable; the metric table. Then summary plots: each metric per
policy, against caption length, and against degradation severity.

Example:
    >>> from rescap.bench.report import crop_box
    >>> crop_box((512, 384), (100, 80))
    (36, 16, 164, 144)
"""

from __future__ import annotations

import base64
import io
import math
from importlib import resources
from pathlib import Path
from typing import Any

from .items import image_size
from .records import INPUT_ROW, BenchRecord
from .results import PolicySummary, best_policies

THUMB_WIDTH = 256  # CSS pixels; thumbnails are encoded at exactly this width, so nothing is rescaled
FULL_SIDE = 512  # the enlarged view (click a thumbnail); it bounds the report's size (~1 MB per image, 7 policies)
CROP_SIDE = 128  # output pixels in the zoomable crop
POLICY_COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]


def _data_uri(image: Any, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, "JPEG", quality=90)
        mime = "image/jpeg"
    else:
        image.save(buffer, "PNG", optimize=True)
        mime = "image/png"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _thumb(image: Any) -> Any:
    from PIL import Image

    height = max(1, round(image.height * THUMB_WIDTH / image.width))
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)


def _full(image: Any) -> Any:
    from PIL import Image

    scale = min(1.0, FULL_SIDE / max(image.size))
    if scale >= 1.0:
        return image
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)


def detail_center(image: Any) -> tuple[int, int]:
    """Where the image has the most fine detail (gradient energy over a coarse grid)."""
    import numpy as np

    gray = np.asarray(image.convert("L"), dtype=np.float32)
    energy = np.abs(np.diff(gray, axis=0))[:, :-1] + np.abs(np.diff(gray, axis=1))[:-1, :]
    h, w = energy.shape
    cell = max(8, min(h, w) // 8)
    best, center = -1.0, (image.width // 2, image.height // 2)
    for y in range(0, max(h - cell, 0) + 1, max(cell // 2, 1)):
        for x in range(0, max(w - cell, 0) + 1, max(cell // 2, 1)):
            value = float(energy[y : y + cell, x : x + cell].mean())
            if value > best:
                best, center = value, (x + cell // 2, y + cell // 2)
    return center


def crop_box(size: tuple[int, int], center: tuple[int, int], side: int = CROP_SIDE) -> tuple[int, int, int, int]:
    """A square box of ``side`` pixels (smaller for small images) around ``center``, inside the image."""
    width, height = size
    side = max(8, min(side, width, height))
    x0 = min(max(center[0] - side // 2, 0), width - side)
    y0 = min(max(center[1] - side // 2, 0), height - side)
    return x0, y0, x0 + side, y0 + side


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{digits + 1}g}"


def summary_plots(records: list[BenchRecord], policies: list[str], summary: dict[str, PolicySummary], lower_better: dict[str, bool]) -> list[dict[str, str]]:
    """One SVG figure per metric: mean per policy, against caption tokens, against severity."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    plots = []
    colors = {p: POLICY_COLORS[i % len(POLICY_COLORS)] for i, p in enumerate([INPUT_ROW, *policies])}
    for metric, lower in lower_better.items():
        rows = [r for r in records if r.status == "ok" and metric in r.metrics]
        if not rows:
            continue
        fig = Figure(figsize=(12, 3.4))
        bar, length, severity = fig.subplots(1, 3)
        names = [p for p in [INPUT_ROW, *policies] if metric in summary.get(p, PolicySummary(policy=p)).metrics]
        means = [summary[p].metrics[metric] for p in names]
        stds = [summary[p].std.get(metric, 0.0) for p in names]
        bar.bar(range(len(names)), means, yerr=stds, color=[colors[p] for p in names], capsize=3)
        bar.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        bar.set_title(f"{metric} per policy ({'lower' if lower else 'higher'} is better)", fontsize=9)
        for policy in policies:
            mine = [r for r in rows if r.policy == policy]
            if not mine:
                continue
            length.scatter([r.caption_tokens or 0 for r in mine], [r.metrics[metric] for r in mine], s=14, color=colors[policy], label=policy)
            rated = [r for r in mine if r.severity is not None]
            severity.scatter([r.severity for r in rated], [r.metrics[metric] for r in rated], s=14, color=colors[policy], label=policy)
        length.set_xlabel("caption tokens", fontsize=8)
        length.set_title(f"{metric} against caption length", fontsize=9)
        severity.set_xlabel("degradation severity (0-1)", fontsize=8)
        severity.set_title(f"{metric} against degradation severity", fontsize=9)
        if severity.get_legend_handles_labels()[0]:
            severity.legend(fontsize=7, loc="best")
        for axis in (bar, length, severity):
            axis.tick_params(labelsize=7)
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
        svg = buffer.getvalue()
        plots.append({"metric": metric, "svg": svg[svg.index("<svg") :]})
    return plots


def _open(path: Path) -> Any:
    """RGB image, or ``None`` when it cannot be read (the view then says so)."""
    from .items import open_rgb

    try:
        return open_rgb(path)
    except Exception:
        return None


def _image_view(out_dir: Path, record: BenchRecord, box: tuple[int, int, int, int] | None) -> dict[str, Any]:

    view: dict[str, Any] = {"record": record, "thumb": None, "full": None, "crop": None}
    if record.status != "ok" or not record.output:
        return view
    image = _open(out_dir / record.output)
    if image is None:
        return view
    view["thumb"] = _data_uri(_thumb(image))
    view["full"] = _data_uri(_full(image))
    if box is not None:
        view["crop"] = _data_uri(image.crop(box), "PNG")
    view["size"] = f"{image.width}x{image.height}"
    return view


def build_report(
    out_dir: Path,
    records: list[BenchRecord],
    policies: list[str],
    summary: dict[str, PolicySummary],
    lower_better: dict[str, bool],
    header: dict[str, Any],
    notes: list[str],
) -> str:
    """The HTML text of the report."""
    import jinja2
    from PIL import Image

    by_image: dict[str, dict[str, BenchRecord]] = {}
    for record in records:
        by_image.setdefault(record.image, {})[record.policy] = record
    images = []
    for name, rows in by_image.items():
        base = rows.get(INPUT_ROW)
        box = None
        size = None
        base_image = _open(out_dir / base.output) if base is not None and base.status == "ok" and base.output else None
        if base_image is not None:
            size = base_image.size
            box = crop_box(size, detail_center(base_image))
        views = []
        reference_view = None
        any_row = next(iter(rows.values()))
        ref = _open(Path(any_row.reference)) if any_row.reference else None
        if ref is not None:
            if size and ref.size != size:
                ref = ref.resize(size, Image.Resampling.BICUBIC)
            reference_view = {"thumb": _data_uri(_thumb(ref)), "full": _data_uri(_full(ref)), "crop": _data_uri(ref.crop(box), "PNG") if box else None}
        for policy in [INPUT_ROW, *policies]:
            if policy in rows:
                record = rows[policy]
                crop = box
                if box is not None and size and record.output and record.status == "ok":
                    output_size = image_size(out_dir / record.output)
                    if output_size and output_size != size:
                        sx, sy = output_size[0] / size[0], output_size[1] / size[1]
                        crop = (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))
                views.append(_image_view(out_dir, record, crop))
        images.append({"name": name, "first": any_row, "views": views, "reference": reference_view, "box": box})
    metric_names = list(lower_better)
    best = best_policies(summary, lower_better)
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("rescap.bench").joinpath("report.html.j2").read_text(encoding="utf-8")
    )
    return template.render(
        header=header, notes=notes, summary=[summary[p] for p in [INPUT_ROW, *policies] if p in summary],
        metric_names=metric_names, lower_better=lower_better, best=best, plots=summary_plots(records, policies, summary, lower_better),
        images=images, fmt=_fmt, colors={p: POLICY_COLORS[i % len(POLICY_COLORS)] for i, p in enumerate([INPUT_ROW, *policies])},
        thumb_width=THUMB_WIDTH, input_row=INPUT_ROW,
    )  # fmt: skip
