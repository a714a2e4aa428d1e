"""``rescap bench``: restore images under several caption policies and report what the text did."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from . import options


def bench(
    inputs: List[Path] = typer.Argument(..., help="Images or folders (walked recursively).", show_default=False, metavar="IMAGES"),
    restorer: str = options.RESTORER,
    output: Path = typer.Option(..., "-o", "--output", help="Report folder: results.csv, results.json, report.html, outputs/."),
    restorer_model: Optional[str] = options.RESTORER_MODEL,
    restorer_path: Optional[str] = options.RESTORER_MODEL_OLD,
    gt: Optional[Path] = typer.Option(None, "--gt", help="Ground-truth folder (same relative paths or names): full-reference metrics."),
    policies: Optional[str] = typer.Option(
        None, "--policies",
        help="Comma-separated: none, plain, rescap (every richness), rescap-short|medium|long|auto|<tokens>, sidecar. "
        "Default: none,plain,rescap (+ sidecar with --captions).",
    ),  # fmt: skip
    metrics: Optional[str] = typer.Option(
        None, "--metrics",
        help="Comma-separated pyiqa metric names, 'auto' (psnr,ssim,lpips,dists with --gt; musiq,maniqa,clipiqa,liqe,niqe) or 'none'.",
    ),  # fmt: skip
    vlm: Optional[str] = options.VLM,
    base_url: Optional[str] = options.BASE_URL,
    no_vlm: bool = options.NO_VLM,
    relevance: str = options.RELEVANCE,
    captions: Optional[Path] = typer.Option(None, "--captions", help="Your captions, DIR/<relative path>.txt, for the sidecar policy."),
    seed: int = options.SEED,
    steps: Optional[int] = options.STEPS,
    strength: Optional[float] = options.STRENGTH,
    guidance: Optional[float] = options.GUIDANCE,
    device: str = options.DEVICE,
    batch_size: int = options.BATCH_SIZE,
    mode: str = options.MODE,
    quality_prompt: str = options.QUALITY_PROMPT,
    backend_option: Optional[List[str]] = options.BACKEND_OPTION,
    api_key_env: Optional[str] = options.API_KEY_ENV,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N images."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start over: delete earlier results in the report folder."),
) -> None:
    """Restore each image under several caption policies (same seed) and measure what the text did.

    Restorers that cannot run here (no checkout or weights) still get a report comparing the
    policies' captions, with each policy's prompt files written for the restorer's own scripts.

    Policies: no caption, a plain one-sentence VLM caption, rescap at each richness, and your own
    captions. Metrics come from pyiqa (full-reference ones with --gt); a metric whose weights cannot
    be fetched is skipped with a message naming the file and the folder to put it in. Writes
    results.csv, results.json and a self-contained report.html; rerunning the same command resumes.

    Example:

    \b
        rescap bench lq/ --gt hq/ --restorer diffusers --restorer-model stabilityai/stable-diffusion-x4-upscaler -o report/
    """
    from rich.markup import escape

    from ..adapters import RestorerUnavailable
    from ..backends import BackendError
    from ..bench import BenchError, PolicyError, run_bench
    from ..bench.metrics import MetricError
    from ..extras import MissingExtraError
    from ..files import NoImageFiles
    from .console import ensure_output_folder, lock_output, progress_bar, stderr_console

    from .adapters import load_adapter

    load_adapter(restorer, None, quality_prompt)  # an unknown name or mode is a one-line error before anything loads
    from .options import parse_backend_options

    backend_options = parse_backend_options(backend_option, api_key_env)
    ensure_output_folder(output)
    lock_output(output)  # a second run on this report folder is refused, not interleaved
    restorer_path = options.restorer_model_of(restorer_model, restorer_path)
    vlm = options.vlm_of(vlm, None)
    console = stderr_console()
    progress, task = progress_bar("benchmarking", None)
    try:
        with progress:
            result = run_bench(
                inputs, output, restorer=restorer, restorer_path=restorer_path, gt=gt, policies=policies, metrics=metrics,
                vlm=None if no_vlm else vlm, base_url=base_url, relevance=relevance, captions=captions, seed=seed,
                steps=steps, strength=strength, guidance=guidance, device=device, batch_size=batch_size, limit=limit,
                overwrite=overwrite, mode=mode, quality_prompt=quality_prompt, backend_options=backend_options,
                progress=lambda label: progress.update(task, advance=1, status=escape(label)),
                on_items=lambda n: progress.update(task, total=n),
                on_note=lambda text: console.print(f"[yellow]note:[/] {escape(text)}"),
            )  # fmt: skip
    except NoImageFiles as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    except RestorerUnavailable as exc:  # a runner that fails later than load
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    except (BenchError, PolicyError, MetricError, BackendError, MissingExtraError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)

    from rich.table import Table

    table = Table(title=f"rescap bench: {escape(restorer)}, {len({r.image for r in result.records})} images")
    table.add_column("policy")
    table.add_column("ok", justify="right")
    table.add_column("failed", justify="right")
    for name in result.metrics:
        table.add_column(name, justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("degr. words", justify="right")
    for name, s in result.summary.items():
        table.add_row(
            escape(name), str(s.images), str(s.failed),
            *(f"{s.metrics[m]:.4g}" if m in s.metrics else "-" for m in result.metrics),
            f"{s.mean_caption_tokens:.1f}" if s.mean_caption_tokens is not None else "-",
            f"{100 * s.degradation_word_share:.0f}%" if s.degradation_word_share is not None else "-",
        )  # fmt: skip
    console.print(table)
    runs = bool(result.records) and any(r.output for r in result.records if r.policy != "input")
    if not runs and any(r.prompt_files for r in result.records):
        console.print(f"[yellow]the restorer did not run here: captions compared, prompt files in {escape(str(output / 'prompts'))}[/]")
    console.print(
        f"{result.restored} restored, {result.resumed} done before, {len(result.failed)} failed -> "
        f"{escape(str(output / 'report.html'))}, results.csv, results.json"
    )
    by_error: dict[tuple[str, str], list[str]] = {}
    for record in result.failed:
        by_error.setdefault((record.image, record.error or ""), []).append(record.policy)
    for (image, error), names in list(by_error.items())[:10]:
        which = "every policy" if len(names) >= len(result.summary) - 1 else ", ".join(names)
        console.print(f"[red]failed:[/] {escape(image)} ({escape(which)}): {escape(error)}")
    if len(by_error) > 10:
        console.print(f"... and {len(by_error) - 10} more (results.csv has them all)")
    if result.failed:
        raise typer.Exit(1)
