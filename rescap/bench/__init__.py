"""``rescap bench``: what captions do to a restorer, measured on your images.

Each image is restored under several caption policies (no caption, a plain VLM sentence, rescap at
each richness, your own captions) with the same seed, scored with pyiqa metrics, and summarized in
``results.csv``, ``results.json`` and a self-contained ``report.html``.

Example:
    >>> from rescap.bench import run_bench  # doctest: +SKIP
    >>> result = run_bench(["lq/"], "report/", restorer="diffusers", restorer_path="pipeline/",
    ...                    gt="hq/", policies="none,rescap-auto", metrics="psnr,ssim", vlm=None)  # doctest: +SKIP
    >>> result.summary["rescap-auto"].metrics["psnr"]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .._version import __version__
from .items import ImageItem
from .policies import Policy, PolicyError, parse_policies
from .records import INPUT_ROW, BenchConfig, BenchError, BenchRecord
from .results import PolicySummary
from .runner import Bench

__all__ = [
    "Bench", "BenchConfig", "BenchError", "BenchRecord", "BenchResult", "Policy", "PolicyError", "PolicySummary",
    "parse_policies", "run_bench",
]  # fmt: skip


@dataclass
class BenchResult:
    out_dir: Path
    records: list[BenchRecord]
    summary: dict[str, PolicySummary]
    metrics: list[str]
    notes: list[str] = field(default_factory=list)
    resumed: int = 0  # restorations found done from an earlier run
    restored: int = 0  # restorations done by this run

    @property
    def failed(self) -> list[BenchRecord]:
        """Failed restorations (an image that cannot be read fails every policy)."""
        return [r for r in self.records if r.status == "error" and r.policy != INPUT_ROW]


def collect_images(inputs: Sequence[str | Path], gt: str | Path | None = None) -> tuple[list[ImageItem], Path | None]:
    """The images to bench (folders walked recursively), keyed by their path below the input folder."""
    import os

    from ..adapters.base import _relative
    from ..files import input_root, iter_image_files
    from .items import find_references

    paths = [Path(p) for p in inputs]
    # each file once (by what it resolves to), keyed by where it was found: a symlinked file keeps
    # its own place below the input folder, so two never share a key
    found: dict[Path, Path] = {}
    for f in iter_image_files(paths):
        found.setdefault(f.resolve(), Path(os.path.abspath(f)))
    root = input_root(paths, found.values())
    items = [ImageItem(file=f, relative=_relative(where, root), root=root) for f, where in found.items()]
    if gt is not None:
        find_references(items, Path(gt))
    return items, root


def run_bench(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    restorer: str,
    restorer_path: str | None = None,
    gt: str | Path | None = None,
    policies: str | None = None,
    metrics: str | None = None,
    vlm: str | None = "transformers:",
    backend: Any = None,
    base_url: str | None = None,
    relevance: str | None = "auto",
    captions: str | Path | None = None,
    seed: int = 0,
    steps: int | None = None,
    strength: float | None = None,
    guidance: float | None = None,
    device: str = "cpu",
    batch_size: int = 4,
    limit: int | None = None,
    overwrite: bool = False,
    mode: str = "chain",
    quality_prompt: str = "fit",
    backend_options: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    on_items: Callable[[int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> BenchResult:
    """Run the bench and write ``results.csv``, ``results.json`` and ``report.html`` in ``out_dir``.

    ``vlm=None`` (and no ``backend``) runs without a captioning model: ``plain`` is then refused and
    rescap policies carry degradation-only prompts. Raises ``BenchError``/``PolicyError``/``ValueError``
    for set-up problems; per-image problems become error records.
    """
    from ..adapters import RestorerUnavailable, get_adapter
    from ..backends.base import retried_note
    from ..backends.registry import create_backend
    from ..captioning.captioner import Captioner
    from ..control.richness import RichnessPolicy
    from .metrics import MetricSet, parse_metric_names
    from .rerun import path_or_id, finished, refuse_other_settings, same_captioning, templates_fingerprint

    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        if on_note:
            on_note(text)

    out = Path(out_dir)
    chosen = parse_policies(policies)
    if policies is None and backend is None and not vlm:  # the default set, without a VLM: plain cannot run
        chosen = [p for p in chosen if p.kind != "plain"]
        note("no captioning model: the default policies leave plain out")
    if captions is not None and policies is None:
        chosen.append(Policy(name="sidecar", kind="sidecar"))
    if gt is not None and not Path(gt).is_dir():
        raise BenchError(f"ground-truth folder {gt} does not exist")
    if captions is not None and not Path(captions).is_dir():
        raise BenchError(f"caption folder {captions} does not exist")
    items, _ = collect_images(inputs, gt)
    inside = out.resolve()
    items = [it for it in items if not it.file.is_relative_to(inside)]  # a report folder inside the inputs is not input
    if limit is not None:
        items = items[:limit]
    if not items:
        from ..files import NoImageFiles

        raise NoImageFiles(inputs)
    if gt is not None:
        unmatched = [it.key for it in items if it.reference is None]
        if unmatched:
            note(f"{len(unmatched)} of {len(items)} images have no ground truth in {gt} (matched by relative path, then by name): "
                 f"{', '.join(unmatched[:5])}{' ...' if len(unmatched) > 5 else ''}; their full-reference metrics are left empty")  # fmt: skip
    if on_items:
        on_items(len(items) * (len(chosen) + 1))

    # set-up mistakes first: a wrong policy or a folder of another run must not cost loading models
    needs_vlm = any(p.needs_vlm for p in chosen)
    if backend is None and not vlm and any(p.kind == "plain" for p in chosen):
        raise PolicyError("the plain policy needs a captioning model: drop --no-vlm, or leave plain out of --policies")
    sidecar = any(p.kind == "sidecar" for p in chosen)
    metric_names = parse_metric_names(metrics, gt is not None)
    earlier = None if overwrite else refuse_other_settings(out, {
        "restorer": restorer, "restorer_path": path_or_id(restorer_path), "seed": seed, "steps": steps, "strength": strength,
        "guidance": guidance, "gt": path_or_id(gt), "captions": path_or_id(captions) if sidecar else None,
        "quality_prompt": quality_prompt, "rescap_version": __version__,
    })  # fmt: skip
    if earlier is not None and backend is None and same_captioning(earlier, needs_vlm, vlm, relevance, mode):
        done = finished(out, items, chosen, metric_names, Path(captions) if captions is not None else None)
        if done is not None:  # nothing left to do: report from the records, loading no model
            bench = Bench(
                out_dir=out, adapter=get_adapter(restorer, quality_prompt=quality_prompt), runner=None, policies=chosen, metrics=done, config=earlier,
                captions_dir=Path(captions) if captions is not None else None, batch_size=batch_size, progress=progress,
            )  # fmt: skip
            _run(bench, items)
            if not earlier.restorer_runs:
                note(f"the restorer did not run; this report compares the captions only, and each policy's prompt files are in {out / 'prompts'}")
            return write_outputs(bench, items, notes)

    # metric names are checked before the models load: a typo must not cost loading a restorer and a VLM
    metric_set = MetricSet.load(metric_names, have_reference=gt is not None, device=device)
    for message in metric_set.skipped.values():
        if on_note:
            on_note(message)
    adapter = get_adapter(restorer, quality_prompt=quality_prompt)
    try:
        runner = adapter.load(restorer_path, device=device)
    except RestorerUnavailable as exc:
        # still worth a report: every policy's text, its token counts, truncation and degradation
        # words, the input's own scores, and the prompt files to run the restorer with elsewhere
        runner = None
        note(f"the restorer did not run ({exc}); this report compares the captions only, and each policy's prompt "
             f"files are in {out / 'prompts'}")  # fmt: skip
    own_backend = backend is None
    if backend is None and vlm and any(p.needs_vlm for p in chosen):
        backend = create_backend(vlm, **{**(backend_options or {}), **({"base_url": base_url} if base_url else {})})
    try:
        if backend is None:
            if any(p.kind == "plain" for p in chosen):
                raise PolicyError("the plain policy needs a captioning model: drop --no-vlm, or leave plain out of --policies")
            if any(p.kind == "rescap" for p in chosen):
                note("no captioning model: rescap policies carry degradation-only prompts (no caption)")
        captioners: dict[str, Any] = {}
        scorer: Any = None if relevance in (None, "off", "none", "no") else relevance
        for policy in chosen:
            if policy.kind != "rescap":
                continue
            captioner = Captioner(
                backend, restorer=adapter, policy=RichnessPolicy(mode=policy.richness), relevance=scorer, seed=seed, mode=mode,
            )  # fmt: skip
            if scorer == "auto" or isinstance(scorer, str):
                scorer = captioner.scorer  # one CLIP model shared by every richness
            captioners[policy.name] = captioner
        uses_vlm = backend is not None and any(p.needs_vlm for p in chosen)
        config = BenchConfig(
            restorer=restorer, restorer_path=path_or_id(restorer_path), vlm=getattr(backend, "model_string", None) if uses_vlm else None,
            seed=seed, steps=steps, strength=strength, guidance=guidance, gt=path_or_id(gt), restorer_runs=runner is not None,
            captions=path_or_id(captions) if any(p.kind == "sidecar" for p in chosen) else None,
            relevance=(path_or_id(relevance) if isinstance(relevance, str) else type(relevance).__name__) if uses_vlm else None,
            mode=mode if uses_vlm else None, quality_prompt=quality_prompt,
            templates=templates_fingerprint(captioners) if uses_vlm else None,
        )  # fmt: skip
        bench = Bench(
            out_dir=out, adapter=adapter, runner=runner, policies=chosen, metrics=metric_set, config=config, backend=backend,
            captioners=captioners, captions_dir=Path(captions) if captions is not None else None,
            batch_size=batch_size, progress=progress,
        )  # fmt: skip
        _run(bench, items, overwrite)
    finally:
        retried = retried_note(getattr(backend, "retries", 0) if backend is not None else 0)
        if retried:
            note(retried)
        if backend is not None and own_backend:
            backend.close()
    return write_outputs(bench, items, notes)


def _run(bench: Bench, items: list[ImageItem], overwrite: bool = False) -> None:
    bench.open(overwrite=overwrite)
    try:
        bench.run(items)
    finally:
        bench.close()


def write_outputs(bench: Bench, items: list[ImageItem], notes: list[str]) -> BenchResult:
    """``results.csv``, ``results.json`` and ``report.html`` from the bench's records."""
    from .._version import __version__
    from ..durable import atomic_write
    from .report import build_report
    from .results import summarize, write_csv, write_json

    records = bench.ordered_records(items)
    names = [p.name for p in bench.policies]
    lower_better = {n: bench.metrics.info[n].lower_better for n in bench.metrics.names}
    summary = summarize(records, names, lower_better)
    metric_failures: dict[str, list[str]] = {}
    for record in records:
        for metric, error in record.metric_errors.items():
            if metric in lower_better:
                metric_failures.setdefault(metric, []).append(error)
    for metric, errors in metric_failures.items():
        notes = [*notes, f"{metric} has no value on {len(errors)} of {len(records)} rows (first reason: {errors[0]})"]
    from ..extras import is_available

    if any(r.metrics for r in records) and not is_available("matplotlib"):
        notes = [*notes, "no plots: matplotlib is not installed (pip install 'rescap[eval]')"]
    rows = [r for r in records if r.policy != INPUT_ROW]
    failed = [r for r in rows if r.status == "error"]
    if failed:
        notes = [*notes, f"{len(failed)} of {len(rows)} restorations failed; their errors are in the tables below"]
    header = {
        **bench.config.model_dump(), "images": len(items), "policies": names, "metrics": list(lower_better),
        "rescap_version": __version__, "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "skipped_metrics": dict(bench.metrics.skipped),
    }  # fmt: skip
    write_csv(bench.out_dir / "results.csv", records, list(lower_better))
    write_json(
        bench.out_dir / "results.json",
        {
            "config": header, "notes": notes, "lower_better": lower_better,
            "summary": {k: v.model_dump() for k, v in summary.items()},
            "records": [r.model_dump() for r in records],
        },
    )  # fmt: skip
    html = build_report(bench.out_dir, records, names, summary, lower_better, header, notes)
    atomic_write(bench.out_dir / "report.html", html.encode("utf-8"))
    return BenchResult(bench.out_dir, records, summary, list(lower_better), notes, bench.resumed, bench.restored)
