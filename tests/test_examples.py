"""The examples run as documented (fresh processes, as a user would start them)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_estimate_folder_example():
    done = run(str(EXAMPLES / "estimate_folder.py"), str(EXAMPLES / "images"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "coffee_q30.jpg" in done.stdout


def test_bench_example_writes_a_report(tmp_path):
    from rescap.extras import is_available

    if not (is_available("pyiqa") and is_available("diffusers")):
        pytest.skip("needs rescap[eval,diffusers]")
    done = run(str(EXAMPLES / "bench_tiny.py"), str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rescap-auto" in done.stdout and "psnr" in done.stdout
    for name in ("report.html", "results.csv", "results.json"):
        assert (tmp_path / "report" / name).is_file()


def test_text_per_restorer_example():
    done = run(str(EXAMPLES / "text_per_restorer.py"), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {"supir", "pasd", "dreamclear", "sd"} <= {r["restorer"] for r in rows}
    assert all(s["tokens"] <= s["usable"] for r in rows for s in r["slots"])


def test_ui_screenshot_example(tmp_path):
    """The script that takes the README's screenshot of ``rescap ui`` runs and the picture is not blank."""
    import numpy as np
    from PIL import Image

    from tests.browser import chromium

    pytest.importorskip("gradio")
    pytest.importorskip("playwright")
    chromium()
    target = tmp_path / "ui.png"
    done = run(str(EXAMPLES / "ui_screenshot.py"), str(target))
    assert done.returncode == 0, done.stderr[-3000:]
    shot = np.asarray(Image.open(target).convert("RGB"))
    assert shot.std() > 20 and len(np.unique(shot.reshape(-1, 3), axis=0)) > 200
