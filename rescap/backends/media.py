"""Images inside chat messages: decode any form, fit a pixel budget, re-encode as data URLs.

Every backend resizes images to its ``max_image_pixels`` budget before they reach the model, so
the cost per image is bounded and the same on every backend.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import Any

from .base import Conversation

IMAGE_PART_TYPES = ("image", "image_url", "input_image")


def _to_8bit_rgb(image):
    """RGB PIL image from any mode, 16-bit and float data scaled as the estimator scales them."""
    import numpy as np
    from PIL import Image

    if image.mode in ("RGB",):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        from ..images import _array_from_pil

        gray = np.clip(_array_from_pil(image)[..., 0], 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    return image.convert("RGB")


def _open(source: Any):
    """A PIL image, upright (EXIF orientation applied), from any supported form."""
    from PIL import Image, ImageOps

    if isinstance(source, Image.Image):
        return _to_8bit_rgb(ImageOps.exif_transpose(source) or source)
    if isinstance(source, (str, Path)):
        from ..images import load_picture
        from ..limits import DEFAULT_MAX_IMAGE_PIXELS

        text = str(source)
        if text.startswith("data:"):
            _, _, payload = text.partition(",")
            data: Any = base64.b64decode(payload)
        else:
            if text.startswith("file://"):
                text = text[len("file://") :]
            if text.startswith(("http://", "https://")):
                raise ValueError("http(s) image URLs are only passed through by HTTP backends")
            data = text
        # the one decoder: bomb limit per call, EXIF orientation, 16-bit and float scaled
        return load_picture(data, DEFAULT_MAX_IMAGE_PIXELS)
    if hasattr(source, "__array__"):
        import numpy as np

        from ..images import _array_from_numpy

        pixels = _array_from_numpy(np.asarray(source))  # validates shape/dtype, rejects NaN
        array = np.clip(pixels, 0, 255).astype(np.uint8)
        return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).convert("RGB")
    raise TypeError(f"cannot read an image from {type(source).__name__}")


def fit_pixels(image, max_pixels: int):
    """RGB copy of ``image`` scaled down (never up) to at most ``max_pixels`` pixels."""
    from PIL import Image

    image = image.convert("RGB") if image.mode != "RGB" else image
    w, h = image.size
    if w * h <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (w * h))
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def load_image_part(part: dict[str, Any], max_pixels: int):
    """The PIL image of an image content part, fitted to ``max_pixels``."""
    kind = part.get("type")
    if kind == "image":
        source = part.get("image")
    elif kind == "image_url":
        url = part.get("image_url")
        source = url.get("url") if isinstance(url, dict) else url
    elif kind == "input_image":
        source = part.get("image_url")
    else:
        raise ValueError(f"not an image part: {kind!r}")
    if source is None:
        raise ValueError(f"image part without an image: {part!r}")
    return fit_pixels(_open(source), max_pixels)


def data_url(image, fmt: str = "PNG") -> str:
    """Encode a PIL image as a ``data:`` URL (lossless PNG by default, fast compression)."""
    buf = io.BytesIO()
    image.save(buf, format=fmt, **({"compress_level": 1} if fmt.upper() == "PNG" else {}))
    mime = "image/png" if fmt.upper() == "PNG" else f"image/{fmt.lower()}"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def _map_images(conversation: Conversation, convert) -> Conversation:
    """The conversation with every image part replaced by ``convert(part)``; text kept, strings too."""
    out: Conversation = []
    for message in conversation:
        content = message.get("content")
        if isinstance(content, str) or content is None:
            out.append({"role": message["role"], "content": content or ""})
            continue
        parts = []
        for part in content:
            if part.get("type") in IMAGE_PART_TYPES:
                parts.append(convert(part))
            elif part.get("type") == "text":
                parts.append({"type": "text", "text": part.get("text", "")})
            else:
                raise ValueError(f"unsupported content part type {part.get('type')!r}")
        out.append({"role": message["role"], "content": parts})
    return out


def split_conversation(conversation: Conversation, max_pixels: int) -> tuple[Conversation, list]:
    """Images pulled out of ``conversation`` (fitted) and the messages with image placeholders.

    Placeholders are ``{"type": "image"}`` parts, in order, as chat templates expect them.
    """
    images: list = []

    def placeholder(part: dict[str, Any]) -> dict[str, Any]:
        images.append(load_image_part(part, max_pixels))
        return {"type": "image"}

    return _map_images(conversation, placeholder), images


def to_pil_messages(conversation: Conversation, max_pixels: int) -> Conversation:
    """The conversation with every image as a fitted PIL image part (``image_pil``, vLLM's form)."""
    return _map_images(conversation, lambda part: {"type": "image_pil", "image_pil": load_image_part(part, max_pixels)})


def to_openai_messages(conversation: Conversation, max_pixels: int) -> Conversation:
    """The conversation with every image as a fitted PNG data URL (http(s) URLs pass through)."""

    def as_url(part: dict[str, Any]) -> dict[str, Any]:
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            url = data_url(load_image_part(part, max_pixels))
        return {"type": "image_url", "image_url": {"url": url}}

    return _map_images(conversation, as_url)
