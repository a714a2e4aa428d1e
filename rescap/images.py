"""Reading images for analysis: any path, PIL image or array becomes a float H x W x C array, 0-255.

- Modes: 1-bit, gray, gray+alpha, palette, RGB, RGBA, CMYK, YCbCr, LAB, HSV, 16/32-bit integer and
  float images. Alpha is dropped, as restorers drop it (``Image.convert("RGB")``); 16-bit data is
  scaled to 0-255 (noise figures are always on the 0-255 scale).
- EXIF orientation is applied.
- Decompression bombs: a file whose header declares more than ``max_image_pixels`` pixels is
  refused before it is decoded.
- Large images are analysed on a centred crop of at most ``max_analysis_pixels`` pixels, taken
  before any float conversion; the crop starts on the 8x8 grid so JPEG blocks stay aligned.
"""

from __future__ import annotations

import io
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .limits import DEFAULT_MAX_ANALYSIS_PIXELS, DEFAULT_MAX_IMAGE_PIXELS

ImageInput = Any  # str | os.PathLike | bytes | PIL.Image.Image | numpy array


class ImageLoadError(ValueError):
    """The input could not be read as an image; the message says why."""


class ImageTooLargeError(ImageLoadError):
    """The image declares more pixels than allowed (a possible decompression bomb)."""


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # float32, (H, W, 1) or (H, W, 3), 0-255; a centred crop of large images
    width: int  # of the whole image, after EXIF orientation
    height: int
    jpeg_quantization: dict[int, list[int]] | None  # from a JPEG file's header
    cropped: bool


# EXIF orientation tag (0x0112) -> the transpose that shows the image upright.
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


_PIL_LIMIT_LOCK = threading.Lock()


@contextmanager
def _pillow_limit(max_pixels: int):
    """Around ``Image.open`` (the header only): rescap checks the declared size against
    ``max_pixels`` itself, per call, right after. Pillow's own process-wide check is left alone
    unless ``max_pixels`` is above it (a limit the user raised); then it is raised, never
    switched off, for the moment of the open only, so decoding is never serialised and other
    threads keep a bomb check."""
    pillow = Image.MAX_IMAGE_PIXELS
    if pillow is None or max_pixels <= 2 * pillow:
        yield
        return
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max(saved or 0, max_pixels // 2 + 1)
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_large(width: int, height: int, limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"image is {width}x{height} = {width * height:,} pixels, over the limit of {limit:,} "
        "(a possible decompression bomb); raise it with --max-image-pixels / max_image_pixels"
    )


def _crop_box(width: int, height: int, budget: int) -> tuple[int, int, int, int] | None:
    if width * height <= budget:
        return None
    side_w = min(width, max(64, int(np.sqrt(budget * width / height))))
    side_h = min(height, max(64, budget // side_w))
    x0 = (width - side_w) // 2 // 8 * 8
    y0 = (height - side_h) // 2 // 8 * 8
    return x0, y0, x0 + side_w, y0 + side_h


def _array_from_pil(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float32)
        if not np.isfinite(a).all():
            raise ImageLoadError("image holds NaN or infinite values")
        if mode.startswith("I;16") or (mode == "I" and a.size and a.max() > 255):
            a = a / 257.0
        elif mode == "F" and a.size and a.max() <= 1.0:
            a = a * 255.0
        return np.clip(a, 0, 255)[..., None]
    if mode in ("1", "L", "LA", "La"):
        return np.asarray(im.convert("L"), dtype=np.float32)[..., None]
    if mode == "P" and im.palette is not None and im.palette.mode == "L":
        return np.asarray(im.convert("L"), dtype=np.float32)[..., None]
    if mode != "RGB":
        im = im.convert("RGB")  # RGBA/LA drop alpha, CMYK/YCbCr/LAB/HSV/P convert
    return np.asarray(im, dtype=np.float32)


def _array_from_numpy(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ImageLoadError(f"expected an array of shape (H, W), (H, W, 1|3|4), got {a.shape}")
    if a.shape[2] in (2, 4):  # gray+alpha, RGBA: drop alpha
        a = a[..., : a.shape[2] - 1]
    if a.dtype == np.bool_:
        return a.astype(np.float32) * 255.0
    if a.dtype == np.uint8:
        return a.astype(np.float32)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 257.0
    if np.issubdtype(a.dtype, np.integer):
        return np.clip(a, 0, 255).astype(np.float32)
    if np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ImageLoadError("array holds NaN or infinite values")
        if a.size and a.max() <= 1.0:
            a = a * 255.0
        return np.clip(a, 0, 255)
    raise ImageLoadError(f"unsupported array dtype {a.dtype}")


def load_image(
    source: ImageInput,
    *,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_analysis_pixels: int = DEFAULT_MAX_ANALYSIS_PIXELS,
) -> LoadedImage:
    """Read ``source`` (path, PIL image or array) for analysis.

    Example:
        >>> import numpy as np
        >>> from rescap.images import load_image
        >>> load_image(np.zeros((32, 48), np.uint8)).pixels.shape
        (32, 48, 1)
    """
    if isinstance(source, np.ndarray) or (hasattr(source, "__array__") and not isinstance(source, Image.Image)):
        raw = np.asarray(source)
        if raw.ndim < 2 or raw.shape[0] == 0 or raw.shape[1] == 0:
            raise ImageLoadError(f"expected a non-empty (H, W) or (H, W, C) array, got shape {raw.shape}")
        h, w = raw.shape[:2]
        if h * w > max_image_pixels:
            raise _too_large(w, h, max_image_pixels)
        box = _crop_box(w, h, max_analysis_pixels)
        if box is not None:  # crop before any float copy
            raw = raw[box[1] : box[3], box[0] : box[2]]
        return LoadedImage(np.ascontiguousarray(_array_from_numpy(raw)), w, h, None, box is not None)

    opened = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageLoadError("empty data")
        try:
            with _pillow_limit(max_image_pixels):
                opened = im = Image.open(io.BytesIO(bytes(source)))
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"{exc}; raise the limit with --max-image-pixels") from exc
        except UnidentifiedImageError as exc:
            raise ImageLoadError("not a readable image") from exc
    elif isinstance(source, Image.Image):
        im = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageLoadError(f"no such file: {path}")
        if path.is_dir():
            raise ImageLoadError(f"is a directory: {path}")
        if path.stat().st_size == 0:
            raise ImageLoadError(f"empty file: {path}")
        try:
            with _pillow_limit(max_image_pixels):
                opened = im = Image.open(path)
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"{exc}; raise the limit with --max-image-pixels") from exc
        except UnidentifiedImageError as exc:
            raise ImageLoadError(f"not a readable image: {path}") from exc
        except OSError as exc:
            raise ImageLoadError(f"cannot open {path}: {exc}") from exc
    else:
        raise ImageLoadError(f"cannot read an image from {type(source).__name__}")

    try:
        width, height = im.size
        if width * height > max_image_pixels:
            raise _too_large(width, height, max_image_pixels)
        tables = None
        if getattr(im, "format", None) in ("JPEG", "MPO") and getattr(im, "quantization", None):
            tables = {int(k): list(v) for k, v in im.quantization.items()}
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception:  # broken EXIF blocks are common; orientation then stays as stored
            orientation = 1
        box = _crop_box(width, height, max_analysis_pixels)
        region = im.crop(box) if box is not None else im  # a crop of at most max_analysis_pixels: under any bomb limit
        region.load()
        if orientation in _ORIENTATION_TRANSPOSE:
            region = region.transpose(_ORIENTATION_TRANSPOSE[orientation])
            if orientation >= 5:
                width, height = height, width
        pixels = _array_from_pil(region)
    except ImageLoadError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise ImageLoadError(f"cannot decode image: {exc}") from exc
    finally:
        if opened is not None:
            opened.close()
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ImageLoadError("image has no pixels")
    return LoadedImage(np.ascontiguousarray(pixels), width, height, tables, box is not None)


def check_image_bytes(data: bytes, max_pixels: int) -> tuple[int, int, str]:
    """(width, height, format) of an encoded image, from its header alone: refuses what is not an
    image and what declares more than ``max_pixels`` pixels (a decompression bomb) before any
    pixel is decoded. For servers that take images from the network.

    Example:
        >>> buf = io.BytesIO(); Image.new("RGB", (40, 30)).save(buf, "PNG")
        >>> check_image_bytes(buf.getvalue(), 10_000)
        (40, 30, 'PNG')
    """
    if not data:
        raise ImageLoadError("empty image data")
    try:
        with _pillow_limit(max_pixels), Image.open(io.BytesIO(data)) as im:
            width, height, fmt = im.size[0], im.size[1], im.format or "unknown"
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image refused as a possible decompression bomb: {exc}") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError("not a readable image (PNG, JPEG, WebP, TIFF, BMP...)") from exc
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height:,} pixels, over the limit of {max_pixels:,} "
            "(a possible decompression bomb)"
        )
    return width, height, fmt


def _open_checked(source: Any) -> Image.Image:
    """``Image.open`` with the decompression-bomb limit checked on the header, per call."""
    with _pillow_limit(DEFAULT_MAX_IMAGE_PIXELS):
        im = Image.open(source)
    if im.size[0] * im.size[1] > DEFAULT_MAX_IMAGE_PIXELS:
        im.close()
        raise _too_large(im.size[0], im.size[1], DEFAULT_MAX_IMAGE_PIXELS)
    return im


def load_picture(source: Any, max_pixels: int) -> Image.Image:
    """An 8-bit RGB PIL image from a path, bytes, PIL image or array: EXIF orientation applied,
    16-bit and float data scaled (not clipped to white), bombs refused, fitted to ``max_pixels``.
    What a VLM sees (``rescap.captioning``) and a restorer gets (``open_rgb``).

    Example:
        >>> load_picture(Image.new("RGB", (1000, 500)), 448 * 448).size[0] <= 640
        True
    """
    from .backends.media import fit_pixels

    if isinstance(source, Image.Image) and source.mode in ("RGB", "L", "RGBA", "P"):
        return fit_pixels(source.convert("RGB"), max_pixels)
    if isinstance(source, (str, bytes, bytearray)) or hasattr(source, "__fspath__"):
        opened = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray)) else source
        with _open_checked(opened) as im:
            if im.mode in ("RGB", "L", "RGBA", "P", "LA", "CMYK", "YCbCr"):
                if im.format == "JPEG":
                    im.draft("RGB", (int(max_pixels**0.5) * 2, int(max_pixels**0.5) * 2))
                return fit_pixels(ImageOps.exif_transpose(im).convert("RGB"), max_pixels)
    # 16-bit, float and other modes (from a file or from tar-member bytes alike): scaled by the reader
    # the whole picture (no analysis crop), scaled down by fit_pixels below
    pixels = load_image(bytes(source) if isinstance(source, bytearray) else source, max_analysis_pixels=DEFAULT_MAX_IMAGE_PIXELS).pixels
    array = np.clip(pixels, 0, 255).astype(np.uint8)
    array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
    return fit_pixels(Image.fromarray(array), max_pixels)


def open_rgb(path: "str | Path", max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image.Image:
    """The whole image as an 8-bit RGB PIL image, for a restorer (see ``load_picture``)."""
    return load_picture(path, max_image_pixels)
