"""Finding image files and the caption files beside them (import-light: pathlib only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pnm", ".tga"}
)


class NoImageFiles(ValueError):
    """Nothing to work on: every command says it the same way and exits 1."""

    def __init__(self, paths: Iterable[str | os.PathLike]):
        names = ", ".join(str(p) for p in paths) or "the input"
        super().__init__(f"no image files found in {names}")


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


def sidecar_caption(image: Path, relative: Path, captions_dir: Path | None, beside_image: bool = True) -> str:
    """A user's caption for an image: ``captions_dir/<relative>.txt``, else (``beside_image``)
    ``<image>.txt`` next to it; ``FileNotFoundError`` names every place looked at.

    Example:
        >>> import tempfile, pathlib
        >>> from rescap.files import sidecar_caption
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "a.txt").write_text("a red fox\\n")
        >>> sidecar_caption(d / "a.png", pathlib.Path("a.png"), None)
        'a red fox'
    """
    candidates = [captions_dir / relative.with_suffix(".txt")] if captions_dir is not None else []
    if beside_image and image.with_suffix(".txt") not in candidates:
        candidates.append(image.with_suffix(".txt"))
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    raise FileNotFoundError(f"no caption file for {image} (looked for {', '.join(str(c) for c in candidates)})")


def input_root(inputs: Iterable[str | os.PathLike], files: Iterable[Path]) -> Path | None:
    """The folder the inputs' relative paths are taken below: the one input folder, or the common
    folder of several inputs' files (so ``a/x.png`` and ``b/x.png`` keep apart, and a rerun with
    the inputs in another order keeps every path); absolute, symlinks not followed."""
    inputs, files = [Path(p) for p in inputs], list(files)
    if len(inputs) == 1 and inputs[0].is_dir():
        return Path(os.path.abspath(inputs[0]))
    if not files:
        return None
    return Path(os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files]))
