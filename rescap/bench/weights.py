"""Name the weights file a metric could not fetch, and where to put it.

pyiqa (and the libraries under it: torch.hub, torchvision, OpenAI's clip, timm through the Hugging
Face hub) download weights on first use. On a machine without network that fails deep in one of
several download helpers. Rather than patching each helper, we read the failed call's frames: every
helper keeps the URL and the destination (or the hub repo and file name) in local variables, and
those names have been stable for years.

Example:
    >>> from rescap.bench.weights import describe_missing_weights
    >>> describe_missing_weights(ValueError("unrelated")) is None
    True
"""

from __future__ import annotations

import os
import urllib.error
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# local variable names that hold the destination of a download, in the helpers we know of
_DESTINATIONS = ("cached_file", "download_target", "dst", "model_path", "file_path")
_FOLDERS = ("model_dir", "root", "download_root", "cache_dir")


class MissingWeights(BaseModel):
    """A weights file that could not be fetched."""

    file: str  # the file name to place
    folder: str  # where the library looks for it
    source: str  # the URL (or hub repo) it came from
    reason: str
    how: str = ""  # what to do, when it is more than placing the file in ``folder``

    def message(self, metric: str) -> str:
        what = self.how or f"Place the file in {self.folder} and run again (a metric needing several files names the next one then)."
        return (
            f"metric {metric!r} is skipped: its weights file {self.file!r} could not be downloaded from "
            f"{self.source} ({self.reason}). {what}"
        )


def _network_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        name = type(exc).__name__
        if isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError)) or name in (
            "LocalEntryNotFoundError", "OfflineModeIsEnabled", "ConnectError", "ConnectionError", "HTTPError",
            "RepositoryNotFoundError", "EntryNotFoundError", "HfHubHTTPError", "ReadTimeout", "ConnectTimeout",
        ):  # fmt: skip
            return True
        if isinstance(exc, (FileNotFoundError, RuntimeError, OSError)) and "hub" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _frames(exc: BaseException):
    """Frames of the failed call, innermost first, across chained exceptions."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        frames = []
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        yield from reversed(frames)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def _hub_cache() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover
        return os.path.join(os.path.expanduser("~"), ".cache", "huggingface", "hub")


def describe_missing_weights(exc: BaseException) -> MissingWeights | None:
    """The file behind a failed download, or ``None`` when ``exc`` is not a failed download."""
    if not _network_error(exc):
        return None
    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else 'no network'}"
    for frame in _frames(exc):
        names: dict[str, Any] = frame.f_locals
        url = names.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            target = next((names[k] for k in _DESTINATIONS if isinstance(names.get(k), (str, Path))), None)
            folder = next((names[k] for k in _FOLDERS if isinstance(names.get(k), (str, Path))), None)
            file = os.path.basename(str(target)) if target else os.path.basename(url.split("?")[0])
            where = os.path.dirname(str(target)) if target else (str(folder) if folder else "")
            if where:
                return MissingWeights(file=file, folder=where, source=url, reason=reason)
        repo, filename = names.get("repo_id"), names.get("filename")
        if isinstance(repo, str) and isinstance(filename, str):
            cache = names.get("cache_dir") if isinstance(names.get("cache_dir"), (str, Path)) else _hub_cache()
            folder = str(cache)
            return MissingWeights(
                file=filename,
                folder=folder,
                source=f"the Hugging Face hub repo {repo}",
                reason=reason,
                how=f"On a connected machine run `hf download {repo} {filename}`, copy its cache folder "
                f"models--{repo.replace('/', '--')} to {folder} here (the Hugging Face hub cache: HF_HUB_CACHE, default $HF_HOME/hub) "
                "and run again.",
            )
    return None
