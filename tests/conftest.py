"""Shared fixtures: clean natural photos (from scikit-image's wheel), reduced to remove their own
noise and JPEG traces, cached once per test run."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from PIL import Image


def _reduce(a: np.ndarray, factor: int = 2, crop: int = 256) -> np.ndarray:
    im = Image.fromarray(a)
    im = im.resize((im.width // factor, im.height // factor), Image.Resampling.LANCZOS)
    out = np.asarray(im)
    h, w = out.shape[:2]
    y0, x0 = (h - min(h, crop)) // 2, (w - min(w, crop)) // 2
    return np.ascontiguousarray(out[y0 : y0 + crop, x0 : x0 + crop])


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """Clean uint8 photos: two colour, one gray, one fine texture."""
    from skimage import data

    return {
        "astronaut": _reduce(data.astronaut()),
        "coffee": _reduce(data.coffee()),
        "camera": _reduce(data.camera()),
        "grass": _reduce(data.grass()),
    }


@pytest.fixture(scope="session")
def astronaut(photos) -> np.ndarray:
    return photos["astronaut"]
