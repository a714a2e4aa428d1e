"""``rescap recaption``: re-caption a whole dataset, resumably, locally or on Ray."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from . import options


FORMATS = ("jsonl", "parquet", "txt")
ENGINES = ("local", "ray")


def recaption(
    source: Path = typer.Argument(..., help="Folder tree, text file of paths, JSONL/Parquet/CSV manifest, or .tar shards.", show_default=False),
    output: Path = typer.Option(..., "-o", "--output", help="JSONL file (default format), or folder for parquet/txt."),
    fmt: str = typer.Option("jsonl", "--format", "-f", callback=options.one_of("--format", FORMATS), help="jsonl, parquet, or txt (sidecar caption files)."),
    vlm: Optional[str] = options.VLM,
    model: Optional[str] = options.VLM_OLD,
    backend: Optional[str] = typer.Option(None, "--backend", help="Backend for a --vlm without a source prefix."),
    base_url: Optional[str] = options.BASE_URL,
    engine: str = typer.Option("local", "--engine", callback=options.one_of("--engine", ENGINES), help="local, or ray (Ray Data, for clusters)."),
    batch_size: int = options.BATCH_SIZE,
    restorer: str = options.RESTORER_OR_SD,
    quality_prompt: str = options.QUALITY_PROMPT,
    richness: str = options.RICHNESS,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Caption at most this many images (of those left)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="i/n: this process takes shard i of n (0-based)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Redo images whose earlier attempt failed."),
    no_vlm: bool = options.NO_VLM,
    relevance: str = options.RELEVANCE,
    mode: str = options.MODE,
    workers: int = typer.Option(2, "--workers", min=1, help="Threads decoding and estimating ahead of the VLM."),
    path_column: Optional[str] = typer.Option(None, "--path-column", help="Manifest column holding image paths."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local one)."),
    ray_actors: int = typer.Option(1, "--ray-actors", min=1, help="Captioning actors (one model each) for --engine ray."),
    ray_gpus_per_actor: float = typer.Option(0.0, "--ray-gpus-per-actor", min=0.0, help="GPUs each captioning actor reserves."),
    backend_option: Optional[list[str]] = options.BACKEND_OPTION,
    api_key_env: Optional[str] = options.API_KEY_ENV,
) -> None:
    """Re-caption a dataset: one record per image, resumable after any crash.

    Rerunning the same command skips what is done; --retry-failed redoes failures only. A kill at
    any moment loses at most the batch in flight. Bad files (corrupt, empty, truncated, not an
    image, too large) become error records and the job goes on.

    Records (the names of rescap caption --json): file, caption, positive_prompt, negative_prompt,
    restoration_prompt, degradation, status, error, model, rescap_version, timings.

    Examples:

    \b
        rescap recaption photos/ -o captions.jsonl --vlm transformers:/models/smolvlm
        rescap recaption manifest.parquet -o captions/ --format parquet --shard 0/4
        rescap recaption photos/ -o txt/ --format txt --restorer hypir
    """
    from ..captioning.captioner import Captioner
    from ..recaption.engine import parse_shard, plan, run_local
    from ..recaption.sources import SourceError, iter_source
    from ..recaption.writers import make_writer, output_path
    from .caption import _make_captioner
    from .options import parse_backend_options
    from .console import ensure_output_folder, lock_output, progress_bar, stderr_console

    console = stderr_console()
    try:
        shard_spec = parse_shard(shard)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    model = _with_backend(options.vlm_of(vlm, model), backend)
    target = output_path(output, fmt, shard_spec)
    ensure_output_folder(target.parent if fmt == "jsonl" else target)  # an unwritable -o: one line, before any work
    lock_output(target, is_file=fmt == "jsonl")  # a second run on this output is refused, not interleaved

    if engine == "ray":
        from ..recaption.ray_engine import run_ray

        summary = run_ray(
            source, target, fmt=fmt, model=None if no_vlm else model, base_url=base_url, restorer=restorer, quality_prompt=quality_prompt,
            richness=richness, relevance=relevance, mode=mode, batch_size=batch_size, limit=limit, shard=shard_spec,
            retry_failed=retry_failed, path_column=path_column, address=ray_address, actors=ray_actors,
            gpus_per_actor=ray_gpus_per_actor, backend_options=parse_backend_options(backend_option, api_key_env),
        )  # fmt: skip
        _report(console, summary)
        raise typer.Exit(1 if (summary.failed or summary.unreachable) else 0)

    from ..control.richness import RichnessPolicy, parse_richness
    from .adapters import load_adapter

    decide_start = time.perf_counter()  # reading what exists and listing the source: the resume cost
    try:
        policy = RichnessPolicy(mode=parse_richness(richness))
        adapter = load_adapter(restorer, None, quality_prompt)
        writer = make_writer(target, fmt)
        items = iter_source(source, path_column)
    except (ValueError, KeyError, SourceError, ImportError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    work = plan(items, writer, retry_failed=retry_failed, shard=shard_spec, limit=limit)
    try:
        todo = list(work.todo)  # references only (paths, tar member names): small
    except SourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    decide_seconds = time.perf_counter() - decide_start
    if not todo and not work.skipped and shard_spec is None:  # (a shard of a small dataset may be empty)
        writer.close()
        from ..files import NoImageFiles

        typer.echo(f"error: {NoImageFiles([source])}", err=True)
        raise typer.Exit(1)
    captioner: Captioner | None = None
    if todo:  # no model is loaded when everything is already done
        captioner = _make_captioner(
            no_vlm, model, base_url, policy, adapter, relevance, mode, backend_options=parse_backend_options(backend_option, api_key_env)
        )  # fmt: skip
    progress, task = progress_bar("recaptioning", len(todo), enabled=len(todo) > 0, transient=False)
    with progress:
        started = time.perf_counter()

        def advance(n: int) -> None:
            progress.advance(task, n)
            done = progress.tasks[0].completed
            elapsed = time.perf_counter() - started
            progress.update(task, status=f"{done / elapsed:.1f} img/s" if elapsed > 0 else "")

        try:
            summary = run_local(todo, writer, captioner, batch_size=batch_size, workers=workers, on_batch=advance)
        except OSError as exc:  # the records cannot be written (a full disk): stop, what is written is kept
            progress.stop()
            typer.echo(
                f"error: cannot write records to {target}: {exc.strerror or exc}; every record written before is kept "
                "(no partial record): free space and run the same command again to resume", err=True,
            )  # fmt: skip
            raise typer.Exit(1)
    writer.close()
    if captioner is not None and captioner.backend is not None:
        captioner.backend.close()
    summary.skipped = work.skipped
    summary.decide_seconds = decide_seconds
    if work.repeated:
        console.print(f"note: {work.repeated} source entries repeat a key listed before; each image is captioned once", highlight=False)
    _report(console, summary, target)
    raise typer.Exit(1 if (summary.failed or summary.unreachable) else 0)


def _with_backend(model: str, backend: Optional[str]) -> str:
    if not backend:
        return model
    from ..backends.registry import available_backends

    prefix, sep, rest = model.partition(":")
    if sep and prefix in available_backends():
        if prefix != backend:
            typer.echo(f"error: --backend {backend} contradicts --vlm {model}", err=True)
            raise typer.Exit(2)
        return model
    return f"{backend}:{model}"


def _report(console, summary, target=None) -> None:
    from rich.markup import escape

    styles = {"failed": "[red]failed:[/] ", "unreachable": "[red]", "note": "note: "}
    for kind, text in summary.messages(target):
        console.print(styles.get(kind, "") + escape(text), highlight=False)
