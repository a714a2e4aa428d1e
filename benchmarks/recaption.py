"""`rescap recaption --engine local` at scale: throughput against a plain one-image loop, peak
memory at 1,000 vs 5,000 images, and the cost of deciding what is done when resuming.

Images are generated here (small crops of packaged photos, with random degradations). Each run is
a separate process, whose peak RSS is read from the OS.

    python benchmarks/recaption.py                       # tiny transformers model built here
    python benchmarks/recaption.py --model vllm:/path/to/tiny --small 300 --large 1500

Targets: >= 3x the plain loop; peak memory at 5,000 within 10 % of 1,000; resuming a half-done
5,000-image job spends under 1 % of the time the done half took on deciding what is done.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PEAK = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"


def generate(folder: Path, n: int, size: int = 64) -> None:
    from PIL import Image
    from skimage import data

    from rescap.degradation.synthesize import add_gaussian_noise, gaussian_blur, jpeg_compress

    rng = np.random.default_rng(0)
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    for i in range(n):
        a = photos[i % len(photos)]
        y, x = rng.integers(0, a.shape[0] - size), rng.integers(0, a.shape[1] - size)
        crop = np.ascontiguousarray(a[y : y + size, x : x + size])
        kind = i % 3
        crop = add_gaussian_noise(crop, 15, seed=i) if kind == 0 else gaussian_blur(crop, 1.5) if kind == 1 else jpeg_compress(crop, 40)
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(crop).save(sub / f"{i:06d}.png")


def recaption(source: Path, out: Path, model: str, batch: int, *extra: str) -> dict:
    cmd = [sys.executable, "-c", PEAK, sys.executable, "-m", "rescap.cli", "recaption", str(source), "-o", str(out),
           "--vlm", model, "--relevance", "off", "-b", str(batch), *OPTIONS, *extra]  # fmt: skip
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="400"))
    wall = time.perf_counter() - start
    text = run.stdout + run.stderr
    m = re.search(r"done (\d+), skipped (\d+).*?failed (\d+), ([\d.]+) s .*?deciding what was done took\s+([\d.]+)\s*s", text, re.S)
    if not m:
        raise RuntimeError(f"recaption failed:\n{text[-2000:]}")
    peak = int(re.search(r"PEAK_KB (\d+)", text).group(1))
    return {"done": int(m.group(1)), "skipped": int(m.group(2)), "failed": int(m.group(3)), "seconds": float(m.group(4)),
            "decide": float(m.group(5)), "wall": wall, "peak_mb": peak / 1024}  # fmt: skip


OPTIONS: list[str] = []


def plain_loop(source: Path, model: str, n: int) -> float:
    """Images/s of the obvious script: one Captioner, one image per call."""
    from rescap.cli.caption import parse_backend_options

    BACKEND_OPTIONS = parse_backend_options([o for o in OPTIONS if o != "--backend-option"])
    code = f"""
import sys, time
from pathlib import Path
from rescap.captioning.captioner import Captioner
files = sorted(Path({str(source)!r}).rglob('*.png'))[:{n}]
from rescap.backends import create_backend
captioner = Captioner(create_backend({model!r}, **{BACKEND_OPTIONS!r}), relevance=None)
captioner.caption(str(files[0]))
start = time.perf_counter()
for f in files:
    captioner.caption(str(f))
print('RATE', len(files) / (time.perf_counter() - start))
"""
    code = "if __name__ == '__main__':\n" + "\n".join("    " + line for line in code.strip().splitlines())  # vLLM spawns
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    m = re.search(r"RATE ([\d.]+)", run.stdout)
    if not m:
        raise RuntimeError(run.stderr[-2000:])
    return float(m.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="VLM model string (default: a tiny Idefics3 built here)")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--loop-images", type=int, default=100)
    parser.add_argument("--backend-option", "-O", action="append", default=[], help="KEY=VALUE for the backend")
    args = parser.parse_args()
    for pair in args.backend_option:
        OPTIONS.extend(["--backend-option", pair])
    root = Path(tempfile.mkdtemp(prefix="rescap-recaption-bench-"))
    model = args.model
    if model is None:
        from rescap.testing.tiny_vlm import build_tiny_vlm

        model = f"transformers:{build_tiny_vlm('idefics3', root / 'vlm')}"
    small, large = root / "small", root / "large"
    generate(small, args.small)
    generate(large, args.large)

    loop_rate = plain_loop(small, model, args.loop_images)
    a = recaption(small, root / "small.jsonl", model, args.batch_size)
    b = recaption(large, root / "large.jsonl", model, args.batch_size)
    # resume: keep the first half of the finished records, rerun (one image), time the decision
    lines = (root / "large.jsonl").read_text().splitlines()
    half = root / "half.jsonl"
    half.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    c = recaption(large, half, model, args.batch_size, "--limit", "1")
    half_time = b["seconds"] * (len(lines) // 2) / max(b["done"] + b["failed"], 1)

    rate_a = a["done"] / a["seconds"]
    print(f"\nmodel {model}; images {args.small} and {args.large} (64x64, degraded); batch {args.batch_size}; one thread")
    print(f"{'run':<44}{'images':>8}{'s':>9}{'img/s':>9}{'peak MB':>9}")
    print(f"{'plain loop: Captioner.caption per image (anchor)':<44}{args.loop_images:>8}{'':>9}{loop_rate:>9.2f}{'':>9}")
    print(f"{'rescap recaption, ' + str(args.small) + ' images':<44}{a['done']:>8}{a['seconds']:>9.1f}{rate_a:>9.2f}{a['peak_mb']:>9.0f}")
    print(f"{'rescap recaption, ' + str(args.large) + ' images':<44}{b['done']:>8}{b['seconds']:>9.1f}{b['done'] / b['seconds']:>9.2f}{b['peak_mb']:>9.0f}")
    ratio, growth, share = rate_a / loop_rate, b["peak_mb"] / a["peak_mb"] - 1, c["decide"] / half_time
    print(f"\n{'PASS' if ratio >= 3 else 'FAIL'}  throughput vs plain loop: {ratio:.1f}x (target >= 3x)")
    print(f"{'PASS' if abs(growth) <= 0.10 else 'FAIL'}  peak memory {args.large} vs {args.small} images: {growth * 100:+.1f} % (target within 10 %)")
    print(f"{'PASS' if share < 0.01 else 'FAIL'}  resume of a half-done {args.large}-image job: deciding took {c['decide'] * 1000:.1f} ms, "
          f"{share * 100:.3f} % of the {half_time:.0f} s the done half took (target < 1 %)")  # fmt: skip
    (root / "summary.json").write_text(json.dumps({"plain": loop_rate, "small": a, "large": b, "resume": c}, indent=1))


if __name__ == "__main__":
    main()
