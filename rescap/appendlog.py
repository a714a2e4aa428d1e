"""Append-only JSON-lines logs that survive ``kill -9``: each append is flushed and fsynced, and a
torn last line (a kill mid-write) is cut off when the log is opened again.

Example:
    >>> import tempfile, pathlib
    >>> from rescap.appendlog import AppendLog
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
from pathlib import Path
from typing import Any, Iterable


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

    def read(self) -> list[dict[str, Any]]:
        """Every complete, parseable row (a line that does not parse is never a finished record)."""
        rows = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
        return rows

    def append(self, rows: Iterable[dict[str, Any] | str]) -> None:
        text = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)
        if not text:
            return
        self._fh.write(text)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "AppendLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
