"""`rescap bench` cost: the whole bench against the restorer alone, and what sharing one analysis
between the richness modes saves.

Generated 128x128 degraded photos with their clean versions as ground truth; a tiny random-weight
img2img pipeline as the restorer and a tiny random-weight Idefics3 as the VLM (real code paths),
metrics psnr and ssim; one thread. Anchors, measured in the same run:

- the restorer alone: the pipeline called once per image and policy, nothing else;
- the four richness modes captioned the simple way: one ``Captioner.caption_batch`` per mode.

    python benchmarks/bench.py [--images 12]

Reported (no target in the issue; for tracking): bench wall time / restorer alone, and the split;
shared-analysis captioning time / one caption_batch per mode.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

POLICIES = "none,plain,rescap"  # none, plain and the four richness modes: 6 restorations per image


def make_images(root: Path, n: int, size: int = 128) -> None:
    from PIL import Image
    from skimage import data

    from rescap.degradation.synthesize import add_gaussian_noise, gaussian_blur

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    (root / "hq").mkdir(parents=True)
    (root / "lq").mkdir()
    for i in range(n):
        a = sources[i % len(sources)]
        y, x = (i * 37) % (a.shape[0] - 2 * size), (i * 53) % (a.shape[1] - 2 * size)
        hq = Image.fromarray(np.ascontiguousarray(a[y : y + 2 * size, x : x + 2 * size])).resize((size, size), Image.Resampling.LANCZOS)
        hq.save(root / "hq" / f"{i:03d}.png")
        lq = gaussian_blur(np.asarray(hq), 1.2) if i % 2 else add_gaussian_noise(np.asarray(hq), 15, seed=i)
        Image.fromarray(lq).save(root / "lq" / f"{i:03d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=12)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from PIL import Image

    from rescap.adapters import get_adapter
    from rescap.backends import create_backend
    from rescap.bench import run_bench
    from rescap.captioning.captioner import Captioner
    from rescap.control.richness import RichnessPolicy
    from rescap.testing.tiny_diffusers import build_tiny_pipeline
    from rescap.testing.tiny_vlm import build_tiny_vlm

    root = Path(tempfile.mkdtemp(prefix="rescap-bench-bench-"))
    make_images(root, args.images)
    pipeline = str(build_tiny_pipeline("img2img", root / "img2img"))
    vlm = f"transformers:{build_tiny_vlm('idefics3', root / 'vlm')}"
    files = sorted((root / "lq").glob("*.png"))
    restore_options = {"steps": 2, "strength": 0.6}

    # anchor 1: the restorer alone, once per image and policy (6 policies)
    adapter = get_adapter("diffusers")
    pipe = adapter.load(pipeline)
    empty = adapter.final_prompts_for("")
    inputs = [Image.open(f).convert("RGB") for f in files]
    adapter.restore(pipe, inputs[0], empty, seed=0, **restore_options)  # warm-up
    start = time.perf_counter()
    for image in inputs:
        for _ in range(6):
            adapter.restore(pipe, image, empty, seed=0, **restore_options)
    alone = time.perf_counter() - start

    # the bench, end to end (its own VLM load included; the anchor's pipeline load is not, so the
    # bench also pays one pipeline load)
    start = time.perf_counter()
    result = run_bench([root / "lq"], root / "report", restorer="diffusers", restorer_path=pipeline, gt=root / "hq",
                       policies=POLICIES, metrics="psnr,ssim", vlm=vlm, relevance=None, **restore_options)  # fmt: skip
    bench = time.perf_counter() - start
    rows = [r for r in result.records if r.status == "ok" and r.policy != "input"]
    split = {key: sum(r.timings.get(key, 0.0) for r in result.records) for key in ("caption", "restore", "metrics")}

    # anchor 2: four richness modes, one caption_batch each, against one shared analysis
    backend = create_backend(vlm)
    captioners = [
        Captioner(backend, restorer=adapter, policy=RichnessPolicy(mode=mode), relevance=None)
        for mode in ("short", "medium", "long", "auto")
    ]  # fmt: skip
    paths = [str(f) for f in files]
    captioners[0].caption_batch(paths[:2])  # warm-up
    start = time.perf_counter()
    for captioner in captioners:
        captioner.caption_batch(paths)
    separate = time.perf_counter() - start
    start = time.perf_counter()
    prepared = [captioners[0].prepare(p) for p in paths]
    captioners[0].analyze(prepared)
    for captioner in captioners:
        captioner.finish(Captioner.fork(prepared))
    shared = time.perf_counter() - start
    backend.close()

    n = len(files)
    print(f"{n} images x 6 policies (none, plain, rescap short/medium/long/auto), 128x128, tiny img2img (2 steps), "
          f"tiny Idefics3, metrics psnr+ssim, one thread")  # fmt: skip
    print(f"restorer alone (anchor)         {alone:7.2f} s   {alone / (6 * n) * 1000:7.1f} ms per restoration")
    print(f"rescap bench, end to end        {bench:7.2f} s   = {bench / alone:.2f}x the restorer alone "
          f"({len(rows)} restorations ok)")  # fmt: skip
    print(f"  split: captions {split['caption']:.2f} s, restorations {split['restore']:.2f} s, metrics {split['metrics']:.2f} s, "
          f"rest (loading, estimates, report) {bench - sum(split.values()):.2f} s")  # fmt: skip
    print(f"four richness modes, one caption_batch each (anchor)  {separate:6.2f} s")
    print(f"four richness modes, one shared analysis              {shared:6.2f} s   = {shared / separate:.2f}x the anchor")
    print(f"report.html {os.path.getsize(root / 'report' / 'report.html') / 1e6:.2f} MB; folder {root}")


if __name__ == "__main__":
    main()
