"""Estimate the degradation of every image in a folder and group them by overall level.

    python examples/estimate_folder.py PATH/TO/IMAGES

With no argument it builds a small demo folder from scikit-image's sample photos.
"""

from __future__ import annotations

import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from PIL import Image

from rescap import estimate_degradation
from rescap.files import iter_image_files


def demo_folder() -> Path:
    from skimage import data

    from rescap.degradation.synthesize import add_gaussian_noise, down_up, gaussian_blur, jpeg_bytes

    folder = Path(tempfile.mkdtemp(prefix="rescap-demo-"))
    photo = data.astronaut()
    Image.fromarray(photo).save(folder / "clean.png")
    Image.fromarray(add_gaussian_noise(photo, 25, seed=0)).save(folder / "noisy.png")
    Image.fromarray(gaussian_blur(photo, 2.0)).save(folder / "blurred.png")
    Image.fromarray(down_up(photo, 4)).save(folder / "upscaled_x4.png")
    (folder / "compressed.jpg").write_bytes(jpeg_bytes(photo, 20))
    return folder


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else demo_folder()
    groups: dict[str, list[str]] = defaultdict(list)
    for path in iter_image_files([folder]):
        try:
            report = estimate_degradation(path)
        except Exception as exc:  # keep going on unreadable files
            print(f"{path.name}: {exc}")
            continue
        groups[report.overall_level.value].append(path.name)
        print(
            f"{path.name:<20} noise {report.noise_sigma:5.1f}  blur {report.blur_sigma:4.2f}  "
            f"jpeg {report.jpeg_quality or '-':>3}  x{report.scale_factor:g}  -> {report.overall_level.value}"
        )
    for level in ("none", "mild", "moderate", "severe"):
        if groups[level]:
            print(f"{level}: {', '.join(groups[level])}")


if __name__ == "__main__":
    main()
