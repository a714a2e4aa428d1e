"""What to re-caption: a folder tree, a text file of paths, a JSONL/Parquet manifest with a path
column, or webdataset ``.tar`` shards. Each image gets a stable ``key`` (its path relative to the
source) that names its record and, for sidecar output, its file.

Example:
    >>> import tempfile, pathlib
    >>> from rescap.recaption.sources import iter_source
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "a").mkdir()
    >>> _ = (d / "a" / "x.png").write_bytes(b""); _ = (d / "y.jpg").write_bytes(b"")
    >>> [item.key for item in iter_source(d)]
    ['a/x.png', 'y.jpg']
"""

from __future__ import annotations

import csv
import json
import os
import tarfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from ..files import IMAGE_EXTENSIONS

PATH_COLUMNS = ("path", "file", "file_name", "filename", "image", "image_path", "img_path")


class SourceError(ValueError):
    """The source cannot be read as a whole (missing, unknown kind, no path column)."""


_TARS = threading.local()  # per thread: open tar shards, so members are read without reopening
OPEN_SHARDS_PER_THREAD = 4
_ALL_OPEN: set = set()
_ALL_OPEN_LOCK = threading.Lock()


def _close(shard) -> None:
    with _ALL_OPEN_LOCK:
        _ALL_OPEN.discard(shard)
    shard.close()


def close_shards() -> None:
    """Close every tar shard opened to read members (a run calls it when it ends)."""
    with _ALL_OPEN_LOCK:
        shards = list(_ALL_OPEN)
        _ALL_OPEN.clear()
    for shard in shards:
        try:
            shard.close()
        except Exception:  # pragma: no cover - closing is best effort
            pass
    if getattr(_TARS, "open", None) is not None:
        _TARS.open.clear()


@dataclass(frozen=True)
class SourceItem:
    key: str  # stable id: path relative to the source (or as listed), "shard.tar/member" for tars
    path: Path | None = None  # a file on disk, or a member of a tar shard:
    tar: Path | None = None
    member: str | None = None

    def open(self) -> Path | bytes:
        """What the image readers take: the path, or the tar member's bytes (read now)."""
        if self.path is not None:
            return self.path
        shards = getattr(_TARS, "open", None)
        if shards is None:
            shards = _TARS.open = OrderedDict()
        shard = shards.get(self.tar)
        if shard is None:
            shard = shards[self.tar] = tarfile.open(self.tar)  # type: ignore[arg-type]
            with _ALL_OPEN_LOCK:
                _ALL_OPEN.add(shard)
            while len(shards) > OPEN_SHARDS_PER_THREAD:  # shards are read in order: the oldest is done
                _close(shards.popitem(last=False)[1])
        shards.move_to_end(self.tar)
        extracted = shard.extractfile(self.member)  # type: ignore[arg-type]
        if extracted is None:
            raise OSError(f"{self.member} is not a regular file in {self.tar}")
        return extracted.read()


def _is_image_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


def _from_folder(root: Path) -> Iterator[SourceItem]:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if _is_image_name(path.name):
            yield SourceItem(key=path.relative_to(root).as_posix(), path=path)
        elif path.suffix.lower() == ".tar":
            yield from _from_tar(path, prefix=path.relative_to(root).as_posix())


def _from_tar(shard: Path, prefix: str | None = None) -> Iterator[SourceItem]:
    """Image members of a (webdataset) tar shard, as references read when opened (plain .tar
    shards are read by seeking; compressed ones work but each member read decompresses again)."""
    prefix = prefix or shard.name
    try:
        with tarfile.open(shard) as opened:
            names = [m.name for m in opened.getmembers() if m.isfile() and _is_image_name(m.name)]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError(f"cannot read tar shard {shard}: {exc}") from exc
    for name in names:
        yield SourceItem(key=f"{prefix}/{name}", tar=shard, member=name)


def _listed(entries: list[str], base: Path) -> Iterator[SourceItem]:
    for entry in entries:
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry).expanduser()
        key = os.path.normpath(entry).replace("\\", "/")  # "./a.png" and "a.png" are one image, one key
        yield SourceItem(key=key, path=path if path.is_absolute() else base / path)


def _path_column(columns: list[str], wanted: str | None, source: Path) -> str:
    if wanted:
        if wanted not in columns:
            raise SourceError(f"{source} has no column {wanted!r} (columns: {', '.join(columns)})")
        return wanted
    for name in PATH_COLUMNS:
        if name in columns:
            return name
    raise SourceError(f"{source} has no path column; name it with --path-column (columns: {', '.join(columns)})")


def _from_jsonl(manifest: Path, column: str | None) -> Iterator[SourceItem]:
    entries = []
    with manifest.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{manifest}:{number}: not JSON ({exc.msg})") from exc
            entries.append(str(row[_path_column(list(row), column, manifest)]))
    yield from _listed(entries, manifest.parent)


def _from_parquet(manifest: Path, column: str | None) -> Iterator[SourceItem]:
    from ..extras import require

    pq = require("pyarrow.parquet", "parquet")
    schema_names = pq.read_schema(manifest).names
    name = _path_column(schema_names, column, manifest)
    values = pq.read_table(manifest, columns=[name]).column(name).to_pylist()
    yield from _listed([str(v) for v in values], manifest.parent)


def iter_source(source: str | Path, path_column: str | None = None) -> Iterator[SourceItem]:
    """Every image of ``source`` in a stable order (see the module docstring for the kinds)."""
    source = Path(source).expanduser()
    if not source.exists():
        raise SourceError(f"no such source: {source}")
    if source.is_dir():
        yield from _from_folder(source)
        return
    suffix = source.suffix.lower()
    if suffix == ".tar":
        yield from _from_tar(source)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _from_jsonl(source, path_column)
    elif suffix == ".parquet":
        yield from _from_parquet(source, path_column)
    elif suffix in (".txt", ".lst", ".list", ".csv") and not _is_image_name(source.name):
        if suffix == ".csv":  # the csv module: quoted fields may hold commas and newlines
            with source.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                column = _path_column([h.strip() for h in reader.fieldnames or []], path_column, source)
                raw = next(h for h in reader.fieldnames or [] if h.strip() == column)
                lines = [row[raw] or "" for row in reader]
        else:
            lines = source.read_text(encoding="utf-8").splitlines()
        yield from _listed(lines, source.parent)
    elif _is_image_name(source.name):
        yield SourceItem(key=source.name, path=source)
    else:
        raise SourceError(f"{source}: not a folder, a .tar shard, a path list (.txt) or a manifest (.jsonl/.parquet/.csv)")


def safe_output_path(root: Path, key: str, suffix: str) -> Path:
    """``root/<key with suffix>``, never outside ``root`` (see ``rescap.outputs.inside``)."""
    from ..outputs import inside

    return inside(root, key, suffix)
