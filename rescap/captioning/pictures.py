"""The picture a VLM sees: RGB, EXIF orientation applied, 16-bit scaled, fitted to a pixel budget.

Decoding lives in ``rescap.images`` (the one module that decodes images); this name stays for
the captioner and for code that imported it from here.

Example:
    >>> from PIL import Image
    >>> from rescap.captioning.pictures import load_picture
    >>> load_picture(Image.new("RGB", (1000, 500)), 448 * 448).size[0] <= 640
    True
"""

from __future__ import annotations

from ..images import load_picture

__all__ = ["load_picture"]
