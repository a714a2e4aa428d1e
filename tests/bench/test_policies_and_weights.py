"""Policy parsing, sidecar captions, and the message for weights pyiqa cannot fetch."""

import os
from pathlib import Path

import pytest

from rescap.bench.policies import PolicyError, first_sentence, parse_policies, sidecar_caption
from rescap.bench.weights import describe_missing_weights


def test_policies_expand_and_keep_order():
    assert [p.name for p in parse_policies("rescap-long, none,rescap,sidecar,none")] == [
        "rescap-long", "none", "rescap-short", "rescap-medium", "rescap-auto", "sidecar",
    ]  # fmt: skip
    assert parse_policies("rescap-40")[0].richness == 40
    assert [p.name for p in parse_policies(None)][:2] == ["none", "plain"]
    for bad in ("nonsense", "rescap-huge", "rescap-0", " , "):
        with pytest.raises(PolicyError):
            parse_policies(bad)


def test_sidecar_caption_prefers_the_caption_folder(tmp_path):
    image = tmp_path / "in" / "a" / "b.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"")
    (tmp_path / "caps" / "a").mkdir(parents=True)
    (tmp_path / "caps" / "a" / "b.txt").write_text("a fox in snow\n")
    image.with_suffix(".txt").write_text("beside the image")
    assert sidecar_caption(image, Path("a/b.png"), tmp_path / "caps") == "a fox in snow"
    assert sidecar_caption(image, Path("a/b.png"), None) == "beside the image"
    image.with_suffix(".txt").unlink()
    with pytest.raises(FileNotFoundError, match="b.txt"):
        sidecar_caption(image, Path("a/b.png"), tmp_path / "elsewhere")


def test_first_sentence():
    assert first_sentence('Caption: "A dog runs on grass. It is sunny."') == "A dog runs on grass."
    assert first_sentence("  two\n words ") == "two words"
    assert first_sentence("") == ""


def _download(url, model_dir):  # the shape of pyiqa's / torch.hub's helpers: URL and destination in locals
    cached_file = os.path.join(model_dir, os.path.basename(url))
    raise ConnectionError(f"cannot reach {url} for {cached_file}")


def _hub(repo_id, filename, cache_dir=None):  # the shape of huggingface_hub.hf_hub_download
    class LocalEntryNotFoundError(Exception):
        pass

    raise LocalEntryNotFoundError("offline")


def test_missing_weights_named_from_the_failed_call(tmp_path):
    with pytest.raises(ConnectionError) as info:
        _download("https://example.org/w/net_v2.pth", str(tmp_path / "pyiqa"))
    found = describe_missing_weights(info.value)
    assert (found.file, found.folder, found.source) == ("net_v2.pth", str(tmp_path / "pyiqa"), "https://example.org/w/net_v2.pth")
    assert "Place the file in" in found.message("net") and "'net_v2.pth'" in found.message("net")
    with pytest.raises(Exception) as info:
        _hub("timm/vit_tiny", "model.safetensors")
    found = describe_missing_weights(info.value)
    assert found.file == "model.safetensors" and "hf download timm/vit_tiny model.safetensors" in found.message("m")
    assert describe_missing_weights(ValueError("a bug, not a download")) is None


def test_real_pyiqa_metric_without_network_names_file_and_folder(no_network):
    from rescap.torch_compat import ensure_torchvision_importable
    from rescap.bench.metrics import MetricSet

    ensure_torchvision_importable()
    from pyiqa.utils.download_util import DEFAULT_CACHE_DIR  # fixed when pyiqa is first imported

    if os.path.exists(os.path.join(DEFAULT_CACHE_DIR, "niqe_modelparameters.mat")):
        pytest.skip("NIQE's weights are already on this machine")
    metrics = MetricSet.load(["psnr", "niqe"], have_reference=True)
    assert metrics.names == ["psnr"]
    message = metrics.skipped["niqe"]
    assert "'niqe_modelparameters.mat'" in message and "huggingface.co" in message
    assert f"Place the file in {DEFAULT_CACHE_DIR} " in message  # the folder pyiqa looks in


def test_unknown_metric_suggests_names():
    from rescap.bench.metrics import MetricError, MetricSet

    with pytest.raises(MetricError, match="did you mean.*psnr"):
        MetricSet.load(["psnrr"], have_reference=True)


def test_full_reference_metric_without_ground_truth_is_skipped():
    from rescap.bench.metrics import MetricSet

    metrics = MetricSet.load(["ssim"], have_reference=False)
    assert metrics.names == [] and "--gt" in metrics.skipped["ssim"]


def test_a_file_placed_where_the_message_says_is_used(no_network, tmp_path, monkeypatch):
    """Follow the skip message: put a (made-up, well-formed) NIQE parameter file in the folder it
    names, and the metric loads and scores."""
    import re

    import numpy as np
    import scipy.io
    from PIL import Image

    from rescap.torch_compat import ensure_torchvision_importable
    from rescap.bench.metrics import MetricSet

    ensure_torchvision_importable()
    from pyiqa.utils import download_util

    monkeypatch.setattr(download_util, "DEFAULT_CACHE_DIR", str(tmp_path / "pyiqa-cache"))  # not the user's cache
    message = MetricSet.load(["niqe"], have_reference=False).skipped["niqe"]
    file, folder = re.search(r"weights file '([^']+)'.*Place the file in (\S+) and run again", message).groups()
    assert folder == str(tmp_path / "pyiqa-cache")
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(36, 36))
    Path(folder).mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(Path(folder) / file, {"mu_prisparam": rng.normal(size=(1, 36)), "cov_prisparam": basis @ basis.T + 36 * np.eye(36)})
    metrics = MetricSet.load(["niqe"], have_reference=False)
    assert metrics.names == ["niqe"] and not metrics.skipped
    photo = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    values, errors = metrics.score(photo)
    assert not errors and np.isfinite(values["niqe"])


def test_a_rerun_after_an_upgrade_or_a_template_change_is_refused(tmp_path, monkeypatch, photos):
    """Results made by another rescap version or other prompt templates are not reused as done."""
    import json as _json

    from PIL import Image

    import rescap.bench as bench_module
    from rescap.bench import BenchError, run_bench
    from rescap.captioning.templates import PromptTemplates
    from rescap.testing.scripted import ScriptedBackend

    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photos["astronaut"][:48, :48]).save(folder / "a.png")

    def answer(prompt, step):
        return _json.dumps({"caption": "A person in a white suit."} if step == "caption" else
                           {"assessment": "-", "noise": "none", "blur": "none", "compression": "none", "resolution": "none", "other": []}
                           if step == "degradation" else {"scene": "-", "subjects": []})  # fmt: skip

    out = tmp_path / "b"
    kwargs = dict(restorer="hypir", policies="none,rescap-short", metrics="none", relevance=None)
    run_bench([folder], out, backend=ScriptedBackend(answer), **kwargs)
    run_bench([folder], out, backend=ScriptedBackend(answer), **kwargs)  # same settings: resumes
    user = tmp_path / "prompts"
    user.mkdir()
    builtin = PromptTemplates.load().sources["caption"]
    assert builtin.startswith("rescap.prompts/")
    from importlib import resources

    (user / "caption.j2").write_text(resources.files("rescap.prompts").joinpath("caption.j2").read_text() + "\nBe brief.")
    monkeypatch.setenv("RESCAP_PROMPTS_DIR", str(user))
    with pytest.raises(BenchError, match="templates"):
        run_bench([folder], out, backend=ScriptedBackend(answer), **kwargs)
    monkeypatch.delenv("RESCAP_PROMPTS_DIR")
    monkeypatch.setattr(bench_module, "__version__", "9.9.9")
    with pytest.raises(BenchError, match="rescap_version"):
        run_bench([folder], out, backend=ScriptedBackend(answer), **kwargs)
