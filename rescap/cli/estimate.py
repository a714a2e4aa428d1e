"""``rescap estimate``: measure noise, blur, JPEG quality, upsampling, exposure, haze and colour cast of images."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List

import typer

from ..errors import error_text
from ..limits import DEFAULT_MAX_ANALYSIS_PIXELS, DEFAULT_MAX_IMAGE_PIXELS

_LEVEL_STYLE = {"none": "green", "mild": "yellow", "moderate": "dark_orange", "severe": "red"}


def estimate(
    paths: List[Path] = typer.Argument(
        ..., help="Image files or directories (walked recursively).", show_default=False, metavar="PATH"
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print one JSON object per line per file instead of a table."
    ),
    max_image_pixels: int = typer.Option(
        DEFAULT_MAX_IMAGE_PIXELS, min=1, help="Refuse images declaring more pixels than this (decompression bombs)."
    ),
    max_analysis_pixels: int = typer.Option(
        DEFAULT_MAX_ANALYSIS_PIXELS, min=4096, help="Analyse larger images on a centred crop of this many pixels."
    ),
) -> None:
    """Measure how images are degraded, from their pixels alone (no model weights).

    Reports noise sigma (0-255 scale) with its level function, Gaussian blur sigma (pixels), JPEG
    quality (1-100, or null when there is no sign of JPEG), upsampling factor, exposure gain, haze
    transmission and colour cast, each with a confidence, a severity in [0, 1] and a level, plus an
    overall severity. A value the image cannot support (blur on fog or sky) has confidence below
    0.5, is marked "?" and counts as none. Files that cannot be read get an error record; the others
    go on, and the exit status is 1 if any failed.

    Examples:

    \b
        rescap estimate photo.jpg
        rescap estimate photos/ --json > degradation.jsonl
    """
    from ..degradation import estimate_degradation
    from ..files import NoImageFiles, iter_image_files
    from .console import progress_bar, streams_to_terminal

    files = list(iter_image_files(paths))
    if not files:
        typer.echo(f"error: {NoImageFiles(paths)}", err=True)
        raise typer.Exit(1)

    failed = 0
    rows: list[tuple[str, object]] = []
    progress, task = progress_bar("estimating", len(files), enabled=len(files) > 3 and not (json_output and streams_to_terminal()))
    with progress:
        for path in files:
            try:
                result: object = estimate_degradation(
                    path, max_image_pixels=max_image_pixels, max_analysis_pixels=max_analysis_pixels
                )
            except Exception as exc:  # one bad file must not stop the batch
                failed += 1
                result = exc
            if json_output:
                _write_json_line(str(path), result)
            else:
                rows.append((str(path), result))
            progress.advance(task)
    if not json_output:
        _print_table(rows)
    if failed:
        raise typer.Exit(1)


def _write_json_line(file: str, result: object) -> None:
    if isinstance(result, BaseException):
        record = {"file": file, "error": error_text(result)}
    else:
        record = {"file": file, **result.model_dump(mode="json")}  # type: ignore[attr-defined]
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


NARROW = 110  # terminal columns below which the table becomes one line per file


def _print_table(rows: list[tuple[str, object]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .console import stdout_console
    from .degradation_view import COLUMNS, UNCERTAIN_NOTE, one_line, readings

    console = stdout_console()
    any_uncertain = any(not isinstance(r, BaseException) and r.uncertain() for _, r in rows)  # type: ignore[attr-defined]
    if console.width < NARROW:  # too narrow for nine columns: one line per file
        for file, r in rows:
            text = f"error: {error_text(r)}" if isinstance(r, BaseException) else one_line(r)
            console.print(f"[bold]{escape(file)}[/]\n  {escape(text)}", highlight=False)
        if any_uncertain:
            console.print(UNCERTAIN_NOTE, highlight=False)
        return

    table = Table(header_style="bold", show_lines=True)
    table.add_column("file", overflow="fold", min_width=12)
    for name in COLUMNS:
        table.add_column(name, justify="right")

    def cell(value: str, level: str, uncertain: bool) -> str:
        style = "dim" if uncertain else _LEVEL_STYLE[level]
        return f"{escape(value)}\n[{style}]{level}[/]"

    for file, r in rows:
        file = escape(file)
        if isinstance(r, BaseException):
            table.add_row(file, f"[red]error: {escape(error_text(r))}[/]", *[""] * (len(COLUMNS) - 1))
            continue
        table.add_row(file, *(cell(x.text(), x.level, x.uncertain) for x in readings(r)))
    console.print(table)
    if any_uncertain:
        console.print(UNCERTAIN_NOTE, highlight=False)
