"""One vocabulary: every command names a concept the same way, takes the same restorer names, and
keeps the old spellings working (hidden, with a note)."""

from __future__ import annotations

import re

import pytest
import typer.main
from PIL import Image
from typer.testing import CliRunner

from rescap.adapters import available_adapters
from rescap.cli.app import app

COMMANDS = ["caption", "recaption", "prompt", "restore", "bench"]
# concept -> the commands that take it (each with exactly these flags)
SHARED = {
    ("--vlm",): COMMANDS,
    ("--no-vlm",): COMMANDS,
    ("--base-url",): COMMANDS,
    ("--restorer",): COMMANDS,
    ("--relevance",): COMMANDS,
    ("--quality-prompt",): COMMANDS,
    ("--richness", "-r"): ["caption", "recaption", "prompt", "restore"],
    ("--batch-size", "-b"): ["caption", "recaption", "restore", "bench"],
    ("--mode",): COMMANDS,
    ("--backend-option", "-O"): COMMANDS,
    ("--api-key-env",): COMMANDS,
    ("--restorer-model",): ["prompt", "restore", "bench"],
    ("--prompt",): ["prompt", "restore"],
    ("--negative",): ["prompt", "restore"],
    ("--seed",): ["restore", "bench"],
    ("--device",): ["restore", "bench"],
}


def options_of(name: str) -> dict[str, object]:
    command = typer.main.get_command(app).commands[name]
    return {opt: param for param in command.params for opt in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize("flags, commands", list(SHARED.items()), ids=[k[0] for k in SHARED])
def test_a_concept_has_one_flag_everywhere(flags, commands):
    params = []
    for name in commands:
        opts = options_of(name)
        for flag in flags:
            assert flag in opts, f"rescap {name} lacks {flag}"
        params.append(opts[flags[0]])
    # the same declaration: same default and help everywhere it appears
    assert len({(p.default if not callable(p.default) else "f", p.help) for p in params if p.name != "restorer"}) <= 1 or flags == ("--restorer",)


@pytest.mark.parametrize("name", COMMANDS)
def test_old_spellings_are_hidden(name):
    command = typer.main.get_command(app).commands[name]
    for param in command.params:
        if "--restorer-path" in param.opts or ("--model" in param.opts and name in COMMANDS):
            assert param.hidden, (name, param.opts)


def test_an_old_spelling_still_works_with_a_note(tmp_path, astronaut):
    image = tmp_path / "x.png"
    Image.fromarray(astronaut).save(image)
    result = CliRunner().invoke(app, ["caption", str(image), "--model", "transformers:", "--no-vlm", "--json"])
    assert result.exit_code == 0, result.output
    assert "--model is now --vlm" in result.stderr
    both = CliRunner().invoke(app, ["caption", str(image), "--model", "openai:a", "--vlm", "openai:b", "--no-vlm"])
    assert both.exit_code == 2 and "disagree" in both.stderr


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_takes_the_same_restorer_names(name, tmp_path, astronaut):
    image = tmp_path / "x.png"
    Image.fromarray(astronaut).save(image)
    base = {
        "caption": ["caption", str(image), "--no-vlm"],
        "recaption": ["recaption", str(tmp_path), "-o", str(tmp_path / "r.jsonl"), "--no-vlm"],
        "prompt": ["prompt", str(image), "--no-vlm"],
        "restore": ["restore", str(image), "-o", str(tmp_path / "out"), "--no-vlm"],
        "bench": ["bench", str(image), "-o", str(tmp_path / "bench"), "--no-vlm", "--metrics", "none", "--policies", "none"],
    }[name]
    unknown = CliRunner().invoke(app, [*base, "--restorer", "nosuch"])
    assert unknown.exit_code == 2, unknown.output
    message = unknown.stderr.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("error: ")
    listed = set(re.search(r"registered: ([^)]*)", message[0]).group(1).split(", "))
    assert listed == set(available_adapters())
    for restorer in ("sd", "s3diff", "diffusers"):  # once only in some commands
        known = CliRunner().invoke(app, [*base, "--restorer", restorer])
        assert "no adapter named" not in known.output, (name, restorer, known.output)


def test_every_command_writes_records_under_the_same_field_names(tmp_path, astronaut):
    """``file`` for the image and ``positive_prompt``/``negative_prompt`` for the strings, in the
    JSON of caption, prompt, restore, recaption and bench alike (no ``path``/``positive``)."""
    import json

    folder = tmp_path / "in"
    folder.mkdir()
    image = folder / "x.png"
    Image.fromarray(astronaut).save(image)
    runner = CliRunner()
    records = {}
    out = runner.invoke(app, ["caption", str(image), "--no-vlm", "--restorer", "supir", "--json"])
    records["caption"] = json.loads(out.stdout)
    out = runner.invoke(app, ["prompt", str(image), "--no-vlm", "--restorer", "supir", "--json"])
    records["prompt"] = json.loads(out.stdout)
    assert runner.invoke(app, ["restore", str(folder), "-o", str(tmp_path / "r"), "--restorer", "hypir", "--no-vlm"]).exit_code == 0
    records["restore"] = json.loads((tmp_path / "r" / "x.json").read_text())
    assert runner.invoke(app, ["recaption", str(folder), "-o", str(tmp_path / "c.jsonl"), "--no-vlm"]).exit_code == 0
    records["recaption"] = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    bench = runner.invoke(app, ["bench", str(folder), "-o", str(tmp_path / "b"), "--restorer", "hypir", "--no-vlm",
                                "--metrics", "none", "--policies", "none"])  # fmt: skip
    assert bench.exit_code == 0, bench.output
    records["bench"] = next(r for r in json.loads((tmp_path / "b" / "results.json").read_text())["records"] if r["policy"] == "none")
    for command, record in records.items():
        assert {"file", "positive_prompt", "negative_prompt"} <= set(record), (command, sorted(record))
        assert not {"path", "positive", "negative"} & set(record), (command, sorted(record))
        assert record["file"].endswith("x.png"), (command, record["file"])
