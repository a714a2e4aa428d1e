"""Finding image files (import-light: pathlib only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pnm", ".tga"}
)


def iter_image_files(paths: Iterable[str | os.PathLike], recursive: bool = True) -> Iterator[Path]:
    """Expand files and directories into image paths, in a stable (sorted) order.

    Files named explicitly are yielded whatever their extension (a bad one then gets a per-file
    error); directories contribute the files with image extensions, walked recursively.

    Example:
        >>> import tempfile, pathlib
        >>> from rescap.files import iter_image_files
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("b.png", "a.JPG", "notes.txt"):
        ...     _ = (d / name).write_bytes(b"")
        >>> [p.name for p in iter_image_files([d])]
        ['a.JPG', 'b.png']
    """
    for p in paths:
        path = Path(p)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            for child in sorted(path.glob(pattern)):
                if child.is_file() and child.suffix.lower() in IMAGE_EXTENSIONS:
                    yield child
        else:
            yield path
