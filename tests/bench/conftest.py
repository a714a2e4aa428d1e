import inspect
import shutil
import socket

import numpy as np
import pytest
from PIL import Image

from rescap.degradation.synthesize import add_gaussian_noise

POLICIES = ["none", "plain", "rescap-short", "rescap-medium", "rescap-long", "rescap-auto", "sidecar"]


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Every outgoing connection is refused, as on an air-gapped machine (whatever this one has)."""

    def refuse(self, *args, **kwargs):
        raise OSError(101, "Network is unreachable (refused by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no weights cached by anyone
    return tmp_path / "torch-home"


@pytest.fixture(scope="session")
def bench_images(tmp_path_factory, photos):
    """Ground truth (64x64 crops of real photos) and degraded inputs of the same size, one in a subfolder."""
    root = tmp_path_factory.mktemp("bench-images")
    (root / "lq" / "sub").mkdir(parents=True)
    (root / "hq" / "sub").mkdir(parents=True)
    names = {"astronaut": "astronaut.png", "coffee": "coffee.png", "grass": "sub/grass.png"}
    for i, (photo, rel) in enumerate(names.items()):
        hq = np.asarray(Image.fromarray(photos[photo]).resize((64, 64), Image.Resampling.LANCZOS))
        Image.fromarray(hq).save(root / "hq" / rel)
        lq = Image.fromarray(hq).resize((32, 32), Image.Resampling.BICUBIC).resize((64, 64), Image.Resampling.BICUBIC)
        Image.fromarray(add_gaussian_noise(np.asarray(lq), 8 + 4 * i, seed=i)).save(root / "lq" / rel)
    return root


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    pytest.importorskip("diffusers")
    pytest.importorskip("pyiqa")
    from rescap.testing.tiny_clip import build_tiny_clip
    from rescap.testing.tiny_diffusers import build_tiny_pipeline
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = tmp_path_factory.mktemp("bench-models")
    return {
        "pipeline": str(build_tiny_pipeline("img2img", root / "img2img")),
        "vlm": "transformers:" + str(build_tiny_vlm("idefics3", root / "vlm")),
        "clip": str(build_tiny_clip(root / "clip")),
    }


class SeedSpy:
    """Wraps the pipeline; records each call's prompt and its generator's seed."""

    def __init__(self, pipe):
        self.pipe, self.calls = pipe, []
        self.tokenizer = pipe.tokenizer
        self.__signature__ = inspect.signature(pipe.__call__)

    def __call__(self, **kwargs):
        self.calls.append({"prompt": kwargs["prompt"], "seed": kwargs["generator"].initial_seed()})
        return self.pipe(**kwargs)


@pytest.fixture(scope="session")
def bench_run(models, bench_images, tmp_path_factory):
    """One bench over three photos and a broken file, every policy, sidecar captions with degradation words."""
    root = tmp_path_factory.mktemp("bench-run")
    lq = root / "lq"
    shutil.copytree(bench_images / "lq", lq)
    (lq / "broken.png").write_bytes(b"this is not a png")
    captions = root / "captions"
    (captions / "sub").mkdir(parents=True)
    for rel in ("astronaut", "coffee", "sub/grass"):
        (captions / f"{rel}.txt").write_text("a blurry, noisy photo of something")
    spies = []
    from typer.testing import CliRunner

    from rescap.adapters.diffusers_pipeline import DiffusersAdapter
    from rescap.cli.app import app

    original = DiffusersAdapter.load

    def spying_load(self, path, device="cpu", **options):
        spies.append(SeedSpy(original(self, path, device, **options)))
        return spies[-1]

    out = root / "report"
    args = ["bench", str(lq), "--restorer", "diffusers", "--restorer-model", models["pipeline"], "--gt", str(bench_images / "hq"),
            "--vlm", models["vlm"], "--relevance", models["clip"], "--captions", str(captions), "--metrics", "psnr,ssim",
            "--steps", "2", "--strength", "0.6", "--seed", "7", "-o", str(out)]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(DiffusersAdapter, "load", spying_load)
        result = CliRunner().invoke(app, args)
    return {"out": out, "result": result, "calls": spies[0].calls, "args": args, "lq": lq, "hq": bench_images / "hq"}
