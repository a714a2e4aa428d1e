"""Shared rich consoles and progress bars for the commands.

The rule: stdout carries only the data a user asked for (JSON lines, or a table), byte-exact and
never wrapped when it is not a terminal; progress, notes and warnings go to stderr. So the progress
bar never redirects stdout (rich's default would send the data to stderr), and it stays off while
data streams to a stdout that is the same terminal (the lines themselves show the progress).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def stderr_console():
    """Notes and progress on stderr: wrapped to a terminal, one line per message in a log file."""
    import sys

    from rich.console import Console

    terminal = sys.stderr.isatty()
    return Console(stderr=True, width=None if terminal else 100_000, soft_wrap=not terminal)


@lru_cache(maxsize=1)
def stdout_console():
    """Tables for stdout: as wide as the terminal, or unbounded (no wrapped paths) in a file or pipe."""
    import sys

    from rich.console import Console

    terminal = sys.stdout.isatty()
    return Console(width=None if terminal else 100_000, soft_wrap=not terminal)


def ensure_output_folder(folder) -> None:
    """Create an output folder, or a one-line error and exit 2 when it cannot be."""
    import typer

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker is not None else (exc.strerror or str(exc))
        typer.echo(f"error: cannot write to {folder}: {reason}", err=True)
        raise typer.Exit(2)


def streams_to_terminal() -> bool:
    """Whether data written to stdout lands on a terminal (then a live bar would tear it)."""
    import sys

    return sys.stdout.isatty()


def progress_bar(label: str, total: int | None, *, enabled: bool = True, transient: bool = True):
    """A progress bar on stderr (a no-op when disabled or not a terminal) with elapsed time, ETA and
    a ``status`` text field (``progress.update(task, status=...)``); returns (progress, task)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = stderr_console()
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), TextColumn("{task.fields[status]}"), console=console, transient=transient,
        disable=not (enabled and console.is_terminal), redirect_stdout=False, redirect_stderr=False,
    )  # fmt: skip
    task = progress.add_task(label, total=total, status="")
    return progress, task


def lock_output(output, is_file: bool = False) -> None:
    """Hold the output for this command, or a one-line error and exit 2 when another run holds it."""
    import typer

    from ..run_lock import OutputLocked, hold, lock_for

    try:
        hold(lock_for(output, is_file))
    except OutputLocked as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def report_retries(backend) -> None:
    """One line when the captioning server needed retries (server errors, rate limits, dropped connections)."""
    from ..backends.base import retried_note

    text = retried_note(getattr(backend, "retries", 0) if backend is not None else 0)
    if text:
        stderr_console().print(f"note: {text}", highlight=False)
