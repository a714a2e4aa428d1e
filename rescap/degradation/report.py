"""The degradation report: four measurements, their severities and levels, and an overall severity.

Severity maps each measurement to [0, 1] by piecewise-linear interpolation between anchor points;
the level is read off the severity (none < 0.1 <= mild < 0.35 <= moderate < 0.65 <= severe), so a
level boundary is an anchor of every scale:

| type  | none       | mild          | moderate      | severe     | severity 1.0 at |
|-------|------------|---------------|---------------|------------|-----------------|
| noise | sigma < 2  | 2 - 8         | 8 - 20        | >= 20      | sigma 40        |
| blur  | sigma < 0.5| 0.5 - 1.2     | 1.2 - 2.5     | >= 2.5     | sigma 4         |
| jpeg  | q > 90 or none | 90 - 71  | 70 - 41       | <= 40      | q 10            |
| scale | < 1.2x     | 1.2 - 2.5x    | 2.5 - 3.5x    | >= 3.5x    | 8x              |

The overall severity combines the four as independent "chances of damage",
``1 - prod(1 - s_i)``: one severe degradation is severe overall, and several mild ones add up.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class DegradationLevel(str, Enum):
    none = "none"
    mild = "mild"
    moderate = "moderate"
    severe = "severe"


LEVEL_FLOORS = ((0.65, DegradationLevel.severe), (0.35, DegradationLevel.moderate), (0.1, DegradationLevel.mild))

# (measurement, severity) anchors, increasing in measurement
NOISE_ANCHORS = ((0.0, 0.0), (2.0, 0.1), (8.0, 0.35), (20.0, 0.65), (40.0, 1.0))
BLUR_ANCHORS = ((0.0, 0.0), (0.5, 0.1), (1.2, 0.35), (2.5, 0.65), (4.0, 1.0))
# JPEG quality runs the other way: anchors on (100 - quality)
JPEG_ANCHORS = ((0.0, 0.0), (10.0, 0.1), (30.0, 0.35), (60.0, 0.65), (90.0, 1.0))
SCALE_ANCHORS = ((1.0, 0.0), (1.2, 0.1), (2.5, 0.35), (3.5, 0.65), (8.0, 1.0))


def _interp(value: float, anchors: tuple[tuple[float, float], ...]) -> float:
    xs, ys = zip(*anchors)
    return float(np.clip(np.interp(value, xs, ys), 0.0, 1.0))


def level_of(severity: float) -> DegradationLevel:
    """The level a severity in [0, 1] falls in."""
    for floor, level in LEVEL_FLOORS:
        if severity >= floor:
            return level
    return DegradationLevel.none


def noise_severity(sigma: float) -> float:
    return _interp(sigma, NOISE_ANCHORS)


def blur_severity(sigma: float) -> float:
    return _interp(sigma, BLUR_ANCHORS)


def jpeg_severity(quality: int | None) -> float:
    return 0.0 if quality is None else _interp(100.0 - quality, JPEG_ANCHORS)


def scale_severity(factor: float) -> float:
    return _interp(factor, SCALE_ANCHORS)


class DegradationReport(BaseModel):
    """What ``estimate_degradation`` measured in one image.

    Example:
        >>> from rescap.degradation.report import DegradationReport
        >>> r = DegradationReport.from_measurements(noise_sigma=25, blur_sigma=0.2, jpeg_quality=None, scale_factor=1)
        >>> r.noise_level.value, r.jpeg_level.value, round(r.overall_severity, 2)
        ('severe', 'none', 0.75)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    noise_sigma: float = Field(ge=0, description="std of additive white Gaussian noise, 0-255 scale")
    blur_sigma: float = Field(ge=0, description="equivalent Gaussian blur std, pixels")
    jpeg_quality: int | None = Field(ge=1, le=100, description="IJG quality; null when no JPEG compression")
    scale_factor: float = Field(ge=1, description="upsampling factor from a lower resolution; 1 = native")
    noise_severity: float = Field(ge=0, le=1)
    noise_level: DegradationLevel
    blur_severity: float = Field(ge=0, le=1)
    blur_level: DegradationLevel
    jpeg_severity: float = Field(ge=0, le=1)
    jpeg_level: DegradationLevel
    scale_severity: float = Field(ge=0, le=1)
    scale_level: DegradationLevel
    overall_severity: float = Field(ge=0, le=1)

    @classmethod
    def from_measurements(
        cls, *, noise_sigma: float, blur_sigma: float, jpeg_quality: int | None, scale_factor: float
    ) -> "DegradationReport":
        """Build a report, deriving severities and levels from the four measurements."""
        # levels are read off the rounded severities, so a report never contradicts itself
        sev = {
            "noise": round(noise_severity(noise_sigma), 3),
            "blur": round(blur_severity(blur_sigma), 3),
            "jpeg": round(jpeg_severity(jpeg_quality), 3),
            "scale": round(scale_severity(scale_factor), 3),
        }
        overall = 1.0 - float(np.prod([1.0 - s for s in sev.values()]))
        return cls(
            noise_sigma=round(float(noise_sigma), 2),
            blur_sigma=round(float(blur_sigma), 2),
            jpeg_quality=None if jpeg_quality is None else int(jpeg_quality),
            scale_factor=round(float(max(scale_factor, 1.0)), 2),
            **{f"{k}_severity": v for k, v in sev.items()},
            **{f"{k}_level": level_of(v) for k, v in sev.items()},
            overall_severity=round(overall, 3),
        )

    @property
    def overall_level(self) -> DegradationLevel:
        return level_of(self.overall_severity)
