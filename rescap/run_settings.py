"""A run's settings kept beside its outputs, so that a rerun into the same folder with other
settings is refused instead of silently mixing outputs made two ways (``rescap restore``; the
bench keeps its own ``bench.json`` through the same comparison).

Example:
    >>> settings_changes({"seed": 0, "steps": 20}, {"seed": 1, "steps": 20})
    ['seed: 0 -> 1']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .durable import atomic_write

SETTINGS_FILE = ".rescap-run.json"
NOT_COMPARED = ("rescap_version",)  # kept for the record; an upgrade alone does not refuse a folder


def settings_changes(earlier: dict[str, Any], now: dict[str, Any], ignore: Iterable[str] = NOT_COMPARED) -> list[str]:
    """``key: old -> new`` for every setting that differs (missing counts as None)."""
    skip = set(ignore)
    return [
        f"{key}: {earlier.get(key)!r} -> {now.get(key)!r}"
        for key in sorted(set(earlier) | set(now))
        if key not in skip and earlier.get(key) != now.get(key)
    ]


def check_run_settings(folder: Path, settings: dict[str, Any], overwrite: bool, name: str = SETTINGS_FILE) -> str | None:
    """Record ``settings`` in ``folder``; the refusal message when the folder holds another run's.

    ``overwrite`` (``--overwrite``: the run redoes everything) replaces the earlier settings.
    """
    path = Path(folder) / name
    if path.exists() and not overwrite:
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
            changes = settings_changes(earlier, settings) if isinstance(earlier, dict) else [f"unreadable {name}"]
        except (OSError, ValueError):
            changes = [f"unreadable {name}"]
        if changes:
            return (
                f"{folder} holds outputs made with other settings ({'; '.join(changes)}): "
                "choose another output folder, or pass --overwrite to redo them"
            )
    atomic_write(path, (json.dumps(settings, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    return None
