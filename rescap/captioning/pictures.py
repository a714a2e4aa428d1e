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


def load_picture(source: Any, max_pixels: int):
    """RGB PIL image for the VLM from a path, bytes, PIL image or array."""
    import numpy as np
    from PIL import Image, ImageOps

    from ..backends.media import fit_pixels
    from ..images import load_image

    if isinstance(source, Image.Image) and source.mode in ("RGB", "L", "RGBA", "P"):
        return fit_pixels(source.convert("RGB"), max_pixels)
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(bytes(source))
    if isinstance(source, (str, io.BytesIO)) or hasattr(source, "__fspath__"):
        with Image.open(source) as im:
            if im.mode in ("RGB", "L", "RGBA", "P", "LA", "CMYK", "YCbCr"):
                if im.format == "JPEG":
                    im.draft("RGB", (int(max_pixels**0.5) * 2, int(max_pixels**0.5) * 2))
                return fit_pixels(ImageOps.exif_transpose(im).convert("RGB"), max_pixels)
    pixels = load_image(source, max_analysis_pixels=max_pixels * 4).pixels
    array = np.clip(pixels, 0, 255).astype(np.uint8)
    array = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
    return fit_pixels(Image.fromarray(array), max_pixels)
