"""``rescap adapters list``: the registered restorer adapters (found without importing them)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Restorer adapters: list what is registered.", no_args_is_help=True)


@app.command("list")
def list_adapters(json_output: bool = typer.Option(False, "--json", help="One JSON object per adapter.")) -> None:
    """List the adapters registered in the ``rescap.adapters`` entry-point group.

    Use one with rescap prompt/restore --restorer NAME.
    """
    import json

    from ..adapters.registry import available_adapters

    rows = [{"name": s.name, "package": s.distribution, "target": s.target} for s in available_adapters().values()]
    if json_output:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.markup import escape
    from rich.table import Table

    from .console import stdout_console

    table = Table(header_style="bold")
    for name in ("name", "package", "class"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(escape(row["name"]), escape(row["package"]), escape(row["target"]))
    stdout_console().print(table)
