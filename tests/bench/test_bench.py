"""`rescap bench` end to end: a tiny random diffusers restorer and a tiny VLM on real photos, with
PSNR/SSIM (metrics that need no downloaded weights) against ground truth."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app

from .conftest import POLICIES

runner = CliRunner()


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_image_under_every_policy_with_the_same_seed(bench_run):
    result, out = bench_run["result"], bench_run["out"]
    assert result.exit_code == 1, result.output  # the broken file fails, alone
    assert f"{3 * len(POLICIES)} restored, 0 done before, {len(POLICIES)} failed" in " ".join(result.output.split())
    rows = read_csv(out / "results.csv")
    good = [r for r in rows if r["image"] != "broken.png"]
    assert sorted({(r["image"], r["policy"]) for r in good}) == sorted(
        (img, p) for img in ("astronaut.png", "coffee.png", "sub/grass.png") for p in ["input", *POLICIES]
    )
    assert all(r["status"] == "ok" for r in good)
    broken = [r for r in rows if r["image"] == "broken.png"]
    assert len(broken) == len(POLICIES) + 1 and all(r["status"] == "error" and "readable" in r["error"] for r in broken)
    calls = bench_run["calls"]
    assert len(calls) == 3 * len(POLICIES) and {c["seed"] for c in calls} == {7}
    by_prompt = {r["policy"]: r for r in good if r["image"] == "astronaut.png"}
    positives = json.loads((out / "results.json").read_text())["records"]
    sent = {c["prompt"] for c in calls}
    assert all(r["positive_prompt"] in sent for r in positives if r["status"] == "ok" and r["policy"] != "input")
    assert by_prompt["none"]["caption"] == "" and by_prompt["sidecar"]["caption"] == "a blurry, noisy photo of something"
    for name in ("astronaut", "coffee", "sub/grass"):
        for policy in ["input", *POLICIES]:
            assert Image.open(out / "outputs" / name / f"{policy}.png").size == (64, 64)


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def test_metrics_are_those_of_the_saved_outputs(bench_run):
    from skimage.metrics import structural_similarity

    out = bench_run["out"]
    rows = [r for r in read_csv(out / "results.csv") if r["status"] == "ok"]
    for r in rows:
        restored = np.asarray(Image.open(out / r["output"]).convert("RGB"))
        truth = np.asarray(Image.open(r["reference"]).convert("RGB"))
        assert float(r["psnr"]) == pytest.approx(_psnr(restored, truth), abs=0.05)
        assert 0.0 < float(r["ssim"]) <= 1.0
    # SSIM follows the structure: the input (noisy but right) beats a random-weight restorer's output
    ssim = {(r["image"], r["policy"]): float(r["ssim"]) for r in rows}
    for image in ("astronaut.png", "coffee.png"):
        assert ssim[(image, "input")] > ssim[(image, "none")]
    gray = np.asarray(Image.open(out / "outputs/astronaut/input.png").convert("L"))
    truth = np.asarray(Image.open(bench_run["hq"] / "astronaut.png").convert("L"))
    assert structural_similarity(gray, truth) > 0.3  # a sanity floor on the reference itself


def test_summary_and_caption_measures(bench_run):
    out = bench_run["out"]
    data = json.loads((out / "results.json").read_text())
    summary = data["summary"]
    assert set(summary) == {"input", *POLICIES}
    assert summary["sidecar"]["degradation_word_share"] == 1.0  # the user's captions name the degradation
    for name in ("rescap-short", "rescap-medium", "rescap-long", "rescap-auto"):
        assert summary[name]["degradation_word_share"] == 0.0
        assert summary[name]["truncated_share"] == 0.0  # rescap fits the window
        assert summary[name]["images"] == 3 and summary[name]["failed"] == 1
    tokens = {n: summary[n]["mean_caption_tokens"] for n in ("rescap-short", "rescap-long")}
    assert tokens["rescap-short"] < tokens["rescap-long"]
    assert summary["none"]["mean_caption_tokens"] == 0
    rows = [r for r in data["records"] if r["status"] == "ok" and r["policy"] != "none"]
    none = {r["image"]: r for r in data["records"] if r["policy"] == "none" and r["status"] == "ok"}
    plain = [r["metrics"]["psnr"] - none[r["image"]]["metrics"]["psnr"] for r in rows if r["policy"] == "plain"]
    assert summary["plain"]["delta_vs_none"]["psnr"] == pytest.approx(sum(plain) / len(plain))
    assert data["config"]["seed"] == 7 and data["lower_better"] == {"psnr": False, "ssim": False}


def test_rerun_resumes_without_duplicates(bench_run):
    out = bench_run["out"]
    before = read_csv(out / "results.csv")
    lines_before = (out / "records.jsonl").read_text().count("\n")
    again = runner.invoke(app, bench_run["args"])
    assert again.exit_code == 1
    assert "0 restored" in again.output and f"{3 * len(POLICIES)} done before" in again.output
    after = read_csv(out / "results.csv")
    assert [(r["image"], r["policy"], r["psnr"]) for r in after] == [(r["image"], r["policy"], r["psnr"]) for r in before]
    # only the broken file's rows were tried again
    assert (out / "records.jsonl").read_text().count("\n") == lines_before + len(POLICIES) + 1
    changed = [a if a != "7" else "8" for a in bench_run["args"]]
    refused = runner.invoke(app, changed)
    assert refused.exit_code == 2 and "different run" in refused.output and "seed" in refused.output


def test_missing_weights_skip_the_metric_and_the_bench_goes_on(models, bench_images, tmp_path, no_network):
    out = tmp_path / "report"
    result = runner.invoke(app, ["bench", str(bench_images / "lq" / "astronaut.png"), "--restorer", "diffusers",
                                 "--model", models["pipeline"], "--gt", str(bench_images / "hq"), "--no-vlm",
                                 "--policies", "none,rescap-auto", "--metrics", "psnr,niqe", "--steps", "2", "--strength", "0.6",
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "niqe_modelparameters.mat" in result.output
    data = json.loads((out / "results.json").read_text())
    assert "niqe_modelparameters.mat" in data["config"]["skipped_metrics"]["niqe"]
    assert all("psnr" in r["metrics"] and "niqe" not in r["metrics"] for r in data["records"])
    assert "niqe" in (out / "report.html").read_text()


def test_bad_requests_fail_clearly(models, bench_images, tmp_path):
    base = ["bench", str(bench_images / "lq"), "--restorer", "diffusers", "--restorer-model", models["pipeline"], "-o", str(tmp_path / "r")]
    for extra, expected in (
        (["--policies", "sometimes"], "unknown policy"),
        (["--no-vlm", "--policies", "plain"], "needs a captioning model"),
        (["--metrics", "psnrr", "--no-vlm", "--policies", "none"], "did you mean"),
        (["--gt", str(tmp_path / "nowhere")], "does not exist"),
    ):
        result = runner.invoke(app, base + extra)
        assert result.exit_code == 2 and expected in result.output, (extra, result.output)



def test_a_restorer_that_cannot_run_here_gets_a_captions_report(bench_images, tmp_path):
    out = tmp_path / "s"
    result = runner.invoke(app, ["bench", str(bench_images / "lq"), "--restorer", "hypir", "--no-vlm", "--gt", str(bench_images / "hq"),
                                 "--policies", "none,rescap-auto", "--metrics", "psnr", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "did not run" in result.output and "0 restored" in " ".join(result.output.split())
    rows = read_csv(out / "results.csv")
    assert len(rows) == 3 * 3 and all(r["status"] == "ok" for r in rows)
    data = json.loads((out / "results.json").read_text())
    assert data["config"]["restorer_runs"] is False
    for record in data["records"]:
        if record["policy"] == "input":
            assert "psnr" in record["metrics"]  # the input against the ground truth
        else:
            assert not record["output"] and record["prompt_files"]
            assert (out / record["prompt_files"][0]).is_file()
    assert (out / "prompts" / "rescap-auto" / "sub" / "grass.txt").is_file()  # HYPIR's mirrored --txt_dir layout
    assert "not restored here" in (out / "report.html").read_text()


def _quick(models, inputs, out, *extra):
    args = ["bench", *map(str, inputs), "--restorer", "diffusers", "--restorer-model", models["pipeline"], "--steps", "2",
            "--strength", "0.6", "--metrics", "psnr", "-o", str(out), *extra]  # fmt: skip
    return runner.invoke(app, args)


def test_unreadable_ground_truth_is_a_per_image_error(models, bench_images, tmp_path):
    import shutil

    gt = tmp_path / "gt"
    shutil.copytree(bench_images / "hq", gt)
    (gt / "coffee.png").write_bytes(b"broken ground truth")
    out = tmp_path / "r"
    result = _quick(models, [bench_images / "lq"], out, "--gt", str(gt), "--no-vlm", "--policies", "none")
    assert result.exit_code == 0, result.output
    rows = {(r["image"], r["policy"]): r for r in read_csv(out / "results.csv")}
    assert rows[("coffee.png", "none")]["status"] == "ok" and rows[("coffee.png", "none")]["psnr"] == ""
    assert rows[("astronaut.png", "none")]["psnr"] != ""
    records = json.loads((out / "results.json").read_text())["records"]
    coffee = next(r for r in records if r["image"] == "coffee.png" and r["policy"] == "none")
    assert "cannot read the ground truth" in coffee["metric_errors"]["reference"]


def test_rerun_on_other_files_with_the_same_names_redoes_them(models, bench_images, tmp_path):
    import shutil

    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(bench_images / "lq", first)
    shutil.copytree(bench_images / "hq", second)  # same names, other pixels
    out = tmp_path / "r"
    assert _quick(models, [first], out, "--no-vlm", "--policies", "none").exit_code == 0
    again = _quick(models, [second], out, "--no-vlm", "--policies", "none")
    assert again.exit_code == 0 and "3 restored, 0 done before" in " ".join(again.output.split())
    # a subset of policies, then more policies, into the same folder: one run, extended
    more = _quick(models, [second], out, "--no-vlm", "--policies", "none,rescap-short")
    assert more.exit_code == 0 and "3 restored, 3 done before" in " ".join(more.output.split())


def test_inputs_from_several_folders_keep_distinct_keys(models, bench_images, tmp_path):
    from rescap.bench import collect_images

    src = Image.open(bench_images / "lq" / "astronaut.png")
    for folder, name in (("d1", "x-2.png"), ("d2", "x.png"), ("d3", "x.png")):
        (tmp_path / folder).mkdir()
        src.save(tmp_path / folder / name)
    inputs = [tmp_path / "d1" / "x-2.png", tmp_path / "d2", tmp_path / "d3" / "x.png"]
    items, _ = collect_images(inputs)
    assert sorted(it.key for it in items) == ["d1/x-2.png", "d2/x.png", "d3/x.png"]
    items_reordered, _ = collect_images(list(reversed(inputs)))
    assert {it.key: it.file for it in items} == {it.key: it.file for it in items_reordered}


def test_richness_modes_share_one_analysis_and_plain_is_asked_plainly(models, bench_images, tmp_path):
    """Through the Python API with a scripted VLM: the degradation and content steps run once per
    batch for all four richness modes, only the caption step per mode; `plain` is a free-text call."""
    from rescap.bench import run_bench
    from rescap.testing.scripted import ScriptedBackend

    def answer(prompt, step):
        if step == "degradation":
            return json.dumps({"assessment": "noisy", "noise": "moderate", "blur": "none", "compression": "none", "resolution": "none", "other": []})
        if step == "content":
            return json.dumps({"scene": "a portrait", "subjects": [{"name": "a woman in a spacesuit", "area": "large", "category": "harmed_by_detail"}]})
        if step == "caption":
            return json.dumps({"caption": "A woman in a white spacesuit in front of a flag, blurry and noisy."})
        return "An astronaut posing for a photo. It is a portrait."

    backend = ScriptedBackend(answer)
    result = run_bench([bench_images / "lq"], tmp_path / "r", restorer="diffusers", restorer_path=models["pipeline"],
                       policies="plain,rescap", metrics="none", backend=backend, relevance=None, steps=2, strength=0.6,
                       batch_size=8)  # fmt: skip
    steps = [step for step, _ in backend.calls]
    assert steps.count("degradation") == 1 and steps.count("content") == 1 and steps.count("caption") == 4
    assert steps.count("free") == 1 and all(size == 3 for _, size in backend.calls)
    plain = [r for r in result.records if r.policy == "plain"]
    assert {r.caption for r in plain} == {"An astronaut posing for a photo."}
    captions = {r.policy: r.caption for r in result.records if r.image == "astronaut.png"}
    assert all("blurry" not in captions[f"rescap-{m}"] for m in ("short", "medium", "long", "auto"))
    assert "Describe this image in one sentence." in backend.prompts


def test_a_no_reference_network_metric_through_the_bench(models, bench_images, tmp_path, no_network, monkeypatch):
    """MUSIQ (the real pyiqa architecture, random weights saved where the skip message says) scores
    every output; NIQE, still missing, is skipped and the bench goes on."""
    import re

    import torch

    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from pyiqa.archs.musiq_arch import MUSIQ
    from pyiqa.utils import download_util

    from rescap.bench.metrics import MetricSet

    monkeypatch.setattr(download_util, "DEFAULT_CACHE_DIR", str(tmp_path / "pyiqa-cache"))
    message = MetricSet.load(["musiq"], have_reference=False).skipped["musiq"]
    file, folder = re.search(r"weights file '([^']+)'.*Place the file in (\S+) and run again", message).groups()
    Path(folder).mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save({k: v.half() for k, v in MUSIQ(pretrained=False).state_dict().items()}, Path(folder) / file)

    out = tmp_path / "r"
    result = _quick(models, [bench_images / "lq" / "astronaut.png", bench_images / "lq" / "coffee.png"], out,
                    "--no-vlm", "--policies", "none,rescap-auto", "--metrics", "musiq,niqe")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text())
    assert data["lower_better"] == {"musiq": False} and "niqe" in data["config"]["skipped_metrics"]
    values = [r["metrics"]["musiq"] for r in data["records"]]
    assert len(values) == 2 * 3 and all(np.isfinite(values)) and len(set(values)) > 1
    assert "musiq per policy" in (out / "report.html").read_text()


def test_a_report_folder_inside_the_inputs_is_not_benched(models, bench_images, tmp_path):
    import shutil

    shutil.copytree(bench_images / "lq", tmp_path / "in")
    out = tmp_path / "in" / "report"
    assert _quick(models, [tmp_path / "in"], out, "--no-vlm", "--policies", "none").exit_code == 0
    again = _quick(models, [tmp_path / "in"], out, "--no-vlm", "--policies", "none")
    assert again.exit_code == 0 and "0 restored, 3 done before" in " ".join(again.output.split())
    assert {r["image"] for r in read_csv(out / "results.csv")} == {"astronaut.png", "coffee.png", "sub/grass.png"}
