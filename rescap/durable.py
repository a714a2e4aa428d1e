"""Files that survive ``kill -9``: whole files written under a temporary name, fsynced and renamed
(``atomic_write``), and append-only JSON-lines logs whose appends are fsynced and whose torn last
line (a kill mid-write) is cut off when the log is opened again (``AppendLog``).

Example:
    >>> import tempfile, pathlib
    >>> from rescap.durable import AppendLog
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> with AppendLog(path) as log:
    ...     log.append([{"a": 1}])
    >>> _ = path.open("a").write('{"a": 2')  # a torn line
    >>> AppendLog(path).read()
    [{'a': 1}]
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (where the file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems refuse; the data itself is already synced
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes) -> None:
    """``target`` holds either its old content or ``data``, never a part of it, and after a crash
    too: the data is fsynced before the rename and the folder after it. On any error (a full disk)
    the temporary file is removed and the error raised; ``target`` is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise
    fsync_dir(target.parent)


def log_lines(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    """(line, row) for every complete, parseable row of a JSON-lines log, read only (a line that
    does not parse, a torn last one included, is never a finished record)."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                return  # torn: a kill mid-append
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield line, row


def save_image(image, target: Path) -> None:
    """A PIL image written atomically, in the format of ``target``'s suffix (PNG by default)."""
    import io

    buffer = io.BytesIO()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}.get(Path(target).suffix.lower(), "PNG")
    image.save(buffer, format=fmt)
    atomic_write(Path(target), buffer.getvalue())


def repair_torn_tail(path: Path) -> int:
    """Cut ``path`` back to its last complete line; returns the number of bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return 0
        chunk = 1 << 16
        pos, cut = size, 0
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            block = fh.read(pos - start)
            found = block.rfind(b"\n")
            if found >= 0:
                cut = start + found + 1
                break
            pos = start
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    return size - cut


class AppendLog:
    """A JSON-lines file opened for appending, repaired on open."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired_bytes = repair_torn_tail(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")

    def _lines(self) -> Iterable[tuple[str, dict[str, Any]]]:
        return log_lines(self.path)

    def read(self) -> list[dict[str, Any]]:
        return [row for _, row in self._lines()]

    def keep_only(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite the log (atomically) with the rows ``keep`` accepts, their lines unchanged."""
        kept = "".join(line for line, row in self._lines() if keep(row))
        self._fh.close()
        atomic_write(self.path, kept.encode("utf-8"))
        self._fh = open(self.path, "a", encoding="utf-8")

    def append(self, rows: Iterable[dict[str, Any] | str]) -> None:
        text = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)
        if not text:
            return
        before = os.fstat(self._fh.fileno()).st_size
        try:
            self._fh.write(text)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError:  # a full disk: no part of this batch stays, the log ends on its last whole line
            try:
                self._fh.close()  # may fail again flushing what is left; the file is closed all the same
            except (OSError, ValueError):
                pass
            with open(self.path, "r+b") as fh:
                fh.truncate(before)
                os.fsync(fh.fileno())
            self._fh = open(self.path, "a", encoding="utf-8")
            raise

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "AppendLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
