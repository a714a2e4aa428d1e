"""Adapters whose restorers cannot run here, against the upstream call signatures (SUPIR bda91af,
DiffBIR 3f8b530): a stand-in checkout exposes functions with exactly those signatures and records
how rescap calls them."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.adapters import get_adapter
from rescap.adapters.diffbir import RescapCaptioner
from rescap.captioning.captioner import Captioner
from rescap.cli.app import app
from rescap.testing.scripted import ScriptedBackend

from .conftest import scripted_answer

# SUPIR/util.py and SUPIR/models/SUPIR_model.py signatures at bda91af; bodies record and echo
SUPIR_STANDIN = textwrap.dedent(
    '''
    import numpy as np
    from PIL import Image
    CALLS = []

    class _Tensor:
        def __init__(self, a): self.a = a
        def unsqueeze(self, axis): return _Tensor(self.a[None])
        def __getitem__(self, key): return _Tensor(self.a[key])
        def to(self, device): return self

    class SUPIRModel:
        def to(self, device): return self
        def batchify_sample(self, x, p, p_p='default', n_p='default', num_steps=100, restoration_scale=4.0,
                            s_churn=0, s_noise=1.003, cfg_scale=4.0, seed=-1, num_samples=1, control_scale=1,
                            color_fix_type='None', use_linear_CFG=False, use_linear_control_scale=False,
                            cfg_scale_start=1.0, control_scale_start=0.0, **kwargs):
            CALLS.append(dict(p=p, p_p=p_p, n_p=n_p, num_steps=num_steps, restoration_scale=restoration_scale,
                              s_churn=s_churn, s_noise=s_noise, cfg_scale=cfg_scale, seed=seed, num_samples=num_samples,
                              control_scale=control_scale, color_fix_type=color_fix_type, use_linear_CFG=use_linear_CFG,
                              extra=kwargs))
            return x.a

    def create_SUPIR_model(config_path, SUPIR_sign=None, load_default_setting=False):
        CALLS.append(dict(config_path=config_path, SUPIR_sign=SUPIR_sign))
        return SUPIRModel()

    def PIL2Tensor(img, upsacle=1, min_size=1024, fix_resize=None):
        a = np.asarray(img).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1
        return _Tensor(a), img.height, img.width

    def Tensor2PIL(x, h0, w0):
        a = np.clip((np.asarray(x).transpose(1, 2, 0) + 1) * 127.5, 0, 255).astype(np.uint8)
        return Image.fromarray(a).resize((w0, h0))
    '''
)


@pytest.fixture
def supir_checkout(tmp_path, monkeypatch):
    root = tmp_path / "SUPIR-checkout"
    (root / "SUPIR").mkdir(parents=True)
    (root / "options").mkdir()
    (root / "SUPIR" / "__init__.py").write_text("")
    (root / "SUPIR" / "util.py").write_text(SUPIR_STANDIN)
    (root / "options" / "SUPIR_v0.yaml").write_text("model: {}\n")
    yield root
    for name in [m for m in sys.modules if m == "SUPIR" or m.startswith("SUPIR.")]:
        del sys.modules[name]
    if str(root) in sys.path:
        sys.path.remove(str(root))


def test_supir_in_process_call_binds_to_the_upstream_signature(supir_checkout, astronaut):
    adapter = get_adapter("supir")
    runner = adapter.load(str(supir_checkout), device="cpu")
    final = adapter.final_prompts_for("A man in a white spacesuit.")
    out = adapter.restore(runner, Image.fromarray(astronaut[:64, :64]), final, seed=7, steps=20)
    assert out.size == (64, 64)
    from SUPIR import util  # the stand-in, as the adapter imported it

    create, sample = util.CALLS
    assert create == {"config_path": str(supir_checkout / "options" / "SUPIR_v0.yaml"), "SUPIR_sign": "Q"}
    assert sample["p"] == ["A man in a white spacesuit. "]  # SUPIR then does ''.join([p, p_p])
    assert "".join([sample["p"][0], sample["p_p"]]) == final.positive
    assert sample["n_p"] == final.negative and sample["seed"] == 7 and sample["num_steps"] == 20
    assert (sample["s_churn"], sample["s_noise"], sample["cfg_scale"], sample["color_fix_type"]) == (5, 1.01, 4.0, "Wavelet")
    assert sample["extra"] == {}  # nothing outside the signature


def test_supir_export_without_a_checkout(tmp_path, astronaut):
    adapter = get_adapter("supir")
    with pytest.raises(Exception, match="checkout"):
        adapter.load(None)
    image = tmp_path / "in" / "x.png"
    image.parent.mkdir()
    Image.fromarray(astronaut).save(image)
    [written] = adapter.export(adapter.final_prompts_for("A fox."), image, tmp_path / "out", tmp_path / "in")
    assert written == tmp_path / "out" / "x.txt" and written.read_text().startswith("A fox. Cinematic")


def test_diffbir_captioner_object_has_its_interface(astronaut):
    captioner = RescapCaptioner(Captioner(ScriptedBackend(scripted_answer), relevance=None, restorer="diffbir"))
    caption = captioner(Image.fromarray(astronaut))  # DiffBIR: captioner(image: PIL.Image) -> str
    assert isinstance(caption, str) and caption == "A red car parked on a wet street."
    assert list(inspect.signature(captioner.__call__).parameters) == ["image"]
    pos = get_adapter("diffbir").final_prompts_for(caption).positive
    assert pos == ", ".join(t for t in [caption.rstrip("."), get_adapter("diffbir").quality_prompt] if t)


PLUGIN = textwrap.dedent(
    '''
    from rescap.adapters.base import FinalPrompts, RestorerAdapter

    class LoudAdapter(RestorerAdapter):
        name = "loud"
        restorer = "sd"
        paper, repository, commit = "none", "https://example.invalid/loud", "0000000"

        def final_prompts_for(self, caption, negative=None, restoration=""):
            return FinalPrompts(positive=caption.upper(), negative="quiet", caption=caption)
    '''
)


def test_third_party_adapter_is_listed_and_used(tmp_path, astronaut):
    (tmp_path / "rescap_loud.py").write_text(PLUGIN)
    info = tmp_path / "rescap_loud-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rescap-loud\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rescap.adapters]\nloud = rescap_loud:LoudAdapter\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    listed = subprocess.run([sys.executable, "-m", "rescap.cli", "adapters", "list", "--json"], capture_output=True, text=True, env=env, check=True)
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert rows["loud"]["package"] == "rescap-loud" and {"supir", "diffusers"} <= set(rows)
    image = tmp_path / "x.png"
    Image.fromarray(astronaut).save(image)
    shown = subprocess.run(
        [sys.executable, "-m", "rescap.cli", "prompt", str(image), "--restorer", "loud", "--caption", "a fox in snow", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )
    record = json.loads(shown.stdout)
    assert record["positive_prompt"] == "A FOX IN SNOW" and record["negative_prompt"] == "quiet"


def test_prompt_command_shows_strings_counts_and_warnings(tmp_path, astronaut):
    image = tmp_path / "x.png"
    Image.fromarray(astronaut).save(image)
    long = ", ".join(["a blurry old stone wall covered with moss"] * 12)
    result = CliRunner().invoke(app, ["prompt", str(image), "--restorer", "supir", "--caption", long, "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    # fit (default): the caption first, cut at a phrase boundary; the quality prompt gets what is left
    assert record["positive_prompt"].startswith("a blurry old stone wall covered with moss, ") and record["dropped"]
    warnings = " ".join(record["check"]["warnings"])
    assert "degradation" in warnings and "cut off" not in warnings
    assert record["check"]["positive_tokens"] <= 75 and record["check"]["exact"]
    kept = CliRunner().invoke(app, ["prompt", str(image), "--restorer", "supir", "--caption", long, "--quality-prompt", "keep", "--json"])
    record = json.loads(kept.stdout)
    assert record["positive_prompt"].endswith("perfect without deformations.") and record["check"]["positive_tokens"] <= 75
    table = CliRunner().invoke(app, ["prompt", str(image), "--restorer", "seesr", "--no-vlm"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "clean, high-resolution, 8k" in table.stdout and "empty caption" in table.stdout
