"""Commands say what happened: no silent fallback, no silent mixing of runs, no success on nothing.

(Issue findings: a bad --restorer-model fell back to prompt files with exit 0; restore kept outputs
made with another seed; recaption on an empty folder reported success; bench loaded its models
before refusing a mismatched rerun or a plain policy without a VLM; --richness N was exceeded.)
"""

from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app
from rescap.testing.caption_corpus import CAPTIONS
from rescap.testing.scripted import ScriptedBackend


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def images(tmp_path, photos):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        Image.fromarray(photos[name][:64, :64]).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    pytest.importorskip("diffusers")
    from rescap.testing.tiny_diffusers import build_tiny_pipeline

    return str(build_tiny_pipeline("img2img", tmp_path_factory.mktemp("pipe") / "img2img"))


@pytest.mark.parametrize("restorer", ["supir", "hypir"])
def test_a_restorer_model_that_cannot_run_is_an_error(images, tmp_path, restorer):
    not_a_checkout = tmp_path / "not-a-checkout"
    not_a_checkout.mkdir()
    result = run("restore", images, "-o", tmp_path / "out", "--restorer", restorer, "--restorer-model", not_a_checkout, "--no-vlm")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(not_a_checkout) in errors[0]
    assert not list((tmp_path / "out").rglob("*.txt")), "no prompt files: the run did not fall back"


def test_without_a_restorer_model_prompt_files_are_the_documented_fallback(images, tmp_path):
    result = run("restore", images, "-o", tmp_path / "out", "--restorer", "hypir", "--no-vlm")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.txt")) == ["astronaut.txt", "coffee.txt"]


def test_restore_refuses_outputs_made_with_other_settings(images, tmp_path, pipeline):
    out = tmp_path / "out"
    base = ["restore", images, "-o", out, "--restorer", "diffusers", "--restorer-model", pipeline, "--no-vlm", "--steps", "2"]
    first = run(*base, "--seed", "1")
    assert first.exit_code == 0, first.output
    made = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert len(made) == 2
    again = run(*base, "--seed", "1")
    assert again.exit_code == 0 and "2 skipped" in again.stderr
    other = run(*base, "--seed", "2")
    assert other.exit_code == 2
    assert "seed: 1 -> 2" in other.stderr and "--overwrite" in other.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == made  # nothing touched
    redo = run(*base, "--seed", "2", "--overwrite")
    assert redo.exit_code == 0 and "2 restored" in redo.stderr
    assert json.loads((out / ".rescap-run.json").read_text())["seed"] == 2


def test_recaption_with_no_images_is_a_failure(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    result = run("recaption", empty, "-o", tmp_path / "r.jsonl", "--no-vlm")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: no image files found in {empty}"


@pytest.mark.parametrize("command", [["estimate"], ["caption", "--no-vlm"], ["restore", "-o", "{out}", "--restorer", "hypir", "--no-vlm"]])
def test_every_command_says_no_image_files_the_same_way(tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.format(out=tmp_path / "out") for a in command]
    result = run(args[0], empty, *args[1:])
    assert result.exit_code == 1 and result.stderr.strip() == f"error: no image files found in {empty}"


def test_bench_refuses_plain_without_a_vlm_before_loading_the_restorer(images, tmp_path, monkeypatch):
    from rescap.adapters.diffusers_pipeline import DiffusersAdapter

    monkeypatch.setattr(DiffusersAdapter, "load", lambda *a, **k: pytest.fail("the restorer was loaded"))
    result = run("bench", images, "-o", tmp_path / "b", "--restorer", "diffusers", "--restorer-model", "x", "--no-vlm",
                 "--policies", "none,plain", "--metrics", "none")  # fmt: skip
    assert result.exit_code == 2 and "plain policy needs a captioning model" in result.stderr


def test_bench_rerun_refused_or_finished_without_loading_any_model(images, tmp_path, pipeline, monkeypatch):
    out = tmp_path / "b"
    base = ["bench", images, "--gt", images, "-o", out, "--restorer", "diffusers", "--restorer-model", pipeline, "--no-vlm",
            "--steps", "2", "--metrics", "psnr", "--policies", "none,rescap-short"]  # fmt: skip
    first = run(*base)
    assert first.exit_code == 0, first.output
    results = json.loads((out / "results.json").read_text())

    from rescap.adapters.diffusers_pipeline import DiffusersAdapter
    from rescap.bench.metrics import MetricSet

    monkeypatch.setattr(DiffusersAdapter, "load", lambda *a, **k: pytest.fail("the restorer was loaded"))
    monkeypatch.setattr(MetricSet, "load", classmethod(lambda *a, **k: pytest.fail("a metric was loaded")))
    refused = run(*base[:-4], "--seed", "5", *base[-4:])
    assert refused.exit_code == 2 and "seed: 0 -> 5" in refused.stderr
    again = run(*base)
    assert again.exit_code == 0, again.output
    assert "0 restored, 4 done before" in again.stderr
    rerun = json.loads((out / "results.json").read_text())
    assert [r["metrics"] for r in rerun["records"]] == [r["metrics"] for r in results["records"]]
    assert rerun["summary"].keys() == results["summary"].keys()


def test_a_number_of_tokens_is_a_cap(astronaut):
    from rescap.captioning.captioner import Captioner

    long_answer = max(CAPTIONS[:12], key=len)  # an English VLM answer far over 8 tokens

    def answer(prompt, step):
        if step == "degradation":
            return json.dumps({"assessment": "-", "noise": "none", "blur": "none", "compression": "none", "resolution": "none", "other": []})
        if step == "content":
            return json.dumps({"scene": "-", "subjects": [{"name": "a dog", "area": "large", "category": "benefits_from_detail"}]})
        return json.dumps({"caption": long_answer})

    try:  # the reference tokenizer where it is installed (the open_clip-less CI stage uses rescap's)
        from open_clip.tokenizer import SimpleTokenizer

        reference = SimpleTokenizer()

        def count(text):
            return len(reference.encode(text))
    except ImportError:
        from rescap.adapters.registry import get_adapter

        count = get_adapter("sd").counter.count
    for cap in (8, 13, 20):
        bundle = Captioner(ScriptedBackend(answer), restorer="sd", policy={"mode": cap}, relevance=None).caption(astronaut)
        assert 0 < count(bundle.caption) <= cap, (cap, bundle.caption)
        assert bundle.richness.target_tokens == cap
