"""ComfyUI IMAGE tensors (B, H, W, C float32 in [0, 1]) as the 8-bit pictures rescap reads."""

from __future__ import annotations

from typing import Any


def pictures_from_images(images: Any) -> list:
    """One 8-bit RGB PIL image per batch item, converted as ComfyUI's SaveImage writes them
    (``clip(255 * x, 0, 255)`` truncated to uint8), so a node sees the pixels a saved PNG holds.

    Example:
        >>> import numpy as np
        >>> [p.size for p in pictures_from_images(np.zeros((2, 16, 24, 3), np.float32))]
        [(24, 16), (24, 16)]
    """
    import numpy as np
    from PIL import Image

    array = images.detach().cpu().float().numpy() if hasattr(images, "detach") else np.asarray(images, dtype=np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4) or 0 in array.shape[:3]:
        raise ValueError(f"expected an IMAGE tensor of shape (B, H, W, C) with C 1, 3 or 4, got {tuple(array.shape)}")
    out = []
    for item in array:
        pixels = np.clip(255.0 * np.nan_to_num(item), 0, 255).astype(np.uint8)
        pixels = np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels[..., :3]
        out.append(Image.fromarray(np.ascontiguousarray(pixels), "RGB"))
    return out
