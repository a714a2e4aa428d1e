"""Build a synthetic degradation set with known parameters from photos shipped inside packages.

Clean references: natural photos from scikit-image, scikit-learn and matplotlib, downscaled 2x with
an antialiasing Lanczos filter (which removes their own sensor noise and JPEG blocking) and cropped
to at most 384x384. Each case is written as a file (PNG, or JPEG for the ``jpeg_file`` group) with
its ground truth in ``manifest.json``.

    python benchmarks/synthetic_set.py OUT_DIR      # writes OUT_DIR/*.png|jpg + manifest.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from rescap.degradation import synthesize as syn

NOISE_SIGMAS = (5, 10, 15, 20, 30, 40, 50)
BLUR_SIGMAS = (0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 3.5)
JPEG_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
SCALES = (2, 3, 4)
CROP = 384


@dataclass
class Case:
    file: str
    group: str  # clean | noise | blur | jpeg_file | jpeg_png | scale | mix
    base: str
    noise_sigma: float = 0.0
    blur_sigma: float = 0.0
    jpeg_quality: int | None = None
    scale_factor: float = 1.0
    extra: dict = field(default_factory=dict)


def _package_dir(module: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{module} is needed for the benchmark set: pip install 'rescap[dev]'")
    return Path(spec.origin).parent


def base_photo_paths() -> dict[str, Path]:
    """Natural photos (not drawings or charts) shipped inside installed packages."""
    sk = _package_dir("skimage") / "data"
    skl = _package_dir("sklearn") / "datasets" / "images"
    mpl = _package_dir("matplotlib") / "mpl-data" / "sample_data"
    names = {
        "astronaut": sk / "astronaut.png",
        "chelsea": sk / "chelsea.png",
        "coffee": sk / "coffee.png",
        "rocket": sk / "rocket.jpg",
        "motorcycle": sk / "motorcycle_left.png",
        "hubble": sk / "hubble_deep_field.jpg",
        "retina": sk / "retina.jpg",
        "camera": sk / "camera.png",
        "moon": sk / "moon.png",
        "coins": sk / "coins.png",
        "brick": sk / "brick.png",
        "grass": sk / "grass.png",
        "gravel": sk / "gravel.png",
        "china": skl / "china.jpg",
        "flower": skl / "flower.jpg",
        "grace_hopper": mpl / "grace_hopper.jpg",
    }
    return {k: v for k, v in names.items() if v.exists()}


# retina.jpg was itself upsampled 4x (its 4-pixel interpolation grid is plain in its spectrum), and
# hubble_deep_field.jpg keeps its 8x8 JPEG grid through a 2x reduction.
DOWNSCALE = {"retina": 4, "hubble": 4}


def clean_base(path: Path, crop: int = CROP, factor: int = 2) -> np.ndarray:
    """Downscale by ``factor`` (Lanczos) and centre-crop to at most ``crop`` x ``crop``."""
    with Image.open(path) as im:
        im = im.convert("L" if im.mode in ("L", "I;16", "I") else "RGB")
        im = im.resize((im.width // factor, im.height // factor), Image.Resampling.LANCZOS)
    a = np.asarray(im)
    h, w = a.shape[:2]
    ch, cw = min(h, crop), min(w, crop)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(a[y0 : y0 + ch, x0 : x0 + cw])


def build(out_dir: Path, seed: int = 0) -> list[Case]:
    """Write the whole set to ``out_dir`` and return its cases (also saved as manifest.json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cases: list[Case] = []

    def save(arr: np.ndarray, name: str, case: Case) -> None:
        Image.fromarray(arr).save(out_dir / name)
        case.file = name
        cases.append(case)

    for base_name, path in base_photo_paths().items():
        clean = clean_base(path, factor=DOWNSCALE.get(base_name, 2))
        save(clean, f"{base_name}__clean.png", Case("", "clean", base_name))
        for s in NOISE_SIGMAS:
            img = syn.add_gaussian_noise(clean, s, seed=int(rng.integers(1 << 31)))
            save(img, f"{base_name}__noise{s}.png", Case("", "noise", base_name, noise_sigma=s))
        for s in BLUR_SIGMAS:
            save(syn.gaussian_blur(clean, s), f"{base_name}__blur{s}.png", Case("", "blur", base_name, blur_sigma=s))
        for q in JPEG_QUALITIES:
            name = f"{base_name}__q{q}.jpg"
            (out_dir / name).write_bytes(syn.jpeg_bytes(clean, q))
            cases.append(Case(name, "jpeg_file", base_name, jpeg_quality=q))
            save(syn.jpeg_compress(clean, q), f"{base_name}__q{q}.png", Case("", "jpeg_png", base_name, jpeg_quality=q))
        for f in SCALES:
            save(syn.down_up(clean, f), f"{base_name}__x{f}.png", Case("", "scale", base_name, scale_factor=f))
        for i in range(2):
            b = float(rng.choice(BLUR_SIGMAS))
            n = float(rng.choice(NOISE_SIGMAS[:5]))
            q = int(rng.choice(JPEG_QUALITIES[2:]))
            img = syn.jpeg_compress(syn.add_gaussian_noise(syn.gaussian_blur(clean, b), n, seed=i), q)
            save(img, f"{base_name}__mix{i}.png", Case("", "mix", base_name, noise_sigma=n, blur_sigma=b, jpeg_quality=q))

    (out_dir / "manifest.json").write_text(json.dumps([asdict(c) for c in cases], indent=1))
    return cases


def load(out_dir: Path) -> list[Case]:
    return [Case(**d) for d in json.loads((out_dir / "manifest.json").read_text())]


if __name__ == "__main__":
    cases = build(Path(sys.argv[1] if len(sys.argv) > 1 else "bench_data/degradation"))
    print(f"{len(cases)} cases")
