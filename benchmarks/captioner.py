"""Captioner latency and throughput: per-image split (estimate / VLM steps / control), batched
against one by one, and rescap's own work per image against scikit-image's estimate_sigma.

32 photos (512x512, degraded), tiny random-weight VLM and CLIP built here (real code paths).
"Own work" is everything but model calls: estimation, templates, parsing, filters and CLIP
relevance scoring; it is compared with ``skimage.restoration.estimate_sigma`` alone on the same
512x512 images, in the same run.

    python benchmarks/captioner.py [--images 32] [--arch qwen2_vl]

Targets: batched >= 3x one by one; own work per 512x512 image within 2x of estimate_sigma.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


def photos(n: int, size: int = 512) -> list[np.ndarray]:
    from skimage import data

    from rescap.degradation.synthesize import add_gaussian_noise, gaussian_blur, jpeg_compress

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.stereo_motorcycle()[0]]
    out = []
    for i in range(n):
        a = sources[i % len(sources)]
        a = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(a).resize((max(size, a.shape[1]), max(size, a.shape[0]))))
        y, x = (i * 7) % (a.shape[0] - size + 1), (i * 11) % (a.shape[1] - size + 1)
        crop = np.ascontiguousarray(a[y : y + size, x : x + size])
        kind = i % 3
        crop = add_gaussian_noise(crop, 10 + 3 * (i % 5), seed=i) if kind == 0 else gaussian_blur(crop, 1 + (i % 3) * 0.5) if kind == 1 else jpeg_compress(crop, 30 + 10 * (i % 4))
        out.append(crop)
    return out


def run_batched(captioner, images, batch: int) -> tuple[float, float, dict]:
    backend = captioner.backend
    backend.stats = type(backend.stats)()
    split = {"estimate": 0.0, "vlm": 0.0, "control": 0.0}
    start = time.perf_counter()
    for k in range(0, len(images), batch):
        for b in captioner.caption_batch(images[k : k + batch]):
            split["estimate"] += b.timings.get("estimate", 0.0)
            split["control"] += b.timings.get("control", 0.0)
            split["vlm"] += sum(v for key, v in b.timings.items() if key.startswith("vlm_"))
    wall = time.perf_counter() - start
    return wall, backend.stats.model_seconds, {k: v / len(images) for k, v in split.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--arch", default="qwen2_vl", choices=["qwen2_vl", "idefics3"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--micro-batch", type=int, default=16, help="conversations per generate call in the backend")
    args = parser.parse_args()

    from rescap.backends import create_backend
    from rescap.captioning.captioner import Captioner
    from rescap.testing.tiny_clip import build_tiny_clip
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = Path(tempfile.mkdtemp(prefix="rescap-capbench-"))
    vlm = build_tiny_vlm(args.arch, root / args.arch)
    clip = build_tiny_clip(root / "clip")
    images = photos(args.images)
    backend = create_backend(f"transformers:{vlm}", device="cpu", batch_size=args.micro_batch)

    from skimage.restoration import estimate_sigma

    sk = []
    for im in images:
        x = im.astype(np.float64) / 255.0
        estimate_sigma(x, channel_axis=-1, average_sigmas=True)
        t = time.perf_counter()
        estimate_sigma(x, channel_axis=-1, average_sigmas=True)
        sk.append(time.perf_counter() - t)
    sk_ms = statistics.median(sk) * 1000

    print(f"{args.images} photos 512x512 (noisy / blurred / JPEG), tiny {args.arch} + tiny CLIP, restorer supir")
    print(f"{'mode':<8}{'batched img/s':>14}{'1-by-1 img/s':>14}{'ratio':>8}{'estimate ms':>13}{'VLM ms':>9}{'control ms':>12}{'own work ms':>13}{'x skimage':>11}")
    for mode in ("chain", "fused", "single"):
        captioner = Captioner(backend, relevance=str(clip), restorer="supir", mode=mode)
        captioner.caption_batch(images[:2])  # warm-up
        best = None
        for _ in range(args.repeats):
            wall_b, model_b, split = run_batched(captioner, images, args.images)
            wall_1, _, _ = run_batched(captioner, images, 1)
            cand = (wall_b, wall_1, model_b, split)
            best = cand if best is None or cand[0] < best[0] else best
        wall_b, wall_1, model_b, split = best
        own_ms = (wall_b - model_b) / args.images * 1000
        print(f"{mode:<8}{args.images / wall_b:>14.1f}{args.images / wall_1:>14.1f}{wall_1 / wall_b:>7.1f}x"
              f"{split['estimate'] * 1000:>13.1f}{split['vlm'] * 1000:>9.1f}{split['control'] * 1000:>12.1f}{own_ms:>13.1f}{own_ms / sk_ms:>10.2f}x")  # fmt: skip
    print(f"\nanchor: skimage estimate_sigma on the same 512x512 images, median {sk_ms:.1f} ms")
    print("targets: batched >= 3x one by one; own work <= 2x the anchor")


if __name__ == "__main__":
    main()
