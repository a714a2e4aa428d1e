"""Apply known degradations to clean images (for benchmarks, tests and training data).

Every function takes and returns a ``uint8`` array of shape ``(H, W)`` or ``(H, W, C)`` on the
0-255 scale, so a chain of them behaves like a real capture/processing pipeline: each step
quantises its result back to 8 bits (and clips), as a saved image would be.

Example:
    >>> import numpy as np
    >>> from rescap.degradation.synthesize import add_gaussian_noise, gaussian_blur
    >>> clean = np.full((64, 64, 3), 128, np.uint8)
    >>> noisy = add_gaussian_noise(gaussian_blur(clean, 1.5), 25.0, seed=0)
    >>> noisy.shape, noisy.dtype
    ((64, 64, 3), dtype('uint8'))
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def add_gaussian_noise(image: np.ndarray, sigma: float, seed: int | None = None) -> np.ndarray:
    """Add i.i.d. Gaussian noise of std ``sigma`` (0-255 scale) to every channel, then clip."""
    rng = np.random.default_rng(seed)
    return _to_uint8(image.astype(np.float64) + rng.normal(0.0, sigma, image.shape))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur each channel with an isotropic Gaussian of std ``sigma`` pixels."""
    from scipy.ndimage import gaussian_filter

    sig = (sigma, sigma) + (0,) * (image.ndim - 2)
    return _to_uint8(gaussian_filter(image.astype(np.float64), sig, mode="reflect", truncate=4.0))


def jpeg_bytes(image: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    """Encode with libjpeg (IJG quality scaling of the standard tables); 4:2:0 chroma by default."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=int(quality), subsampling=subsampling)
    return buf.getvalue()


def jpeg_compress(image: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    """Round-trip through JPEG at IJG ``quality`` and return the decoded pixels."""
    with Image.open(io.BytesIO(jpeg_bytes(image, quality, subsampling))) as im:
        return np.asarray(im.convert(Image.fromarray(image).mode))


def resize(image: np.ndarray, size: tuple[int, int], method: str = "bicubic") -> np.ndarray:
    """Resize to ``size`` = (width, height) with PIL (antialiased when shrinking)."""
    resample = {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "lanczos": Image.Resampling.LANCZOS,
        "box": Image.Resampling.BOX,
    }[method]
    return np.asarray(Image.fromarray(image).resize(size, resample))


def down_up(image: np.ndarray, factor: float, method: str = "bicubic") -> np.ndarray:
    """Downsample by ``factor`` then upsample back to the original size (a classic SR degradation)."""
    h, w = image.shape[:2]
    small = resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), method)
    return resize(small, (w, h), method)
