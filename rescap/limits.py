"""Default limits shared by the library and the CLI (kept import-light for ``rescap --help``)."""

# Pillow's own decompression-bomb error threshold (2 x PIL.Image.MAX_IMAGE_PIXELS by default).
DEFAULT_MAX_IMAGE_PIXELS = 2 * 89_478_485
# Larger images are analysed on a centred crop of this many pixels.
DEFAULT_MAX_ANALYSIS_PIXELS = 1024 * 1024
