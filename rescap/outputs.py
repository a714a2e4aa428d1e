"""Where an output file goes: inside its output folder, always, and one file per input.

Every writer (``recaption --format txt``, ``restore``, ``bench``, the restorers' prompt files)
asks here for a target path:

- ``inside(root, relative, suffix)`` maps an input's relative path or key to ``root/<path><suffix>``.
  An absolute key loses its anchor and ``..`` becomes ``_up``. Then the whole target is resolved
  (non-strictly, so a folder that does not exist yet is fine) and must lie inside the resolved
  root: a symlinked ancestor that leads outside is refused, and so is a target that is itself a
  symlink.
- ``unique_names(paths)`` gives each input the stem-based name restorers expect (``photo.png``
  -> ``photo``) unless two inputs share it (``photo.jpg`` and ``photo.png`` in one folder): then
  both keep their extension in the name (``photo.jpg``, ``photo.png``), so neither overwrites
  the other.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> inside(root, "../etc/a.png", ".txt").relative_to(root).as_posix()
    '_up/etc/a.txt'
    >>> sorted(unique_names([pathlib.Path("a/photo.jpg"), pathlib.Path("a/photo.png"), pathlib.Path("b.png")]).values())
    ['a/photo.jpg', 'a/photo.png', 'b']
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Iterable


class OutsideOutputError(ValueError):
    """A target that would land outside its output folder (or write through a symlink)."""


def inside(root: Path, relative: str | Path, suffix: str, replace_suffix: bool = True) -> Path:
    """``root/<relative with suffix>`` (the suffix replacing the key's own, or appended to a name
    from ``unique_names``), refused (``OutsideOutputError``) when it would leave ``root``."""
    root = Path(root)
    key = str(relative).replace("\\", "/")
    parts = [("_up" if p == ".." else p.replace(":", "_")) for p in PurePosixPath(key).parts if p not in ("", ".", "/")]
    if not parts:
        raise OutsideOutputError(f"empty output name for {relative!r}")
    target = root.joinpath(*parts)
    if suffix:
        target = target.with_suffix(suffix) if (target.suffix and replace_suffix) else target.with_name(target.name + suffix)
    resolved_root = root.resolve()
    if not target.resolve(strict=False).is_relative_to(resolved_root):
        raise OutsideOutputError(f"output for {relative} would leave {root} (a symlink on the way points outside)")
    if target.is_symlink():
        raise OutsideOutputError(f"output for {relative} is a symlink; refusing to write through it")
    return target


def unique_names(paths: Iterable[Path]) -> dict[Path, str]:
    """Each relative input path -> its output name without suffix: the stem-based path, or the
    path with its extension kept where two inputs would otherwise share a name (compared without
    case, as on case-insensitive file systems); never the same name for two inputs."""
    paths = list(dict.fromkeys(paths))
    names = {p: PurePosixPath(Path(p).as_posix()).with_suffix("").as_posix() for p in paths}
    for _ in range(3):  # stems, then whole names, then numbered
        groups: dict[str, list[Path]] = {}
        for p, name in names.items():
            groups.setdefault(name.lower(), []).append(p)
        shared = [group for group in groups.values() if len(group) > 1]
        if not shared:
            return names
        for group in shared:
            for i, p in enumerate(group):
                whole = PurePosixPath(Path(p).as_posix()).as_posix()
                names[p] = whole if names[p] != whole else f"{whole}~{i + 1}"
    return names


def same_stem_partners(relatives: dict) -> dict:
    """Inputs (keys) whose relative paths (values) share a name without extension, each mapped to
    another one's path: those whose one-file-per-stem outputs (``photo.txt``) would be one file."""
    by_stem: dict[str, list] = {}
    for key, rel in relatives.items():
        by_stem.setdefault(PurePosixPath(Path(rel).as_posix()).with_suffix("").as_posix().lower(), []).append(key)
    return {k: relatives[next(q for q in group if q != k)] for group in by_stem.values() if len(group) > 1 for k in group}
