"""``PreparedImage``: one image on its way through the captioner (what each stage added to it)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from ..control.richness import ContentMix
from ..degradation.report import DegradationReport
from .bundle import CaptionFailure, StepTrace
from .steps import ContentAnalysis, DegradationAssessment


@dataclass
class PreparedImage:
    source: Any
    name: str | None
    picture: Any = None
    report: DegradationReport | None = None
    assessment: DegradationAssessment | None = None
    content: ContentAnalysis | None = None
    raw_caption: str | None = None
    target: int = 0
    mix: ContentMix = field(default_factory=ContentMix)
    trace: list[StepTrace] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    failure: CaptionFailure | None = None

    def fork(self) -> "PreparedImage":
        """A copy to finish at another richness (the picture and the analysis are shared)."""
        return dataclasses.replace(self, trace=list(self.trace), timings=dict(self.timings), mix=self.mix.model_copy())


def name_of(source: Any) -> str | None:
    return str(source) if isinstance(source, (str, os.PathLike)) else None
