"""The images a bench run works on: each input with its relative path, ground truth and estimate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import error_text
from ..files import IMAGE_EXTENSIONS


@dataclass
class ImageItem:
    file: Path
    relative: Path
    root: Path | None = None  # the input folder ``relative`` is below
    reference: Path | None = None
    report: Any = None  # DegradationReport
    error: str | None = None
    _reference_image: Any = None
    _reference_error: str | None = None

    @property
    def key(self) -> str:
        return self.relative.as_posix()

    @property
    def fingerprint(self) -> str:
        """Size and modification time: a rerun must not reuse results made from another file."""
        try:
            stat = self.file.stat()
        except OSError:
            return "missing"
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def reference_image(self) -> Any:
        """The ground truth as RGB (EXIF applied, 16-bit scaled), read once; ``None`` when absent or
        unreadable (``reference_error`` says why)."""
        if self.reference is None or self._reference_error is not None:
            return None
        if self._reference_image is None:
            try:
                self._reference_image = open_rgb(self.reference)
            except Exception as exc:
                self._reference_error = f"cannot read the ground truth {self.reference}: {error_text(exc)}"
                return None
        return self._reference_image

    @property
    def reference_error(self) -> str | None:
        return self._reference_error


def find_references(items: list[ImageItem], gt_dir: Path) -> None:
    """Ground truth by the same relative path (any image extension), else by the same file stem."""
    by_relative: dict[str, Path] = {}
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(gt_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            rel = path.relative_to(gt_dir)
            by_relative.setdefault(rel.with_suffix("").as_posix(), path)
            by_stem.setdefault(path.stem, []).append(path)
    for item in items:
        found = by_relative.get(item.relative.with_suffix("").as_posix())
        if found is None and len(by_stem.get(item.file.stem, [])) == 1:
            found = by_stem[item.file.stem][0]
        item.reference = found


def open_rgb(path: Path):
    """The whole image as RGB PIL (see ``rescap.images.open_rgb``)."""
    from ..images import open_rgb as _open_rgb

    return _open_rgb(path)


def _inside(path: Path, folder: Path) -> str:
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


def image_size(path: Path) -> tuple[int, int] | None:
    """Width and height from the header, or ``None`` when the file cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception:
        return None
