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


def progress_bar(label: str, total: int, *, enabled: bool = True):
    """A transient progress bar on stderr (a no-op context when disabled or not a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = stderr_console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )
    task = progress.add_task(label, total=total)
    return progress, task
