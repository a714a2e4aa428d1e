"""Where re-captioning records go, durably: a kill at any moment loses at most the batch in flight,
never duplicates a record and never leaves a corrupt file.

- JSONL (default): one record per line, appended a batch at a time, flushed and ``fsync``-ed before
  the next batch starts. A torn last line (a kill mid-write) is cut off on the next start; every
  complete line is a finished record, so resuming redoes only what has no line yet.
- Parquet: a folder of ``part-NNNNNN.parquet`` files, each written to a temporary name and renamed
  into place, so a part is either whole or absent.
- txt: one caption file per image in the mirrored layout (``a/b/c.png`` -> ``OUT/a/b/c.txt``, the
  convention of HYPIR ``--txt_dir`` and SD training tools), each written atomically, plus the full
  records in ``OUT/.rescap-recaption.jsonl``.

Deciding what is done reads only the ``file`` and ``status`` of existing records (``path`` in
records written before the field names were unified, still read so such jobs resume).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from ..durable import AppendLog, atomic_write, fsync_dir
from .sources import safe_output_path

STATE_FILE = ".rescap-recaption.jsonl"


class RecaptionRecord(BaseModel):
    """One image's outcome. Field names are those of ``rescap caption --json``: ``file``,
    ``caption``, ``positive_prompt``, ``negative_prompt``, ``restoration_prompt``."""

    file: str  # the image's key in the source
    status: str  # "ok" or "error"
    caption: str | None = None
    positive_prompt: str | None = None
    negative_prompt: str | None = None
    restoration_prompt: str | None = None
    degradation: dict[str, Any] | None = None
    error: str | None = None
    model: str | None = None
    rescap_version: str
    timings: dict[str, float] = Field(default_factory=dict)


OLD_NAMES = {"path": "file", "positive": "positive_prompt", "negative": "negative_prompt"}


def _current_names(row: dict[str, Any]) -> dict[str, Any]:
    """A record written before the field names were unified, under today's names."""
    return {OLD_NAMES.get(key, key): value for key, value in row.items()}


class RecordWriter(Protocol):
    def done(self) -> tuple[set[str], set[str]]:
        """Keys already recorded: (succeeded, failed)."""

    def drop_failed(self) -> None:
        """Forget failed records, so they can be redone without duplicates."""

    def write(self, records: list[RecaptionRecord]) -> list[RecaptionRecord] | None:
        """Add records durably (on disk when this returns); returns the records as written (a
        writer may turn one into an error record, e.g. a caption file it could not write)."""

    def close(self) -> None: ...


# records start with their key and status (pydantic writes fields in order): read those two and
# skip the rest of the line, so resuming a log of millions of records holds the keys only
_HEAD = re.compile(r'\{"(?:file|path)": ?("(?:[^"\\]|\\.)*"), ?"status": ?"(\w+)"')


def holds_records_only(path: Path) -> bool:
    """Whether a JSONL output can be appended to: missing, empty, or a record log (its first
    line a record). Anything else (a manifest, notes) would be cut at its last line and mixed
    with records."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        with open(path, encoding="utf-8") as fh:
            first = fh.readline(1 << 16)
    except (OSError, UnicodeDecodeError):
        return False
    return bool(_HEAD.match(first)) and first.endswith("\n")


def key_and_status(path: Path):
    """(key, status) of every complete record of a JSONL log, read line by line."""
    if not Path(path).exists():
        return
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                return  # a torn last line: not a finished record
            head = _HEAD.match(line)
            if head:
                yield json.loads(head.group(1)), head.group(2)
                continue
            try:  # another writer's field order
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield row.get("file", row.get("path")), row.get("status")


class JsonlWriter:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._log = AppendLog(self.path)
        self.repaired_bytes = self._log.repaired_bytes
        self._ok: set[str] = set()
        self._failed: set[str] = set()
        for key, status in key_and_status(self.path):
            if key is None:
                continue
            if status == "ok":
                self._ok.add(key)
                self._failed.discard(key)
            elif key not in self._ok:
                self._failed.add(key)

    def done(self) -> tuple[set[str], set[str]]:
        return set(self._ok), set(self._failed)

    def drop_failed(self) -> None:
        if not self._failed:
            return
        self._log.keep_only(lambda row: row.get("status") == "ok")
        self._failed.clear()

    def write(self, records: list[RecaptionRecord]) -> None:
        self._log.append([r.model_dump_json() for r in records])
        for r in records:
            (self._ok if r.status == "ok" else self._failed).add(r.file)

    def close(self) -> None:
        self._log.close()


class ParquetWriter:
    """Parquet parts in a folder; nested fields (degradation, timings) are JSON strings."""

    COLUMNS = ("file", "status", "caption", "positive_prompt", "negative_prompt", "restoration_prompt", "degradation", "error",
               "model", "rescap_version", "timings")  # fmt: skip

    def __init__(self, folder: Path):
        from ..extras import require

        self.pa = require("pyarrow", "parquet")
        self.pq = require("pyarrow.parquet", "parquet")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".part-*.tmp-*"):
            stale.unlink()  # a kill mid-write: the part was never renamed into place
        self._ok: set[str] = set()
        self._failed: set[str] = set()
        self._next = 0
        for part in sorted(self.folder.glob("part-*.parquet")):
            self._next = max(self._next, int(part.stem.split("-")[1]) + 1)
            key_column = "file" if "file" in self.pq.read_schema(part).names else "path"  # older parts: "path"
            table = self.pq.read_table(part, columns=[key_column, "status"])
            for key, status in zip(table.column(key_column).to_pylist(), table.column("status").to_pylist()):
                (self._ok if status == "ok" else self._failed).add(key)
        self._failed -= self._ok

    def done(self) -> tuple[set[str], set[str]]:
        return set(self._ok), set(self._failed)

    def _table(self, rows: list[dict[str, Any]]):
        schema = self.pa.schema([(c, self.pa.string()) for c in self.COLUMNS])
        return self.pa.Table.from_pylist(rows, schema=schema)

    def drop_failed(self) -> None:
        if not self._failed:
            return
        for part in sorted(self.folder.glob("part-*.parquet")):
            table = self.pq.read_table(part)
            keep = [_current_names(row) for row in table.to_pylist() if row["status"] == "ok"]
            if len(keep) != table.num_rows:
                self._write_part(part, self._table(keep)) if keep else part.unlink()
        self._failed.clear()

    def _write_part(self, target: Path, table) -> None:
        buffer = self.pa.BufferOutputStream()  # a part is one batch: small enough to build in memory
        self.pq.write_table(table, buffer)
        atomic_write(target, buffer.getvalue().to_pybytes())
        fsync_dir(self.folder)

    def write(self, records: list[RecaptionRecord]) -> None:
        if not records:
            return
        rows = []
        for r in records:
            row = r.model_dump()
            row["degradation"] = json.dumps(row["degradation"]) if row["degradation"] is not None else None
            row["timings"] = json.dumps(row["timings"])
            rows.append(row)
        self._write_part(self.folder / f"part-{self._next:06d}.parquet", self._table(rows))
        self._next += 1
        for r in records:
            (self._ok if r.status == "ok" else self._failed).add(r.file)

    def close(self) -> None:
        pass


class TxtWriter:
    """Sidecar caption files, plus every record in a JSONL state file (which also drives resume)."""

    def __init__(self, folder: Path, text: str = "caption"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.text = text  # which record field goes into the .txt: "caption" or "positive_prompt"
        self.state = JsonlWriter(self.folder / STATE_FILE)
        self._owners: dict[str, str] = {}  # caption file -> the key it was written for
        for key in self.state.done()[0]:
            try:
                self._owners[str(safe_output_path(self.folder, key, ".txt"))] = key
            except ValueError:
                pass

    def done(self) -> tuple[set[str], set[str]]:
        return self.state.done()

    def drop_failed(self) -> None:
        self.state.drop_failed()

    def write(self, records: list[RecaptionRecord]) -> None:
        written = []
        for r in records:
            if r.status == "ok":
                try:
                    target = safe_output_path(self.folder, r.file, ".txt")
                    owner = self._owners.get(str(target))
                    if owner is not None and owner != r.file:  # photo.jpg and photo.png: one photo.txt
                        raise ValueError(f"{target.relative_to(self.folder)} already holds the caption of {owner} "
                                         "(one .txt per file name without extension); rename one of them")  # fmt: skip
                    atomic_write(target, ((getattr(r, self.text) or "") + "\n").encode("utf-8"))
                    self._owners[str(target)] = r.file
                except (ValueError, OSError) as exc:
                    r = r.model_copy(update={"status": "error", "error": f"cannot write its caption file: {exc}"})
            written.append(r)
        self.state.write(written)  # after the files: a record means its file is in place
        return written

    def close(self) -> None:
        self.state.close()


def output_path(output: Path, fmt: str, shard: tuple[int, int] | None = None) -> Path:
    """Where records go for ``-o OUTPUT``: a JSONL file (``records.jsonl`` in a folder given as one,
    or named with a trailing slash), else the folder; a shard gets its own file or subfolder."""
    named_as_folder = str(output).endswith(("/", "\\"))  # before Path() drops the slash
    output = Path(output)
    tag = f"shard-{shard[0]:05d}-of-{shard[1]:05d}" if shard else None
    if fmt == "jsonl":
        target = output / "records.jsonl" if (output.is_dir() or named_as_folder) else output
        return target.with_name(f"{target.stem}.{tag}{target.suffix}") if tag else target
    if fmt == "parquet" and tag:
        return output / tag
    return output


def make_writer(output: Path, fmt: str) -> RecordWriter:
    if fmt == "jsonl":
        return JsonlWriter(output)
    if fmt == "parquet":
        return ParquetWriter(output)
    if fmt == "txt":
        return TxtWriter(output)
    raise ValueError(f"unknown --format {fmt}: jsonl, parquet or txt")
