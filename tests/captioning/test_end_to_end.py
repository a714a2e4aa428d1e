"""The whole captioner on tiny random-weight models loaded through the real code: every field of
the bundle is filled and parses, whatever noise the model writes."""

import json

import pytest

from rescap.captioning.bundle import PromptBundle
from rescap.captioning.captioner import Captioner
from rescap.text.degradation_words import find_degradation_words
from rescap.degradation.synthesize import add_gaussian_noise, jpeg_compress

pytest.importorskip("xgrammar")


@pytest.fixture(scope="module")
def backends(tiny):
    from rescap.backends import create_backend

    made = {arch: create_backend(f"transformers:{tiny[arch]}", device="cpu") for arch in ("qwen2_vl", "idefics3")}
    yield made
    for b in made.values():
        b.close()


@pytest.mark.parametrize("arch", ["qwen2_vl", "idefics3"])
@pytest.mark.parametrize("mode", ["fused", "chain", "single"])
def test_every_field_is_filled_and_parses(backends, tiny, photos, arch, mode):
    captioner = Captioner(backends[arch], relevance=tiny["clip"], restorer="supir", mode=mode, embeddings=True)
    images = [add_gaussian_noise(photos["astronaut"], 25, seed=0), jpeg_compress(photos["coffee"], 30)]
    bundles = captioner.caption_batch(images)
    for bundle in bundles:
        assert isinstance(bundle, PromptBundle), bundle
        again = PromptBundle.model_validate_json(bundle.model_dump_json())  # round-trips as JSON
        assert again == bundle
        assert bundle.positive_prompt and bundle.negative_prompt and bundle.restoration_prompt
        assert bundle.trace and all(t.output and t.parsed is not None for t in bundle.trace)
        assert bundle.assessment is not None and bundle.content is not None
        assert bundle.richness is not None and 0 <= bundle.richness.target_tokens <= bundle.richness.budget_tokens
        assert bundle.token_counts.positive_fits and bundle.token_counts.exact
        assert bundle.timings["estimate"] > 0 and bundle.timings["control"] >= 0
        assert len(bundle.image_embedding) == 16 and len(bundle.degradation_vector) == 7 + 1 + 7  # severities, overall, raw values
        assert find_degradation_words(bundle.caption) == []
        assert bundle.model == f"transformers:{tiny[arch]}"
    assert bundles[0].restoration_prompt.startswith("denoise with sigma")
    assert "JPEG artifacts at quality 30" in bundles[1].restoration_prompt


def test_one_call_per_step_on_a_real_backend(backends, photos):
    backend = backends["qwen2_vl"]
    backend.stats = type(backend.stats)()
    Captioner(backend, relevance=None, mode="fused").caption_batch([photos["astronaut"]] * 4)
    assert backend.stats.items == 8  # 4 images x 2 steps
    Captioner(backend, relevance=None).caption_batch([photos["astronaut"]] * 4)
    assert backend.stats.items == 8 + 12  # the default, chain: 3 steps


def test_json_lines_from_the_cli(tiny, tmp_path, astronaut):
    from PIL import Image
    from typer.testing import CliRunner

    from rescap.cli.app import app

    Image.fromarray(add_gaussian_noise(astronaut, 20, seed=1)).save(tmp_path / "noisy.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    result = CliRunner().invoke(app, [
        "caption", str(tmp_path), "--vlm", f"transformers:{tiny['idefics3']}", "--relevance", tiny["clip"],
        "--restorer", "pasd", "--richness", "medium", "--json",
    ])  # fmt: skip
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_name = {r["file"].rsplit("/", 1)[-1]: r for r in records}
    assert by_name["broken.png"]["stage"] == "estimate" and "error" in by_name["broken.png"]
    good = by_name["noisy.png"]
    for field in ("caption", "positive_prompt", "negative_prompt", "restoration_prompt", "degradation", "trace", "token_counts", "timings"):
        assert field in good
    assert good["restorer"] == "pasd" and good["richness"]["mode"] == "medium"
    assert good["positive_prompt"].endswith("clean, high-resolution, 8k")


def test_no_vlm_from_the_cli(tmp_path, astronaut):
    from PIL import Image
    from typer.testing import CliRunner

    from rescap.cli.app import app

    Image.fromarray(add_gaussian_noise(astronaut, 20, seed=1)).save(tmp_path / "noisy.png")
    result = CliRunner().invoke(app, ["caption", str(tmp_path / "noisy.png"), "--no-vlm", "--restorer", "supir", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["caption"] == "" and record["restoration_prompt"].startswith("denoise with sigma")
    assert record["positive_prompt"].startswith("Cinematic") and "noise" in record["negative_prompt"]
