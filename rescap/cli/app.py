"""The typer application: global options and the list of commands."""

from __future__ import annotations

import typer

from .._version import __version__
from . import adapters as adapters_cmd
from . import backends as backends_cmd
from . import bench as bench_cmd
from . import caption as caption_cmd
from . import estimate as estimate_cmd
from . import extras as extras_cmd
from . import recaption as recaption_cmd
from . import restore as restore_cmd

app = typer.Typer(
    name="rescap",
    help="Better text for diffusion-based image restorers: measure degradation, caption, restore.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rescap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """rescap: better text for diffusion-based image restorers."""


app.command("estimate")(estimate_cmd.estimate)
app.command("caption")(caption_cmd.caption)
app.command("prompt")(restore_cmd.prompt)
app.command("restore")(restore_cmd.restore)
app.command("recaption")(recaption_cmd.recaption)
app.command("bench")(bench_cmd.bench)
app.command("extras")(extras_cmd.extras)
app.add_typer(backends_cmd.app, name="backends")
app.add_typer(adapters_cmd.app, name="adapters")
