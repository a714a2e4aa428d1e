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


def change_exposure(image: np.ndarray, gain: float) -> np.ndarray:
    """Scale the stored sRGB values by ``gain`` (< 1 darker, > 1 brighter), then round and clip.

    The gain acts on the stored 8-bit values, not in linear light: ``clip(rint(image * gain))``.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.synthesize import change_exposure
        >>> change_exposure(np.array([[10, 100, 200]], np.uint8), 1.5).tolist()
        [[15, 150, 255]]
    """
    return _to_uint8(image.astype(np.float64) * float(gain))


def add_haze(image: np.ndarray, transmission: float, airlight: float | tuple[float, float, float] = 230.0) -> np.ndarray:
    """Blend toward the airlight with a uniform transmission ``t``: ``J * t + A * (1 - t)``.

    The atmospheric scattering model of Koschmieder (as used by He, Sun and Tang 2009) with the same
    depth everywhere; ``airlight`` is a gray level or an RGB triple on the 0-255 scale.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.synthesize import add_haze
        >>> add_haze(np.zeros((1, 1, 3), np.uint8), 0.5, (200, 220, 240)).tolist()
        [[[100, 110, 120]]]
    """
    t = float(transmission)
    a = np.asarray(airlight, dtype=np.float64)
    if a.ndim and image.ndim == 2:
        a = a.mean()  # a gray image sees the airlight's mean level
    return _to_uint8(image.astype(np.float64) * t + a * (1.0 - t))


def add_colour_cast(image: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """Multiply each RGB channel by its gain (a white-balance error), then round and clip.

    A gray ``(H, W)`` or one-channel image is returned unchanged: it has no colour to cast.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.synthesize import add_colour_cast
        >>> add_colour_cast(np.full((1, 1, 3), 200, np.uint8), (1.25, 1.0, 0.8)).tolist()
        [[[250, 200, 160]]]
    """
    if image.ndim == 2 or image.shape[2] == 1:
        return image.copy()
    g = np.asarray(gains, dtype=np.float64)
    return _to_uint8(image.astype(np.float64) * g)


def add_poisson_gaussian_noise(image: np.ndarray, a: float, b: float, seed: int | None = None) -> np.ndarray:
    """Add signal-dependent sensor noise: ``y = a * Poisson(x / a) + N(0, b)`` per channel, then clip.

    Photon shot noise (``a``, the gain: 0-255 units per counted photon) plus read noise (``b``, a
    variance), so the noise variance at intensity ``x`` (0-255 scale) is ``a * x + b`` before
    clipping to [0, 255] and rounding. ``a == 0`` leaves Gaussian read noise only.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.synthesize import add_poisson_gaussian_noise
        >>> flat = np.full((200, 200), 100, np.uint8)
        >>> noisy = add_poisson_gaussian_noise(flat, 0.5, 4.0, seed=0).astype(float)
        >>> bool(abs(noisy.var() - (0.5 * 100 + 4)) < 2)  # variance a * x + b
        True
    """
    if a < 0 or b < 0:
        raise ValueError("a and b must be >= 0")
    rng = np.random.default_rng(seed)
    x = np.clip(image.astype(np.float64), 0.0, None)
    y = a * rng.poisson(x / a) if a > 0 else x.copy()
    if b > 0:
        y = y + rng.normal(0.0, np.sqrt(b), image.shape)
    return _to_uint8(y)
