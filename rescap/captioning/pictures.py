"""The picture a VLM sees: RGB, EXIF orientation applied, 16-bit scaled, fitted to a pixel budget.

Example:
    >>> from PIL import Image
    >>> from rescap.captioning.pictures import load_picture
    >>> load_picture(Image.new("RGB", (1000, 500)), 448 * 448).size[0] <= 640
    True
"""

from __future__ import annotations

import io
from typing import Any


def _open_checked(source: Any):
    """``Image.open`` with the decompression-bomb limit checked on the header, per call."""
    from PIL import Image

    from ..images import _pillow_limit, _too_large
    from ..limits import DEFAULT_MAX_IMAGE_PIXELS

    with _pillow_limit(DEFAULT_MAX_IMAGE_PIXELS):
        im = Image.open(source)
    if im.size[0] * im.size[1] > DEFAULT_MAX_IMAGE_PIXELS:
        im.close()
        raise _too_large(im.size[0], im.size[1], DEFAULT_MAX_IMAGE_PIXELS)
    return im


def load_picture(source: Any, max_pixels: int):
    """RGB PIL image for the VLM from a path, bytes, PIL image or array."""
    import numpy as np
    from PIL import Image, ImageOps

    from ..backends.media import fit_pixels
    from ..images import load_image

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
    pixels = load_image(bytes(source) if isinstance(source, bytearray) else source, max_analysis_pixels=max_pixels * 4).pixels
    array = np.clip(pixels, 0, 255).astype(np.uint8)
    array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
    return fit_pixels(Image.fromarray(array), max_pixels)
