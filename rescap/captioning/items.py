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
    # a tile of a larger image: {"whole": the whole image's caption, "flat": nearly uniform}
    region: dict | None = None

    def fork(self) -> "PreparedImage":
        """A copy to finish at another richness (the picture and the analysis are shared)."""
        return dataclasses.replace(self, trace=list(self.trace), timings=dict(self.timings), mix=self.mix.model_copy())


def prepare_image(image: Any, name: str | None, picture_pixels: int | None) -> PreparedImage:
    """The per-image work before the VLM: decoding, the degradation estimate and, when
    ``picture_pixels`` is given, the picture the VLM sees fitted to that many pixels. A failure is
    recorded on the item (stage ``estimate`` or ``read``), never raised. Thread- and process-safe.
    """
    import time

    from ..degradation.estimate import estimate_degradation
    from .pictures import load_picture

    item = PreparedImage(source=image, name=name)
    start = time.perf_counter()
    try:
        item.report = estimate_degradation(image)
    except Exception as exc:
        item.failure = CaptionFailure(image=item.name, stage="estimate", error=str(exc) or type(exc).__name__)
        return item
    item.timings["estimate"] = time.perf_counter() - start
    if picture_pixels is not None:
        try:
            item.picture = load_picture(image, picture_pixels)
        except Exception as exc:
            item.failure = CaptionFailure(image=item.name, stage="read", error=str(exc) or type(exc).__name__)
    return item


def name_of(source: Any) -> str | None:
    return str(source) if isinstance(source, (str, os.PathLike)) else None
