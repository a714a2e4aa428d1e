"""Shared rich consoles and progress bars for the commands."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@lru_cache(maxsize=1)
def stdout_console():
    from rich.console import Console

    return Console()


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
        disable=not (enabled and console.is_terminal),
    )  # fmt: skip
    task = progress.add_task(label, total=total, status="")
    return progress, task
