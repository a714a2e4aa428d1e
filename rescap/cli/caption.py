"""``rescap caption``: degradation-aware, budgeted captions and prompts for a restorer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import options


def caption(
    paths: List[Path] = typer.Argument(..., help="Images or folders (walked recursively).", show_default=False, metavar="PATH"),
    vlm: Optional[str] = options.VLM,
    model: Optional[str] = options.VLM_OLD,
    base_url: Optional[str] = options.BASE_URL,
    richness: str = options.RICHNESS,
    restorer: str = options.RESTORER_OR_SD,
    quality_prompt: str = options.QUALITY_PROMPT,
    json_output: bool = options.JSON_OUTPUT,
    no_vlm: bool = options.NO_VLM,
    mode: str = options.MODE,
    batch_size: int = options.BATCH_SIZE,
    relevance: str = options.RELEVANCE,
    tokenizer: Optional[str] = options.TOKENIZER,
    prompts_dir: Optional[str] = typer.Option(None, "--prompts", help="Folder of prompt templates overriding the built-in ones."),
    embeddings: bool = typer.Option(False, "--embeddings", help="Add the CLIP image embedding to each bundle."),
    max_image_pixels: int = typer.Option(448 * 448, "--max-image-pixels", min=1024, help="Pixel budget of images sent to the VLM."),
    backend_option: Optional[List[str]] = options.BACKEND_OPTION,
) -> None:
    """Caption images for a restorer: degradation, chain of thought on a VLM, richness and relevance control.

    Each image gets a caption fitted to the restorer's text budget, a positive prompt (caption +
    the restorer's quality prompt, joined its way), a degradation-aware negative prompt and a
    restoration prompt with numbers. Failed images get an error record; the rest go on (exit 1).

    Examples:

        rescap caption photo.jpg --restorer supir

        rescap caption photos/ --vlm transformers:/models/smolvlm --richness long --json > prompts.jsonl

        rescap caption photo.png --no-vlm --restorer spire --json
    """
    from ..control.richness import RichnessPolicy, parse_richness
    from ..files import iter_image_files
    from .adapters import load_adapter
    from .console import progress_bar, stderr_console, streams_to_terminal

    adapter = load_adapter(restorer, tokenizer, quality_prompt)
    model = options.vlm_of(vlm, model)
    try:
        policy = RichnessPolicy(mode=parse_richness(richness))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if mode not in ("fused", "chain", "single"):
        typer.echo("error: --mode must be fused, chain or single", err=True)
        raise typer.Exit(2)
    files = list(iter_image_files(paths))
    if not files:
        typer.echo("no image files found", err=True)
        raise typer.Exit(1)

    captioner = _make_captioner(
        no_vlm, model, base_url, policy, adapter, relevance, mode, prompts_dir, embeddings, max_image_pixels,
        parse_backend_options(backend_option),
    )  # fmt: skip
    failed = 0
    rows = []
    progress, task = progress_bar("captioning", len(files), enabled=len(files) > 3 and not (json_output and streams_to_terminal()))
    with progress:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            results = captioner.caption_batch([str(f) for f in chunk])
            for path, result in zip(chunk, results):
                failed += int(not hasattr(result, "caption"))
                if json_output:
                    _write_json(str(path), result, embeddings)
                else:
                    rows.append((str(path), result))
            progress.advance(task, len(chunk))
    if not json_output:
        _print_table(rows)
    if captioner.backend is not None:
        captioner.backend.close()
    if failed:
        stderr_console().print(f"{failed} of {len(files)} images failed")
        raise typer.Exit(1)


def parse_backend_options(pairs: Optional[List[str]]) -> dict:
    """``KEY=VALUE`` pairs for the backend (values read as JSON when they parse: 0.3, true, 2048)."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--backend-option")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _make_captioner(no_vlm, model, base_url, policy, adapter, relevance, mode, prompts_dir=None, embeddings=False, max_image_pixels=448 * 448, backend_options=None):
    """A Captioner for the restorer's adapter, or a one-line error and exit 2."""
    from ..backends import BackendError, create_backend
    from ..captioning.captioner import Captioner
    from ..captioning.templates import TemplateError
    from ..extras import MissingExtraError

    try:
        backend = None
        if not no_vlm:
            options = {"max_image_pixels": max_image_pixels, **(backend_options or {})}
            if base_url:
                options["base_url"] = base_url
            backend = create_backend(model, **options)
        relevance_spec = None if relevance.lower() in ("off", "none", "no") else relevance
        return Captioner(
            backend, restorer=adapter, policy=policy, relevance=relevance_spec, mode=mode, prompts_dir=prompts_dir, embeddings=embeddings, max_image_pixels=max_image_pixels,
        )  # fmt: skip
    except (BackendError, MissingExtraError, TemplateError, FileNotFoundError, ValueError, KeyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def _write_json(file: str, result, embeddings: bool) -> None:
    if hasattr(result, "caption"):
        record = {"file": file, **result.model_dump(mode="json", exclude=None if embeddings else {"image_embedding"})}
    else:
        record = {"file": file, "error": result.error, "stage": result.stage}
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _print_table(rows) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .console import stdout_console

    table = Table(header_style="bold", show_lines=True)
    table.add_column("file", overflow="fold", min_width=12)
    table.add_column("caption", overflow="fold", ratio=3)
    table.add_column("tokens", justify="right")
    table.add_column("restoration prompt", overflow="fold", ratio=2)
    for file, r in rows:
        if not hasattr(r, "caption"):
            table.add_row(escape(file), f"[red]error ({escape(r.stage)}): {escape(r.error)}[/]", "", "")
            continue
        counts = r.token_counts
        tokens = f"{counts.caption}" + (f"/{r.richness.target_tokens}" if r.richness else "")
        table.add_row(escape(file), escape(r.caption) or "[dim](none)[/]", tokens, escape(r.restoration_prompt))
    stdout_console().print(table)
