"""What a bench run is and what it logs: its settings (``BenchConfig``, a rerun must match them)
and one ``BenchRecord`` per (image, policy).

Example:
    >>> from rescap.bench.records import BenchRecord
    >>> BenchRecord(image="a.png", file="/data/a.png", policy="none", status="ok").key
    ('a.png', 'none')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from .._version import __version__

INPUT_ROW = "input"  # the input itself (resized to the output size): the floor every policy should beat
RECORDS = "records.jsonl"
CONFIG = "bench.json"
METRICS = "metrics.json"


class BenchError(RuntimeError):
    """The bench cannot start (e.g. the report folder holds results of a different run)."""


class BenchConfig(BaseModel):
    """What makes two runs comparable; a rerun into the same folder must match it."""

    restorer: str
    restorer_path: str | None = None
    vlm: str | None = None
    seed: int = 0
    steps: int | None = None
    strength: float | None = None
    guidance: float | None = None
    gt: str | None = None
    captions: str | None = None
    relevance: str | None = None
    restorer_runs: bool = True  # False: the restorer cannot run here, captions and prompt files only
    mode: str | None = None  # the chain-of-thought mode, when a VLM captioned
    quality_prompt: str = "fit"
    templates: str | None = None  # fingerprint of the prompt templates, when a VLM captioned
    rescap_version: str = __version__  # compared too: another version may give other prompts or outputs

    def differences(self, other: "BenchConfig") -> list[str]:
        from ..run_settings import settings_changes

        mine, theirs = self.model_dump(), other.model_dump()
        ignore = []
        if mine["vlm"] is None or theirs["vlm"] is None:
            ignore += ["vlm", "templates"]  # a run whose policies needed no VLM is comparable with one that used it
        return settings_changes(theirs, mine, ignore)

    def merged(self, other: "BenchConfig") -> "BenchConfig":
        """This config, keeping the earlier run's VLM when this run needs none."""
        return self if self.vlm is not None else self.model_copy(update={"vlm": other.vlm})


def earlier_config(out_dir: Path) -> BenchConfig | None:
    """The settings an earlier run left in ``out_dir`` (``None``: none, or unreadable)."""
    path = Path(out_dir) / CONFIG
    try:
        return BenchConfig.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None


class BenchRecord(BaseModel):
    """One image under one policy: the text it got, the output, and its scores."""

    image: str  # the image's path relative to the input folder: the key with ``policy``
    file: str
    fingerprint: str = ""  # of the input file (size:mtime) when it was restored
    policy: str
    status: Literal["ok", "error"]
    error: str | None = None
    caption: str = ""
    positive_prompt: str = Field("", validation_alias=AliasChoices("positive_prompt", "positive"))  # "positive": older logs
    negative_prompt: str = Field("", validation_alias=AliasChoices("negative_prompt", "negative"))
    caption_tokens: int | None = None
    positive_tokens: int | None = None
    window: int | None = None
    truncated: bool = False
    degradation_words: list[str] = Field(default_factory=list)
    severity: float | None = None
    degradation: dict[str, Any] | None = None
    output: str | None = None  # relative to the report folder
    prompt_files: list[str] = Field(default_factory=list)  # when the restorer cannot run here: what its scripts read
    reference: str | None = None  # the ground-truth file
    resized_for_reference: bool = False
    seed: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)
    metric_errors: dict[str, str] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.image, self.policy)
