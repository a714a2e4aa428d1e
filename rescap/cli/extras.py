"""``rescap extras``: which optional dependencies are installed (found without importing them)."""

from __future__ import annotations


def extras() -> None:
    """List rescap's optional extras, whether each is installed, and how to install it."""
    from rich.markup import escape
    from rich.table import Table

    from ..extras import EXTRAS, is_available
    from .console import stdout_console

    table = Table(header_style="bold")
    for name in ("extra", "for", "installed", "install with"):
        table.add_column(name)
    for extra in EXTRAS.values():
        missing = [m for m in extra.modules if not is_available(m)]
        status = "[green]yes[/]" if not missing else f"[red]no[/] (missing {escape(', '.join(missing))})"
        table.add_row(extra.name, escape(extra.purpose), status, escape(extra.install_hint))
    stdout_console().print(table)
