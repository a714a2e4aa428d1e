"""``rescap adapters list``: the registered restorer adapters (found without importing them)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Restorer adapters: list what is registered, show how one takes text.", no_args_is_help=True)


def load_adapter(name: str, tokenizer: str | None = None, quality_prompt: str = "fit"):
    """The adapter a command was asked for, or a one-line error and exit 2."""
    from ..adapters import get_adapter

    options = {"quality_prompt": quality_prompt, **({"tokenizer": tokenizer} if tokenizer else {})}
    try:
        return get_adapter(name, **options)
    except (KeyError, ValueError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)  # KeyError's str() adds quotes
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2)


@app.command("show")
def show_adapter(
    name: str = typer.Argument(..., help="Adapter name."),
    json_output: bool = typer.Option(False, "--json", help="The spec as one JSON object."),
) -> None:
    """How a restorer takes text: its slots, encoders and windows, quality and negative prompts, files."""
    import json

    spec = load_adapter(name).describe()
    if json_output:
        typer.echo(json.dumps(spec, ensure_ascii=False))
        return
    from rich.markup import escape

    from .console import stdout_console

    console = stdout_console()
    console.print(f"[bold]{escape(spec['name'])}[/]: {escape(spec['description'])}")
    console.print(f"upstream: {escape(spec['repository'])} @ {escape(spec['commit'])}; caption style: {spec['caption_style']}")
    for slot in spec["slots"]:
        encoders = ", ".join(f"{e['name']} ({e['tokenizer']}, {e['window']})" for e in slot["encoders"])
        console.print(f"  {escape(slot['argument'])}: {slot['usable_tokens']} usable tokens; {escape(encoders)}; counted by {escape(slot['counter'])}")
    console.print(f"quality prompt ({spec['quality_prompt_mode']}): {escape(spec['quality_prompt']) or '(none)'}")
    console.print(f"negative prompt: {escape(spec['negative_prompt']) or '(none)'}")
    console.print(f"files: {escape(spec['reads_files'])}")


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
