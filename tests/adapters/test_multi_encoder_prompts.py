"""Multi-encoder diffusers pipelines (SDXL, SD3, FLUX): each text argument gets text fitted to its own
encoder's window, the T5 slot a richer caption than the CLIP slot, and the pipeline receives them
under their own argument names. Tiny random pipelines of the real classes, loaded the way a user's
pipeline is."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

pytest.importorskip("diffusers")

from rescap.adapters import get_adapter
from rescap.captioning.captioner import Captioner
from rescap.cli.app import app
from rescap.control.richness import RichnessPolicy
from rescap.testing.caption_corpus import CAPTIONS
from rescap.testing.tiny_diffusers import build_tiny_flux_img2img, build_tiny_sd3_img2img, build_tiny_sdxl_img2img

from ..captioning.test_realistic_text import check_caption, corpus_backend

# (argument, tokenizer attribute, usable tokens) as diffusers 0.42 routes them: CLIP 77 less start/end,
# T5 up to max_sequence_length less the end token (SD3 256, FLUX 512)
EXPECTED = {
    "sdxl": [("prompt", "tokenizer", 75), ("prompt_2", "tokenizer_2", 75)],
    "sd3": [("prompt", "tokenizer", 75), ("prompt_2", "tokenizer_2", 75), ("prompt_3", "tokenizer_3", 255)],
    "flux": [("prompt", "tokenizer", 75), ("prompt_2", "tokenizer_2", 511)],
}
BUILDERS = {"sdxl": build_tiny_sdxl_img2img, "sd3": build_tiny_sd3_img2img, "flux": build_tiny_flux_img2img}
LONG = " ".join(CAPTIONS[:12])  # a VLM that ignored its length: ~400 words


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi-encoder")
    return {name: build(root / name) for name, build in BUILDERS.items()}


@pytest.fixture(scope="module")
def loaded(pipelines):
    out = {}
    for name, folder in pipelines.items():
        adapter = get_adapter("diffusers")
        out[name] = (adapter, adapter.load(str(folder)))
    return out


def own_count(pipe, attribute: str, text: str) -> int:
    """Tokens by the pipeline's own tokenizer, without special tokens (the test's own route)."""
    tokenizer = getattr(pipe, attribute)
    return len(tokenizer(text, add_special_tokens=True)["input_ids"]) - len(tokenizer("")["input_ids"])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_slots_are_read_from_the_pipeline(loaded, name):
    adapter, pipe = loaded[name]
    assert [(s.argument, s.usable) for s in adapter.slots] == [(a, u) for a, _, u in EXPECTED[name]]
    final = adapter.final_prompts_for(LONG)
    for argument, attribute, usable in EXPECTED[name]:
        text = final.positive if argument == "prompt" else final.extra[argument]
        assert own_count(pipe, attribute, text) <= usable, (argument, text)
        assert text and not re.search(r"\s[,.;]|[,;]\s*[,.]", text)
    if name != "sdxl":
        t5_slot = EXPECTED[name][-1][0]
        assert len(final.extra[t5_slot]) > 2 * len(final.positive)  # the T5 slot keeps far more of the caption


@pytest.mark.parametrize("name", list(EXPECTED))
def test_captions_through_the_pipeline_slots(loaded, name, photos):
    adapter, pipe = loaded[name]
    severe = np.clip(photos["grass"].astype(float) + np.random.default_rng(0).normal(0, 30, photos["grass"].shape), 0, 255).astype(np.uint8)
    captioner = Captioner(corpus_backend(), restorer=adapter, relevance=None, policy=RichnessPolicy(mode="long"))
    bundles = captioner.caption_batch([severe] * 8)
    for raw, bundle in zip(CAPTIONS, bundles):
        check_caption(raw, bundle.caption)
        assert set(bundle.slot_prompts) == {a for a, _, _ in EXPECTED[name]}
        for argument, attribute, usable in EXPECTED[name]:
            assert own_count(pipe, attribute, bundle.slot_prompts[argument]) <= usable
        counts = {s.argument: s.tokens for s in bundle.token_counts.slots}
        if name != "sdxl":  # the T5 slot carries at least as much as the CLIP slot, and more when it fits more
            t5 = EXPECTED[name][-1][0]
            assert counts[t5] >= own_count(pipe, EXPECTED[name][-1][1], bundle.slot_prompts["prompt"])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_restore_passes_every_slot_under_its_argument(loaded, name, photos):
    adapter, pipe = loaded[name]
    received = {}
    for attribute in ("tokenizer", "tokenizer_2", "tokenizer_3"):
        tokenizer = getattr(pipe, attribute, None)
        if tokenizer is None:
            continue
        original = tokenizer.__class__.__call__

        def spy(self, text, *args, _attribute=attribute, _original=original, **kwargs):
            received.setdefault(_attribute, []).append(text)
            return _original(self, text, *args, **kwargs)

        tokenizer.__class__ = type(f"Spy{type(tokenizer).__name__}", (type(tokenizer),), {"__call__": spy})
    final = adapter.final_prompts_for(LONG, negative="painting, cartoon")
    image = Image.fromarray(photos["astronaut"][:64, :64])
    out = adapter.restore(pipe, image, final, seed=0, steps=2, strength=0.5)
    assert out.size == image.size
    for argument, attribute, _ in EXPECTED[name]:
        text = final.positive if argument == "prompt" else final.extra[argument]
        assert any(text in (t if isinstance(t, list) else [t]) for t in received[attribute]), (argument, attribute)
    if name == "flux":  # true_cfg_scale is 1 by default: FLUX would ignore a negative, so none is sent
        assert not any("cartoon" in str(t) for t in received["tokenizer"])


def test_prompt_command_shows_each_slot_with_its_count(pipelines, tmp_path, astronaut):
    image = tmp_path / "x.png"
    Image.fromarray(astronaut).save(image)
    args = ["prompt", str(image), "--restorer", "diffusers", "--restorer-path", str(pipelines["sd3"]), "--caption", LONG]
    shown = CliRunner().invoke(app, [*args, "--json"])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    slots = {s["argument"]: s for s in record["slots"]}
    assert set(slots) == {"prompt", "prompt_2", "prompt_3"}
    assert slots["prompt_3"]["tokens"] > slots["prompt"]["tokens"] and slots["prompt_3"]["usable"] == 255
    table = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert table.exit_code == 0
    for argument, usable in (("prompt", 75), ("prompt_2", 75), ("prompt_3", 255)):
        assert re.search(rf"{argument}\W.*?\d+/{usable} tokens", table.stdout), table.stdout
