"""`rescap bench` end to end on this machine, no downloads: a tiny random-weight img2img pipeline
as the restorer, a tiny random-weight VLM as the captioner, the sample photos degraded as inputs
and their clean versions as ground truth. The numbers mean nothing (random weights); the run, the
files and the report are what a real one produces.

    python examples/bench_tiny.py [OUT_DIR]          # then open OUT_DIR/report/report.html

With real models the same call is, for example:

    rescap bench lq/ --gt hq/ --restorer diffusers --restorer-model stabilityai/stable-diffusion-x4-upscaler -o report/
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from rescap.bench import run_bench
from rescap.degradation.synthesize import add_gaussian_noise
from rescap.testing.tiny_diffusers import build_tiny_pipeline
from rescap.testing.tiny_vlm import build_tiny_vlm

HERE = Path(__file__).parent


def main(out: Path) -> None:
    (out / "hq").mkdir(parents=True, exist_ok=True)
    (out / "lq").mkdir(exist_ok=True)
    clean = Image.open(HERE / "images" / "astronaut_clean.png").convert("RGB").resize((96, 96), Image.Resampling.LANCZOS)
    for i, sigma in enumerate((5, 15, 30)):
        name = f"astronaut_sigma{sigma}.png"
        clean.save(out / "hq" / name)
        Image.fromarray(add_gaussian_noise(np.asarray(clean), sigma, seed=i)).save(out / "lq" / name)
    pipeline = build_tiny_pipeline("img2img", out / "models" / "img2img")
    vlm = build_tiny_vlm("idefics3", out / "models" / "vlm")
    result = run_bench(
        [out / "lq"], out / "report", restorer="diffusers", restorer_path=str(pipeline), gt=out / "hq",
        policies="none,plain,rescap-short,rescap-auto", metrics="psnr,ssim", vlm=f"transformers:{vlm}",
        relevance="off", steps=2, strength=0.5, progress=lambda label: print("done:", label),
    )  # fmt: skip
    for name, summary in result.summary.items():
        tokens = "-" if summary.mean_caption_tokens is None else f"{summary.mean_caption_tokens:.1f}"
        print(f"{name:14s} psnr {summary.metrics.get('psnr', float('nan')):6.2f}  ssim {summary.metrics.get('ssim', float('nan')):.3f}"
              f"  caption tokens {tokens}")  # fmt: skip
    print(f"report: {out / 'report' / 'report.html'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="rescap-bench-")))
