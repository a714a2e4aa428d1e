"""Build a synthetic degradation set with known parameters from photos shipped inside packages.

Clean references: natural photos from scikit-image, scikit-learn and matplotlib, downscaled 2x with
an antialiasing Lanczos filter (which removes their own sensor noise and JPEG blocking) and cropped
to at most 384x384, plus the real photos among Debian's desktop wallpapers when installed
(``WALLPAPER_PHOTOS``: fog over water, skies, bokeh, foliage), downscaled to 768 px and cropped the
same way. Flat pictures (solid colours, gradients) and tiny images are added once. Each case is
written as a file (PNG, or JPEG for the ``jpeg_file`` group) with its ground truth in
``manifest.json``.

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
# Poisson-Gaussian sensor noise, variance a * x + b on the 0-255 scale: realistic gains and read noise
SHOT_GAINS = (0.1, 0.3, 0.6, 1.0, 2.0)
READ_VARIANCES = (0.0, 4.0, 25.0, 64.0)
NOISE_THEN_BLUR = ((10, 0.5), (20, 0.6), (30, 0.7), (15, 0.7))
UNDER_EXPOSURE = (0.2, 0.3, 0.4, 0.5, 0.6)
OVER_EXPOSURE = (1.5, 2.0, 3.0)
HAZE = (0.3, 0.4, 0.5, 0.6)
CASTS = ((1.25, 1.0, 0.8), (0.8, 1.0, 1.25), (1.0, 0.8, 1.0), (1.15, 1.0, 0.87))
# Photos that are mostly fog, sky or gradient: blur cannot be measured on them (the estimator should say so)
FLAT_PHOTOS = ("wp_ColdRipple", "wp_DarkestHour", "wp_Kite", "wp_summer_1am")


@dataclass
class Case:
    file: str
    # clean | noise | blur | jpeg_file | jpeg_png | scale | mix | flat | pg_noise | noise_blur |
    # exposure | haze | cast
    group: str
    base: str
    noise_sigma: float = 0.0  # RMS std of the noise added (Poisson-Gaussian included)
    blur_sigma: float = 0.0
    jpeg_quality: int | None = None
    scale_factor: float = 1.0
    exposure_gain: float = 1.0
    haze_transmission: float = 1.0
    cast_gains: tuple[float, float, float] | None = None
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


# Real photos among the desktop wallpapers Debian ships (apt-get install mate-backgrounds
# plasma-workspace-wallpapers): fog over water, skies and smooth gradients as well as texture.
# Used when installed; drawings and abstract art among the wallpapers are left out.
WALLPAPER_PHOTOS = (
    "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
    "OneStandsOut", "Path", "summer_1am", "Volna",
)  # fmt: skip
WALLPAPER_DIRS = (Path("/usr/share/wallpapers"), Path("/usr/share/backgrounds/mate/nature"))


def wallpaper_photo_paths(roots: tuple[Path, ...] = WALLPAPER_DIRS) -> dict[str, Path]:
    """The photos among the installed desktop wallpapers: the largest file of each."""
    found: dict[str, Path] = {}
    kde, mate = roots
    for name in WALLPAPER_PHOTOS:
        images = sorted((kde / name / "contents" / "images").glob("*.jp*g"), key=lambda p: p.stat().st_size)
        if images:
            found[f"wp_{name}"] = images[-1]
    for path in sorted(mate.glob("*.jpg")) if mate.is_dir() else []:
        found[f"wp_{path.stem}"] = path
    return found


def wallpaper_base(path: Path, crop: int = CROP, long_side: int = 768) -> np.ndarray:
    """Downscale (Lanczos) to ``long_side`` and centre-crop to ``crop`` x ``crop``."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = long_side / max(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    a = np.asarray(im)
    h, w = a.shape[:2]
    ch, cw = min(h, crop), min(w, crop)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(a[y0 : y0 + ch, x0 : x0 + cw])


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

    for base_name, clean in base_photos().items():
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
        _sensor_and_universal(clean, base_name, rng, save)
    for name, img in flat_pictures().items():
        save(img, f"flat__{name}.png", Case("", "flat", name))

    (out_dir / "manifest.json").write_text(json.dumps([asdict(c) for c in cases], indent=1))
    return cases


def base_photos() -> dict[str, np.ndarray]:
    """Every clean reference photo, by name: the package photos, then the wallpaper photos."""
    out = {name: clean_base(path, factor=DOWNSCALE.get(name, 2)) for name, path in base_photo_paths().items()}
    out.update({name: wallpaper_base(path) for name, path in wallpaper_photo_paths().items()})
    return out


def flat_pictures() -> dict[str, np.ndarray]:
    """Solid colours, gradients and tiny images: nothing to measure, nothing to report."""
    out: dict[str, np.ndarray] = {}
    for rgb in ((0, 0, 0), (255, 255, 255), (128, 128, 128), (200, 30, 40), (10, 200, 90)):
        for size in (8, 12, 40, 256):
            out[f"solid{'-'.join(map(str, rgb))}_{size}"] = np.full((size, size, 3), rgb, np.uint8)
    for size in (16, 64, 256, 384):
        yy, xx = np.mgrid[0:size, 0:size]
        ramp = np.uint8(xx * 255 / max(size - 1, 1))
        out[f"ramp_{size}"] = np.repeat(ramp[..., None], 3, axis=2)
        radius = np.hypot(yy - size / 2, xx - size / 2)
        out[f"radial_{size}"] = np.uint8(np.clip(radius / radius.max() * 255, 0, 255))
        out[f"rgbramp_{size}"] = np.stack([np.uint8(xx * 255 / size), np.uint8(yy * 255 / size), np.full((size, size), 90, np.uint8)], axis=2)
    return out


def _sensor_and_universal(clean: np.ndarray, base_name: str, rng: np.random.Generator, save) -> None:
    """Poisson-Gaussian noise, noise then a mild blur, exposure, haze and colour cast of one photo."""
    for _ in range(3):
        a, b = float(rng.choice(SHOT_GAINS)), float(rng.choice(READ_VARIANCES))
        img = syn.add_poisson_gaussian_noise(clean, a, b, seed=int(rng.integers(1 << 31)))
        rms = float(np.sqrt(np.mean(a * clean.astype(np.float64) + b)))
        save(img, f"{base_name}__pg{a:g}_{b:g}.png", Case("", "pg_noise", base_name, noise_sigma=rms, extra={"a": a, "b": b}))
    for sigma, blur in NOISE_THEN_BLUR:
        img = syn.gaussian_blur(syn.add_gaussian_noise(clean, sigma, seed=int(rng.integers(1 << 31))), blur)
        save(img, f"{base_name}__n{sigma}b{blur:g}.png", Case("", "noise_blur", base_name, noise_sigma=sigma, blur_sigma=blur))
    for gain in UNDER_EXPOSURE + (float(rng.choice(OVER_EXPOSURE)),):
        save(syn.change_exposure(clean, gain), f"{base_name}__gain{gain:g}.png", Case("", "exposure", base_name, exposure_gain=gain))
    for t in rng.choice(HAZE, size=2, replace=False):
        airlight = float(rng.uniform(200, 245))
        save(syn.add_haze(clean, float(t), airlight), f"{base_name}__haze{t:g}.png",
             Case("", "haze", base_name, haze_transmission=float(t), extra={"airlight": airlight}))  # fmt: skip
    if clean.ndim == 3:
        gains = CASTS[int(rng.integers(len(CASTS)))]
        save(syn.add_colour_cast(clean, gains), f"{base_name}__cast.png", Case("", "cast", base_name, cast_gains=gains))


def load(out_dir: Path) -> list[Case]:
    cases = [Case(**d) for d in json.loads((out_dir / "manifest.json").read_text())]
    for c in cases:
        c.cast_gains = tuple(c.cast_gains) if c.cast_gains else None
    return cases


if __name__ == "__main__":
    cases = build(Path(sys.argv[1] if len(sys.argv) > 1 else "bench_data/degradation"))
    print(f"{len(cases)} cases")
