"""Re-quantisation traces in 256-level histograms, shared by the exposure and colour-cast estimators.

A gain ``g`` applied to 8-bit values, ``clip(rint(x * g), 0, 255)``, leaves two traces:

* **A comb** (``g > 1``). The levels used are ``rint(k * g)``: only ``1 / g`` of them, and spaced
  with the regularity of a lattice. Any ``m`` consecutive steps between used levels span
  ``floor(m g)`` or ``ceil(m g)`` levels (rounding moves each end by at most half a level). A
  histogram that is merely sparse, a palette image's (a few hundred colours, each at its own level)
  or a smooth artwork's, leaves irregular gaps: its runs of ``m`` steps vary by several levels. So a
  comb counts only when it is regular, and it is read where the histogram is dense enough that a
  natural one leaves no level empty (blocks averaging ``COMB_DENSITY`` pixels a level; clean photos
  leave at most 8 % of such levels empty, ``COMB_MIN_GAIN``).
* **A pile** of clipped highlights at the top level (``g < 1`` moves it from 255 to
  ``rint(255 g)``): at least ``PILE_SHARE`` of the pixels at exactly the highest level used, and at
  least ``PILE_STEP`` times as many as the level below (a pile, not the end of a tail).

Images with few distinct colours (palettes, posterised images) carry neither trace reliably: their
histograms are sparse or regular for reasons of their own (posterising to ``b`` bits is a comb of
period ``2 ** (8 - b)``), so the estimators do not read combs there (``few_colours``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Levels 1-252 are judged in blocks of 12 (a multiple of the comb periods 2, 3 and 4).
COMB_BLOCK = 12
COMB_DENSITY = 8.0  # pixels a level (block mean) for a block of levels to count as dense
COMB_LEVELS = 32  # dense levels needed to read a comb at all
COMB_MIN_GAIN = 1.1  # clean photos read at most 1.08 (a wallpaper stretched in editing)
# Regularity: runs of 1 to COMB_WINDOW steps between used levels are compared with m * g.
COMB_WINDOW = 16
COMB_SLACK = 1.25  # levels: a lattice's runs are within 1 level of m * g, plus the error of g
COMB_IRREGULAR_SHARE = 0.05  # share of runs allowed off the lattice (a level the photo lacked)
COMB_MIN_STEPS = 16  # steps between used dense levels needed to judge the regularity

PILE_SHARE = 0.001
PILE_STEP = 0.5

# An image whose sampled pixels hold at most this many distinct colours is a palette or posterised
# image (clean photos hold thousands in the sample).
FEW_COLOURS = 512
COLOUR_SAMPLE = 8192  # pixels sampled (evenly) to count them
# ... unless each colour is one level of a channel, as in a gray photo tinted by channel gains (a
# cast on a gray photo): at most TINT_SLACK colours a level, over at least TINT_LEVELS levels. (A
# palette's few hundred colours share their levels: about 160 distinct levels for 256 colours.)
TINT_LEVELS = 64
TINT_SLACK = 1.05


def comb_gain(hist: np.ndarray) -> float | None:
    """Gain read from the comb of a 256-level histogram: ``g > 1`` for a regular comb, 1.0 when the
    dense levels show none (all used, or gaps without a lattice's regularity), None when too few
    levels are dense to tell.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.histogram_traces import comb_gain
        >>> levels = np.clip(np.rint(np.arange(256).repeat(40) * 1.5), 0, 255).astype(int)
        >>> round(comb_gain(np.bincount(levels, minlength=256)), 2)
        1.5
        >>> rng = np.random.default_rng(0)  # as sparse, but at random levels: no gain
        >>> comb_gain(np.bincount(rng.choice(256, 170, replace=False).repeat(60), minlength=256))
        1.0
    """
    blocks = np.asarray(hist[1 : 1 + 21 * COMB_BLOCK]).reshape(21, COMB_BLOCK)
    dense = blocks.mean(axis=1) >= COMB_DENSITY
    n_dense = int(np.count_nonzero(dense))
    if n_dense * COMB_BLOCK < COMB_LEVELS:
        return None
    used = blocks > 0
    if np.count_nonzero(used[dense]) * COMB_MIN_GAIN > n_dense * COMB_BLOCK:
        return 1.0  # (nearly) every dense level used: no comb; the usual case, decided quickly
    levels = np.nonzero((used & dense[:, None]).ravel())[0]
    steps = np.diff(levels)
    # a step is read only within dense levels: its ends in the same or adjacent dense blocks
    valid = np.diff(levels // COMB_BLOCK) <= 1
    n_valid = int(np.count_nonzero(valid))
    if n_valid < COMB_MIN_STEPS:
        return None
    gain = float(steps[valid].mean())
    if gain < COMB_MIN_GAIN:
        return 1.0
    # runs of m = 1 .. window consecutive valid steps, from every start, against m * gain
    window = min(COMB_WINDOW, steps.size // 2)
    span = sliding_window_view(np.concatenate([[0], np.cumsum(steps)]), window + 1)
    broken = sliding_window_view(np.concatenate([[0], np.cumsum(~valid)]), window + 1)
    whole = broken[:, 1:] == broken[:, :1]
    dev = np.abs(span[:, 1:] - span[:, :1] - np.arange(1, window + 1) * gain)
    runs = int(np.count_nonzero(whole))
    off = int(np.count_nonzero(whole & (dev > COMB_SLACK)))
    return gain if runs and off <= COMB_IRREGULAR_SHARE * runs else 1.0


def clipped_pile(hist: np.ndarray) -> int | None:
    """The top level of a 256-level histogram if clipped highlights pile up there, else None.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.histogram_traces import clipped_pile
        >>> clipped = np.bincount(np.minimum(np.arange(256).repeat(10), 200), minlength=256)
        >>> tail = np.r_[np.full(200, 100), np.arange(20, 0, -1), np.zeros(36, int)]  # thins out to 1 pixel
        >>> clipped_pile(clipped), clipped_pile(tail)
        (200, None)
    """
    used = np.nonzero(hist)[0]
    if used.size == 0 or used[-1] == 0:
        return None
    top = int(used[-1])
    n = float(hist.sum())
    return top if hist[top] >= max(PILE_SHARE * n, PILE_STEP * hist[top - 1]) else None


def few_colours(rgb: np.ndarray) -> bool:
    """Whether an (H, W, 3) uint8 image holds at most ``FEW_COLOURS`` distinct colours: a palette.

    Gray pictures (stored as RGB) and gray photos tinted by channel gains are no palette: each of
    their colours is one gray level.

    Colours are counted by the 16-bit buckets they hash to (fast; collisions only lower the count, and
    a photo's thousands of colours still fill thousands of buckets). Example:
        >>> import numpy as np
        >>> from rescap.degradation.histogram_traces import few_colours
        >>> rng = np.random.default_rng(0)
        >>> palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
        >>> few_colours(palette[rng.integers(0, 16, (64, 64))]), few_colours(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
        (True, False)
        >>> gray = rng.integers(0, 256, (64, 64, 1))
        >>> few_colours(np.minimum(gray * [1.25, 1.0, 0.8], 255).astype(np.uint8))  # a tinted gray photo
        False
    """
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / COLOUR_SAMPLE)))
    flat = rgb[::step, ::step].reshape(-1, 3)
    r, g, b = (flat[:, c].astype(np.uint32) for c in range(3))
    if np.array_equal(r, g) and np.array_equal(g, b):  # a gray picture stored as RGB: no palette to tell
        return False
    bucket = ((r << 8) | g) ^ ((b * 40503) & 0xFFFF)
    colours = int(np.count_nonzero(np.bincount(bucket, minlength=1 << 16)))
    if colours > FEW_COLOURS:
        return False
    levels = max(int(np.count_nonzero(np.bincount(x, minlength=256))) for x in (r, g, b))
    return not (levels >= TINT_LEVELS and colours <= TINT_SLACK * levels)
