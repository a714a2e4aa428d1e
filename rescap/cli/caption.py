"""``rescap caption``: degradation-aware, budgeted captions and prompts for a restorer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import options
from .options import parse_backend_options


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
    api_key_env: Optional[str] = options.API_KEY_ENV,
    tiles: Optional[str] = options.TILES,
) -> None:
    """Caption images for a restorer: degradation, chain of thought on a VLM, richness and relevance control.

    Each image gets a caption fitted to the restorer's text budget, a positive prompt (caption +
    the restorer's quality prompt, joined its way), a degradation-aware negative prompt and a
    restoration prompt with numbers. Failed images get an error record; the rest go on (exit 1).

    Examples:

    \b
        rescap caption photo.jpg --restorer supir
        rescap caption photos/ --vlm transformers:/models/smolvlm --richness long --json > prompts.jsonl
        rescap caption photo.png --no-vlm --restorer spire --json
        rescap caption big.png --restorer supir --tiles 512:256 --json   # plus one caption per tile
    """
    from ..control.richness import RichnessPolicy, parse_richness
    from ..files import NoImageFiles, iter_image_files
    from .adapters import load_adapter
    from .console import progress_bar, report_retries, stderr_console, streams_to_terminal

    adapter = load_adapter(restorer, tokenizer, quality_prompt)
    default_vlm = vlm is None and model is None  # only the default model may be missing: then no caption, exit 0
    model = options.vlm_of(vlm, model)
    try:
        policy = RichnessPolicy(mode=parse_richness(richness))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    from ..captioning.tiles import TileSpec

    try:
        tile_spec = TileSpec.parse(tiles) if tiles else None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    files = list(iter_image_files(paths))
    if not files:
        typer.echo(f"error: {NoImageFiles(paths)}", err=True)
        raise typer.Exit(1)

    captioner = _make_captioner(
        no_vlm, model, base_url, policy, adapter, relevance, mode, prompts_dir, embeddings, max_image_pixels,
        parse_backend_options(backend_option, api_key_env), default_may_be_missing=default_vlm,
    )  # fmt: skip
    failed = 0
    rows = []
    progress, task = progress_bar("captioning", len(files), enabled=len(files) > 3 and not (json_output and streams_to_terminal()))
    with progress:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            if tile_spec is None:
                results = captioner.caption_batch([str(f) for f in chunk])
            else:
                results = captioner.caption_tiles([str(f) for f in chunk], tile_spec)
            for path, result in zip(chunk, results):
                failed += int(not (hasattr(result, "caption") or hasattr(result, "tiles")))
                if json_output:
                    _write_json(str(path), result, embeddings)
                else:
                    rows.append((str(path), result))
            progress.advance(task, len(chunk))
    if not json_output:
        _print_table(rows)
    if captioner.backend is not None:
        report_retries(captioner.backend)
        captioner.backend.close()
    if failed:
        stderr_console().print(f"{failed} of {len(files)} images failed")
        raise typer.Exit(1)


def _make_captioner(
    no_vlm, model, base_url, policy, adapter, relevance, mode, prompts_dir=None, embeddings=False, max_image_pixels=448 * 448,
    backend_options=None, default_may_be_missing=False,
):  # fmt: skip
    """A Captioner for the restorer's adapter, or a one-line error and exit 2.

    ``default_may_be_missing`` (``rescap caption`` without ``--vlm``): when the default model is
    not on this machine and cannot be downloaded, say so in one prominent line and go on without
    a VLM (every bundle ``captioned: false`` with the reason). A model the user named that is
    missing stays an error, and so does any model of a batch command: those stop before any work.
    """
    from ..backends import BackendError, ModelNotFoundError, create_backend
    from ..captioning.captioner import Captioner
    from ..captioning.templates import TemplateError
    from ..errors import one_line
    from ..extras import MissingExtraError

    try:
        backend, missing = None, None
        if not no_vlm:
            options = {"max_image_pixels": max_image_pixels, **(backend_options or {})}
            if base_url:
                options["base_url"] = base_url
            try:
                backend = create_backend(model, **options)
            except (ModelNotFoundError, MissingExtraError) as exc:
                if not default_may_be_missing:
                    raise
                missing = exc
        relevance_spec = None if relevance.lower() in ("off", "none", "no") else relevance
        captioner = Captioner(
            backend, restorer=adapter, policy=policy, relevance=relevance_spec, mode=mode, prompts_dir=prompts_dir, embeddings=embeddings, max_image_pixels=max_image_pixels,
        )  # fmt: skip
    except (BackendError, MissingExtraError, TemplateError, FileNotFoundError, ValueError, KeyError) as exc:
        typer.echo(f"error: {one_line(exc)}", err=True)
        raise typer.Exit(2)
    if missing is not None:
        from rich.markup import escape

        from .console import stderr_console

        captioner.uncaptioned_reason = f"the default captioning model is not available: {str(missing).split('; looked in')[0]}"
        stderr_console().print(
            f"[bold yellow]no captions: the default captioning model is not available[/] - {escape(str(missing))}. "
            "Going on with degradation-only prompts (negative and restoration prompts; records say captioned: false).",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    return captioner


def _write_json(file: str, result, embeddings: bool) -> None:
    if hasattr(result, "tiles"):  # the whole image's bundle, then its tiles in the restorer's order
        exclude = None if embeddings else {"image_embedding"}
        record = {"file": file, **result.bundle.model_dump(mode="json", exclude=exclude),
                  "tiles": {**result.model_dump(mode="json", exclude={"bundle", "image"}), "supir_captions": result.supir_captions()}}  # fmt: skip
    elif hasattr(result, "caption"):
        record = {"file": file, **result.model_dump(mode="json", exclude=None if embeddings else {"image_embedding"})}
    else:
        record = {"file": file, "error": result.error, "stage": result.stage}
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _print_table(rows) -> None:
    """Per image: the degradation measured, then every string the restorer gets, each with its count.

    Blocks rather than a table: the prompts are long (SUPIR's negative alone is ~60 words) and a
    table of them wraps into narrow columns that cannot be copied.
    """
    from rich.markup import escape

    from .console import stdout_console
    from .degradation_view import one_line as degradation_line

    console = stdout_console()
    for n, (file, r) in enumerate(rows):
        if n:
            console.print()
        tiled = r if hasattr(r, "tiles") else None
        r = tiled.bundle if tiled is not None else r
        if not hasattr(r, "caption"):
            console.print(f"[bold]{escape(file)}[/]\n  [red]error ({escape(r.stage)}):[/] {escape(r.error)}", highlight=False)
            continue
        d, counts = r.degradation, r.token_counts
        console.print(f"[bold]{escape(file)}[/]  {escape(degradation_line(d))}", highlight=False)
        if r.captioned:
            target = f" of {r.richness.target_tokens} targeted" if r.richness else ""
            console.print(f"  [bold]caption[/] ({counts.caption} tokens{target}): {escape(r.caption) or '[dim](empty)[/]'}", highlight=False)
        else:
            console.print(f"  [bold]caption[/]: [dim](none: {escape(r.uncaptioned_reason or '')})[/]", highlight=False)
        slots = counts.slots or []
        for slot in slots:
            label = "positive" if slot is slots[0] else slot.argument
            console.print(f"  [bold]{escape(label)}[/] ({slot.tokens}/{slot.usable} tokens): {escape(r.slot_prompts.get(slot.argument, r.positive_prompt))}", highlight=False)
        if not slots:
            console.print(f"  [bold]positive[/] ({counts.positive} tokens): {escape(r.positive_prompt)}", highlight=False)
        console.print(f"  [bold]negative[/] ({counts.negative} tokens): {escape(r.negative_prompt)}", highlight=False)
        console.print(f"  [bold]restoration[/]: {escape(r.restoration_prompt)}", highlight=False)
        if tiled is not None:
            console.print(f"  [bold]tiles[/] {tiled.tile_size}:{tiled.tile_stride} px over {tiled.width}x{tiled.height}, {len(tiled.tiles)} in the restorer's order:", highlight=False)
            for t in tiled.tiles:
                b = t.box
                where = f"tile {b.index} (row {b.row}, col {b.column}; x {b.left}-{b.right}, y {b.top}-{b.bottom}{', flat' if t.flat else ''})"
                text = f"[red]error: {escape(t.error)}[/]" if t.error else f"({t.caption_tokens} tokens) {escape(t.caption) or '[dim](empty)[/]'}"
                console.print(f"    {where}: {text}", highlight=False)
