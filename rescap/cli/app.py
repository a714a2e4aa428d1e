"""The typer application: global options and the list of commands."""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from .._version import __version__
from . import adapters as adapters_cmd
from . import backends as backends_cmd
from . import bench as bench_cmd
from . import caption as caption_cmd
from . import estimate as estimate_cmd
from . import extras as extras_cmd
from . import recaption as recaption_cmd
from . import restore as restore_cmd
from . import serve as serve_cmd
from . import ui as ui_cmd

try:  # newer typer carries its own copy of click
    from typer._click.exceptions import ClickException as _ClickException
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import ClickException as _ClickException
_Abort = typer.Abort


class _OneLineErrors(TyperGroup):
    """Usage errors as one ``error: ...`` line naming the command's help, not a boxed panel:
    the same form as every other rescap error, and one line a script's log keeps whole."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from .quiet import quiet_dependencies

        quiet_dependencies()
        _plain_metavars(self)
        if not standalone_mode:
            from ..run_lock import release_held

            try:
                return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            finally:
                release_held()
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                exc.show()  # no arguments at all: the help itself
                sys.exit(exc.exit_code)
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else _command_path(self, args)
            message = " ".join(exc.format_message().split()).rstrip(".")
            typer.echo(f"error: {message[:1].lower() + message[1:]} (see {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except _Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        finally:
            from ..run_lock import release_held

            release_held()  # the outputs this command locked
        sys.exit(code if isinstance(code, int) else 0)


def _command_path(group, args) -> str:
    """``rescap caption`` (or ``rescap backends check``) from the arguments, for an error raised
    before click knew which command it was parsing."""
    words, path, command = list(sys.argv[1:] if args is None else args), ["rescap"], group
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


_METAVARS = {"int": "N", "float": "X", "Path": "PATH", "str": "TEXT"}


def _plain_metavars(command) -> None:
    """Help in click's plain words: ``--seed N``, ``--vlm TEXT``, flags with no type, arguments
    by name alone (the typed forms, ``<list[Path]>`` or ``<bool>``, read as code, not as help)."""
    for sub in getattr(command, "commands", {}).values():
        _plain_metavars(sub)
    for param in getattr(command, "params", []):
        if param.param_type_name == "argument":
            param.display_type_rich = lambda ctx: None  # the name (PATH...) says it
        elif not getattr(param, "is_flag", False) and param.metavar is None:
            try:
                bare = param.bare_type()
            except Exception:
                continue
            element = bare[5:-1] if bare.startswith("list[") else bare
            param.metavar = _METAVARS.get(element, element.upper())


app = typer.Typer(
    name="rescap",
    cls=_OneLineErrors,
    help="Better text for diffusion-based image restorers: measure degradation, caption, restore.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
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


# one line each in `rescap --help` (click would cut the docstrings' first lines mid-sentence)
app.command("estimate", short_help="Measure how images are degraded (noise, blur, JPEG, upsampling).")(estimate_cmd.estimate)
app.command("caption", short_help="Caption images for a restorer: caption, positive, negative and restoration prompts.")(caption_cmd.caption)
app.command("prompt", short_help="Show the exact strings a restorer receives for one image, with token counts.")(restore_cmd.prompt)
app.command("restore", short_help="Caption and restore images (or write the restorer's prompt files).")(restore_cmd.restore)
app.command("recaption", short_help="Re-caption a whole dataset, resumably, locally or on Ray.")(recaption_cmd.recaption)
app.command("bench", short_help="Compare caption policies on your restorer: outputs, metrics, report.html.")(bench_cmd.bench)
app.command("serve", short_help="Serve captions over HTTP: OpenAI-compatible, with dynamic batching.")(serve_cmd.serve)
app.command("ui", short_help="Open rescap in the browser: report, steps, caption, each restorer's strings.")(ui_cmd.ui)
app.command("extras", short_help="List the optional extras and whether each is installed.")(extras_cmd.extras)
app.add_typer(backends_cmd.app, name="backends", short_help="VLM backends: list them, or check one on a test image.")
app.add_typer(adapters_cmd.app, name="adapters", short_help="Restorer adapters: list them, or show how one takes text.")
