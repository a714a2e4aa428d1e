"""Per-tile captions for tiled restorers: the tile geometry and order of SUPIR's tiled sampler,
and the records that carry one caption per tile.

Tiled restorers restore a large image tile by tile, and a caption of the whole image is wrong for
most tiles (the sky tile gets "a red fox"). The geometry is SUPIR's ``_sliding_windows``
(Fanghua-Yu/SUPIR at bda91af2000042f8bedfec8897d92917e67c1d88,
``sgm/modules/diffusionmodules/sampling.py``), which kijai/ComfyUI-SUPIR (at 0613a9239f49b062adba
6c12072942e1724a7cbd) copies unchanged: along each axis tiles start at 0, stride, 2 x stride, ...
up to ``side - size``, plus one tile flush with the far edge when the last stride does not land on
it; tiles are always ``size`` squares, visited row by row (index = row x columns + column). Both
run it on latents (pixels / 8): SUPIR's tiled config has tile 128 / stride 64 latents, ComfyUI-SUPIR
``sampler_tile_size`` 1024 / ``sampler_tile_stride`` 512 pixels, both 1024 / 512 pixels of the
image the sampler sees (after SUPIR's own upscaling). ``--tiles`` takes pixels of the image given
to rescap: give the restorer's pixel tile size divided by its upscale factor.

Decision: a side shorter than the tile, where SUPIR's own arithmetic breaks (a negative start, or
no tile at all), gets one tile covering the whole side.

ComfyUI-SUPIR's conditioner takes per-tile captions as one list of one-element lists, matched to
the sampler's tiles by index (``TiledCaptions.supir_captions``).

Example:
    >>> [(t.top, t.left) for t in sliding_windows(1536, 2048, TileSpec(size=1024, stride=512))]
    [(0, 0), (0, 512), (0, 1024), (512, 0), (512, 512), (512, 1024)]
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .bundle import PromptBundle


TILE_RULE = "the size must be at least 8 and the stride between 1 and the size"


class TileSpec(BaseModel):
    """Tile size and stride in pixels (stride defaults to half the size, as SUPIR's configs)."""

    size: int = Field(ge=8)
    stride: int = Field(ge=1)

    @classmethod
    def parse(cls, text: str) -> "TileSpec":
        """``"1024"`` or ``"1024:512"``.

        Example:
            >>> TileSpec.parse("512:256").stride
            256
        """
        size_text, _, stride_text = str(text).partition(":")
        try:
            size = int(size_text)
            stride = int(stride_text) if stride_text else max(1, size // 2)
        except ValueError:
            raise ValueError(f"--tiles takes SIZE or SIZE:STRIDE in pixels (e.g. 512:256), not {text!r}") from None
        try:
            return cls.of(size, stride)
        except ValueError:
            raise ValueError(f"--tiles {text}: {TILE_RULE}") from None

    @classmethod
    def of(cls, size: int, stride: int) -> "TileSpec":
        """A tile size and stride in pixels, or a ``ValueError`` saying the rule they break."""
        if size < 8 or not 1 <= stride <= size:
            raise ValueError(f"a tile of {size} px with a stride of {stride} px: {TILE_RULE}")
        return cls(size=size, stride=stride)


class TileBox(BaseModel):
    index: int
    row: int
    column: int
    top: int
    left: int
    bottom: int
    right: int


def _starts(side: int, size: int, stride: int) -> list[int]:
    if side <= size:
        return [0]
    starts = list(range(0, side - size + 1, stride))
    if (side - size) % stride != 0:
        starts.append(side - size)
    return starts


def sliding_windows(height: int, width: int, spec: TileSpec) -> list[TileBox]:
    """The tiles of a ``height`` x ``width`` image, in the restorer's order (see the module)."""
    rows, cols = _starts(height, spec.size, spec.stride), _starts(width, spec.size, spec.stride)
    return [
        TileBox(index=r * len(cols) + c, row=r, column=c, top=top, left=left,
                bottom=min(top + spec.size, height), right=min(left + spec.size, width))  # fmt: skip
        for r, top in enumerate(rows)
        for c, left in enumerate(cols)
    ]


# A tile whose detrended gray std is below this (plus the noise's own std) is nearly uniform: sky,
# a wall, still water. It gets at most FLAT_TILE_TOKENS tokens of caption and is told to name no subject.
FLAT_STD = 4.0
FLAT_TILE_TOKENS = 8


def is_flat(crop, noise_sigma: float = 0.0) -> bool:
    """Whether a tile (a PIL image) is nearly uniform once a plane (a gradient) is taken out.

    Example:
        >>> from PIL import Image
        >>> is_flat(Image.new("RGB", (64, 64), (120, 160, 220)))
        True
    """
    import numpy as np

    small = crop.convert("L")
    if max(small.size) > 96:
        small.thumbnail((96, 96))
    g = np.asarray(small, dtype=np.float64)
    yy, xx = np.mgrid[: g.shape[0], : g.shape[1]]
    design = np.stack([np.ones(g.size), yy.ravel(), xx.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(design, g.ravel(), rcond=None)
    residual = g.ravel() - design @ coef
    return float(residual.std()) < FLAT_STD + noise_sigma


class TileCaption(BaseModel):
    """One tile's caption and the strings the restorer gets for it."""

    box: TileBox
    flat: bool = Field(description="the tile is nearly uniform (sky, wall): captioned in a few words, no subject")
    caption: str
    positive_prompt: str
    caption_tokens: int
    removed: list[str] = Field(default_factory=list)
    error: str | None = None


class TiledCaptions(BaseModel):
    """The global caption of an image and one caption per tile, in the restorer's tile order."""

    image: str | None = None
    width: int
    height: int
    tile_size: int
    tile_stride: int
    order: str = "row-major, SUPIR _sliding_windows"
    bundle: PromptBundle  # the whole image's, as ``rescap caption`` gives it
    tiles: list[TileCaption]

    def supir_captions(self) -> list[list[str]]:
        """Per-tile captions in the form ComfyUI-SUPIR's ``SUPIR_conditioner`` takes (``captions``):
        one-element lists, each caption ending as SUPIR's join needs (the conditioner glues
        ``caption[0]`` to its positive prompt with no separator, as SUPIR itself does)."""
        return supir_captions(t.caption for t in self.tiles)


def supir_captions(captions) -> list[list[str]]:
    """Captions as ComfyUI-SUPIR's ``captions`` input takes them: ``[[caption], ...]``, one per
    tile (one image) or one per image of a batch, each ready for SUPIR's no-separator join.

    Example:
        >>> supir_captions(["A red fox in the snow", ""])
        [['A red fox in the snow. '], ['']]
    """
    from ..adapters.registry import get_adapter

    adapter = get_adapter("supir")
    return [[adapter.prepare_caption(c)] for c in captions]
