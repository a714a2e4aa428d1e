"""Every code block of README.md runs as written, each in a fresh process, on tiny models.

The hub ids the README names (the default VLM and CLIP, the x4 upscaler) are tiny random-weight
models of the same architectures placed in a hub cache under those ids, read offline, so the
commands run unchanged. Only local placeholders are substituted: ``/models/smolvlm`` (a folder
of the user's), ``./pipeline`` and friends, and the OpenAI-compatible server's address. A line
that cannot run here is listed in ``NOT_HERE`` with the reason; a block or line this test does not
know fails it, so a new README example is run or explicitly excused.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

# (pattern of a shell line, why it does not run in this test)
NOT_HERE = [
    (r"^pip install", "installs packages: CI's own set-up step does exactly this"),
    (r"^ray start", "starts a Ray cluster node"),
    (r"--ray-address auto", "needs a running Ray cluster (the Ray engine is tested on a local cluster in tests/recaption)"),
    (r"python -m pytest", "is this test suite"),
    (r"^python benchmarks/", "benchmarks take minutes and print figures; run on their own"),
    (r"^\.ci/run", "is CI itself"),
    (r"ComfyUI/", "needs a ComfyUI checkout (the pack's nodes are tested in tests/comfyui)"),
]
LANGUAGES = {"bash": "shell", "python": "python", "": None}  # "": the project layout, not code


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(README.read_text(encoding="utf-8"))]


def shell_commands(block: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments and pip segments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("&&")]
        kept = [p for p in parts if not re.match(r"^pip install", p)]
        if kept and kept != parts:
            line = " && ".join(kept)
        commands.append(line)
    return commands


def not_here(command: str) -> str | None:
    return next((why for pattern, why in NOT_HERE if re.search(pattern, command)), None)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, photos):
    """A working folder with the files the README's examples name, and a hub cache of tiny models."""
    pytest.importorskip("diffusers")
    from rescap.backends.model_source import DEFAULT_CPU_MODEL
    from rescap.control.relevance import DEFAULT_CLIP
    from rescap.degradation.synthesize import add_gaussian_noise
    from rescap.testing.hub_cache import add_to_hub_cache
    from rescap.testing.tiny_clip import build_tiny_clip
    from rescap.testing.tiny_diffusers import build_tiny_flux_img2img, build_tiny_pipeline
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = tmp_path_factory.mktemp("readme")
    models, work, cache = root / "models", root / "work", root / "hub"
    work.mkdir()
    vlm = build_tiny_vlm("idefics3", models / "smolvlm")
    add_to_hub_cache(cache, DEFAULT_CPU_MODEL.repo_id, vlm, DEFAULT_CPU_MODEL.revision)
    add_to_hub_cache(cache, DEFAULT_CLIP.repo_id, build_tiny_clip(models / "clip"), DEFAULT_CLIP.revision)
    add_to_hub_cache(cache, "stabilityai/stable-diffusion-x4-upscaler", build_tiny_pipeline("upscale", models / "upscale"))
    img2img = build_tiny_pipeline("img2img", models / "img2img")
    flux = build_tiny_flux_img2img(models / "flux")

    def picture(name: str, photo: str, size: int = 48, noise: float = 10) -> Path:
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        clean = np.asarray(Image.fromarray(photos[photo]).resize((size, size), Image.Resampling.LANCZOS))
        Image.fromarray(add_gaussian_noise(clean, noise, seed=len(name))).save(path, **({"quality": 60} if name.endswith(".jpg") else {}))
        return path

    for name, photo in [("photo.jpg", "coffee"), ("photo.png", "astronaut"), ("a.png", "astronaut"), ("b.jpg", "coffee"),
                        ("photo1.png", "astronaut"), ("photo2.jpg", "coffee"), ("photos/one.png", "astronaut"),
                        ("photos/two.jpg", "coffee"), ("lq/one.png", "astronaut")]:  # fmt: skip
        picture(name, photo)
    picture("hq/one.png", "astronaut", noise=0)
    for folder in ("my_captions", "my-captions"):
        (work / folder).mkdir()
        (work / folder / "one.txt").write_text("An astronaut in a white suit, smiling, with a flag behind her.\n")
        (work / folder / "two.txt").write_text("A cup of coffee on a saucer, with latte art.\n")
    (work / "examples").mkdir()
    (work / "examples" / "images").symlink_to(README.parent / "examples" / "images")
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    pq.write_table(pa.table({"path": [str(work / "photos" / "one.png"), str(work / "photos" / "two.jpg")]}), work / "manifest.parquet")
    (work / "shards").mkdir()
    with tarfile.open(work / "shards" / "shard-000.tar", "w") as tar:
        tar.add(work / "a.png", arcname="000.png")
        tar.add(work / "b.jpg", arcname="001.jpg")

    from rescap.testing.openai_standin import StandInServer

    server = StandInServer()
    import socket

    ports = []
    for _ in range(2):  # the README's `rescap serve --port 8080` and `rescap ui --port 7860`, on ports free here
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    serve_port, ui_port = ports
    substitutions = [
        ("127.0.0.1:8080", f"127.0.0.1:{serve_port}"),
        ("--port 8080", f"--port {serve_port}"),
        ("--port 7860", f"--port {ui_port}"),
        ("/models/smolvlm", str(vlm)),
        ("./flux-pipeline", str(flux)),
        ("./my-pipeline", str(img2img)),
        ("./pipeline", str(img2img)),
        ("http://127.0.0.1:8000/v1", server.url),
    ]
    env = {
        **os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TORCH_HOME": str(root / "torch-home"),
        "OMP_NUM_THREADS": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }  # fmt: skip
    env.pop("OPENAI_API_KEY", None)
    background: list[subprocess.Popen] = []
    yield {"work": work, "env": env, "substitutions": substitutions, "background": background, "serve_port": serve_port, "ui_port": ui_port}
    for proc in background:  # servers a block started with `&`: stopped as a user would (SIGTERM)
        proc.terminate()
        assert proc.wait(60) == 0, "a README server did not stop cleanly on SIGTERM"
    server.close()


def substitute(text: str, substitutions) -> str:
    for old, new in substitutions:
        text = text.replace(old, new)
    return text


def start_background(command: str, sandbox) -> None:
    """A README command ending in ``&`` (``rescap serve ... &``, ``rescap ui ... &``): started as the shell would, and
    waited for until it answers, so the blocks after it can use it."""
    import urllib.request

    proc = subprocess.Popen(["bash", "-c", f"exec {command[:-1].strip()}"], cwd=sandbox["work"], env=sandbox["env"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    sandbox["background"].append(proc)
    ui = re.search(r"\brescap ui\b", command) is not None
    url = f"http://127.0.0.1:{sandbox['ui_port']}/" if ui else f"http://127.0.0.1:{sandbox['serve_port']}/health"
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"README background command exited ({proc.returncode}):\n{command}\n{proc.stderr.read()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            __import__("time").sleep(0.2)
    raise AssertionError(f"README background command did not start answering: {command}")


def run(args, sandbox, timeout=900):
    return subprocess.run(args, cwd=sandbox["work"], env=sandbox["env"], capture_output=True, text=True, timeout=timeout)


def test_every_block_is_known():
    found = blocks()
    assert len(found) >= 10
    for language, body in found:
        assert language in LANGUAGES, f"README block in {language!r}: teach this test to run it"


@pytest.mark.parametrize("index", range(len(blocks())))
def test_readme_block_runs(index, sandbox):
    language, body = blocks()[index]
    kind = LANGUAGES[language]
    if kind is None:
        pytest.skip("not code (the project layout)")
    if kind == "python":
        result = run([sys.executable, "-c", substitute(body, sandbox["substitutions"])], sandbox)
        assert result.returncode == 0, f"README python block {index} failed:\n{body}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr
        return
    ran = 0
    for command in shell_commands(body):
        if not_here(command):
            continue
        if command.endswith("&") and not command.endswith("&&"):
            start_background(substitute(command, sandbox["substitutions"]), sandbox)
            ran += 1
            continue
        result = run(["bash", "-c", substitute(command, sandbox["substitutions"])], sandbox)
        assert result.returncode == 0, f"README command failed (exit {result.returncode}):\n{command}\n{result.stderr[-3000:]}"
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        ran += 1
    if not ran:
        pytest.skip("; ".join(sorted({not_here(c) for c in shell_commands(body)})))


def test_readme_outputs_are_what_the_readme_says(sandbox):
    """After the blocks ran: the files they promise exist and hold the fields the README lists."""
    work = sandbox["work"]
    if not (work / "prompts.jsonl").exists():
        pytest.skip("run with the block tests")
    record = json.loads((work / "prompts.jsonl").read_text().splitlines()[0])
    for field in ("file", "captioned", "caption", "positive_prompt", "negative_prompt", "restoration_prompt", "degradation", "token_counts", "slot_prompts"):
        assert field in record, field
    recaptioned = json.loads((work / "captions.jsonl").read_text().splitlines()[0])
    assert {"file", "caption", "positive_prompt", "negative_prompt", "restoration_prompt", "status"} <= set(recaptioned)
    assert (work / "txt" / "shard-000.tar" / "000.txt").exists()  # HYPIR's layout from the shard
    assert (work / "restored" / "one.png").exists() and (work / "restored-own" / "one.png").exists()
    assert (work / "report" / "report.html").exists() and (work / "report-nr" / "report.html").exists()
