"""Tiny random diffusers pipelines end to end through `rescap restore` and `rescap.wrap`."""

import inspect
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import rescap
from rescap.adapters.diffusers_pipeline import DiffusersAdapter
from rescap.captioning.captioner import Captioner
from rescap.cli.app import app
from rescap.degradation.synthesize import add_gaussian_noise
from rescap.testing.scripted import ScriptedBackend

from .conftest import scripted_answer

KINDS = ["upscale", "img2img", "controlnet"]


def load(path):
    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(path)
    pipe.set_progress_bar_config(disable=True)
    return pipe


class Spy:
    def __init__(self, pipe):
        self.pipe, self.calls, self.tokenizer = pipe, [], pipe.tokenizer
        self.__signature__ = inspect.signature(pipe.__call__)

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return self.pipe(**kwargs)


@pytest.fixture
def folder(tmp_path, astronaut):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    # the noisy one is 96 px: a 32 px image has 16 blocks, too few to tell noise from fine texture
    # with confidence, and unobserved noise is in no prompt
    noisy = np.asarray(Image.fromarray(astronaut).resize((96, 96)))
    Image.fromarray(add_gaussian_noise(noisy, 20, seed=0)).save(root / "a.png")
    Image.fromarray(np.asarray(Image.fromarray(astronaut).resize((32, 32)))).save(root / "sub" / "b.png")
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_restore_cli_runs_each_pipeline_with_the_bundle_strings(kind, tiny_pipelines, folder, tmp_path, monkeypatch):
    spies = []
    original_load = DiffusersAdapter.load

    def spying_load(self, path, device="cpu", **options):
        pipe = original_load(self, path, device, **options)
        spies.append(Spy(pipe))
        return spies[-1]

    monkeypatch.setattr(DiffusersAdapter, "load", spying_load)
    out = tmp_path / "out"
    args = ["restore", str(folder), "-o", str(out), "--restorer", "diffusers", "--restorer-model", tiny_pipelines[kind],
            "--no-vlm", "--steps", "2", "--seed", "3", "--prompt", "a photo"]  # fmt: skip
    if kind != "upscale":
        args += ["--strength", "0.5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for name, side in (("a", 96), ("sub/b", 32)):
        image = Image.open(out / f"{name}.png")
        assert image.size == ((4 * side, 4 * side) if kind == "upscale" else (side, side))
        record = json.loads((out / f"{name}.json").read_text())
        assert record["positive_prompt"].startswith("a photo")
        assert any(call["prompt"] == record["positive_prompt"] and call["negative_prompt"] == record["negative_prompt"] for call in spies[0].calls)
    noisy = json.loads((out / "a.json").read_text())
    assert "noise" in noisy["negative_prompt"] and noisy["restoration_prompt"].startswith("denoise")
    assert all(call["num_inference_steps"] == 2 for call in spies[0].calls)
    if kind == "controlnet":
        assert all(call["control_image"] is call["image"] for call in spies[0].calls)

    again = CliRunner().invoke(app, args)  # existing outputs are skipped ...
    assert "0 restored, 2 skipped" in again.output
    redo = CliRunner().invoke(app, args + ["--overwrite"])  # ... unless --overwrite
    assert "2 restored, 0 skipped" in redo.output


def test_restore_with_sidecar_captions_and_a_bad_file(tiny_pipelines, folder, tmp_path):
    captions = tmp_path / "captions"
    (captions / "sub").mkdir(parents=True)
    (captions / "a.txt").write_text("A portrait of an astronaut.\n")
    (folder / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["restore", str(folder), "-o", str(out), "--restorer", "diffusers", "--restorer-model",
                                      tiny_pipelines["img2img"], "--captions", str(captions), "--steps", "2", "--strength", "0.5"])  # fmt: skip
    assert result.exit_code == 1  # broken.png and the missing sub/b.txt caption
    assert json.loads((out / "a.json").read_text())["positive_prompt"] == "A portrait of an astronaut."
    assert (out / "a.png").exists() and not (out / "sub" / "b.png").exists()
    assert "no caption file" in json.loads((out / "sub" / "b.json").read_text())["error"]
    assert "error" in json.loads((out / "broken.json").read_text())


def test_restore_writes_prompt_files_when_the_restorer_cannot_run(folder, tmp_path):
    out = tmp_path / "prompts"
    result = CliRunner().invoke(app, ["restore", str(folder), "-o", str(out), "--restorer", "hypir", "--no-vlm"])
    assert result.exit_code == 0, result.output
    assert (out / "a.txt").exists() and (out / "sub" / "b.txt").exists()  # HYPIR's --txt_dir layout
    assert json.loads((out / "sub" / "b.json").read_text())["prompt_files"] == [str(out / "sub" / "b.txt")]


@pytest.mark.parametrize("kind", KINDS)
def test_wrap_gives_each_call_the_bundle_strings(kind, tiny_pipelines, astronaut):
    spy = Spy(load(tiny_pipelines[kind]))
    hooked = []

    def hook(bundle):
        hooked.append(bundle)
        return bundle.model_copy(update={"caption": bundle.caption + " At dusk."})

    wrapped = rescap.wrap(spy, captioner=ScriptedBackend(scripted_answer), relevance=None, hook=hook)
    image = Image.fromarray(add_gaussian_noise(np.asarray(Image.fromarray(astronaut).resize((96, 96))), 20, seed=0))
    extra = {} if kind == "upscale" else {"strength": 0.5}
    if kind == "controlnet":
        extra["control_image"] = image
    out = wrapped(image=image, prompt="a vintage car", negative_prompt="cartoon", num_inference_steps=2, **extra)
    assert out.images[0].size == ((384, 384) if kind == "upscale" else (96, 96))
    sent = spy.calls[-1]
    assert sent["prompt"] == "a vintage car, A red car parked on a wet street. At dusk."  # merged, filtered, hooked
    assert sent["negative_prompt"].startswith("cartoon, ") and "noise" in sent["negative_prompt"]
    assert hooked and wrapped.last_bundles[0].caption.endswith("At dusk.")
    assert wrapped.tokenizer is spy.tokenizer  # attributes fall through to the pipeline


def test_wrap_any_callable_and_batches(astronaut):
    received = []

    def restore(lq, text):
        received.append(text)
        return lq

    wrapped = rescap.wrap(restore, prompt_arg="text", negative_arg=None, image_arg="lq",
                          captioner=Captioner(ScriptedBackend(scripted_answer), relevance=None), adapter="hypir")  # fmt: skip
    image = astronaut[:64, :64]
    assert wrapped(lq=image, text=None) is image
    assert received == ["A red car parked on a wet street."]
    wrapped(lq=[image, image], text=["one", "two"])
    assert received[-1] == ["one, A red car parked on a wet street.", "two, A red car parked on a wet street."]


def test_wrap_binds_arguments_by_the_callables_signature(astronaut):
    """The image is found wherever the callable puts it, by position too, and the bundles kept in
    ``last_bundles`` carry exactly the strings the callable received."""
    received = []

    def restore(strength, lq, text=None, neg=None):
        received.append((strength, text, neg))
        return lq

    wrapped = rescap.wrap(restore, prompt_arg="text", negative_arg="neg", image_arg="lq",
                          captioner=Captioner(ScriptedBackend(scripted_answer), relevance=None), adapter="sd")  # fmt: skip
    image = astronaut[:64, :64]
    assert wrapped(0.3, image, "my old car") is image  # strength, image and prompt all by position
    strength, text, neg = received[-1]
    assert strength == 0.3 and text == "my old car, A red car parked on a wet street."
    assert wrapped.last_bundles[0].positive_prompt == text and wrapped.last_bundles[0].negative_prompt == neg
    assert wrapped.last_bundles[0].slot_prompts == {"prompt": text}

    def keywords_only(image, **options):
        received.append(options)
        return image

    loose = rescap.wrap(keywords_only, captioner=Captioner(ScriptedBackend(scripted_answer), relevance=None), adapter="sd")
    loose(image, prompt="dusk")
    assert received[-1]["prompt"] == "dusk, A red car parked on a wet street." and "negative_prompt" in received[-1]

    def no_prompt(image):
        return image

    strict = rescap.wrap(no_prompt, captioner=Captioner(ScriptedBackend(scripted_answer), relevance=None), adapter="sd")
    with pytest.raises(TypeError, match="takes no argument 'prompt'"):
        strict(image)
