"""A Hugging Face hub cache holding local folders under hub ids, so that code naming a hub id
(``transformers:HuggingFaceTB/SmolVLM-500M-Instruct``, ``stabilityai/stable-diffusion-x4-upscaler``)
runs as written on a machine with no network: point ``HF_HUB_CACHE`` at it and set
``HF_HUB_OFFLINE=1``. The layout is the hub's own (``models--org--name/snapshots/<rev>/`` and
``refs/main``), read by huggingface_hub, transformers and diffusers like any download.

Example:
    >>> import tempfile, pathlib
    >>> from rescap.testing.hub_cache import add_to_hub_cache
    >>> model = pathlib.Path(tempfile.mkdtemp()); _ = (model / "config.json").write_text("{}")
    >>> cache = pathlib.Path(tempfile.mkdtemp())
    >>> add_to_hub_cache(cache, "org/tiny", model, "0" * 40).name == "0" * 40
    True
"""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULT_REVISION = "0123456789abcdef0123456789abcdef01234567"


def add_to_hub_cache(cache: str | Path, repo_id: str, folder: str | Path, revision: str | None = None) -> Path:
    """Copy ``folder`` into ``cache`` as ``repo_id`` at ``revision`` (also its ``main``); returns the snapshot."""
    revision = revision or DEFAULT_REVISION
    repo = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(folder, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot
