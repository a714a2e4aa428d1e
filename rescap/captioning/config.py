"""``CaptionerConfig``: every setting of a ``Captioner`` in one validated model.

Example:
    >>> from rescap.captioning.config import CaptionerConfig
    >>> CaptionerConfig(mode="fused", max_subjects=3).mode
    'fused'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..control.relevance import DEFAULT_MARGIN
from ..control.richness import RichnessPolicy

Mode = Literal["fused", "chain", "single"]


class CaptionerConfig(BaseModel):
    """How a ``Captioner`` works; the restorer's own text rules come from its adapter.

    - ``policy``: richness (target caption length from severity, content and the window);
    - ``mode``: chain (3 VLM calls), fused (2) or single (1);
    - ``relevance``: "auto" (CLIP if it loads, else off with a warning), ``None`` (off), a CLIP
      hub id or folder, or any object with ``score(images, phrases)``; ``relevance_margin`` in cosine;
    - ``ban_degradation_words``: ask the backend not to generate degradation words (the filter
      still runs after, as a safety net);
    - ``tokenizer`` / ``quality_prompt``: passed to the adapter when the restorer is given by name.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    policy: RichnessPolicy = Field(default_factory=RichnessPolicy)
    mode: Mode = "chain"
    relevance: Any = "auto"
    relevance_margin: float = DEFAULT_MARGIN
    prompts_dir: str | None = None
    max_subjects: int = Field(5, ge=1)
    embeddings: bool = False
    max_image_pixels: int = Field(448 * 448, ge=1024)
    seed: int | None = 0
    ban_degradation_words: bool = True
    tokenizer: str | None = None
    quality_prompt: Literal["fit", "keep", "drop"] = "fit"

    @field_validator("relevance", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        """"off", "none", "no" and False mean no relevance filter, as on the command line."""
        if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "none", "no", "")):
            return None
        return value
