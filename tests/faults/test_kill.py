"""kill -9 in the middle of restore and bench, then the same command again: every output whole,
every image recorded once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from .folders import crop_folder




@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    pytest.importorskip("diffusers")
    from rescap.testing.tiny_diffusers import build_tiny_pipeline

    return str(build_tiny_pipeline("img2img", tmp_path_factory.mktemp("pipe") / "img2img"))


@pytest.fixture
def folder(tmp_path, photos):
    return crop_folder(tmp_path / "in", photos, 6, 64, name="img{i}.png")


def kill_when(args, ready, timeout=240):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rescap.cli", *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return finished


def rerun(args):
    return subprocess.run([sys.executable, "-m", "rescap.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)  # fmt: skip


def test_restore_killed_then_rerun(folder, tmp_path, pipeline):
    out = tmp_path / "out"
    args = ["restore", folder, "-o", out, "--restorer", "diffusers", "--restorer-model", pipeline, "--no-vlm", "--steps", "2", "-b", "1"]
    finished = kill_when(args, lambda: len(list(out.glob("*.png"))) >= 2)
    assert not finished, "killed before the end"
    again = rerun(args)
    assert again.returncode == 0, again.stderr
    assert "skipped (already done)" in again.stderr
    for i in range(6):
        with Image.open(out / f"img{i}.png") as im:
            im.load()  # whole, decodable
        record = json.loads((out / f"img{i}.json").read_text())
        assert record["file"].endswith(f"img{i}.png") and "error" not in record


def test_restore_redoes_an_image_whose_record_was_not_written(folder, tmp_path, pipeline):
    """A kill between writing an image and its record left the image skipped on every rerun and its
    record (prompts, degradation, timings) never written."""
    out = tmp_path / "out"
    args = ["restore", folder, "-o", out, "--restorer", "diffusers", "--restorer-model", pipeline, "--no-vlm", "--steps", "2", "-b", "1"]
    assert rerun(args).returncode == 0
    (out / "img1.json").unlink()  # as a kill right after img1.png was saved leaves it
    again = rerun(args)
    assert again.returncode == 0, again.stderr
    assert "5 skipped (already done)" in again.stderr, again.stderr
    record = json.loads((out / "img1.json").read_text())
    assert record["file"].endswith("img1.png") and "error" not in record


def test_bench_killed_then_rerun(folder, tmp_path, pipeline):
    out = tmp_path / "b"
    args = ["bench", folder, "-o", out, "--restorer", "diffusers", "--restorer-model", pipeline, "--no-vlm", "--steps", "2",
            "--metrics", "none", "--policies", "none,rescap-short", "-b", "1"]  # fmt: skip
    log = out / "records.jsonl"
    finished = kill_when(args, lambda: log.exists() and len(log.read_text().splitlines()) >= 3)
    assert not finished, "killed before the end"
    again = rerun(args)
    assert again.returncode == 0, again.stderr
    records = json.loads((out / "results.json").read_text())["records"]
    keys = [(r["image"], r["policy"]) for r in records]
    assert len(keys) == len(set(keys)) == 6 * 3  # every image under none, rescap-short and the input row, once
    for record in records:
        assert record["status"] == "ok"
        with Image.open(out / record["output"]) as im:
            im.load()
