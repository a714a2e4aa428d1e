"""Set-up errors are one line on stderr, name the fix, and exit 2 (no traceback)."""

from __future__ import annotations

import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app


@pytest.fixture
def image(tmp_path, astronaut):
    path = tmp_path / "x.png"
    Image.fromarray(astronaut).save(path)
    return path


def one_line_error(args, *expected):
    result = CliRunner().invoke(app, [str(a) for a in args])
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_unknown_backend_prefix(image):
    one_line_error(["caption", image, "--vlm", "nosuch:foo"], "no backend named 'nosuch'", "openai", "transformers", "vllm")


def test_unknown_backend_option(image):
    pytest.importorskip("openai")
    one_line_error(["caption", image, "--vlm", "openai:x", "--base-url", "http://127.0.0.1:9/v1", "-O", "nosuch=1"],
                   "unknown option", "nosuch", "base_url")  # fmt: skip


def test_bad_quality_prompt_mode(image):
    one_line_error(["caption", image, "--no-vlm", "--quality-prompt", "bogus"], "fit, keep or drop", "'bogus'")


def test_unwritable_outputs(image, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    one_line_error(["restore", image, "-o", blocker / "out", "--restorer", "hypir", "--no-vlm"], "cannot write")
    one_line_error(["recaption", image.parent, "-o", blocker / "r.jsonl", "--no-vlm"])
    one_line_error(["bench", image, "-o", blocker / "b", "--restorer", "hypir", "--no-vlm", "--metrics", "none", "--policies", "none"])


def test_unknown_restorer_in_bench(image, tmp_path):
    one_line_error(["bench", image, "-o", tmp_path / "b", "--restorer", "supr", "--no-vlm"], "did you mean 'supir'")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["recaption", "{dir}", "-o", "{dir}/r.jsonl", "--format", "csv"], ("'--format'", "csv: use jsonl, parquet or txt")),
        (["recaption", "{dir}", "-o", "{dir}/r.jsonl", "--engine", "spark"], ("'--engine'", "spark: use local or ray")),
        (["caption", "{image}", "--vlm", "transformers:/no/such/model", "-O", "batch_size=abc"], ("batch_size=abc", "integer")),
        (["caption", "{image}", "--richness"], ("'--richness' requires an argument", "--help")),
        (["caption", "{image}", "--vlmm", "x"], ("no such option: --vlmm", "--vlm", "rescap caption --help")),
        (["recaption"], ("missing argument", "rescap recaption --help")),
        (["caption", "{image}", "--batch-size", "0"], ("--batch-size", "greater than or equal to 1")),
        (["restore", "{image}", "-o", "{dir}/o", "--restorer", "hypir", "--no-vlm", "--mode", "foo"], ("'--mode'", "foo: use chain, fused or single")),
        (["backends", "check", "nosuch:x"], ("no backend named 'nosuch'", "transformers")),
    ],
    ids=["format", "engine", "option-type", "needs-value", "no-such-option", "missing-argument", "out-of-range", "mode", "backends-check"],
)  # fmt: skip
def test_usage_errors_name_what_was_wrong(image, args, expected):
    one_line_error([a.format(dir=image.parent, image=image) for a in args], *expected)


def test_missing_model_is_one_line_with_the_fix(image, tmp_path):
    one_line_error(["caption", image, "--vlm", f"transformers:{tmp_path}/nothing"], "not found", "looked in", "--vlm transformers:/path/to/model")


def test_the_relevance_fallback_is_one_warning_line(image, tmp_path):
    """The default CLIP model missing: one ``warning:`` line naming the fix, not a Python
    UserWarning with its source line (a real run, in its own process)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("transformers")
    from rescap.testing.tiny_vlm import build_tiny_vlm

    vlm = build_tiny_vlm("idefics3", tmp_path / "vlm")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-cache"), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "rescap.cli", "caption", str(image), "--vlm", f"transformers:{vlm}", "--json"],
                         capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if "relevance scoring is off" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "--relevance off" in lines[0]
    assert "UserWarning" not in run.stderr and "warnings.warn" not in run.stderr
