"""README command 1 on a machine without the default model: degradation-only prompts, exit 0.

The default VLM may be missing (offline, weights never downloaded): ``rescap caption`` says so in
one prominent line and still prints the degradation, negative and restoration prompts, each record
``captioned: false`` with the reason. A model the user names stays an error, and the batch
commands stop before any work.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app

DEFAULT_REPO = "HuggingFaceTB/SmolVLM-500M-Instruct"  # README's table of default models


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))


@pytest.fixture
def folder(tmp_path, astronaut):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(astronaut).save(images / "a.png")
    Image.fromarray(astronaut[::2, ::2]).save(images / "b.jpg", quality=30)
    return images


def test_caption_without_the_default_model_still_prints_the_prompts(offline, folder):
    result = CliRunner().invoke(app, ["caption", str(folder), "--restorer", "supir", "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 2
    for record in records:
        assert record["captioned"] is False and DEFAULT_REPO in record["uncaptioned_reason"]
        assert record["caption"] == "" and record["negative_prompt"] and record["restoration_prompt"]
        assert record["degradation"]["overall_severity"] >= 0
    jpeg = next(r for r in records if r["file"].endswith("b.jpg"))
    assert "quality 30" in jpeg["restoration_prompt"]  # the degradation is still measured and stated
    notes = [line for line in result.stderr.splitlines() if DEFAULT_REPO in line]
    assert len(notes) == 1 and "--vlm transformers:/path/to/model" in notes[0] and "looked in" in notes[0]


def test_the_human_output_says_there_is_no_caption(offline, folder):
    result = CliRunner().invoke(app, ["caption", str(folder / "b.jpg"), "--restorer", "supir"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "caption: (none: the default captioning model is not available" in out
    restoration = [line for line in out.splitlines() if line.startswith("  restoration: ")]
    assert "negative (" in out and len(restoration) == 1 and "remove JPEG artifacts at quality 30" in restoration[0]


def test_a_named_model_that_is_missing_is_an_error(offline, folder):
    result = CliRunner().invoke(app, ["caption", str(folder), "--vlm", "transformers:", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().startswith("error: model " + DEFAULT_REPO)


@pytest.mark.parametrize(
    "args",
    [
        ["recaption", "{folder}", "-o", "{out}/r.jsonl"],
        ["restore", "{folder}", "-o", "{out}", "--restorer", "hypir"],
        ["bench", "{folder}", "-o", "{out}", "--restorer", "hypir", "--metrics", "none"],
    ],
    ids=["recaption", "restore", "bench"],
)  # fmt: skip
def test_batch_commands_never_fall_back(offline, folder, tmp_path, args):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [a.format(folder=folder, out=out) for a in args])
    assert result.exit_code == 2, result.output
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")][0].startswith("error: model " + DEFAULT_REPO)
    written = [p for p in out.rglob("*") if p.is_file() and p.stat().st_size > 0] if out.exists() else []
    assert not [p for p in written if p.suffix in (".txt", ".png", ".jsonl") and p.name != "bench.json"], written
