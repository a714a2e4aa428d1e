"""The settings of a rescap service (``rescap serve`` options, or built in Python)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class ServeSettings(BaseModel):
    """What ``rescap serve`` was started with.

    Example:
        >>> ServeSettings(vlm=None, restorer="supir").max_batch
        8
    """

    vlm: str | None = Field(None, description="captioning model (source:model); None: degradation-only prompts")
    base_url: str | None = None
    backend_options: dict[str, Any] = Field(default_factory=dict)
    restorer: str = "sd"  # used when a request names no restorer (or model "rescap")
    mode: str = "chain"
    richness: str = "auto"
    relevance: str = "off"
    max_batch: int = Field(8, ge=1)
    max_wait_ms: float = Field(10.0, ge=0)
    # a batch that is not full waits up to this long for images still being measured
    max_gather_ms: float = Field(2000.0, ge=0)
    max_queue: int = Field(256, ge=1)
    timeout_s: float = Field(300.0, gt=0)
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(40_000_000, ge=1024)
    max_image_pixels: int = Field(448 * 448, ge=1024)  # what the VLM sees
    api_key_env: str | None = None
    images_dir: Path | None = None  # server-side images allowed from this folder only; None: none
    # processes decoding and measuring images (0: in threads of the server process); one per core,
    # up to 4: they sleep while the VLM works on a batch, and under load the next batch's images
    # are measured while it does
    estimate_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 2), ge=0)
