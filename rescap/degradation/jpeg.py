"""JPEG quality: exact from a file's quantization tables, or estimated from decoded pixels.

Quality means the IJG (libjpeg) scale 1-100 that scales the standard tables of ITU-T T.81 Annex K,
the scale nearly every encoder's ``quality`` option uses.

From pixels: JPEG quantizes each 8x8 block's DCT coefficients of the luma plane to multiples of
that frequency's table entry. Re-computing luma from the decoded RGB and its DCT on the block grid
puts the coefficients back on those lattices, blurred only by 8-bit rounding (std ~0.35). For every
quality ``Q`` we measure how many informative coefficients sit on the lattice its table predicts,
beyond what chance gives, and keep the best ``Q``. A table too coarse misses the odd multiples of
the true one, a table too fine gains less over chance, and an image that never went through JPEG
sits on no lattice at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .transforms import BLOCK, block_dct, dct_matrix, luminance

# ITU-T T.81 Annex K.1, natural (row-major) order.
STD_LUMA = np.array(
    [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ]
)  # fmt: skip
STD_CHROMA = np.array(
    [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
    ]
)  # fmt: skip

QUALITIES = np.arange(1, 101)
# Std of a decoded coefficient around its lattice point: luma rounded by the decoder, then RGB
# rounded, then luma recomputed.
ROUNDING_STD = 0.35
# Coefficients smaller than this carry no lattice information (zero is on every lattice).
INFORMATIVE_MIN = 1.5
MAX_BLOCKS = 800
# A band whose informative values sit within +-1 of one value in this share of blocks is one
# cluster, and counts only when at least ZERO_SHARE of its blocks are zero (see _lattice_agreement).
CLUSTER_SHARE = 0.8
ZERO_SHARE = 0.3
# Share of the possible excess-over-chance lattice agreement needed to call an image JPEG.
DETECTION_SHARE = 0.25
# Above quality 95 the steps are 1-3, small enough for smooth blurred content to sit on them by
# chance now and then (blurred skies and beaches reached 0.26-0.32): those need STRICT_SHARE;
# real JPEGs above 95 show 0.6-0.85.
FINE_QUALITY = 95
STRICT_SHARE = 0.45


@lru_cache(maxsize=1)
def ijg_tables() -> tuple[np.ndarray, np.ndarray]:
    """Luma and chroma tables, shape (100, 64), that libjpeg writes for quality 1..100 (baseline)."""
    q = QUALITIES[:, None]
    scale = np.where(q < 50, 5000 // q, 200 - 2 * q)
    luma = np.clip((STD_LUMA[None] * scale + 50) // 100, 1, 255)
    chroma = np.clip((STD_CHROMA[None] * scale + 50) // 100, 1, 255)
    return luma, chroma


@dataclass(frozen=True)
class TableQuality:
    quality: int
    exact: bool  # the tables are exactly libjpeg's for this quality


def quality_from_tables(tables: dict[int, list[int]] | list) -> TableQuality:
    """IJG quality of a JPEG's quantization tables (Pillow's ``Image.quantization``, natural order).

    Exact for tables written by libjpeg-style encoders; otherwise the nearest quality in log-step
    terms (cameras and other encoders use tables of their own).

    Example:
        >>> from rescap.degradation.jpeg import ijg_tables, quality_from_tables
        >>> luma, chroma = ijg_tables()
        >>> quality_from_tables({0: list(luma[74]), 1: list(chroma[74])})
        TableQuality(quality=75, exact=True)
    """
    seq = [tables[k] for k in sorted(tables)] if isinstance(tables, dict) else list(tables)
    if not seq:
        raise ValueError("the JPEG has no quantization tables")
    luma_tab, chroma_tab = ijg_tables()
    observed = [np.asarray(t, dtype=np.int64).reshape(-1)[:64] for t in seq[:2]]
    candidates = [luma_tab] + ([chroma_tab] if len(observed) > 1 else [])
    match = np.ones(len(QUALITIES), bool)
    for obs, cand in zip(observed, candidates):
        match &= np.all(cand == obs[None], axis=1)
    if match.any():
        return TableQuality(int(QUALITIES[np.flatnonzero(match)[-1]]), True)
    distance = np.zeros(len(QUALITIES))
    for obs, cand in zip(observed, candidates):
        distance += np.abs(np.log(cand) - np.log(np.maximum(obs, 1))[None]).mean(axis=1)
    return TableQuality(int(QUALITIES[np.argmin(distance)]), False)


@dataclass(frozen=True)
class PixelJpegEstimate:
    quality: int | None  # None: no sign of JPEG compression
    grid: tuple[int, int]  # (row, column) offset of the 8x8 block grid that fits best
    agreement: float  # share of the possible excess lattice agreement reached by the best quality
    confidence: float = 0.0  # in the verdict (JPEG at ``quality``, or none), [0, 1]


# Every SEAM_STRIDE-th line is enough to find the grid (18,000 windows per phase on a 384-px image).
SEAM_STRIDE = 3
SEAM_ZERO = 0.5  # |coefficient| below which a quantized-away coefficient sits (8-bit rounding, std ~0.3)


def _grid_offset(y: np.ndarray) -> tuple[int, int]:
    """Offset (row, column) of the 8x8 block grid: the phase at which 1-D 8-sample windows most
    often have their two highest DCT frequencies quantized away.

    A JPEG block whose top-frequency coefficients were rounded to zero has rows (and columns) whose
    own 1-D DCT at those frequencies is zero too, so each axis is found alone. This finds the grid
    of photos compressed at q85-95 and cropped off it in every case tried (q98: 96 %), where the
    size of neighbour steps across the seams, the usual blockiness measure, finds it in 46-75 %:
    at high quality the seams are too faint beside the photo's own edges. Known limit: dense fine
    texture (grass) compressed at q92 and above keeps few coefficients quantized away, and the grid
    of such a photo cropped off it can be missed (the image then reads as not JPEG).
    """
    basis = dct_matrix()[[6, 7]].astype(np.float32)  # (2 frequencies, 8 taps)
    y = np.asarray(y, dtype=np.float32)
    offsets = []
    for axis in (0, 1):
        windows = (y.shape[axis] - BLOCK + 1) // BLOCK
        if windows < 2:
            offsets.append(0)
            continue
        if axis == 0:  # columns: (windows, 8, columns) with the taps down the middle axis
            lines = y[:, ::SEAM_STRIDE]
            coef = [np.matmul(basis, lines[p : p + BLOCK * windows].reshape(windows, BLOCK, -1)) for p in range(BLOCK)]
        else:
            lines = y[::SEAM_STRIDE]
            coef = [lines[:, p : p + BLOCK * windows].reshape(-1, BLOCK) @ basis.T for p in range(BLOCK)]
        offsets.append(int(np.argmax([np.count_nonzero(np.abs(c) < SEAM_ZERO) for c in coef])))
    return offsets[0], offsets[1]


MAX_STEP = 255
# Larger AC coefficients (|c| <= 1024 for values in [-128, 128]) are rare and left out, halving the work.
MAX_COEF = 512


@lru_cache(maxsize=1)
def _multiples():
    """Sparse M[v, q] = 1 when the integer ``v`` is a non-zero multiple of the step ``q``, transposed
    (steps x values): each step has MAX_COEF / q multiples, about 3,000 entries in all."""
    from scipy.sparse import csr_matrix

    steps, values = [], []
    for q in range(1, MAX_STEP + 1):
        multiples = np.arange(q, MAX_COEF + 1, q)
        steps.append(np.full(len(multiples), q))
        values.append(multiples)
    rows, cols = np.concatenate(steps), np.concatenate(values)
    return csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(MAX_STEP + 1, MAX_COEF + 1))


def _lattice_agreement(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """Excess lattice agreement per quality, its maximum possible value, the number of bands it
    rests on per quality, and the evidence's size (the sum of sqrt(informative coefficients) over
    the varied bands, and over those whose lattice would show even at FINE_QUALITY).

    Coefficients are rounded to integers, so "on the lattice of step q" reads "a multiple of q";
    the 8-bit rounding noise (std ~0.35) keeps ~85 % of true lattice points there, chance 1/q.
    """
    mags = np.rint(np.abs(coef)).astype(np.int32)
    mags[(mags < INFORMATIVE_MIN) | (mags > MAX_COEF)] = 0  # bin 0 collects what is not counted
    mags += np.arange(coef.shape[1], dtype=np.int32) * (MAX_COEF + 1)
    hist = np.bincount(mags.ravel(), minlength=coef.shape[1] * (MAX_COEF + 1)).reshape(coef.shape[1], MAX_COEF + 1)
    hist[:, 0] = 0
    counts = hist.sum(axis=1)
    on_lattice = np.asarray(_multiples() @ hist.T.astype(np.float32)).T  # (bands, steps)
    luma_tab, _ = ijg_tables()
    steps = luma_tab  # (qualities, bands)
    band_idx = np.arange(coef.shape[1])[None, :]
    share = on_lattice[band_idx, steps] / np.maximum(counts, 1)[None, :]
    chance = 1.0 / steps
    # A band shows a lattice only if its values vary from block to block: a solid colour, a ramp or
    # a dithered ramp gives every block the same value (one cluster), which is a multiple of some
    # step by chance. Quantized bands of real JPEGs either spread over several values or are mostly
    # zero with a few +-q. The DC band is left out: block means of gradients and flat colours fall
    # on lattices of their own.
    zeros = len(coef) - counts
    near = hist[:, :-2] + hist[:, 1:-1] + hist[:, 2:]  # values within +-1 of each value
    clustered = near.max(axis=1) >= CLUSTER_SHARE * np.maximum(counts, 1)
    varied = (counts >= 12) & (~clustered | (zeros >= ZERO_SHARE * len(coef))) & (np.arange(coef.shape[1]) != 0)
    usable = (steps >= 3) & varied[None, :]  # finer lattices are lost in rounding noise
    weight = np.sqrt(counts)[None, :] * usable
    excess = (weight * (share - chance)).sum(axis=1)
    possible = (weight * (1.0 - chance)).sum(axis=1)
    # evidence: what a lattice as fine as the finest quality looked for (FINE_QUALITY) could show in
    testable = varied & (steps[FINE_QUALITY - 1] >= 3)
    evidence = (float(np.sqrt(counts[varied]).sum()), float(np.sqrt(counts[testable]).sum()))
    return excess, possible, usable.sum(axis=1), evidence


def _gather_blocks(plane: np.ndarray, offset: tuple[int, int], index: np.ndarray, per_row: int) -> np.ndarray:
    """The 8x8 blocks number ``index`` (row-major on the grid at ``offset``) of ``plane``, (n, 8, 8, ...)."""
    oy, ox = offset
    ny = (plane.shape[0] - oy) // BLOCK
    grid = plane[oy : oy + ny * BLOCK, ox : ox + per_row * BLOCK]
    grid = grid.reshape(ny, BLOCK, per_row, BLOCK, *plane.shape[2:])  # a view: no pixel is copied
    return grid[index // per_row, :, index % per_row]


def _unclipped_blocks(y: np.ndarray, img: np.ndarray, offset: tuple[int, int], limit: int) -> np.ndarray:
    """Up to ``limit`` luma blocks spread evenly over the grid, leaving out blocks with a clipped pixel
    (clipping breaks the lattice); only the blocks sampled are ever cut out."""
    ny, nx = (y.shape[0] - offset[0]) // BLOCK, (y.shape[1] - offset[1]) // BLOCK
    total = ny * nx

    def unclipped(index: np.ndarray) -> np.ndarray:
        pixels = _gather_blocks(img, offset, index, nx)
        return index[~((pixels <= 0) | (pixels >= 255)).reshape(len(index), -1).any(axis=1)]

    index = unclipped(np.arange(total) if total <= 2 * limit else np.unique(np.linspace(0, total - 1, 2 * limit).astype(int)))
    if len(index) < limit < total:  # much of the picture is clipped: look at every block
        index = unclipped(np.arange(total))
    if len(index) > limit:
        index = index[np.linspace(0, len(index) - 1, limit).astype(int)]
    return _gather_blocks(y, offset, index, nx) - 128.0


def _without_repeats(blocks: np.ndarray) -> np.ndarray:
    """The blocks that occur once. A slow ramp or a pattern repeats the same 8x8 block down whole
    rows or columns, and its few distinct coefficient values then sit on some lattice by chance;
    in a photo (JPEG or not) blocks with texture never repeat exactly, and flat ones carry no
    lattice evidence anyway."""
    if len(blocks) < 2:
        return blocks
    rows = np.ascontiguousarray(blocks.reshape(len(blocks), -1)).view(np.dtype((np.void, 4 * BLOCK * BLOCK)))[:, 0]
    _, index, counts = np.unique(rows, return_index=True, return_counts=True)
    return blocks[np.sort(index[counts == 1])]


def _estimate_at(y: np.ndarray, img: np.ndarray, offset: tuple[int, int]) -> tuple[int, float, tuple[float, float]]:
    blocks = _without_repeats(_unclipped_blocks(y, img, offset, MAX_BLOCKS))
    if len(blocks) < 16:
        return 0, 0.0, (0.0, 0.0)
    coef = block_dct(blocks).reshape(len(blocks), -1)
    excess, possible, bands, support = _lattice_agreement(coef)
    best = int(np.argmax(excess))
    # fine lattices (q > COARSE_QUALITY) resting on fewer than MIN_LATTICE_BANDS bands are chance
    few = bands[best] < MIN_LATTICE_BANDS and QUALITIES[best] > COARSE_QUALITY
    share = float(excess[best] / possible[best]) if possible[best] > 0 and not few else 0.0
    return int(QUALITIES[best]), share, support


# Evidence in the bands a fine lattice would show in at which its absence is certain (see
# _lattice_agreement); flat colour gives 0, smooth skies little.
FULL_SUPPORT = 150.0
# A blurred photo has one or two mid bands varied enough to count, their values crowded near 2-4,
# where multiples of a step of 3 are more common than 1 in 3: at one grid offset in 64 such a band
# read as q94 (share 0.375). Real JPEGs at q90-95 rest on 17-60 bands; at q <= COARSE_QUALITY the
# steps are large, chance agreement is small, and a few bands are all that survive quantization.
MIN_LATTICE_BANDS = 3
COARSE_QUALITY = 50
# Share needed when there is no evidence at all, reached linearly as the evidence falls from
# SMALL_EVIDENCE to 0 (a 40x40 crop gives about 25; a 384-pixel photo 200-1000).
SMALL_EVIDENCE_SHARE = 0.5
SMALL_EVIDENCE = 30.0


def estimate_jpeg_from_pixels(img: np.ndarray, luma: np.ndarray | None = None) -> PixelJpegEstimate:
    """Detect JPEG compression in decoded pixels (H x W x C, 0-255) and estimate its IJG quality.

    ``luma`` (``transforms.luminance`` of ``img``) may be given when the caller has it.

    Example:
        >>> import numpy as np
        >>> from rescap.degradation.jpeg import estimate_jpeg_from_pixels
        >>> from rescap.degradation.synthesize import jpeg_compress
        >>> rng = np.random.default_rng(0)
        >>> smooth = np.cumsum(np.cumsum(rng.normal(0, 1, (128, 128, 3)), 0), 1)
        >>> img = np.uint8(np.interp(smooth, (smooth.min(), smooth.max()), (20, 235)))
        >>> estimate_jpeg_from_pixels(jpeg_compress(img, 60)).quality
        60
    """
    if min(img.shape[:2]) < 2 * BLOCK:
        return PixelJpegEstimate(None, (0, 0), 0.0)
    y = luminance(img) if luma is None else luma
    off = _grid_offset(y)
    quality, share, (evidence, testable) = _estimate_at(y, img, off)
    needed = STRICT_SHARE if quality > FINE_QUALITY else DETECTION_SHARE
    # little evidence (small crops) can line up by chance: ask for more agreement
    needed += (SMALL_EVIDENCE_SHARE - needed) * max(0.0, 1.0 - evidence / SMALL_EVIDENCE)
    if share >= needed:
        return PixelJpegEstimate(quality, off, share, round(min(1.0, share / (2 * DETECTION_SHARE)), 3))
    # no lattice: as sure as the image had coefficients to show one (flat colour has none)
    confidence = min(testable / FULL_SUPPORT, 1.0 - share / (2 * DETECTION_SHARE))
    return PixelJpegEstimate(None, off, share, round(float(np.clip(confidence, 0.0, 1.0)), 3))
