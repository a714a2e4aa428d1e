"""Tiny multi-encoder diffusers pipelines (SDXL, SD3, FLUX, FLUX ControlNet): saved, reloaded through
``DiffusionPipeline.from_pretrained`` as a user's pipeline is, run img2img, and which prompt argument
reaches which tokenizer (and so which text encoder), as diffusers 0.42 routes them:

- SDXL: ``prompt`` -> ``tokenizer`` (CLIP-L), ``prompt_2`` -> ``tokenizer_2`` (bigG); ``prompt_2=None``
  sends ``prompt`` to both. ``negative_prompt`` goes to both unless ``negative_prompt_2`` is given;
  no negative prompt at all: nothing is tokenized for it (zero embeddings).
- SD3: ``prompt``/``prompt_2``/``prompt_3`` -> ``tokenizer``/``tokenizer_2``/``tokenizer_3`` (CLIP-L,
  CLIP-G, T5 at ``max_sequence_length`` 256); a missing ``prompt_2``/``prompt_3`` is ``prompt``;
  ``negative_prompt`` goes to all three; no negative prompt: ``""`` is encoded by all three.
- FLUX: ``prompt`` -> ``tokenizer`` (CLIP-L, pooled only), ``prompt_2`` -> ``tokenizer_2`` (T5, 512);
  ``prompt_2=None`` sends ``prompt`` to T5 as well. ``negative_prompt`` is never tokenized unless
  ``true_cfg_scale > 1``; then it goes to both (``negative_prompt_2`` falls back to it).
- ``FluxControlNetImg2ImgPipeline`` takes no ``negative_prompt`` at all.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("diffusers")

from rescap.testing.tiny_diffusers import (
    build_tiny_flux_controlnet,
    build_tiny_flux_img2img,
    build_tiny_sd3_img2img,
    build_tiny_sdxl_img2img,
)

BUILDERS = {
    "sdxl": build_tiny_sdxl_img2img,
    "sd3": build_tiny_sd3_img2img,
    "flux": build_tiny_flux_img2img,
    "flux_controlnet": build_tiny_flux_controlnet,
    "flux_controlnet_img2img": lambda path: build_tiny_flux_controlnet(path, img2img=True),
}
CLASSES = {
    "sdxl": "StableDiffusionXLImg2ImgPipeline",
    "sd3": "StableDiffusion3Img2ImgPipeline",
    "flux": "FluxImg2ImgPipeline",
    "flux_controlnet": "FluxControlNetPipeline",
    "flux_controlnet_img2img": "FluxControlNetImg2ImgPipeline",
}
WINDOWS = {
    "sdxl": {"tokenizer": 77, "tokenizer_2": 77},
    "sd3": {"tokenizer": 77, "tokenizer_2": 77, "tokenizer_3": 256},
    "flux": {"tokenizer": 77, "tokenizer_2": 512},
    "flux_controlnet": {"tokenizer": 77, "tokenizer_2": 512},
    "flux_controlnet_img2img": {"tokenizer": 77, "tokenizer_2": 512},
}
TOKENIZER_NAMES = ("tokenizer", "tokenizer_2", "tokenizer_3")
P1 = "a red fox standing in fresh snow, sharp detail"
P2 = "a red fox in the snow, high quality photo"
P3 = "A detailed photograph of a red fox standing in fresh snow at the edge of a forest."
NEG = "blurry, noisy, low quality"


def _load(path):
    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(path)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(size: int = 32) -> Image.Image:
    y, x = np.mgrid[0:size, 0:size]
    a = np.stack([x * 255 // size, y * 255 // size, (x + y) * 127 // size], axis=-1).astype(np.uint8)
    return Image.fromarray(a)


def _run(pipe, kind: str, **kwargs):
    import torch

    kwargs = {
        "num_inference_steps": 2,
        "generator": torch.Generator().manual_seed(0),
        "output_type": "pil",
        **kwargs,
    }
    if kind == "flux_controlnet":
        kwargs.update(control_image=_image(), height=32, width=32)
    else:
        kwargs.update(image=_image(), strength=0.5)
        if kind == "flux_controlnet_img2img":
            kwargs.update(control_image=_image())
    if kind != "sdxl":  # SD3 and FLUX default to their transformer's size, not the input image's
        kwargs.update(height=32, width=32)
    return pipe(**kwargs).images


class TokenizerSpy:
    """Records the texts each of a pipeline's tokenizers is called on, by attribute name."""

    def __init__(self, pipe, monkeypatch):
        self.texts: dict[str, list[str]] = {}
        names = {id(t): n for n in TOKENIZER_NAMES if (t := getattr(pipe, n, None)) is not None}
        for cls in {type(getattr(pipe, n)) for n in TOKENIZER_NAMES if getattr(pipe, n, None) is not None}:
            original = cls.__call__

            def spy(tok, text=None, *args, _original=original, **kwargs):
                if id(tok) in names and text is not None:
                    texts = [text] if isinstance(text, str) else list(text)
                    self.texts.setdefault(names[id(tok)], []).extend(texts)
                return _original(tok, text, *args, **kwargs)

            monkeypatch.setattr(cls, "__call__", spy)

    def received(self) -> dict[str, set[str]]:
        return {name: set(texts) for name, texts in self.texts.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict]:
    """Every pipeline built once, with its build, reload and run times and its size on disk."""
    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import diffusers  # noqa: F401 - imports timed apart from the builders
    import transformers  # noqa: F401

    root = tmp_path_factory.mktemp("tiny-multi-encoder")
    out = {}
    for kind, build in BUILDERS.items():
        start = time.perf_counter()
        path = build(root / kind)
        built_at = time.perf_counter()
        pipe = _load(path)
        loaded_at = time.perf_counter()
        images = _run(pipe, kind, prompt=P1)
        ran_at = time.perf_counter()
        out[kind] = {
            "path": Path(path),
            "images": images,
            "build_s": built_at - start,
            "load_s": loaded_at - built_at,
            "run_s": ran_at - loaded_at,
            "bytes": sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()),
        }
    return out


@pytest.fixture(scope="module")
def pipes(built) -> dict:
    return {kind: _load(info["path"]) for kind, info in built.items()}


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_builds_reloads_and_runs_small_and_fast(built, kind, record_property):
    info = built[kind]
    assert (info["path"] / "model_index.json").is_file()
    (image,) = info["images"]
    assert isinstance(image, Image.Image) and image.size == (32, 32)
    for key in ("build_s", "load_s", "run_s", "bytes"):
        record_property(key, info[key])
    print(f"{kind}: build {info['build_s']:.2f} s, load {info['load_s']:.2f} s, run {info['run_s']:.2f} s, "
          f"{info['bytes'] / 1e6:.1f} MB")  # fmt: skip
    assert info["bytes"] < 16e6


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_reloaded_pipeline_has_the_real_classes_and_windows(pipes, kind):
    pipe = pipes[kind]
    assert type(pipe).__name__ == CLASSES[kind]
    windows = {
        n: getattr(pipe, n).model_max_length for n in TOKENIZER_NAMES if getattr(pipe, n, None) is not None
    }
    assert windows == WINDOWS[kind]
    assert type(pipe.tokenizer).__name__ == "CLIPTokenizer"
    clip = [pipe.tokenizer] + ([pipe.tokenizer_2] if kind in ("sdxl", "sd3") else [])
    for tok in clip:
        assert (tok.bos_token, tok.eos_token, tok.unk_token) == (
            "<|startoftext|>",
            "<|endoftext|>",
            "<|endoftext|>",
        )
        ids = tok("a photo")["input_ids"]
        assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert pipe.tokenizer.pad_token == "<|endoftext|>"
    if kind in ("sdxl", "sd3"):  # the released bigG / CLIP-G tokenizers pad with "!"
        assert pipe.tokenizer_2.pad_token == "!"
    t5 = {"sd3": "tokenizer_3"}.get(kind, "tokenizer_2" if kind.startswith("flux") else None)
    if t5:
        tok = getattr(pipe, t5)
        assert type(tok).__name__ == "T5Tokenizer"
        assert [tok.pad_token, tok.eos_token, tok.unk_token] == ["<pad>", "</s>", "<unk>"]
        assert [tok.pad_token_id, tok.eos_token_id, tok.unk_token_id] == [0, 1, 2]
        assert tok.bos_token is None and tok("a photo")["input_ids"][-1] == tok.eos_token_id
        assert "<extra_id_0>" in tok.get_vocab()


def test_tokenizers_know_ordinary_english_and_cut_at_their_window(pipes):
    caption = (
        "A woman in a blue coat walks her dog along a wet street at night, soft light from the shop windows."
    )
    words = len(caption.split())
    sdxl, sd3 = pipes["sdxl"], pipes["sd3"]
    for tok in (sdxl.tokenizer, sdxl.tokenizer_2, sd3.tokenizer_3):
        n = len(tok(caption, add_special_tokens=False)["input_ids"])
        assert words <= n <= 1.3 * words, (type(tok).__name__, n, words)
        assert (
            tok.unk_token_id
            not in tok("Portrait, 4K, f/1.8 (ISO 100)!", add_special_tokens=False)["input_ids"]
        )
    long_text = " ".join([caption] * 40)
    for tok in (sdxl.tokenizer, sd3.tokenizer_3, pipes["flux"].tokenizer_2):
        ids = tok(long_text, truncation=True)["input_ids"]
        assert len(ids) == tok.model_max_length and ids[-1] == tok.eos_token_id
    # the same vocabulary on every build, and the same CLIP vocabulary for both CLIP tokenizers
    assert sdxl.tokenizer.get_vocab() == sd3.tokenizer.get_vocab() == sdxl.tokenizer_2.get_vocab()
    assert sd3.tokenizer_3.get_vocab() == pipes["flux"].tokenizer_2.get_vocab()


def test_sdxl_routes_prompt_and_prompt_2(pipes, monkeypatch):
    pipe = pipes["sdxl"]
    spy = TokenizerSpy(pipe, monkeypatch)
    assert _run(pipe, "sdxl", prompt=P1, prompt_2=P2, negative_prompt=NEG)
    assert spy.received() == {"tokenizer": {P1, NEG}, "tokenizer_2": {P2, NEG}}

    spy.texts.clear()  # prompt_2=None: both encoders read prompt
    _run(pipe, "sdxl", prompt=P1, negative_prompt=NEG, negative_prompt_2="cartoon")
    assert spy.received() == {"tokenizer": {P1, NEG}, "tokenizer_2": {P1, "cartoon"}}

    spy.texts.clear()  # no negative prompt: zero embeddings, nothing tokenized for it
    _run(pipe, "sdxl", prompt=P1)
    assert spy.received() == {"tokenizer": {P1}, "tokenizer_2": {P1}}


def test_sd3_routes_prompt_prompt_2_and_prompt_3(pipes, monkeypatch):
    pipe = pipes["sd3"]
    spy = TokenizerSpy(pipe, monkeypatch)
    assert _run(pipe, "sd3", prompt=P1, prompt_2=P2, prompt_3=P3, negative_prompt=NEG)
    assert spy.received() == {"tokenizer": {P1, NEG}, "tokenizer_2": {P2, NEG}, "tokenizer_3": {P3, NEG}}

    spy.texts.clear()  # prompt_2/prompt_3 missing: prompt everywhere; no negative prompt: "" everywhere
    _run(pipe, "sd3", prompt=P1)
    assert spy.received() == {"tokenizer": {P1, ""}, "tokenizer_2": {P1, ""}, "tokenizer_3": {P1, ""}}

    spy.texts.clear()
    _run(pipe, "sd3", prompt=P1, prompt_3=P3)
    assert spy.received() == {"tokenizer": {P1, ""}, "tokenizer_2": {P1, ""}, "tokenizer_3": {P3, ""}}


@pytest.mark.parametrize("kind", ["flux", "flux_controlnet"])
def test_flux_routes_prompt_to_clip_and_prompt_2_to_t5(pipes, monkeypatch, kind):
    pipe = pipes[kind]
    spy = TokenizerSpy(pipe, monkeypatch)
    assert _run(pipe, kind, prompt=P1, prompt_2=P3, negative_prompt=NEG)
    assert spy.received() == {"tokenizer": {P1}, "tokenizer_2": {P3}}  # true_cfg_scale 1: negative ignored

    spy.texts.clear()  # prompt_2=None: T5 reads prompt too
    _run(pipe, kind, prompt=P1)
    assert spy.received() == {"tokenizer": {P1}, "tokenizer_2": {P1}}

    spy.texts.clear()  # true CFG: the negative prompt goes to both encoders
    _run(pipe, kind, prompt=P1, prompt_2=P3, negative_prompt=NEG, true_cfg_scale=2.0)
    assert spy.received() == {"tokenizer": {P1, NEG}, "tokenizer_2": {P3, NEG}}


def test_flux_controlnet_img2img_routes_prompts_and_takes_no_negative_prompt(pipes, monkeypatch):
    pipe = pipes["flux_controlnet_img2img"]
    assert "negative_prompt" not in inspect.signature(pipe.__call__).parameters
    spy = TokenizerSpy(pipe, monkeypatch)
    assert _run(pipe, "flux_controlnet_img2img", prompt=P1, prompt_2=P3)
    assert spy.received() == {"tokenizer": {P1}, "tokenizer_2": {P3}}
