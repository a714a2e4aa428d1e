"""``--help`` reads as help: plain metavars, flags without a type, examples kept one per line,
and the docstring's sentences whole after rewrapping."""

from __future__ import annotations

import inspect
import re

import pytest
from typer.testing import CliRunner

from rescap.cli.app import app

COMMANDS = ["estimate", "caption", "prompt", "restore", "recaption", "bench", "extras", "backends check", "adapters show"]


def callback_of(name: str):
    from typer.main import get_command

    command = get_command(app)
    for part in name.split():
        command = command.commands[part]
    return command.callback


@pytest.mark.parametrize("name", COMMANDS)
def test_help_reads_well(name):
    result = CliRunner().invoke(app, [*name.split(), "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not re.search(r"<(bool|str|int|float|path|list\[)", text, re.I), text
    doc = inspect.getdoc(callback_of(name)) or ""
    flat = " ".join(text.split())
    for paragraph in doc.split("\n\n"):
        if paragraph.startswith("\b"):  # kept as written: each line whole
            shown = {shown_line.strip() for shown_line in text.splitlines()}
            for line in paragraph.splitlines()[1:]:
                assert line.strip() in shown, line  # e.g. an example command, never broken mid-command
        else:
            assert " ".join(paragraph.split()) in flat, paragraph
